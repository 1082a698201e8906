"""Callbacks that hook into the training loop: progress bar, and the protocol they follow."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from tqdm.auto import tqdm

if TYPE_CHECKING:
    from fairsynth.base import BaseSynthesizer

__all__ = ["Callback", "ProgressBar"]


class Callback:
    """Base class: override the hooks you need; ``on_epoch_end`` may return True to stop."""

    def on_fit_start(self, model: BaseSynthesizer, total_epochs: int | None) -> None:
        """Called once the networks are built, before the first step."""

    def on_epoch_end(self, model: BaseSynthesizer, record: dict[str, Any]) -> bool:
        """Called with the epoch's history record; return True to stop training."""
        return False

    def on_fit_end(self, model: BaseSynthesizer) -> None:
        """Called after the last epoch, also when training stops early or is interrupted."""


class ProgressBar(Callback):
    """A tqdm bar over epochs (or seconds, under a time budget) with the latest losses."""

    def __init__(self, time_budget: float | None = None) -> None:
        self.time_budget = time_budget
        self._bar: Any = None

    def on_fit_start(self, model: BaseSynthesizer, total_epochs: int | None) -> None:
        by_time = total_epochs is None and self.time_budget is not None
        self._bar = tqdm(
            total=round(self.time_budget or 0) if by_time else total_epochs,
            unit="s" if by_time else "epoch",
            desc=f"Fitting {type(model).__name__}",
            file=sys.stderr,
            dynamic_ncols=True,
        )
        self._by_time = by_time

    def on_epoch_end(self, model: BaseSynthesizer, record: dict[str, Any]) -> bool:
        if self._by_time:
            self._bar.n = min(round(record["time"]), self._bar.total)
            self._bar.refresh()
        else:
            self._bar.update(1)
        self._bar.set_postfix(
            {k: f"{v:.3g}" for k, v in record.items() if k not in ("epoch", "time", "steps")},
            refresh=False,
        )
        return False

    def on_fit_end(self, model: BaseSynthesizer) -> None:
        if self._bar is not None:
            self._bar.close()
