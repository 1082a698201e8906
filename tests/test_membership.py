"""The membership-inference attack of the evaluation: near 0.5 without a leak, high for copies."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

from fairsynth import load_dataset
from fairsynth.evaluation import evaluate
from fairsynth.evaluation.membership import membership_attack


@pytest.fixture(scope="module")
def adult_parts() -> tuple[pd.DataFrame, ...]:
    ds = load_dataset("adult")
    rows = ds.train.sample(3000, random_state=0).reset_index(drop=True)
    return rows[:1000], rows[1000:2000], rows[2000:], ds  # type: ignore[return-value]


def _attack(train: pd.DataFrame, held: pd.DataFrame, synthetic: pd.DataFrame, ds) -> float:  # type: ignore[no-untyped-def]
    categorical = list(ds.discrete_columns)
    numerical = [c for c in train.columns if c not in categorical]
    return membership_attack(train, held, synthetic, categorical, numerical)["auc"]


def test_an_independent_copy_gives_no_membership_signal(adult_parts) -> None:  # type: ignore[no-untyped-def]
    train, held, independent, ds = adult_parts
    assert abs(_attack(train, held, independent, ds) - 0.5) < 0.05


def test_a_copy_of_the_training_rows_is_caught(adult_parts) -> None:  # type: ignore[no-untyped-def]
    train, held, independent, ds = adult_parts
    assert _attack(train, held, train, ds) > 0.95
    half = pd.concat([train.sample(500, random_state=1), independent.sample(500, random_state=1)])
    assert 0.6 < _attack(train, held, half, ds) < 0.95  # half copies of training rows


def test_report_carries_the_attack_in_summary_json_and_html(adult_parts, tmp_path) -> None:  # type: ignore[no-untyped-def]
    train, held, _, ds = adult_parts
    report = evaluate(
        train, train, real_test=held, discrete_columns=ds.discrete_columns, sections=["privacy"]
    )
    summary = report.summary().set_index("metric")
    assert summary.loc["membership inference AUC (distance attack)", "value"] > 0.95
    assert "membership inference AUC" in json.dumps(report.to_dict())
    page = report.to_html(tmp_path / "report.html")
    assert "membership inference AUC" in page.read_text()


def test_evaluation_still_does_not_import_torch() -> None:
    code = "import sys, fairsynth.evaluation.membership; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
