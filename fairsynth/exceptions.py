"""Exceptions raised by fairsynth.

Every error a user can cause derives from :class:`FairsynthError`, so one ``except`` clause
catches them all; each also derives from the built-in class a Python user would expect
(``ValueError`` for bad data, scikit-learn's ``NotFittedError`` for unfitted use).
"""

from __future__ import annotations

from sklearn.exceptions import NotFittedError as _SklearnNotFittedError

__all__ = [
    "DataError",
    "FairsynthError",
    "ModelFileError",
    "NotFittedError",
    "ParameterError",
]


class FairsynthError(Exception):
    """Base class of every error fairsynth raises on purpose."""


class DataError(FairsynthError, ValueError):
    """The input table cannot be used as given (missing column, empty table, bad values...)."""


class ParameterError(FairsynthError, ValueError):
    """A parameter has a value outside its valid range or set of choices."""


class NotFittedError(FairsynthError, _SklearnNotFittedError):
    """The estimator is used before ``fit`` (also scikit-learn's ``NotFittedError``)."""


class ModelFileError(FairsynthError, ValueError):
    """A model file is missing, truncated, tampered with, or of an unknown format version."""


def format_choices(values: object, limit: int = 10) -> str:
    """Return ``'a', 'b', ...`` for an error message, cut after ``limit`` items."""
    # numpy scalars as the plain values they hold: 0, not np.int64(0) (numpy 2's repr)
    items = [repr(plain_value(v)) for v in list(values)]  # type: ignore[call-overload]
    if len(items) > limit:
        return ", ".join(items[:limit]) + f", ... ({len(items)} in all)"
    return ", ".join(items)


def plain_value(value: object) -> object:
    """``value`` as a plain Python object when it is a numpy scalar (for messages)."""
    item = getattr(value, "item", None)
    if item is not None and type(value).__module__ == "numpy":
        try:
            return item()
        except (TypeError, ValueError):
            return value
    return value
