"""Stop training when the rows stop getting harder to tell from real ones.

Both callbacks sample rows from the model every few hundred generator steps and score them
with the end-of-fit check's detection AUC (:func:`fairsynth.models.fitcheck.check_rows`)
against as many training rows (:func:`rows_detection`):

- :class:`Convergence` is what ``epochs="auto"`` stops on: it fits a line to the checks of the
  last ``window`` steps and stops once that line projects a fall of less than ``tol`` over the
  next ``horizon`` steps. The model keeps its last weights.
- :class:`EarlyStopping` (a callback to add with a larger ``epochs``) keeps a copy of the
  weights the model samples from at the best score so far and stops when ``patience`` checks
  in a row have not improved it by ``min_delta``; the model then samples from the best weights.
"""

from __future__ import annotations

import copy
import time
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from fairsynth.models.callbacks import Callback
from fairsynth.models.fitcheck import FAILED_DETECTION

if TYPE_CHECKING:
    from fairsynth.models.base import BaseSynthesizer

__all__ = ["Convergence", "EarlyStopping", "rows_detection"]


def rows_detection(
    model: BaseSynthesizer, real: pd.DataFrame, random_state: int, n_threads: int | None = 1
) -> float:
    """The detection AUC of as many rows of ``model`` as ``real`` has, against ``real``."""
    from fairsynth.models.fitcheck import check_rows

    rows = model.sample(len(real), random_state=random_state)
    discrete = model.transformer_.discrete_columns_
    check = check_rows(real, rows, discrete, random_state=random_state, n_threads=n_threads)
    return float(check["detection_auc"])


class _EverySteps(Callback):
    """What both callbacks share: the generator steps trained so far (a resumed fit's too),
    and whether an epoch took them past a multiple of an interval."""

    _steps = 0

    def _count_from(self, model: BaseSynthesizer) -> None:
        self._steps = sum(int(r["steps"]) for r in getattr(model, "history_", []))

    def _passes(self, record: dict[str, Any], every: int) -> bool:
        before, self._steps = self._steps, self._steps + int(record["steps"])
        return self._steps // every != before // every


class EarlyStopping(_EverySteps):
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
        self._count_from(model)

    def on_epoch_end(self, model: BaseSynthesizer, record: dict[str, Any]) -> bool:
        passed = self._passes(record, self.every_steps)
        if self._real is None or not passed:
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
        return rows_detection(model, real, self.random_state)

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


class Convergence(_EverySteps):
    """Stop a fit once its rows stop getting harder to tell from real ones (``epochs="auto"``).

    Every ``every`` generator steps from ``min_steps - window`` on, the model samples ``rows``
    rows and their detection AUC against as many training rows is recorded. From ``min_steps``
    on, a least-squares line through the checks of the last ``window`` steps projects the
    fall of the AUC over the next ``horizon`` steps; training stops once the line is flat
    (the fall, or the rise, under ``tol``) at ``patience`` checks in a row, unless the last
    AUC is at least 0.99 (the end-of-fit check's "told apart almost always", where a flat AUC
    says nothing) or the table has fewer than ``rows`` rows (each check then compares them
    all, too few to tell a flat line from noise): such fits run their epochs and only record
    the checks. The model keeps its last weights. Under ``epochs="auto"`` the fit ends after
    6,000 steps in any case, and says whether its rows were still improving then.

    Parameters
    ----------
    every : int, default=750
        Generator steps between checks (checked at the end of the epoch that passes them).
    rows : int, default=2500
        Rows sampled, and training rows drawn (once, by the fit's seed), for each check.
    window : int, default=1500
        Steps whose checks the line is fitted to (3 checks at the defaults).
    horizon : int, default=1500
        Steps over which the fall is projected.
    tol : float, default=0.01
        The projected fall (or rise) under which training stops (about its standard error at
        the defaults: one check's AUC varies by about 0.008).
    min_steps : int, default=4500
        No stop before this many steps.
    patience : int, default=2
        Checks in a row whose line must be flat. One check's line has a standard error of
        about 0.011 at the defaults, so one flat line is often a pause: on 5,000 of Adult's
        rows a stop at the first flat line (5,250 and 4,500 steps, seeds 0 and 1) gave rows
        0.011 and 0.032 easier to detect, and a TSTR AUC 0.006 and 0.008 lower, than the
        6,000-step fit (docs/method.md).

    Attributes
    ----------
    checks_ : list of dict
        One record a check: ``step``, ``detection_auc``, ``seconds`` (what the check cost).

    Notes
    -----
    The fit's model records the result as ``convergence_``: the checks, ``converged`` (whether
    this rule stopped it), ``projected_fall`` at the last check and ``horizon``. Checks cost
    about 0.6 s each on Adult (2 threads), five in a 6,000-step fit. Measured curves and the
    stops they give: docs/method.md, "The parameters that matter".
    """

    one_per_fit = True

    def __init__(
        self,
        every: int = 750,
        rows: int = 2500,
        window: int = 1500,
        horizon: int = 1500,
        tol: float = 0.01,
        min_steps: int = 4500,
        patience: int = 2,
    ) -> None:
        self.every = every
        self.rows = rows
        self.window = window
        self.horizon = horizon
        self.tol = tol
        self.min_steps = min_steps
        self.patience = patience
        self._data: pd.DataFrame | None = None

    def on_data(self, model: BaseSynthesizer, data: Any) -> int | None:
        self._data = data if isinstance(data, pd.DataFrame) else None
        return None

    def on_fit_start(self, model: BaseSynthesizer, total_epochs: int | None) -> None:
        data, self._data = self._data, None  # keep only the rows compared
        self._real = None if data is None else data.sample(
            min(self.rows, len(data)), random_state=model._fit_seed
        )  # fmt: skip
        self.checks_: list[dict[str, float]] = []
        self._flat = 0  # flat lines in a row
        self._count_from(model)
        self._record: dict[str, Any] = {"checks": self.checks_, "converged": False}
        self._record |= {"projected_fall": None, "horizon": self.horizon}
        # a table of fewer rows than a check compares is checked on all of them, too few to
        # tell a flat line from noise (German's 700: a stop at 5,250 steps cost 0.024 Quality):
        # its checks are recorded, never stopped on
        self._may_stop = self._real is not None and len(self._real) >= self.rows
        if self._real is not None and not self._may_stop:
            self._record["too_few_rows"] = len(self._real)
        model.convergence_ = self._record

    def on_epoch_end(self, model: BaseSynthesizer, record: dict[str, Any]) -> bool:
        passed = self._passes(record, self.every)
        if self._real is None or not passed or self._steps < self.min_steps - self.window:
            return False
        started = time.perf_counter()
        seed = int(model._fit_seed) + len(self.checks_) + 1
        auc = self._score(model, seed)
        self.checks_.append(
            {"step": self._steps, "detection_auc": round(auc, 4),
             "seconds": round(time.perf_counter() - started, 3)}
        )  # fmt: skip
        fall = self.projected_fall()
        self._record["projected_fall"] = fall
        # an AUC the classifier saturates says nothing about progress (a column derived
        # exactly from others can keep it at 1.0 while the rest improves): no stop there
        told = auc < FAILED_DETECTION
        # flat: neither falling nor rising by tol (an AUC rising again is a generator drifting,
        # not converged: the fit goes on to its last step, as a fit of fixed length would)
        flat = fall is not None and abs(fall) < self.tol
        self._flat = self._flat + 1 if flat and told else 0
        if self._steps >= self.min_steps and self._may_stop and self._flat >= self.patience:
            self._record["converged"] = True
            return True
        return False

    def _score(self, model: BaseSynthesizer, seed: int) -> float:
        assert self._real is not None
        return rows_detection(model, self._real, seed, n_threads=model.n_threads_)

    def projected_fall(self) -> float | None:
        """The fall of the detection AUC over ``horizon`` steps that the recent checks project
        (None with fewer than 3 checks in the window)."""
        recent = [c for c in self.checks_ if c["step"] >= self._steps - self.window]
        if len(recent) < 3:
            return None
        steps = np.array([c["step"] for c in recent], dtype=float)
        aucs = np.array([c["detection_auc"] for c in recent], dtype=float)
        slope = np.polyfit(steps, aucs, 1)[0]
        return round(float(-slope * self.horizon), 4)
