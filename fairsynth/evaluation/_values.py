"""How the evaluation reads a column's values: its kind, and categories as comparable text."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from fairsynth.exceptions import DataError
from fairsynth.labels import MISSING, category_strings, group_labels

__all__ = ["MISSING", "Kind", "as_numbers", "category_strings", "column_kind", "group_labels"]

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


def as_numbers(series: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(series):
        stamps = pd.to_datetime(series)
        days = (stamps - pd.Timestamp("1970-01-01")) / pd.Timedelta(days=1)
        return days.astype(float)
    numbers = series.astype(float)
    if not np.isfinite(numbers.dropna()).all():
        raise DataError(f"Column '{series.name}' holds infinite values; replace them first.")
    return numbers
