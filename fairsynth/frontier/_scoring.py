"""What the frontier and the calibration share: checks of the model, and synthetic rows scored."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from fairsynth.evaluation import label_gap, tstr_scores
from fairsynth.evaluation.fairness import attributes
from fairsynth.exceptions import ParameterError, format_choices
from fairsynth.labels import group_labels, is_label

if TYPE_CHECKING:
    from fairsynth.models.fair import FairPTGANSynthesizer

FAIRNESS_GRID = (0.0, 0.5, 1.0, 1.5, 2.0, 2.5)
METRICS = ("dp", "eo", "dp_at_rate")
VARIANTS = {"included": [True], "excluded": [False], "both": [True, False]}


def by_columns(model: FairPTGANSynthesizer, by: str | Sequence[str] | None) -> list[str]:
    sensitive = model._sensitive
    names = sensitive if by is None else [by] if isinstance(by, str) else list(by)
    if not names or any(c not in sensitive for c in names):
        raise ParameterError(
            f"by={by!r} must name sensitive columns of the model. "
            f"Valid: {format_choices(sensitive)}"
        )
    return [c for c in sensitive if c in names]


def check_model(model: Any) -> FairPTGANSynthesizer:
    from fairsynth.models.fair import FairPTGANSynthesizer

    if not isinstance(model, FairPTGANSynthesizer):
        raise ParameterError(
            f"Expected a fitted FairPTGANSynthesizer, got {type(model).__name__}; the knob "
            "needs a model conditioned on the sensitive column(s) and the target."
        )
    model._check_fitted()
    return model


def prevalence(model: FairPTGANSynthesizer) -> float:
    counts = np.asarray(model.cell_counts_, dtype=float)
    return float(counts[:, model.positive_index_].sum() / counts.sum())


def long(scores: pd.DataFrame, with_sensitive: bool, **key: Any) -> list[dict[str, Any]]:
    """One row per (model, attribute) from a ``tstr_scores`` table."""
    rows = []
    labels = sorted({c[c.index("[") + 1 : -1] for c in scores.columns if c.startswith("dp[")})
    for name, row in scores.iterrows():
        base = {"model": name, "sensitive_feature": "included" if with_sensitive else "excluded"}
        base |= {m: row[m] for m in ("accuracy", "auc", "f1", "macro_f1")}
        for label in labels:
            metrics = {m: row[f"{m}[{label}]"] for m in METRICS}
            rows.append(key | base | {"attribute": label} | metrics)
    return rows


def score_synthetic(
    model: FairPTGANSynthesizer,
    real_test: pd.DataFrame,
    fairness: float,
    *,
    sensitive: Sequence[str],
    by: Sequence[str],
    variants: Sequence[bool],
    models: Sequence[str] | None,
    n_samples: int,
    balanced_groups: bool,
    seed: int,
    options: dict[str, Any],
) -> list[dict[str, Any]]:
    synthetic = model.sample(
        n_samples, fairness=fairness, by=by, balanced_groups=balanced_groups, random_state=seed
    )
    rows: list[dict[str, Any]] = []
    y = is_label(synthetic[str(model.target)], model.positive_label)
    gaps = {
        label: label_gap(y, group_labels(synthetic, cols)) for label, cols in attributes(sensitive)
    }
    for with_sensitive in variants:
        scores = tstr_scores(
            synthetic,
            real_test,
            str(model.target),
            model.positive_label,
            list(sensitive),
            models=models,
            sensitive_as_feature=with_sensitive,
            **options,
        )
        rows += long(scores, with_sensitive, source="FairPTGAN", fairness=fairness, seed=seed)
    return [row | {"data_gap": gaps[row["attribute"]]} for row in rows]


def positional(frame: pd.DataFrame) -> pd.DataFrame:
    # tstr_scores (evaluation._prepare.clean) realigns columns on a RangeIndex, which scrambles
    # a table with any other index (a subsample, say) against its labels: pass RangeIndex only.
    return frame.reset_index(drop=True)
