"""Awkward numeric columns round-trip exactly (issue 17's bad-input list).

A column of point masses only, one non-zero value, values that differ in the 15th digit,
negative zero, a point mass at the minimum or maximum, integers beyond 2**53: each keeps its
dtype and its exact values through the transform, through fit / sample / save / load, or is
named in a warning.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import SMALL_NETS

from fairsynth import PTGANSynthesizer
from fairsynth.exceptions import ColumnHandlingWarning
from fairsynth.models.base import BaseSynthesizer
from fairsynth.transform import TableTransformer

N = 400
_rng = np.random.default_rng(0)
CASES: dict[str, pd.Series] = {
    "point masses only": pd.Series(_rng.choice([0.0, 1.0, 5.0], N)),
    "one non-zero value": pd.Series(np.r_[np.zeros(N - 1), 7.5]),
    "15th digit": pd.Series(0.1 + _rng.integers(0, 5, N) * 1e-15),
    "negative zero": pd.Series(np.r_[np.full(N // 2, -0.0), _rng.normal(size=N // 2)]),
    "mass at maximum": pd.Series(np.r_[np.full(N // 4, 99_999.0), _rng.uniform(0, 5e3, 300)]),
    "mass at minimum": pd.Series(np.r_[np.zeros(N // 2, dtype=np.int64), np.arange(1, 201)]),
    # float64 cannot hold 2**53 + 1: these were generated as 2**53 (even) before
    "2**53 + 1": pd.Series(2**53 + 1 + 2 * _rng.integers(0, 3, N)),
    "2**60 with missing": pd.Series(
        pd.array([*(2**60 + _rng.integers(0, 3, N - 40)), *[None] * 40], dtype="Int64")
    ),
    "near 2**64 unsigned": pd.Series(
        np.r_[np.full(N // 2, 2**64 - 5), np.full(N // 2, 2**64 - 2)].astype(np.uint64)
    ),
    # a full-precision float whose affine round trip through the mixture is off by one ulp
    "full-precision mass": pd.Series(
        np.r_[np.full(N // 2, np.e / 3), _rng.normal(size=N // 2) + 1]
    ),
}


def _table(values: pd.Series) -> pd.DataFrame:
    return pd.DataFrame({"x": values, "c": np.where(np.arange(N) % 3, "a", "b")})


@pytest.mark.parametrize("case", list(CASES))
def test_the_transform_round_trips_exactly_and_point_masses_decode_to_their_value(
    case: str,
) -> None:
    df = _table(CASES[case])
    transformer = TableTransformer(point_mass_share=0.05, point_mass_values=20, random_state=0)
    transformer.fit(df)
    back = transformer.inverse_transform(transformer.transform(df, random_state=1))
    pd.testing.assert_frame_equal(back, df)
    assert np.array_equal(np.signbit(back["x"].to_numpy(dtype=float)),
                          np.signbit(df["x"].to_numpy(dtype=float)))  # fmt: skip
    # whatever scalar a generator puts beside a point mode, the row decodes to the value
    codec = transformer._codecs[0]  # type: ignore[attr-defined]
    points = np.flatnonzero(codec.mixture.mode_std == 0)
    assert len(points), "a value holding 5 % of the rows is a point mass"
    matrix = transformer.transform(df, random_state=1)
    scalar = next(s for s in transformer.spans_ if s.column == "x" and s.kind == "scalar")
    matrix[:, scalar.start] = np.random.default_rng(2).uniform(-1, 1, len(matrix))
    noisy = transformer.inverse_transform(matrix)["x"]
    at_point = matrix[:, scalar.start + 1 + points].any(axis=1)
    assert noisy[at_point].dropna().isin(df["x"].dropna()).all()
    assert noisy.dtype == df["x"].dtype


def test_a_model_keeps_dtypes_and_exact_values_through_save_and_load(tmp_path: Path) -> None:
    columns = ("point masses only", "negative zero", "2**53 + 1", "2**60 with missing")
    df = pd.DataFrame({name: CASES[name] for name in columns}).assign(
        c=_table(CASES["15th digit"]).c
    )
    model = PTGANSynthesizer(epochs=2, **SMALL_NETS).fit(df)  # type: ignore[arg-type]
    model.save(tmp_path / "m.fairsynth")
    loaded = BaseSynthesizer.load(tmp_path / "m.fairsynth")
    rows = loaded.sample(1_000, random_state=0)
    pd.testing.assert_frame_equal(rows, model.sample(1_000, random_state=0))
    pd.testing.assert_series_equal(rows.dtypes, df.dtypes)
    assert rows["point masses only"].isin([0.0, 1.0, 5.0]).all()
    zeros = rows["negative zero"] == 0
    assert zeros.any() and np.signbit(rows["negative zero"][zeros]).all()
    big = rows["2**53 + 1"]
    assert big.between(2**53 + 1, 2**53 + 5).all() and (big % 2 == 1).all()
    present = rows["2**60 with missing"].dropna()
    assert present.between(2**60, 2**60 + 2).all()


def test_integers_too_far_apart_for_float64_are_named_in_a_warning() -> None:
    values = pd.Series(np.r_[np.full(N // 2, -(2**62)), np.arange(N // 2) * 2**55])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        transformer = TableTransformer(point_mass_share=0.05).fit(_table(values))
    messages = [str(w.message) for w in caught if w.category is ColumnHandlingWarning]
    assert any("'x'" in m and "2**53 apart" in m for m in messages), messages
    back = transformer.inverse_transform(transformer.transform(_table(values), random_state=0))
    assert (back["x"] == -(2**62)).sum() == N // 2  # the point mass is still exact


def test_point_masses_decode_to_exactly_their_value() -> None:
    rng = np.random.default_rng(0)
    n = 2000
    gain = np.where(rng.random(n) < 0.9, 0, rng.integers(100, 99_999, n))
    hours = np.where(rng.random(n) < 0.45, 40.0, rng.normal(40, 12, n).round(1))
    df = pd.DataFrame({"gain": gain, "hours": hours})
    tt = TableTransformer(point_mass_share=0.05, random_state=0).fit(df)
    pd.testing.assert_frame_equal(tt.inverse_transform(tt.transform(df)), df)
    for name, value in (("gain", 0), ("hours", 40.0)):
        mixture = tt._codecs[list(tt.columns_).index(name)].mixture  # type: ignore[attr-defined]
        point = np.flatnonzero(mixture.mode_std == 0)
        assert len(point) == 1
        # every row at the value is encoded to the point mode with scalar 0, and only those
        span = next(s for s in tt.spans_ if s.column == name and s.kind == "onehot")
        matrix = tt.transform(df, random_state=1)
        at_value = matrix[:, span.start + point[0]] == 1
        np.testing.assert_array_equal(at_value, (df[name] == value).to_numpy())
        # a generator's scalar, whatever it is, cannot move a row off the point
        noisy = matrix.copy()
        scalar = next(s for s in tt.spans_ if s.column == name and s.kind == "scalar").start
        noisy[at_value, scalar] = rng.uniform(-1, 1, at_value.sum())
        assert (tt.inverse_transform(noisy)[name][at_value] == value).all()
    # without point masses (as rdt / CTGAN) the spike is one more Gaussian mode
    plain = TableTransformer(random_state=0).fit(df)  # the default
    assert all((c.mixture.mode_std > 0).all() for c in plain._codecs)  # type: ignore[attr-defined]
    pd.testing.assert_frame_equal(plain.inverse_transform(plain.transform(df)), df)


def test_a_column_of_few_values_becomes_point_modes_only() -> None:
    df = pd.DataFrame({"rate": [1, 2, 3, 4] * 30, "x": np.linspace(0, 1, 120)})
    tt = TableTransformer(point_mass_share=0.05, random_state=0).fit(df)
    mixture = tt._codecs[0].mixture  # type: ignore[attr-defined]
    np.testing.assert_array_equal(mixture.mode_std, np.zeros(4))
    assert len(mixture.mean) == 0  # no Gaussian components at all
    pd.testing.assert_frame_equal(tt.inverse_transform(tt.transform(df)), df)
    unseen = pd.DataFrame({"rate": [0, 2, 3, 9], "x": [0.5] * 4})  # nearest point, then clip
    assert tt.inverse_transform(tt.transform(unseen))["rate"].tolist() == [1, 2, 3, 4]
    # values seen once are not masses, whatever their share
    few = TableTransformer(point_mass_share=0.01).fit(pd.DataFrame({"a": np.arange(30.0)}))
    assert (few._codecs[0].mixture.mode_std > 0).all()  # type: ignore[attr-defined]


def test_a_column_of_few_whole_numbers_is_generated_exactly() -> None:
    rng = np.random.default_rng(0)
    # years of education: 16 values, the rarest 0.1 % of the rows, far below any share
    years = rng.choice(np.arange(1, 17), 3000, p=np.r_[0.001, np.full(15, 0.999 / 15)])
    df = pd.DataFrame({
        "years": years,
        "wide": rng.integers(0, 40, 3000),  # 40 values: left to the mixture
        "halves": rng.choice([0.5, 1.5, 2.5], 3000),  # few values, not whole numbers
    })  # fmt: skip
    tt = TableTransformer(point_mass_values=20, random_state=0).fit(df)  # no share rule
    years_mix, wide_mix, halves_mix = (c.mixture for c in tt._codecs)  # type: ignore[attr-defined]
    np.testing.assert_array_equal(years_mix.mode_std, np.zeros(16))
    assert len(years_mix.mean) == 0  # no Gaussian left: one mode per value, 1 included
    assert (wide_mix.mode_std > 0).all() and (halves_mix.mode_std > 0).all()
    pd.testing.assert_frame_equal(tt.inverse_transform(tt.transform(df)), df)
    # any generator output decodes to one of the 16 values
    noise = rng.normal(size=(500, tt.output_dim_))
    assert set(tt.inverse_transform(noise)["years"]) <= set(range(1, 17))
    # the default leaves them to the mixture
    plain = TableTransformer(random_state=0).fit(df)
    assert (plain._codecs[0].mixture.mode_std > 0).all()  # type: ignore[attr-defined]
    assert plain.get_params()["point_mass_values"] is None


# ------------------------------------------------------------------------------- state
