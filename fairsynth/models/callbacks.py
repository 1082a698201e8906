"""Callbacks that hook into the training loop: progress bar, and the protocol they follow."""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, Any

from tqdm.auto import tqdm

if TYPE_CHECKING:
    from fairsynth.models.base import BaseSynthesizer

__all__ = ["Callback", "ProgressBar"]


class Callback:
    """Base class: override the hooks you need; ``on_epoch_end`` may return True to stop.

    In a fit the hooks come in this order: :meth:`on_data` (before anything is fitted),
    :meth:`resume` (the networks are built), :meth:`on_fit_start`, :meth:`on_epoch_end` after
    each epoch, :meth:`on_fit_end`.
    """

    #: At most one callback of a class that sets this may serve a fit (a checkpoint, say).
    one_per_fit: bool = False

    def on_data(self, model: BaseSynthesizer, data: Any) -> int | None:
        """Called with the table before anything is fitted; may return the fit's seed."""
        return None

    def resume(self, model: BaseSynthesizer) -> list[dict[str, Any]] | None:
        """Called once the networks are built; may restore a state and return its history."""
        return None

    def on_fit_start(self, model: BaseSynthesizer, total_epochs: int | None) -> None:
        """Called once the networks are built, before the first step."""

    def on_epoch_end(self, model: BaseSynthesizer, record: dict[str, Any]) -> bool:
        """Called with the epoch's history record; return True to stop training."""
        return False

    def on_fit_end(self, model: BaseSynthesizer) -> None:
        """Called after the last epoch, also when training stops early or is interrupted."""


class ProgressBar(Callback):
    """A tqdm bar over epochs (or seconds, under a time budget) with the latest losses.

    When standard error is not a terminal (a log file, a pipe) the bar's carriage returns
    would fill the log: progress is then a plain line at most every ``every_seconds`` (and
    one for the last epoch).
    """

    def __init__(self, time_budget: float | None = None, every_seconds: float = 10.0) -> None:
        self.time_budget = time_budget
        self.every_seconds = every_seconds
        self._bar: Any = None
        self._lines = False

    def on_fit_start(self, model: BaseSynthesizer, total_epochs: int | None) -> None:
        by_time = total_epochs is None and self.time_budget is not None
        self._by_time, self._total, self._name = by_time, total_epochs, type(model).__name__
        self._lines = not _is_terminal(sys.stderr)
        self._last = time.monotonic()
        if self._lines:
            return
        self._bar = tqdm(
            total=round(self.time_budget or 0) if by_time else total_epochs,
            unit="s" if by_time else "epoch",
            desc=f"Fitting {type(model).__name__}",
            file=sys.stderr,
            dynamic_ncols=True,
        )

    def on_epoch_end(self, model: BaseSynthesizer, record: dict[str, Any]) -> bool:
        losses = {k: f"{v:.3g}" for k, v in record.items() if k not in ("epoch", "time", "steps")}
        if self._lines:
            self._line(record, losses)
            return False
        if self._by_time:
            self._bar.n = min(round(record["time"]), self._bar.total)
            self._bar.refresh()
        else:
            self._bar.update(1)
        self._bar.set_postfix(losses, refresh=False)
        return False

    def _line(self, record: dict[str, Any], losses: dict[str, str]) -> None:
        epoch = int(record["epoch"]) + 1
        now = time.monotonic()
        if now - self._last < self.every_seconds and epoch != self._total:
            return
        self._last = now
        of = f"/{self._total}" if self._total else ""
        shown = ", ".join(f"{k} {v}" for k, v in losses.items())
        print(
            f"Fitting {self._name}: epoch {epoch}{of}, {record['time']:.0f} s, {shown}",
            file=sys.stderr,
            flush=True,
        )

    def on_fit_end(self, model: BaseSynthesizer) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def _is_terminal(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False
