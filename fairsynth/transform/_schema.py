"""Table-level checks and the choice of a codec for each column of a table."""

from __future__ import annotations

import numbers
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from fairsynth.exceptions import DataError, ParameterError, format_choices
from fairsynth.transform._columns import Column, DiscreteColumn, FixedColumn
from fairsynth.transform._continuous import ContinuousColumn
from fairsynth.transform._values import dtype_to_json, encode_value, na_marker_of

_ID_MIN_ROWS = 20
_NUMERIC_TEXT_SHARE = 0.9

CODECS: dict[str, Any] = {
    "fixed": FixedColumn,
    "discrete": DiscreteColumn,
    "continuous": ContinuousColumn,
}


def check_params(
    max_modes: int,
    weight_threshold: float,
    max_fit_rows: int | None,
    point_mass_share: float | None,
    point_mass_values: int | None = None,
) -> dict[str, Any]:
    """Validate the transformer's parameters; return them as plain ints and floats."""

    def bad(name: str, value: Any, valid: str) -> ParameterError:
        return ParameterError(f"{name}={value!r} is invalid; expected {valid}.")

    if not isinstance(max_modes, numbers.Integral) or max_modes < 1:
        raise bad("max_modes", max_modes, "an int >= 1")
    if not isinstance(weight_threshold, numbers.Real) or not (0 <= weight_threshold < 1):
        raise bad("weight_threshold", weight_threshold, "a number in [0, 1)")
    rows = max_fit_rows
    if rows is not None and (not isinstance(rows, numbers.Integral) or rows < 2):
        raise bad("max_fit_rows", rows, "None or an int >= 2")
    share = point_mass_share
    if share is not None and (
        isinstance(share, bool) or not isinstance(share, numbers.Real) or not (0 < share <= 1)
    ):
        raise bad("point_mass_share", share, "None or a number in (0, 1]")
    few = point_mass_values
    if few is not None and (
        isinstance(few, bool) or not isinstance(few, numbers.Integral) or few < 1
    ):
        raise bad("point_mass_values", few, "None or an int >= 1")
    return {
        "max_modes": int(max_modes),
        "weight_threshold": float(weight_threshold),
        "max_fit_rows": None if rows is None else int(rows),
        "point_mass_share": None if share is None else float(share),
        "point_mass_values": None if few is None else int(few),
    }


def check_frame(data: Any) -> pd.DataFrame:
    """Return ``data`` if it is a non-empty DataFrame with distinct string column names."""
    if not isinstance(data, pd.DataFrame):
        raise DataError(f"Expected a pandas DataFrame, got {type(data).__name__}.")
    if data.shape[0] == 0 or data.shape[1] == 0:
        raise DataError(f"The table is empty ({data.shape[0]} rows, {data.shape[1]} columns).")
    duplicated = data.columns[data.columns.duplicated()].unique()
    if len(duplicated):
        raise DataError(f"Duplicate column names: {format_choices(duplicated)}.")
    not_str = [c for c in data.columns if not isinstance(c, str)]
    if not_str:
        raise DataError(f"Column names must be strings; got {format_choices(not_str)}.")
    return data


def make_rng(random_state: Any) -> np.random.Generator:
    """A local numpy Generator from an int, a Generator, a RandomState or ``None``."""
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(0, 2**31 - 1))
    try:
        return np.random.default_rng(random_state)
    except (TypeError, ValueError) as exc:
        raise ParameterError(
            f"random_state must be None, an int or a numpy Generator; got {random_state!r}."
        ) from exc


def resolve_discrete(
    frame: pd.DataFrame, discrete_columns: Iterable[str] | None
) -> tuple[set[str], set[str]]:
    """Return the discrete columns and those of them the user listed.

    ``discrete_columns`` adds to the inference (text, category and bool columns are
    discrete): listing ``age`` does not switch it off for the other columns. One error lists
    every column that cannot be modelled as it is.
    """
    available = list(frame.columns)
    given: list[str] = []
    if discrete_columns is not None:
        if isinstance(discrete_columns, str):
            raise ParameterError(
                f"discrete_columns must be a list of column names, got the string "
                f"{discrete_columns!r}; write [{discrete_columns!r}]."
            )
        given = list(discrete_columns)
        unknown = [c for c in given if c not in frame.columns]
        if unknown:
            raise DataError(
                f"discrete_columns names {format_choices(unknown)}, not in the data. "
                f"Available: {format_choices(available)}."
            )
    discrete, unsupported = set(given), []
    for name in available:
        dtype = frame[name].dtype
        if is_discrete_dtype(dtype):
            discrete.add(name)
        elif name not in discrete and not is_continuous_dtype(dtype):
            unsupported.append(f"{name!r} has dtype {dtype}")
    if unsupported:
        raise DataError(
            f"{len(unsupported)} column(s) cannot be modelled: {'; '.join(unsupported)}. "
            "Supported: numbers, booleans, text, categories, datetimes, timedeltas (list a "
            "column in discrete_columns to model its values as categories)."
        )
    return discrete, set(given)


def check_inferred_text(frame: pd.DataFrame, inferred: Iterable[str]) -> None:
    """Refuse, in one error naming them all, inferred text columns that are mostly numbers."""
    problems = [problem for name in inferred if (problem := _numeric_text(name, frame[name]))]
    if len(problems) == 1:
        raise DataError(
            f"{problems[0]}. Read these values as missing, or list the column in "
            "discrete_columns to model it as categories."
        )
    if problems:
        raise DataError(
            f"{len(problems)} columns need a decision: {'; '.join(problems)}. Read these values "
            "as missing, or list the columns in discrete_columns to model them as categories."
        )


def is_discrete_dtype(dtype: Any) -> bool:
    """Object, string, bool and category columns are inferred discrete."""
    return (
        ptypes.is_object_dtype(dtype)
        or ptypes.is_string_dtype(dtype)
        or ptypes.is_bool_dtype(dtype)
        or isinstance(dtype, pd.CategoricalDtype)
    )


def is_continuous_dtype(dtype: Any) -> bool:
    """Real numbers, datetimes and timedeltas can be modelled as continuous."""
    number = ptypes.is_numeric_dtype(dtype) and not ptypes.is_complex_dtype(dtype)
    return number or ptypes.is_datetime64_any_dtype(dtype) or ptypes.is_timedelta64_dtype(dtype)


def fit_column(
    name: str,
    series: pd.Series,
    discrete: bool,
    rng: np.random.Generator,
    params: dict[str, Any],
) -> tuple[Column, str]:
    """Return the codec for one column and, if it is not modelled, why."""
    dtype = series.dtype
    dtype_to_json(dtype, name)  # fail now, not at save time, on a dtype we cannot restore
    try:
        missing = series.isna()
        n_distinct = series.nunique(dropna=True)
    except TypeError as exc:
        raise DataError(f"Column {name!r} holds unhashable values (lists, dicts?).") from exc
    if missing.all():
        return FixedColumn(name, dtype, na_marker_of(series), "missing"), "all missing"
    if n_distinct == 1 and not missing.any():
        value = series.iloc[0]
        encode_value(value, name)  # fail now, not at save time, on unstorable values
        return FixedColumn(name, dtype, "none", "constant", value=value), "constant"
    if not discrete:
        if n_distinct == 1:
            return DiscreteColumn.fit(name, series), ""
        return ContinuousColumn.fit(name, series, rng, params), ""
    id_like = not (ptypes.is_datetime64_any_dtype(dtype) or ptypes.is_timedelta64_dtype(dtype))
    if id_like and len(series) >= _ID_MIN_ROWS and n_distinct == len(series):
        return FixedColumn.for_ids(name, series), "an ID column (all values distinct)"
    return DiscreteColumn.fit(name, series), ""


def _numeric_text(name: str, series: pd.Series) -> str:
    """What is wrong with a text column whose values are mostly, not all, numbers ('': nothing)."""
    if isinstance(series.dtype, pd.CategoricalDtype) or ptypes.is_bool_dtype(series.dtype):
        return ""
    try:  # factorize, not value_counts: pandas warns when value_counts infers an index's type
        codes, uniques = pd.factorize(series.to_numpy(dtype=object), use_na_sentinel=True)
    except TypeError:  # unhashable values: fit_column names them
        return ""
    if not len(uniques):
        return ""
    counts = pd.Series(np.bincount(codes[codes >= 0]), index=pd.Index(uniques, dtype=object))
    counts = counts.sort_values(ascending=False, kind="stable")
    parsed = pd.to_numeric(pd.Series(counts.index, dtype=object), errors="coerce")
    bad = counts[parsed.isna().to_numpy()]
    share = 1.0 - bad.sum() / counts.sum()
    if _NUMERIC_TEXT_SHARE <= share < 1.0:
        return (
            f"Column {name!r} looks numeric ({share:.1%} of its values are numbers) but holds "
            f"text: {format_choices(bad.index[:5])} ({int(bad.sum())} rows)"
        )
    return ""
