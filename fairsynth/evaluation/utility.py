"""Downstream usefulness: train on synthetic, test on real (TSTR), beside train on real (TRTR).

The reference models of the protocol, ``LogisticRegression(max_iter=2000)`` and
``HistGradientBoostingClassifier``, each behind one-hot encoding of the categories
(``handle_unknown='ignore'``) and standard scaling of the numbers (a median imputer fills
missing numbers first; it does nothing on complete data). A classification target is
binarised against the pinned positive label, so F1 is the positive class's and macro-F1
averages it with the rest. Regression targets get ``Ridge`` and
``HistGradientBoostingRegressor`` with R² and MAE.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import (
    accuracy_score,
    f1_score,
    mean_absolute_error,
    r2_score,
    roc_auc_score,
)
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from fairsynth.evaluation._prepare import (
    Issue,
    Prepared,
    group_labels,
    limit_threads,
    prepare,
    seed_of,
)
from fairsynth.evaluation._result import SectionResult, SummaryRow
from fairsynth.evaluation._rows import by_chunks, cut_rows
from fairsynth.evaluation.fairness import attributes, gap_metrics, top_share
from fairsynth.exceptions import ParameterError, format_choices

__all__ = [
    "CLASSIFIERS",
    "REGRESSORS",
    "Prediction",
    "build_model",
    "downstream_predictions",
    "tstr_scores",
    "utility_section",
]

CLASSIFIERS: dict[str, Callable[[int], BaseEstimator]] = {
    "LogReg": lambda seed: LogisticRegression(max_iter=2000),
    "HistGB": lambda seed: HistGradientBoostingClassifier(random_state=seed),
}
REGRESSORS: dict[str, Callable[[int], BaseEstimator]] = {
    "Ridge": lambda seed: Ridge(),
    "HistGB": lambda seed: HistGradientBoostingRegressor(random_state=seed),
}
SENSITIVE_FEATURE = ("both", "included", "excluded")
SPARSE_MODELS = frozenset({"LogReg"})  # take the one-hot block sparse (same fit, faster)


@dataclass
class Prediction:
    """One downstream model's output on the real test table.

    ``pred`` is the 0/1 prediction at the 0.5 threshold (the value for regression), ``score``
    the probability of the positive label, ``pred_at_rate`` the prediction at the fixed
    selection rate. All three are None and ``note`` says why when the model could not be fit.
    """

    model: str
    trained_on: str
    with_sensitive: bool
    pred: np.ndarray | None = None
    score: np.ndarray | None = None
    pred_at_rate: np.ndarray | None = None
    seconds: float = np.nan
    note: str = ""


def build_model(
    name: str,
    task: str,
    categorical: Sequence[str],
    numerical: Sequence[str],
    seed: int = 0,
    *,
    sparse: bool | None = None,
) -> Pipeline:
    """The protocol's pipeline: one-hot + scaling in front of the named model.

    ``sparse`` (None: for the models in :data:`SPARSE_MODELS`) hands the one-hot block to the
    model as a sparse matrix. The model and its optimum are the same; LogReg on Adult fits 4
    times faster (0.16 against 0.70 s) with the same test AUC (0.903334) and probabilities
    within 3e-7 of the dense fit's, and 8 times faster on the 600 one-hot columns of the
    wide table (docs/evaluation.md, "Large tables").
    """
    registry = CLASSIFIERS if task == "classification" else REGRESSORS
    if name not in registry:
        raise ParameterError(
            f"Unknown {task} model {name!r}. Available: {format_choices(registry)}"
        )
    sparse = name in SPARSE_MODELS if sparse is None else sparse
    encode = ColumnTransformer(
        [
            (
                "cat",
                OneHotEncoder(handle_unknown="ignore", sparse_output=sparse),
                list(categorical),
            ),
            (
                "num",
                make_pipeline(
                    SimpleImputer(strategy="median", keep_empty_features=True), StandardScaler()
                ),
                list(numerical),
            ),
        ]
    )
    return make_pipeline(encode, registry[name](seed))


def _unusable(y: np.ndarray | None, task: str | None, table: str, prepared: Prepared) -> str:
    """Why a model cannot learn from these labels, or '' when it can."""
    if task is None:
        return "no target given"
    if y is None:
        return f"target '{prepared.target}' is missing from the {table} table"
    if task == "classification" and (y.all() or not y.any()):
        which = "only" if y.all() else "no"
        return (
            f"target '{prepared.target}' is constant in the {table} table "
            f"({which} rows with {prepared.positive_label!r})"
        )
    if task == "regression" and np.nanstd(y) == 0:
        return f"target '{prepared.target}' is constant in the {table} table"
    return ""


def _fit_predict(
    prediction: Prediction,
    train: tuple[pd.DataFrame, np.ndarray],
    test: pd.DataFrame,
    prepared: Prepared,
    seed: int,
    selection_rate: float,
) -> list[Issue]:
    categorical, numerical = prepared.features(with_sensitive=prediction.with_sensitive)
    if not categorical and not numerical:
        prediction.note = "no feature columns left"
        return []
    assert prepared.task is not None
    model = build_model(prediction.model, prepared.task, categorical, numerical, seed)
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        model.fit(train[0][categorical + numerical], train[1])
    prediction.seconds = time.perf_counter() - start
    features = test[categorical + numerical]
    if prepared.task == "classification":
        positive = list(model.classes_).index(True)
        prediction.score = by_chunks(model.predict_proba, features)[:, positive]
        prediction.pred = (by_chunks(model.predict, features) == True).astype(int)  # noqa: E712
        prediction.pred_at_rate = top_share(prediction.score, selection_rate)
    else:
        prediction.pred = np.asarray(by_chunks(model.predict, features), dtype=float)
    return [
        Issue("utility", f"{prediction.model} trained on {prediction.trained_on}", str(w.message))
        for w in caught
        if issubclass(w.category, ConvergenceWarning)
    ]


def downstream_predictions(
    prepared: Prepared,
    *,
    models: Sequence[str] | None = None,
    sensitive_feature: str = "both",
    reference: bool = True,
    random_state: int = 0,
    max_rows: int | None = None,
    progress: Callable[[str], None] | None = None,
) -> tuple[list[Prediction], list[Issue]]:
    """Fit each model on the synthetic (and real) training table; predict the real test table.

    The fixed selection rate is the real training table's share of positive labels, the same
    for every model, so that a generator that only shrinks the positive rate gains nothing.
    A training table longer than ``max_rows`` is cut to that many rows drawn at random (the
    synthetic and the real one alike, so the comparison stays even); the test table never
    is. ``progress`` is told of each fit before it starts.
    """
    if prepared.test is None:
        return [], [Issue("utility", "all", "needs real_test (held-out real rows)")]
    if sensitive_feature not in SENSITIVE_FEATURE:
        raise ParameterError(
            f"sensitive_feature must be one of {format_choices(SENSITIVE_FEATURE)}, "
            f"got {sensitive_feature!r}."
        )
    registry = CLASSIFIERS if prepared.task == "classification" else REGRESSORS
    names = list(registry) if models is None else list(models)
    for name in names:
        if name not in registry:
            raise ParameterError(f"Unknown model {name!r}. Available: {format_choices(registry)}")
    variants = [sensitive_feature != "excluded"]
    if sensitive_feature == "both" and prepared.sensitive:
        variants = [True, False]
    sources = {"synthetic": (prepared.synthetic, prepared.y_synthetic)}
    if reference:
        sources["real"] = (prepared.train, prepared.y_train)
    predictions, issues = [], []
    if max_rows is not None:
        sources, cut = cut_rows(sources, max_rows, random_state)
        if cut:
            issues.append(Issue("utility", "training rows", cut))
    rate = np.nan
    if prepared.task == "classification" and prepared.y_train is not None:
        rate = float(np.mean(prepared.y_train))
    for trained_on, (frame, y) in sources.items():
        reason = _unusable(y, prepared.task, trained_on, prepared)
        for with_sensitive in variants:
            for name in names:
                prediction = Prediction(name, trained_on, with_sensitive, note=reason)
                predictions.append(prediction)
                if not reason:
                    assert y is not None
                    if progress is not None:
                        sensitive = "with" if with_sensitive else "without"
                        progress(f"{name} on {trained_on} rows, {sensitive} S ({len(y):,} rows)")
                    fit = _fit_predict(
                        prediction, (frame, y), prepared.test, prepared, random_state, rate
                    )
                    issues.extend(fit)
        if reason:
            issues.append(Issue("utility", f"models trained on {trained_on}", reason))
    return predictions, issues


def _scores(task: str | None, y: np.ndarray | None, prediction: Prediction) -> dict[str, float]:
    if prediction.pred is None or y is None:
        names = ["accuracy", "auc", "f1", "macro_f1"] if task == "classification" else ["r2", "mae"]
        return dict.fromkeys(names, np.nan)
    if task == "regression":
        return {"r2": r2_score(y, prediction.pred), "mae": mean_absolute_error(y, prediction.pred)}
    y = y.astype(int)
    return {
        "accuracy": accuracy_score(y, prediction.pred),
        "auc": roc_auc_score(y, prediction.score),
        "f1": f1_score(y, prediction.pred, pos_label=1, zero_division=0.0),
        "macro_f1": f1_score(y, prediction.pred, average="macro", zero_division=0.0),
    }


def utility_table(prepared: Prepared, predictions: Sequence[Prediction]) -> pd.DataFrame:
    """One row per fitted model: where it was trained, with or without S, and its scores."""
    rows = []
    for p in predictions:
        rows.append(
            {
                "model": p.model,
                "trained_on": p.trained_on,
                "sensitive_feature": "included" if p.with_sensitive else "excluded",
                **_scores(prepared.task, prepared.y_test, p),
                "fit_seconds": p.seconds,
                "note": p.note,
            }
        )
    return pd.DataFrame(rows)


def utility_section(prepared: Prepared, predictions: Sequence[Prediction]) -> SectionResult:
    """The ``utility`` table and headline TSTR figures with the TRTR ceiling as reference."""
    result = SectionResult()
    if not predictions:
        return result
    table = utility_table(prepared, predictions)
    result.tables["utility"] = table
    shown = table[table["sensitive_feature"] == table["sensitive_feature"].iloc[0]]
    metrics = {"accuracy": "higher", "auc": "higher"}
    if prepared.task == "regression":
        metrics = {"r2": "higher", "mae": "lower"}
    for model in shown["model"].unique():
        mine = shown[shown["model"] == model].set_index("trained_on")
        note = str(mine["note"].get("synthetic", ""))
        for metric, direction in metrics.items():
            label = {"auc": "AUC", "r2": "R²", "mae": "MAE"}.get(metric, metric)
            result.summary.append(
                SummaryRow(
                    "utility",
                    f"{model} {label} (train synthetic, test real)",
                    float(mine[metric].get("synthetic", np.nan)),
                    float(mine[metric].get("real", np.nan)),
                    direction,  # type: ignore[arg-type]
                    note,
                )
            )
    return result


def tstr_scores(
    train_frame: pd.DataFrame,
    test_frame: pd.DataFrame,
    target: str,
    positive_label: Any = None,
    sensitive: str | Sequence[str] = (),
    *,
    models: Sequence[str] | None = None,
    sensitive_as_feature: bool = True,
    selection_rate: float | None = None,
    discrete_columns: Sequence[str] | None = None,
    task: str = "auto",
    random_state: int | np.random.Generator | None = 0,
    n_threads: int | None = 1,
) -> pd.DataFrame:
    """Train the reference models on ``train_frame``, score them on the real ``test_frame``.

    The building block of the utility and fairness sections, for callers that score many
    tables (a fairness frontier, a benchmark) and need no report.

    Parameters
    ----------
    train_frame : DataFrame
        Table to train on (synthetic, or real for the ceiling); it must have the target.
    test_frame : DataFrame
        Real held-out table with the same columns; column kinds are read from it.
    target, positive_label : str, object
        The outcome column and its favourable value (required for a class label).
    sensitive : str or list of str
        Sensitive columns; each one and their intersection get DP/EO columns.
    models : list of str, optional
        Subset of ``CLASSIFIERS`` (``'LogReg'``, ``'HistGB'``) or ``REGRESSORS``; all by default.
    sensitive_as_feature : bool, default True
        Whether the sensitive columns are features of the models.
    selection_rate : float, optional
        Share predicted positive for ``dp_at_rate``; default the share of positive labels in
        ``train_frame`` (:func:`evaluate` passes the real training table's share).
    discrete_columns : list of str, optional
        Numeric columns to treat as categories.
    task : {'auto', 'classification', 'regression'}
    random_state : int, Generator or None, default 0
        Seed of the gradient-boosting model (0 is the protocol's).
    n_threads : int or None, default 1
        Cap on OpenMP/BLAS threads while fitting (see :func:`evaluate`); None: no cap.

    Returns
    -------
    DataFrame
        One row per model (index ``model``) with ``accuracy``, ``auc``, ``f1``, ``macro_f1``
        (or ``r2``, ``mae``), ``fit_seconds`` and, per attribute ``a``, ``dp[a]``, ``eo[a]``
        and ``dp_at_rate[a]``.

    Examples
    --------
    >>> from fairsynth.datasets import load_dataset
    >>> ds = load_dataset("german")
    >>> s = tstr_scores(ds.train, ds.test, "credit", "good", ["sex"], models=["LogReg"])
    >>> list(s.columns[:4]), bool(0.5 < s.loc["LogReg", "auc"] <= 1)
    (['accuracy', 'auc', 'f1', 'macro_f1'], True)
    """
    prepared = prepare(
        test_frame,
        train_frame,
        None,
        target=target,
        positive_label=positive_label,
        sensitive=sensitive,
        discrete_columns=discrete_columns,
        task=task,
        names=("test_frame", "train_frame", ""),
    )
    reason = _unusable(prepared.y_synthetic, prepared.task, "train_frame", prepared)
    if reason:
        raise ParameterError(f"Cannot train on train_frame: {reason}.")
    # prepare() read test_frame as the real reference (its first table) and train_frame in
    # the synthetic role: train on the latter, score on the former.
    assert prepared.y_synthetic is not None and prepared.y_train is not None
    train, y_train = prepared.synthetic, prepared.y_synthetic
    test, y_test = prepared.train, prepared.y_train
    rate = float(np.mean(y_train)) if selection_rate is None else float(selection_rate)
    if not 0 <= rate <= 1:
        raise ParameterError(f"selection_rate must lie in [0, 1], got {selection_rate}.")
    registry = CLASSIFIERS if prepared.task == "classification" else REGRESSORS
    seed = seed_of(random_state)
    rows = {}
    for name in registry if models is None else models:
        prediction = Prediction(name, "train_frame", sensitive_as_feature)
        with limit_threads(n_threads):
            _fit_predict(prediction, (train, y_train), test, prepared, seed, rate)
        row = _scores(prepared.task, y_test, prediction) | {"fit_seconds": prediction.seconds}
        if prepared.task == "classification" and prediction.pred is not None:
            for attribute, columns in attributes(prepared.sensitive):
                groups = group_labels(test, columns)
                gaps = gap_metrics(y_test, prediction.pred, prediction.pred_at_rate, groups)
                row |= {f"{metric}[{attribute}]": value for metric, value in gaps.items()}
        rows[name] = row
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("model")
