"""Importance resampling: each sampled row is chosen among candidates by how real it looks.

A GAN's rows differ from real ones in ways a classifier finds (the detection AUC of
docs/evaluation.md). After training, a gradient-boosted classifier learns the training rows
against as many generated ones; its odds ``p(real | x) / p(generated | x)`` estimate the density
ratio of the data to the model at ``x``. At sampling, ``k`` candidates are generated for each
wanted row and rows are drawn from them with probability proportional to that ratio, without
replacement, within each group of candidates that share a condition (a fair model's (group,
outcome) cell, a conditioned column's value), so conditions and the fairness knob keep their
counts exactly; without user conditions the draw is also calibrated to the training rows'
margins (:mod:`fairsynth.models._draw`). This is sampling-importance-resampling with a classifier's
density ratio: Grover et al., "Bias correction of learned generative models using
likelihood-free importance weighting", NeurIPS 2019 (arXiv 1906.09531); with the GAN's own
discriminator it is Azadi et al.'s discriminator rejection sampling (ICLR 2019, arXiv
1810.06758). docs/measurements.md has the measurements.

The classifier reads a row as the position of each number among the training column's
quantiles and a one-hot block per discrete column. Its trees are kept as plain arrays (the
model file holds no pickle; :mod:`fairsynth.models._trees` evaluates them).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import train_test_split

from fairsynth.evaluation._prepare import limit_threads
from fairsynth.models._draw import (
    CellMargins,
    Margins,
    choose_rows,
    inclusion_probabilities,
    numbers,
)
from fairsynth.models._sampling import _MAX_CHUNK_CELLS
from fairsynth.models._trees import Trees, export_trees, no_trees
from fairsynth.models.callbacks import Callback
from fairsynth.models.threads import torch_threads

__all__ = [
    "FitRefiner",
    "Refiner",
    "choose_rows",
    "fit_refiner",
    "refined_rows",
    "resolve_refine",
]

_KNOTS = np.linspace(0.0, 1.0, 129)  # quantiles a number is placed among
_TREES = 100  # boosting iterations (30-300 give the same detection; docs/measurements.md)
_LEARNING_RATE = 0.3
_LEAVES = 31
_MAX_LOG_WEIGHT = 30.0
_CHUNK = 8192  # rows whose tree paths are followed (or features written) at once
_VALIDATION = 0.1  # share held out for early stopping (scikit-learn's default)
_EARLY_STOPPING_ROWS = 10_000  # scikit-learn's early_stopping="auto" stops early above it


class Refiner:
    """A real-versus-generated classifier whose log-odds weigh candidate rows.

    Build one with :meth:`fit`; :meth:`log_weights` scores decoded rows; ``margins`` holds
    the training rows' margins a sample is calibrated to (None in files from before them),
    ``cell_margins`` those inside a fair model's cells (None for other models);
    :meth:`get_state` and ``Refiner(state)`` carry it through a model file as plain JSON.
    """

    def __init__(self, state: dict[str, Any]) -> None:
        margins, cells = state.get("margins"), state.get("cell_margins")
        self.margins = None if margins is None else Margins(margins)
        self.cell_margins = None if cells is None else CellMargins(cells)
        self.numeric: list[str] = list(state["numeric"])
        knots = np.asarray(state["knots"], dtype=float)
        self.knots = knots.reshape(len(self.numeric), len(_KNOTS))
        self.levels: dict[str, list[str]] = {k: list(v) for k, v in state["levels"].items()}
        self.baseline = float(state["baseline"])
        self.trees = Trees(state)

    # ------------------------------------------------------------------------ features
    @staticmethod
    def _levels(column: pd.Series) -> list[str]:
        return [str(v) for v in pd.unique(column.astype(str))]

    @property
    def width(self) -> int:
        """Features of a row: one a number, one a category."""
        return len(self.numeric) + sum(len(levels) for levels in self.levels.values())

    def features(self, rows: pd.DataFrame, out: np.ndarray | None = None) -> np.ndarray:
        """The classifier's view of ``rows``: quantile positions, then one-hot categories.

        Written into ``out`` (rows × :attr:`width`, float64) when given, column by column,
        so that no block is held twice.
        """
        out = np.empty((len(rows), self.width)) if out is None else out
        for i, column in enumerate(self.numeric):
            values = numbers(rows[column])
            position = np.interp(values, self.knots[i], _KNOTS)
            out[:, i] = np.where(np.isnan(values), -1.0, position)
        start = len(self.numeric)
        for column, levels in self.levels.items():
            codes = pd.Index(levels).get_indexer(rows[column].astype(str))
            block = out[:, start : start + len(levels)]
            block[:] = 0.0
            known = codes >= 0
            block[np.flatnonzero(known), codes[known]] = 1.0
            start += len(levels)
        return out

    # ----------------------------------------------------------------------------- fit
    @classmethod
    def fit(
        cls,
        real: pd.DataFrame,
        generated: pd.DataFrame,
        discrete: Sequence[str],
        *,
        random_state: int,
        n_threads: int | None = None,
        cells: Sequence[str] | None = None,
        population: pd.DataFrame | None = None,
    ) -> Refiner:
        """Train the classifier on ``real`` (label 1) against ``generated`` (label 0); keep
        the margins of ``population`` (the training rows ``real`` is drawn from; default
        ``real``) in ``real``'s columns, and inside each cell of the columns ``cells`` when
        given."""
        numeric = [c for c in real.columns if c not in set(discrete)]
        knots = [_quantiles(numbers(real[c])) for c in numeric]
        names = list(real.columns)
        population = real if population is None else population
        state: dict[str, Any] = {
            "margins": Margins.fit(population, discrete, names).get_state(),
            "numeric": numeric,
            "knots": np.asarray(knots, dtype=float).ravel().tolist(),
            "levels": {c: cls._levels(real[c]) for c in discrete},
        }
        if cells is not None:
            state["cell_margins"] = CellMargins.fit(population, discrete, cells, names).get_state()
        shell = cls({**state, "baseline": 0.0, **no_trees()})
        y = np.r_[np.ones(len(real)), np.zeros(len(generated))]
        model = HistGradientBoostingClassifier(
            max_iter=_TREES, learning_rate=_LEARNING_RATE, max_leaf_nodes=_LEAVES,
            random_state=random_state,
        )  # fmt: skip
        parts = _held_out(len(y), y, random_state)
        if parts is None:  # no early stopping: the trees see every row
            x = np.empty((len(y), shell.width))
            shell.features(real, out=x[: len(real)])
            shell.features(generated, out=x[len(real) :])
            with limit_threads(n_threads):
                model.fit(x, y)
        else:
            train, val = parts
            x_train = _features_of(shell, real, generated, train)
            x_val = _features_of(shell, real, generated, val)
            model.set_params(early_stopping=True)
            with limit_threads(n_threads):
                model.fit(x_train, y[train], X_val=x_val, y_val=y[val])
        # log-odds of "real" at equal class counts: the density ratio the draw needs
        trees, baseline = export_trees(model)
        prior = np.log(len(real) / len(generated))
        return cls({**state, "baseline": baseline - prior, **trees})

    # ---------------------------------------------------------------------------- use
    def log_weights(self, rows: pd.DataFrame, n_threads: int = 1) -> np.ndarray:
        """log p(real | row) / p(generated | row) of each row, clipped to +-30; the trees run
        on ``n_threads`` threads."""
        out = np.empty(len(rows))
        for start in range(0, len(rows), _CHUNK):
            x = self.features(rows.iloc[start : start + _CHUNK])
            out[start : start + _CHUNK] = self.trees.raw(x, n_threads)
        return np.clip(self.baseline + out, -_MAX_LOG_WEIGHT, _MAX_LOG_WEIGHT)

    def get_state(self) -> dict[str, Any]:
        """The refiner as plain JSON data (the inverse of ``Refiner(state)``)."""
        cells = self.cell_margins
        return {
            **({} if self.margins is None else {"margins": self.margins.get_state()}),
            **({} if cells is None else {"cell_margins": cells.get_state()}),
            "numeric": self.numeric,
            "knots": self.knots.ravel().tolist(),
            "levels": self.levels,
            "baseline": self.baseline,
            **self.trees.get_state(),
        }


def _held_out(n_rows: int, y: np.ndarray, random_state: int) -> tuple[np.ndarray, ...] | None:
    """The rows HistGradientBoostingClassifier(random_state=random_state) would train on and
    hold out for early stopping (its default: stratified, a tenth, above 10,000 rows), in its
    order; None below that size.

    The classifier splits the whole feature matrix itself, which holds the matrix twice (on
    the wide table of docs/scale.md, 440 MB more at the fit's peak); building the two parts
    directly gives the same trees (tests/test_refine.py compares them).
    """
    if n_rows <= _EARLY_STOPPING_ROWS:
        return None
    seed = np.random.RandomState(random_state).randint(np.iinfo(np.uint32).max, dtype="u8")
    train, val = train_test_split(
        np.arange(n_rows), test_size=_VALIDATION, stratify=y, random_state=seed
    )
    return train, val


def _features_of(
    refiner: Refiner, real: pd.DataFrame, generated: pd.DataFrame, index: np.ndarray
) -> np.ndarray:
    """Features of rows ``index`` of ``real`` followed by ``generated``, in that order."""
    out = np.empty((len(index), refiner.width))
    for offset, rows in ((0, real), (len(real), generated)):
        mine = np.flatnonzero((index >= offset) & (index < offset + len(rows)))
        for start in range(0, len(mine), _CHUNK):
            part = mine[start : start + _CHUNK]
            out[part] = refiner.features(rows.iloc[index[part] - offset])
    return out


def _quantiles(values: np.ndarray) -> np.ndarray:
    """The column's quantiles at ``_KNOTS`` (zeros for a column without a number)."""
    values = values[~np.isnan(values)]
    return np.quantile(values, _KNOTS) if len(values) else np.zeros(len(_KNOTS))


# ------------------------------------------------------------------ a synthesizer's side
_FIT_ROWS = 50_000  # training rows (and as many generated ones) the classifier learns at most
# ... and at most this many features (float64: 128 MB; HistGradientBoosting copies none), so a
# wide table's classifier fits in bounded memory (docs/scale.md); Adult's 60,324 rows × 106
# features stay whole
_FIT_CELLS = 2**24
_CANDIDATES = 25_000  # candidate rows generated and scored at once (CLI stream of Adult: peak
# 862 MB; 50,000 peaked at 1,050 MB, docs/scale.md)
# ... and at most as many transformed outputs as a sample's chunk (Adult: all 50,000)
_CANDIDATE_CELLS = _MAX_CHUNK_CELLS


def resolve_refine(model: Any) -> int:
    """Candidates per sampled row: ``refine``, where 'auto' is 8, or 1 under ``privacy``."""
    if model.refine == "auto":
        return 1 if model.privacy is not None else 8
    return int(model.refine)


class FitRefiner(Callback):
    """Train the model's refiner when training stops cleanly, on the rows ``fit`` was given.

    Added by the model itself before any :class:`~fairsynth.models.checkpoint.Checkpoint`, so
    that the last checkpoint holds the refiner, and after the other callbacks (an
    :class:`~fairsynth.models.stopping.EarlyStopping` restores its best weights first).
    """

    one_per_fit = True

    def __init__(self) -> None:
        self._data: pd.DataFrame | None = None

    def on_data(self, model: Any, data: pd.DataFrame) -> int | None:
        self._data = data
        return None

    def on_fit_end(self, model: Any) -> None:
        data, self._data = self._data, None
        parallel = getattr(model, "_parallel", None)  # a data-parallel fit (distributed.py)
        if data is None or model.stopped_reason_ not in ("epochs", "time_budget", "callback"):
            return  # an interrupted or failed fit is kept as it is, unrefined
        if parallel is not None and not parallel.leads():
            return  # process 0 writes the model
        model.refiner_ = fit_refiner(model, data, model._fit_seed)


def fit_refiner(model: Any, data: pd.DataFrame, seed: int) -> Refiner:
    """Train a refiner on a model's training rows against its rows drawn without one."""
    transformer = model.transformer_
    modelled = [c for c in transformer.columns_ if transformer.column_spans(c)]  # not IDs
    discrete = set(transformer.discrete_columns_)
    width = sum(
        sum(s.width for s in transformer.column_spans(c)) if c in discrete else 1 for c in modelled
    )  # the classifier's features of a row, at most
    rows = min(len(data), _FIT_ROWS, max(1, _FIT_CELLS // (2 * width)))
    real = data.sample(rows, random_state=seed) if rows < len(data) else data
    model.refiner_ = None  # the rows it learns against are the generator's own
    generated = model.sample(rows, random_state=seed + 1)
    threads = getattr(model, "n_threads_", None)
    cells = model._refiner_cells()
    return Refiner.fit(
        real[modelled], generated[modelled],
        [c for c in transformer.discrete_columns_ if c in modelled], random_state=seed,
        n_threads=threads if isinstance(threads, int) else None, cells=cells, population=data,
    )  # fmt: skip


def refined_rows(
    model: Any, n_rows: int, generator: Any, plan: Any, threads: int, k: int
) -> pd.DataFrame:
    """``n_rows`` rows, each picked among ``k`` candidates by the model's refiner.

    Candidates are made for at most ``_CANDIDATES`` rows (and ``_CANDIDATE_CELLS`` outputs)
    at a time, so memory does not grow with ``k``. Without user conditions
    (``model._calibrates(plan)``), the draw is calibrated to the training rows' margins; a
    fair model's, to those inside each of its cells.
    """
    at_once = min(_CANDIDATES, _CANDIDATE_CELLS // model.transformer_.output_dim_)
    step = max(1, at_once // k)
    parts = [
        _refined_part(model, min(step, n_rows - start), generator, plan, threads, k)
        for start in range(0, n_rows, step)
    ]
    return parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)


def _refined_part(
    model: Any, n_rows: int, generator: Any, plan: Any, threads: int, k: int
) -> pd.DataFrame:
    with torch.no_grad(), torch_threads(threads):
        candidates, groups, prior = model._candidates(n_rows, k, generator, plan)
        seed = int(torch.randint(2**62, (1,), generator=generator, device=generator.device))
    matrix = candidates.cpu().numpy()
    refiner: Refiner = model.refiner_
    decoded = model.transformer_.inverse_transform(matrix)
    log_weights = prior + refiner.log_weights(decoded, threads)
    if refiner.margins is not None and model._calibrates(plan):
        terms = refiner.margins.terms(decoded)
        probabilities = inclusion_probabilities(log_weights, groups, k, terms)
    elif refiner.cell_margins is not None:  # a fair model: within each cell
        probabilities = refiner.cell_margins.probabilities(log_weights, groups, k, decoded)
    else:
        probabilities = inclusion_probabilities(log_weights, groups, k)
    picked = choose_rows(probabilities, groups, k, np.random.default_rng(seed))
    # decoded again so that columns made afresh (IDs) number the rows sampled, not candidates
    return model.transformer_.inverse_transform(matrix[picked])
