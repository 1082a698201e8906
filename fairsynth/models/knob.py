"""The fairness knob's arithmetic: how many rows each (group, outcome) cell gets.

Pure numpy, no model: :func:`outcome_distribution` moves each group's rate of the positive
outcome to ``p_s + λ (p - p_s)``, :func:`allocate` turns probabilities into exact row counts,
which :class:`~fairsynth.models.conditioning.CellPlan` hands out chunk by chunk so that a streamed
sample keeps the totals exactly. :class:`~fairsynth.models.fair.FairPTGANSynthesizer`
generates each row for its cell.
"""

from __future__ import annotations

import math

import numpy as np

from fairsynth.exceptions import ParameterError

__all__ = ["allocate", "cell_shares", "check_fairness", "outcome_distribution"]


def outcome_distribution(
    counts: np.ndarray, positive: int, by_group: np.ndarray, fairness: float
) -> tuple[np.ndarray, np.ndarray]:
    """``P'(Y = k | group)`` under the knob, and the positive rate it asks of each ``by`` group.

    Parameters
    ----------
    counts : array of shape (n_groups, n_categories)
        Real rows per (group, target category).
    positive : int
        Column of the positive category.
    by_group : array of int, shape (n_groups,)
        The group ``b`` of the attribute the knob acts on that each group belongs to (the
        identity when the knob acts on the groups themselves).
    fairness : float
        λ: group ``b``'s positive rate becomes ``p_b + λ (p - p_b)``, clipped to [0, 1].

    Returns
    -------
    probs : array of shape (n_groups, n_categories)
        Rows sum to one. Within ``b`` every group's rate moves by one shift, found so that
        ``b``'s rate is met although a rate near 0 or 1 saturates; the other categories keep
        their proportions within the group.
    asked : array of shape (n_by_groups,)
        The rates ``p_b + λ (p - p_b)`` before clipping.
    """
    counts = np.asarray(counts, dtype=float)
    size = counts.sum(axis=1)
    rate = counts[:, positive] / size
    by_size = np.bincount(by_group, weights=size)
    by_rate = np.bincount(by_group, weights=counts[:, positive]) / by_size
    asked = by_rate + fairness * (counts[:, positive].sum() / size.sum() - by_rate)
    goal = np.clip(asked, 0.0, 1.0)
    low, high = np.full(len(by_size), -1.0), np.full(len(by_size), 1.0)
    for _ in range(60):  # bisection on each shift: the rate met is monotone in it
        mid = (low + high) / 2
        met = np.bincount(by_group, weights=size * np.clip(rate + mid[by_group], 0, 1)) / by_size
        low, high = np.where(met < goal, mid, low), np.where(met < goal, high, mid)
    new_rate = np.clip(rate + ((low + high) / 2)[by_group], 0.0, 1.0)
    rest = np.delete(counts, positive, axis=1)
    overall = rest.sum(axis=0) + 1e-12
    total = rest.sum(axis=1, keepdims=True)
    shares = np.where(total > 0, rest / np.maximum(total, 1.0), overall / overall.sum())
    return np.insert(shares * (1.0 - new_rate)[:, None], positive, new_rate, axis=1), asked


def allocate(n_rows: int, probs: np.ndarray) -> np.ndarray:
    """Split ``n_rows`` over the cells in proportion to ``probs`` (largest remainders)."""
    raw = np.asarray(probs, dtype=float).ravel() * n_rows / np.sum(probs)
    counts = np.floor(raw).astype(np.int64)
    order = np.argsort(-(raw - counts), kind="stable")
    counts[order[: n_rows - int(counts.sum())]] += 1
    return counts


def check_fairness(fairness: object) -> None:
    """Raise ParameterError unless ``fairness`` is a finite number ≥ 0."""
    if isinstance(fairness, bool) or not isinstance(fairness, (int, float, np.number)):
        raise ParameterError(f"fairness must be a number, got {fairness!r}.")
    if not math.isfinite(fairness) or fairness < 0:
        raise ParameterError(
            f"fairness must be a finite number ≥ 0 (0 keeps the data's rates, 1 equalises "
            f"them in the data, about 2 gave downstream parity on Adult); got {fairness!r}."
        )


def cell_shares(
    counts: np.ndarray,
    positive: int,
    by_group: np.ndarray,
    fairness: float,
    balanced_groups: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """A sample's share of each (group, outcome) cell under the knob, and the rates it asks.

    The groups keep the data's sizes, or with ``balanced_groups`` each ``by`` group gets the
    same share; within a group the outcomes follow :func:`outcome_distribution`.
    """
    counts = np.asarray(counts, dtype=float)
    probs, asked = outcome_distribution(counts, positive, by_group, fairness)
    weights = counts.sum(axis=1) / counts.sum()
    if balanced_groups:
        weights = weights / np.bincount(by_group, weights=weights)[by_group]
        weights /= weights.sum()
    return probs * weights[:, None], asked
