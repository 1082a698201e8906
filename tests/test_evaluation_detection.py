"""The per-column detection table, progress reporting and the row caps for large tables."""

from __future__ import annotations

import io
import os

import numpy as np
import pandas as pd
import pytest
from sklearn.neighbors import NearestNeighbors
from threadpoolctl import threadpool_info

from fairsynth.datasets import load_dataset
from fairsynth.evaluation import closest_distances, column_detection, detection_auc, evaluate
from fairsynth.evaluation._progress import Progress
from fairsynth.evaluation.privacy import query_rows
from fairsynth.exceptions import ParameterError

ARGS = {"target": "income", "positive_label": ">50K", "sensitive": ["sex"]}


@pytest.fixture(scope="module")
def adult() -> tuple[pd.DataFrame, pd.DataFrame]:
    ds = load_dataset("adult")
    return (
        ds.train.sample(1500, random_state=0).reset_index(drop=True),
        ds.test.sample(800, random_state=0).reset_index(drop=True),
    )


def _damaged(frame: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """Fresh-looking rows whose hours-per-week never sit on a whole number: one clear tell."""
    rng = np.random.default_rng(seed)
    out = frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    out["hours-per-week"] = out["hours-per-week"] + rng.uniform(0.2, 0.8, len(out))
    return out


def test_the_damaged_column_is_found_alone_and_by_its_absence(adult) -> None:
    train, test = adult
    fake = _damaged(test)
    numerical = ["age", "fnlwgt", "education-num", "capital-gain", "capital-loss", "hours-per-week"]
    categorical = [c for c in train.columns if c not in numerical]
    table, rows = column_detection(
        train, fake, categorical, numerical, max_rows=800, column_rows=800, random_state=0
    )
    assert rows == 800 and len(table) == train.shape[1]
    assert set(table["column"]) == set(train.columns)
    assert list(table["auc_alone"]) == sorted(table["auc_alone"], reverse=True)
    top = table.iloc[0]
    assert top["column"] == "hours-per-week" and top["auc_alone"] > 0.9
    assert table["auc_alone"].iloc[1:].max() < 0.65
    # without the tell, the other columns of fresh real rows look real
    assert top["auc_without"] < 0.65 and top["drop"] > 0.25
    assert (table["drop"].iloc[1:].abs() < 0.1).all()


def test_columns_spread_over_two_processes_give_the_same_table(adult) -> None:
    train, test = adult
    fake = _damaged(test, seed=2)
    numerical = ["age", "hours-per-week"]
    categorical = ["workclass", "sex", "race", "relationship"]
    columns = numerical + categorical
    seen: list[str] = []
    before = [pool["num_threads"] for pool in threadpool_info()]
    one, _ = column_detection(
        train[columns], fake[columns], categorical, numerical, max_rows=300, column_rows=300
    )
    two, _ = column_detection(
        train[columns], fake[columns], categorical, numerical, max_rows=300, column_rows=300,
        n_threads=2, progress=seen.append,
    )  # fmt: skip
    pd.testing.assert_frame_equal(one, two)
    assert seen == columns  # progress names every column, in the table's order
    # the caller's thread settings are as they were
    assert [pool["num_threads"] for pool in threadpool_info()] == before
    with pytest.raises(ParameterError, match="n_threads"):
        column_detection(train, fake, categorical, numerical, n_threads=0)


def test_no_worker_processes_inside_a_daemonic_process(monkeypatch) -> None:
    import multiprocessing

    from fairsynth.evaluation.detection import _workers

    assert _workers(2, 10) == min(2, os.cpu_count() or 1)
    assert _workers(64, 3) <= 3
    # a multiprocessing.Pool worker may not start processes: the columns run in it, one by one
    monkeypatch.setattr(multiprocessing.current_process(), "_config", {"daemon": True})
    assert _workers(2, 10) == 1


def test_same_rows_classifier_and_encoding_as_the_headline_auc(adult) -> None:
    train, test = adult
    fake = _damaged(test, seed=1)
    numerical = ["age", "fnlwgt", "hours-per-week"]
    categorical = ["workclass", "sex", "race"]
    columns = numerical + categorical
    headline, n = detection_auc(
        train[columns], fake[columns], categorical, numerical, max_rows=600, random_state=3
    )
    table, rows = column_detection(
        train[columns], fake[columns], categorical, numerical,
        max_rows=600, column_rows=600, max_iter=100, random_state=3,
    )  # fmt: skip
    assert rows == n == 600
    # auc_without + drop is the per-column models' whole-table AUC on the same rows
    whole = table["auc_without"] + table["drop"]
    np.testing.assert_allclose(whole, headline, rtol=0, atol=1e-12)


def test_report_has_the_table_the_worst_columns_and_the_picture(adult, tmp_path) -> None:
    train, test = adult
    report = evaluate(
        train, _damaged(test), real_test=test, sections=["fidelity"], detection_rows=800,
        column_detection_rows=500, reference=False, **ARGS,
    )  # fmt: skip
    table = report.tables["detection_columns"]
    assert list(table.columns) == ["column", "auc_alone", "auc_without", "drop"]
    summary = report.summary().set_index("metric")
    worst = summary.loc["Detection AUC, worst single column (vs real_train)"]
    assert worst["value"] == table["auc_alone"].max()
    assert worst["note"].startswith("each column alone (500 rows of each table")
    listed = worst["note"].split(": ", 1)[1].split(";")[0]
    named = [part.rsplit(" ", 1)[0] for part in listed.split(", ")]
    assert named == list(table["column"].iloc[:3])
    assert report.settings["column_detection_rows"] == 500
    text = report.to_html(tmp_path / "r.html").read_text()
    assert "Detection by column" in text
    saved = report.to_json(tmp_path / "r.json")
    again = type(report).from_json(saved).tables["detection_columns"]
    pd.testing.assert_frame_equal(again, table, check_dtype=False)
    off = evaluate(
        train, test, real_test=test, sections=["fidelity"], detection_rows=300,
        column_detection_rows=None, reference=False, **ARGS,
    )  # fmt: skip
    assert "detection_columns" not in off.tables
    assert "Detection AUC, worst single column (vs real_train)" not in set(off.summary()["metric"])


def test_quality_rows_cap_is_said_in_the_notes(adult) -> None:
    train, test = adult
    report = evaluate(
        train, test, real_test=test, sections=["fidelity"], quality_rows=600,
        detection_rows=300, column_detection_rows=None, reference=False, **ARGS,
    )  # fmt: skip
    fidelity = report.tables["fidelity"].set_index(["metric", "against"])
    note = fidelity.loc[("Quality", "real_train"), "note"]
    assert (
        note == "SDMetrics on rows drawn at random: real_train 600 of 1,500, synthetic 600 of 800, "
        "real_test 600 of 800"
    )
    assert report.plot_data["distributions"]["real"].notna().any()
    whole = evaluate(
        train, test, real_test=test, sections=["fidelity"], quality_rows=None,
        detection_rows=300, column_detection_rows=None, reference=False, **ARGS,
    )  # fmt: skip
    assert whole.tables["fidelity"].set_index(["metric", "against"]).loc[
        ("Quality", "real_train"), "note"
    ] == ""  # fmt: skip


def test_model_rows_cap_trains_on_a_sample_and_says_so(adult) -> None:
    train, test = adult
    options = {"sections": ["utility"], "models": ["LogReg"], "sensitive_feature": "included"}
    report = evaluate(train, test, real_test=test, model_rows=500, **options, **ARGS)
    reasons = report.notes.set_index("item")["reason"]
    assert reasons["training rows"] == (
        "models trained on rows drawn at random: synthetic 500 of 800, real 500 of 1,500"
    )
    assert report.tables["utility"]["auc"].between(0.7, 1.0).all()
    whole = evaluate(train, test, real_test=test, model_rows=None, **options, **ARGS)
    assert "training rows" not in set(whole.notes["item"])
    assert not whole.tables["utility"]["auc"].equals(report.tables["utility"]["auc"])


def test_chunked_closest_distances_equal_a_brute_force_search(adult) -> None:
    train, test = adult
    numerical = ["age", "fnlwgt", "hours-per-week", "capital-gain"]
    categorical = ["workclass", "education", "sex"]
    columns = numerical + categorical
    queries = pd.concat([test[columns].head(200), train[columns].head(5)], ignore_index=True)
    got = closest_distances(train[columns], queries, categorical, numerical, chunk_rows=97)
    from fairsynth.evaluation._encoding import MixedEncoder

    encoder = MixedEncoder(categorical, numerical).fit(train[columns])
    search = NearestNeighbors(n_neighbors=1, algorithm="brute").fit(encoder.transform(train))
    expected = search.kneighbors(encoder.transform(queries))[0][:, 0]
    np.testing.assert_allclose(got[:200], expected[:200], rtol=1e-9, atol=1e-6)
    assert (got[200:] == 0).all()  # copies of training rows


def test_large_training_tables_cut_the_queries_not_the_training_rows() -> None:
    assert query_rows(30_162, 10_000) == 10_000  # Adult: as before
    assert query_rows(200_000, 10_000) == 2_000
    assert query_rows(10_000_000, 10_000) == 1_000
    assert query_rows(200_000, 500) == 500


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_lines_off_a_terminal_and_a_bar_on_one() -> None:
    lines = io.StringIO()
    progress = Progress(["fidelity", "privacy"], stream=lines)
    progress.begin("fidelity")
    progress.step("SDMetrics Quality vs real_train")
    progress.begin("privacy")
    progress.close()
    text = lines.getvalue().splitlines()
    assert len(text) == 4 and all(line.startswith("evaluate ") for line in text)
    assert text[1].endswith(" s  fidelity: SDMetrics Quality vs real_train")
    assert text[-1].endswith(" s  done")
    bar = _Terminal()
    progress = Progress(["fidelity"], stream=bar)
    progress.begin("fidelity")
    progress.step("detection by column: age")
    progress.close()
    assert "1/1" in bar.getvalue() and "\n" not in bar.getvalue().rstrip("\n")
    quiet = io.StringIO()
    progress = Progress(["fidelity"], enabled=False, stream=quiet)
    progress.begin("fidelity")
    progress.close()
    assert quiet.getvalue() == ""


def test_verbose_evaluate_reports_each_long_step(adult, capsys) -> None:
    train, test = adult
    evaluate(
        train, test, real_test=test, sections=["utility", "privacy"], models=["LogReg"],
        sensitive_feature="included", reference=False, verbose=True, **ARGS,
    )  # fmt: skip
    err = capsys.readouterr().err
    assert "downstream models: LogReg on synthetic rows, with S (800 rows)" in err
    assert "privacy: distance to closest record of 800 of 800 synthetic rows, 800 of" in err
    assert err.rstrip().endswith("done")
    evaluate(train, test, sections=["privacy"], **ARGS)
    assert capsys.readouterr().err == ""


def test_wide_table_builder_has_the_scale_issue_shape() -> None:
    from benchmarks.widetable import shuffled_copy, wide_table

    table = wide_table(3000, random_state=0)
    assert table.shape == (3000, 42)
    assert sum(not pd.api.types.is_numeric_dtype(table[c]) for c in table.columns) == 29
    assert table.equals(wide_table(3000, random_state=0))
    assert set(table["income"]) == {"<=50K", ">50K"}
    assert table["workclass_occupation"].nunique() > 40
    fake = shuffled_copy(table, keep=("income", "sex"), random_state=1)
    moved = [c for c in table.columns if not fake[c].equals(table[c])]
    assert "income" not in moved and "sex" not in moved and 10 <= len(moved) <= 16
    for column in moved:  # shuffled: same values, another order
        assert sorted(fake[column].astype(str)) == sorted(table[column].astype(str))
