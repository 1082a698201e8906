"""A peer's synthetic table scored as the knob's frontier scores its own (shared by the peers)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["score_table", "table_figures"]


def table_figures(dataset: Any, synthetic: pd.DataFrame) -> dict[str, float]:
    """The per-table figures a frontier row carries: positive-label and exact-copy shares."""
    from fairsynth.evaluation import exact_copies
    from fairsynth.labels import is_label

    train = dataset.train.reset_index(drop=True)
    return {
        "positive_share": float(
            np.mean(is_label(synthetic[dataset.target], dataset.positive_label))
        ),
        "exact_copy_share": float(exact_copies(train, synthetic).mean()),
    }


def score_table(
    dataset: Any,
    synthetic: pd.DataFrame,
    *,
    source: str,
    fairness: float,
    seed: int,
    protected: str,
    timing: dict[str, float],
    models: Sequence[str] | None = None,
    sensitive_feature: str = "both",
    n_threads: int | None = 1,
) -> list[dict[str, Any]]:
    """Rows as in :func:`fairsynth.frontier.fairness_frontier` for one synthetic table.

    TSTR on ``dataset.test`` by the evaluation module's classifiers, with and/or without the
    sensitive columns as features (``sensitive_feature``), DP / EO / DP at the training
    prevalence for every sensitive column and their intersection, each row with the table's
    label gap (``data_gap``), ``timing`` (fit and sample seconds), :func:`table_figures` and
    ``protected`` (the column the peer protected).
    """
    from fairsynth.evaluation import label_gap, tstr_scores
    from fairsynth.evaluation.fairness import attributes
    from fairsynth.frontier._scoring import VARIANTS, long
    from fairsynth.labels import group_labels, is_label

    sensitive = list(dataset.sensitive)
    rate = float(np.mean(is_label(dataset.train[dataset.target], dataset.positive_label)))
    y = is_label(synthetic[dataset.target], dataset.positive_label)
    gaps = {
        label: label_gap(y, group_labels(synthetic, columns))
        for label, columns in attributes(sensitive)
    }
    per_table = timing | table_figures(dataset, synthetic) | {"protected": protected}
    rows: list[dict[str, Any]] = []
    for with_sensitive in VARIANTS[sensitive_feature]:
        scores = tstr_scores(
            synthetic,
            dataset.test.reset_index(drop=True),
            dataset.target,
            dataset.positive_label,
            sensitive,
            models=models,
            sensitive_as_feature=with_sensitive,
            selection_rate=rate,
            random_state=int(seed),
            n_threads=n_threads,
        )
        scored = long(scores, with_sensitive, source=source, fairness=float(fairness), seed=seed)
        rows += [r | {"data_gap": gaps[r["attribute"]]} | per_table for r in scored]
    return rows
