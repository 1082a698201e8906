"""The README's Python and CLI quick starts are run here, so they cannot rot.

Only the sizes are shrunk (fewer epochs, fewer rows); every call is the README's own.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from fairsynth.cli import app

README = Path(__file__).resolve().parents[1] / "README.md"
SHRINK = [
    ("epochs=300", "epochs=1, batch_size=100, verbose=False"),
    (".fit(ds.train)", ".fit(ds.train.head(400))"),
    ("sample(10_000)", "sample(300)"),
    ('positive_label=">50K",\n', 'positive_label=">50K", epochs=1, batch_size=100, verbose=False,'),
    ("evaluate(ds.train,", "evaluate(ds.train.head(400),"),
    ("real_test=ds.test,", "real_test=ds.test.head(400),"),
]


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README.read_text(), flags=re.S)


def test_python_quick_start_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code = "\n".join(_blocks("python"))
    for old, new in SHRINK:
        assert old in code, f"README no longer contains {old!r}; update this test"
        code = code.replace(old, new)
    namespace: dict[str, object] = {}
    exec(compile(code, str(README), "exec"), namespace)
    assert (tmp_path / "adult.fairsynth").exists()
    assert (tmp_path / "report.html").stat().st_size > 10_000
    synth = namespace["synth"]
    assert len(synth) == 300  # type: ignore[arg-type]


def test_cli_quick_start_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from fairsynth import load_dataset

    monkeypatch.chdir(tmp_path)
    ds = load_dataset("adult")
    ds.train.head(400).to_csv("data.csv", index=False)
    ds.train.head(400).to_csv("train.csv", index=False)
    ds.test.head(300).to_csv("test.csv", index=False)
    text = next(block for block in _blocks("bash") if "fairsynth fit" in block)
    commands = [
        shlex.split(line.split("#")[0].replace("\\\n", " "))
        for line in text.replace("\\\n", " ").splitlines()
        if line.strip().startswith("fairsynth") and "--help" not in line
    ]
    runner = CliRunner()
    names = [c[1] for c in commands]
    assert names == ["fit", "sample", "evaluate", "demo"]
    for command in commands[:3]:
        args = command[1:]
        if args[0] == "fit":
            args += ["--epochs", "1", "--quiet"]
        result = runner.invoke(app, args)
        assert result.exit_code == 0, (command, result.output)
    assert Path("out.csv").exists() and Path("report.html").exists()


def test_cli_fairness_commands_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from fairsynth import load_dataset

    monkeypatch.chdir(tmp_path)
    ds = load_dataset("adult")
    ds.train.head(600).to_csv("train.csv", index=False)  # every (sex, income) cell ≥ 10 rows
    ds.test.head(300).to_csv("test.csv", index=False)
    text = next(block for block in _blocks("bash") if "fair-ptgan" in block)
    commands = [
        shlex.split(line.split("#")[0])
        for line in text.replace("\\\n", " ").splitlines()
        if line.strip().startswith("fairsynth")
    ]
    assert [c[1] for c in commands] == ["fit", "sample", "frontier"]
    runner = CliRunner()
    for command in commands:
        args = command[1:]
        if args[0] == "fit":
            args += ["--epochs", "1", "--quiet", "--seed", "0"]
        if args[0] == "frontier":
            args += ["--fairness", "0,2"]
        result = runner.invoke(app, args)
        assert result.exit_code == 0, (command, result.output)
    assert len(pd.read_csv("fair.csv")) == 1000 and Path("frontier.png").stat().st_size > 10_000
