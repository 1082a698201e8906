"""The eight-Gaussian ring, the method's toy problem, and its coverage measures."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.utils import check_random_state

__all__ = ["make_ring", "ring_centers", "ring_coverage"]


def ring_centers(n_modes: int = 8, radius: float = 1.5) -> np.ndarray:
    """Centres of ``n_modes`` Gaussians evenly spaced on a circle, shape (n_modes, 2)."""
    angles = 2 * np.pi * np.arange(n_modes) / n_modes
    return radius * np.column_stack([np.cos(angles), np.sin(angles)])


def make_ring(
    n_samples: int = 4000,
    *,
    n_modes: int = 8,
    radius: float = 1.5,
    sd: float = 0.1,
    random_state: Any = None,
) -> pd.DataFrame:
    """Draw ``n_samples`` points from an equal mixture of Gaussians on a ring.

    Returns
    -------
    pandas.DataFrame
        Columns ``x`` and ``y``.

    Examples
    --------
    >>> make_ring(5, random_state=0).shape
    (5, 2)
    """
    rng = check_random_state(random_state)
    centers = ring_centers(n_modes, radius)
    which = rng.randint(n_modes, size=n_samples)
    points = centers[which] + sd * rng.standard_normal((n_samples, 2))
    return pd.DataFrame(points, columns=["x", "y"])


def ring_coverage(
    samples: pd.DataFrame | np.ndarray,
    *,
    n_modes: int = 8,
    radius: float = 1.5,
    sd: float = 0.1,
    min_share: float = 0.01,
) -> tuple[int, float]:
    """Modes covered and share of good samples.

    A sample is *good* when it lies within 3 sd of a mode's centre; a mode is *covered* when at
    least ``min_share`` of all samples are good samples of that mode.

    Returns
    -------
    (modes_covered, good_share)
    """
    points = np.asarray(samples, dtype=float)[:, :2]
    centers = ring_centers(n_modes, radius)
    distances = np.linalg.norm(points[:, None, :] - centers[None, :, :], axis=2)
    nearest = distances.argmin(axis=1)
    good = distances.min(axis=1) <= 3 * sd
    counts = np.bincount(nearest[good], minlength=n_modes)
    covered = int((counts >= min_share * len(points)).sum())
    return covered, float(good.mean())
