"""Stopping the console process (issue 19): SIGTERM like Ctrl-C, SIGKILL's leftovers, exit codes.

Each test runs ``python -m fairsynth`` in a real process and signals it, as a user, a batch
system (SIGTERM) or the kernel's OOM killer (SIGKILL) would.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from fairsynth.io.output import temporary_path
from fairsynth.models.base import BaseSynthesizer

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


def start(*args: str) -> subprocess.Popen[str]:
    """``python -m fairsynth ...`` with Python's own Ctrl-C handler (even if ours ignores it)."""

    def default_sigint() -> None:
        signal.signal(signal.SIGINT, signal.SIG_DFL)

    command = [sys.executable, "-m", "fairsynth", *args]
    return subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=default_sigint,
    )  # fmt: skip


def wait_for(condition: Callable[[], bool], process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 240
    while not condition():
        if process.poll() is not None or time.monotonic() > deadline:
            out, err = process.communicate()
            raise AssertionError(f"never happened; exit {process.returncode}: {out} {err}")
        time.sleep(0.05)


def test_sigterm_while_sampling_cleans_up_and_exits_143(tmp_path: Path, model_file: Path) -> None:
    out = tmp_path / "rows.csv"
    child = start("sample", str(model_file), "-n", "100000000", "-o", str(out), "-q",
                  "--chunk-size", "1000", "--max-bytes", "none")  # fmt: skip
    wait_for(lambda: temporary_path(out).exists() and temporary_path(out).stat().st_size > 0, child)
    child.send_signal(signal.SIGTERM)
    _, err = child.communicate(timeout=120)
    assert child.returncode == 143, err
    assert err.strip() == "Interrupted."
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_sigkill_leftover_is_removed_by_the_next_run(tmp_path: Path, model_file: Path) -> None:
    out = tmp_path / "rows.csv"
    child = start("sample", str(model_file), "-n", "100000000", "-o", str(out), "-q",
                  "--chunk-size", "1000", "--max-bytes", "none")  # fmt: skip
    wait_for(lambda: temporary_path(out).exists() and temporary_path(out).stat().st_size > 0, child)
    child.kill()
    child.communicate(timeout=120)
    assert [p.name for p in tmp_path.iterdir()] == [temporary_path(out).name]
    again = start("sample", str(model_file), "-n", "10", "-o", str(out))
    _, err = again.communicate(timeout=240)
    assert again.returncode == 0, err
    assert "Warning: Removed" in err and "killed while writing" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rows.csv"]
    assert len(pd.read_csv(out)) == 10


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_stopped_fit_saves_then_exits_non_zero_and_says_how_to_resume(
    tmp_path: Path, adult_small: pd.DataFrame, signum: int, code: int
) -> None:
    csv, model, folder = tmp_path / "t.csv", tmp_path / "m.fairsynth", tmp_path / "ckpt"
    adult_small.head(200).to_csv(csv, index=False)
    child = start("fit", str(csv), "-o", str(model), "--epochs", "100000", "--seed", "0", "-q",
                  "--checkpoint-dir", str(folder), "--checkpoint-every", "1")  # fmt: skip
    wait_for(lambda: any(folder.glob("checkpoint-*.fairsynth")), child)
    child.send_signal(signum)
    _, err = child.communicate(timeout=240)
    assert child.returncode == code, err
    assert "Traceback" not in err
    assert "the model so far is saved to" in err and "rerun the same command to resume" in err
    saved = BaseSynthesizer.load(model)
    assert saved.stopped_reason_ == "interrupted" and len(saved.history_) >= 1
