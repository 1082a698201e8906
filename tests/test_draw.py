"""How rows are drawn among candidates (fairsynth.models._draw): the chances, the draw, and the
calibration to the training rows' margins."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from fairsynth.models import _draw
from fairsynth.models._draw import CellMargins, Margins, choose_rows, inclusion_probabilities
from fairsynth.models.conditioning import CategorySampler


def test_chances_follow_the_odds_sum_to_each_groups_rows_and_stay_at_most_one() -> None:
    rng = np.random.default_rng(0)
    n, k = 600, 4
    groups = np.tile(rng.integers(0, 3, n), k)
    log_weights = rng.normal(0, 1.5, n * k)
    chances = inclusion_probabilities(log_weights, groups, k)
    assert chances.max() <= 1.0 and chances.min() > 0
    np.testing.assert_allclose(np.bincount(groups, chances), np.bincount(groups) / k)
    for g in range(3):  # below the cap, proportional to exp(log_weight) within a group
        free = (groups == g) & (chances < 1)
        ratio = chances[free] / np.exp(log_weights[free])
        np.testing.assert_allclose(ratio, ratio[0])


def test_one_group_is_filled_as_any_group_is() -> None:
    # the one-group path (sums) gives the chances the grouped path (bincounts) gives that
    # group when a second group stands beside it
    rng = np.random.default_rng(1)
    n, k = 500, 8
    log_weights = rng.normal(0, 2.5, n * k)  # uneven: many candidates reach the cap
    alone = _draw._fill(np.exp(log_weights), np.zeros(n * k, dtype=np.int64), k)
    groups = np.r_[np.zeros(n * k, dtype=np.int64), np.ones(k, dtype=np.int64)]
    beside = _draw._fill(np.exp(np.r_[log_weights, np.zeros(k)]), groups, k)[: n * k]
    assert (alone == 1.0).sum() > 10
    np.testing.assert_allclose(alone, beside, rtol=1e-12)
    assert abs(alone.sum() - n) < 1e-9


def test_the_draw_takes_each_candidate_with_its_chance() -> None:
    rng = np.random.default_rng(1)
    n, k = 50, 3
    groups = np.tile(rng.integers(0, 2, n), k)
    chances = inclusion_probabilities(rng.normal(0, 1, n * k), groups, k)
    draws = 3000
    taken = np.zeros(n * k)
    for seed in range(draws):
        picked = choose_rows(chances, groups, k, np.random.default_rng(seed))
        assert len(np.unique(picked)) == n
        np.testing.assert_array_equal(groups[picked], groups[:n])  # row j keeps its group
        taken[picked] += 1
    # each frequency within 4.5 standard errors of its chance
    error = np.sqrt(chances * (1 - chances) / draws) + 1e-9
    assert np.all(np.abs(taken / draws - chances) <= 4.5 * error + 1e-3)


def test_rounding_never_changes_a_groups_count() -> None:
    groups = np.repeat([0, 1], [3 * 7, 3 * 5])
    chances = np.full(len(groups), 1 / 3) * (1 + 1e-12)  # sums a hair above the counts
    for seed in range(200):
        picked = choose_rows(chances, groups, 3, np.random.default_rng(seed))
        assert np.bincount(groups[picked]).tolist() == [7, 5]


def _tables(seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    n = 4000
    shares = [0.6, 0.3, 0.1]
    real = pd.DataFrame({"x": rng.normal(size=n), "c": rng.choice(list("abc"), n, p=shares)})
    real["d"] = np.where(real["x"] > 0, "hi", "lo")  # a strongly associated pair (x, d)
    made = pd.DataFrame({"x": rng.normal(0.5, 1.0, 4 * n), "c": rng.choice(list("abc"), 4 * n)})
    made["d"] = np.where(rng.random(4 * n) < 0.8, np.where(made["x"] > 0, "hi", "lo"), "hi")
    return real, made


def test_calibration_brings_the_drawn_rows_to_the_training_margins() -> None:
    real, made = _tables(0)
    margins = Margins(Margins.fit(real, ["c", "d"]).get_state())  # through its JSON state
    assert [p["columns"] for p in margins.pairs] == [["x", "d"]]
    groups = np.zeros(len(made), dtype=np.int64)
    flat = np.zeros(len(made))
    plain = made.iloc[choose_rows(inclusion_probabilities(flat, groups, 4), groups, 4,
                                  np.random.default_rng(0))]  # fmt: skip
    chances = inclusion_probabilities(flat, groups, 4, margins.terms(made))
    calibrated = made.iloc[choose_rows(chances, groups, 4, np.random.default_rng(0))]

    def gaps(rows: pd.DataFrame) -> tuple[float, float, float]:
        shares = rows["c"].value_counts(normalize=True).reindex(list("abc"))
        real_shares = real["c"].value_counts(normalize=True).reindex(list("abc"))
        agree = ((rows["x"] > 0) == (rows["d"] == "hi")).mean()
        return (abs(rows["x"].mean() - real["x"].mean()),
                float((shares - real_shares).abs().sum()), 1 - agree)  # fmt: skip

    before, after = gaps(plain), gaps(calibrated)
    assert after[0] < before[0] / 2  # the numbers, raked at a quarter strength
    assert after[1] < 0.02 < before[1]  # the categories, at full strength
    assert after[2] < before[2] / 2  # the pair


def test_spread_conditions_carry_the_ratio_back_to_the_datas_frequencies() -> None:
    data = torch.zeros((100, 5))
    data[:90, 0], data[90:, 1] = 1.0, 1.0  # block 1: 90 / 10 rows
    data[:50, 2], data[50:, 3] = 1.0, 1.0  # block 2 (widths 2 and 3): 50 / 50 / 0
    sampler = CategorySampler([(0, 2), (2, 3)], torch.device("cpu")).fit(data)
    plan = np.random.default_rng(0)
    condition = sampler.sample_conditions(plan, 20_000, spread=True)
    log_ratio = sampler.spread_log_ratio(condition).numpy()
    rare = condition[:, 1].numpy() == 1
    # spread draws the rare category more often than its 10% of block 1, and its ratio is below 1
    assert rare.mean() > 0.5 * 0.15 and np.all(log_ratio[rare] < 0)
    weights = np.exp(log_ratio)
    block1 = condition[:, :2].sum(1).numpy() == 1
    share = (weights * rare)[block1].sum() / weights[block1].sum()
    assert abs(share - 0.10) < 0.01  # weighted back, the rare category is 10% again
    assert sampler.sample_conditions(plan, 50)[:, 4].sum() == 0  # never a category with no rows


def test_a_fair_models_cells_are_calibrated_each_to_its_own_rows() -> None:
    rng = np.random.default_rng(3)
    n = 3000
    cell = rng.choice(["a", "b"], n)
    real = pd.DataFrame({"s": cell, "x": np.where(cell == "a", -1.0, 1.0) + rng.normal(size=n)})
    wanted = np.where(rng.random(n) < 0.8, "a", "b")  # a knob moved the cells' counts
    made = pd.DataFrame({"s": np.tile(wanted, 4), "x": rng.normal(size=4 * n)})  # cells alike
    groups = (made["s"] == "b").to_numpy().astype(np.int64)
    cells = CellMargins(CellMargins.fit(real, ["s"], ["s"]).get_state())
    chances = cells.probabilities(np.zeros(len(made)), groups, 4, made)
    rows = made.iloc[choose_rows(chances, groups, 4, np.random.default_rng(0))]
    assert (rows["s"] == "a").sum() == (wanted == "a").sum()  # the knob's counts stay
    means = rows.groupby("s")["x"].mean()
    assert means["a"] < -0.4 and means["b"] > 0.4  # each cell towards its own rows' mean (-1, 1)


def test_odds_that_tell_every_candidate_apart_are_flattened_until_the_margins_can_be_met() -> None:
    rng = np.random.default_rng(4)
    n, k = 2000, 8
    groups = np.zeros(n * k, dtype=np.int64)
    mild = rng.normal(0, 1.0, n * k)
    np.testing.assert_array_equal(_draw._flatten(mild, 0.25 * n), mild)  # Adult-like: kept
    extreme = rng.normal(0, 12.0, n * k)  # a classifier sure of every row
    flat = _draw._flatten(extreme, 0.25 * n)
    assert _draw._effective(flat) == pytest.approx(0.25 * n, rel=0.01)
    assert np.corrcoef(flat, extreme)[0, 1] > 0.999  # the same order, a smaller power
    chances = inclusion_probabilities(extreme, groups, k)
    assert _draw._effective(np.log(chances)) > 0.2 * n


def test_pairs_that_pull_the_columns_away_are_left_out() -> None:
    rng = np.random.default_rng(5)
    n = 3000
    x = rng.normal(size=n)
    real = pd.DataFrame({"x": x, "d": np.where(x > 0, "hi", "lo"), "c": rng.choice(list("ab"), n)})
    # candidates whose x and d never agree but on a few, all with c = 'a': meeting the pair
    # (x, d) means taking those few, which pulls c away from its half-and-half margin
    made = pd.DataFrame({"x": rng.normal(size=4 * n), "c": rng.choice(list("ab"), 4 * n)})
    made["d"] = np.where(made["x"] > 0, "lo", "hi")
    agree = rng.random(4 * n) < 0.02
    made.loc[agree, "d"] = np.where(made.loc[agree, "x"] > 0, "hi", "lo")
    made.loc[agree, "c"] = "a"
    margins = Margins.fit(real, ["d", "c"])
    terms = margins.terms(made)
    assert any(term.pair for term in terms)
    groups = np.zeros(len(made), dtype=np.int64)
    flat = np.zeros(len(made))
    chances = inclusion_probabilities(flat, groups, 4, terms)
    columns = [t for t in terms if not t.pair]
    alone = inclusion_probabilities(flat, groups, 4, columns)
    np.testing.assert_array_equal(chances, alone)
    both = _draw._rake(_draw._fill(np.ones(len(made)), groups, 4), groups, 4, terms)
    assert _draw._misfit(both, columns) > 2 * _draw._misfit(alone, columns)  # what was avoided
