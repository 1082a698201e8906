"""Mode-specific normalisation: a fitted 1-D Bayesian Gaussian mixture as plain arrays.

rdt's ``ClusterBasedNormalizer`` (as in CTGAN) only *fits* the mixture; its parameters are copied
out into :class:`Mixture`, which computes the mode posterior, samples a mode per value from a
local numpy Generator and maps values to and from ``(scalar, mode)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import digamma
from threadpoolctl import threadpool_limits

from fairsynth.exceptions import FairsynthError

_STD_MULTIPLIER = 4.0  # as rdt / CTGAN: a mode's values fall within 4 sd, so the scalar in ±1
_SCALAR_LIMIT = 0.99  # rdt / CTGAN clip the scalar here, inside tanh's range
_PROB_FLOOR = 1e-6  # rdt / CTGAN add this to the mode posterior before sampling


@dataclass
class Mixture:
    """A fitted 1-D Bayesian Gaussian mixture as plain arrays (standardised data scale).

    The posterior of component ``k`` at ``z`` is proportional to
    ``exp(const[k] - prec[k] / 2 * (z - mean[k]) ** 2)``: the same quantity scikit-learn's
    ``BayesianGaussianMixture.predict_proba`` computes, with every constant folded into ``const``.
    """

    mean: np.ndarray  # all components
    prec: np.ndarray
    const: np.ndarray
    valid: np.ndarray  # indices of the components used as modes
    mode_mean: np.ndarray  # the valid components, then the tail modes (see add_tails)
    mode_std: np.ndarray

    @classmethod
    def from_bgm(cls, bgm: Any, valid_mask: np.ndarray) -> Mixture:
        if bgm.covariance_type != "full" or bgm.weight_concentration_prior_type != (
            "dirichlet_process"
        ):
            raise FairsynthError("rdt fitted an unexpected kind of mixture; update fairsynth.")
        wc0, wc1 = bgm.weight_concentration_
        dsum = digamma(wc0 + wc1)
        log_w = digamma(wc0) - dsum + np.concatenate([[0.0], np.cumsum(digamma(wc1) - dsum)[:-1]])
        chol = bgm.precisions_cholesky_.reshape(-1)
        dof = bgm.degrees_of_freedom_
        const = (
            log_w
            + np.log(chol)
            - 0.5 * np.log(2 * np.pi)
            - 0.5 * np.log(dof)
            + 0.5 * (np.log(2.0) + digamma(0.5 * dof) - 1.0 / bgm.mean_precision_)
        )
        if not valid_mask.any():  # a weight_threshold above every weight: keep the heaviest
            valid_mask = bgm.weights_ == bgm.weights_.max()
        valid = np.flatnonzero(valid_mask)
        mean = bgm.means_.reshape(-1)
        std = np.sqrt(bgm.covariances_.reshape(-1))
        return cls(mean, chol**2, const, valid, mean[valid], std[valid])

    def add_tails(self, z: np.ndarray, max_tails: int) -> None:
        """Add modes covering the runs of ``z`` values that no mode covers within ±0.99.

        Without them such values (outliers, rare spikes the mixture dropped as too light)
        would be clipped, as rdt and CTGAN do; each run of them (at most ``max_tails``, the
        closest runs merged) gets a mode spanning it, so the round trip stays exact.
        """
        values = np.unique(z)
        scaled = self.scaled(values)
        stranded = ~(np.abs(scaled) <= _SCALAR_LIMIT).any(axis=1)
        if not stranded.any():
            return
        edges = np.diff(np.concatenate([[0], stranded.astype(np.int8), [0]]))
        runs = [
            [values[a], values[b - 1]]
            for a, b in zip(*(np.flatnonzero(edges == v) for v in (1, -1)), strict=True)
        ]
        while len(runs) > max_tails:  # merge the two runs closest to each other
            i = int(np.argmin([runs[j + 1][0] - runs[j][1] for j in range(len(runs) - 1)]))
            runs[i : i + 2] = [[runs[i][0], runs[i + 1][1]]]
        lo, hi = np.asarray(runs).T
        half = (hi - lo) / 2
        std = np.maximum(half / (_STD_MULTIPLIER * _SCALAR_LIMIT), self.mode_std.min())
        self.mode_mean = np.concatenate([self.mode_mean, lo + half])
        self.mode_std = np.concatenate([self.mode_std, std])

    def add_points(self, points: np.ndarray) -> None:
        """Add a point mode (sd 0) per value of ``points``: it holds and decodes to that value."""
        self.mode_mean = np.concatenate([self.mode_mean, points])
        self.mode_std = np.concatenate([self.mode_std, np.zeros(len(points))])

    def scaled(self, z: np.ndarray) -> np.ndarray:
        """``(z - mode mean) / (4 sd)`` per mode; a point mode gives 0 at its value, else inf."""
        point = self.mode_std == 0
        with np.errstate(divide="ignore", invalid="ignore"):
            scaled = (z[:, None] - self.mode_mean) / (_STD_MULTIPLIER * self.mode_std)
        scaled[:, point] = np.where(z[:, None] == self.mode_mean[point], 0.0, np.inf)
        return scaled

    def posterior(self, z: np.ndarray) -> np.ndarray:
        """Probabilities of the modes (rows sum to 1 over *all* components; tails get 0)."""
        if not len(self.mean):  # point modes only
            return np.zeros((len(z), len(self.mode_mean)))
        log_p = self.const - 0.5 * self.prec * (z[:, None] - self.mean) ** 2
        log_p -= log_p.max(axis=1, keepdims=True)
        prob = np.exp(log_p)
        prob /= prob.sum(axis=1, keepdims=True)
        tails = np.zeros((len(z), len(self.mode_mean) - len(self.valid)))
        return np.concatenate([prob[:, self.valid], tails], axis=1)

    def encode(self, z: np.ndarray, uniform: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Sample a mode per value from its posterior; return (scalar, mode)."""
        scaled = self.scaled(z)
        point = self.mode_std == 0
        fits = np.abs(scaled) <= _SCALAR_LIMIT
        prob = np.where(fits, self.posterior(z) + _PROB_FLOOR, 0.0)
        on_point = scaled[:, point] == 0  # a point mode's value goes to it alone
        prob[on_point.any(axis=1)] = 0.0
        prob[:, point] = np.where(on_point, 1.0, prob[:, point])
        # Unlike rdt, modes that would clip the scalar are excluded, so the round trip is exact
        # wherever some mode fits; where none fits, the nearest mode is used and the value clipped.
        stranded = np.flatnonzero(~fits.any(axis=1))
        if len(stranded):
            distance = np.abs(scaled[stranded])
            if point.any():  # a point mode's distance in the narrowest other mode's units
                unit = _STD_MULTIPLIER * (self.mode_std[~point].min() if (~point).any() else 1.0)
                distance[:, point] = np.abs(z[stranded, None] - self.mode_mean[point]) / unit
            prob[stranded, distance.argmin(axis=1)] = 1.0
        cdf = np.cumsum(prob, axis=1)
        mode = (cdf <= (uniform * cdf[:, -1])[:, None]).sum(axis=1)
        mode = np.minimum(mode, len(self.mode_mean) - 1)
        scalar = np.clip(scaled[np.arange(len(z)), mode], -_SCALAR_LIMIT, _SCALAR_LIMIT)
        return scalar, mode

    def decode(self, scalar: np.ndarray, mode: np.ndarray) -> np.ndarray:
        scalar = np.clip(scalar, -1.0, 1.0)
        return scalar * _STD_MULTIPLIER * self.mode_std[mode] + self.mode_mean[mode]


def fit_mixture(z: np.ndarray, n_components: int, weight_threshold: float) -> Mixture:
    """Fit rdt's ClusterBasedNormalizer to ``z``; keep the caller's global numpy RNG intact.

    With no values (a column of point masses only) the mixture has no components.
    """
    if not len(z):
        empty = np.zeros(0)
        return Mixture(empty, empty, empty, np.zeros(0, dtype=np.int64), empty, empty)
    from rdt.transformers.numerical import ClusterBasedNormalizer

    normalizer = ClusterBasedNormalizer(
        max_clusters=n_components,
        weight_threshold=weight_threshold,
        missing_value_generation=None,
    )
    # rdt swaps the global numpy RNG state in and out around fit; restore it ourselves as well
    # so that an exception inside rdt cannot leave the caller's state changed.
    # One BLAS thread while fitting: on 1-D data extra threads only add overhead, and on a
    # busy machine they made the fit 4-5 times slower (limit scoped to this call, then undone).
    saved = np.random.get_state()  # noqa: NPY002 (guarding the global RNG, not using it)
    try:
        with threadpool_limits(limits=1):
            normalizer.fit(pd.DataFrame({"value": z}), "value")
    finally:
        np.random.set_state(saved)  # noqa: NPY002
    return Mixture.from_bgm(normalizer._bgm_transformer, normalizer.valid_component_indicator)
