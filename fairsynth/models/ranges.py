"""Conditions on numeric columns: a value or a range, met exactly by keeping matching rows.

``sample(n, conditions={"age": (30, 40)})`` asks for rows with 30 ≤ age ≤ 40;
``{"capital-gain": 0}`` for rows at a value the model generates exactly (a point mass, or any
value of a whole-number column); either end of a range may be None (open), and the command
line writes ranges as ``--where age=30..40`` (``30..`` or ``..40`` open).

A discrete column is conditioned through the conditioning vector the model was trained with
(fairsynth.models.conditions); a numeric column is not part of that vector, so its condition is
met by rejection: the model generates rows (with the discrete conditions and the fairness knob, if
any), those outside the range are dropped, and more are generated until ``n`` are kept. The
rows kept follow the model's own conditional distribution given the range; the cost grows as
the model's share of such rows shrinks, and a sample that keeps under one row in
:data:`MAX_TRIES_PER_ROW` (after at least :data:`MIN_TRIES` tries) stops with an error that
gives the share.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from fairsynth.exceptions import DataError, ParameterError, format_choices
from fairsynth.models._checks import draw_seed

__all__ = ["MAX_TRIES_PER_ROW", "MIN_TRIES", "NumericCondition", "filtered_chunks",
           "split_conditions"]  # fmt: skip

#: A sample gives up when fewer than one generated row in this many meets its conditions...
MAX_TRIES_PER_ROW = 1_000
#: ... and at least this many rows have been tried.
MIN_TRIES = 1_000_000


@dataclass(frozen=True)
class NumericCondition:
    """``low <= column <= high`` (``low == high``: one value)."""

    column: str
    low: float
    high: float

    def mask(self, values: pd.Series) -> np.ndarray:
        """Which of ``values`` meet the condition (missing values do not)."""
        numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        return (numbers >= self.low) & (numbers <= self.high)

    def __str__(self) -> str:
        if self.low == self.high:
            return f"{self.column}={_plain(self.low)}"
        if math.isinf(self.high):
            return f"{self.column} ≥ {_plain(self.low)}"
        if math.isinf(self.low):
            return f"{self.column} ≤ {_plain(self.high)}"
        return f"{_plain(self.low)} ≤ {self.column} ≤ {_plain(self.high)}"


def split_conditions(conditions: Any, transformer: Any) -> tuple[list[NumericCondition], Any]:
    """The numeric conditions (met by rejection), and the rest (exact, through the model).

    Raises
    ------
    ParameterError
        For a numeric column in a conditions frame, a range that is not ``(low, high)``,
        ``low > high``, or a value the model never generates.
    DataError
        For a range outside the values the model generates.
    """
    numeric = [c for c in transformer.columns_ if c not in set(transformer.discrete_columns_)]
    if isinstance(conditions, pd.DataFrame):
        given = [c for c in conditions.columns if c in numeric]
        if given:
            raise ParameterError(
                f"Conditions on numeric columns ({format_choices(given)}) go in a dict, one "
                "value or (low, high) range for every row; a conditions frame holds discrete "
                "columns only."
            )
        return [], conditions
    if not isinstance(conditions, Mapping) or not conditions:
        return [], conditions  # None, empty, or a type: the model's own check names them
    filters = [
        _condition(str(c), v, transformer.value_range(c))
        for c, v in conditions.items()
        if c in numeric
    ]
    rest = {c: v for c, v in conditions.items() if c not in numeric}
    return filters, (rest or None)


def _condition(
    column: str, value: Any, fitted: tuple[Any, Any, list[Any], bool]
) -> NumericCondition:
    smallest, largest, points, whole = fitted
    if isinstance(value, str) and ".." in value:  # the command line's 30..40, 30.. or ..40
        value = tuple(part.strip() or None for part in value.split("..", 1))
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ParameterError(
                f"A range condition on {column!r} is (low, high), either end None for open; "
                f"got {value!r}."
            )
        low = -math.inf if value[0] is None else _number(column, value[0])
        high = math.inf if value[1] is None else _number(column, value[1])
        if low > high:
            raise ParameterError(
                f"The range condition on {column!r} is empty: low {_plain(low)} > high "
                f"{_plain(high)}."
            )
    else:
        low = high = _number(column, value)
        exact = (whole and float(value).is_integer()) or any(low == float(p) for p in points)
        if not exact:
            masses = format_choices(_plain(p) for p in points) if points else "none"
            raise ParameterError(
                f"{column}={_plain(low)}: the model generates {column!r} exactly only at its "
                f"point masses ({masses}); give a range, e.g. {{{column!r}: (low, high)}}."
            )
    if high < float(smallest) or low > float(largest):
        raise DataError(
            f"The condition on {column!r} ({_plain(low)} to {_plain(high)}) lies outside the "
            f"values the model generates, {_plain(smallest)} to {_plain(largest)}."
        )
    return NumericCondition(column, low, high)


def _number(column: str, value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if isinstance(value, bool) or not math.isfinite(number):
        raise ParameterError(
            f"A condition on the numeric column {column!r} is a finite number or a (low, high) "
            f"range; got {value!r}."
        )
    return number


def _plain(value: Any) -> str:
    number = float(value)
    return str(int(number)) if number.is_integer() and abs(number) < 2**53 else repr(number)


def filtered_chunks(
    model: Any,
    total: int,
    chunk: int,
    filters: Sequence[NumericCondition],
    random_state: Any,
    options: dict[str, Any],
) -> Iterator[pd.DataFrame]:
    """``total`` rows of ``model`` that meet ``filters``, in chunks of at most ``chunk``.

    The model's own options (discrete conditions, the fairness knob) are checked now, before
    the first chunk; each round of generation draws its plan and seed from ``random_state``.
    """
    rng = np.random.default_rng(draw_seed(random_state))
    first = model._plan_sample(min(total, chunk), int(rng.integers(2**31)), **options)
    return _rounds(model, total, chunk, filters, rng, options, first)


def _rounds(
    model: Any,
    total: int,
    chunk: int,
    filters: Sequence[NumericCondition],
    rng: np.random.Generator,
    options: dict[str, Any],
    first: tuple[Any, Any],
) -> Iterator[pd.DataFrame]:
    kept: list[pd.DataFrame] = []
    held = given = tried = 0
    limit = max(MIN_TRIES, MAX_TRIES_PER_ROW * total)
    size = min(total, chunk)
    planned: tuple[Any, Any] | None = first
    while given < total:
        if tried >= limit:
            share = (given + held) / tried
            raise DataError(
                f"Only {given + held:,} of {total:,} rows met {'; '.join(map(str, filters))} "
                f"in {tried:,} generated rows (a share of {share:.2g}): the model rarely "
                "generates such rows. Widen the range, or condition on a discrete column "
                "(exact, without rejection)."
            )
        plan, net_state = planned or model._plan_sample(size, int(rng.integers(2**31)), **options)
        planned = None
        for part in model._chunks(size, chunk, plan, draw_seed(net_state)):
            mask = np.logical_and.reduce([f.mask(part[f.column]) for f in filters])
            if mask.any():
                kept.append(part[mask])
                held += int(mask.sum())
        tried += size
        while held and (held >= chunk or given + held >= total):
            rows = pd.concat(kept, ignore_index=True)
            out, rest = (
                rows.iloc[: min(chunk, total - given)],
                rows.iloc[min(chunk, total - given) :],
            )
            kept, held, given = [rest], len(rest), given + len(out)
            yield out.reset_index(drop=True)
            if given >= total:
                return
        share = max(held + given, 1) / tried
        size = int(min(max((total - given - held) / share * 1.1, 1_000), chunk * 20, limit - tried))
        size = max(size, 1)
