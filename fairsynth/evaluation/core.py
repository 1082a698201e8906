"""One call that scores a synthetic table against real data, section by section."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import numpy as np
import pandas as pd

from fairsynth.evaluation._prepare import Issue, Prepared, limit_threads, prepare, seed_of
from fairsynth.evaluation._progress import Progress
from fairsynth.evaluation._result import SectionResult
from fairsynth.evaluation.fairness import fairness_section
from fairsynth.evaluation.fidelity import fidelity_section
from fairsynth.evaluation.privacy import privacy_section
from fairsynth.evaluation.report import DIRECTIONS, EvaluationReport
from fairsynth.evaluation.utility import (
    SENSITIVE_FEATURE,
    Prediction,
    downstream_predictions,
    utility_section,
)
from fairsynth.exceptions import ParameterError, format_choices

__all__ = ["SECTIONS", "evaluate"]

SECTIONS = ("utility", "fidelity", "fairness", "privacy")


def _versions() -> dict[str, str]:
    out = {}
    for package in ("fairsynth", "scikit-learn", "sdmetrics", "fairlearn", "pandas", "numpy"):
        try:
            out[package] = version(package)
        except PackageNotFoundError:
            out[package] = "unknown"
    return out


def _check_sections(sections: str | Iterable[str]) -> list[str]:
    chosen = [sections] if isinstance(sections, str) else list(sections)
    unknown = [s for s in chosen if s not in SECTIONS]
    if unknown or not chosen:
        raise ParameterError(
            f"Unknown sections {format_choices(unknown)}. Choose from {format_choices(SECTIONS)}."
        )
    return [s for s in SECTIONS if s in chosen]


def _positive_int(value: int, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 10:
        raise ParameterError(f"{name} must be an integer of at least 10, got {value!r}.")
    return int(value)


def evaluate(
    real_train: pd.DataFrame,
    synthetic: pd.DataFrame,
    *,
    real_test: pd.DataFrame | None = None,
    target: str | None = None,
    positive_label: Any = None,
    sensitive: str | Sequence[str] = (),
    discrete_columns: Sequence[str] | None = None,
    task: str = "auto",
    sections: str | Iterable[str] = SECTIONS,
    models: Sequence[str] | None = None,
    sensitive_feature: str = "both",
    reference: bool = True,
    detection_rows: int = 5000,
    column_detection_rows: int | None = 1000,
    quality_rows: int | None = 50_000,
    model_rows: int | None = 50_000,
    privacy_rows: int = 10000,
    random_state: int | np.random.Generator | None = 0,
    n_threads: int | None = 1,
    verbose: bool = False,
) -> EvaluationReport:
    """Score a synthetic table for fidelity, downstream utility, fairness and privacy.

    Works on any two DataFrames with the same columns, so that every synthesizer and
    baseline is scored by the same code. The protocol is docs/evaluation.md.

    Parameters
    ----------
    real_train : DataFrame
        The real table the synthesizer learnt from; the reference for column kinds.
    synthetic : DataFrame
        The table to score: the columns of ``real_train`` (it may lack the target; the report
        then says which entries could not be computed).
    real_test : DataFrame, optional
        Real rows the synthesizer never saw. Utility, downstream fairness, the held-out
        fidelity scores and the privacy comparison need it.
    target : str, optional
        Outcome column for the downstream models and the fairness section.
    positive_label : object
        The favourable value of a class target, pinned (``'1'`` also matches 1 and 1.0).
    sensitive : str or list of str
        Sensitive columns; each one and their intersection are scored. Missing values form
        their own group.
    discrete_columns : list of str, optional
        Numeric columns to treat as categories (a class target always is one).
    task : {'auto', 'classification', 'regression'}
        'auto' means regression when no positive label is given and the target is numeric
        with more than 20 distinct values.
    sections : str or list of str, default all
        Any of 'utility', 'fidelity', 'fairness', 'privacy'. Fewer sections run faster.
    models : list of str, optional
        Downstream models, a subset of 'LogReg', 'HistGB' ('Ridge', 'HistGB' for regression).
    sensitive_feature : {'both', 'included', 'excluded'}
        Whether the downstream models see the sensitive columns; 'both' fits each way.
    reference : bool, default True
        Also compute each figure for real data, shown as ``reference``: the downstream models
        trained on ``real_train`` (the ceiling), and the fidelity scores and detection AUC of
        ``real_test`` against ``real_train``. They do not depend on the synthetic table, so a
        caller scoring many tables can switch them off.
    detection_rows : int, default 5000
        Rows drawn from each table for the detection classifier.
    column_detection_rows : int or None, default 1000
        Rows of each table (the first of those drawn for detection) for the per-column
        detection table: each column alone, and every column but that one, with 10 boosting
        iterations (the whole-table classifier has 100). None skips the table.
    quality_rows : int or None, default 50000
        Rows drawn from each larger table for SDMetrics' Quality report and the pictures'
        data (SDMetrics' own default subsample of pairs is also 50,000); the Quality notes
        say when a table was cut. None uses every row.
    model_rows : int or None, default 50000
        Rows drawn from a larger synthetic or real training table to train the downstream
        models on (both alike; every test row is scored); the notes say when. None uses
        every row.
    privacy_rows : int, default 10000
        Synthetic and held-out rows whose distance to the closest record is measured (all
        synthetic rows are checked for exact copies).
    random_state : int, Generator or None, default 0
        Seed of everything stochastic. The global RNGs are not touched.
    n_threads : int or None, default 1
        Cap on the OpenMP and BLAS threads while evaluating (threadpoolctl, restored
        afterwards). The models are small; on a machine whose cores are busy with other work
        one thread made the gradient-boosting fits 4-8 times faster than two. With 2 or more,
        the per-column detection models are spread over that many worker processes instead,
        shut down when they are done (the same figures). On an idle 2-core machine 2 threads
        evaluate a 200,000-row, 42-column table in 110 s (docs/evaluation.md, "Large
        tables"). None leaves the thread settings as they are (one worker process a core).
    verbose : bool, default False
        Report progress on standard error: a bar on a terminal, a line per step otherwise.

    Returns
    -------
    EvaluationReport
        ``summary()``, ``tables``, ``to_json``, ``to_html``.

    Raises
    ------
    DataError, ParameterError
        Inputs that cannot be scored: mismatched columns or column kinds, a target or
        sensitive column that is not in the data, a positive label that does not occur.

    Examples
    --------
    >>> from fairsynth.datasets import load_dataset
    >>> ds = load_dataset("german")
    >>> report = evaluate(ds.train, ds.train, real_test=ds.test, target="credit",
    ...                   positive_label="good", sensitive="sex", sections=["privacy"])
    >>> summary = report.summary().set_index("metric")
    >>> float(summary.loc["share of exact copies of training rows", "value"])
    1.0
    """
    start = time.perf_counter()
    chosen = _check_sections(sections)
    if sensitive_feature not in SENSITIVE_FEATURE:
        raise ParameterError(
            f"sensitive_feature must be one of {format_choices(SENSITIVE_FEATURE)}, "
            f"got {sensitive_feature!r}."
        )
    detection_rows = _positive_int(detection_rows, "detection_rows")
    if column_detection_rows is not None:
        column_detection_rows = _positive_int(column_detection_rows, "column_detection_rows")
    if quality_rows is not None:
        quality_rows = _positive_int(quality_rows, "quality_rows")
    if model_rows is not None:
        model_rows = _positive_int(model_rows, "model_rows")
    privacy_rows = _positive_int(privacy_rows, "privacy_rows")
    seed = seed_of(random_state)
    prepared = prepare(
        real_train,
        synthetic,
        real_test,
        target=target,
        positive_label=positive_label,
        sensitive=sensitive,
        discrete_columns=discrete_columns,
        task=task,
    )
    timings: dict[str, float] = {"prepare": time.perf_counter() - start}
    downstream = bool({"utility", "fairness"} & set(chosen)) and prepared.task is not None
    progress = Progress(["downstream models"] * downstream + chosen, enabled=verbose)
    try:
        with limit_threads(n_threads):
            results = _run_sections(
                prepared,
                chosen,
                timings,
                seed,
                progress,
                models=models,
                sensitive_feature=sensitive_feature,
                reference=reference,
                n_threads=n_threads,
                rows={
                    "detection": detection_rows,
                    "column_detection": column_detection_rows,
                    "quality": quality_rows,
                    "models": model_rows,
                    "privacy": privacy_rows,
                },
            )
    finally:
        progress.close()
    timings["total"] = time.perf_counter() - start
    settings = {
        "target": target,
        "positive_label": positive_label,
        "task": prepared.task,
        "sensitive": prepared.sensitive,
        "sections": chosen,
        "models": list(models) if models is not None else None,
        "sensitive_feature": sensitive_feature,
        "reference": reference,
        "random_state": seed,
        "rows": {
            "real_train": len(prepared.train),
            "synthetic": len(prepared.synthetic),
            "real_test": None if prepared.test is None else len(prepared.test),
        },
        "detection_rows": detection_rows,
        "column_detection_rows": column_detection_rows,
        "quality_rows": quality_rows,
        "model_rows": model_rows,
        "privacy_rows": privacy_rows,
        "n_threads": n_threads,
        "versions": _versions(),
        "seconds": timings,
    }
    return _assemble(prepared.issues, results, settings)


def _run_sections(
    prepared: Prepared,
    chosen: list[str],
    timings: dict[str, float],
    seed: int,
    progress: Progress,
    *,
    models: Sequence[str] | None,
    sensitive_feature: str,
    reference: bool,
    n_threads: int | None,
    rows: dict[str, Any],
) -> list[SectionResult]:
    results: list[SectionResult] = []
    predictions: list[Prediction] = []
    if ("utility" in chosen or "fairness" in chosen) and prepared.task is not None:
        tick = time.perf_counter()
        progress.begin("downstream models")
        predictions, issues = downstream_predictions(
            prepared,
            models=models,
            sensitive_feature=sensitive_feature,
            reference=reference,
            random_state=seed,
            max_rows=rows["models"],
            progress=progress.step,
        )
        results.append(SectionResult(issues=issues))
        timings["downstream models"] = time.perf_counter() - tick
    elif "utility" in chosen:
        results.append(SectionResult(issues=[Issue("utility", "all", "no target given")]))
    runners = {
        "utility": lambda: utility_section(prepared, predictions),
        "fidelity": lambda: fidelity_section(
            prepared,
            detection_rows=rows["detection"],
            column_rows=rows["column_detection"],
            quality_rows=rows["quality"],
            seed=seed,
            reference=reference,
            progress=progress.step,
            n_threads=n_threads,
        ),
        "fairness": lambda: fairness_section(prepared, predictions),
        "privacy": lambda: privacy_section(
            prepared, max_rows=rows["privacy"], seed=seed, progress=progress.step
        ),
    }
    for name in chosen:
        tick = time.perf_counter()
        progress.begin(name)
        results.append(runners[name]())
        timings[name] = timings.get(name, 0.0) + time.perf_counter() - tick
    return results


def _assemble(
    issues: list[Issue], results: list[SectionResult], settings: dict[str, Any]
) -> EvaluationReport:
    tables: dict[str, pd.DataFrame] = {}
    plot_data: dict[str, pd.DataFrame] = {}
    rows = []
    for result in results:
        tables.update(result.tables)
        plot_data.update(result.plot_data)
        rows.extend(result.summary)
        issues = issues + result.issues
    summary = pd.DataFrame(
        rows, columns=["section", "metric", "value", "reference", "direction", "note"]
    )
    summary["direction"] = summary["direction"].map(DIRECTIONS)
    summary[["value", "reference"]] = summary[["value", "reference"]].astype(float)
    tables["notes"] = pd.DataFrame(
        [(i.section, i.item, i.reason) for i in issues], columns=["section", "item", "reason"]
    )
    return EvaluationReport(summary, tables, plot_data, settings)
