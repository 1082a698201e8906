"""How importance resampling draws rows among candidates, and calibrates them to the data.

Each candidate gets an inclusion probability: the refiner's odds, scaled so that every
condition group's probabilities sum to the rows it must give, capped at 1. Rows are then drawn
by systematic sampling, which takes each candidate with exactly its probability and each group
with exactly its count, without replacement (Madow's systematic πps design; Tillé, *Sampling
Algorithms*, Springer 2006, ch. 7).

When a sample's conditions follow the data's own frequencies (no user conditions), the
probabilities are first calibrated to the margins of the training rows, by raking (iterative
proportional fitting; Deville and Särndal, "Calibration estimators in survey sampling", JASA
1992): the share of each category, of each of 20 quantile bins of a number, and of each cell
of the strongly associated pairs of columns (Cramér's V above 0.3, numbers in 10 bins). A
classifier's odds favour rows of the data's densest regions, where the generator is most
convincing, so the drawn rows drift towards the modes (40 hours a week on Adult: 47% of the
data, 56% of the rows drawn by the odds alone); calibration takes that back. Numbers and pairs
are raked at a quarter strength (each factor to the power 0.25), categories at full strength;
docs/measurements.md has the measurements.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from scipy.stats.contingency import association

from fairsynth.transform._continuous import _numeric_values, _time_kind

__all__ = ["CellMargins", "Margins", "Term", "choose_rows", "inclusion_probabilities", "numbers"]

_BINS = 20  # quantile bins of a number's own margin
_PAIR_BINS = 10  # and inside a pair of columns
_STRONG = 0.3  # Cramér's V above which a pair's cells are calibrated
_MAX_PAIRS = 50  # the strongest pairs kept
_DAMP = {"category": 1.0, "number": 0.25, "pair": 0.25}  # strength of each kind of margin
_ROUNDS = 5
_FACTOR = (0.01, 100.0)  # one raking step never moves a candidate further than this
_MIN_CELL_ROWS = 200  # a cell with fewer training rows is drawn by the odds alone
_MIN_EFFECTIVE = 0.25  # least effective sample size of the odds, as a share of the rows wanted
_PAIR_SLACK = (1.5, 0.001)  # pairs are kept if the columns' misfit stays below a * it + b


class Term(NamedTuple):
    """One margin of the calibration: every candidate's cell, the cells' training shares."""

    codes: np.ndarray  # -1: a value the training rows never had
    shares: np.ndarray
    strength: float  # the power of each raking factor
    pair: bool = False


def numbers(column: pd.Series) -> np.ndarray:
    """A numeric, datetime or timedelta column as floats (missing as NaN), as the transform
    reads it."""
    kind, unit = _time_kind(column.dtype)
    values, missing = _numeric_values(column, str(column.name), kind, unit)
    out = values.astype(float)
    out[missing] = np.nan
    return out


class Margins:
    """The training rows' margins that a sample is calibrated to (plain JSON state)."""

    def __init__(self, state: dict[str, Any]) -> None:
        self.columns: list[dict[str, Any]] = list(state["columns"])
        self.pairs: list[dict[str, Any]] = list(state["pairs"])

    @classmethod
    def fit(
        cls, real: pd.DataFrame, discrete: Sequence[str], names: Sequence[str] | None = None
    ) -> Margins:
        """The margins of ``real``: each column (of ``names``, default all), and its strongly
        associated pairs."""
        columns = []
        for name in real.columns if names is None else names:
            entry: dict[str, Any] = {"column": str(name)}
            if name in set(discrete):
                entry["levels"] = [str(v) for v in pd.unique(real[name].astype(str))]
            else:
                values = numbers(real[name])
                entry["edges"] = _edges(values, _BINS)
                entry["pair_edges"] = _edges(values, _PAIR_BINS)
            columns.append(entry)
        shell = cls({"columns": columns, "pairs": []})
        coarse = []
        for entry in columns:
            (codes, size), pair_codes = shell._codes(real, entry)
            entry["shares"] = _shares(codes, size)
            coarse.append(pair_codes)
        strong = []
        for i in range(len(columns)):
            for j in range(i + 1, len(columns)):
                (a, size_a), (b, size_b) = coarse[i], coarse[j]
                table = pd.crosstab(a, b).to_numpy()
                if min(table.shape) < 2:
                    continue
                with np.errstate(divide="ignore", invalid="ignore"):
                    strength = float(association(table, method="cramer"))
                if strength > _STRONG:
                    shares = _shares(_pair_codes(a, b, size_b), size_a * size_b)
                    strong.append((strength, [columns[i]["column"], columns[j]["column"]], shares))
        strong.sort(key=lambda item: -item[0])
        pairs = [{"columns": names, "shares": shares} for _, names, shares in strong[:_MAX_PAIRS]]
        return cls({"columns": columns, "pairs": pairs})

    def _codes(
        self, rows: pd.DataFrame, entry: dict[str, Any]
    ) -> tuple[tuple[np.ndarray, int], tuple[np.ndarray, int]]:
        """Each row's bin of one column, for its own margin and inside a pair, with the number
        of bins (-1: a category the training rows never had)."""
        if "levels" in entry:
            codes = pd.Index(entry["levels"]).get_indexer(rows[entry["column"]].astype(str))
            return (codes, len(entry["levels"])), (codes, len(entry["levels"]))
        values = numbers(rows[entry["column"]])

        def binned(edges: np.ndarray) -> tuple[np.ndarray, int]:
            codes = np.searchsorted(edges, values, side="right")
            codes[np.isnan(values)] = len(edges) + 1  # missing values: a bin of their own
            return codes, len(edges) + 2

        own, pair = (np.asarray(entry[key], dtype=float) for key in ("edges", "pair_edges"))
        return binned(own), binned(pair)

    def terms(self, rows: pd.DataFrame) -> list[Term]:
        """Each margin of ``rows``: every column's, then every kept pair's."""
        out = []
        coarse = {}
        for entry in self.columns:
            (codes, _), coarse[entry["column"]] = self._codes(rows, entry)
            kind = "category" if "levels" in entry else "number"
            out.append(Term(codes, np.asarray(entry["shares"]), _DAMP[kind]))
        for pair in self.pairs:
            (a, _), (b, size_b) = (coarse[c] for c in pair["columns"])
            codes = _pair_codes(a, b, size_b)
            out.append(Term(codes, np.asarray(pair["shares"]), _DAMP["pair"], pair=True))
        return out

    def get_state(self) -> dict[str, Any]:
        return {"columns": self.columns, "pairs": self.pairs}


class CellMargins:
    """The margins inside each cell of some columns: a fair model's (group, outcome) cells.

    A fair model's sample moves the cells' counts (the fairness knob) and keeps what is inside
    a cell, so each cell's candidates are calibrated to the margins of that cell's training
    rows (cells of at least ``_MIN_CELL_ROWS`` rows; the others by the odds alone).
    """

    def __init__(self, state: dict[str, Any]) -> None:
        self.columns: list[str] = list(state["columns"])
        self.cells = {key: Margins(cell) for key, cell in state["cells"].items()}

    @classmethod
    def fit(
        cls, real: pd.DataFrame, discrete: Sequence[str], columns: Sequence[str],
        names: Sequence[str] | None = None,
    ) -> CellMargins:  # fmt: skip
        """The margins (of the columns ``names``, default all) inside each cell of ``columns``."""
        shell = cls({"columns": list(columns), "cells": {}})
        keys = shell.keys(real)
        values, counts = np.unique(keys, return_counts=True)
        cells = {
            str(key): Margins.fit(real[keys == key], discrete, names).get_state()
            for key, count in zip(values, counts, strict=True)
            if count >= _MIN_CELL_ROWS
        }
        return cls({"columns": list(columns), "cells": cells})

    def keys(self, rows: pd.DataFrame) -> np.ndarray:
        """Each row's cell, as one string."""
        key = rows[self.columns[0]].astype(str)
        for column in self.columns[1:]:
            key = key + "\x1f" + rows[column].astype(str)
        return key.to_numpy(dtype=object)

    def probabilities(
        self, log_weights: np.ndarray, groups: np.ndarray, k: int, rows: pd.DataFrame
    ) -> np.ndarray:
        """:func:`inclusion_probabilities`, cell by cell (a cell holds whole groups)."""
        keys = self.keys(rows)
        out = np.empty(len(log_weights))
        for key in np.unique(keys):
            inside = np.flatnonzero(keys == key)
            margins = self.cells.get(str(key))
            terms = () if margins is None else margins.terms(rows.iloc[inside])
            own_groups = np.unique(groups[inside], return_inverse=True)[1]
            out[inside] = inclusion_probabilities(log_weights[inside], own_groups, k, terms)
        return out

    def get_state(self) -> dict[str, Any]:
        return {"columns": self.columns, "cells": {k: m.get_state() for k, m in self.cells.items()}}


def _edges(values: np.ndarray, bins: int) -> list[float]:
    values = values[~np.isnan(values)]
    if not len(values):
        return []
    return np.unique(np.quantile(values, np.linspace(0, 1, bins + 1)[1:-1])).tolist()


def _shares(codes: np.ndarray, size: int) -> list[float]:
    known = codes[codes >= 0]
    return (np.bincount(known, minlength=size) / max(len(known), 1)).tolist()


def _pair_codes(a: np.ndarray, b: np.ndarray, size_b: int) -> np.ndarray:
    return np.where((a >= 0) & (b >= 0), a * size_b + b, -1)


def inclusion_probabilities(
    log_weights: np.ndarray, groups: np.ndarray, k: int, terms: Sequence[Term] = ()
) -> np.ndarray:
    """Each candidate's chance of being drawn: proportional to its odds within its group,
    summing to the group's rows (a group of ``m * k`` candidates gives ``m``), at most 1, and
    raked towards the margins ``terms`` (see the module docstring).

    The pairs' margins are kept only if, with them, the columns' own margins stay about as
    close as without them: on a table with columns derived exactly from others (which the
    generator does not reproduce) a pair's cells can be met only by a few candidates, and
    raking towards them pulled every column's margin away (the wide table of
    benchmarks/widetable.py: Column Shapes 0.971 unrefined, 0.938 with pairs, 0.989 without).
    """
    total = len(log_weights) // k
    log_weights = _flatten(log_weights, _MIN_EFFECTIVE * total)
    start = _fill(np.exp(log_weights - log_weights.max()), groups, k)
    columns = [term for term in terms if not term.pair]
    alone = _rake(start, groups, k, columns)
    if len(columns) == len(terms):
        return alone
    both = _rake(start, groups, k, terms)
    scale, shift = _PAIR_SLACK
    return both if _misfit(both, columns) <= scale * _misfit(alone, columns) + shift else alone


def _rake(start: np.ndarray, groups: np.ndarray, k: int, terms: Sequence[Term]) -> np.ndarray:
    total = len(start) // k
    probabilities = start.copy()
    for _ in range(_ROUNDS if len(terms) else 0):
        for codes, shares, strength, _ in terms:
            known = codes >= 0
            current = np.bincount(codes[known], probabilities[known], minlength=len(shares))
            with np.errstate(divide="ignore", invalid="ignore"):
                factor = np.where(current > 0, (total * shares / current) ** strength, 1.0)
            probabilities[known] *= np.clip(factor, *_FACTOR)[codes[known]]
            probabilities = _fill(probabilities, groups, k)
    return probabilities


def _misfit(probabilities: np.ndarray, terms: Sequence[Term]) -> float:
    """The mean total-variation distance of the chances' margins from the training ones."""
    distances = []
    for codes, shares, _, _ in terms:
        known = codes >= 0
        current = np.bincount(codes[known], probabilities[known], minlength=len(shares))
        distances.append(0.5 * np.abs(current / max(current.sum(), 1e-300) - shares).sum())
    return float(np.mean(distances)) if distances else 0.0


def _effective(log_weights: np.ndarray) -> float:
    """Kish's effective sample size of the weights ``exp(log_weights)``."""
    w = np.exp(log_weights - log_weights.max())
    return float(w.sum() ** 2 / (w**2).sum())


def _flatten(log_weights: np.ndarray, least: float) -> np.ndarray:
    """The odds raised to the largest power at most 1 that leaves an effective sample size of
    at least ``least`` candidates.

    A classifier that tells every candidate from the real rows (a table with columns derived
    exactly from others, which the generator does not reproduce) gives odds so uneven that a
    handful of candidates would be drawn for their one best feature and the calibration could
    not move them; flattened, the odds still rank the candidates and the margins can be met.
    On Adult the odds keep about 0.7 times the wanted rows and are left as they are.
    """
    if len(log_weights) == 0 or _effective(log_weights) >= least:
        return log_weights
    low, high = 0.0, 1.0
    for _ in range(30):  # bisection on the power; the effective size falls as it grows
        middle = (low + high) / 2
        low, high = (middle, high) if _effective(middle * log_weights) >= least else (low, middle)
    return low * log_weights


def _fill(weights: np.ndarray, groups: np.ndarray, k: int) -> np.ndarray:
    """Scale ``weights`` so that each group sums to its rows, capping at 1 (the capped mass
    goes to the others)."""
    if len(groups) and groups[0] == groups[-1] and not np.any(groups != groups[0]):
        return _fill_one(weights, len(groups) / k)  # one group: sums in place of bincounts
    wanted = np.bincount(groups) / k
    out = weights.astype(float)
    full = np.zeros(len(out), dtype=bool)
    for _ in range(100):
        free = np.bincount(groups, np.where(full, 0.0, out), minlength=len(wanted))
        left = wanted - np.bincount(groups, full, minlength=len(wanted))
        scale = np.divide(left, free, out=np.zeros_like(left), where=free > 0)
        out = np.where(full, 1.0, out * scale[groups])
        over = out > 1.0
        if not over.any():
            break
        full |= over
    return np.minimum(out, 1.0)


def _fill_one(weights: np.ndarray, wanted: float) -> np.ndarray:
    """:func:`_fill` for candidates that all form one group."""
    out = weights.astype(float)
    full = np.zeros(len(out), dtype=bool)
    for _ in range(100):
        free = float(np.sum(out, where=~full))
        left = wanted - np.count_nonzero(full)
        out = np.where(full, 1.0, out * (left / free if free > 0 else 0.0))
        over = out > 1.0
        if not over.any():
            break
        full |= over
    return np.minimum(out, 1.0)


def choose_rows(
    probabilities: np.ndarray, groups: np.ndarray, k: int, rng: np.random.Generator
) -> np.ndarray:
    """Draw one row in ``k`` of each group, each candidate with its inclusion probability.

    Systematic sampling in a random order within each group: the candidates' probabilities
    are laid end to end and a comb of teeth one apart, from a uniform start, picks the
    candidates it hits. Candidate ``i`` stands for wanted row ``i % n``; the rows picked for a
    group fill its wanted rows in order, so row ``j`` of the result shares the condition of
    wanted row ``j``.
    """
    n = len(probabilities) // k
    order = np.lexsort((rng.random(len(groups)), groups))
    sorted_groups = groups[order]
    cumulative = np.cumsum(probabilities[order])
    starts = np.flatnonzero(np.r_[True, sorted_groups[1:] != sorted_groups[:-1]])
    group_of = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, len(order)]))
    within = cumulative - np.r_[0.0, cumulative][starts][group_of]  # mass up to each one
    start = rng.random(len(starts))[group_of]  # the comb's first tooth, one per group
    hit = np.floor(within - start) > np.floor(within - probabilities[order] - start)
    picked = _exact_counts(order[hit], probabilities, groups, k)
    picked = picked[np.lexsort((picked, groups[picked]))]  # by group, then candidate
    slots = np.argsort(groups[:n], kind="stable")  # wanted rows by group (row i: candidate i)
    out = np.empty(n, dtype=np.int64)
    out[slots] = picked
    return out


def _exact_counts(
    picked: np.ndarray, probabilities: np.ndarray, groups: np.ndarray, k: int
) -> np.ndarray:
    """Make each group give exactly its rows (rounding can leave one tooth over or short)."""
    wanted = np.bincount(groups) // k
    got = np.bincount(groups[picked], minlength=len(wanted))
    if np.array_equal(got, wanted):
        return picked
    chosen = np.zeros(len(groups), dtype=bool)
    chosen[picked] = True
    for group in np.flatnonzero(got != wanted):
        members = np.flatnonzero(groups == group)
        ranked = members[np.argsort(-probabilities[members], kind="stable")]
        first = np.r_[ranked[chosen[ranked]], ranked[~chosen[ranked]]]  # drawn ones first
        chosen[members] = False
        chosen[first[: wanted[group]]] = True
    return np.flatnonzero(chosen)
