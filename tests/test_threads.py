"""The thread policy: threads sized to the work, set only inside fit and sample."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest
import torch
from typer.testing import CliRunner

from fairsynth import ParameterError, PTGANSynthesizer
from fairsynth.cli import app
from fairsynth.models.threads import (
    WORK_PER_THREAD,
    available_cores,
    resolve_threads,
    torch_threads,
)

runner = CliRunner()


def test_auto_gives_one_thread_to_small_work_and_more_to_large() -> None:
    assert resolve_threads("auto", 5e5) == 1  # the test suite's tiny networks
    assert resolve_threads("auto", 2 * WORK_PER_THREAD) == min(2, available_cores())
    assert resolve_threads("auto", 1e15) == available_cores()
    assert resolve_threads(1, 1e15) == 1


def _busy_cores_now() -> float | None:
    from fairsynth.models.threads import _busy_cores

    return _busy_cores(0.05)


def test_a_fit_takes_only_the_idle_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    cores = available_cores()
    monkeypatch.setattr("fairsynth.models.threads._busy_cores", lambda: 0.2)
    assert resolve_threads("auto", 1e15, idle_only=True) == cores
    monkeypatch.setattr("fairsynth.models.threads._busy_cores", lambda: cores - 0.8)  # others busy
    assert resolve_threads("auto", 1e15, idle_only=True) == 1
    monkeypatch.setattr("fairsynth.models.threads._busy_cores", lambda: None)  # no /proc/stat
    monkeypatch.setattr("os.getloadavg", lambda: (0.2, 0.0, 0.0))
    assert resolve_threads("auto", 1e15, idle_only=True) == cores
    assert resolve_threads(2 if cores > 1 else 1, 1e15, idle_only=True) == min(2, cores)


def test_busy_cores_are_read_from_the_machine() -> None:
    busy = _busy_cores_now()
    assert busy is None or 0.0 <= busy <= (os.cpu_count() or 1)


@pytest.mark.parametrize("bad", [0, -1, 1.5, "two", True, available_cores() + 1])
def test_bad_thread_counts_name_the_valid_range(bad: object) -> None:
    with pytest.raises(ParameterError, match=f"from 1 to {available_cores()}"):
        resolve_threads(bad, 1.0)  # type: ignore[arg-type]


def test_fit_and_sample_restore_the_callers_threads(
    adult_small: pd.DataFrame, tiny_params: dict[str, object]
) -> None:
    seen: list[int] = []

    class Spy(PTGANSynthesizer):
        def _train_step(self, data: torch.Tensor) -> dict[str, torch.Tensor]:
            seen.append(torch.get_num_threads())
            return super()._train_step(data)

    before = torch.get_num_threads()
    with torch_threads(2 if available_cores() >= 2 else 1):
        caller = torch.get_num_threads()
        model = Spy(**tiny_params, n_threads=1).fit(adult_small)  # type: ignore[arg-type]
        assert torch.get_num_threads() == caller
        model.sample(50, random_state=0)
        assert torch.get_num_threads() == caller
    assert torch.get_num_threads() == before
    assert set(seen) == {1} and model.n_threads_ == 1


def test_fit_refuses_bad_n_threads_before_any_work(adult_small: pd.DataFrame) -> None:
    with pytest.raises(ParameterError, match="n_threads"):
        PTGANSynthesizer(n_threads=0).fit(adult_small)


def test_cli_threads_option(tmp_path: Path, adult_small: pd.DataFrame) -> None:
    data, model, out = tmp_path / "t.csv", tmp_path / "m.fairsynth", tmp_path / "o.csv"
    adult_small.head(200).to_csv(data, index=False)
    bad = runner.invoke(app, ["fit", str(data), "-o", str(model), "--threads", "0", "-q"])
    assert bad.exit_code == 2 and "n_threads must be 'auto' or an integer" in bad.output
    assert not model.exists()
    fit = ["fit", str(data), "-o", str(model), "--epochs", "1", "--threads", "1", "-q"]
    assert runner.invoke(app, fit).exit_code == 0
    done = runner.invoke(app, ["sample", str(model), "-n", "20", "-o", str(out), "--threads", "1"])
    assert done.exit_code == 0, done.output
    assert len(pd.read_csv(out)) == 20
