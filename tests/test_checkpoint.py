"""Checkpoints: resume after a stop or a SIGKILL, Ctrl-C, identity of a fit, damaged files."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import SMALL_NETS, StopAfter, global_rngs_untouched
from typer.testing import CliRunner

from fairsynth import DataError, ModelFileError, NotFittedError, ParameterError, PTGANSynthesizer
from fairsynth.cli import app
from fairsynth.io.modelfile import read_model_file
from fairsynth.models.base import BaseSynthesizer
from fairsynth.models.checkpoint import Checkpoint, fit_fingerprint
from fairsynth.models.gantk import GANTKSynthesizer

# One step per epoch (100 rows, batch 100), so epochs count steps.
TINY: dict[str, Any] = dict(SMALL_NETS)


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {"x": rng.normal(size=100), "c": rng.choice(["a", "b", "c"], size=100), "k": [1, 2] * 50}
    )


@pytest.fixture(scope="module")
def reference(table: pd.DataFrame) -> PTGANSynthesizer:
    """An uninterrupted fit of 6 epochs, without checkpoints."""
    return PTGANSynthesizer(epochs=6, **TINY).fit(table)


class Interrupted(PTGANSynthesizer):
    """PTGAN that sends itself SIGINTs in the middle of chosen steps (Ctrl-C, as a user would)."""

    sigints: dict[int, int] = {}  # noqa: RUF012 (set per instance in the tests)

    def _train_step(self, data: torch.Tensor) -> dict[str, torch.Tensor]:
        self._steps = getattr(self, "_steps", 0) + 1
        for _ in range(self.sigints.get(self._steps, 0)):
            signal.raise_signal(signal.SIGINT)
        return super()._train_step(data)


def assert_same_networks(first: BaseSynthesizer, second: BaseSynthesizer) -> None:
    assert first._networks().keys() == second._networks().keys()
    for name, network in first._networks().items():
        a, b = network.state_dict(), second._networks()[name].state_dict()
        assert a.keys() == b.keys()
        for key in a:
            assert torch.equal(a[key], b[key]), (name, key)


def losses(model: BaseSynthesizer) -> list[dict[str, float]]:
    return [{k: v for k, v in r.items() if k != "time"} for r in model.history_]


# --------------------------------------------------------------------------- resume


def test_resume_after_a_stop_is_bit_identical_to_an_uninterrupted_fit(
    tmp_path: Path, table: pd.DataFrame, reference: PTGANSynthesizer
) -> None:
    with global_rngs_untouched():
        first = PTGANSynthesizer(
            epochs=6, callbacks=[Checkpoint(tmp_path, every_epochs=1), StopAfter(3)], **TINY
        ).fit(table)
        assert first.stopped_reason_ == "callback" and first.resumed_epochs_ == 0
        saved = read_model_file(first.checkpoint_path_)
        assert saved.training is not None and saved.training["epoch"] == 3
        second = PTGANSynthesizer(epochs=6, checkpoint_dir=tmp_path, **TINY).fit(table)
        assert second.resumed_epochs_ == 3 and second.stopped_reason_ == "epochs"
        assert second.checkpoint_path_ == first.checkpoint_path_
        # the first epochs' records come from the file (their timings too), the rest are new
        assert second.history_[:3] == saved.fitted["history_"]
        assert losses(second) == losses(reference)
        assert_same_networks(second, reference)
        pd.testing.assert_frame_equal(
            second.sample(40, random_state=1), reference.sample(40, random_state=1)
        )


def test_a_finished_checkpoint_returns_the_model_at_once(
    tmp_path: Path, table: pd.DataFrame
) -> None:
    first = PTGANSynthesizer(epochs=3, checkpoint_dir=tmp_path, **TINY).fit(table)
    written = first.checkpoint_path_.stat().st_mtime_ns
    again = PTGANSynthesizer(epochs=3, checkpoint_dir=tmp_path, **TINY).fit(table)
    assert again.resumed_epochs_ == 3 and len(again.history_) == 3
    assert again.history_ == first.history_
    assert_same_networks(first, again)
    assert first.checkpoint_path_.stat().st_mtime_ns == written  # nothing new to write


def test_sigkill_in_the_middle_then_resume_finishes_identically(
    tmp_path: Path, table: pd.DataFrame, reference: PTGANSynthesizer
) -> None:
    """A real process killed with SIGKILL mid-fit; a new fit resumes from its last checkpoint."""
    csv = tmp_path / "train.csv"
    table.to_csv(csv, index=False)
    folder = tmp_path / "checkpoints"
    params = {**TINY, "epochs": 6}
    script = textwrap.dedent(
        f"""
        import time
        import torch
        from fairsynth import PTGANSynthesizer
        from fairsynth.models.callbacks import Callback
        from fairsynth.models.checkpoint import Checkpoint
        from fairsynth.io import read_table

        class Slow(Callback):  # keeps the fit running long enough to be killed mid-way
            def on_epoch_end(self, model, record):
                time.sleep(0.4)
                return False

        torch.set_num_threads(1)
        callbacks = [Checkpoint({str(folder)!r}, every_epochs=1), Slow()]
        PTGANSynthesizer(callbacks=callbacks, **{params!r}).fit(read_table({str(csv)!r}))
        """
    )
    child = subprocess.Popen([sys.executable, "-c", script], stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not list(folder.glob("checkpoint-*.fairsynth")) and child.poll() is None:
        assert time.monotonic() < deadline, "no checkpoint appeared"
        time.sleep(0.01)
    child.kill()  # SIGKILL: no clean-up runs in the child
    _, err = child.communicate(timeout=60)
    assert child.returncode == -signal.SIGKILL, err.decode()
    [path] = folder.glob("checkpoint-*.fairsynth")
    saved = read_model_file(path)  # intact: written atomically
    assert saved.training is not None and 1 <= saved.training["epoch"] < 6

    from fairsynth.io import read_table

    data = read_table(csv)
    pd.testing.assert_frame_equal(data, table)  # so the reference fit applies
    resumed = PTGANSynthesizer(checkpoint_dir=folder, **params).fit(data)
    assert resumed.resumed_epochs_ == saved.training["epoch"]
    assert len(resumed.history_) == 6 and resumed.stopped_reason_ == "epochs"
    assert_same_networks(resumed, reference)
    assert not list(folder.glob(".*.tmp"))


def test_stale_temporary_file_from_a_kill_while_writing_is_removed(
    tmp_path: Path, table: pd.DataFrame
) -> None:
    first = PTGANSynthesizer(epochs=2, checkpoint_dir=tmp_path, **TINY).fit(table)
    stale = tmp_path / f".{first.checkpoint_path_.name}.k1ll3d.tmp"
    stale.write_bytes(b"PK\x03\x04 half a zip")
    PTGANSynthesizer(epochs=2, checkpoint_dir=tmp_path, **TINY).fit(table)
    assert not stale.exists()


# --------------------------------------------------------------------------- Ctrl-C


@pytest.fixture
def python_handles_sigint() -> Iterator[None]:
    """Ctrl-C as in a terminal: Python's own handler. A process started in the background by a
    non-interactive shell (as CI may start the tests) inherits SIGINT ignored, and fairsynth then
    rightly leaves it ignored."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


@pytest.mark.usefixtures("python_handles_sigint")
def test_ctrl_c_stops_after_the_step_and_keeps_that_model(
    tmp_path: Path, table: pd.DataFrame
) -> None:
    model = Interrupted(epochs=10, callbacks=[Checkpoint(tmp_path, every_epochs=5)], **TINY)
    model.sigints = {3: 1}  # Ctrl-C during the third step
    with pytest.warns(UserWarning, match=r"interrupted after 3 epoch\(s\)"):
        model.fit(table)
    assert model.stopped_reason_ == "interrupted" and len(model.history_) == 3
    # the third step ran to its end: the model equals a fit of exactly three steps
    assert_same_networks(model, PTGANSynthesizer(epochs=3, **TINY).fit(table))
    assert len(model.sample(20, random_state=0)) == 20
    # the checkpoint holds that model, written when training stopped
    saved = BaseSynthesizer.load(model.checkpoint_path_)
    assert saved.stopped_reason_ == "interrupted" and len(saved.history_) == 3
    assert_same_networks(model, saved)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


class CtrlCWhileWriting(Checkpoint):
    """A checkpoint during whose second write the user presses Ctrl-C."""

    def on_epoch_end(self, model: Any, record: dict[str, float]) -> bool:
        stop = super().on_epoch_end(model, record)
        if record["epoch"] == 1:
            signal.raise_signal(signal.SIGINT)
        return stop


@pytest.mark.usefixtures("python_handles_sigint")
def test_ctrl_c_while_a_checkpoint_is_written_still_stops_as_interrupted(
    tmp_path: Path, table: pd.DataFrame
) -> None:
    # The CLI's exit code (130/143) reads stopped_reason_; a Ctrl-C landing in a callback once
    # left it at "running" and the fit exited 0 (a CI run caught it in test_signals).
    model = PTGANSynthesizer(epochs=10, callbacks=[CtrlCWhileWriting(tmp_path, every_epochs=1)],
                             **TINY)  # fmt: skip
    with pytest.warns(UserWarning, match=r"interrupted after 2 epoch\(s\)"):
        model.fit(table)
    assert model.stopped_reason_ == "interrupted" and len(model.history_) == 2
    assert BaseSynthesizer.load(model.checkpoint_path_).stopped_reason_ == "interrupted"


@pytest.mark.usefixtures("python_handles_sigint")
def test_second_ctrl_c_aborts_and_the_last_checkpoint_survives(
    tmp_path: Path, table: pd.DataFrame, reference: PTGANSynthesizer
) -> None:
    model = Interrupted(epochs=6, callbacks=[Checkpoint(tmp_path, every_epochs=1)], **TINY)
    model.sigints = {4: 2}  # Ctrl-C twice during the fourth step
    with pytest.raises(KeyboardInterrupt):
        model.fit(table)
    assert model.stopped_reason_ == "aborted"
    with pytest.raises(NotFittedError):
        model.sample(5)
    assert read_model_file(model.checkpoint_path_).training["epoch"] == 3  # type: ignore[index]
    resumed = Interrupted(epochs=6, callbacks=[Checkpoint(tmp_path, every_epochs=1)], **TINY)
    resumed.fit(table)
    assert resumed.resumed_epochs_ == 3
    assert_same_networks(resumed, reference)


# --------------------------------------------------------------------------- identity


def test_fingerprint_follows_data_and_result_changing_parameters(table: pd.DataFrame) -> None:
    def fingerprint(data: pd.DataFrame, **params: Any) -> str:
        model = PTGANSynthesizer(**{**TINY, **params})
        model.device_ = torch.device("cpu")
        return fit_fingerprint(model, data)

    base = fingerprint(table)
    assert fingerprint(table.copy()) == base
    for harmless in ({"verbose": True}, {"sample_batch_size": 7}, {"device": "cpu"}):
        assert fingerprint(table, **harmless) == base, harmless
    changed = table.copy()
    changed.loc[57, "x"] += 1e-9
    assert fingerprint(changed) != base
    assert fingerprint(table.rename(columns={"k": "K"})) != base
    assert fingerprint(table.astype({"k": "int32"})) != base
    for result_changing in ({"epochs": 7}, {"random_state": 1}, {"learning_rate": 2e-4}):
        assert fingerprint(table, **result_changing) != base, result_changing
    # seed objects count as "unseeded", like None
    assert fingerprint(table, random_state=None) == fingerprint(
        table, random_state=np.random.RandomState(3)
    )


def test_other_data_or_parameters_get_their_own_checkpoint(
    tmp_path: Path, table: pd.DataFrame
) -> None:
    first = PTGANSynthesizer(epochs=2, checkpoint_dir=tmp_path, **TINY).fit(table)
    other = PTGANSynthesizer(epochs=2, checkpoint_dir=tmp_path, **TINY).fit(table.iloc[::-1])
    seeded = PTGANSynthesizer(epochs=2, checkpoint_dir=tmp_path, **{**TINY, "random_state": 5})
    seeded.fit(table)
    assert other.resumed_epochs_ == 0 and seeded.resumed_epochs_ == 0
    paths = {first.checkpoint_path_, other.checkpoint_path_, seeded.checkpoint_path_}
    assert len(paths) == 3 and all(p.exists() for p in paths)


def test_unseeded_fit_resumes_with_the_seed_it_drew(tmp_path: Path, table: pd.DataFrame) -> None:
    params = {**TINY, "random_state": None}
    first = PTGANSynthesizer(
        epochs=4, callbacks=[Checkpoint(tmp_path, every_epochs=1), StopAfter(2)], **params
    ).fit(table)
    resumed = PTGANSynthesizer(epochs=4, checkpoint_dir=tmp_path, **params).fit(table)
    assert resumed.resumed_epochs_ == 2 and len(resumed.history_) == 4
    assert resumed._fit_seed == first._fit_seed  # not a fresh draw
    assert resumed.history_[:2] == first.history_


def test_time_budget_spent_before_the_checkpoint_is_not_given_again(
    tmp_path: Path, table: pd.DataFrame
) -> None:
    params = {**TINY, "epochs": None, "time_budget": 0.3}
    first = PTGANSynthesizer(checkpoint_dir=tmp_path, **params).fit(table)
    assert first.stopped_reason_ == "time_budget"
    again = PTGANSynthesizer(checkpoint_dir=tmp_path, **params).fit(table)
    assert again.stopped_reason_ == "time_budget"
    assert len(again.history_) == len(first.history_)
    assert again.fit_time_ >= 0.3


# --------------------------------------------------------------------------- files and errors


def test_checkpoint_is_a_safe_model_file(tmp_path: Path, table: pd.DataFrame) -> None:
    model = PTGANSynthesizer(epochs=2, checkpoint_dir=tmp_path, **TINY).fit(table)
    with zipfile.ZipFile(model.checkpoint_path_) as archive:
        names = set(archive.namelist())
        blobs = [archive.read(name) for name in names]
    assert {"manifest.json", "training.json", "training.safetensors"} <= names
    assert not any(blob.startswith(b"\x80") for blob in blobs)  # no pickle stream
    loaded = PTGANSynthesizer.load(model.checkpoint_path_)
    pd.testing.assert_frame_equal(
        loaded.sample(30, random_state=2), model.sample(30, random_state=2)
    )


def test_damaged_checkpoint_is_a_clear_error(tmp_path: Path, table: pd.DataFrame) -> None:
    model = PTGANSynthesizer(epochs=2, checkpoint_dir=tmp_path, **TINY).fit(table)
    blob = model.checkpoint_path_.read_bytes()
    model.checkpoint_path_.write_bytes(blob[: len(blob) // 2])
    with pytest.raises(ModelFileError, match="Delete it to start the fit afresh"):
        PTGANSynthesizer(epochs=2, checkpoint_dir=tmp_path, **TINY).fit(table)
    # a plain model file renamed to the checkpoint's name is not taken for one
    model.save(tmp_path / "plain.fairsynth")
    (tmp_path / "plain.fairsynth").replace(model.checkpoint_path_)
    with pytest.raises(ModelFileError, match="not a checkpoint of this fit"):
        PTGANSynthesizer(epochs=2, checkpoint_dir=tmp_path, **TINY).fit(table)


def test_checkpoint_parameters_are_checked(tmp_path: Path, table: pd.DataFrame) -> None:
    with pytest.raises(ParameterError, match="every_epochs"):
        Checkpoint(tmp_path, every_epochs=0)
    with pytest.raises(ParameterError, match="every_seconds"):
        Checkpoint(tmp_path, every_seconds=-1)
    both = PTGANSynthesizer(checkpoint_dir=tmp_path, callbacks=[Checkpoint(tmp_path)], **TINY)
    with pytest.raises(ParameterError, match="one checkpoint"):
        both.fit(table)
    a_file = tmp_path / "file"
    a_file.write_text("x")
    with pytest.raises(DataError, match="is a file, not a folder"):
        PTGANSynthesizer(checkpoint_dir=a_file, **TINY).fit(table)


def test_gantk_resumes_too(tmp_path: Path, table: pd.DataFrame) -> None:
    params: dict[str, Any] = {"batch_size": 25, "generator_dims": (8,), "noise_dim": 4,
                              "verbose": False, "random_state": 0, "epochs": 2}  # fmt: skip
    small = table[["x", "c"]].head(25)  # one step an epoch
    stopped = GANTKSynthesizer(
        callbacks=[Checkpoint(tmp_path, every_epochs=1), StopAfter(1)], **params
    ).fit(small)
    assert stopped.stopped_reason_ == "callback"
    resumed = GANTKSynthesizer(callbacks=[Checkpoint(tmp_path)], **params).fit(small)
    assert resumed.resumed_epochs_ == 1
    assert_same_networks(resumed, GANTKSynthesizer(**params).fit(small))


def test_cli_checkpoint_dir_resumes(tmp_path: Path, table: pd.DataFrame) -> None:
    runner = CliRunner()
    csv = tmp_path / "t.csv"
    table.to_csv(csv, index=False)
    args = ["fit", str(csv), "-o", str(tmp_path / "m.fairsynth"), "--epochs", "2", "--seed", "0",
            "-q", "--checkpoint-dir", str(tmp_path / "ck"), "--checkpoint-every", "1"]  # fmt: skip
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "resumed" not in first.output
    assert len(list((tmp_path / "ck").glob("checkpoint-*.fairsynth"))) == 1
    second = runner.invoke(app, args)
    assert second.exit_code == 0, second.output
    assert "resumed after epoch 2" in second.output
    lonely = runner.invoke(app, [*args[:-4], "--checkpoint-every", "1"])
    assert lonely.exit_code == 2 and "needs --checkpoint-dir" in lonely.output
