"""FairPTGANSynthesizer: PTGAN conditioned on the (group, outcome) cell, with a fairness knob.

Only what differs from :class:`~fairsynth.models.ptgan.PTGANSynthesizer` lives here:

- the generator also reads a *condition*, the one-hot codes of the sensitive column(s) and of
  the target; the codes are pasted into its output, so a row generated for a cell carries
  exactly that cell's sensitive and target values, however short the fit;
- tempered pairs are drawn within a cell, or across cells with the codes interpolated like the
  rows (``cross_group_pairs``);
- :meth:`~FairPTGANSynthesizer.sample` first decides how many rows each cell gets, from the
  data's cell counts moved by the fairness knob, then generates every row for its cell.

The knob moves each group's rate of the positive outcome toward the overall rate,
``P'(Y = pos | S = s) = p_s + λ (p - p_s)`` (docs/fairness.md): λ = 0 keeps the data's
structure, λ = 1 equalises the rates in the data, λ ≈ 2 is what downstream parity needed on
Adult. Features are never blended across groups: measured on real Adult, that removes the gap
in the data but not in a downstream model's predictions.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Sequence
from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from fairsynth.exceptions import DataError, FairnessWarning, ParameterError, format_choices
from fairsynth.labels import is_label
from fairsynth.models._checks import random_state_of
from fairsynth.models._constraints import Constraint, Interval, Options
from fairsynth.models._rows import Rows
from fairsynth.models.conditioning import CellPlan, Conditioner, ConditionQueue
from fairsynth.models.conditions import cell_codes, condition_table, conditioned_cells
from fairsynth.models.knob import allocate, cell_shares, check_fairness
from fairsynth.models.ptgan import PTGANSynthesizer
from fairsynth.transform import TableTransformer
from fairsynth.transform._schema import resolve_discrete

__all__ = ["FairPTGANSynthesizer", "FairnessWarning"]

_SMALL_CELLS = ("warn", "error")


class FairPTGANSynthesizer(PTGANSynthesizer):
    """PTGAN that generates rows for any (group, outcome) cell, with a fairness knob at sampling.

    The model is fitted once; :meth:`sample` then sets each group's rate of the positive
    outcome to ``p_s + λ (p - p_s)`` (``p_s`` the group's rate in the data, ``p`` the overall
    rate) and generates each row for its cell, so the rates hold exactly in every sample.
    λ = 0 reproduces the data's group-outcome structure; values above 1 reverse the gap in the
    data, which downstream parity usually needs (see docs/fairness.md for how to pick λ).

    Parameters
    ----------
    sensitive : str or list of str
        Sensitive column(s); several give intersectional groups. Required. Every row needs a
        value (missing values are refused: fill them with a group of their own first).
    target : str
        The outcome column (discrete). Required.
    positive_label : object
        The favourable value of ``target`` (``'1'`` matches 1). Required.
    cross_group_pairs : bool, default=True
        Draw tempered pairs across cells, the sensitive and target codes interpolated like the
        rows (small groups borrow from large ones); False draws both rows of a pair from one
        cell. Across cells gave the steadier TSTR and the better frontier on Adult.
    outcome_balance : float, default=0.5
        How training rows are drawn, in [0, 1]. 0 draws them as they come in the data; larger
        values move each group's outcome mix towards equal shares while keeping the group's
        size, ``P_train(y | s) = (1 - b) P(y | s) + b / K`` for ``K`` outcome categories, so a
        rare cell (e.g. women with the positive outcome), which the knob enlarges, weighs more
        in training. The cell counts of a sample do not depend on it.
    min_cell_size : int, default=10
        A (group, outcome) cell with fewer real rows is reported at fit.
    small_cells : {'warn', 'error'}, default='warn'
        'warn': a :class:`FairnessWarning` names the small cells and their rows are generated
        from the shared codes; 'error': fit raises a DataError naming them.
    **ptgan_params
        Every parameter of :class:`~fairsynth.models.ptgan.PTGANSynthesizer` (``epochs``,
        ``batch_size``, ``random_state``, ...), with the same defaults. Its point masses and
        lighter coherency weight were the fair model's defaults first: their effect on the
        knob is measured in docs/fairness.md, "The parameters that matter".

    Attributes
    ----------
    groups_ : list of tuple
        The observed groups (one value per sensitive column), in the order of ``cell_counts_``.
    cell_counts_ : list of list of int
        Real rows per group and target category (in ``transformer_.categories(target)`` order).
    conditioner_ : Conditioner
        The cells, the training draws and the condition codes
        (:class:`~fairsynth.models.conditioning.Conditioner`).
    positive_index_ : int
        Position of the positive label among the target's categories.
    Also those of PTGANSynthesizer (``transformer_``, ``generator_``, ``history_``, ...).

    Examples
    --------
    >>> import pandas as pd
    >>> from fairsynth.models.fair import FairPTGANSynthesizer
    >>> data = pd.DataFrame({"x": [0.1, 0.5, 0.9, 1.3] * 25, "s": ["a"] * 60 + ["b"] * 40,
    ...                      "y": ([1] * 30 + [0] * 30) + ([1] * 10 + [0] * 30)})
    >>> model = FairPTGANSynthesizer(sensitive="s", target="y", positive_label=1, epochs=1,
    ...                              batch_size=50, verbose=False, random_state=0).fit(data)
    >>> rows = model.sample(1000, fairness=1.0, random_state=0)
    >>> rows.groupby("s")["y"].mean().round(2).tolist()
    [0.4, 0.4]
    """

    def __init__(
        self,
        *,
        sensitive: str | Sequence[str] | None = None,
        target: str | None = None,
        positive_label: Any = None,
        cross_group_pairs: bool = True,
        outcome_balance: float = 0.5,
        min_cell_size: int = 10,
        small_cells: str = "warn",
        **ptgan_params: Any,
    ) -> None:
        # PTGAN's parameters are forwarded, not repeated, so their defaults cannot drift;
        # PTGANSynthesizer.__init__ rejects unknown names, and the merged signature set below
        # the class lists them all for get_params, clone and help().
        super().__init__(**ptgan_params)
        self.sensitive = sensitive
        self.target = target
        self.positive_label = positive_label
        self.cross_group_pairs = cross_group_pairs
        self.outcome_balance = outcome_balance
        self.min_cell_size = min_cell_size
        self.small_cells = small_cells

    _parameter_constraints: ClassVar[dict[str, list[Constraint]]] = {
        "small_cells": [Options(*_SMALL_CELLS)],
        "outcome_balance": [Interval(Real, 0, 1)],
        "min_cell_size": [Interval(Integral, 0, None)],
    }

    # ------------------------------------------------------------------------- checks
    @property
    def _sensitive(self) -> list[str]:
        if self.sensitive is None:
            return []
        return [self.sensitive] if isinstance(self.sensitive, str) else list(self.sensitive)

    def _refiner_cells(self) -> list[str]:
        """The refined rows are calibrated inside each (group, outcome) cell."""
        return [*self._sensitive, str(self.target)]

    def _check_params(self) -> None:
        super()._check_params()
        if self.training_by_sampling is True:
            raise ParameterError(
                "training_by_sampling is not an option of FairPTGANSynthesizer: its generator "
                "is conditioned on the (group, outcome) cells instead."
            )
        if not self._sensitive or self.target is None or self.positive_label is None:
            raise ParameterError(
                "FairPTGANSynthesizer needs sensitive=<column or list>, target=<column> and "
                f"positive_label=<value>; got sensitive={self.sensitive!r}, "
                f"target={self.target!r}, positive_label={self.positive_label!r}."
            )
        columns = [*self._sensitive, self.target]
        if len(set(columns)) < len(columns):
            raise ParameterError(f"sensitive and target must be distinct columns: {columns}.")

    def _check_fair_columns(self, frame: pd.DataFrame) -> None:
        for column in [*self._sensitive, self.target]:
            if column not in frame.columns:
                raise DataError(
                    f"Column {column!r} not in data. Available: {format_choices(frame.columns)}"
                )
            missing = int(frame[column].isna().sum())
            if missing:
                raise DataError(
                    f"Column {column!r} has {missing} missing value(s); every row needs a group "
                    "and an outcome. Fill them with a value of their own (e.g. 'unknown') or "
                    "drop those rows."
                )
            if frame[column].nunique() < 2:
                raise DataError(
                    f"Column {column!r} has a single value; there is nothing to be fair across."
                )
        values = sorted(frame[self.target].drop_duplicates().tolist(), key=str)
        if not is_label(values, self.positive_label).any():
            raise ParameterError(
                f"positive_label {self.positive_label!r} is not a value of {self.target!r}. "
                f"Values: {format_choices(values)}"
            )

    # ------------------------------------------------------------------------------ fit
    def fit(self, X: pd.DataFrame, y: None = None) -> FairPTGANSynthesizer:
        """Learn the table ``X`` and its (group, outcome) cells; return ``self``."""
        self._check_params()
        frame = self._validate_table(X)
        self._check_fair_columns(frame)
        fair = {*self._sensitive, str(self.target)}
        if self.discrete_columns is None:
            inferred, _ = resolve_discrete(frame, None)
            self._discrete = [c for c in frame.columns if c in inferred or c in fair]
        else:
            given = list(self.discrete_columns)
            self._discrete = given + [c for c in frame.columns if c in fair and c not in given]
        super().fit(frame)
        return self

    def _transformer_discrete(self) -> list[str]:
        return self._discrete  # the sensitive columns and the target always among them

    @classmethod
    def _params_of_older_files(cls, transformer: TableTransformer) -> dict[str, Any]:
        return {**super()._params_of_older_files(transformer), "outcome_balance": 0.0}

    def _blocks(self) -> list[tuple[int, int]]:
        """The output span of each sensitive column's categories, then the target's."""
        blocks = []
        for column in [*self._sensitive, str(self.target)]:
            spans = self.transformer_.column_spans(column)
            if len(spans) != 1 or spans[0].kind != "onehot":
                raise DataError(
                    f"Column {column!r} is not modelled as one block of categories (an ID-like "
                    "or constant column?); it cannot define groups or outcomes."
                )
            blocks.append((spans[0].start, spans[0].width))
        return blocks

    def _fit_conditions(self, data: Rows) -> None:
        """Learn the cells, index the rows by cell, and report cells with few rows."""
        across = bool(self.cross_group_pairs)
        self.conditioner_ = Conditioner(self._blocks(), self.device_, across=across).fit(
            data, outcome_balance=float(self.outcome_balance)
        )
        self._show_cells()
        labels = self.transformer_.categories(str(self.target))
        self.positive_index_ = next(
            i for i, hit in enumerate(is_label(labels, self.positive_label)) if hit
        )
        self._report_small_cells()

    def _set_fitted_state(self, fitted: dict[str, Any]) -> None:
        fitted = dict(fitted)
        cells = fitted.pop("group_index_"), fitted.pop("cell_counts_")
        super()._set_fitted_state(fitted)
        self.conditioner_ = Conditioner(self._blocks(), self.device_).restore(*cells)
        self._show_cells()

    def _show_cells(self) -> None:
        # the conditioner's cells under the names of the fitted attributes (the same lists)
        self.group_index_ = self.conditioner_.group_index
        self.cell_counts_ = self.conditioner_.counts

    def _report_small_cells(self) -> None:
        labels = self.transformer_.categories(str(self.target))
        small = [
            f"{self._describe(g)}, {self.target}={labels[k]!r}: {n} rows"
            for g, row in enumerate(self.cell_counts_)
            for k, n in enumerate(row)
            if n < self.min_cell_size
        ]
        if not small:
            return
        message = (
            f"{len(small)} (group, outcome) cell(s) have fewer than min_cell_size="
            f"{self.min_cell_size} real rows: {'; '.join(small[:8])}"
            f"{'; ...' if len(small) > 8 else ''}. "
        )
        if self.small_cells == "error":
            raise DataError(message + "Merge small groups, or lower min_cell_size.")
        warnings.warn(
            message + "Their rows are generated from codes shared with the other cells and rest "
            "on few examples; merge small groups or lower min_cell_size to silence this.",
            FairnessWarning,
            stacklevel=5,
        )

    # ---------------------------------------------------------------------------- sample
    @property
    def groups_(self) -> list[tuple[Any, ...]]:
        """The observed groups, one value per sensitive column."""
        self._check_fitted()
        categories = [self.transformer_.categories(c) for c in self._sensitive]
        return [tuple(categories[j][i] for j, i in enumerate(g)) for g in self.group_index_]

    def _describe(self, group: int) -> str:
        return ", ".join(
            f"{c}={v!r}" for c, v in zip(self._sensitive, self.groups_[group], strict=True)
        )

    def _by_groups(self, by: str | Sequence[str] | None) -> tuple[list[str], np.ndarray]:
        """The columns the knob acts on, and the group of theirs each group belongs to."""
        names = self._sensitive if by is None else [by] if isinstance(by, str) else list(by)
        if not names or any(c not in self._sensitive for c in names):
            raise ParameterError(
                f"by={by!r} must name sensitive columns. Valid: {format_choices(self._sensitive)}"
            )
        keys = np.asarray(self.group_index_)[:, [self._sensitive.index(c) for c in names]]
        return names, np.unique(keys, axis=0, return_inverse=True)[1].ravel()

    def _cell_probabilities(
        self, fairness: float, by: str | Sequence[str] | None, balanced_groups: bool
    ) -> np.ndarray:
        """Share of a sample for each (group, target category), shape (n_groups, n_categories)."""
        self._check_fitted()
        check_fairness(fairness)
        names, by_group = self._by_groups(by)
        counts = np.asarray(self.cell_counts_, dtype=float)
        joint, asked = cell_shares(
            counts, self.positive_index_, by_group, fairness, balanced_groups
        )
        for b in np.flatnonzero((asked < 0) | (asked > 1)):
            example = int(np.flatnonzero(by_group == b)[0])
            group = ", ".join(
                f"{c}={self.groups_[example][self._sensitive.index(c)]!r}" for c in names
            )
            warnings.warn(
                f"fairness={fairness}: the positive rate of ({group}) would be "
                f"{asked[b]:.3f}; clipped to [0, 1].",
                FairnessWarning,
                stacklevel=4,
            )
        return joint

    def outcome_rates(
        self,
        fairness: float = 0.0,
        *,
        by: str | Sequence[str] | None = None,
        balanced_groups: bool = False,
    ) -> pd.DataFrame:
        """Per group: real rows, its share and positive rate in the data and in a sample.

        Returns
        -------
        DataFrame
            The sensitive columns, then ``rows`` (real), ``data_rate``, ``share`` (of a
            sample) and ``rate`` (its positive rate in a sample at this ``fairness``).
        """
        joint = self._cell_probabilities(fairness, by, balanced_groups)
        counts = np.asarray(self.cell_counts_, dtype=float)
        share = joint.sum(axis=1)
        table = pd.DataFrame(self.groups_, columns=self._sensitive)
        table["rows"] = counts.sum(axis=1).astype(int)
        table["data_rate"] = counts[:, self.positive_index_] / counts.sum(axis=1)
        table["share"] = share
        table["rate"] = joint[:, self.positive_index_] / share
        return table

    def _plan_sample(  # type: ignore[override]  # the base's **options, named
        self,
        n_samples: int,
        random_state: Any,
        *,
        fairness: float = 0.0,
        by: str | Sequence[str] | None = None,
        balanced_groups: bool = False,
        conditions: Any = None,
    ) -> tuple[CellPlan | ConditionQueue, int]:
        """The cells of the sample's rows (exact totals over all its chunks), and a net seed.

        With ``conditions``, each row's cell is drawn among the cells its condition allows, in
        proportion to the knob's shares: exact counts for a dict, in the frame's order for a
        DataFrame.
        """
        joint = self._cell_probabilities(fairness, by, balanced_groups).ravel()
        rng = random_state_of(random_state)
        cell_seed, net_seed = (int(v) for v in rng.randint(np.iinfo(np.int32).max, size=2))
        cell_rng = np.random.default_rng(cell_seed)
        if conditions is None:
            return CellPlan(allocate(n_samples, joint), cell_rng), net_seed
        table = condition_table(conditions, n_samples, list(self.feature_names_in_))
        n_categories = len(self.cell_counts_[0])
        cells = np.asarray([[*g, k] for g in self.group_index_ for k in range(n_categories)])
        columns = [*self._sensitive, str(self.target)]
        one_for_all = not isinstance(conditions, pd.DataFrame)
        allowed = cell_codes(table, columns, cells, self.transformer_, one_for_all)
        return conditioned_cells(joint, allowed, table, cell_rng, one_for_all), net_seed

    def sample(  # type: ignore[override]  # the base's **options, named and documented
        self,
        n_samples: int,
        *,
        fairness: float = 0.0,
        by: str | Sequence[str] | None = None,
        balanced_groups: bool = False,
        conditions: Any = None,
        random_state: Any = None,
    ) -> pd.DataFrame:
        """Draw synthetic rows with the outcome rates set by the fairness knob.

        Parameters
        ----------
        n_samples : int
            Number of rows, at least 1.
        fairness : float, default=0.0
            λ: each group's positive rate becomes ``p_s + λ (p - p_s)``, clipped to [0, 1]
            (a :class:`FairnessWarning` says so). 0 keeps the data's rates, 1 equalises them,
            above 1 reverses the gap. Negative values are refused.
        by : str or list of str, optional
            The sensitive column(s) whose groups the knob equalises (default all: their
            intersection). With ``by='sex'`` each (sex, race) group is shifted by its sex's
            ``λ (p - p_sex)``, keeping the race differences within a sex.
        balanced_groups : bool, default=False
            Give each group of ``by`` the same share of rows (default: the data's shares).
        conditions : dict or DataFrame, optional
            Values of the sensitive and target columns every row (a dict) or row ``i`` (row
            ``i`` of a frame of ``n_samples`` rows) must carry, e.g. ``{"sex": "Female"}``;
            exact, never by rejection. The other columns follow the knob's shares.
        random_state : int, RandomState or None
            Seed of the draw.

        Returns
        -------
        DataFrame
            The training table's columns and dtypes; every cell's row count is its exact share.
        """
        return super().sample(
            n_samples,
            random_state=random_state,
            fairness=fairness,
            by=by,
            balanced_groups=balanced_groups,
            conditions=conditions,
        )

    # ------------------------------------------------------------------------ model files
    def _fitted_state(self) -> dict[str, Any]:
        return super()._fitted_state() | {
            "group_index_": [[int(i) for i in g] for g in self.group_index_],
            "cell_counts_": [[int(n) for n in row] for row in self.cell_counts_],
            "positive_index_": int(self.positive_index_),
        }


def _merged_signature() -> inspect.Signature:
    own = inspect.signature(FairPTGANSynthesizer.__init__).parameters
    parent = inspect.signature(PTGANSynthesizer.__init__).parameters
    params = [p for n, p in own.items() if n != "ptgan_params"]
    params += [p for n, p in parent.items() if n != "self" and n not in own]
    return inspect.Signature(params)


FairPTGANSynthesizer.__init__.__signature__ = _merged_signature()  # type: ignore[attr-defined]
