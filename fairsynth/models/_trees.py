"""A fitted gradient-boosted classifier's trees as plain arrays, and their evaluation.

The refiner (:mod:`fairsynth.models.refine`) keeps its classifier's trees as flat node arrays,
so that a model file holds no pickle. :meth:`Trees.raw` sums the trees' leaf values for a
feature matrix. It runs the trees through scikit-learn's compiled predictor (the loop
``HistGradientBoostingClassifier.predict`` itself uses, on as many threads as it is given);
where that private routine is missing or has changed, it follows the paths with numpy. Both give
the same sums, bit for bit (tests/test_refine.py): each row's tree values are added in the same
order.

Followed with numpy, the trees took over a third of the time of sampling Adult with 8
candidates a row; compiled, sampling is about 1.45 times faster (docs/measurements.md,
"Importance resampling").
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

__all__ = ["Trees", "export_trees", "no_trees"]

_FIELDS = ("feature", "threshold", "left", "right", "value")


def _compiled() -> tuple[Any, Any] | None:
    """scikit-learn's raw-data tree predictor and its node record type, or None."""
    try:
        from sklearn.ensemble._hist_gradient_boosting._predictor import (
            _predict_from_raw_data,
        )
        from sklearn.ensemble._hist_gradient_boosting.common import PREDICTOR_RECORD_DTYPE
    except ImportError:
        return None
    names = PREDICTOR_RECORD_DTYPE.names or ()
    needed = {"value", "feature_idx", "num_threshold", "left", "right", "is_leaf"}
    return (_predict_from_raw_data, PREDICTOR_RECORD_DTYPE) if needed <= set(names) else None


class Trees:
    """Regression trees as flat node arrays; a leaf points to itself, so paths can run on.

    ``state`` holds ``roots`` (each tree's first node), ``depth`` (the deepest leaf) and
    ``nodes``: ``feature``, ``threshold`` (go left when the feature is at most it), ``left``,
    ``right`` and ``value`` (a leaf's value, 0 elsewhere), indexed across all trees.
    """

    def __init__(self, state: dict[str, Any]) -> None:
        self.roots = np.asarray(state["roots"], dtype=np.int64)
        self.depth = int(state["depth"])
        nodes = state["nodes"]
        self.feature = np.asarray(nodes["feature"], dtype=np.int64)
        self.threshold = np.asarray(nodes["threshold"], dtype=float)
        self.left = np.asarray(nodes["left"], dtype=np.int64)
        self.right = np.asarray(nodes["right"], dtype=np.int64)
        self.value = np.asarray(nodes["value"], dtype=float)
        self.leaf = self.left == np.arange(len(self.left))
        self._records: list[np.ndarray] | None = None

    def get_state(self) -> dict[str, Any]:
        """The trees as plain JSON data (the inverse of ``Trees(state)``)."""
        nodes = {name: getattr(self, name).tolist() for name in _FIELDS}
        return {"roots": self.roots.tolist(), "depth": self.depth, "nodes": nodes}

    def raw(self, x: np.ndarray, n_threads: int = 1, *, compiled: bool = True) -> np.ndarray:
        """Each row's sum of leaf values over the trees (float64 ``x``, rows × features)."""
        routine = _compiled() if compiled else None
        if routine is None or not len(self.roots):
            return self._paths(x)
        predict, dtype = routine
        if self._records is None:
            self._records = self._node_records(dtype)
        per_tree = np.empty((len(self.roots), len(x)))
        no_bitsets = np.zeros((0, 8), dtype=np.uint32)
        feature_map = np.zeros(x.shape[1], dtype=np.uint32)
        x = np.ascontiguousarray(x, dtype=float)
        try:
            for out, records in zip(per_tree, self._records, strict=True):
                predict(records, x, no_bitsets, no_bitsets, feature_map, max(1, n_threads), out)
        except (TypeError, ValueError):  # a scikit-learn whose private routine has changed
            return self._paths(x)
        return np.ascontiguousarray(per_tree.T).sum(axis=1)  # as _paths adds them

    def _node_records(self, dtype: np.dtype) -> list[np.ndarray]:
        """Each tree's nodes as scikit-learn's predictor records (child indices per tree)."""
        bounds = np.r_[self.roots, len(self.feature)]
        records = []
        for start, stop in itertools.pairwise(bounds):
            part = slice(start, stop)
            leaf = self.leaf[part]
            nodes = np.zeros(stop - start, dtype=dtype)
            nodes["value"] = self.value[part]
            nodes["feature_idx"] = self.feature[part]
            nodes["num_threshold"] = self.threshold[part]
            nodes["left"] = np.where(leaf, 0, self.left[part] - start)
            nodes["right"] = np.where(leaf, 0, self.right[part] - start)
            nodes["is_leaf"] = leaf
            records.append(nodes)
        return records

    def _paths(self, x: np.ndarray) -> np.ndarray:
        """:meth:`raw` with numpy: all (row, tree) paths followed level by level."""
        trees, (n_rows, width) = len(self.roots), x.shape
        if not trees:
            return np.zeros(n_rows)
        part = np.ascontiguousarray(x, dtype=float).ravel()
        node = np.tile(self.roots, n_rows)  # (row, tree) pairs, row-major
        active = np.arange(len(node))
        for _ in range(self.depth):  # follow only the paths that have not reached a leaf
            at = node.take(active)
            going = ~self.leaf.take(at)
            active, at = active[going], at[going]
            if not len(active):
                break
            value = part.take(active // trees * width + self.feature.take(at))
            node[active] = np.where(
                value <= self.threshold.take(at), self.left.take(at), self.right.take(at)
            )
        return self.value.take(node).reshape(n_rows, trees).sum(axis=1)


def no_trees() -> dict[str, Any]:
    """The state of an empty ensemble."""
    empty: dict[str, list[Any]] = {k: [] for k in _FIELDS}
    return {"roots": [], "depth": 0, "nodes": empty}


def export_trees(model: Any) -> tuple[dict[str, Any], float]:
    """A fitted ``HistGradientBoostingClassifier``'s trees as :class:`Trees` state, and its
    baseline (the raw score before any tree).

    Reads scikit-learn's fitted predictors (``_predictors``, each tree's ``nodes`` record
    array); tests/test_refine.py checks the result against ``decision_function``.
    """
    fields: dict[str, list[np.ndarray]] = {k: [] for k in _FIELDS}
    roots, depth, offset = [], 0, 0
    for (tree,) in model._predictors:
        nodes = tree.nodes
        index = np.arange(len(nodes)) + offset
        leaf = nodes["is_leaf"].astype(bool)
        fields["feature"].append(np.where(leaf, 0, nodes["feature_idx"]))
        fields["threshold"].append(np.where(leaf, np.inf, nodes["num_threshold"]))
        fields["left"].append(np.where(leaf, index, nodes["left"] + offset))
        fields["right"].append(np.where(leaf, index, nodes["right"] + offset))
        fields["value"].append(np.where(leaf, nodes["value"], 0.0))
        roots.append(offset)
        depth = max(depth, int(nodes["depth"].max()))
        offset += len(nodes)
    nodes_out = {k: np.concatenate(v).tolist() for k, v in fields.items()}
    baseline = float(np.ravel(model._baseline_prediction)[0])
    return {"roots": roots, "depth": depth, "nodes": nodes_out}, baseline
