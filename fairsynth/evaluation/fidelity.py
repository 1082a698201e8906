"""Fidelity: SDMetrics Quality, a real-versus-synthetic detection AUC, category coverage.

Quality is SDMetrics 0.32's single-table ``QualityReport``: Column Shapes (KSComplement for
numbers, TVComplement for categories) and Column Pair Trends, whose average counts only the
pairs strongly related in the real data: \\|Pearson r\\| > 0.5 for two numeric columns, Cramér's
V > 0.3 for any other pair. It is scored against the real training table and again against
the real test table, since a generator that copies its training rows looks perfect on the
first only.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import warnings
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any, Literal

import numpy as np
import pandas as pd

from fairsynth.evaluation._plotdata import association_data, distribution_data
from fairsynth.evaluation._prepare import Issue, Prepared
from fairsynth.evaluation._result import SectionResult, SummaryRow
from fairsynth.evaluation._rows import rows_used, subsample
from fairsynth.evaluation.detection import detection_auc, detection_part

__all__ = [
    "category_coverage",
    "detection_auc",
    "fidelity_section",
    "quality_scores",
]


class _NoTorch(importlib.abc.MetaPathFinder):
    """Make ``import torch`` fail while SDMetrics is imported.

    SDMetrics imports torch at import time only for its Bayesian-network likelihood metric,
    which this module never uses; loading torch would cost a second and hundreds of MB.
    """

    def find_spec(
        self, fullname: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname == "torch" or fullname.startswith("torch."):
            raise ModuleNotFoundError(f"No module named {fullname!r}", name=fullname)
        return None


class _LazyTorch:
    """Stands in for torch inside SDMetrics' Bayesian-network module; imports it on use."""

    def __getattr__(self, name: str) -> Any:
        return getattr(importlib.import_module("torch"), name)


def _quality_report_class() -> Any:
    """Import SDMetrics' single-table QualityReport without loading torch."""
    guard = None if "torch" in sys.modules or "sdmetrics" in sys.modules else _NoTorch()
    if guard is not None:
        sys.meta_path.insert(0, guard)
    try:
        with warnings.catch_warnings():
            # We use the single-table report on purpose: it is the protocol's pinned metric.
            warnings.filterwarnings("ignore", "The single table quality", FutureWarning)
            from sdmetrics.reports.single_table import QualityReport
    finally:
        if guard is not None:
            sys.meta_path.remove(guard)
    bayesian = sys.modules.get("sdmetrics.single_table.bayesian_network")
    if bayesian is not None and getattr(bayesian, "torch", 0) is None:
        if importlib.util.find_spec("torch") is not None:
            bayesian.torch = _LazyTorch()  # type: ignore[attr-defined]  # metric stays usable
    return QualityReport


def quality_scores(
    real: pd.DataFrame, synthetic: pd.DataFrame, numerical: Sequence[str] = ()
) -> tuple[dict[str, float], pd.DataFrame, pd.DataFrame]:
    """SDMetrics Quality, Column Shapes and Column Pair Trends of ``synthetic`` against ``real``.

    Parameters
    ----------
    real, synthetic : DataFrame
        Tables with the same columns; ``numerical`` ones are numbers, the rest categories.

    Returns
    -------
    scores : dict
        ``Quality``, ``Column Shapes``, ``Column Pair Trends`` (NaN when no pair of columns
        meets the thresholds) and the thresholds themselves.
    shapes, pairs : DataFrame
        SDMetrics' per-column and per-pair details.
    """
    real, synthetic = _category_codes(real, synthetic, numerical)
    report_class = _quality_report_class()
    metadata = {
        "columns": {
            c: {"sdtype": "numerical" if c in numerical else "categorical"} for c in real.columns
        }
    }
    report = report_class()
    report.num_rows_subsample = None  # SDMetrics would subsample through the global RNG
    report.generate(real, synthetic, metadata, verbose=False)
    properties = report.get_properties().set_index("Property")["Score"]
    scores = {
        "Quality": float(report.get_score()),
        "Column Shapes": float(properties["Column Shapes"]),
        "Column Pair Trends": float(properties["Column Pair Trends"]),
        "real_correlation_threshold": float(report.real_correlation_threshold),
        "real_association_threshold": float(report.real_association_threshold),
    }
    return scores, report.get_details("Column Shapes"), report.get_details("Column Pair Trends")


def _category_codes(
    real: pd.DataFrame, synthetic: pd.DataFrame, numerical: Sequence[str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Both tables with each categorical column's values replaced by shared numeric codes.

    SDMetrics groups every pair of columns by value; on text columns pandas hashes the
    strings again for each of the pairs (861 on a 42-column table), on codes it does not.
    A code stands for one value in both tables and a missing value stays missing, so every
    score and detail is the same (checked to the last digit on Adult, COMPAS, German and the
    wide table, with missing and unseen categories): 2.7 against 5.6 s a report on 50,000
    rows of the wide table.
    """
    real, synthetic = real.copy(), synthetic.copy()
    for column in real.columns:
        if column in numerical:
            continue
        codes = pd.factorize(pd.concat([real[column], synthetic[column]], ignore_index=True))[0]
        values = np.where(codes < 0, np.nan, codes.astype(float))
        real[column], synthetic[column] = values[: len(real)], values[len(real) :]
    return real, synthetic


def category_coverage(
    real: pd.DataFrame, synthetic: pd.DataFrame, categorical: Sequence[str]
) -> pd.DataFrame:
    """Per categorical column, the share of the real categories that the synthetic table has.

    Also lists up to five missing categories and counts synthetic values never seen in the
    real table (invalid values).
    """
    rows = []
    for column in categorical:
        if column not in synthetic.columns:
            continue
        seen = set(real[column].unique())
        made = set(synthetic[column].unique())
        missing = sorted(seen - made)
        rows.append(
            {
                "column": column,
                "n_real_categories": len(seen),
                "n_covered": len(seen & made),
                "coverage": len(seen & made) / len(seen),
                "missing_categories": ", ".join(missing[:5]) + (", …" if len(missing) > 5 else ""),
                "n_unseen_values": int((~synthetic[column].isin(seen)).sum()),
            }
        )
    return pd.DataFrame(rows)


def _quality_rows(
    prepared: Prepared,
    columns: list[str],
    numerical: list[str],
    with_reference: bool,
    progress: Callable[[str], None],
) -> tuple[list[dict[str, Any]], dict[str, pd.DataFrame]]:
    """Quality against each real table; the reference scores the other real table instead."""
    real = {"real_train": prepared.train[columns]}
    if prepared.test is not None:
        real["real_test"] = prepared.test[columns]
    rows, details = [], {}
    for name, frame in real.items():
        progress(f"SDMetrics Quality vs {name}")
        scores, shapes, pairs = quality_scores(frame, prepared.synthetic[columns], numerical)
        other = [n for n in real if n != name]
        reference = dict.fromkeys(scores, np.nan)
        if other and with_reference:
            progress(f"SDMetrics Quality of {other[0]} vs {name} (reference)")
            reference = quality_scores(frame, real[other[0]], numerical)[0]
        meets = pairs["Meets Threshold?"].astype("boolean").fillna(False) if len(pairs) else []
        note = (
            f"mean over the {int(np.sum(meets))} of {len(pairs)} pairs related in {name}: "
            f"|Pearson r| > {scores['real_correlation_threshold']:g} (two numeric columns), "
            f"Cramér's V > {scores['real_association_threshold']:g} (other pairs)"
        )
        for metric in ("Quality", "Column Shapes", "Column Pair Trends"):
            rows.append(
                {
                    "metric": metric,
                    "against": name,
                    "value": scores[metric],
                    "reference": reference[metric],
                    "note": note if metric == "Column Pair Trends" else "",
                }
            )
        details[f"shapes:{name}"] = shapes.rename(columns={"Score": name})
        details[f"pairs:{name}"] = pairs
    return rows, details


def _coverage_row(
    prepared: Prepared, categorical: list[str], result: SectionResult
) -> list[dict[str, Any]]:
    coverage = category_coverage(prepared.train, prepared.synthetic, categorical)
    if not len(coverage):
        result.issues.append(Issue("fidelity", "Category coverage", "no categorical columns"))
        return []
    coverage_test = np.nan
    if prepared.test is not None:
        held_out = category_coverage(prepared.train, prepared.test, categorical)
        coverage["coverage_real_test"] = held_out["coverage"].to_numpy()
        coverage_test = float(held_out["coverage"].mean())
    result.tables["coverage"] = coverage
    return [
        {
            "metric": "Category coverage",
            "against": "real_train",
            "value": float(coverage["coverage"].mean()),
            "reference": coverage_test,
            "note": f"mean over {len(coverage)} categorical columns",
        }
    ]


def fidelity_section(
    prepared: Prepared,
    *,
    detection_rows: int,
    seed: int,
    reference: bool = True,
    column_rows: int | None = 1000,
    quality_rows: int | None = None,
    progress: Callable[[str], None] = lambda detail: None,
    n_threads: int | None = 1,
) -> SectionResult:
    """The fidelity section: Quality, detection (whole table and per column), coverage.

    Tables ``fidelity``, ``detection_columns``, ``column_shapes``, ``column_pair_trends`` and
    ``coverage``.

    With ``reference``, every row also has the same figure for the other real table (the real
    test table scored as if it were synthetic): what genuinely fresh real data scores.
    ``quality_rows`` caps the rows of each table that SDMetrics and the pictures use;
    ``column_rows`` those of the per-column detection table (None: no such table), whose
    models ``n_threads`` worker processes share (see ``column_detection``).
    """
    result = SectionResult()
    columns = list(prepared.synthetic.columns)
    numerical = [c for c in prepared.numerical if c in columns]
    categorical = [c for c in prepared.categorical if c in columns]
    sampled = subsample(prepared, quality_rows, seed)
    rows, details = _quality_rows(sampled, columns, numerical, reference, progress)
    cut = rows_used(prepared, sampled)
    for row in rows:
        row["note"] = "; ".join(part for part in (row["note"], cut) if part)
    detection, tables = detection_part(
        prepared,
        categorical,
        numerical,
        detection_rows=detection_rows,
        column_rows=column_rows,
        seed=seed,
        reference=reference,
        progress=progress,
        n_threads=n_threads,
    )
    rows += detection
    rows += _coverage_row(prepared, categorical, result)
    table = pd.DataFrame(rows)
    result.tables["fidelity"] = table
    result.tables.update(tables)
    shapes = details["shapes:real_train"]
    if "shapes:real_test" in details:
        shapes = shapes.merge(details["shapes:real_test"], on=["Column", "Metric"], how="left")
    result.tables["column_shapes"] = shapes.rename(columns={"Column": "column", "Metric": "metric"})
    result.tables["column_pair_trends"] = details["pairs:real_train"]
    progress("data for the pictures")
    result.plot_data["distributions"] = distribution_data(sampled)
    result.plot_data["associations"] = association_data(sampled)
    for _, row in table.iterrows():
        if row["metric"] in ("Quality", "Category coverage") or row["metric"].startswith(
            "Detection AUC"
        ):
            direction: Literal["higher", "lower"] = (
                "lower" if row["metric"].startswith("Detection AUC") else "higher"
            )
            result.summary.append(
                SummaryRow(
                    "fidelity",
                    f"{row['metric']} (vs {row['against']})",
                    row["value"],
                    row["reference"],
                    direction,
                    row["note"] if row["metric"] != "Category coverage" else "",
                )
            )
    return result
