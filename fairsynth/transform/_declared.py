"""Codecs of columns described by metadata or released by a private fit, not read from the data.

:func:`declared_codec` builds a column's codec from a :class:`~fairsynth.transform._metadata.
ColumnSpec` alone (the data is only checked against it); :func:`private_spec` makes that spec
with the mechanisms of :mod:`fairsynth.transform._private`; :func:`plan_private` shares a private
budget among the columns that need one.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from fairsynth.exceptions import ColumnHandlingWarning, DataError, ParameterError, format_choices
from fairsynth.transform._columns import Column, DiscreteColumn, FixedColumn
from fairsynth.transform._continuous import ContinuousColumn
from fairsynth.transform._metadata import ColumnSpec
from fairsynth.transform._private import private_bounds, private_categories, secret_rng
from fairsynth.transform._schema import check_inferred_text, fit_column, resolve_discrete
from fairsynth.transform._values import na_marker_of

__all__ = [
    "check_private",
    "declared_codec",
    "described_discrete",
    "fit_codecs",
    "plan_private",
    "private_spec",
]

_NULLABLE = {"b": "boolean", "i": "Int", "u": "UInt"}


def check_private(private: Any) -> dict[str, float] | None:
    """Read ``private_statistics``: None, or a mapping with ε > 0 and δ in (0, 1)."""
    if private is None:
        return None
    if not isinstance(private, Mapping) or set(private) != {"epsilon", "delta"}:
        raise ParameterError(
            f"private_statistics={private!r} is not valid: give None or "
            "{'epsilon': ε > 0, 'delta': δ in (0, 1)}."
        )
    epsilon, delta = private["epsilon"], private["delta"]
    for key, value, ok in (
        ("epsilon", epsilon, lambda v: math.isfinite(v) and v > 0),
        ("delta", delta, lambda v: 0 < v < 1),
    ):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not ok(value):
            raise ParameterError(f"private_statistics {key}={value!r} is not valid.")
    return {"epsilon": float(epsilon), "delta": float(delta)}


def described_discrete(
    frame: pd.DataFrame, specs: Mapping[str, ColumnSpec], discrete_columns: Any
) -> set[str]:
    """The discrete columns: inferred and listed (``resolve_discrete``), and as metadata says.

    Metadata decides a column it describes: ``categories`` make it discrete, ``bounds``
    numeric. One it names that is not in the table, or that it calls numeric while
    ``discrete_columns`` lists it, is an error naming the column.
    """
    unknown = [c for c in specs if c not in frame.columns]
    if unknown:
        raise DataError(
            f"metadata describes {format_choices(unknown)}, not in the data. "
            f"Available: {format_choices(frame.columns)}."
        )
    discrete, given = resolve_discrete(frame, discrete_columns)
    numeric = {c for c, spec in specs.items() if spec.kind == "numeric"}
    clash = sorted(numeric & given)
    if clash:
        raise ParameterError(
            f"discrete_columns lists {format_choices(clash)}, which metadata gives bounds "
            "(a numeric column); list it in one of them only."
        )
    inferred = [c for c in frame.columns if c in discrete - given and c not in specs]
    check_inferred_text(frame, inferred)
    return (discrete - numeric) | {c for c, spec in specs.items() if spec.kind == "discrete"}


def _is_bool(dtype: Any) -> bool:
    """A numpy bool column: its two values are known from the dtype, at no privacy cost."""
    return isinstance(dtype, np.dtype) and dtype.kind == "b"


def _is_time(dtype: Any) -> bool:
    return bool(ptypes.is_datetime64_any_dtype(dtype) or ptypes.is_timedelta64_dtype(dtype))


def plan_private(
    frame: pd.DataFrame,
    discrete: set[str],
    described: Mapping[str, ColumnSpec],
    budget: dict,
    points: bool = False,
) -> dict[str, dict[str, float]]:
    """The (ε, δ) each column released privately gets: equal shares of ``budget``.

    The columns not described by metadata, but for times (read from the data as given) and
    numpy bool columns (their categories, False and True, are known from the dtype). δ is
    shared among those whose release selects values (the discrete ones, and the numeric ones
    when ``points``: their point masses); the bounds' histogram spends none. Basic composition
    (the shares add up to the budget).
    """
    needing = [
        name for name in frame.columns
        if name not in described and not _is_time(frame[name].dtype)
        and not (name in discrete and _is_bool(frame[name].dtype))
    ]  # fmt: skip
    selecting = [name for name in needing if points or name in discrete]
    return {
        name: {
            "epsilon": budget["epsilon"] / len(needing),
            "delta": budget["delta"] / len(selecting) if name in selecting else 0.0,
        }
        for name in needing
    }


def private_spec(
    series: pd.Series,
    discrete: bool,
    share: dict[str, float] | None,
    rng: np.random.Generator,
    point_share: float | None = None,
) -> ColumnSpec:
    """The spec of a column not described by metadata, released with ``share`` of the budget.

    A discrete column: its categories by partition selection, and always a last category for
    missing, which the values not released are mapped to; a numpy bool column: False and True,
    at no cost. A numeric column: bounds from the noisy histogram (widened to whole numbers
    for an integer dtype), a missing block when its dtype can hold missing values, and with
    ``point_share`` its point masses: the values whose noisy count passes both the partition
    selection's threshold and ``point_share`` of the rows (ε split in half between the two).
    """
    dtype = series.dtype
    if discrete and _is_bool(dtype):
        return ColumnSpec("discrete", categories=(False, True))
    assert share is not None  # every other column was given a share by plan_private
    if discrete:
        kept = private_categories(series, share["epsilon"], share["delta"], rng)
        return ColumnSpec("discrete", categories=tuple(kept), missing=True, other=(None,))
    values = series.to_numpy(dtype=np.float64, na_value=np.nan)
    epsilon = share["epsilon"] / (1 if point_share is None else 2)
    bounds = private_bounds(values, epsilon, rng)
    points: list[Any] = []
    if point_share is not None:  # n, the rows, is public (as for DP-SGD's sample rate)
        least = point_share * len(values)
        points = private_categories(pd.Series(values), epsilon, share["delta"], rng, least)
    holds_missing = np.dtype(dtype).kind not in "iub" if isinstance(dtype, np.dtype) else True
    if bounds is None:
        return ColumnSpec("numeric", missing=holds_missing)
    integer = bool(ptypes.is_integer_dtype(dtype))
    low, high = bounds
    if integer:
        low, high = float(math.floor(low)), float(math.ceil(high))
    inside = tuple(float(p) for p in points if low <= p <= high)
    return ColumnSpec(
        "numeric", missing=holds_missing, bounds=(low, high), integer=integer, point_masses=inside
    )


def _nullable(dtype: Any) -> Any:
    """``dtype``, or its nullable twin (Int64, boolean) when it cannot hold missing values."""
    if isinstance(dtype, np.dtype) and dtype.kind in _NULLABLE:
        prefix = _NULLABLE[dtype.kind]
        return (
            pd.BooleanDtype()
            if dtype.kind == "b"
            else pd.api.types.pandas_dtype(f"{prefix}{dtype.itemsize * 8}")
        )
    return dtype


def declared_codec(
    name: str, series: pd.Series, spec: ColumnSpec, source: str, params: dict[str, Any]
) -> Column:
    """The codec of a column from ``spec`` alone; the data is checked against it.

    ``source``: 'metadata' (a value outside the categories, or a missing value the metadata
    does not allow, is a :class:`DataError`; values outside the bounds are clipped, with a
    warning) or 'dp' (released privately: the spec covers every row by construction).
    A numeric column gets ``params["max_modes"]`` tiles of its bounds, or, when it is whole
    and its bounds hold at most ``params["point_mass_values"]`` whole numbers, a point mode
    for each of them (the transformer's rule for few whole numbers, applied to the bounds).
    """
    missing = series.isna()
    if missing.any() and not spec.missing:
        raise DataError(
            f"Column {name!r} has missing values ({int(missing.sum())} rows), which its "
            "metadata does not allow: add None (null in JSON) to its categories, or "
            "'missing': true to its bounds."
        )
    dtype = _nullable(series.dtype) if spec.missing else series.dtype
    if spec.kind == "discrete":
        return _discrete_codec(name, series, spec, dtype, source)
    if _is_time(series.dtype) or not ptypes.is_numeric_dtype(series.dtype):
        kind = "times" if _is_time(series.dtype) else f"dtype {series.dtype}"
        raise DataError(
            f"Column {name!r} has {kind}; metadata bounds describe numbers only. Describe it "
            "by its categories, or convert it to numbers."
        )
    if spec.bounds is None:  # a private fit released no value: generate it missing
        return _nothing_released(name, series, spec)
    integer = bool(ptypes.is_integer_dtype(series.dtype)) if spec.integer is None else spec.integer
    if spec.integer is False and ptypes.is_integer_dtype(series.dtype):
        raise DataError(
            f"Column {name!r} has the integer dtype {series.dtype}, but its metadata says "
            "'integer': false; drop the key or convert the column to floats."
        )
    if source == "metadata":
        _warn_clipped(name, series, spec.bounds)
    low, high = spec.bounds
    points, modes = spec.point_masses, int(params["max_modes"])
    few = params["point_mass_values"]
    if integer:  # tiles narrower than two whole numbers would split them
        modes = max(1, min(modes, int(high - low + 1) // 2))
    if integer and few is not None and high - low + 1 <= few:
        points, modes = tuple(np.arange(math.ceil(low), math.floor(high) + 1.0)), 0
    return ContinuousColumn.from_bounds(
        name, dtype, spec.bounds, integer=integer, decimals=spec.decimals,
        points=points, missing=spec.missing, modes=modes,
    )  # fmt: skip


def _discrete_codec(
    name: str, series: pd.Series, spec: ColumnSpec, dtype: Any, source: str
) -> Column:
    categories = list(spec.categories)
    if not spec.other and source == "metadata":
        index = pd.Index(categories, dtype=object)
        present = series[series.notna()]
        unknown = ~pd.Index(present.to_numpy(dtype=object)).isin(index)
        if unknown.any():
            bad = pd.unique(present.to_numpy(dtype=object)[unknown])
            raise DataError(
                f"Column {name!r} holds values not in its metadata categories: "
                f"{format_choices(bad, 5)} ({int(unknown.sum())} rows). Add them to the list, "
                "or give 'other': a listed category to map them to."
            )
    if not categories:  # a private fit released no value: generate it missing
        return _nothing_released(name, series, spec)
    if isinstance(dtype, pd.CategoricalDtype):  # the dtype's own list may be the data's
        dtype = pd.CategoricalDtype(categories, ordered=dtype.ordered)
    if len(categories) == 1 and not spec.missing:
        return FixedColumn(name, dtype, "none", "constant", value=categories[0])
    marker = na_marker_of(series)
    return DiscreteColumn(name, dtype, marker, categories, spec.missing, list(spec.other))


def _nothing_released(name: str, series: pd.Series, spec: ColumnSpec) -> Column:
    warnings.warn(
        f"Column {name!r}: the private fit released none of its values (each was too rare "
        "for the budget it had); it is generated all missing.",
        ColumnHandlingWarning,
        stacklevel=5,
    )
    dtype = _nullable(series.dtype)
    return FixedColumn(name, dtype, na_marker_of(series), "missing")


def _warn_clipped(name: str, series: pd.Series, bounds: tuple[float, float]) -> None:
    values = series.to_numpy(dtype=np.float64, na_value=np.nan)
    outside = int(((values < bounds[0]) | (values > bounds[1])).sum())
    if outside:
        warnings.warn(
            f"Column {name!r}: {outside} value(s) outside its metadata bounds "
            f"[{bounds[0]:g}, {bounds[1]:g}] are clipped to them.",
            ColumnHandlingWarning,
            stacklevel=5,
        )


def fit_codecs(
    frame: pd.DataFrame,
    discrete: set[str],
    specs: Mapping[str, ColumnSpec],
    private: dict[str, float] | None,
    rng: np.random.Generator,
    params: dict[str, Any],
) -> tuple[list[Column], dict[str, str], dict[str, float], list[tuple[str, str]]]:
    """Each column's codec, where it came from, what the private releases spent, and why not.

    Returns ``(codecs, sources, spent, not_modelled)``: ``sources[name]`` is 'metadata',
    'dp' (released privately), 'dtype' (a bool column's two values) or 'data' (read from the
    table as given); ``spent``: the ε and δ of the private releases (basic composition);
    ``not_modelled``: ``(name, why)`` of the columns read from the data and not modelled.
    """
    point_share = params["point_mass_share"]
    shares = (
        plan_private(frame, discrete, specs, private, point_share is not None) if private else {}
    )
    noise = secret_rng() if shares else None  # never random_state: it is saved
    codecs: list[Column] = []
    sources: dict[str, str] = {}
    not_modelled = []
    for name in frame.columns:
        series, is_discrete = frame[name], name in discrete
        if name in specs:
            codec = declared_codec(name, series, specs[name], "metadata", params)
            sources[name] = "metadata"
        elif name in shares or (private and is_discrete and _is_bool(series.dtype)):
            assert noise is not None or name not in shares
            spec = private_spec(series, is_discrete, shares.get(name), noise or rng, point_share)
            codec = declared_codec(name, series, spec, "dp", params)
            sources[name] = "dp" if name in shares else "dtype"
        else:
            codec, why = fit_column(name, series, is_discrete, rng, params)
            sources[name] = "data"
            if why:
                not_modelled.append((name, why))
        codecs.append(codec)
    spent = {"epsilon": 0.0, "delta": 0.0}
    if shares and private:  # the shares add up to the budget (δ: if a discrete one has any)
        spent = {"epsilon": private["epsilon"]}
        spent["delta"] = private["delta"] if any(s["delta"] for s in shares.values()) else 0.0
    return codecs, sources, spent, not_modelled
