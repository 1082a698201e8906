"""Checkpoints of a fit in progress: written atomically, read without running code, resumed.

A checkpoint is an ordinary ``.fairsynth`` model file (``load`` reads it as the model so far)
with two more members (see :mod:`fairsynth.io.modelfile`): ``training.json`` holds the epoch, the
seed, the optimisers' settings and the fit's *fingerprint*; ``training.safetensors`` holds the
optimisers' moments and the random generators' states. No pickle is involved.

The fingerprint is a sha256 of what decides the result of a fit: the class, the fairsynth
version, the device type, every parameter except those that only change how a fit is shown or
sampled (``verbose``, ``callbacks``, ``checkpoint_dir``, ``sample_batch_size``, ``device`` as
written) and the table itself (column names, dtypes and a hash of every row). The checkpoint's
file name carries it, so one directory can hold the checkpoints of several fits and a fit never
overwrites another's; the copy inside the file is checked when it is read. A ``random_state``
that is not an integer counts as "unseeded": such a fit resumes with the seed it drew first.

Ctrl-C: :func:`defer_interrupts` turns the first SIGINT into a request that the training loop
honours after the step in progress, so the networks, optimisers and generators are never left
half-updated. A second Ctrl-C aborts at once.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import torch

from fairsynth.exceptions import DataError, ModelFileError, ParameterError
from fairsynth.io.modelfile import ModelContents, read_model_file, write_model_file
from fairsynth.models.callbacks import Callback

if TYPE_CHECKING:
    from fairsynth.models.base import BaseSynthesizer

__all__ = [
    "CLEAN_STOPS",
    "Checkpoint",
    "InterruptFlag",
    "defer_interrupts",
    "fit_fingerprint",
    "request_stop",
]

CHECKPOINT_FORMAT = "fairsynth-checkpoint"
CHECKPOINT_VERSION = 1
#: ``stopped_reason_`` values after which the model's state is consistent (not cut mid-step).
CLEAN_STOPS = ("epochs", "time_budget", "callback", "interrupted")
# Parameters that do not change the fitted model, so they stay out of the fingerprint.
_NOT_IDENTITY = ("verbose", "callbacks", "checkpoint_dir", "sample_batch_size", "device")


# ------------------------------------------------------------------------------ fingerprint
def fit_fingerprint(model: BaseSynthesizer, data: pd.DataFrame) -> str:
    """Return the sha256 (hex) identifying a fit of ``model`` on ``data`` (see module notes)."""
    from fairsynth import __version__

    params = {
        key: _plain(value)
        for key, value in model.get_params(deep=False).items()
        if key not in _NOT_IDENTITY
    }
    seed = params.get("random_state")
    seeded = isinstance(seed, (int, np.integer)) and not isinstance(seed, bool)
    params["random_state"] = int(seed) if seeded else None  # type: ignore[arg-type]
    identity = {
        "class": type(model).__name__,
        "fairsynth": __version__,
        "device": model.device_.type,
        "params": params,
        "columns": [str(c) for c in data.columns],
        "dtypes": [str(t) for t in data.dtypes],
    }
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True, default=repr).encode("utf-8"))
    try:
        rows = pd.util.hash_pandas_object(data, index=False)
    except TypeError:  # unhashable cells (lists, ...): the transform refuses them just after
        rows = pd.util.hash_pandas_object(data.astype(str), index=False)
    digest.update(rows.to_numpy().tobytes())
    return digest.hexdigest()


def _plain(value: Any) -> Any:
    """A JSON-friendly, order-stable form of a parameter value."""
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return value


# ------------------------------------------------------------------------------ interrupts
class InterruptFlag:
    """Set (``requested = True``) when a stop was asked inside :func:`defer_interrupts`.

    ``signum`` is the signal that asked (SIGINT for Ctrl-C), or None.
    """

    def __init__(self) -> None:
        self.requested = False
        self.signum: int | None = None


# The flags of the fits running in the main thread, innermost last (see request_stop).
_ACTIVE: list[InterruptFlag] = []


def request_stop(signum: int) -> bool:
    """Ask the fit running in the main thread to stop after its step, as Ctrl-C does.

    For a program's own signal handlers (the CLI maps SIGTERM to this). Returns False when no
    fit is running, or when a stop was already asked: the handler should then abort.
    """
    if not _ACTIVE or _ACTIVE[-1].requested:
        return False
    _ACTIVE[-1].requested, _ACTIVE[-1].signum = True, signum
    os.write(2, b"\nStopping after the current step (signal it again to abort).\n")
    return True


@contextlib.contextmanager
def defer_interrupts() -> Iterator[InterruptFlag]:
    """Turn the first Ctrl-C into a request to stop at the next safe point.

    Only in the main thread (the only one Python delivers SIGINT to) and only where SIGINT is
    handled by Python; elsewhere the flag simply stays unset. The first Ctrl-C sets the flag
    and puts the previous handler back, so a second Ctrl-C acts at once (KeyboardInterrupt).
    In the main thread the flag can also be set by :func:`request_stop`.
    """
    flag = InterruptFlag()
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.getsignal(signal.SIGINT)
        _ACTIVE.append(flag)
    try:
        if previous is None or previous is signal.SIG_IGN:
            yield flag
            return

        def on_sigint(signum: int, frame: Any) -> None:
            flag.requested, flag.signum = True, signum
            signal.signal(signal.SIGINT, previous)
            os.write(2, b"\nStopping after the current step (press Ctrl-C again to abort).\n")

        signal.signal(signal.SIGINT, on_sigint)
        try:
            yield flag
        finally:
            signal.signal(signal.SIGINT, previous)
    finally:
        if flag in _ACTIVE:
            _ACTIVE.remove(flag)


# ------------------------------------------------------------------------------ callback
class Checkpoint(Callback):
    """Write a fit's state to ``directory`` now and then, so that a later ``fit`` resumes it.

    A fit given this callback (or a synthesizer's ``checkpoint_dir`` parameter, which makes
    one with the defaults) first looks in ``directory`` for the checkpoint of the same fit,
    same table and same parameters (see :func:`fit_fingerprint`). If there is one, the
    networks, optimisers, random generators and history are restored from it and training
    goes on from its epoch; with an integer ``random_state`` on the same device the result is
    bit-identical to a fit that was never stopped (on CPU). A finished fit's checkpoint stays:
    fitting again returns the same model at once (delete the file to train afresh).

    The file is written atomically (a temporary file renamed), so a fit killed at any moment,
    even while writing, leaves the previous checkpoint intact. It is written after an epoch
    when ``every_epochs`` epochs or ``every_seconds`` seconds have passed since the last write,
    and once more when training stops cleanly (epochs done, time budget, a callback, Ctrl-C).

    Parameters
    ----------
    directory : str or Path
        Folder of the checkpoints (created if missing).
    every_epochs : int or None, default=None
        Write every this many epochs.
    every_seconds : float or None, default=60.0
        Write when this many seconds have passed since the last write (checked at epoch ends).

    Attributes
    ----------
    path : Path or None
        The checkpoint file of the latest fit (its name carries the fingerprint).
    resumed_epochs : int
        Epochs restored from the file at the start of the latest fit (0: a fresh fit).

    Notes
    -----
    Callbacks' own state (an early-stopping patience counter, say) is not saved. What is saved
    of a model is its networks (``_network_names``) and what its ``_training_state()`` names:
    the seed, the random generator and the optimisers (``_optimizer_names``).
    One fit at a time may write a given checkpoint file.

    Examples
    --------
    >>> import pandas as pd, tempfile
    >>> from fairsynth import PTGANSynthesizer
    >>> from fairsynth.models.checkpoint import Checkpoint
    >>> data = pd.DataFrame({"x": [0.1, 0.5, 0.9, 1.3] * 25, "c": ["a", "b"] * 50})
    >>> folder = tempfile.mkdtemp()
    >>> params = dict(epochs=2, batch_size=50, verbose=False, random_state=0)
    >>> first = PTGANSynthesizer(callbacks=[Checkpoint(folder, every_epochs=1)], **params)
    >>> _ = first.fit(data)
    >>> again = PTGANSynthesizer(checkpoint_dir=folder, **params).fit(data)
    >>> again.resumed_epochs_
    2
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        every_epochs: int | None = None,
        every_seconds: float | None = 60.0,
    ) -> None:
        if every_epochs is not None and (
            isinstance(every_epochs, bool)
            or not isinstance(every_epochs, (int, np.integer))
            or every_epochs < 1
        ):
            raise ParameterError(
                f"every_epochs must be an integer ≥ 1 or None, got {every_epochs!r}."
            )
        if every_seconds is not None and not (
            isinstance(every_seconds, (int, float)) and every_seconds >= 0
        ):
            raise ParameterError(f"every_seconds must be ≥ 0 or None, got {every_seconds!r}.")
        self.directory = Path(directory)
        self.every_epochs = every_epochs
        self.every_seconds = every_seconds
        self.path: Path | None = None
        self.resumed_epochs = 0
        self._fingerprint = ""
        self._pending: ModelContents | None = None
        self._written: tuple[int, str] | None = None
        self._last_write = time.monotonic()

    # ------------------------------------------------------------------ used by fit
    one_per_fit = True

    def on_data(self, model: BaseSynthesizer, data: pd.DataFrame) -> int | None:
        """Find this fit's checkpoint before anything is fitted; return its seed, or None.

        Raises
        ------
        DataError
            If the directory cannot be created or is not a folder.
        ModelFileError
            If the checkpoint of this fit exists but cannot be read (delete it to start over).
        """
        self._make_directory()
        self._fingerprint = fit_fingerprint(model, data)
        name = f"checkpoint-{type(model).__name__}-{self._fingerprint[:16]}.fairsynth"
        self.path = self.directory / name
        self.resumed_epochs, self._written, self._pending = 0, None, None
        for stale in self.directory.glob(f".{name}.*.tmp"):  # left by a kill while writing
            stale.unlink(missing_ok=True)
        if not self.path.exists():
            return None
        try:
            contents = read_model_file(self.path)
        except ModelFileError as exc:
            raise ModelFileError(f"{exc} Delete it to start the fit afresh.") from None
        training = contents.training or {}
        if (
            training.get("format") != CHECKPOINT_FORMAT
            or training.get("version") != CHECKPOINT_VERSION
            or training.get("fingerprint") != self._fingerprint
            or contents.class_name != type(model).__name__
        ):
            raise ModelFileError(
                f"'{self.path}' is not a checkpoint of this fit (another version, class, table "
                "or parameters). Delete it to start the fit afresh."
            )
        self._pending = contents
        return int(training["seed"])

    def resume(self, model: BaseSynthesizer) -> list[dict[str, Any]]:
        """Load the found checkpoint into the built ``model``; return the history to go on from.

        Returns an empty history when :meth:`on_data` found nothing to resume. Sets the model's
        ``checkpoint_path_``.
        """
        model.checkpoint_path_ = self.path
        contents, self._pending = self._pending, None
        self.resumed_epochs = 0
        if contents is None:
            return []
        try:
            history = _restore_state(model, contents)
        except (KeyError, TypeError, ValueError, RuntimeError) as exc:
            message = " ".join(str(exc).split())[:300]
            raise ModelFileError(
                f"Checkpoint '{self.path}' does not fit this model ({message}). Delete it to "
                "start the fit afresh."
            ) from None
        self.resumed_epochs = len(history)
        self._written = (len(history), str(contents.fitted.get("stopped_reason_")))
        return history

    # ------------------------------------------------------------------ callback hooks
    def on_fit_start(self, model: BaseSynthesizer, total_epochs: int | None) -> None:
        self._last_write = time.monotonic()

    def on_epoch_end(self, model: BaseSynthesizer, record: dict[str, Any]) -> bool:
        by_epochs = self.every_epochs is not None and len(model.history_) % self.every_epochs == 0
        by_time = (
            self.every_seconds is not None
            and time.monotonic() - self._last_write >= self.every_seconds
        )
        if by_epochs or by_time:
            self.write(model)
        return False

    def on_fit_end(self, model: BaseSynthesizer) -> None:
        # After an error or a step cut short the state may be half-updated: keep the last file.
        if model.stopped_reason_ in CLEAN_STOPS and self._written != _mark(model):
            self.write(model)

    def write(self, model: BaseSynthesizer) -> Path:
        """Write the model's current state to :attr:`path` atomically; return the path."""
        from fairsynth import __version__

        if self.path is None:
            raise ParameterError("This Checkpoint has not been prepared by a fit yet.")
        contents = model._model_contents()
        contents.training, contents.training_tensors = _capture_state(model, self._fingerprint)
        write_model_file(self.path, contents, __version__)
        self._written = _mark(model)
        self._last_write = time.monotonic()
        return self.path

    def _make_directory(self) -> None:
        if self.directory.exists() and not self.directory.is_dir():
            raise DataError(f"Checkpoint directory '{self.directory}' is a file, not a folder.")
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DataError(
                f"Cannot create checkpoint directory '{self.directory}': {exc.strerror}."
            ) from None


def _mark(model: BaseSynthesizer) -> tuple[int, str]:
    return len(model.history_), str(model.stopped_reason_)


# ------------------------------------------------------------------------------ state
def _optimizers(model: BaseSynthesizer) -> dict[str, torch.optim.Optimizer]:
    return dict(sorted(model._training_state()["optimizers"].items()))


def _capture_state(
    model: BaseSynthesizer, fingerprint: str
) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """The training state beyond the model file: plain data and tensors (copied out)."""
    tensors = {
        "rng.generator": model._training_state()["generator"].get_state(),
        "rng.torch": torch.get_rng_state(),
    }
    if model.device_.type == "cuda":
        tensors["rng.cuda"] = torch.cuda.get_rng_state(model.device_)
    optimizers = {}
    for name, optimizer in _optimizers(model).items():
        state = optimizer.state_dict()
        plain: dict[str, dict[str, Any]] = {}
        for index, values in state["state"].items():
            plain[str(index)] = {}
            for key, value in values.items():
                if isinstance(value, torch.Tensor):
                    tensors[f"optim.{name}.{index}.{key}"] = value
                else:
                    plain[str(index)][key] = value
        groups = [{k: _plain(v) for k, v in group.items()} for group in state["param_groups"]]
        optimizers[name] = {"state": plain, "param_groups": groups}
    training = {
        "format": CHECKPOINT_FORMAT,
        "version": CHECKPOINT_VERSION,
        "fingerprint": fingerprint,
        "seed": model._training_state()["seed"],
        "epoch": len(model.history_),
        "optimizers": optimizers,
    }
    return training, tensors


def _restore_state(model: BaseSynthesizer, contents: ModelContents) -> list[dict[str, Any]]:
    training, tensors = contents.training or {}, contents.training_tensors or {}
    model._load_weights(contents.weights)
    optimizers = _optimizers(model)
    if sorted(optimizers) != sorted(training["optimizers"]):
        raise ValueError(f"optimisers {sorted(training['optimizers'])} != {sorted(optimizers)}")
    for name, optimizer in optimizers.items():
        saved = training["optimizers"][name]
        moments: dict[int, dict[str, Any]] = {}
        for index, plain in saved["state"].items():
            prefix = f"optim.{name}.{index}."
            values = {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}
            moments[int(index)] = {**plain, **values}
        groups = [
            {k: tuple(v) if isinstance(v, list) and k != "params" else v for k, v in g.items()}
            for g in saved["param_groups"]
        ]
        optimizer.load_state_dict({"state": moments, "param_groups": groups})
    model._training_state()["generator"].set_state(tensors["rng.generator"])
    torch.set_rng_state(tensors["rng.torch"])
    if model.device_.type == "cuda" and "rng.cuda" in tensors:
        torch.cuda.set_rng_state(tensors["rng.cuda"], model.device_)
    model.fit_time_ = float(contents.fitted["fit_time_"])
    history = [dict(record) for record in contents.fitted["history_"]]
    if len(history) != int(training["epoch"]):
        raise ValueError(f"history of {len(history)} epochs, checkpoint of {training['epoch']}")
    return history
