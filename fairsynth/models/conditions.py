"""A user's conditions on a sample: checked, then turned into category indices of the model.

``sample(n, conditions={"sex": "Female"})`` asks every row to carry those values;
``sample(n, conditions=frame)`` asks row ``i`` to carry row ``i`` of ``frame`` (``n`` equals
its length). A model generates each row for its condition through the conditioning vector it
was trained with (fairsynth.models.conditioning), so the conditioned values are exact and no row is
thrown away. Which columns a model can be conditioned on depends on that training; the model
says which in its errors.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from fairsynth.exceptions import DataError, ParameterError, format_choices
from fairsynth.labels import category_strings, is_label

__all__ = [
    "category_codes",
    "cell_codes",
    "condition_table",
    "conditioned_cells",
    "sampler_positions",
]


def condition_table(conditions: Any, n_samples: int, columns: Sequence[str]) -> pd.DataFrame:
    """The conditions as a frame of ``n_samples`` rows (a dict is one row for every row).

    Raises
    ------
    ParameterError
        For conditions that are neither a dict nor a DataFrame, a frame whose length is not
        ``n_samples``, or missing values (fill them, or leave that column out).
    DataError
        For a column the training table did not have.
    """
    if isinstance(conditions, Mapping):
        if not conditions:
            raise ParameterError("conditions is empty: give at least one column and value.")
        frame = pd.DataFrame({c: [v] for c, v in conditions.items()})
        frame = frame.iloc[np.zeros(n_samples, dtype=np.int64)].reset_index(drop=True)
    elif isinstance(conditions, pd.DataFrame):
        if len(conditions) != n_samples:
            raise ParameterError(
                f"A conditions frame gives one row per wanted row: it has {len(conditions):,} "
                f"rows but n_samples is {n_samples:,}."
            )
        frame = conditions.reset_index(drop=True)
    else:
        raise ParameterError(
            f"conditions must be a dict {{column: value}} or a DataFrame, got "
            f"{type(conditions).__name__}."
        )
    unknown = [c for c in frame.columns if c not in columns]
    if unknown:
        raise DataError(
            f"Conditions on {format_choices(unknown)}, not columns of the training table. "
            f"Available: {format_choices(columns)}"
        )
    missing = [c for c in frame.columns if frame[c].isna().any()]
    if missing:
        raise ParameterError(
            f"Conditions on {format_choices(missing)} hold missing values; give every row a "
            "value, or leave the column out of the conditions."
        )
    return frame


def category_codes(values: pd.Series, categories: Sequence[Any], column: str) -> np.ndarray:
    """The index of each value among a discrete column's ``categories`` (its one-hot block).

    Raises
    ------
    ParameterError
        For a value never seen in training, naming the values that were.
    """
    codes = np.full(len(values), -1, dtype=np.int64)
    for i, category in enumerate(categories):
        if category is None:
            continue
        codes[is_label(values, category) & (codes < 0)] = i
    if (codes < 0).any():
        unseen = sorted(set(category_strings(values[codes < 0])))
        known = [c for c in categories if c is not None]
        raise ParameterError(
            f"Condition {column}={format_choices(unseen)} is not a value seen in training. "
            f"Values of {column!r}: {format_choices(known)}"
        )
    return codes


def sampler_positions(
    sampler: Any, spans: Sequence[Any], transformer: Any, table: pd.DataFrame, one_for_all: bool
) -> np.ndarray | int:
    """Training-by-sampling's condition positions of the wanted rows (one column at a time).

    ``sampler`` is the model's conditioner (a CategorySampler, or None when it was not trained
    by sampling), ``spans`` the output spans of its blocks; ``one_for_all``: every row has the
    same condition (a dict), so one position stands for all.
    """
    from fairsynth.models.conditioning import CategorySampler

    if not isinstance(sampler, CategorySampler):
        raise ParameterError(
            "This PTGANSynthesizer was not trained to be conditioned: fit it with "
            "training_by_sampling=True (conditions on one discrete column), or use "
            "FairPTGANSynthesizer (conditions on its sensitive and target columns)."
        )
    columns = [span.column for span in spans]
    if table.shape[1] != 1 or table.columns[0] not in columns:
        raise ParameterError(
            f"A PTGANSynthesizer trained by sampling is conditioned on one discrete column at a "
            f"time, got {format_choices(table.columns)}. Columns: {format_choices(columns)}"
        )
    column = str(table.columns[0])
    values = table[column].iloc[:1] if one_for_all else table[column]
    codes = category_codes(values, transformer.categories(column), column)
    positions = sampler.position(columns.index(column), codes)
    return int(positions[0]) if one_for_all else positions


def cell_codes(
    table: pd.DataFrame,
    columns: Sequence[str],
    cells: np.ndarray,
    transformer: Any,
    one_for_all: bool,
) -> np.ndarray:
    """Which cells each wanted row may take: a boolean matrix (rows, cells).

    ``cells`` holds each cell's category index of every column of ``columns`` (the fair
    model's sensitive columns, then its target), shape (n_cells, len(columns)); under
    ``one_for_all`` the first row's condition stands for every row (one row is returned).
    """
    table = table.iloc[:1] if one_for_all else table
    allowed = np.ones((len(table), len(cells)), dtype=bool)
    for column in table.columns:
        if column not in columns:
            raise ParameterError(
                f"A FairPTGANSynthesizer is conditioned on its sensitive and target columns, "
                f"got {column!r}. Columns: {format_choices(columns)}"
            )
        j = list(columns).index(column)
        codes = category_codes(table[column], transformer.categories(column), column)
        allowed &= codes[:, None] == cells[None, :, j]
    return allowed


def conditioned_cells(
    joint: np.ndarray,
    allowed: np.ndarray,
    table: pd.DataFrame,
    rng: np.random.Generator,
    one_for_all: bool,
) -> Any:
    """The fair model's plan for conditioned rows: cells in proportion to the knob's shares
    ``joint`` among those each row's condition ``allowed``; exact counts for a dict
    (a CellPlan), one cell per row in the frame's order otherwise (a ConditionQueue)."""
    from fairsynth.models.conditioning import CellPlan, ConditionQueue
    from fairsynth.models.knob import allocate

    combos, which = np.unique(allowed, axis=0, return_inverse=True)
    which = which.ravel()
    for u, combo in enumerate(combos):
        if not (joint * combo).sum() > 0:
            row = table.iloc[int(np.argmax(which == u))]
            wanted = ", ".join(f"{column}={value!r}" for column, value in row.items())
            raise ParameterError(
                f"No row can satisfy the conditions ({wanted}): the training data has no rows "
                "in those cells, or the fairness knob gives them none."
            )
    if one_for_all:
        return CellPlan(allocate(len(table), joint * combos[0]), rng)
    chosen = np.empty(len(table), dtype=np.int64)
    for u, combo in enumerate(combos):
        rows = np.flatnonzero(which == u)
        counts = allocate(len(rows), joint * combo)
        chosen[rows] = rng.permutation(np.repeat(np.arange(len(counts)), counts))
    return ConditionQueue(chosen)
