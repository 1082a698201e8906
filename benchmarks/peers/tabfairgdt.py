"""TabFairGDT (pip ``tabfairgdt``, MIT) as a measured peer: an adapter and its frontier rows.

TabFairGDT (Panagiotou et al., ICDM 2025) fits one CART per column in autoregressive order
and draws each value from the training values of the leaf a row falls in. The target and the
protected attribute are generated last, from all other columns; its fairness parameter λ
(``fit(df, lamda=λ)``, 0 to 1) softens the majority class of the target tree's leaves chosen
greedily to reduce the demographic parity gap: in those leaves the majority share ``p``
becomes ``p (1 - λ) + (1 - p) λ`` (λ = 1 swaps the two classes' shares). Changing λ means a
refit (seconds). What its API asks, and what :class:`TabFairGDTPeer` does for it:

- every column declared in ``dtype_map`` (``'int'``, ``'float'``, ``'category'``), categorical
  columns as pandas ``category``; the sample is turned back into the training dtypes;
- one protected attribute, treated as binary: the group of the first training row against all
  others (Adult by sex: ``Male`` / ``Female``; with several groups, e.g. race, that first
  group against the rest);
- it seeds and draws from numpy's global RNG and prints to stdout and stderr: both are kept
  inside the adapter (the caller's global RNG state is restored, the output discarded);
- ``parallel=False``: joblib's threads would use every core; the benchmarks run on one.

>>> peer = TabFairGDTPeer(target="income", protected="sex", discrete_columns=["sex", "income"])
>>> peer.fairness
0.0
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import io
import time
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["LAMBDAS", "PACKAGE", "TabFairGDTPeer", "available", "frontier_rows"]

PACKAGE = "tabfairgdt"
SOURCE = "TabFairGDT"
LAMBDAS = (0.0, 0.25, 0.5, 0.75, 1.0)
HINT = "pip install -c constraints.txt tabfairgdt (or the 'peers' extra: pip install -e '.[peers]')"


def available() -> bool:
    """Whether ``tabfairgdt`` can be imported here."""
    return importlib.util.find_spec(PACKAGE) is not None


@contextlib.contextmanager
def _contained(seed: int | None) -> Iterator[io.StringIO]:
    """Seed numpy's global RNG for TabFairGDT, restore the caller's state; swallow its output."""
    state = np.random.get_state()  # noqa: NPY002
    captured = io.StringIO()
    try:
        if seed is not None:
            np.random.seed(seed)  # noqa: NPY002 - TabFairGDT draws only from the global RNG
        with contextlib.redirect_stdout(captured), contextlib.redirect_stderr(captured):
            yield captured
    finally:
        np.random.set_state(state)  # noqa: NPY002


class TabFairGDTPeer:
    """``fit(frame)`` / ``sample(n)`` around ``tabfairgdt.TABFAIRGDT``.

    Parameters
    ----------
    target : str
        The binary outcome column.
    protected : str
        The protected attribute (TabFairGDT takes one; see the module's notes).
    discrete_columns : sequence of str
        Columns generated as categories (all others: numbers).
    fairness : float, default=0.0
        TabFairGDT's λ (``lamda``), from 0 (no relabelling) to 1.
    random_state : int, default=0
        Seed of its trees and of its draws (a sample's own seed can be given to ``sample``).

    Attributes
    ----------
    model_ : tabfairgdt.TABFAIRGDT
        The fitted generator.
    fit_time_ : float
        Seconds ``fit`` took (conversion of the table included).
    """

    def __init__(
        self,
        *,
        target: str,
        protected: str,
        discrete_columns: Sequence[str],
        fairness: float = 0.0,
        random_state: int = 0,
    ) -> None:
        self.target = target
        self.protected = protected
        self.discrete_columns = discrete_columns
        self.fairness = fairness
        self.random_state = random_state

    def _dtype_map(self, frame: pd.DataFrame) -> dict[str, str]:
        discrete = {*self.discrete_columns, self.target, self.protected}
        return {
            c: "category"
            if c in discrete
            else "int"
            if pd.api.types.is_integer_dtype(frame[c])
            else "float"
            for c in frame.columns
        }

    def fit(self, frame: pd.DataFrame) -> TabFairGDTPeer:
        """Fit TabFairGDT at λ = ``fairness`` on ``frame``; returns self."""
        from benchmarks.registry import MissingPackageError

        try:
            module = importlib.import_module(PACKAGE)
        except ImportError as exc:
            raise MissingPackageError(f"{PACKAGE} is not importable ({exc}): {HINT}.") from exc
        started = time.perf_counter()
        self.dtypes_ = frame.dtypes.to_dict()
        self.columns_ = list(frame.columns)
        dtype_map = self._dtype_map(frame)
        table = frame.reset_index(drop=True).copy()
        for column, kind in dtype_map.items():
            if kind == "category":
                table[column] = table[column].astype("category")
        self.model_ = module.TABFAIRGDT(
            protected_attribute=self.protected,
            target=self.target,
            dtype_map=dtype_map,
            seed=self.random_state,
            parallel=False,
        )
        with _contained(self.random_state):
            self.model_.fit(table, lamda=float(self.fairness))
        self.fit_time_ = time.perf_counter() - started
        return self

    def sample(self, n_samples: int, *, random_state: int | None = None) -> pd.DataFrame:
        """``n_samples`` rows with the training table's columns and dtypes."""
        seed = self.random_state if random_state is None else random_state
        with _contained(seed):
            rows = self.model_.generate(k=int(n_samples))
        rows = rows[self.columns_].reset_index(drop=True)
        for column, dtype in self.dtypes_.items():
            values = rows[column]
            if isinstance(values.dtype, pd.CategoricalDtype):
                values = values.astype(object)
            rows[column] = values.astype(dtype)
        return rows


def frontier_rows(
    dataset: Any,
    *,
    fairness: Sequence[float] = LAMBDAS,
    seeds: Sequence[int] = (0, 1, 2),
    protected: str | None = None,
    models: Sequence[str] | None = None,
    sensitive_feature: str = "both",
    n_threads: int | None = 1,
) -> pd.DataFrame:
    """TabFairGDT's points on a frontier: one fit and one sample per (seed, λ), scored downstream.

    Rows as in :func:`fairsynth.frontier.fairness_frontier` (``source='TabFairGDT'``, λ in
    ``fairness``), scored on ``dataset.test`` by the evaluation module's classifiers, for every
    sensitive column of ``dataset`` and their intersection, plus per table: ``fit_s``,
    ``sample_s``, ``positive_share`` (share of the positive label) and ``exact_copy_share``
    (rows equal in every column to a training row), and ``protected`` (the column it was fitted
    for, default the data set's first sensitive column).
    """
    from benchmarks.peers._scoring import score_table

    protected = protected or dataset.sensitive[0]
    options = {"models": models, "sensitive_feature": sensitive_feature, "n_threads": n_threads}
    train = dataset.train.reset_index(drop=True)
    rows: list[dict[str, Any]] = []
    for seed in seeds:
        for value in fairness:
            peer = TabFairGDTPeer(
                target=dataset.target,
                protected=protected,
                discrete_columns=dataset.discrete_columns,
                fairness=float(value),
                random_state=int(seed),
            ).fit(train)
            started = time.perf_counter()
            synthetic = peer.sample(len(train), random_state=int(seed))
            timing = {"fit_s": peer.fit_time_, "sample_s": time.perf_counter() - started}
            key = {"source": SOURCE, "fairness": float(value), "seed": int(seed)}
            rows += score_table(dataset, synthetic, **key, protected=protected, timing=timing,
                                **options)  # fmt: skip
    return pd.DataFrame(rows)
