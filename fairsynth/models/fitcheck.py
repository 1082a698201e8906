"""The end-of-fit check: a quick look at a fitted model's rows that catches a failed fit.

A GAN's losses say little about its rows: fits with normal-looking losses have halved the
association between a feature and the outcome. After ``fit`` the model draws a few thousand
rows and compares them with as many training rows:

- the **detection AUC** of the evaluation protocol (a gradient-boosting classifier told to
  separate real rows from generated ones, 3-fold; 0.5 = indistinguishable);
- the **association of every pair of columns** (Cramér's V of their joint table, numbers cut
  at the real deciles, categories beyond the 20 most frequent pooled): a pair the data
  associates strongly that the rows associate less than half as much is named.

The result is ``fit_check_`` on the model and in its file; a warning names what looks wrong.
Torch-free, so it can also score any two tables.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["check_rows", "fit_check_message"]

STRONG_PAIR = 0.5  # a pair the data associates at least this much (Cramér's V) is watched
WEAK_RATIO = 0.5  # ... and named when the rows keep less than this share of it
FAILED_DETECTION = 0.99  # detection AUC at which the rows are told apart almost always
_BINS = 10
_TOP_CATEGORIES = 20


def _codes(real: pd.Series, synthetic: pd.Series, discrete: bool) -> tuple[np.ndarray, ...]:
    """Integer codes of both columns on the real column's bins or top categories."""
    if not discrete:
        values = pd.to_numeric(real, errors="coerce").to_numpy(dtype=float)
        edges = np.unique(np.nanquantile(values, np.linspace(0, 1, _BINS + 1)[1:-1]))
        other = pd.to_numeric(synthetic, errors="coerce").to_numpy(dtype=float)
        return tuple(
            np.where(np.isnan(v), len(edges) + 1, np.searchsorted(edges, v, side="right"))
            for v in (values, other)
        )
    top = real.astype(str).value_counts().index[:_TOP_CATEGORIES]
    lookup = {value: i for i, value in enumerate(top)}
    return tuple(
        column.astype(str).map(lookup).fillna(len(top)).to_numpy(dtype=np.int64)
        for column in (real, synthetic)
    )


def _cramers_v(a: np.ndarray, b: np.ndarray) -> float:
    """Cramér's V of two integer-coded columns (0: independent, 1: one determines the other)."""
    _, a = np.unique(a, return_inverse=True)
    _, b = np.unique(b, return_inverse=True)
    rows, cols = a.max() + 1, b.max() + 1
    if min(rows, cols) < 2:
        return 0.0
    table = np.bincount(a * cols + b, minlength=rows * cols).reshape(rows, cols).astype(float)
    expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0, keepdims=True) / len(a)
    chi2 = float(np.sum((table - expected) ** 2 / np.where(expected > 0, expected, 1.0)))
    return float(np.sqrt(chi2 / (len(a) * (min(rows, cols) - 1))))


def check_rows(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    discrete: Sequence[str],
    *,
    random_state: int = 0,
    n_threads: int | None = 1,
) -> dict[str, Any]:
    """Detection AUC and the weakened strong pairs of ``synthetic`` against ``real``.

    ``n_threads`` caps the classifier's threads (as in :func:`~fairsynth.evaluation.detection.
    detection_auc`).

    Returns
    -------
    dict
        ``rows`` (of each table), ``detection_auc``, ``weak_pairs`` (each
        ``[column, column, V in real, V in synthetic]``, weakest share first) and
        ``seconds``.
    """
    from fairsynth.evaluation import detection_auc

    started = time.perf_counter()
    n = min(len(real), len(synthetic))
    real = real.sample(n, random_state=random_state) if len(real) > n else real
    columns = [c for c in real.columns if real[c].nunique(dropna=False) > 1]
    is_discrete = {
        c: c in set(discrete) or not pd.api.types.is_numeric_dtype(real[c]) for c in columns
    }
    codes = {c: _codes(real[c], synthetic[c], is_discrete[c]) for c in columns}
    weak = []
    for i, first in enumerate(columns):
        for second in columns[i + 1 :]:
            strength = _cramers_v(codes[first][0], codes[second][0])
            if strength < STRONG_PAIR:
                continue
            kept = _cramers_v(codes[first][1], codes[second][1])
            if kept < WEAK_RATIO * strength:
                weak.append([first, second, round(strength, 3), round(kept, 3)])
    weak.sort(key=lambda pair: pair[3] / pair[2])
    categorical = [c for c in columns if is_discrete[c]]
    numerical = [c for c in columns if not is_discrete[c]]
    auc, rows = detection_auc(
        real, synthetic, categorical, numerical, max_rows=n, random_state=random_state,
        n_threads=n_threads,
    )  # fmt: skip
    return {
        "rows": int(rows),
        "detection_auc": round(float(auc), 4),
        "weak_pairs": weak,
        "seconds": round(time.perf_counter() - started, 2),
    }


def fit_check_message(result: dict[str, Any]) -> str | None:
    """A warning that says what looks wrong in a :func:`check_rows` result, or None."""
    problems = []
    if result["detection_auc"] >= FAILED_DETECTION:
        problems.append(
            f"a classifier tells its rows from real ones almost always (detection AUC "
            f"{result['detection_auc']:.3f} on {result['rows']:,} rows of each)"
        )
    if result["weak_pairs"]:
        pairs = "; ".join(
            f"({a}, {b}) {v:.2f} → {w:.2f}" for a, b, v, w in result["weak_pairs"][:4]
        )
        problems.append(
            f"columns the data associates strongly are less than half as associated in its rows "
            f"(Cramér's V, data → rows): {pairs}"
        )
    if not problems:
        return None
    return (
        "The fit looks failed: "
        + "; and ".join(problems)
        + ". Train longer (epochs), check which columns are discrete, or try another seed."
    )
