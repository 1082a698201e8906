"""The fairness knob in the user's units: its frontier, and calibration to a downstream target.

A :class:`~fairsynth.fair.FairPTGANSynthesizer` is fitted once; here its knob λ is swept, the
evaluation module's reference classifiers (LogReg, HistGB) are trained on each synthetic table
and scored on real held-out rows (accuracy, AUC, and per sensitive attribute the demographic
parity difference, equalized odds difference and DP at a fixed selection rate), beside the same
models trained on the real rows and fairlearn's ``ExponentiatedGradient(DemographicParity)``,
the in-processing reference. Never imports torch itself (the model does).

Calibrate on a table you do not report on: choosing λ on the test rows and then quoting the
test rows' DP flatters the result.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from fairsynth.evaluation import build_model, gap_metrics, label_gap, top_share, tstr_scores
from fairsynth.evaluation._prepare import column_kind
from fairsynth.evaluation.fairness import attributes
from fairsynth.exceptions import DataError, ParameterError, format_choices
from fairsynth.labels import group_labels, is_label
from fairsynth.output import open_output

if TYPE_CHECKING:
    from fairsynth.fair import FairPTGANSynthesizer

__all__ = [
    "FAIRNESS_GRID",
    "Calibration",
    "calibrate_fairness",
    "exponentiated_gradient_scores",
    "fairness_frontier",
    "plot_frontier",
]

FAIRNESS_GRID = (0.0, 0.5, 1.0, 1.5, 2.0, 2.5)
_METRICS = ("dp", "eo", "dp_at_rate")
_VARIANTS = {"included": [True], "excluded": [False], "both": [True, False]}


@dataclass
class Calibration:
    """The λ found by :func:`calibrate_fairness` and what it costs.

    Attributes
    ----------
    fairness : float
        The smallest λ tried whose downstream metric met the target (the last one tried, with
        the lowest metric, when none did: see ``met``).
    met : bool
        Whether the target was reached within ``max_fairness``.
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

    @property
    def auc_cost(self) -> float:
        """AUC lost against λ = 0 (negative: a gain)."""
        return self.baseline["auc"] - self.scores["auc"]

    def __str__(self) -> str:
        s, b = self.scores, self.baseline
        verdict = "met" if self.met else "NOT met"
        return (
            f"λ = {self.fairness:.3g} ({verdict}: {self.metric} ≤ {self.target:g} on "
            f"{self.attribute}, {self.model}): AUC {s['auc']:.3f} (λ=0: {b['auc']:.3f}), "
            f"DP {s['dp']:.3f} (λ=0: {b['dp']:.3f}), EO {s['eo']:.3f} (λ=0: {b['eo']:.3f}), "
            f"DP at fixed rate {s['dp_at_rate']:.3f}"
        )


def _by_columns(model: FairPTGANSynthesizer, by: str | Sequence[str] | None) -> list[str]:
    sensitive = model._sensitive
    names = sensitive if by is None else [by] if isinstance(by, str) else list(by)
    if not names or any(c not in sensitive for c in names):
        raise ParameterError(
            f"by={by!r} must name sensitive columns of the model. "
            f"Valid: {format_choices(sensitive)}"
        )
    return [c for c in sensitive if c in names]


def _check_model(model: Any) -> FairPTGANSynthesizer:
    from fairsynth.fair import FairPTGANSynthesizer

    if not isinstance(model, FairPTGANSynthesizer):
        raise ParameterError(
            f"Expected a fitted FairPTGANSynthesizer, got {type(model).__name__}; the knob "
            "needs a model conditioned on the sensitive column(s) and the target."
        )
    model._check_fitted()
    return model


def _prevalence(model: FairPTGANSynthesizer) -> float:
    counts = np.asarray(model.cell_counts_, dtype=float)
    return float(counts[:, model.positive_index_].sum() / counts.sum())


def _long(scores: pd.DataFrame, with_sensitive: bool, **key: Any) -> list[dict[str, Any]]:
    """One row per (model, attribute) from a ``tstr_scores`` table."""
    rows = []
    labels = sorted({c[c.index("[") + 1 : -1] for c in scores.columns if c.startswith("dp[")})
    for name, row in scores.iterrows():
        base = {"model": name, "sensitive_feature": "included" if with_sensitive else "excluded"}
        base |= {m: row[m] for m in ("accuracy", "auc", "f1", "macro_f1")}
        for label in labels:
            metrics = {m: row[f"{m}[{label}]"] for m in _METRICS}
            rows.append(key | base | {"attribute": label} | metrics)
    return rows


def _score_synthetic(
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
        rows += _long(scores, with_sensitive, source="FairPTGAN", fairness=fairness, seed=seed)
    return [row | {"data_gap": gaps[row["attribute"]]} for row in rows]


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
    max_fairness: float = 3.0,
    step: float = 0.5,
    tolerance: float = 0.05,
    random_state: int = 0,
    n_threads: int | None = 1,
) -> Calibration:
    """Find the smallest λ at which a model trained on the synthetic rows meets a DP target.

    λ is raised in steps of ``step`` from 0 until ``metric`` of ``reference_model``, trained on
    ``model.sample(n_samples, fairness=λ)`` and scored on ``real_test``, is at most
    ``target_dp``; the crossing is then refined by bisection to ``tolerance``. Should the
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
    model = _check_model(model)
    real_test = _positional(real_test)
    if metric not in _METRICS:
        raise ParameterError(f"Unknown metric {metric!r}. Valid: {format_choices(_METRICS)}")
    for name, value in (("target_dp", target_dp), ("step", step), ("tolerance", tolerance)):
        if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
            raise ParameterError(f"{name} must be a positive number, got {value!r}.")
    columns = _by_columns(model, by)
    label = " & ".join(columns)
    total = int(np.sum(model.cell_counts_)) if n_samples is None else n_samples
    options = {
        "selection_rate": _prevalence(model),
        "random_state": random_state,
        "n_threads": n_threads,
    }
    tried: dict[float, dict[str, Any]] = {}

    def measure(fairness: float) -> float:
        rows = _score_synthetic(
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

    low, high = 0.0, _first_below(measure, target_dp, step, max_fairness)
    while high is not None and high - low > tolerance:
        below = [f for f in tried if f < high and tried[f][metric] > target_dp]
        low = max(below, default=0.0)
        if high - low <= tolerance:
            break
        measure(round((low + high) / 2, 10))
        high = min(f for f in tried if f >= low and tried[f][metric] <= target_dp)
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


def _positional(frame: pd.DataFrame) -> pd.DataFrame:
    # tstr_scores (evaluation._prepare.clean) realigns columns on a RangeIndex, which scrambles
    # a table with any other index (a subsample, say) against its labels: pass RangeIndex only.
    return frame.reset_index(drop=True)


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

    real_train, real_test = _positional(real_train), _positional(real_test)
    constrained = list(sensitive) if constrain is None else list(constrain)
    drop = {target} | (set() if sensitive_as_feature else set(sensitive))
    features = [c for c in real_train.columns if c not in drop]
    numeric = [c for c in features if column_kind(real_train[c]) == "numeric"]
    categorical = [c for c in features if c not in numeric]
    encoder = build_model("LogReg", "classification", categorical, numerical=numeric)[:-1]
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
    model = _check_model(model)
    if sensitive_feature not in _VARIANTS:
        raise ParameterError(
            f"sensitive_feature must be one of {format_choices(_VARIANTS)}, "
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
    columns, sensitive = _by_columns(model, by), model._sensitive
    real_test = _positional(real_test)
    real_train = None if real_train is None else _positional(real_train)
    total = int(np.sum(model.cell_counts_)) if n_samples is None else n_samples
    rows: list[dict[str, Any]] = []
    for seed in seeds:
        options = {
            "selection_rate": _prevalence(model),
            "random_state": int(seed),
            "n_threads": n_threads,
        }
        for value in fairness:
            rows += _score_synthetic(
                model,
                real_test,
                float(value),
                sensitive=sensitive,
                by=columns,
                variants=_VARIANTS[sensitive_feature],
                models=models,
                n_samples=total,
                balanced_groups=balanced_groups,
                seed=int(seed),
                options=options,
            )
    if real_train is not None:
        target, positive = str(model.target), model.positive_label
        for with_sensitive in _VARIANTS[sensitive_feature]:
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
            rows += _long(
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


def plot_frontier(
    table: pd.DataFrame,
    path: str | Path,
    *,
    attribute: str | None = None,
    sensitive_feature: str = "included",
    peers: pd.DataFrame | None = None,
    title: str | None = None,
) -> Path:
    """Draw AUC against DP, EO and DP at a fixed rate from a :func:`fairness_frontier` table.

    FairPTGAN's λ sweep is a line per classifier (mean over seeds, λ written at each point),
    ExponentiatedGradient a dashed line, the classifiers trained on real data a star; ``peers``
    (columns ``source``, ``model``, ``auc``, ``dp``, ``eo``) adds fixed points of other systems.
    Writes a PNG (or any format matplotlib knows by the suffix; none: PNG) atomically through
    :func:`fairsynth.output.open_output` and returns its path.
    """
    from matplotlib.figure import Figure

    if attribute is None:
        attribute = str(table["by"].iloc[0]) if "by" in table else str(table["attribute"].iloc[0])
    mine = table[
        (table["attribute"] == attribute) & (table["sensitive_feature"] == sensitive_feature)
    ]
    if mine.empty:
        raise ParameterError(
            f"No rows for attribute {attribute!r} with the sensitive feature {sensitive_feature}."
            f" Attributes: {format_choices(table['attribute'].unique())}"
        )
    fig = Figure(figsize=(15, 4.6), layout="constrained")
    axes = fig.subplots(1, 3, sharey=True)
    means = (
        mine.groupby(["source", "model", "fairness"], dropna=False)[["auc", *_METRICS]]
        .mean()
        .reset_index()
    )
    styles = {"LogReg": "tab:blue", "HistGB": "tab:orange"}
    for ax, metric in zip(axes, _METRICS, strict=True):
        for (source, name), part in means.groupby(["source", "model"]):
            color = styles.get(str(name), "tab:gray")
            if source == "real data":
                ax.plot(
                    part[metric], part["auc"], "*", ms=14, color=color, label=f"{name} on real data"
                )
                continue
            dashed = source == "ExponentiatedGradient"
            part = part.sort_values("fairness")
            ax.plot(
                part[metric],
                part["auc"],
                "s--" if dashed else "o-",
                color=color,
                alpha=0.7 if dashed else 1.0,
                label=f"{name}: {source}",
            )
            if not dashed:
                for _, point in part.iterrows():
                    ax.annotate(
                        f"{point['fairness']:g}",
                        (point[metric], point["auc"]),
                        textcoords="offset points",
                        xytext=(4, 4),
                        fontsize=7,
                    )
        if peers is not None and metric in peers:
            for _, peer in peers[peers["attribute"] == attribute].iterrows():
                ax.plot(
                    peer[metric],
                    peer["auc"],
                    "x",
                    ms=9,
                    mew=2,
                    color=styles.get(str(peer["model"]), "k"),
                    label=f"{peer['model']}: {peer['source']}",
                )
        names = {"dp": "DP difference", "eo": "EO difference", "dp_at_rate": "DP at fixed rate"}
        ax.set_xlabel(f"{names[metric]} on real test ({attribute})")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("ROC AUC on real test")
    axes[0].legend(fontsize=7, loc="lower right")
    fig.suptitle(
        title
        or f"Fairness knob λ (numbers at points), by {attribute}; "
        f"sensitive feature {sensitive_feature}"
    )
    out = Path(path)
    with open_output(out) as handle:  # atomic, like every other output
        fig.savefig(handle, format=out.suffix.lstrip(".").lower() or "png", dpi=110)
    return out
