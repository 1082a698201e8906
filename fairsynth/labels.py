"""How a column's values are named and compared, in one place for the models and the evaluation.

Values from a CSV, a DataFrame and a generator should compare equal when they mean the same:
1, 1.0 and '1' are one category; a missing value is the category :data:`MISSING`. Torch-free.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["MISSING", "category_strings", "group_labels", "is_label"]

MISSING = "(missing)"
"""The category that stands for a missing value in a categorical or sensitive column."""


def category_strings(series: pd.Series) -> pd.Series:
    """Return the column as strings, so that 1, 1.0 and '1' from a CSV compare equal.

    Whole floats are written without the '.0' (a generator that outputs 1.0 for the category
    1 is not wrong); missing values become :data:`MISSING`.
    """
    values = series.astype(object) if isinstance(series.dtype, pd.CategoricalDtype) else series
    missing = values.isna()
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        numbers = values.astype(float)
        whole = bool(np.all(np.mod(numbers[~missing], 1) == 0))
        text = numbers.map(lambda v: f"{v:.0f}" if whole else repr(v))
    else:
        text = values.map(str)
    return text.where(~missing, MISSING).astype(object)


def group_labels(frame: pd.DataFrame, columns: Sequence[str]) -> pd.Series:
    """Return one group label per row: the column's value, or 'a & b' for an intersection."""
    if len(columns) == 1:
        return category_strings(frame[columns[0]])
    parts = [category_strings(frame[c]) for c in columns]
    out = parts[0]
    for part in parts[1:]:
        out = out + " & " + part
    return out


def is_label(values: pd.Series | Sequence[object], label: object) -> np.ndarray:
    """Which ``values`` are ``label`` (the positive outcome, say), compared as category strings:
    the label 1 matches 1, 1.0 and '1' alike, and ``'>50K'`` only itself."""
    series = values if isinstance(values, pd.Series) else pd.Series(list(values), dtype=object)
    wanted = category_strings(pd.Series([label])).iloc[0]
    return np.asarray(category_strings(series).to_numpy() == wanted)
