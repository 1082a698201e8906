"""The fairness knob in the user's units: its frontier, and calibration to a downstream target.

A :class:`~fairsynth.models.fair.FairPTGANSynthesizer` is fitted once; here its knob λ is swept, the
evaluation module's reference classifiers (LogReg, HistGB) are trained on each synthetic table
and scored on real held-out rows (accuracy, AUC, and per sensitive attribute the demographic
parity difference, equalized odds difference and DP at a fixed selection rate), beside the same
models trained on the real rows and fairlearn's ``ExponentiatedGradient(DemographicParity)``,
the in-processing reference. Never imports torch itself (the model does).

:mod:`~fairsynth.frontier.sweep` sweeps λ and scores ExponentiatedGradient beside it,
:mod:`~fairsynth.frontier.calibrate` finds the λ that reaches a downstream target and
:mod:`~fairsynth.frontier.plot` draws a frontier table; ``_scoring`` holds what they share.
"""

from __future__ import annotations

from fairsynth.frontier._scoring import FAIRNESS_GRID
from fairsynth.frontier.calibrate import Calibration, calibrate_fairness
from fairsynth.frontier.plot import plot_frontier
from fairsynth.frontier.sweep import exponentiated_gradient_scores, fairness_frontier

__all__ = [
    "FAIRNESS_GRID",
    "Calibration",
    "calibrate_fairness",
    "exponentiated_gradient_scores",
    "fairness_frontier",
    "plot_frontier",
]
