"""Importance resampling (fairsynth.models.refine): the trees, the draw, and the models' use."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest
from conftest import SMALL_NETS
from sklearn.ensemble import HistGradientBoostingClassifier

from fairsynth import PTGANSynthesizer
from fairsynth.exceptions import ParameterError
from fairsynth.models import _trees, refine
from fairsynth.models._draw import inclusion_probabilities
from fairsynth.models._trees import export_trees
from fairsynth.models.fair import FairPTGANSynthesizer
from fairsynth.models.refine import Refiner, choose_rows


def _tables(seed: int = 0, n: int = 3000) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    day = pd.Timestamp("2020-01-01")
    real = pd.DataFrame({
        "x": rng.normal(size=n),
        "c": rng.choice(list("abc"), n),
        "t": day + pd.to_timedelta(rng.integers(0, 100, n), "D"),
    })  # fmt: skip
    generated = pd.DataFrame({
        "x": rng.normal(0.8, 1.3, size=n),
        "c": rng.choice(list("abcd"), n, p=[0.5, 0.2, 0.2, 0.1]),
        "t": day + pd.to_timedelta(rng.integers(0, 130, n), "D"),
    })  # fmt: skip
    generated.loc[:10, "x"] = np.nan
    return real, generated


def _reference_classifier(
    refiner: Refiner, real: pd.DataFrame, generated: pd.DataFrame, seed: int
) -> HistGradientBoostingClassifier:
    """scikit-learn's classifier with the refiner's settings, on the whole feature matrix."""
    x = np.vstack([refiner.features(real), refiner.features(generated)])
    return HistGradientBoostingClassifier(
        max_iter=refine._TREES, learning_rate=refine._LEARNING_RATE,
        max_leaf_nodes=refine._LEAVES, random_state=seed,
    ).fit(x, np.r_[np.ones(len(real)), np.zeros(len(generated))])  # fmt: skip


def test_the_trees_as_arrays_score_as_scikit_learn_does() -> None:
    real, generated = _tables()
    refiner = Refiner.fit(real, generated, ["c"], random_state=0)
    model = _reference_classifier(refiner, real, generated, 0)
    expected = model.decision_function(refiner.features(generated))
    np.testing.assert_allclose(refiner.log_weights(generated), expected, atol=1e-9)
    # and through its plain-JSON state, as a model file carries it
    again = Refiner(refiner.get_state())
    np.testing.assert_array_equal(again.log_weights(generated), refiner.log_weights(generated))


@pytest.mark.parametrize("threads", [1, 2])
def test_the_compiled_trees_and_the_numpy_paths_give_the_same_sums(threads: int) -> None:
    # scikit-learn's compiled predictor is used where it is found; numpy follows the paths
    # where it is not: the sums (and so every draw) must not depend on which ran
    real, generated = _tables(5)
    refiner = Refiner.fit(real, generated, ["c"], random_state=0)
    trees, x = refiner.trees, refiner.features(generated)
    assert _trees._compiled() is not None  # the fast path is the one these tests run
    by_paths = trees.raw(x, compiled=False)
    np.testing.assert_array_equal(trees.raw(x, threads), by_paths)
    assert len(np.unique(by_paths)) > 100  # many leaves reached, not one value
    empty = _trees.Trees(_trees.no_trees())
    np.testing.assert_array_equal(empty.raw(x), np.zeros(len(x)))


def test_a_changed_compiled_routine_falls_back_to_the_numpy_paths(monkeypatch: Any) -> None:
    real, generated = _tables(6)
    refiner = Refiner.fit(real, generated, ["c"], random_state=0)
    x = refiner.features(generated)

    def changed(*args: Any) -> None:
        raise TypeError("a different signature")

    dtype = _trees._compiled()[1]  # type: ignore[index]
    monkeypatch.setattr(_trees, "_compiled", lambda: (changed, dtype))
    np.testing.assert_array_equal(refiner.trees.raw(x, 2), refiner.trees.raw(x, compiled=False))


def test_above_ten_thousand_rows_the_held_out_split_gives_scikit_learns_trees() -> None:
    # Refiner.fit builds the training and early-stopping parts itself (the whole matrix is not
    # held twice); the trees must be those of the classifier splitting the whole matrix
    real, generated = _tables(3, n=6000)
    generated = generated.iloc[:5500]  # unequal classes: the split is stratified
    refiner = Refiner.fit(real, generated, ["c"], random_state=7)
    model = _reference_classifier(refiner, real, generated, 7)
    assert model.do_early_stopping_ and model.n_iter_ < refine._TREES  # it did stop early
    expected, baseline = export_trees(model)
    state = refiner.get_state()
    assert state["nodes"] == expected["nodes"]
    assert state["roots"] == expected["roots"]
    assert state["baseline"] == baseline - np.log(len(real) / len(generated))


def test_the_margins_are_the_whole_tables_when_the_classifier_learns_a_share() -> None:
    real, generated = _tables(4, n=3000)
    real.loc[:4, "c"] = "rare"  # five rows of a category
    share = real.iloc[5:1005]  # the rows the classifier learns: none of them "rare"
    alone = Refiner.fit(share, generated.iloc[:1000], ["c"], random_state=0)
    whole = Refiner.fit(share, generated.iloc[:1000], ["c"], random_state=0, population=real)
    levels = {e["column"]: e.get("levels") for e in whole.margins.columns}
    assert "rare" in levels["c"] and "rare" not in alone.margins.columns[1]["levels"]
    expected = refine.Margins.fit(real, ["c"], list(share.columns)).get_state()
    assert whole.margins.get_state() == expected
    assert whole.get_state()["nodes"] == alone.get_state()["nodes"]  # the same classifier


def test_resampling_moves_the_rows_towards_the_real_ones() -> None:
    real, _ = _tables(0)
    _, candidates = _tables(1, n=4 * 3000)
    _, train = _tables(2)
    refiner = Refiner.fit(real, train, ["c"], random_state=0)
    groups = np.zeros(len(candidates), dtype=np.int64)
    chances = inclusion_probabilities(refiner.log_weights(candidates), groups, 4)
    picked = choose_rows(chances, groups, 4, np.random.default_rng(0))
    rows = candidates.iloc[picked]
    assert len(np.unique(picked)) == len(picked) == 3000
    # the generated mean of x is 0.8 and 10% of c is 'd', a value the data never has
    assert abs(rows["x"].mean()) < 0.25 < abs(candidates["x"].mean())
    assert (rows["c"] == "d").mean() < 0.02 < (candidates["c"] == "d").mean()


def test_each_group_keeps_its_rows_and_row_j_its_group() -> None:
    rng = np.random.default_rng(0)
    n, k = 1000, 3
    wanted = rng.integers(0, 5, n)  # the group (condition) of each wanted row
    groups = np.tile(wanted, k)  # candidate j * n + i is one of row i's
    log_weights = rng.normal(size=n * k)
    chances = inclusion_probabilities(log_weights, groups, k)
    picked = choose_rows(chances, groups, k, np.random.default_rng(1))
    np.testing.assert_array_equal(groups[picked], wanted)
    assert len(np.unique(picked)) == n
    # a candidate with an overwhelming weight is always picked
    log_weights[7] = 30.0
    chances = inclusion_probabilities(log_weights, groups, k)
    assert chances[7] == 1.0 and 7 in choose_rows(chances, groups, k, np.random.default_rng(2))


def test_a_fitted_model_refines_its_rows_and_keeps_them_through_a_file(
    adult_small: pd.DataFrame, tmp_path
) -> None:
    params = {"epochs": 3, "fit_check": False, "training_by_sampling": True, **SMALL_NETS}
    model = PTGANSynthesizer(**params).fit(adult_small)  # type: ignore[arg-type]
    assert model.refiner_ is not None
    rows = model.sample(200, random_state=3)
    assert list(rows.columns) == list(adult_small.columns) and len(rows) == 200
    loaded = PTGANSynthesizer.load(model.save(tmp_path / "m.fairsynth"))
    pd.testing.assert_frame_equal(loaded.sample(200, random_state=3), rows)
    # conditions hold exactly on refined rows (the candidates of a row share its condition)
    women = model.sample(100, random_state=0, conditions={"sex": "Female"})
    assert (women["sex"] == "Female").all()
    off = PTGANSynthesizer(**params, refine=1).fit(adult_small)  # type: ignore[arg-type]
    assert off.refiner_ is None
    assert not off.sample(200, random_state=3).equals(rows)


def test_a_fair_models_cells_keep_their_counts(adult_small: pd.DataFrame) -> None:
    params = {"sensitive": "sex", "target": "income", "positive_label": ">50K"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # small cells on 600 rows
        model = FairPTGANSynthesizer(**params, epochs=2, fit_check=False, **SMALL_NETS)
        model.fit(adult_small)
        refined = model.sample(400, random_state=5, fairness=1.0)
        model.refine = 1
        plain = model.sample(400, random_state=5, fairness=1.0)
    cells = ["sex", "income"]
    pd.testing.assert_series_equal(refined.value_counts(cells), plain.value_counts(cells))
    assert not refined.equals(plain)


def test_refine_is_checked_and_refused_under_privacy() -> None:
    data = pd.DataFrame({"x": np.arange(100.0), "c": ["a", "b"] * 50})
    with pytest.raises(ParameterError, match="refine"):
        PTGANSynthesizer(refine=0, **SMALL_NETS).fit(data)
    with pytest.raises(ParameterError, match="refine=4 with privacy"):
        PTGANSynthesizer(refine=4, privacy=3.0, epochs=1, **SMALL_NETS).fit(data)
    private = PTGANSynthesizer(privacy=3.0, **SMALL_NETS)
    assert refine.resolve_refine(private) == 1


def test_columns_made_afresh_number_the_sampled_rows(adult_small: pd.DataFrame) -> None:
    table = adult_small[["age", "sex", "income"]].assign(id=[f"p{i}" for i in range(600)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the ID column is named in a ColumnHandlingWarning
        model = PTGANSynthesizer(epochs=2, fit_check=False, **SMALL_NETS).fit(table)
    refined = model.sample(200, random_state=0)
    plain = model.set_params(refine=1).sample(200, random_state=0)
    pd.testing.assert_series_equal(refined["id"], plain["id"])  # IDs of 200 rows, not 800
    assert not refined.equals(plain)


def test_the_sample_command_sets_or_refuses_refine(adult_small: pd.DataFrame, tmp_path) -> None:
    from typer.testing import CliRunner

    from fairsynth.cli import app

    runner = CliRunner()
    small = adult_small[["age", "sex", "income"]]
    plain = PTGANSynthesizer(epochs=2, fit_check=False, refine=1, **SMALL_NETS).fit(small)
    refined = PTGANSynthesizer(epochs=2, fit_check=False, **SMALL_NETS).fit(small)
    for name, model in (("plain", plain), ("refined", refined)):
        model.save(tmp_path / f"{name}.fairsynth")

    def sample(name: str, *extra: str) -> Any:
        out = tmp_path / f"{name}-{len(extra)}.csv"
        args = ["sample", str(tmp_path / f"{name}.fairsynth"), "-n", "50", "-o", str(out)]
        return runner.invoke(app, [*args, "--seed", "1", "-q", *extra]), out

    result, out = sample("plain", "--refine", "4")
    assert result.exit_code != 0 and "has no refiner" in result.output and not out.exists()
    result, out = sample("refined", "--refine", "1")
    assert result.exit_code == 0
    expected = refined.set_params(refine=1).sample(50, random_state=1)
    assert (
        len(pd.read_csv(out)) == 50 and expected["age"].tolist() == pd.read_csv(out)["age"].tolist()
    )
    result, _ = sample("refined", "--refine", "0")
    assert result.exit_code != 0


def test_files_from_before_refine_load_and_sample_the_generators_rows(
    adult_small: pd.DataFrame, tmp_path
) -> None:
    import json

    from test_model_file_safety import rewrite

    def drop_refine(manifest: dict[str, Any], blobs: dict[str, bytes]) -> None:
        del manifest["params"]["refine"]
        del manifest["fitted"]["refiner_trees_"]

    model = PTGANSynthesizer(epochs=2, fit_check=False, **SMALL_NETS).fit(adult_small)
    path = model.save(tmp_path / "now.fairsynth")
    old = PTGANSynthesizer.load(rewrite(path, tmp_path / "old.fairsynth", drop_refine))
    assert old.refine == 1 and old.refiner_ is None
    expected = model.set_params(refine=1).sample(100, random_state=4)
    pd.testing.assert_frame_equal(old.sample(100, random_state=4), expected)
    assert json.loads(json.dumps(model.refiner_.get_state()))["depth"] >= 1  # kept as JSON


def test_asking_for_candidates_without_a_refiner_warns(adult_small: pd.DataFrame) -> None:
    model = PTGANSynthesizer(epochs=1, fit_check=False, refine=1, **SMALL_NETS).fit(adult_small)
    expected = model.sample(50, random_state=0)
    with pytest.warns(UserWarning, match="refine=4 asks for 4 candidates a row, but this model"):
        rows = model.set_params(refine=4).sample(50, random_state=0)
    pd.testing.assert_frame_equal(rows, expected)  # the generator's rows, as with refine=1
