"""The real-data reference figures of docs/evaluation.md, reproduced on full Adult.

Scoring the real training table as if it were synthetic must give the protocol's TRTR
figures (design/evaluation.md: LogReg AUC 0.903, HistGB AUC 0.926, DP by sex 0.184).
"""

from __future__ import annotations

import time

import pytest

from fairsynth.datasets import load_dataset
from fairsynth.evaluation import evaluate


@pytest.fixture(scope="module")
def adult():
    return load_dataset("adult")


def test_real_data_reproduces_reference_figures(adult) -> None:
    report = evaluate(
        adult.train,
        adult.train,
        real_test=adult.test,
        target="income",
        positive_label=">50K",
        sensitive=["sex"],
        sections=["utility", "fairness"],
        sensitive_feature="included",
        reference=False,
    )
    utility = report.tables["utility"].set_index("model")
    assert utility.loc["LogReg", "auc"] == pytest.approx(0.903, abs=0.01)
    assert utility.loc["HistGB", "auc"] == pytest.approx(0.926, abs=0.01)
    assert utility.loc["LogReg", "accuracy"] == pytest.approx(0.848, abs=0.01)
    assert utility.loc["HistGB", "accuracy"] == pytest.approx(0.870, abs=0.01)
    fairness = report.tables["fairness"].query("attribute == 'sex'").set_index("model")
    assert fairness.loc["LogReg", "dp"] == pytest.approx(0.184, abs=0.01)
    assert fairness.loc["HistGB", "dp"] == pytest.approx(0.184, abs=0.01)
    assert fairness.loc["LogReg", "eo"] == pytest.approx(0.097, abs=0.01)
    assert fairness.loc["HistGB", "eo"] == pytest.approx(0.078, abs=0.01)
    gaps = report.tables["label_gap"].set_index("data")["label_gap"]
    assert gaps["real_train"] == pytest.approx(0.200, abs=0.01)


@pytest.mark.slow
def test_full_report_on_adult_is_fast_and_flags_the_copy(adult, tmp_path) -> None:
    start = time.perf_counter()
    report = evaluate(
        adult.train,
        adult.train,
        real_test=adult.test,
        target="income",
        positive_label=">50K",
        sensitive=["sex", "race"],
    )
    report.to_html(tmp_path / "adult.html")
    seconds = time.perf_counter() - start
    print(f"full Adult report with HTML: {seconds:.1f} s; sections {report.settings['seconds']}")
    assert seconds <= 60
    privacy = report.tables["privacy"].set_index("metric")["value"]
    assert privacy["DCR median ratio (synthetic / held-out)"] == 0.0
    assert privacy["share closer than held-out 5th percentile"] == 1.0
    assert privacy["exact copies of training rows"] == len(adult.train)
    summary = report.summary().set_index("metric")
    assert summary.loc["LogReg AUC (train synthetic, test real)", "value"] == pytest.approx(
        0.903, abs=0.01
    )
