"""Reversible table <-> matrix transform for the generators, with column-span metadata.

Continuous columns get mode-specific normalisation (a Bayesian Gaussian mixture fitted by rdt's
``ClusterBasedNormalizer``, as in CTGAN): one scalar in [-1, 1] plus a one-hot of the mixture
mode. Discrete columns get a one-hot block. :class:`TableTransformer` records where each block
lies (:class:`OutputSpan`) so the generator can put a tanh on scalars and a softmax on blocks.

rdt is used to *fit* the mixtures only; the learned parameters are then copied out as plain
numbers, and transform / inverse transform are computed from them here. That keeps the state
plain data (JSON plus numpy arrays, no pickle), makes the mode sampling vectorised and driven by
a local :class:`numpy.random.Generator`, and keeps rdt away from the global numpy RNG after fit.

This module is the package's public entry point; the per-column work lives in private modules:
``_schema`` (table checks, which codec models each column), ``_columns`` and ``_continuous``
(the codecs), ``_mixture`` (the mode-specific normalisation) and ``_values`` (plain-data
values and dtypes).
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from fairsynth.exceptions import (
    ColumnHandlingWarning,
    DataError,
    ModelFileError,
    NotFittedError,
    format_choices,
)
from fairsynth.transform._columns import Column, DiscreteColumn
from fairsynth.transform._continuous import ContinuousColumn
from fairsynth.transform._declared import check_private, described_discrete, fit_codecs
from fairsynth.transform._metadata import metadata_to_plain, resolve_metadata
from fairsynth.transform._schema import CODECS, check_frame, check_params, make_rng

__all__ = ["ColumnHandlingWarning", "OutputSpan", "TableTransformer"]

STATE_FORMAT = "fairsynth.TableTransformer"
STATE_VERSION = 1


@dataclass(frozen=True)
class OutputSpan:
    """Where one output head of the generator lies in the transformed matrix.

    Attributes
    ----------
    column : str
        The table column the span belongs to (a continuous column has several spans).
    start, width : int
        The span is ``matrix[:, start:start + width]``.
    kind : {"scalar", "onehot"}
        ``"scalar"``: one value in [-1, 1] (tanh head); ``"onehot"``: a block of probabilities
        (softmax head).
    """

    column: str
    start: int
    width: int
    kind: Literal["scalar", "onehot"]

    @property
    def stop(self) -> int:
        """End of the span (exclusive)."""
        return self.start + self.width


class TableTransformer(BaseEstimator):
    """Reversible transform between a table and the matrix a GAN generates.

    Parameters
    ----------
    discrete_columns : list of str, optional
        Columns to model as categories on top of the inferred ones: object, string,
        category and bool columns are always discrete, numbers and datetimes continuous
        unless listed here (an integer label, say). ``None`` lists none.
    max_modes : int, default 10
        Most mixture components per continuous column (rdt's ``max_clusters``).
    weight_threshold : float, default 0.005
        Components lighter than this are not used as modes (as in rdt / CTGAN).
    max_fit_rows : int or None, default 10_000
        The mixtures are fitted on at most this many rows per column, drawn at random (rdt's
        variational mixture costs about 0.1 s per 1,000 rows per column); ``None`` uses all.
        Ranges, rounding and categories always come from every row.
    point_mass_share : float or None, default None
        A value held by at least this share of a continuous column's rows, and by two rows or
        more (the zeros of a capital-gain column, the 40 of hours-per-week), becomes a mode of
        its own that decodes to exactly that value (at most ``max_modes`` such values, the
        heaviest); the mixture is fitted to the other values. ``None``: no point masses, as
        rdt and CTGAN (a spike is one more narrow Gaussian mode, and values generated in it
        scatter around the spike).
    point_mass_values : int or None, default None
        A continuous column of at most this many distinct whole numbers (years of education,
        a count, a 1-5 rating) has every value as a point mode, whatever its share: it is
        generated exactly, as a category would be, and stays a number. ``None``: only
        ``point_mass_share`` makes point modes.
    metadata : dict or None, default None
        Public descriptions of columns by name, ``{"categories": [...]}`` or ``{"bounds": [low,
        high], ...}`` (:mod:`~fairsynth.transform._metadata`): a described column's layout
        comes from them alone (no mixture; numbers scaled to the bounds and clipped to them).
    private_statistics : dict or None, default None
        ``{"epsilon": ε, "delta": δ}``: release the categories and bounds of the other columns
        with differential privacy, spending this budget (:mod:`~fairsynth.transform._private`,
        docs/privacy.md); None reads them from the data.
    random_state : int, numpy Generator or None
        Seeds the fitting subsample, and :meth:`transform` when it is given no seed.

    Attributes
    ----------
    spans_ : list of OutputSpan
        The output heads, in matrix order.
    output_dim_ : int
        Width of the transformed matrix.
    columns_ : list of str
        The table's columns, in order (``feature_names_in_`` as an array).
    discrete_columns_ : list of str
        The columns treated as discrete.
    n_features_in_ : int
        Number of columns.
    sources_ : dict of str to str
        Where each column's layout came from: 'metadata', 'dp' (released privately),
        'dtype' (a bool column's two values) or 'data' (the table as given).
    private_spent_ : dict
        The ε and δ the private releases spent (zero without ``private_statistics``).

    Notes
    -----
    Layout. A continuous column gives a scalar span (``(x - mean_k) / (4 sd_k)``, clipped to
    ±0.99), a one-hot span over its mixture modes, and, if it had missing values, a 2-wide
    one-hot ``[present, missing]`` (missing rows are encoded at the column mean). A discrete
    column gives one one-hot span over its observed categories, sorted where the values
    compare, else in order of appearance, with missing as an extra last category.

    Modes. Values holding at least ``point_mass_share`` of a column, or every value of a
    column of at most ``point_mass_values`` whole numbers, get point modes (scalar 0, decoded
    to the value itself). The mixture (rdt's priors, rdt's fixed seed, one BLAS
    thread) is fitted to the other values of the standardised column. Values it leaves
    uncovered within ±0.99 (outliers, spikes lighter than ``weight_threshold``) get extra
    "tail" modes spanning each run of them (at most ``max_modes`` more), where rdt and CTGAN
    would clip them. Transform samples each value's mode from its posterior (as rdt and CTGAN
    do, from a local numpy Generator) among the modes that hold it within ±0.99. So the fitted
    data round-trips exactly up to float32 precision, about 1e-7 of a mode's spread: integers
    and dates of ordinary tables come back exact, int64 values spread over 1e15 or
    second-resolution timestamps spread over years do not.

    :meth:`inverse_transform` accepts soft blocks (argmax) and clips scalars to [-1, 1]. Values
    come back clipped to the range seen in fit; integers rounded; floats rounded to the fewest
    decimals (≤ 15) that reproduce every fitted value; datetimes and timedeltas modelled as the
    count of their coarsest common unit (day, hour, minute, s, ms, us, ns) and returned in
    their original dtype and time zone. Column order, dtypes (category, string, Int64,
    boolean, float32, ...) and the kind of missing marker of object columns are restored.

    Awkward columns (each raises :class:`ColumnHandlingWarning` when not modelled):

    - all missing: not modelled, regenerated all missing;
    - constant (one value, no missing): not modelled, regenerated as that value; a
      continuous column with one value and some missing becomes a present/missing block;
    - an ID (a discrete column of at least 20 rows, all distinct, none missing): not modelled;
      regenerated as fresh IDs that never copy a real one: integers counting up from the
      largest real ID plus one (widened to int64 if the column's int type would overflow),
      text as ``'syn-0'``, ``'syn-1'``, ... (a prefix no real value starts with); a category
      column gets new categories;
    - an inferred text column whose values are 90 % or more numbers: :class:`DataError` naming
      a few offending values (list it in ``discrete_columns`` to keep it as categories);
    - ``inf`` in a continuous column, an empty table, duplicate or non-string column names,
      complex or other unsupported dtypes: :class:`DataError`.

    State. rdt only fits the mixtures; their parameters are copied out (and the global numpy
    RNG state, which rdt swaps in and out around its fit, is guarded). :meth:`get_state`
    returns JSON-able data and named numpy arrays; :meth:`from_state` rebuilds an identical
    transformer.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"age": [23, 35, 47, 51, 62, 38], "sex": list("FMFMFM")})
    >>> tt = TableTransformer(random_state=0).fit(df)
    >>> [(s.column, s.width, s.kind) for s in tt.column_spans("sex")]
    [('sex', 2, 'onehot')]
    >>> tt.categories("sex")
    ['F', 'M']
    >>> tt.inverse_transform(tt.transform(df)).equals(df)
    True
    """

    def __init__(
        self,
        discrete_columns: Iterable[str] | None = None,
        max_modes: int = 10,
        weight_threshold: float = 0.005,
        max_fit_rows: int | None = 10_000,
        point_mass_share: float | None = None,
        point_mass_values: int | None = None,
        metadata: Mapping[str, Any] | None = None,
        private_statistics: Mapping[str, float] | None = None,
        random_state: Any = None,
    ) -> None:
        self.discrete_columns = discrete_columns
        self.max_modes = max_modes
        self.weight_threshold = weight_threshold
        self.max_fit_rows = max_fit_rows
        self.point_mass_share = point_mass_share
        self.point_mass_values = point_mass_values
        self.metadata = metadata
        self.private_statistics = private_statistics
        self.random_state = random_state

    # ---------------------------------------------------------------------------- fitting

    def fit(self, data: pd.DataFrame, y: None = None) -> TableTransformer:
        """Learn the layout and the per-column parameters from ``data``; return ``self``."""
        params = check_params(
            self.max_modes,
            self.weight_threshold,
            self.max_fit_rows,
            self.point_mass_share,
            self.point_mass_values,
        )
        specs = resolve_metadata(self.metadata)
        private = check_private(self.private_statistics)
        frame = check_frame(data)
        discrete = described_discrete(frame, specs, self.discrete_columns)
        rng = make_rng(self.random_state)
        codecs, sources, spent, not_modelled = fit_codecs(
            frame, discrete, specs, private, rng, params
        )
        for name, why in not_modelled:
            warnings.warn(
                f"Column {name!r} is {why}; it is not modelled.",
                ColumnHandlingWarning,
                stacklevel=2,
            )
        if not any(codec.width for codec in codecs):
            raise DataError("No column can be modelled: every column is constant, missing or IDs.")
        self._set_fitted(codecs, [c for c in frame.columns if c in discrete])
        self.sources_, self.private_spent_ = sources, spent
        return self

    def _set_fitted(self, codecs: list[Column], discrete: list[str]) -> None:
        self._codecs = codecs
        self.columns_ = [c.name for c in codecs]
        self.feature_names_in_ = np.asarray(self.columns_, dtype=object)
        self.n_features_in_ = len(codecs)
        self.discrete_columns_ = discrete
        spans, start = [], 0
        for codec in codecs:
            for width, kind in codec.layout():
                spans.append(OutputSpan(codec.name, start, width, kind))
                start += width
        self.spans_: list[OutputSpan] = spans
        self.output_dim_ = start

    # ---------------------------------------------------------------------------- use

    def _check_fitted(self) -> None:
        if not hasattr(self, "_codecs"):
            raise NotFittedError(
                "This TableTransformer is not fitted yet; call fit (or from_state) first."
            )

    def _column_codec(self, column: str) -> Column:
        self._check_fitted()
        for codec in self._codecs:
            if codec.name == column:
                return codec
        raise DataError(
            f"Column {column!r} not in data. Available: {format_choices(self.columns_)}."
        )

    def transform(self, data: pd.DataFrame, random_state: Any = None) -> np.ndarray:
        """Encode ``data`` as a float32 matrix of shape ``(len(data), output_dim_)``.

        Parameters
        ----------
        data : pandas.DataFrame
            A table with (at least) the fitted columns; extra columns are ignored.
        random_state : int, numpy Generator or None
            Seeds the sampling of the continuous modes; ``None`` uses the transformer's
            ``random_state`` (fresh randomness if that is ``None`` too).
        """
        # each column's block is written into the float32 matrix as it is made, so memory
        # holds the matrix and one block, not every block in float64 and their concatenation
        blocks = self.encode_blocks(data, random_state)  # checks the table first
        out = np.empty((len(data), self.output_dim_), dtype=np.float32)
        for start, block in blocks:
            out[:, start : start + block.shape[1]] = block
        return out

    def encode_blocks(
        self, data: pd.DataFrame, random_state: Any = None
    ) -> Iterator[tuple[int, np.ndarray]]:
        """Encode ``data`` column by column: ``(start, block)`` for each modelled column, its
        block (float64) to lie at ``matrix[:, start:start + width]``. The parameters are those
        of :meth:`transform`, which writes these blocks into one matrix.
        """
        self._check_fitted()
        if not isinstance(data, pd.DataFrame):
            raise DataError(f"Expected a pandas DataFrame, got {type(data).__name__}.")
        if data.columns.duplicated().any():
            raise DataError("Duplicate column names in the data.")
        absent = [c for c in self.columns_ if c not in data.columns]
        if absent:
            raise DataError(
                f"Columns {format_choices(absent)} were fitted but are not in the data. "
                f"Available: {format_choices(data.columns)}."
            )
        return self._blocks(
            data, make_rng(self.random_state if random_state is None else random_state)
        )

    def _blocks(
        self, data: pd.DataFrame, rng: np.random.Generator
    ) -> Iterator[tuple[int, np.ndarray]]:
        start = 0
        for codec in self._codecs:
            block = codec.encode(data[codec.name].reset_index(drop=True), rng)
            yield start, block
            start += block.shape[1]

    def inverse_transform(self, matrix: np.ndarray) -> pd.DataFrame:
        """Decode a matrix (one-hot or soft blocks) back to a table with the fitted dtypes."""
        self._check_fitted()
        values = np.asarray(matrix)  # float32 stays so: a block at a time becomes float64
        if values.dtype not in (np.float32, np.float64):
            values = values.astype(np.float64)
        if values.ndim != 2 or values.shape[1] != self.output_dim_:
            raise DataError(
                f"Expected a matrix of shape (n, {self.output_dim_}), got {values.shape}."
            )
        if not np.isfinite(values).all():
            raise DataError("The matrix holds NaN or infinite values.")
        out, start = {}, 0
        for codec in self._codecs:
            block = values[:, start : start + codec.width].astype(np.float64, copy=False)
            out[codec.name] = codec.decode(block)
            start += codec.width
        return pd.DataFrame(out, columns=self.columns_)

    def column_spans(self, column: str) -> list[OutputSpan]:
        """The spans of ``column`` in matrix order (empty for a column that is not modelled)."""
        self._column_codec(column)
        return [span for span in self.spans_ if span.column == column]

    def categories(self, column: str) -> list[Any]:
        """The values of a discrete column's one-hot block, in block order (missing: None)."""
        codec = self._column_codec(column)
        if not isinstance(codec, DiscreteColumn):
            raise DataError(
                f"Column {column!r} has no one-hot category block. Columns with one: "
                f"{format_choices(c.name for c in self._codecs if isinstance(c, DiscreteColumn))}."
            )
        return list(codec.categories) + ([None] if codec.has_missing else [])

    def value_range(self, column: str) -> tuple[Any, Any, list[Any], bool]:
        """``(smallest, largest, point masses, whole)`` of a numeric column, as fitted.

        Generated values lie in ``[smallest, largest]``; the point masses are the values it
        generates exactly (the zeros of capital-gain; every value of a column of few whole
        numbers); ``whole``: it generates whole numbers only.
        """
        codec = self._column_codec(column)
        if not isinstance(codec, ContinuousColumn):
            raise DataError(f"Column {column!r} is discrete, not numeric.")
        return codec.value_range()

    # ---------------------------------------------------------------------------- state

    def get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """Return ``(config, arrays)``: JSON-serialisable data and named numpy arrays."""
        self._check_fitted()
        arrays: dict[str, np.ndarray] = {}
        columns = []
        for i, codec in enumerate(self._codecs):
            prefix = f"columns.{i}"
            columns.append({**codec.config(arrays, prefix), "prefix": prefix})
        seed = self.random_state
        params = {
            "discrete_columns": None
            if self.discrete_columns is None
            else list(self.discrete_columns),
            "max_modes": self.max_modes,
            "weight_threshold": self.weight_threshold,
            "max_fit_rows": self.max_fit_rows,
            "point_mass_share": self.point_mass_share,
            "point_mass_values": self.point_mass_values,
            "metadata": metadata_to_plain(resolve_metadata(self.metadata)) or None,
            "private_statistics": check_private(self.private_statistics),
            "random_state": int(seed) if isinstance(seed, numbers.Integral) else None,
        }
        config = {
            "format": STATE_FORMAT,
            "version": STATE_VERSION,
            "params": params,
            "discrete_columns": list(self.discrete_columns_),
            "columns": columns,
            "sources": dict(self.sources_),
            "private_spent": dict(self.private_spent_),
        }
        return config, arrays

    @classmethod
    def from_state(cls, config: dict[str, Any], arrays: dict[str, np.ndarray]) -> TableTransformer:
        """Rebuild a fitted transformer from :meth:`get_state`'s output (no code is executed)."""
        if not isinstance(config, dict) or config.get("format") != STATE_FORMAT:
            raise ModelFileError("Not a TableTransformer state (missing or wrong 'format').")
        if config.get("version") != STATE_VERSION:
            raise ModelFileError(
                f"TableTransformer state version {config.get('version')!r} is not supported; "
                f"this fairsynth reads version {STATE_VERSION}."
            )
        try:
            # states written before point masses, metadata and private statistics existed
            # were fitted without them, every column read from the data
            older = {"point_mass_share": None, "point_mass_values": None, "metadata": None}
            transformer = cls(**{**older, "private_statistics": None, **config["params"]})
            codecs = [CODECS[c["codec"]].from_config(c, arrays) for c in config["columns"]]
            transformer._set_fitted(codecs, list(config["discrete_columns"]))
            transformer.sources_ = dict(config.get("sources", {c.name: "data" for c in codecs}))
            nothing = {"epsilon": 0.0, "delta": 0.0}
            transformer.private_spent_ = dict(config.get("private_spent", nothing))
        except ModelFileError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ModelFileError(f"Malformed TableTransformer state: {exc!r}.") from exc
        return transformer
