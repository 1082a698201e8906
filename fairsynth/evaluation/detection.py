"""Detection: how well a classifier tells synthetic rows from real ones, overall and per column.

The whole-table detection AUC is the headline fidelity figure (Quality saturates; this does
not). The per-column table says where a synthetic table gives itself away: the AUC of the same
classifier shown one column only, and shown every column but one (a column whose removal
lowers the AUC carries a tell the others do not).
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from itertools import repeat
from typing import Any

import numpy as np
import pandas as pd
from joblib.externals.loky import ProcessPoolExecutor
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold

from fairsynth.evaluation._encoding import MixedEncoder
from fairsynth.evaluation._prepare import Prepared, check_threads, limit_threads

__all__ = ["column_detection", "detection_auc", "detection_part"]

_FOLDS = 3
_COLUMN_ITER = 10  # boosting iterations of each per-column model (see column_detection)


class _Draw:
    """The rows both detection figures score: ``n`` drawn from each table, encoded."""

    def __init__(
        self,
        real: pd.DataFrame,
        synthetic: pd.DataFrame,
        categorical: Sequence[str],
        numerical: Sequence[str],
        max_rows: int,
        random_state: int,
    ) -> None:
        rng = np.random.default_rng(random_state)
        self.n = int(min(max_rows, len(real), len(synthetic)))
        real_rows = real.iloc[rng.choice(len(real), self.n, replace=False)]
        fake_rows = synthetic.iloc[rng.choice(len(synthetic), self.n, replace=False)]
        encoder = MixedEncoder(categorical, numerical).fit(real)
        self.real = encoder.transform(real_rows)
        self.fake = encoder.transform(fake_rows)
        # Encoded feature indices of each column: numbers first, then one block per category.
        self.spans: dict[str, np.ndarray] = {c: np.array([i]) for i, c in enumerate(numerical)}
        start = len(numerical)
        for column, levels in encoder.levels_.items():
            self.spans[column] = np.arange(start, start + len(levels))
            start += len(levels)

    def data(self, rows: int) -> tuple[np.ndarray, np.ndarray]:
        """The first ``rows`` drawn rows of each table, stacked, with labels (1 = synthetic)."""
        x = np.vstack([self.real[:rows], self.fake[:rows]])
        y = np.r_[np.zeros(rows, dtype=int), np.ones(rows, dtype=int)]
        return x, y


def _out_of_fold_auc(x: np.ndarray, y: np.ndarray, random_state: int, max_iter: int = 100) -> float:
    """ROC AUC of 3-fold out-of-fold probabilities of a HistGradientBoostingClassifier."""
    if x.shape[1] == 0:
        return 0.5
    scores = np.zeros(len(y))
    folds = StratifiedKFold(n_splits=_FOLDS, shuffle=True, random_state=random_state)
    for train, test in folds.split(x, y):
        model = HistGradientBoostingClassifier(random_state=random_state, max_iter=max_iter)
        model.fit(x[train], y[train])
        scores[test] = model.predict_proba(x[test])[:, 1]
    return float(roc_auc_score(y, scores))


def _alone_and_without(
    x: np.ndarray, y: np.ndarray, inside: np.ndarray, random_state: int, max_iter: int
) -> tuple[float, float]:
    """One column's two AUCs, on one thread (small fits: a second thread only waits)."""
    with limit_threads(1):
        alone = _out_of_fold_auc(x[:, inside], y, random_state, max_iter)
        return alone, _out_of_fold_auc(x[:, ~inside], y, random_state, max_iter)


_SHARED: dict[str, np.ndarray] = {}  # a worker process's copy of the rows (set once)


def _share(x: np.ndarray, y: np.ndarray) -> None:
    _SHARED.update(x=x, y=y)


def _in_worker(inside: np.ndarray, random_state: int, max_iter: int) -> tuple[float, float]:
    return _alone_and_without(_SHARED["x"], _SHARED["y"], inside, random_state, max_iter)


def _column_fits(
    x: np.ndarray,
    y: np.ndarray,
    masks: list[np.ndarray],
    random_state: int,
    max_iter: int,
    workers: int,
) -> Iterator[tuple[float, float]]:
    """Each column's two AUCs, in order; lazily with one worker, else from a process pool.

    The pool is joblib's loky (it does not re-run the caller's ``__main__``, so scripts need
    no ``if __name__ == "__main__"`` guard) and is shut down when the last column is done,
    so no idle worker holds memory after the evaluation.
    """
    if workers == 1:
        for inside in masks:
            yield _alone_and_without(x, y, inside, random_state, max_iter)
        return
    with ProcessPoolExecutor(workers, initializer=_share, initargs=(x, y)) as pool:
        yield from pool.map(_in_worker, masks, repeat(random_state), repeat(max_iter))


def _workers(n_threads: int | None, tasks: int) -> int:
    """Processes for ``tasks`` independent fits under a cap of ``n_threads`` (None: cores),
    never more than the machine's cores, and one in a daemonic process (a worker of a
    ``multiprocessing.Pool``), which may not start processes of its own."""
    n_threads = check_threads(n_threads)
    if multiprocessing.current_process().daemon:
        return 1
    cores = os.cpu_count() or 1
    return max(1, min(tasks, cores, cores if n_threads is None else n_threads))


def detection_auc(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    categorical: Sequence[str],
    numerical: Sequence[str],
    *,
    max_rows: int = 5000,
    random_state: int = 0,
    n_threads: int | None = 1,
) -> tuple[float, int]:
    """Cross-validated ROC AUC of a classifier told to separate real rows from synthetic ones.

    Up to ``max_rows`` rows are drawn from each table (as many from both), encoded as in
    :class:`MixedEncoder`, and scored by 3-fold out-of-fold predictions of a
    ``HistGradientBoostingClassifier``. 0.5 means indistinguishable, 1.0 fully separable.
    ``n_threads`` caps the threads while fitting (see :func:`evaluate`).

    Returns
    -------
    auc : float
    rows : int
        Rows drawn from each table.
    """
    draw = _Draw(real, synthetic, categorical, numerical, max_rows, random_state)
    if draw.n < 2 * _FOLDS:
        return np.nan, draw.n
    with limit_threads(n_threads):
        return _out_of_fold_auc(*draw.data(draw.n), random_state), draw.n


def column_detection(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    categorical: Sequence[str],
    numerical: Sequence[str],
    *,
    max_rows: int = 5000,
    column_rows: int = 1000,
    max_iter: int = _COLUMN_ITER,
    random_state: int = 0,
    n_threads: int | None = 1,
    progress: Callable[[str], None] | None = None,
) -> tuple[pd.DataFrame, int]:
    """Per column, detection AUC with that column alone and with every column but that one.

    The rows are the first ``column_rows`` of the ``max_rows`` that :func:`detection_auc`
    draws with the same ``random_state`` (so the same rows, fewer of them), the encoding and
    the 3 folds are the same, and the classifier is the same ``HistGradientBoostingClassifier``
    with ``max_iter`` boosting iterations. Two models a column: on Adult (15 columns) the
    defaults take about an eighth of a full :func:`evaluate` (docs/evaluation.md).

    Parameters
    ----------
    real, synthetic : DataFrame
        Tables with the columns ``categorical`` and ``numerical``.
    max_rows : int
        Rows :func:`detection_auc` draws from each table.
    column_rows : int
        Rows of each table the per-column models use.
    max_iter : int
        Boosting iterations of each per-column model (the whole-table model uses 100).
    random_state : int
        Seed of the draw, the folds and the models.
    n_threads : int or None
        Threads while fitting (see :func:`evaluate`): each per-column model is small and runs
        on one thread; with 2 or more the columns are spread over as many worker processes
        (joblib's loky, at most one a core), which gives the same figures (None: one a
        core). On the 42 columns of the wide table (docs/evaluation.md, "Large tables") one
        thread took 19 s, two threads inside each model 26 s, two processes 12 s.
    progress : callable, optional
        Called with each column's name as its two models are fitted.

    Returns
    -------
    table : DataFrame
        ``column``, ``auc_alone`` (only this column: how far its own distribution is off),
        ``auc_without`` (every other column) and ``drop`` (the whole-table AUC of these rows
        and models minus ``auc_without``: what this column adds to the tell), sorted by
        ``auc_alone``, highest first.
    rows : int
        Rows of each table used.
    """
    draw = _Draw(real, synthetic, categorical, numerical, max_rows, random_state)
    rows = min(column_rows, draw.n)
    columns = [c for c in real.columns if c in draw.spans]
    if rows < 2 * _FOLDS:
        empty = pd.DataFrame(columns=["column", "auc_alone", "auc_without", "drop"])
        return empty, rows
    x, y = draw.data(rows)
    workers = _workers(n_threads, len(columns))
    with limit_threads(n_threads):
        everything = _out_of_fold_auc(x, y, random_state, max_iter)
    masks = [np.isin(np.arange(x.shape[1]), draw.spans[column]) for column in columns]
    fits = _column_fits(x, y, masks, random_state, max_iter, workers)
    records = []
    for column in columns:
        if progress is not None:
            progress(column)
        alone, without = next(fits)
        records.append((column, alone, without, everything - without))
    table = pd.DataFrame(records, columns=["column", "auc_alone", "auc_without", "drop"])
    return table.sort_values("auc_alone", ascending=False, ignore_index=True), rows


def detection_part(
    prepared: Prepared,
    categorical: list[str],
    numerical: list[str],
    *,
    detection_rows: int,
    column_rows: int | None,
    seed: int,
    reference: bool,
    progress: Callable[[str], None],
    n_threads: int | None = 1,
) -> tuple[list[dict[str, Any]], dict[str, pd.DataFrame]]:
    """Rows of the ``fidelity`` table for detection, and the ``detection_columns`` table.

    The whole-table AUC of the synthetic table (reference: the real test table scored the
    same way) and, with ``column_rows``, the per-column table and a row naming the three
    columns that give the synthetic rows away most on their own.
    """
    columns = list(prepared.synthetic.columns)
    progress(f"detection classifier, {detection_rows:,} rows of each table")
    # evaluate() has set the thread cap already
    auc, n = detection_auc(
        prepared.train, prepared.synthetic, categorical, numerical,
        max_rows=detection_rows, random_state=seed, n_threads=None,
    )  # fmt: skip
    reference_auc = np.nan
    if prepared.test is not None and reference:
        progress("detection classifier, real_test vs real_train (reference)")
        reference_auc = detection_auc(
            prepared.train, prepared.test[columns], categorical, numerical,
            max_rows=detection_rows, random_state=seed, n_threads=None,
        )[0]  # fmt: skip
    note = f"HistGB, 3-fold, {n:,} rows drawn from each table; 0.5 = indistinguishable"
    if auc < 0.5:
        # Rows present in both tables carry both labels, so out-of-fold guesses flip: a
        # sign of copies (see privacy), not of a table better than real data.
        note += f"; raw AUC {auc:.3f} shown as 0.5 (chance, or rows shared with real_train)"
        auc = 0.5
    row = {"metric": "Detection AUC", "against": "real_train", "value": auc}
    rows = [row | {"reference": reference_auc, "note": note}]
    if column_rows is None:
        return rows, {}
    table, used = column_detection(
        prepared.train, prepared.synthetic, categorical, numerical,
        max_rows=detection_rows, column_rows=column_rows, random_state=seed,
        n_threads=n_threads, progress=lambda column: progress(f"detection by column: {column}"),
    )  # fmt: skip
    if len(table):
        worst = ", ".join(f"{r.column} {r.auc_alone:.3f}" for r in table.head(3).itertuples())
        rows.append(
            {
                "metric": "Detection AUC, worst single column",
                "against": "real_train",
                "value": float(table["auc_alone"].iloc[0]),
                "reference": np.nan,
                "note": f"each column alone ({used:,} rows of each table, "
                f"HistGB {_COLUMN_ITER} iterations): {worst}; table detection_columns",
            }
        )
    return rows, {"detection_columns": table}
