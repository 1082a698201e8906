"""The numeric encoding shared by the detection classifier and the distance to closest record."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["MixedEncoder"]


class MixedEncoder:
    """Numbers scaled to [0, 1] by the real range, categories one-hot scaled by 1/sqrt(2).

    With this scaling the squared Euclidean distance between two rows is the sum of the
    squared differences of the scaled numbers plus the number of categorical mismatches, a
    Gower-like distance that lets a BLAS-backed nearest-neighbour search do the work.
    Missing numbers take the real median; unseen categories encode as all zeros.
    """

    def __init__(self, categorical: Sequence[str], numerical: Sequence[str]) -> None:
        self.categorical = list(categorical)
        self.numerical = list(numerical)

    def fit(self, frame: pd.DataFrame) -> MixedEncoder:
        numbers = frame[self.numerical]
        self.median_ = numbers.median().fillna(0.0)
        low, high = numbers.min().fillna(0.0), numbers.max().fillna(1.0)
        span = high - low
        self.low_, self.span_ = low, span.where(span > 0, 1.0)
        self.levels_ = {c: pd.Index(pd.unique(frame[c])) for c in self.categorical}
        return self

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        numbers = frame[self.numerical].fillna(self.median_)
        blocks = [((numbers - self.low_) / self.span_).to_numpy(dtype=float)]
        for column, levels in self.levels_.items():
            codes = levels.get_indexer(frame[column])
            block = np.zeros((len(frame), len(levels)))
            known = codes >= 0
            block[np.flatnonzero(known), codes[known]] = 1.0 / np.sqrt(2.0)
            blocks.append(block)
        return np.hstack(blocks) if blocks else np.zeros((len(frame), 0))
