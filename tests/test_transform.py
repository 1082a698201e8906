"""Tests of the reversible table <-> matrix transform."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError as SklearnNotFittedError
from sklearn.mixture import BayesianGaussianMixture

from fairsynth.datasets import load_dataset
from fairsynth.exceptions import DataError, ModelFileError, NotFittedError, ParameterError
from fairsynth.transform import ColumnHandlingWarning, OutputSpan, TableTransformer
from fairsynth.transform._mixture import Mixture as _Mixture

# ------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def adult() -> pd.DataFrame:
    return load_dataset("adult").train


@pytest.fixture(scope="module")
def adult_fitted(adult: pd.DataFrame) -> TableTransformer:
    return TableTransformer(random_state=0).fit(adult)


def mixed_frame(n: int = 240, seed: int = 0) -> pd.DataFrame:
    """A table with every supported dtype, missing values where the dtype allows them."""
    rng = np.random.default_rng(seed)
    miss = rng.random(n) < 0.15
    days = pd.to_timedelta(rng.integers(0, 3_000, n), unit="D")
    seconds = pd.to_timedelta(rng.integers(0, 10**8, n), unit="s")
    stamps = pd.Series(pd.Timestamp("2001-02-03 04:05:06") + seconds)
    mixed = [[1, "two", 3.5][i] for i in rng.integers(0, 3, n)]
    return pd.DataFrame(
        {
            "int": rng.integers(-50, 1_000, n),
            "float": rng.normal(10, 3, n),
            "money": np.round(rng.gamma(2, 50, n), 2),
            "int_na": pd.array(np.where(miss, None, rng.integers(0, 9, n)), dtype="Int64"),
            "float_na": np.where(miss, np.nan, np.round(rng.normal(size=n), 3)),
            "f32": rng.normal(size=n).astype(np.float32),
            "u8": rng.integers(0, 255, n).astype(np.uint8),
            "bool": rng.random(n) < 0.3,
            "boolean_na": pd.array(np.where(miss, None, rng.random(n) < 0.5), dtype="boolean"),
            "category": pd.Categorical(
                rng.choice(["lo", "mid", "hi"], n),
                categories=["lo", "mid", "hi", "unused"],
                ordered=True,
            ),
            "string": pd.array(np.where(miss, None, rng.choice(["a", "b", "c"], n)), "string"),
            "date": pd.Series(pd.Timestamp("2020-01-01") + days).astype("datetime64[s]"),
            "stamp_nat": stamps.where(~miss),
            "stamp_tz": stamps.dt.tz_localize("UTC").dt.tz_convert("Europe/Paris"),
            "duration": pd.Series(seconds),
            "object": pd.Series(rng.choice(["x", "y", "z"], n), dtype=object).where(~miss, None),
            "object_nan": pd.Series(rng.choice(["p", "q"], n), dtype=object).where(~miss, np.nan),
            "mixed_object": pd.Series(mixed, dtype=object),
        }
    )


# Values the float32 matrix carries only to about 1e-7 of a mode's spread: full-precision floats,
# and times at one-second resolution spread over years. Everything else must come back exactly.
APPROX = {"float": 1e-5, "f32": 1e-5, "stamp_nat": 2e9, "stamp_tz": 2e9, "duration": 2e9}


def assert_round_trip(back: pd.DataFrame, df: pd.DataFrame) -> None:
    assert list(back.columns) == list(df.columns)
    assert list(back.dtypes) == list(df.dtypes)
    exact = [c for c in df.columns if c not in APPROX]
    pd.testing.assert_frame_equal(back[exact], df[exact], check_exact=True)
    for name in set(APPROX) & set(df.columns):
        got, want = back[name], df[name]
        assert (got.isna() == want.isna()).all()
        if want.dtype.kind in "mM" or isinstance(want.dtype, pd.DatetimeTZDtype):
            got, want = got.astype("int64"), want.astype("int64")  # nanoseconds
        np.testing.assert_allclose(got[want.notna()], want[want.notna()], rtol=0, atol=APPROX[name])


# ------------------------------------------------------------------------------- round trips


def test_adult_round_trip_and_layout(adult: pd.DataFrame, adult_fitted: TableTransformer) -> None:
    tt = adult_fitted
    matrix = tt.transform(adult, random_state=1)
    assert matrix.dtype == np.float32 and matrix.shape == (len(adult), tt.output_dim_)
    back = tt.inverse_transform(matrix)
    pd.testing.assert_frame_equal(back, adult.reset_index(drop=True), check_exact=True)
    # spans tile the matrix; scalars in [-1, 1]; one-hot blocks hold exactly one 1 per row
    assert tt.spans_[0].start == 0 and tt.spans_[-1].stop == tt.output_dim_
    assert all(a.stop == b.start for a, b in zip(tt.spans_, tt.spans_[1:], strict=False))
    for span in tt.spans_:
        block = matrix[:, span.start : span.stop]
        if span.kind == "scalar":
            assert span.width == 1 and np.abs(block).max() <= 0.99 + 1e-6
        else:
            assert set(np.unique(block)) <= {0.0, 1.0} and (block.sum(axis=1) == 1).all()
    assert tt.discrete_columns_ == load_dataset("adult").discrete_columns
    assert tt.columns_ == list(adult.columns) and tt.n_features_in_ == adult.shape[1]


def test_adult_category_blocks_for_the_fair_variant(
    adult: pd.DataFrame, adult_fitted: TableTransformer
) -> None:
    tt = adult_fitted
    (span,) = tt.column_spans("sex")
    assert span == OutputSpan("sex", span.start, 2, "onehot")
    assert tt.categories("sex") == ["Female", "Male"]
    matrix = tt.transform(adult, random_state=0)
    is_male = matrix[:, span.start + tt.categories("sex").index("Male")] == 1
    np.testing.assert_array_equal(is_male, (adult["sex"] == "Male").to_numpy())
    kinds = [s.kind for s in tt.column_spans("age")]
    assert kinds == ["scalar", "onehot"]
    with pytest.raises(DataError, match=r"'age' has no one-hot.*'sex'"):
        tt.categories("age")
    with pytest.raises(DataError, match=r"'sx' not in data\. Available: 'age'"):
        tt.column_spans("sx")


def test_every_dtype_round_trips() -> None:
    df = mixed_frame()
    tt = TableTransformer(random_state=3).fit(df)
    back = tt.inverse_transform(tt.transform(df))
    assert_round_trip(back, df)
    assert back["category"].dtype == df["category"].dtype  # unused category and order kept
    assert back["object"].isna().sum() > 0 and back["object"][back["object"].isna()].iloc[0] is None
    assert np.isnan(back["object_nan"][back["object_nan"].isna()].iloc[0])
    assert set(tt.discrete_columns_) == {
        "bool", "boolean_na", "category", "string", "object", "object_nan", "mixed_object",
    }  # fmt: skip
    # continuous with missing: scalar, modes, then the [present, missing] pair
    kinds = [(s.kind, s.width) for s in tt.column_spans("float_na")]
    assert kinds[0] == ("scalar", 1) and kinds[-1] == ("onehot", 2) and len(kinds) == 3
    assert tt.categories("object") == ["x", "y", "z", None]
    assert tt.categories("mixed_object") == sorted(
        set(df["mixed_object"]), key=list(df["mixed_object"]).index
    )


def test_declared_discrete_numeric_column_and_subsampled_fit() -> None:
    rng = np.random.default_rng(1)
    n = 1_000
    df = pd.DataFrame(
        {
            "label": rng.integers(0, 3, n),
            "score": np.round(rng.lognormal(3, 1, n), 1),
            "group": rng.choice(["a", "b"], n),
        }
    )
    df.loc[:4, "score"] = [1e6, 2e6, -5e5, 0.1, 12345.6]  # outliers far from every mode
    tt = TableTransformer(discrete_columns=["label", "group"], max_fit_rows=50, random_state=0)
    back = tt.fit(df).inverse_transform(tt.transform(df))
    pd.testing.assert_frame_equal(back, df, check_exact=True)
    assert tt.categories("label") == [0, 1, 2] and tt.column_spans("label")[0].width == 3


def test_soft_blocks_and_out_of_range_scalars() -> None:
    df = mixed_frame(120, seed=5)
    tt = TableTransformer(random_state=0).fit(df)
    matrix = tt.transform(df).astype(np.float64)
    rng = np.random.default_rng(0)
    soft = matrix.copy()
    for span in tt.spans_:
        if span.kind == "onehot":  # blur the blocks without moving the argmax
            cols = slice(span.start, span.stop)
            soft[:, cols] = 0.6 * soft[:, cols] + 0.4 * rng.random((len(df), span.width)) / 2
    assert_round_trip(tt.inverse_transform(soft), df)
    # arbitrary outputs decode to valid values of the fitted dtypes, inside the fitted range
    noise = rng.normal(0, 3, size=matrix.shape)
    out = tt.inverse_transform(noise)
    assert list(out.dtypes) == list(df.dtypes)
    assert out["int"].between(df["int"].min(), df["int"].max()).all()
    assert (out["date"].dt.normalize() == out["date"]).all()  # learned resolution: days
    assert out["stamp_tz"].dt.tz == df["stamp_tz"].dt.tz
    assert (out["money"] == out["money"].round(2)).all()


def test_state_round_trip_through_json() -> None:
    df = mixed_frame(150, seed=2)
    with pytest.warns(ColumnHandlingWarning):
        df["const"] = 7
        df["empty"] = np.nan
        df["ids"] = [f"P{i:04d}" for i in range(len(df))]
        tt = TableTransformer(random_state=4).fit(df)
    config, arrays = tt.get_state()
    text = json.dumps(config, allow_nan=False)  # strict JSON: no NaN, no objects
    assert all(isinstance(a, np.ndarray) and a.dtype.kind in "fiu" for a in arrays.values())
    copy = TableTransformer.from_state(json.loads(text), {k: a.copy() for k, a in arrays.items()})
    np.testing.assert_array_equal(
        copy.transform(df, random_state=9), tt.transform(df, random_state=9)
    )
    noise = np.random.default_rng(0).normal(size=(50, tt.output_dim_))
    pd.testing.assert_frame_equal(copy.inverse_transform(noise), tt.inverse_transform(noise))
    assert copy.spans_ == tt.spans_ and copy.discrete_columns_ == tt.discrete_columns_
    assert copy.categories("string") == tt.categories("string")
    assert copy.get_params() == tt.get_params()


def test_state_errors() -> None:
    tt = TableTransformer().fit(pd.DataFrame({"a": [1.0, 2.0, 3.5], "b": list("xyx")}))
    config, arrays = tt.get_state()
    with pytest.raises(ModelFileError, match="version 99"):
        TableTransformer.from_state({**config, "version": 99}, arrays)
    # a state written before point masses existed was fitted without them
    dropped = ("point_mass_share", "point_mass_values")
    params = {k: v for k, v in config["params"].items() if k not in dropped}
    old = {**config, "params": params}
    assert TableTransformer.from_state(old, arrays).point_mass_share is None
    assert TableTransformer.from_state(old, arrays).point_mass_values is None
    with pytest.raises(ModelFileError, match="format"):
        TableTransformer.from_state({"version": 1}, arrays)
    with pytest.raises(ModelFileError, match="Malformed"):
        TableTransformer.from_state(config, {})


# ------------------------------------------------------------------------------- randomness


def test_global_rng_untouched_and_determinism() -> None:
    df = mixed_frame(200, seed=7)
    before = np.random.get_state()  # noqa: NPY002 (checking it is left alone)
    tt = TableTransformer(random_state=11).fit(df)
    first = tt.transform(df, random_state=5)
    tt.inverse_transform(first)
    after = np.random.get_state()  # noqa: NPY002
    assert before[0] == after[0] and np.array_equal(before[1], after[1]) and before[2:] == after[2:]
    again = TableTransformer(random_state=11).fit(df)
    np.testing.assert_array_equal(again.transform(df, random_state=5), first)
    np.testing.assert_array_equal(tt.transform(df), tt.transform(df))  # falls back on 11
    assert not np.array_equal(tt.transform(df, random_state=6), first)  # modes are sampled


def test_posterior_matches_scikit_learn() -> None:
    rng = np.random.default_rng(0)
    z = np.concatenate([rng.normal(-2, 0.3, 400), rng.normal(1, 0.5, 600), [6.0] * 5])
    bgm = BayesianGaussianMixture(
        n_components=6,
        weight_concentration_prior_type="dirichlet_process",
        weight_concentration_prior=0.001,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning
        bgm.fit(z.reshape(-1, 1))
    mask = bgm.weights_ > 0.005
    mixture = _Mixture.from_bgm(bgm, mask)
    grid = np.linspace(-4, 8, 200)
    expected = bgm.predict_proba(grid.reshape(-1, 1))[:, mask]
    np.testing.assert_allclose(mixture.posterior(grid), expected, atol=1e-9)


def test_mode_sampling_follows_the_posterior() -> None:
    rng = np.random.default_rng(0)
    values = np.concatenate([rng.normal(0, 1, 500), rng.normal(2.5, 1, 500)])
    tt = TableTransformer(random_state=0).fit(pd.DataFrame({"v": values}))
    _, modes = tt.column_spans("v")
    probe = pd.DataFrame({"v": np.full(20_000, 1.25)})
    onehot = tt.transform(probe, random_state=1)[:, modes.start : modes.stop]
    mixture = tt._codecs[0].mixture  # type: ignore[attr-defined]
    codec = tt._codecs[0]
    z = (1.25 / codec.stats["scale"] - codec.stats["center"]) / codec.stats["spread"]
    scaled = np.abs((z - mixture.mode_mean) / (4 * mixture.mode_std))
    post = np.where(scaled <= 0.99, mixture.posterior(np.array([z]))[0] + 1e-6, 0.0)
    np.testing.assert_allclose(onehot.mean(axis=0), post / post.sum(), atol=0.015)


# ------------------------------------------------------------------------------- awkward columns


def test_constant_missing_and_id_columns_are_regenerated() -> None:
    n = 40
    df = pd.DataFrame(
        {
            "x": np.linspace(0, 1, n),
            "const": ["same"] * n,
            "const_num": np.full(n, 2.5, dtype=np.float32),
            "empty": pd.Series([None] * n, dtype=object),
            "empty_float": np.full(n, np.nan),
            "uid": np.arange(1_000, 1_000 + n, dtype=np.int16),
            "sid": [f"user{i}" for i in range(n)],
            "one_or_na": [3.0, np.nan] * (n // 2),
        }
    )
    with pytest.warns(ColumnHandlingWarning) as caught:
        tt = TableTransformer(discrete_columns=["const", "empty", "uid", "sid"]).fit(df)
    messages = " ".join(str(w.message) for w in caught)
    for name in ("const", "const_num", "empty", "empty_float", "uid", "sid"):
        assert f"'{name}'" in messages
    assert "'x'" not in messages and "'one_or_na'" not in messages
    assert [s.column for s in tt.spans_ if s.kind == "onehot"][-1] == "one_or_na"
    out = tt.inverse_transform(np.random.default_rng(0).normal(size=(60, tt.output_dim_)))
    assert list(out.dtypes) == list(df.dtypes)
    assert (out["const"] == "same").all() and (out["const_num"] == 2.5).all()
    assert out["empty"].isna().all() and out["empty_float"].isna().all()
    assert out["uid"].is_unique and out["uid"].min() > df["uid"].max()  # never a real ID
    assert out["sid"].is_unique and not set(out["sid"]) & set(df["sid"])
    assert set(out["one_or_na"].dropna()) == {3.0}
    assert tt.column_spans("uid") == []


def test_id_of_narrow_int_type_widens_instead_of_overflowing() -> None:
    df = pd.DataFrame({"id": np.arange(100, 125, dtype=np.int8), "v": np.arange(25.0)})
    with pytest.warns(ColumnHandlingWarning, match="'id' is an ID column"):
        tt = TableTransformer(discrete_columns=["id"]).fit(df)
    out = tt.inverse_transform(np.zeros((40, tt.output_dim_)))
    assert out["id"].is_unique and out["id"].min() == 125


def test_numeric_text_is_an_error_naming_the_values() -> None:
    values = [str(i) for i in range(95)] + ["?", "?", "n/a", "?", "12a"]
    df = pd.DataFrame({"age": values, "g": ["a", "b"] * 50})
    with pytest.raises(DataError, match=r"'age' looks numeric \(95.0%.*'\?', .*'n/a'.*'12a'"):
        TableTransformer().fit(df)
    # declared discrete: the user said these are categories
    tt = TableTransformer(discrete_columns=["age", "g"]).fit(df)
    assert "?" in tt.categories("age")


@pytest.mark.parametrize(
    ("frame", "pattern"),
    [
        (pd.DataFrame({"a": [1.0, np.inf, 2.0], "b": list("xyz")}), "'a' holds infinite"),
        (pd.DataFrame({"a": pd.Series([], dtype=float)}), "empty"),
        (pd.DataFrame(columns=[]), "empty"),
        (pd.DataFrame([[1, 2], [3, 4]], columns=["a", "a"]), "Duplicate column names: 'a'"),
        (pd.DataFrame({0: [1.0, 2.0]}), "must be strings"),
        (pd.DataFrame({"c": np.array([1 + 2j, 3j])}), "'c' has dtype complex128"),
        (pd.DataFrame({"l": [[1], [2], [1]]}), "'l' holds unhashable"),
        (pd.DataFrame({"o": [object(), object()]}), "'o' holds a value of type object"),
        (pd.DataFrame({"k": [5, 5, 5]}), "No column can be modelled"),
    ],
)
def test_bad_tables(frame: pd.DataFrame, pattern: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ColumnHandlingWarning)
        with pytest.raises(DataError, match=pattern):
            TableTransformer().fit(frame)


def test_discrete_columns_errors() -> None:
    df = pd.DataFrame({"age": [1, 2, 3], "sex": list("FMF")})
    with pytest.raises(DataError, match=r"'sexx', not in the data. Available: 'age', 'sex'"):
        TableTransformer(discrete_columns=["sexx"]).fit(df)
    # discrete_columns adds to the inference (issue 19): the text column stays discrete
    assert TableTransformer(discrete_columns=["age"]).fit(df).discrete_columns_ == ["age", "sex"]
    with pytest.raises(ParameterError, match=r"write \['sex'\]"):
        TableTransformer(discrete_columns="sex").fit(df)


@pytest.mark.parametrize(
    ("params", "name"),
    [({"max_modes": 0}, "max_modes"), ({"weight_threshold": 1.5}, "weight_threshold"),
     ({"max_fit_rows": 1}, "max_fit_rows"), ({"random_state": "x"}, "random_state"),
     ({"point_mass_share": 0}, "point_mass_share"),
     ({"point_mass_share": True}, "point_mass_share"),
     ({"point_mass_values": 0}, "point_mass_values"),
     ({"point_mass_values": 2.5}, "point_mass_values"),
     ({"point_mass_values": True}, "point_mass_values")],
)  # fmt: skip
def test_bad_parameters(params: dict[str, object], name: str) -> None:
    with pytest.raises(ParameterError, match=name):
        TableTransformer(**params).fit(pd.DataFrame({"a": [1.0, 2.0, 3.0]}))  # type: ignore[arg-type]


def test_transform_and_inverse_input_errors() -> None:
    df = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "b": list("xyxy")})
    tt = TableTransformer().fit(df)
    with pytest.raises(DataError, match=r"not seen in fit: 'w'"):
        tt.transform(pd.DataFrame({"a": [1.0], "b": ["w"]}))
    with pytest.raises(DataError, match="'a' has missing values but had none"):
        tt.transform(pd.DataFrame({"a": [np.nan], "b": ["x"]}))
    with pytest.raises(DataError, match="'b' were fitted but are not in the data"):
        tt.transform(df[["a"]])
    with pytest.raises(DataError, match=rf"shape \(n, {tt.output_dim_}\)"):
        tt.inverse_transform(np.zeros((2, tt.output_dim_ + 1)))
    with pytest.raises(DataError, match="NaN"):
        tt.inverse_transform(np.full((2, tt.output_dim_), np.nan))


def test_unfitted_use_and_sklearn_contract() -> None:
    tt = TableTransformer(max_modes=5, random_state=1)
    with pytest.raises(NotFittedError, match="not fitted") as info:
        tt.transform(pd.DataFrame({"a": [1.0]}))
    assert isinstance(info.value, SklearnNotFittedError)
    twin = clone(tt)
    assert twin.get_params() == tt.get_params() and twin is not tt
    assert "max_modes=5" in repr(tt)
