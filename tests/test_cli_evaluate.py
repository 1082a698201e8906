"""The ``fairsynth evaluate`` command, through typer's CliRunner."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from fairsynth.cli import app
from fairsynth.datasets import load_dataset


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("evaluate")
    ds = load_dataset("german")
    paths = {
        "real": folder / "train.csv",
        "synthetic": folder / "synth.csv",
        "test": folder / "test.csv",
    }
    ds.train.to_csv(paths["real"], index=False)
    ds.train.sample(400, random_state=0).to_csv(paths["synthetic"], index=False)
    ds.test.to_csv(paths["test"], index=False)
    return {name: str(path) for name, path in paths.items()}


def _args(files: dict[str, str], *extra: str) -> list[str]:
    return [
        "evaluate",
        "--real",
        files["real"],
        "--synthetic",
        files["synthetic"],
        "--test",
        files["test"],
        "--target",
        "credit",
        *extra,
    ]


def test_writes_html_and_json_and_prints_summary(files: dict[str, str], tmp_path) -> None:
    html, report = tmp_path / "report.html", tmp_path / "report.json"
    result = CliRunner().invoke(
        app,
        _args(
            files,
            "-p",
            "good",
            "-s",
            "sex",
            "--section",
            "utility,privacy",
            "-o",
            str(html),
            "-o",
            str(report),
            "--seed",
            "3",
        ),
    )
    assert result.exit_code == 0, result.output
    assert "LogReg AUC (train synthetic, test real)" in result.stdout
    assert "higher is better" in result.stdout and "lower is better" in result.stdout
    assert f"Wrote {html}" in result.stdout
    assert html.read_text().startswith("<!DOCTYPE html>")
    payload = json.loads(report.read_text())
    assert payload["settings"]["sections"] == ["utility", "privacy"]
    assert payload["settings"]["random_state"] == 3
    summary = pd.DataFrame(payload["summary"]["data"], columns=payload["summary"]["columns"])
    assert set(summary["section"]) == {"utility", "privacy"}


def test_user_errors_are_one_line_and_exit_2(files: dict[str, str], tmp_path) -> None:
    cases = [
        (_args(files, "-s", "sex"), "positive_label is required"),
        (_args(files, "-p", "good", "-o", str(tmp_path / "r.pdf")), "must end in .html or .json"),
        (_args(files, "-p", "good", "-s", "gender"), "Column 'gender' not in real_train"),
        (_args(files, "-p", "good", "--section", "speed"), "Unknown sections 'speed'"),
    ]
    for args, message in cases:
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 2, (args, result.output)
        assert message in result.stderr
        assert "Traceback" not in result.output and len(result.stderr.strip().splitlines()) == 1
    missing = ["evaluate", "--real", str(tmp_path / "nope.csv"), "--synthetic", files["real"]]
    result = CliRunner().invoke(app, missing)
    assert result.exit_code == 2 and "does not exist" in result.stderr


def test_no_report_file_is_left_on_error(files: dict[str, str], tmp_path) -> None:
    out = tmp_path / "report.json"
    result = CliRunner().invoke(app, _args(files, "-p", "great", "-o", str(out)))
    assert result.exit_code == 2 and "does not occur" in result.stderr
    assert not out.exists()


def test_target_coded_differently_is_exit_2(files: dict[str, str], tmp_path) -> None:
    # issue 19, finding 4: this used to print "target is constant", label gap 0.000, exit 0
    recoded = tmp_path / "recoded.csv"
    synthetic = pd.read_csv(files["synthetic"])
    synthetic.assign(credit=(synthetic["credit"] == "good").astype(int)).to_csv(
        recoded, index=False
    )
    args = _args({**files, "synthetic": str(recoded)}, "-p", "good", "-s", "sex")
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "target column 'credit' in synthetic shares no value with real_train" in result.stderr
    assert "synthetic has '0', '1', real_train has 'bad', 'good'" in result.stderr


def test_max_rows_and_progress_on_stderr(files: dict[str, str], tmp_path) -> None:
    report = tmp_path / "report.json"
    args = _args(
        files, "-p", "good", "--section", "fidelity", "--max-rows", "300", "-o", str(report)
    )
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    settings = json.loads(report.read_text())["settings"]
    assert settings["quality_rows"] == settings["model_rows"] == 300
    assert "SDMetrics on rows drawn at random: real_train 300 of 700" in result.stdout
    progress = [line for line in result.stderr.splitlines() if line.startswith("evaluate ")]
    assert any(line.endswith("fidelity: detection by column: age") for line in progress)
    assert progress[-1].endswith(" s  done")
    quiet = CliRunner().invoke(app, [*args, "--quiet"])
    assert quiet.exit_code == 0 and quiet.stderr == ""
