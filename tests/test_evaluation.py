"""Whole-report behaviour of fairsynth.evaluation on small samples of Adult."""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

from fairsynth.datasets import load_dataset
from fairsynth.evaluation import SECTIONS, EvaluationReport, evaluate

ARGS = {"target": "income", "positive_label": ">50K", "sensitive": ["sex", "race"]}


@pytest.fixture(scope="module")
def adult() -> tuple[pd.DataFrame, pd.DataFrame]:
    ds = load_dataset("adult")
    train = ds.train.sample(2000, random_state=0).reset_index(drop=True)
    test = ds.test.sample(1000, random_state=0).reset_index(drop=True)
    return train, test


@pytest.fixture(scope="module")
def copy_report(adult: tuple[pd.DataFrame, pd.DataFrame]) -> EvaluationReport:
    """The real training table scored as if it were synthetic: every section, both models."""
    train, test = adult
    return evaluate(train, train, real_test=test, detection_rows=1000, **ARGS)


@pytest.fixture(scope="module")
def shuffled_report(adult: tuple[pd.DataFrame, pd.DataFrame]) -> EvaluationReport:
    """Each column shuffled on its own: right marginals, no relations between columns."""
    train, test = adult
    rng = np.random.default_rng(1)
    broken = pd.DataFrame({c: rng.permutation(train[c].to_numpy()) for c in train.columns})
    return evaluate(
        train,
        broken,
        real_test=test,
        sections=["utility", "fidelity"],
        models=["LogReg"],
        sensitive_feature="included",
        detection_rows=1000,
        **ARGS,
    )


def _summary(report: EvaluationReport, metric: str) -> pd.Series:
    summary = report.summary().set_index("metric")
    return summary.loc[metric]


def test_summary_has_every_section_with_directions(copy_report: EvaluationReport) -> None:
    summary = copy_report.summary()
    assert list(summary.columns) == ["section", "metric", "value", "reference", "direction", "note"]
    assert set(summary["section"]) == set(SECTIONS)
    assert set(summary["direction"]) == {"higher is better", "lower is better"}
    assert summary["value"].notna().all()
    assert _summary(copy_report, "Detection AUC (vs real_train)")["direction"] == "lower is better"
    assert _summary(copy_report, "HistGB AUC (train synthetic, test real)")["direction"] == (
        "higher is better"
    )


def test_copy_is_flagged_by_privacy(copy_report: EvaluationReport) -> None:
    privacy = copy_report.tables["privacy"].set_index("metric")
    assert privacy.loc["DCR median ratio (synthetic / held-out)", "value"] == 0.0
    assert privacy.loc["share closer than held-out 5th percentile", "value"] == 1.0
    assert privacy.loc["exact copies of training rows", "value"] == 2000
    assert privacy.loc["share closer than held-out 5th percentile", "reference"] <= 0.05
    notes = copy_report.summary().query("section == 'privacy'")["note"]
    assert notes.str.contains("closer to training rows").all()


def test_copy_trains_the_same_models_as_the_real_reference(copy_report: EvaluationReport) -> None:
    # Same rows and seed: the TSTR and TRTR numbers come from the same code, so they agree.
    utility = copy_report.summary().query("section == 'utility'")
    np.testing.assert_allclose(utility["value"], utility["reference"])
    gaps = copy_report.tables["label_gap"].set_index(["attribute", "data"])["label_gap"]
    assert gaps[("sex", "synthetic")] == pytest.approx(gaps[("sex", "real_train")])
    assert _summary(copy_report, "Quality (vs real_train)")["value"] == pytest.approx(1.0)


def test_shuffled_columns_score_clearly_worse(shuffled_report: EvaluationReport) -> None:
    fidelity = shuffled_report.tables["fidelity"].set_index(["metric", "against"])
    for against in ("real_train", "real_test"):
        quality = fidelity.loc[("Quality", against)]
        assert quality["value"] < quality["reference"] - 0.05
        trends = fidelity.loc[("Column Pair Trends", against)]
        assert trends["value"] < trends["reference"] - 0.1
        shapes = fidelity.loc[("Column Shapes", against)]  # marginals survive shuffling
        assert shapes["value"] > 0.9
    detection = fidelity.loc[("Detection AUC", "real_train")]
    assert detection["value"] > 0.8 > 0.65 > detection["reference"]
    auc = _summary(shuffled_report, "LogReg AUC (train synthetic, test real)")
    assert auc["value"] < 0.7 < 0.85 < auc["reference"]


def test_tables_are_tidy_and_cover_attributes(copy_report: EvaluationReport) -> None:
    tables = copy_report.tables
    for name in (
        "utility",
        "fidelity",
        "column_shapes",
        "coverage",
        "label_gap",
        "fairness",
        "group_rates",
        "privacy",
        "notes",
    ):
        assert name in tables, name
    fairness = tables["fairness"]
    assert set(fairness["attribute"]) == {"sex", "race", "sex & race"}
    assert set(fairness["sensitive_feature"]) == {"included", "excluded"}
    assert set(fairness["trained_on"]) == {"synthetic", "real"}
    assert fairness[["dp", "eo", "dp_at_rate"]].apply(lambda c: c.between(0, 1)).all().all()
    rates = tables["group_rates"]
    sex_rows = rates[(rates["attribute"] == "sex") & (rates["kind"] == "label")]
    assert set(sex_rows["group"]) == {"Female", "Male"}
    keys = ["attribute", "kind", "data", "model", "trained_on", "sensitive_feature"]
    assert set(rates.groupby(keys, dropna=False)["n"].sum()) == {2000, 1000}  # rows add up
    utility = tables["utility"]
    assert {"accuracy", "auc", "f1", "macro_f1"} <= set(utility.columns)
    assert len(utility) == 8  # 2 models x 2 training tables x with/without S
    assert tables["column_shapes"]["real_test"].between(0, 1).all()
    assert tables["fidelity"]["note"].str.contains(r"Pearson r\| > 0.5").any()
    assert tables["fidelity"]["note"].str.contains("V > 0.3").any()


def test_json_round_trip(copy_report: EvaluationReport, tmp_path) -> None:
    path = copy_report.to_json(tmp_path / "report.json")
    payload = json.loads(path.read_text())  # strict JSON: NaN would fail allow_nan below
    json.dumps(payload, allow_nan=False)
    again = EvaluationReport.from_json(path)
    pd.testing.assert_frame_equal(again.summary(), copy_report.summary(), check_dtype=False)
    pd.testing.assert_frame_equal(
        again.tables["fairness"], copy_report.tables["fairness"], check_dtype=False
    )
    assert again.settings["rows"] == {"real_train": 2000, "synthetic": 2000, "real_test": 1000}


def test_html_is_one_self_contained_file(copy_report: EvaluationReport, tmp_path) -> None:
    # rendered from the JSON copy: a saved report keeps what its pictures need
    saved = EvaluationReport.from_json(copy_report.to_json(tmp_path / "report.json"))
    text = saved.to_html(tmp_path / "report.html").read_text()
    assert text.startswith("<!DOCTYPE html>")
    assert len(re.findall(r'src="data:image/png;base64,[A-Za-z0-9+/=]{1000,}"', text)) == 6
    assert not re.search(r"(src|href)=[\"']?(https?:|//|file:)", text)
    assert "<script" not in text
    for heading in ("Summary", "Utility", "Fidelity", "Fairness", "Privacy"):
        assert f"<h2>{heading}" in text


def test_sections_and_reference_switches(adult: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    train, test = adult
    report = evaluate(train, test, real_test=test, sections="privacy", reference=False, **ARGS)
    assert set(report.summary()["section"]) == {"privacy"}
    assert "utility" not in report.tables and "fidelity" not in report.tables
    copies = report.tables["privacy"].set_index("metric").loc["exact copies of training rows"]
    assert copies["value"] == 0  # adult's test rows are not in this training sample


def test_same_seed_same_report_and_global_rng_untouched(
    adult: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    train, test = adult
    np.random.seed(123)  # noqa: NPY002 - the legacy global state is what must stay untouched
    random.seed(123)
    before_np, before_py = np.random.get_state(), random.getstate()  # noqa: NPY002
    kwargs = {"real_test": test, "sections": ["privacy"], "privacy_rows": 300, **ARGS}
    first = evaluate(train, test.iloc[:700], random_state=5, **kwargs)
    second = evaluate(train, test.iloc[:700], random_state=5, **kwargs)
    other = evaluate(train, test.iloc[:700], random_state=6, **kwargs)
    pd.testing.assert_frame_equal(first.summary(), second.summary())
    assert not first.summary()["value"].equals(other.summary()["value"])
    after_np = np.random.get_state()  # noqa: NPY002
    assert all(np.array_equal(a, b) for a, b in zip(before_np, after_np, strict=True))
    assert random.getstate() == before_py


def test_evaluation_never_imports_torch() -> None:
    code = textwrap.dedent(
        """
        import sys, tempfile, pathlib
        import fairsynth.evaluation as ev
        from fairsynth.datasets import load_dataset
        ds = load_dataset("german")
        report = ev.evaluate(ds.train, ds.train.sample(300, random_state=0), real_test=ds.test,
                             target="credit", positive_label="good", sensitive="sex",
                             models=["LogReg"], sensitive_feature="included", reference=False,
                             detection_rows=200)
        report.to_html(pathlib.Path(tempfile.mkdtemp()) / "r.html")
        assert "sdmetrics" in sys.modules and "matplotlib" in sys.modules
        loaded = sorted(m for m in sys.modules if m == "torch" or m.startswith("torch."))
        assert not loaded, loaded[:5]
        print("ok")
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().endswith("ok")
