"""Evaluation of synthetic tables: utility, fidelity, fairness and privacy on held-out data.

Works on any two DataFrames (real and synthetic) and never imports torch, so it scores
fairsynth's synthesizers and every baseline by the same code. See docs/evaluation.md.

>>> from fairsynth.evaluation import evaluate  # doctest: +SKIP
>>> report = evaluate(real_train, synthetic, real_test=real_test, target="income",
...                   positive_label=">50K", sensitive=["sex", "race"])  # doctest: +SKIP
>>> report.summary()  # doctest: +SKIP
"""

from __future__ import annotations

from fairsynth.evaluation.core import SECTIONS, evaluate
from fairsynth.evaluation.detection import column_detection, detection_auc
from fairsynth.evaluation.fairness import gap_metrics, label_gap, top_share
from fairsynth.evaluation.fidelity import category_coverage, quality_scores
from fairsynth.evaluation.privacy import closest_distances, exact_copies
from fairsynth.evaluation.report import EvaluationReport
from fairsynth.evaluation.utility import build_model, tstr_scores

__all__ = [
    "SECTIONS",
    "EvaluationReport",
    "build_model",
    "category_coverage",
    "closest_distances",
    "column_detection",
    "detection_auc",
    "evaluate",
    "exact_copies",
    "gap_metrics",
    "label_gap",
    "quality_scores",
    "top_share",
    "tstr_scores",
]
