"""Property test: random mixed tables, with missing values and extremes, survive the round trip."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from fairsynth.exceptions import DataError
from fairsynth.transform import ColumnHandlingWarning, TableTransformer

EXTREME = 1e300
KINDS = ("int", "float", "text", "bool", "datetime", "small_int")


@st.composite
def tables(draw: Any) -> pd.DataFrame:
    n = draw(st.integers(2, 40))
    kinds = draw(st.lists(st.sampled_from(KINDS), min_size=1, max_size=4))
    columns: dict[str, Any] = {}
    for i, kind in enumerate(kinds):
        missing = draw(st.lists(st.booleans(), min_size=n, max_size=n))
        if kind == "int":
            ints = st.integers(-(2**62), 2**62) | st.sampled_from([0, 1, -1, 2**62])
            values = draw(st.lists(ints, min_size=n, max_size=n))
            column: Any = pd.array(
                [None if m else v for v, m in zip(values, missing, strict=True)], "Int64"
            )
        elif kind == "small_int":
            values = draw(st.lists(st.integers(-5, 5), min_size=n, max_size=n))
            column = np.asarray(values, dtype=np.int16)
        elif kind == "float":
            floats = st.floats(-EXTREME, EXTREME, allow_nan=False) | st.sampled_from([0.0, 0.5])
            values = draw(st.lists(floats, min_size=n, max_size=n))
            column = np.where(missing, np.nan, values)
        elif kind == "text":
            values = draw(st.lists(st.sampled_from(["a", "b", "", "ü", "long text"]), min_size=n))
            column = pd.Series(values[:n], dtype=object).where(~np.asarray(missing), None)
        elif kind == "bool":
            column = np.asarray(draw(st.lists(st.booleans(), min_size=n, max_size=n)))
        else:
            seconds = st.integers(-(10**9), 4 * 10**9)
            values = draw(st.lists(seconds, min_size=n, max_size=n))
            column = pd.Series(pd.to_datetime(values, unit="s")).where(~np.asarray(missing))
        columns[f"{kind}_{i}"] = column
    return pd.DataFrame(columns)


def _assert_close(name: str, got: pd.Series, want: pd.Series) -> None:
    """Equal where discrete or rounded; else within 1e-6 of the column's range (float32)."""
    assert (got.isna().to_numpy() == want.isna().to_numpy()).all(), name
    present = want.notna().to_numpy()
    if not present.any() or not (
        pd.api.types.is_numeric_dtype(want) or pd.api.types.is_datetime64_any_dtype(want)
    ):
        assert got[present].tolist() == want[present].tolist(), name
        return
    if pd.api.types.is_bool_dtype(want):
        assert (got == want).all(), name
        return
    if pd.api.types.is_datetime64_any_dtype(want):
        got, want = got.astype("int64"), want.astype("int64")
    g = got.to_numpy(dtype=np.float64, na_value=np.nan)[present]
    w = want.to_numpy(dtype=np.float64, na_value=np.nan)[present]
    tolerance = 1e-6 * (w.max() - w.min())
    assert np.all(np.abs(g - w) <= tolerance), (name, g, w)


@pytest.mark.filterwarnings("ignore::hypothesis.errors.NonInteractiveExampleWarning")
@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,  # a fixed set of examples: the default test run stays reproducible
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(df=tables(), seed=st.integers(0, 2**32 - 1))
def test_round_trip_of_random_tables(df: pd.DataFrame, seed: int) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ColumnHandlingWarning)
        try:
            tt = TableTransformer(random_state=seed, max_modes=4).fit(df)
        except DataError as exc:
            assume("No column can be modelled" not in str(exc))
            raise
    matrix = tt.transform(df)
    assert matrix.shape == (len(df), tt.output_dim_) and np.isfinite(matrix).all()
    for span in tt.spans_:
        if span.kind == "scalar":
            assert np.abs(matrix[:, span.start]).max() <= 1.0
    back = tt.inverse_transform(matrix)
    assert list(back.columns) == list(df.columns) and list(back.dtypes) == list(df.dtypes)
    for name in df.columns:
        if not tt.column_spans(name) and df[name].nunique() == len(df) >= 20:
            assert back[name].is_unique  # an ID column, regenerated
        else:
            _assert_close(name, back[name], df[name])
