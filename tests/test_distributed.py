"""Data-parallel training (fairsynth.models.distributed): two CPU processes with gloo.

The two-process fits run as real processes, one at a time (torchrun for the CLI's launch, or
two ``python`` processes given the launcher's environment by hand), on a 2,000-row slice of
Adult with one torch thread each.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from fairsynth import PTGANSynthesizer
from fairsynth.cli import app
from fairsynth.datasets import load_dataset
from fairsynth.exceptions import ParameterError
from fairsynth.io import read_table
from fairsynth.models.base import BaseSynthesizer
from fairsynth.models.distributed import DataParallel
from fairsynth.models.gantk import GANTKSynthesizer

# A fit of 4 steps an epoch (2,000 rows, the default batch of 500: 250 rows a process).
_FIT = ["--epochs", "3", "--seed", "0", "--threads", "1", "-q"]
_PARAMS = {"epochs": 3, "random_state": 0, "n_threads": 1, "verbose": False, "refine": 1}
# The two-process fit is the one-process fit up to the order of float sums. Measured after
# these 12 steps: weights and buffers at most 2.1e-5 from the one-process fit's, generated
# rows (transformed) 1.8e-5; with another seed 0.70 and 1.68. Over 30 steps the gap grows to
# 2.3e-4, as between two one-process fits with 1 and 2 threads (2.0e-4).
_TOLERANCE = 1e-3


@pytest.fixture(scope="module")
def table_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("distributed") / "adult.csv"
    load_dataset("adult").train.sample(2000, random_state=0).to_csv(path, index=False)
    return path


def _environment(**extra: str) -> dict[str, str]:
    """This process's environment without a launcher's variables, one thread, and ``extra``."""
    launcher = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "MASTER_ADDR")
    env = {k: v for k, v in os.environ.items() if k not in launcher and k != "MASTER_PORT"}
    env.update(OMP_NUM_THREADS="1", PYTHONWARNINGS="ignore", **extra)
    return env


def _largest_difference(first: BaseSynthesizer, second: BaseSynthesizer) -> float:
    worst = 0.0
    for name, network in first._networks().items():
        other = second._networks()[name].state_dict()
        for key, value in network.state_dict().items():
            worst = max(worst, (value.double() - other[key].double()).abs().max().item())
    return worst


# ---------------------------------------------------------------------------- bad input
def test_distributed_without_a_launcher_gives_the_torchrun_command(
    table_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("RANK", "WORLD_SIZE"):
        monkeypatch.delenv(name, raising=False)
    output = tmp_path / "m.fairsynth"
    result = CliRunner().invoke(app, ["fit", str(table_file), "-o", str(output), "--distributed"])
    assert result.exit_code == 2
    assert len(result.output.strip().splitlines()) == 1
    assert "torchrun --nproc-per-node N -m fairsynth fit" in result.output
    assert not output.exists()
    with pytest.raises(ParameterError, match="RANK and WORLD_SIZE not set"):
        PTGANSynthesizer(**_PARAMS, callbacks=[DataParallel()]).fit(read_table(table_file))


@pytest.mark.parametrize(
    ("model", "named"),
    [
        (PTGANSynthesizer(privacy=3.0), "privacy"),
        (PTGANSynthesizer(batch_size=501), "batch_size"),
        (PTGANSynthesizer(batch_size=500, pac=4), "batch_size"),
        (GANTKSynthesizer(), "GANTKSynthesizer"),
    ],
)
def test_combinations_that_cannot_work_name_the_parameter(
    model: BaseSynthesizer, named: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("WORLD_SIZE", "2")  # refused before joining: no process group needed
    table = load_dataset("adult").train.head(600)
    model.set_params(verbose=False, callbacks=[DataParallel()])
    with pytest.raises(ParameterError, match=named):
        model.fit(table)


def test_checkpoints_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("WORLD_SIZE", "2")
    model = PTGANSynthesizer(verbose=False, checkpoint_dir=tmp_path, callbacks=[DataParallel()])
    with pytest.raises(ParameterError, match="checkpoint_dir"):
        model.fit(load_dataset("adult").train.head(600))


# ------------------------------------------------------------------------ two processes
def test_two_processes_fit_the_one_process_model(table_file: Path, tmp_path: Path) -> None:
    output = tmp_path / "two.fairsynth"
    launch = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    command = [*launch, "--nproc-per-node", "2", "-m", "fairsynth", "fit", str(table_file)]
    done = subprocess.run(
        [*command, "-o", str(output), "--distributed", *_FIT],
        env=_environment(), capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.count("Fitted PTGANSynthesizer") == 1  # process 0 alone reports
    two = BaseSynthesizer.load(output)
    table = read_table(table_file)
    one = PTGANSynthesizer(**_PARAMS).fit(table)  # type: ignore[arg-type]
    other_seed = PTGANSynthesizer(**{**_PARAMS, "random_state": 1}).fit(table)  # type: ignore[arg-type]
    assert [r["steps"] for r in two.history_] == [4, 4, 4]
    assert _largest_difference(one, two) < _TOLERANCE
    assert _largest_difference(one, other_seed) > 100 * _TOLERANCE  # the tolerance means something
    for mine, theirs in zip(one.history_, two.history_, strict=True):  # the whole batch's losses
        assert mine["critic_loss"] == pytest.approx(theirs["critic_loss"], abs=1e-4)
        assert mine["generator_loss"] == pytest.approx(theirs["generator_loss"], abs=1e-4)
    plan = one._plan_sample(1000, 0)[0]  # training-by-sampling's conditions, drawn alike
    rows_one = one._generate(1000, torch.Generator().manual_seed(0), plan).detach()
    plan = two._plan_sample(1000, 0)[0]
    rows_two = two._generate(1000, torch.Generator().manual_seed(0), plan).detach()
    assert (rows_one - rows_two).abs().max().item() < _TOLERANCE


# Process 1 of a pair whose process 0 is the CLI: the same fit, ending as argv[2] says at the end
# of its second epoch: "die" as a killed or crashed process does (no goodbye to the others), or
# "stop" as a SIGTERM to it alone would (request_stop is what the CLI's handler calls).
_PROCESS_1 = """
import os, signal, sys
from fairsynth import PTGANSynthesizer
from fairsynth.io import read_table
from fairsynth.models.callbacks import Callback
from fairsynth.models.checkpoint import request_stop
from fairsynth.models.distributed import DataParallel

class End(Callback):
    def on_epoch_end(self, model, record):
        if record["epoch"] == 1:
            os._exit(3) if sys.argv[2] == "die" else request_stop(signal.SIGTERM)
        return False

PTGANSynthesizer(epochs=50, random_state=0, n_threads=1, verbose=False,
                 callbacks=[DataParallel(), End()]).fit(read_table(sys.argv[1]))
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _pair(table: Path, output: Path, ending: str) -> tuple[subprocess.Popen[str], str, str, int]:
    """Run the CLI as process 0 beside ``_PROCESS_1``, launched by hand as srun would.

    Returns process 0, its stdout and stderr, and process 1's exit code.
    """
    common = {"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(_free_port()), "WORLD_SIZE": "2"}
    fit = ["-m", "fairsynth", "fit", str(table), "-o", str(output), "--distributed"]
    first = subprocess.Popen(
        [sys.executable, *fit, "--epochs", "50", "--seed", "0", "--threads", "1", "-q"],
        env=_environment(RANK="0", LOCAL_RANK="0", **common),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    second = subprocess.run(
        [sys.executable, "-c", _PROCESS_1, str(table), ending],
        env=_environment(RANK="1", LOCAL_RANK="1", **common),
        capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    out, errors = first.communicate(timeout=120)
    return first, out, errors, second.returncode


def test_a_process_that_dies_stops_the_others_and_nothing_is_saved(
    table_file: Path, tmp_path: Path
) -> None:
    output = tmp_path / "never.fairsynth"
    started = time.monotonic()
    first, _, errors, second = _pair(table_file, output, "die")
    assert second == 3
    assert first.returncode == 2, errors[-2000:]
    assert errors.startswith("Error: Process 0 of 2 stopped: another process"), errors[-2000:]
    assert len(errors.strip().splitlines()) == 1
    assert not output.exists()
    assert not list(tmp_path.iterdir())  # no temporary file left either
    assert time.monotonic() - started < 120  # at once, not after the 300 s timeout


def test_a_stop_asked_in_one_process_stops_all_at_the_same_step(
    table_file: Path, tmp_path: Path
) -> None:
    output = tmp_path / "stopped.fairsynth"
    first, out, errors, second = _pair(table_file, output, "stop")
    assert second == 0
    assert first.returncode == 130, errors[-2000:]  # process 0 stopped, saved, said so
    assert "Fitted PTGANSynthesizer" in out
    assert "Stopped after 2 epoch(s); the model so far is saved" in errors
    model = BaseSynthesizer.load(output)
    assert model.stopped_reason_ == "interrupted"
    assert [r["steps"] for r in model.history_] == [4, 4]
