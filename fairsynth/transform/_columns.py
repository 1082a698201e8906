"""Column codecs: one per table column; each knows its block layout, encoding, decoding, state.

:class:`Column` is the base; :class:`FixedColumn` (not modelled) and :class:`DiscreteColumn`
(one-hot) live here, :class:`~fairsynth.transform._continuous.ContinuousColumn` in its own module.
"""

from __future__ import annotations

import numbers
from typing import Any, Literal

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from fairsynth.exceptions import DataError, format_choices
from fairsynth.transform._values import (
    NA_MARKERS,
    decode_value,
    dtype_from_json,
    dtype_to_json,
    encode_value,
    na_marker_of,
    object_array,
    restore_dtype,
)


class Column:
    """Base codec. ``layout`` lists the (width, kind) of its output spans, in order."""

    codec = ""

    def __init__(self, name: str, dtype: Any, na_marker: str = "none") -> None:
        self.name, self.dtype, self.na_marker = name, dtype, na_marker

    def layout(self) -> list[tuple[int, Literal["scalar", "onehot"]]]:
        return []

    @property
    def width(self) -> int:
        return sum(w for w, _ in self.layout())

    def encode(self, series: pd.Series, rng: np.random.Generator) -> np.ndarray:
        return np.zeros((len(series), 0), dtype=np.float32)

    def decode(self, block: np.ndarray) -> pd.Series:
        raise NotImplementedError

    def config(self, arrays: dict[str, np.ndarray], prefix: str) -> dict[str, Any]:
        """Return the JSON part of the state; put vectors into ``arrays`` under ``prefix``."""
        return {
            "name": self.name,
            "codec": self.codec,
            "dtype": dtype_to_json(self.dtype, self.name),
            "na_marker": self.na_marker,
        }


class FixedColumn(Column):
    """Not modelled: regenerated as a constant, as all missing, or as fresh unique IDs."""

    codec = "fixed"

    def __init__(self, name: str, dtype: Any, na_marker: str, rule: str, **how: Any) -> None:
        super().__init__(name, dtype, na_marker)
        self.rule, self.how = rule, how

    @classmethod
    def for_ids(cls, name: str, series: pd.Series) -> FixedColumn:
        values = series.to_numpy(dtype=object)
        ints = all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in values)
        if ints:
            return cls(name, series.dtype, "none", "ids", start=int(max(values)) + 1)
        if ptypes.is_numeric_dtype(series.dtype):
            start = int(np.floor(max(float(v) for v in values))) + 1
            return cls(name, series.dtype, "none", "ids", start=start)
        text = pd.Series(values).astype(str)
        prefix, k = "syn-", 0
        while text.str.startswith(prefix).any():  # never produce a value that looks like a real ID
            k += 1
            prefix = f"syn{k}-"
        return cls(name, series.dtype, "none", "ids", prefix=prefix)

    def decode(self, block: np.ndarray) -> pd.Series:
        n = block.shape[0]
        if self.rule == "constant":
            return restore_dtype(object_array([self.how["value"]] * n), self.dtype)
        if self.rule == "missing":
            return restore_dtype(object_array([NA_MARKERS[self.na_marker]] * n), self.dtype)
        if "prefix" in self.how:
            values: Any = object_array([f"{self.how['prefix']}{i}" for i in range(n)])
        else:
            values = np.arange(n, dtype=np.int64) + self.how["start"]
        if isinstance(self.dtype, pd.CategoricalDtype):
            return pd.Series(pd.Categorical(values))  # new IDs, so new categories
        if ptypes.is_integer_dtype(self.dtype) and n:
            info = np.iinfo(getattr(self.dtype, "numpy_dtype", self.dtype))
            if values[-1] > info.max:  # too many rows for the column's int type: widen
                return pd.Series(values)
        return restore_dtype(object_array(values.tolist()), self.dtype)

    def config(self, arrays: dict[str, np.ndarray], prefix: str) -> dict[str, Any]:
        how = dict(self.how)
        if "value" in how:
            how["value"] = encode_value(how["value"], self.name)
        return {**super().config(arrays, prefix), "rule": self.rule, "how": how}

    @classmethod
    def from_config(cls, cfg: dict[str, Any], arrays: dict[str, np.ndarray]) -> FixedColumn:
        how = dict(cfg["how"])
        if "value" in how:
            how["value"] = decode_value(how["value"])
        return cls(cfg["name"], dtype_from_json(cfg["dtype"]), cfg["na_marker"], cfg["rule"], **how)


class DiscreteColumn(Column):
    """One-hot block over the observed categories, missing (if any) as the last category.

    ``other``: ``[]`` refuses values that are not categories (a table fitted on the data has
    them all); ``[value]`` encodes them as ``value`` (None: as missing), for categories
    declared in metadata or released by a private fit (docs/privacy.md).
    """

    codec = "discrete"

    def __init__(
        self,
        name: str,
        dtype: Any,
        na_marker: str,
        categories: list[Any],
        has_missing: bool,
        other: list[Any] | None = None,
    ) -> None:
        super().__init__(name, dtype, na_marker)
        self.categories, self.has_missing = categories, has_missing
        self.other = list(other or [])
        self._index = pd.Index(categories)
        tail = [NA_MARKERS[na_marker]] if has_missing else []
        self._values = object_array(categories + tail)

    @classmethod
    def fit(cls, name: str, series: pd.Series) -> DiscreteColumn:
        missing = series.isna()
        present = series[~missing]
        if isinstance(series.dtype, pd.CategoricalDtype):
            used = set(present.cat.codes.unique())
            cats = [c for i, c in enumerate(series.cat.categories) if i in used]
        else:
            cats = list(pd.unique(present.to_numpy(dtype=object)))
            try:
                cats = sorted(cats)
            except TypeError:  # mixed types: keep the order of appearance
                pass
        cats = [decode_value(encode_value(v, name)) for v in cats]
        return cls(name, series.dtype, na_marker_of(series), cats, bool(missing.any()))

    def layout(self) -> list[tuple[int, Literal["scalar", "onehot"]]]:
        return [(len(self._values), "onehot")]

    def encode(self, series: pd.Series, rng: np.random.Generator) -> np.ndarray:
        codes = np.asarray(pd.Categorical(series, categories=self._index).codes, dtype=np.int64)
        missing = series.isna().to_numpy()
        unknown = (codes < 0) & ~missing
        if unknown.any() and self.other:  # declared or private categories: map the rest
            target = self.other[0]
            if target is None:
                missing = missing | unknown
            else:
                codes[unknown] = self.categories.index(target)
            unknown[:] = False
        if unknown.any():
            raise DataError(
                f"Column {self.name!r} has values not seen in fit: "
                f"{format_choices(pd.unique(series[unknown].to_numpy(dtype=object)), 5)}."
            )
        if missing.any() and not self.has_missing:
            raise DataError(f"Column {self.name!r} has missing values but had none in fit.")
        codes[missing] = len(self.categories)
        block = np.zeros((len(series), self.width), dtype=np.float32)
        block[np.arange(len(series)), codes] = 1.0
        return block

    def decode(self, block: np.ndarray) -> pd.Series:
        return restore_dtype(self._values[block.argmax(axis=1)], self.dtype)

    def config(self, arrays: dict[str, np.ndarray], prefix: str) -> dict[str, Any]:
        cats = [encode_value(v, self.name) for v in self.categories]
        config = {**super().config(arrays, prefix), "categories": cats}
        config["missing"] = self.has_missing
        if self.other:  # absent from files of tables fitted on their data, and older ones
            config["other"] = [
                None if v is None else encode_value(v, self.name) for v in self.other
            ]
        return config

    @classmethod
    def from_config(cls, cfg: dict[str, Any], arrays: dict[str, np.ndarray]) -> DiscreteColumn:
        cats = [decode_value(v) for v in cfg["categories"]]
        dtype = dtype_from_json(cfg["dtype"])
        other = [None if v is None else decode_value(v) for v in cfg.get("other", [])]
        return cls(cfg["name"], dtype, cfg["na_marker"], cats, bool(cfg["missing"]), other)
