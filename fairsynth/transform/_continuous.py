"""The continuous-column codec: a scalar plus a one-hot of the mixture mode, numbers and times."""

from __future__ import annotations

import warnings
from typing import Any, Literal

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from fairsynth.exceptions import ColumnHandlingWarning, DataError
from fairsynth.transform._columns import Column
from fairsynth.transform._mixture import _SCALAR_LIMIT, _STD_MULTIPLIER, Mixture, fit_mixture
from fairsynth.transform._values import dtype_from_json

_CHUNK_ROWS = 65_536  # bounds the (rows x modes) temporaries of the mode sampling
_TIME_STEPS_NS = (86_400 * 10**9, 3_600 * 10**9, 60 * 10**9, 10**9, 10**6, 10**3, 1)
_UNIT_NS = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}
_EXACT_INTEGERS = 2**53  # float64 holds every integer up to this magnitude
_MASK = 0xFFFFFFFFFFFFFFFF


class ContinuousColumn(Column):
    """A scalar plus a one-hot of the mixture mode, plus a 2-wide [present, missing] block.

    Values live in a modelled domain ``x``: the number itself, or for datetimes / timedeltas
    the count of ``step`` units (a learned resolution: days, hours, ..., ns) since ``origin``,
    and for integers beyond 2**53 (which float64 cannot hold exactly) the distance from the
    smallest one. The mixture is fitted to ``z = (x / scale - center) / spread`` (scale-free,
    overflow-safe). A point mass decodes to its value exactly (``stats["points"]``, in ``x``).
    """

    codec = "continuous"
    _ARRAYS = ("mean", "prec", "const", "valid", "mode_mean", "mode_std")

    def __init__(
        self, name: str, dtype: Any, has_missing: bool, stats: dict[str, Any], mixture: Mixture
    ) -> None:
        super().__init__(name, dtype)
        self.has_missing, self.stats, self.mixture = has_missing, stats, mixture
        self.kind = stats["kind"]

    def layout(self) -> list[tuple[int, Literal["scalar", "onehot"]]]:
        spans: list[tuple[int, Literal["scalar", "onehot"]]] = [
            (1, "scalar"),
            (len(self.mixture.mode_mean), "onehot"),
        ]
        return [*spans, (2, "onehot")] if self.has_missing else spans

    @classmethod
    def fit(
        cls, name: str, series: pd.Series, rng: np.random.Generator, params: dict[str, Any]
    ) -> ContinuousColumn:
        kind, unit = _time_kind(series.dtype)
        raw, missing = _numeric_values(series, name, kind, unit)
        present = raw[~missing]
        stats: dict[str, Any] = {"kind": kind, "unit": unit, "integer": False, "decimals": None}
        if kind == "number":
            stats.update(origin=0, step=1, integer=ptypes.is_integer_dtype(series.dtype))
            if not stats["integer"]:
                stats["decimals"] = _learn_decimals(present, series.dtype)
            x = present.astype(np.float64)
            if stats["integer"] and len(present) and np.abs(present).max() >= _EXACT_INTEGERS:
                exact = _exact_integers(series)[~missing]
                stats["origin"] = int(exact.min())
                x = _offsets(exact, stats["origin"])
                _warn_if_inexact(name, x)
        else:
            origin = int(present.min())
            diffs = present.view(np.uint64) - np.uint64(origin & _MASK)
            step = _learn_step(diffs, unit)
            stats.update(origin=origin, step=step)
            x = (diffs // np.uint64(step)).astype(np.float64)
        scale = float(np.abs(x).max())
        center = float(np.mean(x / scale))
        spread = float(np.std(x / scale)) or 1.0
        stats.update(lo=float(x.min()), hi=float(x.max()), scale=scale, center=center)
        stats["spread"] = spread
        points = _point_masses(
            x, params["point_mass_share"], params["max_modes"], params["point_mass_values"]
        )
        rest = x[~np.isin(x, points)]
        if len(rest) < 2:  # too few left for a mixture: they become point modes too
            points, rest = np.unique(np.concatenate([points, rest])), rest[:0]
        sample = rest
        if params["max_fit_rows"] is not None and len(rest) > params["max_fit_rows"]:
            sample = rest[np.sort(rng.choice(len(rest), params["max_fit_rows"], replace=False))]
        z = (sample / scale - center) / spread
        n_components = min(params["max_modes"], len(np.unique(z)))
        mixture = fit_mixture(z, n_components, params["weight_threshold"])
        if len(rest):
            mixture.add_tails((rest / scale - center) / spread, params["max_modes"])
        mixture.add_points((points / scale - center) / spread)
        stats["points"] = [float(p) for p in points]
        return cls(name, series.dtype, bool(missing.any()), stats, mixture)

    @classmethod
    def from_bounds(
        cls, name: str, dtype: Any, bounds: tuple[float, float], *, integer: bool,
        decimals: int | None, points: tuple[float, ...], missing: bool, modes: int = 1,
    ) -> ContinuousColumn:  # fmt: skip
        """A number column scaled to given bounds, read from nothing but its arguments.

        ``modes`` modes of equal width tile ``bounds`` (no mixture is fitted: a value's mode
        is the tile it falls in, its scalar ±0.99 at the tile's edges), and each of ``points``
        is a point mode; values are clipped to the bounds when encoded. For metadata and for
        bounds released by a private fit (docs/privacy.md). ``modes=0`` (points only) or equal
        bounds (a single point mode at that value) give no tiles.
        """
        low, high = float(bounds[0]), float(bounds[1])
        scale = max(abs(low), abs(high)) or 1.0
        center, spread = (low + high) / 2 / scale, (high - low) / 2 / scale or 1.0
        stats: dict[str, Any] = {"kind": "number", "unit": "", "integer": bool(integer)}
        stats.update(decimals=decimals, origin=0, step=1, lo=low, hi=high, scale=scale)
        stats.update(center=center, spread=spread, clip=True)
        if high == low or not modes:
            points, modes = tuple(sorted({*points, low} if high == low else set(points))), 0
        stats["points"] = [float(p) for p in points]
        # in z, the bounds are -1 and 1: tile k is centred on -1 + (2k + 1) / modes
        centres = -1.0 + (2.0 * np.arange(modes) + 1.0) / max(modes, 1)
        std = np.full(modes, 1.0 / (max(modes, 1) * _STD_MULTIPLIER * _SCALAR_LIMIT))
        mixture = Mixture(
            mean=centres, prec=1.0 / std**2, const=np.zeros(modes), valid=np.arange(modes),
            mode_mean=centres, mode_std=std,
        )  # fmt: skip
        mixture.add_points((np.asarray(points, dtype=np.float64) / scale - center) / spread)
        return cls(name, dtype, missing, stats, mixture)

    def value_range(self) -> tuple[Any, Any, list[Any], bool]:
        """``(smallest, largest, point masses, whole)`` of a number column, in its own units.

        ``whole``: every generated value is a whole number (an integer dtype, or floats
        learned with no decimals).
        """
        if self.kind != "number":
            raise DataError(f"Column {self.name!r} holds {self.kind}s, not numbers.")
        s = self.stats
        shift = (lambda v: round(v) + s["origin"]) if s["origin"] else (lambda v: v)
        points = [shift(v) for v in s.get("points", [])]
        return shift(s["lo"]), shift(s["hi"]), points, bool(s["integer"] or s["decimals"] == 0)

    def _domain(self, series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
        raw, missing = _numeric_values(series, self.name, self.kind, self.stats["unit"])
        if missing.any() and not self.has_missing:
            raise DataError(f"Column {self.name!r} has missing values but had none in fit.")
        if self.kind == "number" and self.stats["origin"]:
            return np.where(
                missing, 0.0, _offsets(_exact_integers(series), self.stats["origin"])
            ), missing
        if self.kind == "number":
            return np.where(missing, 0.0, raw.astype(np.float64)), missing
        diffs = raw.view(np.uint64) - np.uint64(self.stats["origin"] & _MASK)
        return np.where(missing, 0.0, diffs.astype(np.float64) / self.stats["step"]), missing

    def encode(self, series: pd.Series, rng: np.random.Generator) -> np.ndarray:
        x, missing = self._domain(series)
        s = self.stats
        if s.get("clip"):  # bounds from metadata or a private fit: values beyond are clipped
            x = np.clip(x, s["lo"], s["hi"])
        z = np.where(missing, 0.0, (x / s["scale"] - s["center"]) / s["spread"])
        uniform = rng.random(len(z))
        block = np.zeros((len(z), self.width), dtype=np.float32)
        n_modes = len(self.mixture.mode_mean)
        for lo in range(0, len(z), _CHUNK_ROWS):
            rows = np.arange(lo, min(lo + _CHUNK_ROWS, len(z)))
            scalar, mode = self.mixture.encode(z[rows], uniform[rows])
            block[rows, 0] = scalar
            block[rows, 1 + mode] = 1.0
        if self.has_missing:
            block[np.arange(len(z)), 1 + n_modes + missing.astype(np.int64)] = 1.0
        return block

    def decode(self, block: np.ndarray) -> pd.Series:
        s = self.stats
        n_modes = len(self.mixture.mode_mean)
        mode = block[:, 1 : 1 + n_modes].argmax(axis=1)
        z = self.mixture.decode(block[:, 0], mode)
        with np.errstate(over="ignore", invalid="ignore"):  # overflow is clipped right after
            x = np.clip((z * s["spread"] + s["center"]) * s["scale"], s["lo"], s["hi"])
        points = np.asarray(s.get("points", []), dtype=np.float64)  # files before 0.1: none
        if len(points):  # the point modes come last, in the order of points
            on_point = mode >= n_modes - len(points)
            x[on_point] = points[mode[on_point] - (n_modes - len(points))]
        missing = np.zeros(len(x), dtype=bool)
        if self.has_missing:
            missing = block[:, 1 + n_modes :].argmax(axis=1) == 1
        if self.kind != "number":
            return self._decode_time(x, missing)
        if s["integer"] and s["origin"]:
            return self._decode_offsets(x, missing)
        native = np.dtype(getattr(self.dtype, "numpy_dtype", self.dtype))
        if s["integer"] and native.kind == "f":  # a float column declared whole (metadata)
            x = np.round(x)
        elif s["integer"]:
            info = np.iinfo(native)
            top = float(info.max)  # 2**63 for int64: not castable, so step below it
            top = np.nextafter(top, -np.inf) if int(top) > info.max else top
            x = np.clip(np.round(x), float(info.min), top)
        elif s["decimals"] is not None:
            with np.errstate(over="ignore", invalid="ignore"):
                rounded = np.round(x, s["decimals"])
            x = np.where(np.isfinite(rounded), rounded, x)
        x[missing] = np.nan
        return pd.Series(x).astype(self.dtype)

    def _decode_offsets(self, x: np.ndarray, missing: np.ndarray) -> pd.Series:
        native = np.dtype(getattr(self.dtype, "numpy_dtype", self.dtype))
        ints = (np.round(x).astype(np.uint64) + np.uint64(self.stats["origin"] & _MASK)).view(
            native
        )
        out = pd.Series(ints).astype(self.dtype)
        if missing.any():  # a column with missing values has a nullable dtype (Int64, ...)
            out[missing] = pd.NA
        return out

    def _decode_time(self, x: np.ndarray, missing: np.ndarray) -> pd.Series:
        s = self.stats
        ticks = np.round(x).astype(np.uint64) * np.uint64(s["step"])
        ints = (ticks + np.uint64(s["origin"] & _MASK)).view(np.int64)
        ints[missing] = np.iinfo(np.int64).min  # NaT
        code = "m8" if self.kind == "timedelta" else "M8"
        out = pd.Series(ints.view(f"{code}[{s['unit']}]"))
        if isinstance(self.dtype, pd.DatetimeTZDtype):
            out = out.dt.tz_localize("UTC").dt.tz_convert(self.dtype.tz)
        return out.astype(self.dtype)

    def config(self, arrays: dict[str, np.ndarray], prefix: str) -> dict[str, Any]:
        for key in self._ARRAYS:
            arrays[f"{prefix}.{key}"] = np.asarray(getattr(self.mixture, key))
        stats = {k: (v.item() if isinstance(v, np.generic) else v) for k, v in self.stats.items()}
        return {**super().config(arrays, prefix), "missing": self.has_missing, "stats": stats}

    @classmethod
    def from_config(cls, cfg: dict[str, Any], arrays: dict[str, np.ndarray]) -> ContinuousColumn:
        prefix = cfg["prefix"]
        parts = {k: np.asarray(arrays[f"{prefix}.{k}"]) for k in cls._ARRAYS}
        parts["valid"] = parts["valid"].astype(np.int64)
        mixture = Mixture(**parts)
        dtype = dtype_from_json(cfg["dtype"])
        return cls(cfg["name"], dtype, bool(cfg["missing"]), dict(cfg["stats"]), mixture)


def _time_kind(dtype: Any) -> tuple[str, str]:
    """Return ``(kind, unit)``: "number", "datetime" or "timedelta", and the time unit."""
    if isinstance(dtype, pd.DatetimeTZDtype):
        return "datetime", str(dtype.unit)
    if ptypes.is_datetime64_dtype(dtype):
        return "datetime", np.datetime_data(dtype)[0]
    if ptypes.is_timedelta64_dtype(dtype):
        return "timedelta", np.datetime_data(dtype)[0]
    return "number", ""


def _numeric_values(
    series: pd.Series, name: str, kind: str, unit: str
) -> tuple[np.ndarray, np.ndarray]:
    """Return (values, missing): float64 for numbers, int64 ticks of ``unit`` for times."""
    if kind != "number":
        if isinstance(series.dtype, pd.DatetimeTZDtype):
            series = series.dt.tz_convert(None)
        code = "M8" if kind == "datetime" else "m8"
        try:
            ticks = series.to_numpy().astype(f"{code}[{unit}]")
        except (TypeError, ValueError) as exc:
            raise DataError(f"Column {name!r} holds values that are not {kind}s.") from exc
        return ticks.view(np.int64), np.isnat(ticks)
    try:
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError) as exc:
        raise DataError(f"Column {name!r} is continuous but holds non-numeric values.") from exc
    if np.isinf(values).any():
        raise DataError(
            f"Column {name!r} holds infinite values ({int(np.isinf(values).sum())} rows); "
            "replace them with missing values or finite numbers."
        )
    return values, np.isnan(values)


def _exact_integers(series: pd.Series) -> np.ndarray:
    """An integer column's values in its own numpy type (0 where missing), without float64."""
    native = np.dtype(getattr(series.dtype, "numpy_dtype", series.dtype))
    if series.hasnans:
        return series.to_numpy(dtype=native, na_value=0)
    return series.to_numpy(dtype=native)


def _offsets(ints: np.ndarray, origin: int) -> np.ndarray:
    """``ints - origin`` as float64, computed in 64-bit integers (exact below 2**53)."""
    return (ints.view(np.uint64) - np.uint64(origin & _MASK)).astype(np.float64)


def _warn_if_inexact(name: str, offsets: np.ndarray) -> None:
    if len(offsets) and offsets.max() >= _EXACT_INTEGERS:
        warnings.warn(
            f"Column {name!r} holds integers more than 2**53 apart; float64 cannot tell every "
            "one of them apart, so generated values are exact to about 16 significant digits "
            "(model it as discrete, or split it, to keep every digit).",
            ColumnHandlingWarning,
            stacklevel=6,
        )


def _learn_decimals(values: np.ndarray, dtype: Any) -> int | None:
    """Fewest decimals (at most 15) that reproduce every value in its own float type."""
    native = np.dtype(getattr(dtype, "numpy_dtype", dtype))
    target = values.astype(native)
    with np.errstate(all="ignore"):
        for decimals in range(16):
            if np.array_equal(np.round(values, decimals).astype(native), target):
                return decimals
    return None


def _learn_step(diffs: np.ndarray, unit: str) -> int:
    """Coarsest of day, hour, minute, second, ms, us, ns dividing every time difference."""
    for step_ns in _TIME_STEPS_NS:
        if step_ns % _UNIT_NS[unit] == 0:
            step = step_ns // _UNIT_NS[unit]
            if not (diffs % np.uint64(step)).any():
                return step
    return 1


def _point_masses(
    x: np.ndarray, share: float | None, most: int, few: int | None = None
) -> np.ndarray:
    """The values of ``x`` that get point modes.

    Every value when ``x`` holds at most ``few`` distinct whole numbers (a count, years of
    education, a rating); otherwise those held by at least ``share`` of it, the heaviest
    ``most`` of them.
    """
    if not len(x):
        return np.zeros(0)
    values, counts = np.unique(x, return_counts=True)
    if few is not None and len(values) <= few and np.array_equal(values, np.round(values)):
        return values
    if share is None:
        return np.zeros(0)
    heavy = np.flatnonzero(counts >= max(share * len(x), 2))  # a value seen once is no mass
    heavy = heavy[np.argsort(-counts[heavy], kind="stable")][:most]
    return np.sort(values[heavy])
