"""The command line, through typer's CliRunner and once as a real console process."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from fairsynth.cli import app

runner = CliRunner()

FAST = ["--epochs", "1", "--seed", "0", "--quiet"]


@pytest.fixture
def small_csv(tmp_path: Path, adult_small: pd.DataFrame) -> Path:
    path = tmp_path / "train.csv"
    adult_small.head(200).to_csv(path, index=False)
    return path


def test_help_lists_commands() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("fit", "sample", "demo"):
        assert command in result.output


def test_fit_then_sample_csv_and_parquet(tmp_path: Path, small_csv: Path) -> None:
    model = tmp_path / "m.fairsynth"
    result = runner.invoke(app, ["fit", str(small_csv), "-o", str(model), *FAST])
    assert result.exit_code == 0, result.output
    assert model.exists()
    out = tmp_path / "out.csv"
    result = runner.invoke(
        app,
        ["sample", str(model), "-n", "250", "-o", str(out), "--seed", "1", "--chunk-size", "100"],
    )
    assert result.exit_code == 0, result.output
    synth = pd.read_csv(out)
    assert len(synth) == 250
    assert list(synth.columns) == list(pd.read_csv(small_csv).columns)
    parquet = tmp_path / "out.parquet"
    result = runner.invoke(app, ["sample", str(model), "-n", "120", "-o", str(parquet)])
    assert result.exit_code == 0, result.output
    assert len(pd.read_parquet(parquet)) == 120


def test_fit_with_discrete_option_and_semicolon_csv(tmp_path: Path) -> None:
    data = pd.DataFrame({"grade": [1, 2, 3] * 40, "score": np.linspace(0, 9, 120)})
    path = tmp_path / "semi.csv"
    data.to_csv(path, index=False, sep=";")
    model = tmp_path / "m.fairsynth"
    result = runner.invoke(app, ["fit", str(path), "-o", str(model), "-d", "grade", *FAST])
    assert result.exit_code == 0, result.output
    out = tmp_path / "s.csv"
    assert runner.invoke(app, ["sample", str(model), "-n", "30", "-o", str(out)]).exit_code == 0
    assert set(pd.read_csv(out)["grade"]) <= {1, 2, 3}


@pytest.mark.parametrize(
    ("make_args", "message"),
    [
        (lambda d: ["fit", str(d / "missing.csv"), "-o", str(d / "m.fairsynth")], "does not exist"),
        (lambda d: ["fit", str(d), "-o", str(d / "m.fairsynth")], "directory"),
        (lambda d: ["fit", str(d / "train.csv"), "-o", str(d / "train.csv")], "also an input"),
        (
            lambda d: ["fit", str(d / "train.csv"), "-o", str(d / "no/m.fairsynth")],
            "does not exist",
        ),
        (lambda d: ["fit", str(d / "train.csv"), "-o", str(d / "m"), "-d", "incme"], "incme"),
        (lambda d: ["fit", str(d / "train.csv"), "-o", str(d / "m"), "-m", "vae"], "ptgan"),
        (lambda d: ["sample", str(d / "train.csv"), "-n", "5", "-o", str(d / "o.csv")], "model"),
    ],
)
def test_bad_input_gives_one_line_and_exit_2(tmp_path: Path, small_csv: Path, make_args, message):
    before = small_csv.read_bytes()
    result = runner.invoke(app, make_args(tmp_path))
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert small_csv.read_bytes() == before  # the input is never touched


def test_not_a_csv_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "picture.csv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00binary")
    result = runner.invoke(app, ["fit", str(path), "-o", str(tmp_path / "m.fairsynth")])
    assert result.exit_code == 2
    assert "not" in result.output and "CSV" in result.output


def test_sample_zero_rows_is_refused_and_leaves_no_file(tmp_path: Path, small_csv: Path) -> None:
    model = tmp_path / "m.fairsynth"
    assert runner.invoke(app, ["fit", str(small_csv), "-o", str(model), *FAST]).exit_code == 0
    out = tmp_path / "out.csv"
    result = runner.invoke(app, ["sample", str(model), "-n", "0", "-o", str(out)])
    assert result.exit_code == 2 and "n_samples" in result.output
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_console_entry_point_prints_one_line_no_traceback(tmp_path: Path) -> None:
    """The installed `python -m fairsynth` process, as a user's shell runs it."""
    missing = tmp_path / "nope.fairsynth"
    proc = subprocess.run(
        [sys.executable, "-m", "fairsynth", "sample", str(missing), "-n", "5", "-o",
         str(tmp_path / "o.csv")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0, proc.stderr
    assert "does not exist" in proc.stderr and "Traceback" not in proc.stderr
    usage = subprocess.run(
        [sys.executable, "-m", "fairsynth", "fit"], capture_output=True, text=True, timeout=120
    )
    assert usage.returncode == 2 and "Traceback" not in usage.stderr


def test_demo_runs_end_to_end_with_one_epoch(tmp_path: Path) -> None:
    out = tmp_path / "adult_synthetic.csv"
    result = runner.invoke(app, ["demo", "-o", str(out), "--epochs", "1", "--quiet"])
    assert result.exit_code == 0, result.output
    synth = pd.read_csv(out)
    assert len(synth) == 30_162
    assert "income rate '>50K' | sex=Female" in result.output
    assert "rows/s, each picked among 8 candidates." in result.output


def test_fair_model_fit_and_sample_with_the_knob(tmp_path: Path, adult_small: pd.DataFrame) -> None:
    small_csv = tmp_path / "train.csv"  # 600 rows: every (sex, income) cell has 10 or more
    adult_small.to_csv(small_csv, index=False)
    model = tmp_path / "fair.fairsynth"
    fair = ["-m", "fair-ptgan", "-s", "sex", "-t", "income", "-p", ">50K"]
    result = runner.invoke(app, ["fit", str(small_csv), "-o", str(model), *fair, *FAST])
    assert result.exit_code == 0, result.output
    assert "FairPTGANSynthesizer" in result.output
    out = tmp_path / "fair.csv"
    args = ["sample", str(model), "-n", "400", "-o", str(out), "--seed", "0", "--fairness", "1"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    rates = (pd.read_csv(out)["income"] == ">50K").groupby(pd.read_csv(out)["sex"]).mean()
    assert rates.max() - rates.min() < 0.02  # λ = 1 equalises the rates (up to rounding)
    plain = tmp_path / "plain.csv"
    result = runner.invoke(app, [*args[:5], str(plain), "--seed", "0", "--fairness", "0"])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(small_csv)
    real = (table["income"] == ">50K").groupby(table["sex"]).mean()
    kept = (pd.read_csv(plain)["income"] == ">50K").groupby(pd.read_csv(plain)["sex"]).mean()
    assert np.allclose(kept.sort_index(), real.sort_index(), atol=0.02)  # λ = 0 keeps them


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["-m", "fair-ptgan", "-s", "sex"], "needs --sensitive, --target, --positive-label"),
        (["-s", "sex"], "options of --model fair-ptgan"),
        (["-m", "fair-ptgan", "-s", "sexx", "-t", "income", "-p", ">50K"], "sexx"),
    ],
)
def test_fair_options_are_checked(tmp_path: Path, small_csv: Path, extra, message) -> None:
    model = tmp_path / "m.fairsynth"
    result = runner.invoke(app, ["fit", str(small_csv), "-o", str(model), *extra, *FAST])
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
    assert not model.exists()


def test_fairness_knob_on_a_plain_model_is_refused(tmp_path: Path, small_csv: Path) -> None:
    model = tmp_path / "m.fairsynth"
    assert runner.invoke(app, ["fit", str(small_csv), "-o", str(model), *FAST]).exit_code == 0
    out = tmp_path / "o.csv"
    result = runner.invoke(app, ["sample", str(model), "-n", "5", "-o", str(out), "-f", "1"])
    assert result.exit_code == 2 and "fair-ptgan model" in result.output
    assert not out.exists()


def test_warnings_are_one_line(tmp_path: Path, small_csv: Path) -> None:
    """The console process prints a warning as one line (no source line, no traceback)."""
    model = tmp_path / "m.fairsynth"
    fair = ["-m", "fair-ptgan", "-s", "sex", "-t", "income", "-p", ">50K"]
    proc = subprocess.run(
        [sys.executable, "-m", "fairsynth", "fit", str(small_csv), "-o", str(model), *fair,
         *FAST],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.strip().splitlines()  # 200 rows: a (sex, income) cell under 10 rows
    assert len(lines) == 1 and lines[0].startswith("Warning: ") and "min_cell_size" in lines[0]


@pytest.mark.parametrize("command", ["fit", "sample", "demo", "evaluate", "frontier"])
def test_help_shows_bracketed_defaults(command: str) -> None:
    # rich markup once took "[model default]" for a style tag and printed "the data ."
    text = runner.invoke(app, [command, "--help"]).output
    assert not re.search(r" \.(\s|$)", text), text
    if command in ("fit", "demo"):
        assert "Passes over the data [model default]." in " ".join(text.split())


def test_fit_says_what_epochs_auto_chose(tmp_path: Path, small_csv: Path) -> None:
    model = tmp_path / "m.fairsynth"
    args = ["fit", str(small_csv), "-o", str(model), "--time-budget", "1", "-q", "--seed", "0"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    # 200 rows at batch 500: one step an epoch, so 'auto' plans at most 6,000 epochs; the budget
    # cuts it before the first convergence check
    assert re.search(r"epochs='auto': 6,000 epochs planned, [\d,]+ steps run", result.output)
