"""The frontier: the knob λ swept, each synthetic table scored downstream, EG beside it.

:func:`fairness_frontier` samples a fitted :class:`~fairsynth.models.fair.FairPTGANSynthesizer` at
each λ and scores the reference classifiers trained on the sample on real held-out rows;
:func:`exponentiated_gradient_scores` scores fairlearn's in-processing reference on the same
rows. Never imports torch itself (the model does).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from fairsynth.evaluation import build_model, gap_metrics, top_share, tstr_scores
from fairsynth.evaluation._prepare import column_kind
from fairsynth.evaluation.fairness import attributes
from fairsynth.exceptions import DataError, ParameterError, format_choices
from fairsynth.labels import group_labels, is_label

if TYPE_CHECKING:
    from fairsynth.models.fair import FairPTGANSynthesizer
from fairsynth.frontier._scoring import (
    FAIRNESS_GRID,
    VARIANTS,
    by_columns,
    check_model,
    long,
    positional,
    prevalence,
    score_synthetic,
)

__all__ = ["exponentiated_gradient_scores", "fairness_frontier"]


def exponentiated_gradient_scores(
    real_train: pd.DataFrame,
    real_test: pd.DataFrame,
    target: str,
    positive_label: Any,
    sensitive: Sequence[str],
    *,
    bounds: Sequence[float] = (0.01, 0.03, 0.06, 0.1),
    constrain: Sequence[str] | None = None,
    sensitive_as_feature: bool = True,
    random_state: int = 0,
) -> pd.DataFrame:
    """fairlearn's ``ExponentiatedGradient(DemographicParity)`` on real rows, the protocol's LogReg.

    The in-processing reference of a frontier: the LogReg pipeline's encoding (fitted on
    ``real_train``) in front of ``LogisticRegression(max_iter=2000)``, trained under a DP
    bound on the groups of ``constrain`` (default: all of ``sensitive``, intersected). ``auc``
    ranks by the mixture's probability ``sum_h w_h P_h(y=1|x)``; ``auc_pmf`` by the randomized
    classifier's chance of predicting positive, ``sum_h w_h h(x)`` (fairlearn's ``_pmf_predict``,
    coarse: a handful of distinct values). DP and EO use its (seeded) randomized predictions,
    DP at a fixed rate the top share of the mixture's probability, and ``dp_mixture`` the
    mixture's probability at the 0.5 threshold: the DP of the deterministic classifier whose
    AUC ``auc`` is, so that a knob's (AUC, DP) can be compared with one classifier's.

    Returns
    -------
    DataFrame
        Rows as in :func:`fairness_frontier` (``source='ExponentiatedGradient'``, the bound in
        ``fairness``).
    """
    from fairlearn.reductions import DemographicParity, ExponentiatedGradient
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, f1_score, roc_auc_score

    real_train, real_test = positional(real_train), positional(real_test)
    constrained = list(sensitive) if constrain is None else list(constrain)
    drop = {target} | (set() if sensitive_as_feature else set(sensitive))
    features = [c for c in real_train.columns if c not in drop]
    numeric = [c for c in features if column_kind(real_train[c]) == "numeric"]
    categorical = [c for c in features if c not in numeric]
    # dense: fairlearn's reductions take no sparse matrices
    encoder = build_model("LogReg", "classification", categorical, numeric, sparse=False)[:-1]
    x_train = encoder.fit_transform(real_train[features])
    x_test = encoder.transform(real_test[features])
    y_train = is_label(real_train[target], positive_label).astype(int)
    y_test = is_label(real_test[target], positive_label).astype(int)
    rate = float(y_train.mean())

    rows = []
    for bound in bounds:
        reduction = ExponentiatedGradient(
            LogisticRegression(max_iter=2000), DemographicParity(difference_bound=bound)
        )
        reduction.fit(x_train, y_train, sensitive_features=group_labels(real_train, constrained))
        mixture = list(zip(reduction.weights_, reduction.predictors_, strict=True))
        score = sum(w * h.predict_proba(x_test)[:, 1] for w, h in mixture)
        pmf = sum(w * h.predict(x_test) for w, h in mixture)
        pred = reduction.predict(x_test, random_state=random_state)
        base = {
            "source": "ExponentiatedGradient",
            "fairness": float(bound),
            "seed": random_state,
            "model": "LogReg",
            "sensitive_feature": "included" if sensitive_as_feature else "excluded",
            "accuracy": accuracy_score(y_test, pred),
            "auc": roc_auc_score(y_test, score),
            "auc_pmf": roc_auc_score(y_test, pmf),
            "f1": f1_score(y_test, pred, zero_division=0.0),
            "macro_f1": f1_score(y_test, pred, average="macro", zero_division=0.0),
        }
        for label, columns in attributes(list(sensitive)):
            groups = group_labels(real_test, columns)
            gaps = gap_metrics(y_test, pred, top_share(score, rate), groups)
            mixture_dp = gap_metrics(y_test, (score >= 0.5).astype(int), None, groups)["dp"]
            rows.append(base | {"attribute": label} | gaps | {"dp_mixture": mixture_dp})
    return pd.DataFrame(rows)


def fairness_frontier(
    model: FairPTGANSynthesizer,
    real_test: pd.DataFrame,
    *,
    fairness: Sequence[float] = FAIRNESS_GRID,
    by: str | Sequence[str] | None = None,
    models: Sequence[str] | None = None,
    sensitive_feature: str = "both",
    balanced_groups: bool = False,
    n_samples: int | None = None,
    seeds: Sequence[int] = (0,),
    real_train: pd.DataFrame | None = None,
    eg_bounds: Sequence[float] = (0.01, 0.03, 0.06, 0.1),
    n_threads: int | None = 1,
) -> pd.DataFrame:
    """Sweep the knob and score the reference classifiers on real rows: the frontier's table.

    Parameters
    ----------
    model : FairPTGANSynthesizer
        A fitted model; it is sampled, never refitted.
    real_test : DataFrame
        Real held-out rows the classifiers are scored on.
    fairness : sequence of float, default=(0, 0.5, 1, 1.5, 2, 2.5)
        The λ values to sweep.
    by : str or list of str, optional
        Sensitive column(s) the knob acts on (``model.sample``'s ``by``).
    models : list of str, optional
        ``'LogReg'``, ``'HistGB'`` (default both).
    sensitive_feature : {'both', 'included', 'excluded'}, default='both'
        Whether the classifiers see the sensitive columns (both: one row each).
    balanced_groups : bool, default=False
        Passed to ``model.sample``.
    n_samples : int, optional
        Rows per synthetic table (default: as many as the training table).
    seeds : sequence of int, default=(0,)
        One synthetic table per seed and λ (the classifier's seed too).
    real_train : DataFrame, optional
        The real training rows: adds the classifiers trained on them (``source='real data'``)
        and ExponentiatedGradient at each of ``eg_bounds`` (empty: none).
    n_threads : int or None, default=1
        Thread cap while the classifiers fit.

    Returns
    -------
    DataFrame
        One row per (source, fairness, seed, model, sensitive_feature, attribute) with
        ``accuracy``, ``auc``, ``f1``, ``macro_f1``, ``dp``, ``eo`` and ``dp_at_rate``. The
        attributes are each sensitive column of the model and, with several, their
        intersection; DP at a fixed rate uses the real training prevalence.
    """
    model = check_model(model)
    if sensitive_feature not in VARIANTS:
        raise ParameterError(
            f"sensitive_feature must be one of {format_choices(VARIANTS)}, "
            f"got {sensitive_feature!r}."
        )
    if not len(fairness) or not len(seeds):
        raise ParameterError("fairness and seeds must each hold at least one value.")
    for column in [*model._sensitive, str(model.target)]:
        if column not in real_test.columns:
            raise DataError(
                f"Column {column!r} is not in real_test. "
                f"Available: {format_choices(real_test.columns)}"
            )
    columns, sensitive = by_columns(model, by), model._sensitive
    real_test = positional(real_test)
    real_train = None if real_train is None else positional(real_train)
    total = int(np.sum(model.cell_counts_)) if n_samples is None else n_samples
    rows: list[dict[str, Any]] = []
    for seed in seeds:
        options = {
            "selection_rate": prevalence(model),
            "random_state": int(seed),
            "n_threads": n_threads,
        }
        for value in fairness:
            rows += score_synthetic(
                model,
                real_test,
                float(value),
                sensitive=sensitive,
                by=columns,
                variants=VARIANTS[sensitive_feature],
                models=models,
                n_samples=total,
                balanced_groups=balanced_groups,
                seed=int(seed),
                options=options,
            )
    if real_train is not None:
        target, positive = str(model.target), model.positive_label
        for with_sensitive in VARIANTS[sensitive_feature]:
            scores = tstr_scores(
                real_train,
                real_test,
                target,
                positive,
                sensitive,
                models=models,
                sensitive_as_feature=with_sensitive,
                random_state=int(seeds[0]),
                n_threads=n_threads,
            )
            rows += long(
                scores, with_sensitive, source="real data", fairness=np.nan, seed=int(seeds[0])
            )
            if eg_bounds and (models is None or "LogReg" in models):
                rows += exponentiated_gradient_scores(
                    real_train,
                    real_test,
                    target,
                    positive,
                    sensitive,
                    bounds=eg_bounds,
                    constrain=columns,
                    sensitive_as_feature=with_sensitive,
                    random_state=int(seeds[0]),
                ).to_dict("records")
    return pd.DataFrame(rows).assign(by=" & ".join(columns))
