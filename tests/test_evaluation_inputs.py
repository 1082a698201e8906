"""Bad or unusual input: clear errors, or entries clearly marked as not computable."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fairsynth.datasets import load_dataset
from fairsynth.evaluation import evaluate
from fairsynth.exceptions import DataError, ParameterError

FAST = {"models": ["LogReg"], "sensitive_feature": "included"}


@pytest.fixture(scope="module")
def german() -> tuple[pd.DataFrame, pd.DataFrame]:
    ds = load_dataset("german")
    return ds.train, ds.test


def _run(train: pd.DataFrame, synthetic: pd.DataFrame, test: pd.DataFrame | None, **kwargs):
    options = {"target": "credit", "positive_label": "good", "sensitive": "sex"} | kwargs
    return evaluate(train, synthetic, real_test=test, **options)


def test_mismatched_columns_name_the_columns(german) -> None:
    train, test = german
    with pytest.raises(DataError, match=r"missing 'age'.*real_train has 'status'"):
        _run(train, train.drop(columns="age"), test)
    with pytest.raises(DataError, match=r"unexpected 'extra'"):
        _run(train, train.assign(extra=1), test)
    with pytest.raises(DataError, match=r"Columns of real_test .* missing 'job'"):
        _run(train, train, test.drop(columns="job"))


def test_target_missing_from_synthetic_is_reported(german) -> None:
    train, test = german
    report = _run(
        train,
        train.drop(columns="credit"),
        test,
        sections=["utility", "fairness", "privacy"],
        **FAST,
    )
    assert report.notes["reason"].str.contains("missing from synthetic").any()
    utility = report.tables["utility"].set_index("trained_on")
    assert np.isnan(utility.loc["synthetic", "auc"])
    assert "missing from the synthetic table" in utility.loc["synthetic", "note"]
    assert utility.loc["real", "auc"] > 0.6  # the real reference is still computed
    assert "synthetic" not in set(report.tables["label_gap"]["data"])
    summary = report.summary().set_index("metric")
    assert np.isnan(summary.loc["LogReg AUC (train synthetic, test real)", "value"])
    assert "missing" in summary.loc["LogReg AUC (train synthetic, test real)", "note"]
    assert report.summary().query("section == 'privacy'")["value"].notna().all()


def test_constant_target_in_synthetic_is_reported(german) -> None:
    train, test = german
    report = _run(train, train.assign(credit="good"), test, sections=["utility"], **FAST)
    note = report.tables["utility"].set_index("trained_on").loc["synthetic", "note"]
    assert "constant in the synthetic table (only rows with 'good')" in note
    assert report.notes["item"].str.contains("models trained on synthetic").any()


def test_missing_sensitive_values_form_their_own_group(german) -> None:
    train, test = german
    synthetic = train.copy()
    synthetic.loc[:49, "sex"] = np.nan
    holed_test = test.copy()
    holed_test.loc[:9, "sex"] = None
    report = _run(train, synthetic, holed_test, sections=["fairness"], **FAST)
    rates = report.tables["group_rates"]
    assert (
        rates.query("kind == 'label' and data == 'synthetic'")
        .set_index("group")
        .loc["(missing)", "n"]
        == 50
    )
    assert "(missing)" in set(rates.query("kind == 'prediction'")["group"])
    reasons = report.notes.query("section == 'fairness'")["reason"]
    assert reasons.str.contains("missing values, counted as their own group").sum() == 2
    assert reasons.str.contains("50 missing values").any()
    small = reasons[reasons.str.contains("fewer than 30 rows or 10 positive labels in real_test")]
    assert len(small) == 1 and "'(missing)': 10 rows" in small.iloc[0]


def test_positive_label_problems_are_clear_errors(german) -> None:
    train, test = german
    with pytest.raises(ParameterError, match=r"'great' does not occur .* Labels: 'bad', 'good'"):
        _run(train, train, test, positive_label="great")
    with pytest.raises(ParameterError, match=r"positive_label is required .* 'bad', 'good'"):
        _run(train, train, test, positive_label=None)
    with pytest.raises(DataError, match="real_test needs rows with and without credit='good'"):
        _run(train, train, test.assign(credit="good"))


def test_label_matches_across_number_and_text() -> None:
    frame = pd.DataFrame({"y": [0, 1] * 30, "x": np.arange(60.0), "s": ["a", "b", "c"] * 20})
    synthetic = frame.assign(y=frame["y"].astype(float))  # 0.0 / 1.0 from a generator
    report = evaluate(
        frame,
        synthetic,
        real_test=frame,
        target="y",
        positive_label="1",
        sensitive="s",
        sections=["utility"],
        **FAST,
    )
    assert report.tables["utility"]["auc"].notna().all()


def test_target_and_sensitive_coded_differently_are_clear_errors() -> None:
    # issue 19, finding 4: a 0/1 target against a no/yes one was scored as a constant target
    frame = pd.DataFrame({"y": [0, 1] * 30, "x": np.arange(60.0), "s": ["a", "b", "c"] * 20})
    options = {"target": "y", "positive_label": "1", "sensitive": "s", **FAST}
    recoded = frame.assign(y=frame["y"].map({0: "no", 1: "yes"}))
    message = (
        r"target column 'y' in synthetic shares no value with real_train: .*'no', 'yes'.*'0', '1'"
    )
    with pytest.raises(DataError, match=message):
        evaluate(frame, recoded, real_test=frame, **options)
    with pytest.raises(DataError, match=r"target column 'y' in real_test shares no value"):
        evaluate(frame, frame, real_test=recoded, **options)
    renamed = frame.assign(s=frame["s"].str.upper())
    message = r"sensitive column 's' in synthetic shares no value .* synthetic has 'A', 'B', 'C'"
    with pytest.raises(DataError, match=message):
        evaluate(frame, renamed, real_test=frame, **options)
    # a value real_train never had, beside known ones, is scored and noted
    odd = frame.assign(y=frame["y"].astype(object).where(frame.index > 0, "yes"))
    report = evaluate(frame, odd, real_test=frame, sections=["utility"], **options)
    reasons = report.notes["reason"]
    assert reasons.str.contains(r"1 row\(s\) hold values not in real_train: 'yes'").any()


def test_non_matching_dtypes_are_clear_errors(german) -> None:
    train, test = german
    with pytest.raises(DataError, match=r"Column 'age' holds numeric values in real_train but "):
        _run(train, train.assign(age=train["age"].map(lambda a: f"{a} years")), test)
    # naming the column as discrete makes text and numbers comparable categories
    as_text = train.assign(installment_rate=train["installment_rate"].astype(str))
    report = _run(train, as_text, test, sections=["privacy"], discrete_columns=["installment_rate"])
    copies = report.tables["privacy"].set_index("metric")
    assert copies.loc["share of exact copies of training rows", "value"] == 1.0


def test_parameter_errors(german) -> None:
    train, test = german
    cases = [
        ({"sections": ["utility", "speed"]}, "Unknown sections 'speed'"),
        ({"models": ["SVM"]}, "Unknown model 'SVM'"),
        ({"sensitive_feature": "sometimes"}, "sensitive_feature must be one of"),
        ({"sensitive": "credit"}, "cannot also be a sensitive column"),
        ({"sensitive": ["sex", "gender"]}, "Column 'gender' not in real_train"),
        ({"target": "income"}, "Column 'income' not in real_train"),
        ({"task": "ranking"}, "task must be one of"),
        ({"detection_rows": 3}, "detection_rows must be an integer of at least 10"),
        ({"n_threads": 0}, "n_threads must be None or a positive integer"),
    ]
    for kwargs, message in cases:
        with pytest.raises(ParameterError, match=message):
            _run(train, train, test, **({"sections": ["utility"]} | kwargs))


def test_bad_tables_are_clear_errors(german) -> None:
    train, test = german
    with pytest.raises(DataError, match="synthetic is empty"):
        _run(train, train.iloc[:0], test)
    with pytest.raises(DataError, match="real_train must be a pandas DataFrame"):
        _run(train.to_numpy(), train, test)
    with pytest.raises(DataError, match="infinite values"):
        _run(train, train.assign(age=np.inf), test, sections=["privacy"])


def test_regression_target_gets_r2_and_mae(german) -> None:
    train, test = german
    report = evaluate(
        train,
        train,
        real_test=test,
        target="credit_amount",
        sensitive="sex",
        sections=["utility", "fairness"],
        models=["Ridge"],
    )
    assert report.settings["task"] == "regression"
    utility = report.tables["utility"]
    assert {"r2", "mae"} <= set(utility.columns) and "auc" not in utility.columns
    assert (utility["r2"] > 0.2).all()
    summary = report.summary().set_index("metric")
    assert summary.loc["Ridge MAE (train synthetic, test real)", "direction"] == "lower is better"
    assert report.notes["reason"].str.contains("not a class label").any()


def test_multiclass_target_is_binarised_against_the_label(german) -> None:
    train, test = german
    report = evaluate(
        train,
        train,
        real_test=test,
        target="purpose",
        positive_label="car (new)",
        sensitive="sex",
        sections=["utility"],
        **FAST,
    )
    assert 0.5 < report.tables["utility"]["auc"].iloc[0] <= 1


def test_without_test_table_entries_are_marked(german) -> None:
    train, _ = german
    report = _run(train, train, None, sections=["utility", "privacy"], **FAST)
    assert "utility" not in report.tables
    reasons = report.notes["reason"]
    assert reasons.str.contains("needs real_test").sum() == 2
    privacy = report.tables["privacy"].set_index("metric")
    assert privacy.loc["share of exact copies of training rows", "value"] == 1.0
    assert np.isnan(privacy.loc["DCR median ratio (synthetic / held-out)", "value"])


def test_without_target_only_data_sections_run(german) -> None:
    train, test = german
    report = evaluate(
        train, train, real_test=test, sensitive="sex", sections=["utility", "fairness", "privacy"]
    )
    assert set(report.summary()["section"]) == {"privacy"}
    assert report.notes["reason"].str.contains("no target given").sum() == 2


def test_synthetic_table_with_repeated_index_labels_is_scored() -> None:
    from fairsynth import load_dataset
    from fairsynth.evaluation import evaluate

    ds = load_dataset("adult")
    train = ds.train.head(600)
    synthetic = train.sample(600, replace=True, random_state=0)  # repeated index labels
    assert not synthetic.index.is_unique
    report = evaluate(
        train, synthetic, real_test=ds.test.head(400), target="income", positive_label=">50K",
        sections=("utility",),
    )  # fmt: skip
    assert report.summary()["value"].notna().any()
