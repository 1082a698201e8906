"""Plain-data (JSON-able) forms of cell values and dtypes, and dtype restoration.

A :class:`~fairsynth.transform.TableTransformer` state must be JSON plus numpy arrays, never
pickle: categories, constants and dtypes are stored through :func:`encode_value` and
:func:`dtype_to_json`, and decoded columns are cast back with :func:`restore_dtype`.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from fairsynth.exceptions import DataError, ModelFileError

NA_MARKERS: dict[str, Any] = {"nan": np.nan, "none": None, "na": pd.NA, "nat": pd.NaT}


def encode_value(value: Any, column: str) -> list[Any]:
    """Return ``[tag, payload]``, a JSON-able form of one category or constant value."""
    if isinstance(value, np.datetime64):
        value = pd.Timestamp(value)
    elif isinstance(value, np.timedelta64):
        value = pd.Timedelta(value)
    if isinstance(value, (bool, np.bool_)):
        return ["b", bool(value)]
    if isinstance(value, numbers.Integral):
        return ["i", int(value)]
    if isinstance(value, numbers.Real):
        return ["f", repr(float(value))]  # repr round-trips every float exactly, inf included
    if isinstance(value, str):
        return ["s", value]
    if isinstance(value, pd.Timestamp):
        return ["t", value.isoformat()]
    if isinstance(value, pd.Timedelta):
        return ["d", int(value.value)]
    raise DataError(
        f"Column {column!r} holds a value of type {type(value).__name__} ({value!r}), which "
        "cannot be stored in a model file. Supported: str, int, float, bool, timestamps, "
        "timedeltas; convert the column, e.g. with .astype(str)."
    )


def decode_value(item: list[Any]) -> Any:
    """Inverse of :func:`encode_value`."""
    tag, payload = item
    decoders = {"b": bool, "i": int, "f": float, "s": str, "t": pd.Timestamp, "d": pd.Timedelta}
    if tag not in decoders:
        raise ModelFileError(f"Unknown value tag {tag!r} in transformer state.")
    return decoders[tag](payload)


def dtype_to_json(dtype: Any, column: str) -> dict[str, Any]:
    """Return a JSON-able spec of ``dtype``; raise :class:`DataError` if it cannot be restored."""
    if isinstance(dtype, pd.CategoricalDtype):
        cats = dtype.categories
        return {
            "category": [encode_value(v, column) for v in cats],
            "ordered": bool(dtype.ordered),
            "categories_dtype": dtype_to_json(cats.dtype, column),
        }
    if isinstance(dtype, pd.StringDtype):
        return {"string": dtype.storage, "na_nan": dtype.na_value is not pd.NA}
    name = str(dtype)
    try:
        same = ptypes.pandas_dtype(name) == dtype
    except TypeError:
        same = False
    if not same:
        raise DataError(f"Column {column!r} has dtype {name}, which cannot be restored by name.")
    return {"name": name}


def dtype_from_json(spec: dict[str, Any]) -> Any:
    """Inverse of :func:`dtype_to_json`."""
    if "category" in spec:
        cats = pd.Index(
            [decode_value(v) for v in spec["category"]],
            dtype=dtype_from_json(spec["categories_dtype"]),
        )
        return pd.CategoricalDtype(cats, ordered=spec["ordered"])
    if "string" in spec:
        return pd.StringDtype(spec["string"], na_value=np.nan if spec["na_nan"] else pd.NA)
    return ptypes.pandas_dtype(spec["name"])


def na_marker_of(series: pd.Series) -> str:
    """Which missing value an object column uses (restored as the same kind)."""
    if series.dtype != object or not series.isna().any():
        return "none"
    first = series[series.isna()].iloc[0]
    if first is None:
        return "none"
    return "na" if first is pd.NA else "nat" if first is pd.NaT else "nan"


def restore_dtype(values: np.ndarray, dtype: Any) -> pd.Series:
    """Cast an object array of python values (``None`` where missing) back to ``dtype``."""
    if isinstance(dtype, pd.CategoricalDtype):
        return pd.Series(pd.Categorical(values, dtype=dtype))
    series = pd.Series(values, dtype=object)
    return series if ptypes.is_object_dtype(dtype) else series.astype(dtype)


def object_array(items: list[Any]) -> np.ndarray:
    """A 1-D object array of ``items``."""
    out = np.empty(len(items), dtype=object)
    out[:] = items
    return out
