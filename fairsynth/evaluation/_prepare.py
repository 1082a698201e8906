"""Input checks and the shared, cleaned view of the tables that every section scores.

The evaluation takes any DataFrames, so this module decides once, for all sections, which
columns are numbers and which are categories, checks that the tables agree about it, and
binarises a classification target against the pinned positive label.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from fairsynth.evaluation._values import (
    MISSING,
    Kind,
    as_numbers,
    category_strings,
    column_kind,
    group_labels,
)
from fairsynth.exceptions import DataError, ParameterError, format_choices
from fairsynth.labels import is_label

__all__ = [
    "MISSING",
    "Issue",
    "Prepared",
    "category_strings",
    "check_threads",
    "column_kind",
    "group_labels",
    "limit_threads",
    "prepare",
    "seed_of",
]

_REGRESSION_MIN_DISTINCT = 20


@dataclass(frozen=True)
class Issue:
    """An entry that could not be computed, or a caveat the reader must know about."""

    section: str
    item: str
    reason: str


@dataclass
class Prepared:
    """Cleaned copies of the tables plus the roles of their columns.

    Categorical columns hold strings (missing values as :data:`MISSING`), numeric and
    datetime columns hold floats (datetimes as days since 1970).
    """

    train: pd.DataFrame
    synthetic: pd.DataFrame
    test: pd.DataFrame | None
    target: str | None
    positive_label: object
    task: Literal["classification", "regression"] | None
    sensitive: list[str]
    categorical: list[str]
    numerical: list[str]
    y_train: np.ndarray | None = None
    y_synthetic: np.ndarray | None = None
    y_test: np.ndarray | None = None
    issues: list[Issue] = field(default_factory=list)

    @property
    def synthetic_has_target(self) -> bool:
        return self.target is not None and self.target in self.synthetic.columns

    def features(self, *, with_sensitive: bool = True) -> tuple[list[str], list[str]]:
        """Return (categorical, numerical) feature columns for a downstream model."""
        drop = {self.target} | (set() if with_sensitive else set(self.sensitive))
        return (
            [c for c in self.categorical if c not in drop],
            [c for c in self.numerical if c not in drop],
        )


def seed_of(random_state: int | np.random.RandomState | np.random.Generator | None) -> int:
    """Turn ``random_state`` into one integer from which every stochastic step derives.

    An integer is used as it is (so ``random_state=0`` gives the protocol's
    ``HistGradientBoostingClassifier(random_state=0)``); ``None`` draws fresh entropy; a
    generator is drawn from once. The global numpy RNG is never used.
    """
    if random_state is None:
        return int(np.random.default_rng().integers(2**31 - 1))
    if isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool):
        if random_state < 0:
            raise ParameterError(f"random_state must be >= 0, got {random_state}.")
        return int(random_state)
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(2**31 - 1))
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(2**31 - 1))
    raise ParameterError(
        f"random_state must be None, an int or a numpy Generator/RandomState, "
        f"got {type(random_state).__name__}."
    )


def limit_threads(n_threads: int | None) -> AbstractContextManager[Any]:
    """Cap OpenMP and BLAS threads inside a ``with`` block (threadpoolctl restores them).

    scikit-learn's gradient boosting runs OpenMP loops whose threads wait on each other; on a
    machine whose cores are also busy with other work, two threads made a small fit 4-8
    times slower than one (measured on the 2-core development machine). None: no cap.
    """
    n_threads = check_threads(n_threads)
    # threadpool_limits applies its limits when it is made: make it only to use it in a `with`
    return nullcontext() if n_threads is None else threadpool_limits(limits=n_threads)


def check_threads(n_threads: int | None) -> int | None:
    """``n_threads`` as an int (or None), or a ParameterError naming what is valid."""
    if n_threads is None:
        return None
    if isinstance(n_threads, bool) or not isinstance(n_threads, (int, np.integer)) or n_threads < 1:
        raise ParameterError(f"n_threads must be None or a positive integer, got {n_threads!r}.")
    return int(n_threads)


def _check_frame(frame: object, name: str) -> pd.DataFrame:
    if not isinstance(frame, pd.DataFrame):
        raise DataError(f"{name} must be a pandas DataFrame, got {type(frame).__name__}.")
    if frame.empty or frame.shape[1] == 0:
        raise DataError(f"{name} is empty ({frame.shape[0]} rows, {frame.shape[1]} columns).")
    if frame.columns.duplicated().any():
        dup = frame.columns[frame.columns.duplicated()].unique()
        raise DataError(f"{name} has duplicated column names: {format_choices(dup)}.")
    return frame


def _check_columns(
    real: pd.DataFrame, other: pd.DataFrame, name: str, target: str | None, real_name: str
) -> list[str]:
    """Check ``other`` has the columns of ``real``; return the columns both have."""
    real_cols, other_cols = list(real.columns), set(other.columns)
    extra = [c for c in other.columns if c not in set(real_cols)]
    missing = [c for c in real_cols if c not in other_cols]
    tolerated = target is not None and missing == [target]
    if extra or (missing and not tolerated):
        parts = []
        if missing:
            parts.append(f"missing {format_choices(missing)}")
        if extra:
            parts.append(f"unexpected {format_choices(extra)}")
        raise DataError(
            f"Columns of {name} do not match {real_name}: {'; '.join(parts)}. "
            f"{real_name} has {format_choices(real_cols, limit=20)}."
        )
    return [c for c in real_cols if c in other_cols]


def _kinds(
    real: pd.DataFrame, others: dict[str, pd.DataFrame], discrete: set[str], real_name: str
) -> dict[str, Kind]:
    kinds: dict[str, Kind] = {}
    for column in real.columns:
        kind = "categorical" if column in discrete else column_kind(real[column])
        for name, frame in others.items():
            if column not in frame.columns or column in discrete:
                continue
            other = column_kind(frame[column])
            if other != kind and not frame[column].isna().all():
                raise DataError(
                    f"Column '{column}' holds {kind} values in {real_name} but {other} "
                    f"values ({frame[column].dtype}) in {name}; convert it to match, or name "
                    "it in discrete_columns."
                )
        kinds[column] = kind
    return kinds


def _resolve_task(
    real: pd.Series, positive_label: object, task: str, real_name: str
) -> Literal["classification", "regression"]:
    if task not in ("auto", "classification", "regression"):
        raise ParameterError(
            f"task must be one of 'auto', 'classification', 'regression', got {task!r}."
        )
    if task == "regression" or (
        task == "auto"
        and positive_label is None
        and column_kind(real) == "numeric"
        and real.nunique() > _REGRESSION_MIN_DISTINCT
    ):
        if positive_label is not None:
            raise ParameterError("positive_label is meaningless for a regression target.")
        if column_kind(real) != "numeric":
            raise DataError(f"A regression target must be numeric; '{real.name}' is not.")
        return "regression"
    labels = pd.unique(real.dropna())
    if positive_label is None:
        raise ParameterError(
            f"positive_label is required for the classification target '{real.name}'. "
            f"Labels in {real_name}: {format_choices(labels)}."
        )
    if not is_label(real, positive_label).any():
        raise ParameterError(
            f"positive_label {positive_label!r} does not occur in {real_name}['{real.name}']. "
            f"Labels: {format_choices(labels)}."
        )
    if is_label(real, positive_label).all():
        raise DataError(
            f"Every row of {real_name} has {real.name}={positive_label!r}; nothing to learn."
        )
    return "classification"


def _check_values(
    real: pd.Series, others: dict[str, pd.DataFrame], role: str, real_name: str
) -> list[Issue]:
    """Compare a target's or sensitive column's values across tables, as category strings.

    A table whose values share none with ``real_name`` codes the column differently (0/1
    against no/yes): binarising or grouping it would give a silently wrong answer, so it is
    an error. Some unseen values beside known ones are scored and noted.
    """
    known = set(category_strings(pd.Series(pd.unique(real.dropna()))))
    issues = []
    for name, frame in others.items():
        if real.name not in frame.columns:
            continue
        column = frame[real.name].dropna()
        values = category_strings(pd.Series(pd.unique(column)))
        unseen = sorted(set(values) - known)
        if unseen and len(unseen) == len(values):
            raise DataError(
                f"The {role} column '{real.name}' in {name} shares no value with {real_name}: "
                f"{name} has {format_choices(unseen)}, {real_name} has "
                f"{format_choices(sorted(known))}. Recode it to {real_name}'s values."
            )
        if unseen:
            rows = int((~category_strings(column).isin(known)).sum())
            section = "all" if role == "target" else "fairness"
            issues.append(
                Issue(
                    section,
                    f"{role} '{real.name}' in {name}",
                    f"{rows} row(s) hold values not in {real_name}: {format_choices(unseen)}",
                )
            )
    return issues


def _names(values: str | Iterable[str] | None, what: str) -> list[str]:
    if values is None:
        return []
    if isinstance(values, str):
        return [values]
    names = list(values)
    if not all(isinstance(v, str) for v in names):
        raise ParameterError(f"{what} must be column names (strings), got {names!r}.")
    return names


def prepare(
    real_train: pd.DataFrame,
    synthetic: pd.DataFrame,
    real_test: pd.DataFrame | None,
    *,
    target: str | None,
    positive_label: object,
    sensitive: str | Sequence[str] | None,
    discrete_columns: Iterable[str] | None = None,
    task: str = "auto",
    names: tuple[str, str, str] = ("real_train", "synthetic", "real_test"),
) -> Prepared:
    """Validate the tables and return the cleaned view shared by all sections.

    ``real_train`` is the reference: the other tables must have its columns (the synthetic
    one may lack the target) and the same kind of values in each. ``names`` are the tables'
    names in error messages.

    Raises
    ------
    DataError
        A table is not a DataFrame or is empty; columns or column kinds do not match.
    ParameterError
        The target, a sensitive or discrete column is not in the data; the positive label is
        missing or does not occur.
    """
    real_name, synthetic_name, test_name = names
    real_train = _check_frame(real_train, real_name)
    synthetic = _check_frame(synthetic, synthetic_name)
    real_test = None if real_test is None else _check_frame(real_test, test_name)
    sens = _names(sensitive, "sensitive")
    discrete = set(_names(discrete_columns, "discrete_columns"))
    columns = list(real_train.columns)
    for name in [*([] if target is None else [target]), *sens, *discrete]:
        if name not in columns:
            raise ParameterError(
                f"Column '{name}' not in {real_name}. Available: {format_choices(columns)}"
            )
    if target is not None and target in sens:
        raise ParameterError(f"Target '{target}' cannot also be a sensitive column.")
    issues: list[Issue] = []
    shared = _check_columns(real_train, synthetic, synthetic_name, target, real_name)
    if real_test is not None:
        _check_columns(real_train, real_test, test_name, None, real_name)
    if target is not None and target not in shared:
        issues.append(Issue("all", f"target '{target}'", f"missing from {synthetic_name}"))
    others = {synthetic_name: synthetic}
    if real_test is not None:
        others[test_name] = real_test
    task_ = None
    if target is not None:
        task_ = _resolve_task(real_train[target], positive_label, task, real_name)
        if task_ == "classification":
            discrete.add(target)
    kinds = _kinds(real_train, others, discrete, real_name)
    categorical = [c for c in columns if kinds[c] == "categorical"]
    roles = {c: "sensitive" for c in sens} | (
        {target: "target"} if task_ == "classification" else {}
    )
    for column, role in roles.items():
        if column in categorical:
            issues += _check_values(real_train[column], others, role, real_name)

    def clean(frame: pd.DataFrame) -> pd.DataFrame:
        # by position, so repeated index labels (rows drawn with replacement) are no problem
        out = {
            c: (category_strings(frame[c]) if c in categorical else as_numbers(frame[c])).to_numpy()
            for c in columns
            if c in frame.columns
        }
        return pd.DataFrame(out, index=pd.RangeIndex(len(frame)))

    prepared = Prepared(
        train=clean(real_train),
        synthetic=clean(synthetic),
        test=None if real_test is None else clean(real_test),
        target=target,
        positive_label=positive_label if task_ == "classification" else None,
        task=task_,
        sensitive=sens,
        categorical=categorical,
        numerical=[c for c in columns if c not in categorical],
        issues=issues,
    )
    if target is not None:
        prepared.y_train = _target(real_train[target], task_, positive_label)
        if target in shared:
            prepared.y_synthetic = _target(synthetic[target], task_, positive_label)
        if real_test is not None:
            prepared.y_test = _target(real_test[target], task_, positive_label)
            if task_ == "classification" and len(np.unique(prepared.y_test)) < 2:
                raise DataError(
                    f"{test_name} needs rows with and without {target}={positive_label!r} "
                    "to score the downstream models."
                )
    _note_missing_sensitive(prepared, {real_name: real_train} | others)
    return prepared


def _target(column: pd.Series, task: str | None, positive_label: object) -> np.ndarray:
    if task == "classification":
        return is_label(column, positive_label)
    return as_numbers(column).to_numpy()


def _note_missing_sensitive(prepared: Prepared, frames: dict[str, pd.DataFrame]) -> None:
    for column in prepared.sensitive:
        for name, frame in frames.items():
            count = int(frame[column].isna().sum())
            if count:
                prepared.issues.append(
                    Issue(
                        "fairness",
                        f"sensitive '{column}' in {name}",
                        f"{count} missing values, counted as their own group '{MISSING}'",
                    )
                )
