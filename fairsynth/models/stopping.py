"""Stop training when the rows stop getting harder to tell from real ones.

:class:`EarlyStopping` is a callback: every ``every_steps`` generator steps it samples rows
from the model and scores them with the end-of-fit check's detection AUC
(:func:`fairsynth.models.fitcheck.check_rows`) against as many training rows. It keeps a copy of the
weights the model samples from at the best score so far and stops when ``patience`` checks in
a row have not improved it by ``min_delta``; the model then samples from the best weights.
"""

from __future__ import annotations

import copy
import time
from typing import TYPE_CHECKING, Any

import pandas as pd

from fairsynth.models.callbacks import Callback

if TYPE_CHECKING:
    from fairsynth.models.base import BaseSynthesizer

__all__ = ["EarlyStopping"]


class EarlyStopping(Callback):
    """Stop a fit when its detection AUC stops falling; keep the best weights.

    Parameters
    ----------
    every_steps : int, default=1500
        Generator steps between checks (checked at the end of the epoch that passes them).
    patience : int, default=2
        Checks in a row without an improvement of ``min_delta`` before training stops.
    min_delta : float, default=0.01
        The least fall of the detection AUC that counts as an improvement (about twice its
        standard error at 2,500 rows of each table).
    rows : int, default=2500
        Rows sampled, and training rows drawn, for each check.
    min_steps : int, default=3000
        No stop before this many steps (the first checks of a fit are noisy).
    random_state : int, default=0
        Seed of the sampled rows and of the training rows drawn (the same at every check).

    Attributes
    ----------
    scores_ : list of dict
        One record a check: ``step``, ``detection_auc``, ``seconds`` (what the check cost).
    best_step_ : int or None
        Steps trained when the kept weights were the model's.
    stopped_ : bool
        Whether this callback stopped the fit.

    Notes
    -----
    On Adult (PTGAN's defaults, seed 0) the end-of-fit check's detection AUC on 5,000 rows fell
    0.920 → 0.848 → 0.807 → 0.788 over the first 6,000 steps and stayed at 0.796-0.800 up to
    10,500 (``python -m benchmarks.adult_curve --steps 18000 --every 1500``; docs/method.md).
    With ``epochs=300`` and this callback a fit stopped after 9,000 steps and kept the weights
    of step 6,000 (``python -m benchmarks.early_stopping``); a check cost about 1 s.
    """

    def __init__(
        self,
        every_steps: int = 1500,
        patience: int = 2,
        min_delta: float = 0.01,
        rows: int = 2500,
        min_steps: int = 3000,
        random_state: int = 0,
    ) -> None:
        self.every_steps = every_steps
        self.patience = patience
        self.min_delta = min_delta
        self.rows = rows
        self.min_steps = min_steps
        self.random_state = random_state
        self._real: pd.DataFrame | None = None

    def on_data(self, model: BaseSynthesizer, data: Any) -> int | None:
        if isinstance(data, pd.DataFrame):
            rows = min(self.rows, len(data))
            self._real = data.sample(rows, random_state=self.random_state)
        return None

    def on_fit_start(self, model: BaseSynthesizer, total_epochs: int | None) -> None:
        self.scores_: list[dict[str, float]] = []
        self.best_step_: int | None = None
        self.stopped_ = False
        self._best: dict[str, Any] | None = None
        self._best_score = float("inf")
        self._steps = sum(int(r["steps"]) for r in getattr(model, "history_", []))

    def on_epoch_end(self, model: BaseSynthesizer, record: dict[str, Any]) -> bool:
        before, self._steps = self._steps, self._steps + int(record["steps"])
        if self._real is None or self._steps // self.every_steps == before // self.every_steps:
            return False
        started = time.perf_counter()
        score = self._score(model, self._real)
        self.scores_.append(
            {"step": self._steps, "detection_auc": score, "seconds": time.perf_counter() - started}
        )
        if self._best is None or score <= self._best_score - self.min_delta:
            self._best = copy.deepcopy(_sampling_network(model).state_dict())
            self._best_score, self.best_step_ = score, self._steps
            return False
        waited = sum(1 for s in self.scores_ if s["step"] > (self.best_step_ or 0))
        if waited >= self.patience and self._steps >= self.min_steps:
            self.stopped_ = True
            self._restore(model)
            return True
        return False

    def _score(self, model: BaseSynthesizer, real: pd.DataFrame) -> float:
        """The detection AUC of as many rows of ``model`` as ``real`` has, against it."""
        from fairsynth.models.fitcheck import check_rows

        rows = model.sample(len(real), random_state=self.random_state)
        discrete = model.transformer_.discrete_columns_
        check = check_rows(real, rows, discrete, random_state=self.random_state)
        return float(check["detection_auc"])

    def on_fit_end(self, model: BaseSynthesizer) -> None:
        if not self.stopped_ and model.stopped_reason_ == "epochs":
            self._restore(model)

    def _restore(self, model: BaseSynthesizer) -> None:
        """Put the best weights back into the network the model samples from."""
        if self._best is not None and self.best_step_ != self._steps:
            _sampling_network(model).load_state_dict(self._best)


def _sampling_network(model: BaseSynthesizer) -> Any:
    average = getattr(model, "generator_ema_", None)
    return average if average is not None else model.generator_
