"""How the evaluation reads a column's values: its kind, and categories as comparable text."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd

from fairsynth.exceptions import DataError

__all__ = ["MISSING", "Kind", "as_numbers", "category_strings", "column_kind", "group_labels"]

MISSING = "(missing)"
"""The category that stands for a missing value in a categorical or sensitive column."""

Kind = Literal["numeric", "categorical", "datetime"]


def column_kind(series: pd.Series) -> Kind:
    """Classify a column by its dtype: numbers, dates, or anything else as categories."""
    if pd.api.types.is_bool_dtype(series):
        return "categorical"
    if pd.api.types.is_numeric_dtype(series):
        return "numeric"
    if pd.api.types.is_datetime64_any_dtype(series):
        return "datetime"
    return "categorical"


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


def as_numbers(series: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(series):
        stamps = pd.to_datetime(series)
        days = (stamps - pd.Timestamp("1970-01-01")) / pd.Timedelta(days=1)
        return days.astype(float)
    numbers = series.astype(float)
    if not np.isfinite(numbers.dropna()).all():
        raise DataError(f"Column '{series.name}' holds infinite values; replace them first.")
    return numbers


def group_labels(frame: pd.DataFrame, columns: Sequence[str]) -> pd.Series:
    """Return one group label per row: the column's value, or 'a & b' for an intersection."""
    if len(columns) == 1:
        return category_strings(frame[columns[0]])
    parts = [category_strings(frame[c]) for c in columns]
    out = parts[0]
    for part in parts[1:]:
        out = out + " & " + part
    return out
