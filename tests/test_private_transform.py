"""A private fit's transform: user metadata, DP categories and bounds, the CLI (docs/privacy.md)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from conftest import SMALL_NETS
from typer.testing import CliRunner

from fairsynth import PTGANSynthesizer
from fairsynth.cli import app
from fairsynth.exceptions import ColumnHandlingWarning, DataError, ParameterError, PrivacyWarning
from fairsynth.models.private_fit import private_recipe
from fairsynth.transform import TableTransformer
from fairsynth.transform._private import (
    _bins,
    _edges,
    category_threshold,
    private_bounds,
    private_categories,
)

pytest.importorskip("opacus")
runner = CliRunner()
SECRET = "Zeta-only-one-row"  # a category one person has: it must never reach the model file
METADATA: dict[str, Any] = {
    "city": {"categories": ["Avon", "Bath", "Other"], "other": "Other"},
    "age": {"bounds": [18, 80], "integer": True},
    "income": {"bounds": [0.0, 200000.0], "point_masses": [0.0]},
    "paid": {"categories": [False, True]},
}
FIT = {**SMALL_NETS, "epochs": 2, "batch_size": 50}


def table(n: int = 300, seed: int = 0) -> pd.DataFrame:
    """Rows of four columns; one row holds a rare city and an extreme age and income."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "city": rng.choice(["Avon", "Bath"], n).astype(object),
        "age": rng.integers(20, 70, n),
        "income": np.where(rng.random(n) < 0.3, 0.0, np.round(rng.gamma(2, 20000, n), 2)),
        "paid": rng.random(n) < 0.4,
    })  # fmt: skip
    frame.loc[0, ["city", "age", "income"]] = [SECRET, 117, 9_876_543.21]
    return frame


def private(epsilon: float = 3.0, **extra: Any) -> dict[str, Any]:
    return {"epsilon": epsilon, "delta": 1e-6, "metadata": METADATA, **extra}


def _members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _numbers(node: Any, out: list[float]) -> None:
    """Every number in a JSON document."""
    if isinstance(node, dict):
        node = list(node.values())
    if isinstance(node, list):
        for item in node:
            _numbers(item, out)
    elif isinstance(node, (int, float)) and not isinstance(node, bool):
        out.append(float(node))


def test_a_model_file_holds_only_what_the_metadata_says(tmp_path: Path) -> None:
    data = table()
    with pytest.warns(ColumnHandlingWarning) as caught:  # the one row beyond the bounds
        model = PTGANSynthesizer(**FIT, privacy=private()).fit(data)
    assert sorted(str(w.message).split(" are ")[0] for w in caught) == [
        "Column 'age': 1 value(s) outside its metadata bounds [18, 80]",
        "Column 'income': 1 value(s) outside its metadata bounds [0, 200000]",
    ]
    members = _members(model.save(tmp_path / "m.fairsynth"))
    for blob in members.values():  # every member, JSON and safetensors alike
        assert SECRET.encode() not in blob
    numbers: list[float] = []
    state = json.loads(members["transform.json"])
    del state["params"]["random_state"]  # the fit's seed
    _numbers(state, numbers)
    assert max(numbers) == 200000.0  # the bound: not the 9,876,543.21 of one row
    tt = model.transformer_
    assert tt.categories("city") == ["Avon", "Bath", "Other"]
    assert tt.value_range("age") == (18.0, 80.0, [], True)
    assert tt.value_range("income")[:3] == (0.0, 200000.0, [0.0])
    assert model.privacy_["columns_from_metadata"] == list(data.columns)
    assert model.privacy_["transform_epsilon"] == 0.0  # all of ε went to DP-SGD
    rows = model.sample(500, random_state=0)
    assert set(rows["city"]) <= {"Avon", "Bath", "Other"} and rows["age"].between(18, 80).all()
    # The transform's state is the metadata's, not the data's: other rows give the same one.
    with pytest.warns(ColumnHandlingWarning):
        other = PTGANSynthesizer(**FIT, privacy=private()).fit(table(seed=1)).transformer_
    (first, arrays), (second, arrays2) = tt.get_state(), other.get_state()
    assert first["columns"] == second["columns"]
    assert all(np.array_equal(arrays[k], arrays2[k]) for k in arrays)


def test_an_unlisted_value_without_other_is_refused_naming_it() -> None:
    meta = {**METADATA, "city": {"categories": ["Avon", "Bath"]}}
    match = rf"Column 'city' holds values not in its metadata categories: '{SECRET}' \(1 rows\)"
    with pytest.raises(DataError, match=match):
        TableTransformer(metadata=meta).fit(table())
    frame = table()
    frame["age"] = frame["age"].astype("Int64")
    frame.loc[3, "age"] = pd.NA
    with pytest.raises(DataError, match=r"Column 'age' has missing values \(1 rows\)"):
        TableTransformer(metadata=METADATA).fit(frame)


@pytest.mark.parametrize(
    ("metadata", "error", "match"),
    [
        ({"town": {"categories": ["a"]}}, DataError, r"metadata describes 'town', not in the data"),
        ({"age": {"bounds": [80, 18]}}, ParameterError, r"column 'age': bounds \[80, 18\]: low"),
        ({"age": {"bounds": [5, 5]}}, ParameterError, r"column 'age'.*low must be below high"),
        ({"age": {"bounds": ["0", 9]}}, ParameterError, r"column 'age': bounds must be \[low, h"),
        ({"age": {"bounds": [0, float("inf")]}}, ParameterError, r"'age': bounds must be"),
        ({"age": {"bounds": [0.5, 9], "integer": True}}, ParameterError, r"'age'.*whole numbers"),
        ({"age": {"bounds": [0, 9], "points": [1]}}, ParameterError, r"'age': unknown key.*'poi"),
        ({"age": {"bounds": [0, 9], "point_masses": [10]}}, ParameterError, r"'age'.*outside"),
        (
            {"age": {"bounds": [0, 9], "integer": True, "point_masses": [0.5]}},
            ParameterError,
            r"'age': point_masses \[0.5\] of an integer column must be whole",
        ),
        ({"age": {}}, ParameterError, r"column 'age': give 'categories'.*or 'bounds'"),
        ({"city": {"categories": []}}, ParameterError, r"column 'city': categories must be a n"),
        ({"city": {"categories": ["a", "a"]}}, ParameterError, r"'city': category 'a' .*twice"),
        ({"city": {"categories": ["a"], "other": "b"}}, ParameterError, r"'city': other='b' is"),
        ({"city": {"bounds": [0, 1]}}, DataError, r"Column 'city' has dtype object; metadata b"),
        ("meta.json", ParameterError, r"metadata must be a mapping of column name"),
    ],
)
def test_bad_metadata_is_named(metadata: Any, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        TableTransformer(metadata=metadata).fit(table())
    if error is ParameterError:  # refused before any fit, with the other parameters
        with pytest.raises(ParameterError, match=match):
            PTGANSynthesizer(privacy={"epsilon": 1.0, "metadata": metadata})._check_params()


@pytest.mark.parametrize(
    ("settings", "match"),
    [
        ({"transform": "public"}, r"transform='public' is not valid.*'private', 'data'"),
        ({"transform_share": 1.0}, r"transform_share=1.0 is not valid: give a number in \(0, 1"),
    ],
)
def test_bad_transform_settings(settings: dict[str, Any], match: str) -> None:
    with pytest.raises(ParameterError, match=match):
        PTGANSynthesizer(privacy={"epsilon": 1.0, **settings})._check_params()


def test_partition_selection_keeps_common_values_and_drops_one_row() -> None:
    rng = np.random.default_rng(0)
    epsilon, delta = 0.5, 1e-6
    tau = category_threshold(epsilon, delta)
    assert tau == pytest.approx(1 + np.log(1 / (2 * delta)) / epsilon)
    common = int(3 * tau)
    series = pd.Series(["a"] * common + ["b"] * common + ["rare"] + [None] * 5, dtype=object)
    released = [private_categories(series, epsilon, delta, rng) for _ in range(300)]
    assert all(kept == ["a", "b"] for kept in released)  # 'rare' passes with prob. <= δ


def test_bounds_bins_cover_the_line_in_order() -> None:
    values = np.array([-1e30, -3.0, -1e-30, 0.0, 1e-30, 1.0, 1.4, 17.0, 90.0, 1e18])
    bins = _bins(values)
    assert (np.diff(bins) >= 0).all() and bins.min() >= 1  # 0 is the missing bin
    for value, index in zip(values[1:-1], bins[1:-1], strict=True):
        low, high = _edges(int(index))
        assert low <= value <= high


def test_private_bounds_hide_an_outlier_and_keep_the_bulk() -> None:
    rng = np.random.default_rng(0)
    values = np.concatenate([np.random.default_rng(1).uniform(20, 70, 5000), [1e9, np.nan]])
    for _ in range(20):
        bounds = private_bounds(values, 0.5, rng)
        assert bounds is not None
        assert 16 <= bounds[0] <= 20 and 70 <= bounds[1] <= 91  # power-of-√2 edges
    assert private_bounds(np.array([5.0, np.nan]), 0.5, rng) is None  # too few: nothing


def test_columns_without_metadata_are_released_privately_and_accounted() -> None:
    data = pd.concat([table(n=3000, seed=s) for s in (2, 3)], ignore_index=True)
    settings = {"epsilon": 8.0, "delta": 1e-9, "metadata": {"age": METADATA["age"]}}
    with pytest.warns(ColumnHandlingWarning, match="'age'"):  # the metadata clips 117
        model = PTGANSynthesizer(**{**FIT, "epochs": 1, "batch_size": 500},
                                 privacy=settings).fit(data)  # fmt: skip
    spent, tt = model.privacy_, model.transformer_
    assert spent["columns_from_metadata"] == ["age"]
    assert spent["columns_released_privately"] == ["city", "income", "paid"]
    assert spent["transform_epsilon"] == pytest.approx(2.0)  # a quarter of ε
    assert spent["transform_delta"] == pytest.approx(0.25e-9)  # δ too: city is discrete
    assert spent["epsilon"] == pytest.approx(spent["dp_sgd_epsilon"] + 2.0)
    assert spent["epsilon"] <= 8.0 + 1e-6 and spent["dp_sgd_delta"] == pytest.approx(0.75e-9)
    assert tt.categories("city") == ["Avon", "Bath", None]  # the rare city went to 'other'
    assert tt.categories("paid") == [False, True]  # a bool column costs nothing
    low, high, points, _ = tt.value_range("income")
    assert low == 0.0 and 1e5 <= high < 1e6 and points == [0.0]  # the outlier is clipped
    assert set(model.sample(300, random_state=0)["city"].dropna()) <= {"Avon", "Bath"}


def test_reading_the_data_as_given_still_warns_naming_the_columns() -> None:
    with pytest.warns(PrivacyWarning, match=r"does not cover .* of 'city', 'income', 'paid'"):
        model = PTGANSynthesizer(**FIT, privacy={"epsilon": 3.0, "delta": 1e-6, "transform":
                                 "data", "metadata": {"age": METADATA["age"]}}).fit(
            table().drop(index=0))  # fmt: skip
    assert model.privacy_["columns_not_covered"] == ["city", "income", "paid"]
    assert model.privacy_["transform_epsilon"] == 0.0


def test_cli_fit_with_metadata_and_the_recipe(tmp_path: Path) -> None:
    data, meta, model = tmp_path / "t.csv", tmp_path / "meta.json", tmp_path / "m.fairsynth"
    table(n=400).drop(index=0).to_csv(data, index=False)
    meta.write_text(json.dumps(METADATA))
    args = ["fit", str(data), "-o", str(model), "--seed", "0", "--quiet", "--epsilon", "3"]
    recipe = ["--metadata", str(meta), "--privacy-recipe", "--epochs", "2"]
    result = runner.invoke(app, [*args, *recipe])
    assert result.exit_code == 0, result.output
    assert "transform columns: 4 from metadata" in result.output
    shown = runner.invoke(app, ["info", str(model)]).output
    assert "critic_dims = [128]" in shown and "epochs = 2" in shown  # the recipe; --epochs won
    assert "temperature_ratio = 1.0" in shown and "coherency_weight = 0.0" in shown
    meta.write_text(json.dumps({"age": {"bounds": [9, 1]}}))
    bad = runner.invoke(app, [*args, "--metadata", str(meta)])
    assert bad.exit_code == 2 and "'age': bounds [9, 1]: low must be below high" in bad.output
    assert bad.output.count("\n") == 1
    meta.write_text("{not json")
    bad = runner.invoke(app, [*args, "--metadata", str(meta)])
    assert bad.exit_code == 2 and "not valid JSON" in bad.output
    alone = runner.invoke(app, [*args[:-2], "--metadata", str(meta)])
    assert alone.exit_code == 2 and "--metadata need(s) --epsilon" in alone.output


def test_the_recipe_is_about_3000_steps() -> None:
    assert private_recipe(30_162)["epochs"] == 100  # Adult: 30 steps an epoch
    assert private_recipe(500)["epochs"] == 3000 and private_recipe(500)["batch_size"] == 1000


def test_a_state_written_before_metadata_loads_as_read_from_the_data() -> None:
    fresh = TableTransformer(random_state=0).fit(table())
    config, arrays = fresh.get_state()
    for key in ("sources", "private_spent"):
        del config[key]
    for key in ("metadata", "private_statistics"):
        del config["params"][key]
    old = TableTransformer.from_state(config, arrays)
    assert set(old.sources_.values()) == {"data"} and old.private_spent_["epsilon"] == 0.0
    assert np.array_equal(old.transform(table()), fresh.transform(table()))


def test_declared_numbers_tile_their_bounds_and_round_trip() -> None:
    data = table(n=400).drop(index=0).reset_index(drop=True)
    data["stars"] = np.random.default_rng(0).integers(1, 6, len(data))
    meta = {**METADATA, "stars": {"bounds": [1, 5], "integer": True}}
    tt = TableTransformer(metadata=meta, max_modes=10, point_mass_values=20).fit(data)
    widths = {s.column: s.width for s in tt.spans_ if s.kind == "onehot"}
    assert widths["age"] == 10 and widths["income"] == 11  # ten tiles; + the point mass 0
    assert tt.value_range("stars")[2] == [1, 2, 3, 4, 5]  # few whole numbers: each a point
    back = tt.inverse_transform(tt.transform(data, random_state=0))
    pd.testing.assert_frame_equal(back.drop(columns="income"), data.drop(columns="income"))
    np.testing.assert_allclose(back["income"], data["income"], rtol=1e-6, atol=0.02)
