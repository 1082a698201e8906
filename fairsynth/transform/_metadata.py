"""Public metadata of a table: per column its categories, or its bounds and whether it is whole.

A private fit (docs/privacy.md) must read nothing from the data outside its private mechanisms.
The user can describe each column instead, from public knowledge (a codebook, the form the data
was collected on), and the transform then takes its layout from the description alone:

.. code-block:: python

    metadata = {
        "sex": {"categories": ["Female", "Male"]},
        "native-country": {"categories": ["United-States", "Mexico", "Other"], "other": "Other"},
        "workclass": {"categories": ["Private", "State-gov", None]},   # None: may be missing
        "age": {"bounds": [17, 90], "integer": True},
        "capital-gain": {"bounds": [0, 99999], "integer": True, "point_masses": [0]},
        "hours": {"bounds": [0, 168], "missing": True, "decimals": 1},
    }

A discrete column: ``categories`` (a list of str, int, float or bool; ``None`` allows missing
values), and optionally ``other``, a listed category that values not in the list are mapped to
(without it they are refused, naming the column and the values). A numeric column: ``bounds``
``[low, high]`` with ``low < high`` (values outside are clipped to them), and optionally
``integer`` (whole numbers; the default for an integer dtype), ``decimals`` (round generated
values), ``point_masses`` (values inside the bounds generated exactly, like the zeros of a
capital-gain column) and ``missing`` (whether the column may be missing).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from fairsynth.exceptions import ParameterError, format_choices

__all__ = ["ColumnSpec", "draft_metadata", "metadata_to_plain", "resolve_metadata"]

_DISCRETE_KEYS = ("categories", "other", "missing")
_NUMERIC_KEYS = ("bounds", "integer", "decimals", "point_masses", "missing")


@dataclass(frozen=True)
class ColumnSpec:
    """What the transform may know of one column, from metadata or a private release.

    Attributes
    ----------
    kind : {'discrete', 'numeric'}
    categories : tuple
        Discrete: the categories, missing aside, in block order.
    missing : bool
        The column may be missing (an extra category, or a present/missing block).
    other : tuple
        Discrete: ``()`` to refuse values not listed, ``(value,)`` to map them to ``value``
        (``None``: to missing).
    bounds : (float, float) or None
        Numeric: values are clipped to ``[low, high]``.
    integer : bool or None
        Numeric: whole numbers (None: as the column's dtype says).
    decimals : int or None
        Numeric: round generated values to this many decimals.
    point_masses : tuple of float
        Numeric: values generated exactly.
    """

    kind: Literal["discrete", "numeric"]
    categories: tuple[Any, ...] = ()
    missing: bool = False
    other: tuple[Any, ...] = ()
    bounds: tuple[float, float] | None = None
    integer: bool | None = None
    decimals: int | None = None
    point_masses: tuple[float, ...] = ()


def _bad(column: str, what: str) -> ParameterError:
    return ParameterError(f"metadata for column {column!r}: {what}")


def _is_real(value: Any) -> bool:
    ok = isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))
    return ok and math.isfinite(float(value))


def _category(column: str, value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, (str, bool)) or isinstance(value, numbers.Integral):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return value
    raise _bad(column, f"category {value!r} is not a str, int, finite float, bool or None.")


def _discrete(column: str, spec: Mapping[str, Any]) -> ColumnSpec:
    listed = spec["categories"]
    if isinstance(listed, (str, bytes)) or not isinstance(listed, (list, tuple)) or not listed:
        raise _bad(column, f"categories must be a non-empty list, got {listed!r}.")
    values = [_category(column, v) for v in listed]
    seen: list[Any] = []
    for value in values:
        if any(value == s and type(value) is type(s) for s in seen):
            raise _bad(column, f"category {value!r} is listed twice.")
        seen.append(value)
    missing = None in values or spec.get("missing", False) is True
    if not isinstance(spec.get("missing", False), bool):
        raise _bad(column, f"missing must be true or false, got {spec['missing']!r}.")
    categories = tuple(v for v in values if v is not None)
    other: tuple[Any, ...] = ()
    if "other" in spec:
        target = spec["other"]
        if target is None and not missing:
            raise _bad(column, "other is None (missing) but the column may not be missing.")
        if target is not None and target not in categories:
            raise _bad(
                column,
                f"other={target!r} is not one of its categories ({format_choices(categories)}).",
            )
        other = (target,)
    if not categories:
        raise _bad(column, "categories lists no value (None alone is not a category).")
    return ColumnSpec("discrete", categories=categories, missing=missing, other=other)


def _numeric(column: str, spec: Mapping[str, Any]) -> ColumnSpec:
    bounds = spec["bounds"]
    if (
        not isinstance(bounds, (list, tuple))
        or len(bounds) != 2
        or not all(_is_real(b) for b in bounds)
    ):
        raise _bad(column, f"bounds must be [low, high], two finite numbers; got {bounds!r}.")
    low, high = float(bounds[0]), float(bounds[1])
    if not low < high:
        raise _bad(column, f"bounds [{bounds[0]!r}, {bounds[1]!r}]: low must be below high.")
    integer = spec.get("integer")
    if integer is not None and not isinstance(integer, bool):
        raise _bad(column, f"integer must be true or false, got {integer!r}.")
    if integer and not (low.is_integer() and high.is_integer()):
        raise _bad(column, f"bounds {list(bounds)!r} of an integer column must be whole numbers.")
    decimals = spec.get("decimals")
    if decimals is not None and (
        isinstance(decimals, bool) or not isinstance(decimals, numbers.Integral)
        or not 0 <= int(decimals) <= 15
    ):  # fmt: skip
        raise _bad(column, f"decimals must be an int from 0 to 15, got {decimals!r}.")
    points = spec.get("point_masses", [])
    if not isinstance(points, (list, tuple)) or not all(_is_real(p) for p in points):
        raise _bad(column, f"point_masses must be a list of finite numbers, got {points!r}.")
    outside = [p for p in points if not low <= float(p) <= high]
    if outside:
        raise _bad(column, f"point_masses {outside!r} lie outside its bounds [{low:g}, {high:g}].")
    if integer and not all(float(p).is_integer() for p in points):
        raise _bad(column, f"point_masses {list(points)!r} of an integer column must be whole.")
    missing = spec.get("missing", False)
    if not isinstance(missing, bool):
        raise _bad(column, f"missing must be true or false, got {missing!r}.")
    return ColumnSpec(
        "numeric", missing=missing, bounds=(low, high), integer=integer,
        decimals=None if decimals is None else int(decimals),
        point_masses=tuple(sorted({float(p) for p in points})),
    )  # fmt: skip


def resolve_metadata(metadata: Any) -> dict[str, ColumnSpec]:
    """Check ``metadata`` (a mapping of column name to description); raise naming the column.

    Raises
    ------
    ParameterError
        Not a mapping, a description with unknown keys, with both or neither of ``categories``
        and ``bounds``, bounds with ``low >= high`` or not numbers, and so on.
    """
    if metadata is None:
        return {}
    if not isinstance(metadata, Mapping):
        raise ParameterError(
            f"metadata must be a mapping of column name to description, got "
            f"{type(metadata).__name__}."
        )
    specs = {}
    for column, spec in metadata.items():
        if not isinstance(column, str):
            raise ParameterError(f"metadata column names must be strings, got {column!r}.")
        if not isinstance(spec, Mapping):
            raise _bad(column, f"expected a mapping with 'categories' or 'bounds', got {spec!r}.")
        kinds = [key for key in ("categories", "bounds") if key in spec]
        if len(kinds) != 1:
            raise _bad(column, "give 'categories' (a discrete column) or 'bounds' (a numeric one).")
        valid = _DISCRETE_KEYS if kinds == ["categories"] else _NUMERIC_KEYS
        unknown = sorted(set(spec) - set(valid))
        if unknown:
            raise _bad(
                column,
                f"unknown key(s) {format_choices(unknown)}; a "
                f"{'discrete' if kinds == ['categories'] else 'numeric'} column may have "
                f"{format_choices(valid)}.",
            )
        specs[column] = (_discrete if kinds == ["categories"] else _numeric)(column, spec)
    return specs


def metadata_to_plain(specs: Mapping[str, ColumnSpec]) -> dict[str, dict[str, Any]]:
    """The JSON form of resolved metadata (what :func:`resolve_metadata` reads back)."""
    out: dict[str, dict[str, Any]] = {}
    for column, spec in specs.items():
        if spec.kind == "discrete":
            entry: dict[str, Any] = {
                "categories": list(spec.categories) + ([None] if spec.missing else [])
            }
            if spec.other:
                entry["other"] = spec.other[0]
        else:
            assert spec.bounds is not None  # a numeric spec always has bounds
            entry = {"bounds": list(spec.bounds), "missing": spec.missing}
            for key in ("integer", "decimals"):
                if getattr(spec, key) is not None:
                    entry[key] = getattr(spec, key)
            if spec.point_masses:
                entry["point_masses"] = list(spec.point_masses)
        out[column] = entry
    return out


def draft_metadata(
    table: pd.DataFrame, discrete_columns: list[str] | None = None
) -> dict[str, dict[str, Any]]:
    """A metadata draft read from ``table``: every category, and each number's range.

    For a *public* table (a codebook's values, a previous public release) or as a draft to
    edit by hand. Drafted from the private table itself it is no protection at all: its
    categories and bounds are the data's, which is exactly what metadata is meant to avoid.
    Datetime and timedelta columns are left out (metadata does not describe them).
    """
    listed = set(discrete_columns or [])
    out: dict[str, dict[str, Any]] = {}
    for name in table.columns:
        series = table[name]
        dtype = series.dtype
        missing = bool(series.isna().any())
        if ptypes.is_datetime64_any_dtype(dtype) or ptypes.is_timedelta64_dtype(dtype):
            continue
        numeric = ptypes.is_numeric_dtype(dtype) and not ptypes.is_bool_dtype(dtype)
        if numeric and name not in listed:
            present = series.dropna()
            low, high = float(present.min()), float(present.max())
            whole = bool(ptypes.is_integer_dtype(dtype))
            entry: dict[str, Any] = {"bounds": [low, high if high > low else low + 1]}
            entry.update(integer=whole, missing=missing)
            out[str(name)] = entry
        else:
            values = [_category(str(name), v) for v in pd.unique(series.dropna())]
            try:
                values = sorted(values)
            except TypeError:
                pass
            out[str(name)] = {"categories": values + ([None] if missing else [])}
    return out
