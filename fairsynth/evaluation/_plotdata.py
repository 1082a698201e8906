"""The numbers behind the fidelity pictures: per-column histograms and pair associations.

Computed while evaluating (the report keeps no copy of the data) and stored in
``EvaluationReport.plot_data``, so a report read back from JSON still renders its pictures.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fairsynth.evaluation._prepare import Prepared

__all__ = ["association_data", "distribution_data"]


def _cramers_v(a: np.ndarray, b: np.ndarray) -> float:
    """Cramér's V of two integer-coded columns (empty rows and columns dropped)."""
    table = np.zeros((a.max() + 1, b.max() + 1))
    np.add.at(table, (a, b), 1.0)
    table = table[table.sum(axis=1) > 0][:, table.sum(axis=0) > 0]
    if min(table.shape) < 2:
        return np.nan
    expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0, keepdims=True) / table.sum()
    chi2 = float(((table - expected) ** 2 / expected).sum())
    return float(np.sqrt(chi2 / (table.sum() * (min(table.shape) - 1))))


def _codes(real: pd.Series, synthetic: pd.Series, numeric: bool) -> tuple[np.ndarray, ...]:
    if numeric and real.isna().all():
        return np.zeros(len(real), dtype=int), np.zeros(len(synthetic), dtype=int)
    if numeric:
        # Decile edges of the real column; a value equal to an edge goes to the lower bin, so
        # a column that is mostly 0 (capital-gain) still splits into 0 and above 0.
        edges = np.unique(np.nanquantile(real, np.linspace(0.1, 0.9, 9)))
        fill = float(np.nanmedian(real))
        return tuple(np.searchsorted(edges, s.fillna(fill), side="left") for s in (real, synthetic))
    levels = pd.Index(pd.unique(pd.concat([real, synthetic], ignore_index=True)))
    return levels.get_indexer(real), levels.get_indexer(synthetic)


def association_data(prepared: Prepared) -> pd.DataFrame:
    """Cramér's V of every pair of columns in real_train and in synthetic (numbers in deciles)."""
    columns = list(prepared.synthetic.columns)
    codes = {
        c: _codes(prepared.train[c], prepared.synthetic[c], c in prepared.numerical)
        for c in columns
    }
    rows = []
    for i, first in enumerate(columns):
        for second in columns[i + 1 :]:
            rows.append(
                {
                    "column_1": first,
                    "column_2": second,
                    "real": _cramers_v(codes[first][0], codes[second][0]),
                    "synthetic": _cramers_v(codes[first][1], codes[second][1]),
                }
            )
    return pd.DataFrame(rows)


def distribution_data(prepared: Prepared, bins: int = 30, top: int = 12) -> pd.DataFrame:
    """Shares per histogram bin (numbers) or category (top ones, the rest as 'other')."""
    parts = []
    for column in prepared.synthetic.columns:
        real, fake = prepared.train[column], prepared.synthetic[column]
        if column in prepared.numerical:
            values = real.dropna().to_numpy()
            edges = np.histogram_bin_edges(values, bins=bins) if len(values) else np.arange(2.0)
            counts = [
                np.histogram(np.clip(s.dropna(), edges[0], edges[-1]), edges)[0]
                for s in (real, fake)
            ]
            labels = [f"{lo:.4g}" for lo in edges[:-1]]
            left, right = edges[:-1], edges[1:]
        else:
            share = real.value_counts(normalize=True)
            keep = list(share.index[:top])
            counts = [
                s.where(s.isin(keep), "other")
                .value_counts()
                .reindex([*keep, "other"], fill_value=0)
                .to_numpy()
                for s in (real, fake)
            ]
            labels, left, right = (
                [*keep, "other"],
                np.full(len(keep) + 1, np.nan),
                np.full(len(keep) + 1, np.nan),
            )
        parts.append(
            pd.DataFrame(
                {
                    "column": column,
                    "kind": "numeric" if column in prepared.numerical else "categorical",
                    "bin": labels,
                    "left": left,
                    "right": right,
                    "real": counts[0] / max(counts[0].sum(), 1),
                    "synthetic": counts[1] / max(counts[1].sum(), 1),
                }
            )
        )
    return pd.concat(parts, ignore_index=True)
