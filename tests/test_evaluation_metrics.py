"""The evaluation's building blocks, checked exactly on hand-computable inputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import (
    MetricFrame,
    count,
    demographic_parity_difference,
    equalized_odds_difference,
    false_positive_rate,
    selection_rate,
    true_positive_rate,
)

from fairsynth.datasets import load_dataset
from fairsynth.evaluation import (
    category_coverage,
    closest_distances,
    detection_auc,
    exact_copies,
    gap_metrics,
    label_gap,
    quality_scores,
    top_share,
    tstr_scores,
)
from fairsynth.evaluation._prepare import MISSING, category_strings, seed_of
from fairsynth.evaluation.fairness import group_rates
from fairsynth.exceptions import DataError, ParameterError


def _random_groups(seed: int) -> tuple[np.ndarray, np.ndarray, pd.Series]:
    rng = np.random.default_rng(seed)
    n = 400
    groups = pd.Series(rng.choice(["a", "b", "c", "d"], n, p=[0.5, 0.3, 0.15, 0.05]))
    y = rng.integers(0, 2, n)
    y[groups.to_numpy() == "d"] = 1  # a group with no negatives: FPR undefined
    y[np.flatnonzero(groups.to_numpy() == "c")[:1]] = 0
    pred = (rng.random(n) < 0.3 + 0.4 * y).astype(int)
    return y, pred, groups


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_gap_metrics_equal_fairlearn(seed: int) -> None:
    y, pred, groups = _random_groups(seed)
    at_rate = top_share(np.random.default_rng(seed).random(len(y)), 0.25)
    got = gap_metrics(y, pred, at_rate, groups)
    features = groups.to_numpy()
    assert got["dp"] == pytest.approx(
        demographic_parity_difference(y, pred, sensitive_features=features)
    )
    assert got["eo"] == pytest.approx(
        equalized_odds_difference(y, pred, sensitive_features=features)
    )
    assert got["dp_at_rate"] == pytest.approx(
        demographic_parity_difference(y, at_rate, sensitive_features=features)
    )


def test_group_rates_equal_metricframe() -> None:
    y, pred, groups = _random_groups(3)
    frame = MetricFrame(
        metrics={
            "rate": selection_rate,
            "tpr": true_positive_rate,
            "fpr": false_positive_rate,
            "n": count,
        },
        y_true=y,
        y_pred=pred,
        sensitive_features=groups.rename("group"),
    ).by_group.reset_index()
    mine = group_rates(y, pred, groups)
    pd.testing.assert_frame_equal(
        mine[["group", "rate", "tpr", "fpr"]],
        frame[["group", "rate", "tpr", "fpr"]].astype({"rate": float}),
        check_dtype=False,
    )
    assert mine["n"].tolist() == frame["n"].astype(int).tolist()


def test_top_share_and_label_gap_by_hand() -> None:
    assert top_share(np.array([0.1, 0.9, 0.5, 0.7]), 0.5).tolist() == [0, 1, 0, 1]
    assert top_share(np.array([0.5, 0.5, 0.5, 0.5]), 0.25).tolist() == [1, 0, 0, 0]
    assert top_share(np.array([0.2, 0.3]), 0.0).tolist() == [0, 0]
    y = np.array([1, 0, 1, 1, 0, 0])
    groups = pd.Series(["f", "f", "m", "m", "m", "x"])
    assert label_gap(y, groups) == pytest.approx(2 / 3 - 0)  # m: 2/3, f: 1/2, x: 0


def test_category_strings_make_numbers_and_text_compare_equal() -> None:
    assert category_strings(pd.Series([1, 2, 3])).tolist() == ["1", "2", "3"]
    assert category_strings(pd.Series([1.0, 2.0, np.nan])).tolist() == ["1", "2", MISSING]
    assert category_strings(pd.Series(["1", "b", None])).tolist() == ["1", "b", MISSING]
    assert category_strings(pd.Series([0.5, 1.0])).tolist() == ["0.5", "1.0"]
    assert category_strings(pd.Series([True, False])).tolist() == ["True", "False"]
    assert category_strings(pd.Series(["x", "y"], dtype="category")).tolist() == ["x", "y"]


def test_distances_on_the_mixed_encoding_by_hand() -> None:
    train = pd.DataFrame({"x": [0.0, 10.0], "c": ["a", "b"]})
    queries = pd.DataFrame({"x": [5.0, 0.0, 10.0, 20.0], "c": ["a", "a", "a", "zz"]})
    got = closest_distances(train, queries, ["c"], ["x"])
    # numbers scaled by the training range (10); a categorical mismatch adds 1 to the square;
    # an unseen category is all zeros, half a mismatch against each level.
    expected = [0.5, 0.0, 1.0, np.sqrt(1.0 + 0.5)]
    np.testing.assert_allclose(got, expected, atol=1e-6)
    assert got[1] == 0.0  # exact copies are exactly zero despite BLAS rounding
    assert exact_copies(train, queries).tolist() == [False, True, False, False]


def test_category_coverage_by_hand() -> None:
    real = pd.DataFrame({"c": ["a", "b", "c", "a"], "d": ["x", "x", "y", "y"]})
    fake = pd.DataFrame({"c": ["a", "a", "q", "b"], "d": ["x", "x", "x", "x"]})
    table = category_coverage(real, fake, ["c", "d"]).set_index("column")
    assert table.loc["c", "coverage"] == pytest.approx(2 / 3)
    assert table.loc["c", "missing_categories"] == "c"
    assert table.loc["c", "n_unseen_values"] == 1
    assert table.loc["d", "coverage"] == 0.5


def test_detection_auc_separates_only_different_tables() -> None:
    rng = np.random.default_rng(0)
    same_a = pd.DataFrame({"x": rng.normal(size=400), "c": rng.choice(["a", "b"], 400)})
    same_b = pd.DataFrame({"x": rng.normal(size=400), "c": rng.choice(["a", "b"], 400)})
    shifted = same_b.assign(x=same_b["x"] + 4)
    alike, n = detection_auc(same_a, same_b, ["c"], ["x"], max_rows=300, random_state=0)
    apart, _ = detection_auc(same_a, shifted, ["c"], ["x"], max_rows=300, random_state=0)
    assert n == 300
    assert abs(alike - 0.5) < 0.1
    assert apart > 0.97


def test_quality_scores_states_thresholds_and_keeps_torch_metric_usable() -> None:
    import sys

    rng = np.random.default_rng(0)
    x = rng.normal(size=300)
    real = pd.DataFrame({"x": x, "y": x + rng.normal(scale=0.1, size=300), "c": x > 0})
    real["c"] = real["c"].map(str)
    scores, shapes, pairs = quality_scores(real, real, numerical=["x", "y"])
    assert scores["Quality"] == pytest.approx(1.0)
    assert scores["real_correlation_threshold"] == 0.5
    assert scores["real_association_threshold"] == 0.3
    assert len(shapes) == 3 and len(pairs) == 3
    assert pairs["Meets Threshold?"].astype(bool).all()  # all three pairs strongly related
    bayesian = sys.modules["sdmetrics.single_table.bayesian_network"]
    assert bayesian.torch is not None  # the metric we skip at import still finds torch


def test_seed_of() -> None:
    assert seed_of(7) == 7
    assert seed_of(np.random.default_rng(0)) == seed_of(np.random.default_rng(0))
    assert isinstance(seed_of(None), int)
    with pytest.raises(ParameterError, match="random_state"):
        seed_of(-1)
    with pytest.raises(ParameterError, match="random_state"):
        seed_of("0")  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def german() -> tuple[pd.DataFrame, pd.DataFrame]:
    ds = load_dataset("german")
    return ds.train, ds.test


def test_tstr_scores_columns_and_fixed_rate(german: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    train, test = german
    scores = tstr_scores(train, test, "credit", "good", ["sex", "housing"], models=["LogReg"])
    assert scores.index.tolist() == ["LogReg"]
    for column in ("auc", "dp[sex]", "eo[housing]", "dp_at_rate[sex & housing]"):
        assert column in scores.columns
    assert 0.6 < scores.loc["LogReg", "auc"] <= 1.0
    nobody = tstr_scores(train, test, "credit", "good", "sex", models=["LogReg"], selection_rate=0)
    assert nobody.loc["LogReg", "dp_at_rate[sex]"] == 0.0
    without = tstr_scores(train, test, "credit", "good", "sex", sensitive_as_feature=False)
    assert set(without.index) == {"LogReg", "HistGB"}
    assert not without.loc["LogReg", ["auc", "dp[sex]"]].equals(
        scores.loc["LogReg", ["auc", "dp[sex]"]]
    )


def test_tstr_scores_rejects_unusable_training_tables(
    german: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    train, test = german
    with pytest.raises(ParameterError, match="constant in the train_frame"):
        tstr_scores(train.assign(credit="good"), test, "credit", "good")
    with pytest.raises(ParameterError, match="selection_rate"):
        tstr_scores(train, test, "credit", "good", selection_rate=1.5)
    with pytest.raises(ParameterError, match="Unknown classification model 'SVM'"):
        tstr_scores(train, test, "credit", "good", models=["SVM"])
    with pytest.raises(DataError, match="Columns of train_frame do not match test_frame"):
        tstr_scores(train.drop(columns="age"), test, "credit", "good")


def test_quality_on_category_codes_is_sdmetrics_on_the_values() -> None:
    from fairsynth.evaluation.fidelity import _quality_report_class

    ds = load_dataset("adult")
    real = ds.train.iloc[:1500].reset_index(drop=True)
    synthetic = ds.test.iloc[:1500].reset_index(drop=True)
    synthetic.loc[:40, "workclass"] = np.nan  # a missing value and an unseen category
    synthetic.loc[41:60, "occupation"] = "never-seen"
    numerical = [c for c in real.columns if c not in ds.discrete_columns]
    scores, shapes, pairs = quality_scores(real, synthetic, numerical)
    sdtypes = {c: "numerical" if c in numerical else "categorical" for c in real.columns}
    report = _quality_report_class()()
    report.num_rows_subsample = None
    metadata = {"columns": {c: {"sdtype": kind} for c, kind in sdtypes.items()}}
    report.generate(real, synthetic, metadata, verbose=False)
    assert scores["Quality"] == report.get_score()
    pd.testing.assert_frame_equal(shapes, report.get_details("Column Shapes"))
    pd.testing.assert_frame_equal(pairs, report.get_details("Column Pair Trends"))
