"""FairPTGANSynthesizer: exact cell rates under the knob, pairing, errors, save/load (tiny fits)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import SMALL_NETS, global_rngs_untouched
from sklearn.base import clone

from fairsynth import DataError, ParameterError
from fairsynth.models.base import BaseSynthesizer
from fairsynth.models.fair import FairnessWarning, FairPTGANSynthesizer
from fairsynth.models.knob import allocate, outcome_distribution

FAST = {"epochs": 2, **SMALL_NETS}


def make_table(n: int = 800, seed: int = 0) -> pd.DataFrame:
    """Two sensitive columns (sex × grp, 6 groups) whose outcome rates differ; cells ≥ 10 rows."""
    rng = np.random.default_rng(seed)
    sex = rng.choice(["F", "M"], n, p=[0.4, 0.6])
    grp = rng.choice(["g1", "g2", "g3"], n, p=[0.5, 0.3, 0.2])
    rate = 0.3 + 0.35 * (sex == "M") + 0.15 * (grp == "g2")
    y = (rng.random(n) < rate).astype(int)
    return pd.DataFrame(
        {
            "x": rng.normal(y, 1.0).round(3),
            "c": rng.choice(["u", "v", "w"], n),
            "sex": sex,
            "grp": grp,
            "y": y,
        }
    )


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return make_table()


@pytest.fixture(scope="module")
def model(table: pd.DataFrame) -> FairPTGANSynthesizer:
    return FairPTGANSynthesizer(sensitive=["sex", "grp"], target="y", positive_label=1, **FAST).fit(
        table
    )


def rates(frame: pd.DataFrame, by: str | list[str]) -> pd.Series:
    return frame.groupby(by)["y"].mean()


# ------------------------------------------------------------------------- pure functions
def test_outcome_distribution_by_hand() -> None:
    counts = np.array([[60, 40], [90, 10]])  # group rates 0.4 and 0.1, overall 0.25
    for fairness, expected in [(0.0, [0.4, 0.1]), (1.0, [0.25, 0.25]), (2.0, [0.1, 0.4])]:
        probs, asked = outcome_distribution(counts, 1, np.array([0, 1]), fairness)
        np.testing.assert_allclose(probs[:, 1], expected, atol=1e-12)
        np.testing.assert_allclose(probs.sum(axis=1), 1.0)
        np.testing.assert_allclose(asked, expected, atol=1e-12)
    probs, asked = outcome_distribution(counts, 1, np.array([0, 1]), 5.0)
    np.testing.assert_allclose(asked, [-0.35, 0.85])
    np.testing.assert_allclose(probs[:, 1], [0.0, 0.85])  # clipped at 0


def test_outcome_distribution_shifts_a_coarse_group_despite_saturation() -> None:
    # groups 0 and 1 form one coarse group (rates 0.02 and 0.5, 50 rows each), group 2 another.
    counts = np.array([[49, 1], [25, 25], [10, 90]])
    by = np.array([0, 0, 1])
    probs, _ = outcome_distribution(counts, 1, by, 1.0)
    p = 116 / 200
    coarse = (50 * probs[0, 1] + 50 * probs[1, 1]) / 100
    assert coarse == pytest.approx(p, abs=1e-9)  # the coarse group's rate is met exactly
    assert probs[2, 1] == pytest.approx(p, abs=1e-9)
    assert probs[1, 1] - probs[0, 1] == pytest.approx(0.48, abs=1e-9)  # shifted alike
    # three target categories: the two non-positive ones keep their proportion 3:1
    probs, _ = outcome_distribution(np.array([[30, 10, 60], [60, 20, 20]]), 2, np.array([0, 1]), 1)
    assert probs[0, 0] / probs[0, 1] == pytest.approx(3.0)
    np.testing.assert_allclose(probs[:, 2], [0.4, 0.4])


def test_allocate_is_exact_and_proportional() -> None:
    probs = np.array([[0.5, 0.2], [0.2, 0.1]])
    counts = allocate(1001, probs)
    assert counts.sum() == 1001
    assert np.all(np.abs(counts - probs.ravel() * 1001) < 1)
    assert allocate(7, np.array([1.0, 0.0])).tolist() == [7, 0]


# ------------------------------------------------------------------------- the knob
def test_fairness_zero_reproduces_the_cells_exactly(
    model: FairPTGANSynthesizer, table: pd.DataFrame
) -> None:
    rows = model.sample(len(table), random_state=0)
    cells = pd.crosstab([rows["sex"], rows["grp"]], rows["y"])
    real = pd.crosstab([table["sex"], table["grp"]], table["y"])
    pd.testing.assert_frame_equal(cells, real)
    assert list(rows.columns) == list(table.columns)
    assert rows.dtypes.equals(table.dtypes)


@pytest.mark.parametrize("fairness", [1.0, 2.0])
def test_knob_sets_every_group_rate(
    model: FairPTGANSynthesizer, table: pd.DataFrame, fairness: float
) -> None:
    n = 6000
    rows = model.sample(n, fairness=fairness, random_state=1)
    p = table["y"].mean()
    real, got = rates(table, ["sex", "grp"]), rates(rows, ["sex", "grp"])
    expected = real + fairness * (p - real)
    sizes = rows.groupby(["sex", "grp"]).size()
    assert np.all(np.abs(got - expected) <= 2.0 / sizes)  # exact up to rounding
    shares = sizes / n
    real_shares = table.groupby(["sex", "grp"]).size() / len(table)
    assert np.all(np.abs(shares - real_shares) < 1e-3)  # group sizes follow the data


def test_knob_by_one_attribute_keeps_differences_within_it(
    model: FairPTGANSynthesizer, table: pd.DataFrame
) -> None:
    rows = model.sample(6000, fairness=1.0, by="sex", random_state=2)
    p = table["y"].mean()
    assert np.allclose(rates(rows, "sex"), p, atol=2e-3)
    real, got = rates(table, ["sex", "grp"]), rates(rows, ["sex", "grp"])
    for sex in ("F", "M"):  # within a sex, the gaps between groups are the data's
        shifted, data = got[sex] - got[sex].mean(), real[sex] - real[sex].mean()
        np.testing.assert_allclose(shifted, data, atol=5e-3)


def test_balanced_groups(model: FairPTGANSynthesizer) -> None:
    rows = model.sample(3000, balanced_groups=True, by="sex", random_state=0)
    assert rows["sex"].value_counts().tolist() == [1500, 1500]
    rows = model.sample(3000, balanced_groups=True, random_state=0)
    assert set(rows.groupby(["sex", "grp"]).size()) == {500}


def test_outcome_rates_table(model: FairPTGANSynthesizer, table: pd.DataFrame) -> None:
    at_one = model.outcome_rates(1.0)
    assert list(at_one.columns) == ["sex", "grp", "rows", "data_rate", "share", "rate"]
    np.testing.assert_allclose(at_one["rate"], table["y"].mean())
    assert at_one["rows"].sum() == len(table)
    assert [tuple(g) for g in at_one[["sex", "grp"]].to_numpy()] == model.groups_


def test_chunks_keep_exact_totals_and_can_interleave(model: FairPTGANSynthesizer) -> None:
    whole = model.sample(1000, fairness=2.0, random_state=5)
    first = model.iter_samples(1000, chunk_size=128, fairness=2.0, random_state=5)
    other = model.iter_samples(500, chunk_size=100, fairness=0.0, random_state=6)
    chunks, others = [], []
    for chunk in first:  # the second iterator advances between the first one's chunks
        chunks.append(chunk)
        others.append(next(other, None))
    joined = pd.concat(chunks, ignore_index=True)
    assert [len(c) for c in chunks] == [128] * 7 + [104]
    pd.testing.assert_frame_equal(
        pd.crosstab([joined["sex"], joined["grp"]], joined["y"]),
        pd.crosstab([whole["sex"], whole["grp"]], whole["y"]),
    )
    zero = pd.concat([o for o in others if o is not None], ignore_index=True)
    expected = model.sample(500, random_state=6)
    pd.testing.assert_frame_equal(
        pd.crosstab(zero["sex"], zero["y"]), pd.crosstab(expected["sex"], expected["y"])
    )


def test_no_refit_between_settings_and_seeds(model: FairPTGANSynthesizer) -> None:
    before = {k: v.clone() for k, v in model.generator_.state_dict().items()}
    a = model.sample(200, fairness=0.0, random_state=3)
    model.sample(200, fairness=2.0, random_state=3)
    after = model.generator_.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    pd.testing.assert_frame_equal(a, model.sample(200, fairness=0.0, random_state=3))
    assert not a.equals(model.sample(200, fairness=0.0, random_state=4))


def test_same_seed_same_model_and_global_rng_untouched(table: pd.DataFrame) -> None:
    params = {"sensitive": "sex", "target": "y", "positive_label": "1", **FAST}
    data = table.head(300)
    with global_rngs_untouched():
        first = FairPTGANSynthesizer(**params).fit(data).sample(100, fairness=1.5, random_state=3)
        second = FairPTGANSynthesizer(**params).fit(data).sample(100, fairness=1.5, random_state=3)
    pd.testing.assert_frame_equal(first, second)


def test_pairs_across_cells_by_default_or_within_one(
    model: FairPTGANSynthesizer, table: pd.DataFrame
) -> None:
    cell = model.conditioner_.cell_of_row
    first, second = model.conditioner_.draw_pairs(2000, model._torch_generator)[:2]
    assert (cell[first] != cell[second]).float().mean() > 0.5
    within = clone(model).set_params(cross_group_pairs=False, epochs=1).fit(table)
    first, second = within.conditioner_.draw_pairs(2000, within._torch_generator)[:2]
    cell = within.conditioner_.cell_of_row
    assert torch.equal(cell[first], cell[second])


@pytest.mark.parametrize(("cross", "huge"), [(True, False), (False, False), (True, True)])
def test_outcome_balance_moves_training_draws_towards_equal_outcomes(
    model: FairPTGANSynthesizer,
    table: pd.DataFrame,
    cross: bool,
    huge: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if huge:  # as for a table over torch.multinomial's 2**24 categories: cell, then row
        monkeypatch.setattr("fairsynth.models.conditioning._MULTINOMIAL_LIMIT", 10)
    balanced = clone(model).set_params(outcome_balance=0.5, cross_group_pairs=cross, epochs=1)
    balanced.fit(table)
    first, second = balanced.conditioner_.draw_pairs(40_000, balanced._torch_generator)[:2]
    drawn = table.iloc[torch.cat([first, second]).numpy()]
    for column in ("sex", "grp"):  # group sizes as in the data
        expected = table[column].value_counts(normalize=True)
        got = drawn[column].value_counts(normalize=True)
        assert np.abs(got - expected).max() < 0.01
    # each group's outcome share halfway between the data's and 1/2
    expected_rate = 0.5 * rates(table, ["sex", "grp"]) + 0.25
    assert np.abs(rates(drawn, ["sex", "grp"]) - expected_rate).max() < 0.02
    if not cross:
        cell = balanced.conditioner_.cell_of_row
        assert torch.equal(cell[first], cell[second])
    # the sample's cells are still the knob's, whatever the training draws
    rows = balanced.sample(len(table), random_state=0)
    pd.testing.assert_series_equal(rates(rows, ["sex", "grp"]), rates(table, ["sex", "grp"]))


# ------------------------------------------------------------------- params, files, errors
def test_transformer_parameters_are_passed_on(table: pd.DataFrame) -> None:
    params = {"sensitive": "sex", "target": "y", "positive_label": 1, **FAST, "epochs": 1}
    model = FairPTGANSynthesizer(**params, max_modes=3, point_mass_share=0.2).fit(table)
    assert model.transformer_.max_modes == 3
    assert model.transformer_.point_mass_share == 0.2


def test_params_clone_and_save_load(
    model: FairPTGANSynthesizer, table: pd.DataFrame, tmp_path: Path
) -> None:
    params = model.get_params()
    assert {"sensitive", "positive_label", "cross_group_pairs", "epochs", "noise_dim"} <= set(
        params
    )
    assert clone(model).get_params()["sensitive"] == ["sex", "grp"]
    with pytest.raises(TypeError):
        FairPTGANSynthesizer(sensitive="sex", epoch=3)  # a typo is not swallowed
    path = model.save(tmp_path / "fair.fairsynth")
    loaded = BaseSynthesizer.load(path, device="cpu")
    assert isinstance(loaded, FairPTGANSynthesizer)
    assert loaded.cell_counts_ == model.cell_counts_ and loaded.groups_ == model.groups_
    pd.testing.assert_frame_equal(
        loaded.sample(300, fairness=1.5, by="sex", random_state=9),
        model.sample(300, fairness=1.5, by="sex", random_state=9),
    )


def test_files_from_before_outcome_balance_and_point_masses_load_as_fitted(
    model: FairPTGANSynthesizer, tmp_path: Path
) -> None:
    from test_model_file_safety import rewrite

    def drop_new_params(manifest: dict[str, Any], blobs: dict[str, bytes]) -> None:
        for name in ("outcome_balance", "point_mass_share", "point_mass_values"):
            del manifest["params"][name]
        state = json.loads(blobs["transform.json"])
        del state["params"]["point_mass_share"]
        del state["params"]["point_mass_values"]
        blobs["transform.json"] = json.dumps(state).encode("utf-8")

    path = model.save(tmp_path / "now.fairsynth")
    old = rewrite(path, tmp_path / "old.fairsynth", drop_new_params)
    loaded = BaseSynthesizer.load(old, device="cpu")
    # such files were fitted without outcome balance and without point masses
    assert loaded.get_params()["outcome_balance"] == 0.0
    assert loaded.get_params()["point_mass_share"] is None
    assert loaded.get_params()["point_mass_values"] is None
    assert loaded.transformer_.point_mass_share is None
    assert loaded.transformer_.point_mass_values is None
    current = BaseSynthesizer.load(path, device="cpu").get_params()
    assert current["outcome_balance"] == 0.5 and current["point_mass_share"] == 0.05
    assert current["point_mass_values"] == 20


def test_missing_sensitive_values_are_refused(table: pd.DataFrame) -> None:
    broken = table.copy()
    broken.loc[[3, 8], "grp"] = None
    with pytest.raises(DataError, match="'grp' has 2 missing"):
        FairPTGANSynthesizer(sensitive=["sex", "grp"], target="y", positive_label=1, **FAST).fit(
            broken
        )


@pytest.mark.parametrize(
    ("params", "error", "message"),
    [
        ({"target": "y", "positive_label": 1}, ParameterError, "needs sensitive"),
        ({"sensitive": "sexx", "target": "y", "positive_label": 1}, DataError, "'sexx' not in"),
        ({"sensitive": "y", "target": "y", "positive_label": 1}, ParameterError, "distinct"),
        ({"sensitive": "sex", "target": "y", "positive_label": 7}, ParameterError, "Values: 0, 1"),
        ({"sensitive": "sex", "target": "y", "positive_label": 1, "small_cells": "x"},
         ParameterError, "small_cells"),
        ({"sensitive": "sex", "target": "y", "positive_label": 1, "outcome_balance": 1.5},
         ParameterError, r"outcome_balance must be a number in \[0, 1\], got 1.5"),
    ],
)  # fmt: skip
def test_bad_parameters(
    table: pd.DataFrame, params: dict[str, object], error: type, message: str
) -> None:
    with pytest.raises(error, match=message):
        FairPTGANSynthesizer(**params, **FAST).fit(table)


def test_bad_sample_arguments(model: FairPTGANSynthesizer) -> None:
    with pytest.raises(ParameterError, match="finite"):
        model.sample(10, fairness=float("nan"))
    with pytest.raises(ParameterError, match="Valid: 'sex', 'grp'"):
        model.sample(10, by="race")
    # a negative λ would widen the gap (issue 19): refused, on every path to the rows
    with pytest.raises(ParameterError, match=r"fairness must be a finite number ≥ 0.*got -1"):
        model.sample(10, fairness=-1)
    with pytest.raises(ParameterError, match=r"got -0\.5"):
        model.iter_samples(10, fairness=-0.5)  # checked before the first chunk
    with pytest.raises(TypeError, match="fairnes"):
        model.sample(10, fairnes=1.0)  # type: ignore[call-arg]  # a typo is not swallowed


def test_fair_sample_has_the_memory_guard(model: FairPTGANSynthesizer) -> None:
    with pytest.raises(ParameterError, match=r"n_samples=1,000,000,000,000 would need about"):
        model.sample(10**12, fairness=1.0)


def test_ptgan_sample_refuses_the_knob() -> None:
    from conftest import TINY_PARAMS

    from fairsynth import PTGANSynthesizer

    data = pd.DataFrame({"x": np.arange(200.0), "c": ["a", "b"] * 100})
    model = PTGANSynthesizer(**{**TINY_PARAMS, "epochs": 1}).fit(data)  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="takes no 'fairness'"):
        model.sample(10, fairness=1.0)


def test_small_cells_warn_or_refuse_naming_the_cell(table: pd.DataFrame) -> None:
    small = table[~((table["sex"] == "F") & (table["grp"] == "g3") & (table["y"] == 1))].copy()
    small.loc[len(table) + 1] = [0.5, "u", "F", "g3", 1]  # one row in the cell
    params = {"sensitive": ["sex", "grp"], "target": "y", "positive_label": 1, **FAST}
    with pytest.raises(DataError, match="sex='F', grp='g3', y=1: 1 rows"):
        FairPTGANSynthesizer(small_cells="error", **params).fit(small)
    with pytest.warns(FairnessWarning, match="sex='F', grp='g3', y=1: 1 rows"):
        model = FairPTGANSynthesizer(**params).fit(small)
    rows = model.sample(2000, fairness=1.0, random_state=0)  # the cell is still generated
    assert ((rows["sex"] == "F") & (rows["grp"] == "g3") & (rows["y"] == 1)).sum() > 0


def test_impossible_rates_are_clipped_with_a_warning(model: FairPTGANSynthesizer) -> None:
    with pytest.warns(FairnessWarning, match="clipped"):
        rows = model.sample(500, fairness=8.0, by="sex", random_state=0)
    assert rows["y"].isin([0, 1]).all()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.sample(50, fairness=2.0, random_state=0)  # in range: no warning


def test_cell_plan_hands_out_exact_totals_beyond_numpys_exact_draw() -> None:
    from fairsynth.models.conditioning import CellPlan

    counts = np.array([3 * 10**9, 5, 2 * 10**9, 0])
    plan = CellPlan(counts, np.random.default_rng(0))
    taken = np.bincount(plan.take(50_000), minlength=4)
    assert taken.sum() == 50_000 and taken[3] == 0 and abs(taken[0] / 50_000 - 0.6) < 0.01
    small = CellPlan(np.array([2, 1, 0]), np.random.default_rng(0))
    assert sorted(np.concatenate([small.take(2), small.take(5)]).tolist()) == [0, 0, 1]


def test_one_rule_for_the_positive_label_and_group_labels() -> None:
    from fairsynth.labels import MISSING, group_labels, is_label

    assert is_label(pd.Series([1.0, 0.0, 1.0]), "1").tolist() == [True, False, True]
    assert is_label(["1", 1, ">50K"], 1).tolist() == [True, True, False]
    assert is_label(pd.Series([">50K", ">50K."]), ">50K").tolist() == [True, False]
    frame = pd.DataFrame({"sex": ["F", None], "race": ["a", "b"]})
    assert group_labels(frame, ["sex", "race"]).tolist() == ["F & a", f"{MISSING} & b"]
