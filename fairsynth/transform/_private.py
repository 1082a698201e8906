"""Differentially private statistics of a column, for a transform that must not leak them.

A private fit (docs/privacy.md) needs, for each column the user's metadata does not describe,
the values it may take: a discrete column's categories and a numeric column's bounds. Read from
the table as given, these are statistics of the real rows (a rare category, an extreme value),
so they are released here by two mechanisms, each differentially private with respect to adding
or removing one row:

- **Categories: Laplace partition selection** (Korolova, Kenthapadi, Mishra & Ntoulas 2009,
  "Releasing search queries and clicks privately", WWW; the L0 = 1 case of Gopi et al. 2020,
  "Differentially private set union", ICML; Wilson et al. 2020, "Differentially private SQL
  with bounded user contribution", PoPETs). Each distinct value (missing aside) is a
  partition; a row adds 1 to exactly one of them. Its count plus Laplace noise of scale
  ``1/ε`` is released if above ``τ = 1 + ln(1 / (2δ)) / ε``; only which values pass is kept,
  never a count. Values of a partition that one row alone could create pass with probability
  at most δ, so the release is (ε, δ)-DP.
- **Bounds: a noisy log-scale histogram** (in the spirit of the approximate bounds of Google's
  differential-privacy library and Wilson et al. 2020). A fixed, data-independent set of bins
  covers the real line (0; ``±[2^(k/B), 2^((k+1)/B))`` for ``|x|`` from ``2^-20`` to
  ``2^64``, ``B`` bins an octave): a row adds 1 to one bin, each bin's count gets
  Laplace noise of scale ``1/ε`` (ε-DP: the histogram of a fixed domain), and the bounds are
  the outer edges of the lowest and highest bins whose noisy count passes a threshold chosen so
  that an empty bin passes with probability below 1e-3 over all bins (post-processing). The
  bounds are exact to a factor ``2^(1/B)``; values outside them are clipped.

A numeric column's point masses (values held by a share of the rows, like the zeros of a
capital-gain column) are released by the partition selection too, with the share of the rows
as a second threshold.

Neither release is a count: a private column keeps a last category (a missing block for a
number) whatever the data, and the values not released are encoded there, so the layout of
the transform depends on the released values alone.

Several columns compose by basic composition: the ε (and δ) of each column add up
(Dwork & Roth 2014, Theorem 3.16). The noise comes from a seed drawn from the operating system
(``secrets``), never from ``random_state``, which is saved in the model file. The Laplace
draws are numpy's floating-point ones, not a snapping mechanism (Mironov 2012): as for
DP-SGD's Gaussian noise, the guarantee is that of the ideal mechanism.
"""

from __future__ import annotations

import math
import secrets
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["category_threshold", "numeric_threshold", "private_bounds", "private_categories"]

BINS_PER_OCTAVE = 2
_LOWEST_OCTAVE, _HIGHEST_OCTAVE = -20, 64  # |x| below 2**-20 shares the smallest bins
_FALSE_BIN = 1e-3  # chance that some empty bin passes the bounds' threshold
_N_MAGNITUDES = (_HIGHEST_OCTAVE - _LOWEST_OCTAVE) * BINS_PER_OCTAVE
_N_BINS = 2 * _N_MAGNITUDES + 2  # missing (not counted), negative, zero, positive


def secret_rng() -> np.random.Generator:
    """A numpy Generator nobody can rebuild (not from ``random_state``, which is saved)."""
    return np.random.default_rng(secrets.randbits(128))


def category_threshold(epsilon: float, delta: float) -> float:
    """The noisy count a category must pass: ``1 + ln(1 / (2δ)) / ε``."""
    return 1.0 + math.log(1.0 / (2.0 * delta)) / epsilon


def numeric_threshold(epsilon: float) -> float:
    """The noisy count a bin must pass: an empty bin passes with probability below 1e-3."""
    return math.log(_N_BINS / (2.0 * _FALSE_BIN)) / epsilon


def private_categories(
    series: pd.Series,
    epsilon: float,
    delta: float,
    rng: np.random.Generator,
    least: float = 0.0,
) -> list[Any]:
    """The values of ``series`` released by Laplace partition selection; (ε, δ)-DP.

    Missing values are not a partition: a privately selected column always keeps a last
    category for missing and for the values not released (docs/privacy.md). ``least``: a
    value's noisy count must pass this too (a numeric column's point masses, held by a share
    of the rows; a higher threshold is post-processing of the noisy counts). The released
    values are sorted where they compare.
    """
    present = series[series.notna()].to_numpy(dtype=object)
    codes, uniques = pd.factorize(present, sort=False)
    counts = np.bincount(codes, minlength=len(uniques))
    noisy = counts + rng.laplace(0.0, 1.0 / epsilon, len(counts))
    passed = noisy > max(category_threshold(epsilon, delta), least)
    kept = [v for v, ok in zip(uniques, passed, strict=True) if ok]
    try:
        return sorted(kept)
    except TypeError:  # mixed types: keep the order of appearance
        return kept


def _bins(values: np.ndarray) -> np.ndarray:
    """The bin of each value, in increasing order of value (0: missing, never counted).

    Bins ``1 .. M``: negative magnitudes, largest first; ``M + 1``: zero; ``M + 2 ..``:
    positive magnitudes, smallest first (``M`` magnitude levels of ``2^(1/B)`` each).
    """
    out = np.zeros(len(values), dtype=np.int64)
    present = ~np.isnan(values)
    x = values[present]
    with np.errstate(divide="ignore"):
        level = np.floor(np.log2(np.abs(x)) * BINS_PER_OCTAVE) - _LOWEST_OCTAVE * BINS_PER_OCTAVE
    level = np.clip(level, 0, _N_MAGNITUDES - 1).astype(np.int64)
    zero = _N_MAGNITUDES + 1
    out[present] = np.where(x == 0, zero, np.where(x > 0, zero + 1 + level, zero - 1 - level))
    return out


def _edges(bin_index: int) -> tuple[float, float]:
    """The interval ``[low, high]`` of a value bin (see :func:`_bins`)."""
    zero = _N_MAGNITUDES + 1
    if bin_index == zero:
        return 0.0, 0.0
    level = abs(bin_index - zero) - 1
    low = 0.0 if level == 0 else 2.0 ** (level / BINS_PER_OCTAVE + _LOWEST_OCTAVE)
    high = 2.0 ** ((level + 1) / BINS_PER_OCTAVE + _LOWEST_OCTAVE)
    return (low, high) if bin_index > zero else (-high, -low)


def private_bounds(
    values: np.ndarray, epsilon: float, rng: np.random.Generator
) -> tuple[float, float] | None:
    """Bounds of a numeric column from a noisy log-scale histogram; ε-DP.

    Parameters
    ----------
    values : ndarray of float
        The column, NaN where missing (missing values are not counted).
    epsilon : float
        The ε this column's release may spend.
    rng : numpy.random.Generator
        The noise's source (:func:`secret_rng`).

    Returns
    -------
    (float, float) or None
        The outer edges of the lowest and highest bins that passed; None when none did.
    """
    values = np.asarray(values, dtype=np.float64)
    counts = np.bincount(_bins(values[~np.isnan(values)]), minlength=_N_BINS)
    noisy = counts + rng.laplace(0.0, 1.0 / epsilon, _N_BINS)
    passed = np.flatnonzero(noisy[1:] > numeric_threshold(epsilon)) + 1
    if not len(passed):
        return None
    return _edges(int(passed.min()))[0], _edges(int(passed.max()))[1]
