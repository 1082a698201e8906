"""The λ that brings a downstream classifier's fairness gap to a target (the calibrated knob).

Calibrate on a table you do not report on: choosing λ on the test rows and then quoting the
test rows' DP flatters the result.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from fairsynth.exceptions import ParameterError, format_choices
from fairsynth.frontier._scoring import (
    METRICS,
    by_columns,
    check_model,
    positional,
    prevalence,
    score_synthetic,
)

if TYPE_CHECKING:
    from fairsynth.models.fair import FairPTGANSynthesizer

__all__ = ["Calibration", "calibrate_fairness"]


@dataclass
class Calibration:
    """The λ found by :func:`calibrate_fairness` and what it costs.

    Attributes
    ----------
    fairness : float
        The smallest λ tried whose downstream metric met the target (the last one tried, with
        the lowest metric, when none did: see ``met``).
    met : bool
        Whether the target, less ``margin``, was reached within ``max_fairness``.
    margin : float
        The room kept below ``target`` on the calibration rows (see :func:`calibrate_fairness`).
    scores, baseline : dict
        The reference model's scores at ``fairness`` and at λ = 0 (``auc``, ``accuracy``,
        ``dp``, ``eo``, ``dp_at_rate`` of the calibrated attribute).
    evaluations : DataFrame
        Every λ tried, in order, with its scores.
    """

    fairness: float
    met: bool
    target: float
    metric: str
    attribute: str
    model: str
    scores: dict[str, float]
    baseline: dict[str, float]
    evaluations: pd.DataFrame = field(repr=False)
    margin: float = 0.0

    @property
    def auc_cost(self) -> float:
        """AUC lost against λ = 0 (negative: a gain)."""
        return self.baseline["auc"] - self.scores["auc"]

    def __str__(self) -> str:
        s, b = self.scores, self.baseline
        verdict = "met" if self.met else "NOT met"
        room = f" − margin {self.margin:g}" if self.margin else ""
        return (
            f"λ = {self.fairness:.3g} ({verdict}: {self.metric} ≤ {self.target:g}{room} on "
            f"{self.attribute}, {self.model}): AUC {s['auc']:.3f} (λ=0: {b['auc']:.3f}), "
            f"DP {s['dp']:.3f} (λ=0: {b['dp']:.3f}), EO {s['eo']:.3f} (λ=0: {b['eo']:.3f}), "
            f"DP at fixed rate {s['dp_at_rate']:.3f}"
        )


def calibrate_fairness(
    model: FairPTGANSynthesizer,
    real_test: pd.DataFrame,
    target_dp: float = 0.02,
    *,
    metric: str = "dp",
    reference_model: str = "HistGB",
    by: str | Sequence[str] | None = None,
    sensitive_as_feature: bool = True,
    balanced_groups: bool = False,
    n_samples: int | None = None,
    margin: float = 0.0,
    max_fairness: float = 3.0,
    step: float = 0.5,
    tolerance: float = 0.05,
    random_state: int = 0,
    n_threads: int | None = 1,
) -> Calibration:
    """Find the smallest λ at which a model trained on the synthetic rows meets a DP target.

    λ is raised in steps of ``step`` from 0 until ``metric`` of ``reference_model``, trained on
    ``model.sample(n_samples, fairness=λ)`` and scored on ``real_test``, is at most
    ``target_dp - margin``; the crossing is then refined by bisection to ``tolerance``. Should the
    metric start rising again (a reversed gap) before meeting the target, the bracket around
    its minimum is searched on a grid four times finer before giving up.

    Parameters
    ----------
    model : FairPTGANSynthesizer
        A fitted model (no refit happens).
    real_test : DataFrame
        Real rows the model never saw, used to measure the metric. Use a validation table (or
        the real training rows), not the table whose figures you report.
    target_dp : float, default=0.02
        The largest acceptable value of ``metric``.
    metric : {'dp', 'eo', 'dp_at_rate'}, default='dp'
        Demographic parity difference at threshold 0.5, equalized odds difference, or DP at
        the fixed selection rate (the real training prevalence).
    reference_model : {'HistGB', 'LogReg'}, default='HistGB'
        The evaluation module's classifier that is trained on the synthetic rows.
    by : str or list of str, optional
        Sensitive column(s) the knob acts on and the metric is measured for (default: all of
        the model's, i.e. their intersection).
    sensitive_as_feature : bool, default=True
        Whether the classifier sees the sensitive column(s).
    balanced_groups : bool, default=False
        Passed to ``model.sample``.
    n_samples : int, optional
        Rows per synthetic table (default: as many as the training table).
    margin : float, default=0.0
        Room kept below ``target_dp`` on ``real_test``: the metric must reach
        ``target_dp - margin`` there, so that ``target_dp`` also holds on other real rows.
        The same classifier's metric differs between two tables of real rows, and the
        smallest λ that meets the target on one tends to sit where it happens to be low there.
        docs/fairness.md measures how far a DP calibrated on Adult's training rows lands from
        it on the test rows, and what a margin costs in AUC.
    max_fairness, step, tolerance : float
        Search range [0, max_fairness], coarse step, and final bracket width.
    random_state : int, default=0
        Seed of every synthetic table (the same for each λ) and of the classifier.
    n_threads : int or None, default=1
        Thread cap while the classifier fits (see :func:`fairsynth.evaluation.tstr_scores`).

    Returns
    -------
    Calibration
    """
    model = check_model(model)
    real_test = positional(real_test)
    if metric not in METRICS:
        raise ParameterError(f"Unknown metric {metric!r}. Valid: {format_choices(METRICS)}")
    for name, value in (("target_dp", target_dp), ("step", step), ("tolerance", tolerance)):
        if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
            raise ParameterError(f"{name} must be a positive number, got {value!r}.")
    if not (isinstance(margin, (int, float)) and math.isfinite(margin) and 0 <= margin < target_dp):
        raise ParameterError(
            f"margin must be a number from 0 up to target_dp ({target_dp:g}), got {margin!r}."
        )
    goal = float(target_dp) - float(margin)
    columns = by_columns(model, by)
    label = " & ".join(columns)
    total = int(np.sum(model.cell_counts_)) if n_samples is None else n_samples
    options = {
        "selection_rate": prevalence(model),
        "random_state": random_state,
        "n_threads": n_threads,
    }
    tried: dict[float, dict[str, Any]] = {}

    def measure(fairness: float) -> float:
        rows = score_synthetic(
            model,
            real_test,
            fairness,
            sensitive=columns,
            by=columns,
            variants=[sensitive_as_feature],
            models=[reference_model],
            n_samples=total,
            balanced_groups=balanced_groups,
            seed=random_state,
            options=options,
        )
        tried[fairness] = next(r for r in rows if r["attribute"] == label)
        return float(tried[fairness][metric])

    low, high = 0.0, _first_below(measure, goal, step, max_fairness)
    while high is not None and high - low > tolerance:
        below = [f for f in tried if f < high and tried[f][metric] > goal]
        low = max(below, default=0.0)
        if high - low <= tolerance:
            break
        measure(round((low + high) / 2, 10))
        high = min(f for f in tried if f >= low and tried[f][metric] <= goal)
    met = high is not None
    chosen = high if high is not None else min(tried, key=lambda f: tried[f][metric])
    keys = ("auc", "accuracy", "dp", "eo", "dp_at_rate")
    evaluations = pd.DataFrame(list(tried.values()))
    return Calibration(
        fairness=chosen,
        met=met,
        target=float(target_dp),
        metric=metric,
        attribute=label,
        model=reference_model,
        scores={k: float(tried[chosen][k]) for k in keys},
        baseline={k: float(tried[0.0][k]) for k in keys},
        evaluations=evaluations,
        margin=float(margin),
    )


def _first_below(measure: Any, target: float, step: float, max_fairness: float) -> float | None:
    """The first λ on a grid of ``step`` whose metric is at most ``target``, or None.

    The metric falls with λ, passes a minimum near downstream parity and rises again as the
    gap reverses. A minimum passed between two grid points that both miss the target is
    searched again on a grid four times finer, so a narrow dip below the target is not missed.
    """
    values = {0.0: measure(0.0)}
    if values[0.0] <= target:
        return 0.0
    grid = [round(step * i, 10) for i in range(1, int(max_fairness / step + 1e-9) + 1)]
    for k, fairness in enumerate(grid):
        values[fairness] = measure(fairness)
        if values[fairness] <= target:
            return fairness
        previous = [0.0, *grid][: k + 1]
        if len(previous) >= 2 and values[fairness] > values[previous[-1]]:
            start = previous[-2]
            for finer in np.arange(start + step / 4, fairness, step / 4):
                finer = round(float(finer), 10)
                if finer not in values and measure(finer) <= target:
                    return finer
            return None
    return None
