"""Row caps for large tables: which statistics may use a sample of the rows, and how many.

Every cap draws rows at random from its own seeded generator (never the global one) and the
report says which tables were cut and to how many rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from fairsynth.evaluation._prepare import Prepared

__all__ = ["by_chunks", "cut_rows", "rows_used", "subsample"]

_PREDICT_ROWS = 10_000  # test rows encoded and scored at a time


def subsample(prepared: Prepared, max_rows: int | None, seed: int) -> Prepared:
    """The same view with at most ``max_rows`` rows of each table, drawn without replacement.

    For statistics of the columns' distributions and relations only: the target arrays are
    dropped, since they no longer match the rows.
    """
    if max_rows is None:
        return prepared
    rng = np.random.default_rng([seed, 11])

    def draw(frame: pd.DataFrame) -> pd.DataFrame:
        if len(frame) <= max_rows:
            return frame
        chosen = np.sort(rng.choice(len(frame), max_rows, replace=False))
        return frame.iloc[chosen].reset_index(drop=True)

    test = None if prepared.test is None else draw(prepared.test)
    return replace(
        prepared,
        train=draw(prepared.train),
        synthetic=draw(prepared.synthetic),
        test=test,
        y_train=None,
        y_synthetic=None,
        y_test=None,
    )


def rows_used(full: Prepared, used: Prepared) -> str:
    """'' when no table was cut; else which tables were cut, and to how many rows."""
    names = {"real_train": "train", "synthetic": "synthetic", "real_test": "test"}
    cut = []
    for name, attribute in names.items():
        before, after = getattr(full, attribute), getattr(used, attribute)
        if before is not None and len(after) < len(before):
            cut.append(f"{name} {len(after):,} of {len(before):,}")
    return "" if not cut else "SDMetrics on rows drawn at random: " + ", ".join(cut)


def cut_rows(
    sources: dict[str, tuple[pd.DataFrame, np.ndarray | None]], max_rows: int, seed: int
) -> tuple[dict[str, tuple[pd.DataFrame, np.ndarray | None]], str]:
    """At most ``max_rows`` rows of each training table, and a note naming the tables cut."""
    rng = np.random.default_rng([seed, 13])
    out, cut = {}, []
    for name, (frame, y) in sources.items():
        if len(frame) <= max_rows:
            out[name] = (frame, y)
            continue
        rows = np.sort(rng.choice(len(frame), max_rows, replace=False))
        out[name] = (frame.iloc[rows].reset_index(drop=True), None if y is None else y[rows])
        cut.append(f"{name} {max_rows:,} of {len(frame):,}")
    note = "models trained on rows drawn at random: " + ", ".join(cut) if cut else ""
    return out, note


def by_chunks(method: Callable[[pd.DataFrame], Any], features: pd.DataFrame) -> np.ndarray:
    """Return ``method(features)``, computed a slice of rows at a time.

    The one-hot encoding in front of the downstream models is dense: 100,000 test rows of
    a table with 600 categories would take half a gigabyte at once.
    """
    parts = [
        np.asarray(method(features.iloc[start : start + _PREDICT_ROWS]))
        for start in range(0, len(features), _PREDICT_ROWS)
    ]
    return np.concatenate(parts) if parts else np.asarray(method(features))
