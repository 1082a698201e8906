"""The checks every synthesizer makes of its inputs: tables, seeds, devices, sample memory.

Kept apart from :mod:`fairsynth.models.base` so that the training loop and the model files read on
their own; :mod:`fairsynth.models.base` re-exports the public ones.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import torch
from scipy import sparse
from sklearn.utils import check_random_state

from fairsynth.exceptions import DataError, ParameterError, format_choices
from fairsynth.io import available_memory

__all__ = [
    "check_n_samples",
    "check_sample_memory",
    "draw_seed",
    "random_state_of",
    "resolve_device",
    "validate_table",
]


def resolve_device(device: str | torch.device) -> torch.device:
    """Turn ``'auto'`` into CUDA when present, else CPU; check any other name."""
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError):
        raise ParameterError(
            f"Unknown device {device!r}. Valid: 'auto', 'cpu', 'cuda', 'cuda:N'."
        ) from None
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ParameterError(f"device={device!r} but no CUDA device is available; use 'auto'.")
    if resolved.type not in ("cpu", "cuda"):
        raise ParameterError(f"Unsupported device {device!r}. Valid: 'auto', 'cpu', 'cuda'.")
    return resolved


def check_n_samples(n_samples: object) -> int:
    """Return ``n_samples`` as an int ≥ 1, or raise a ParameterError saying what is valid."""
    if isinstance(n_samples, bool) or not isinstance(n_samples, (int, np.integer)):
        raise ParameterError(f"n_samples must be a positive integer, got {n_samples!r}.")
    if n_samples < 1:
        raise ParameterError(f"n_samples must be at least 1, got {n_samples}.")
    return int(n_samples)


def random_state_of(random_state: Any) -> np.random.RandomState:
    """A numpy RandomState from None, an int, a RandomState or a Generator (seeded from it)."""
    if isinstance(random_state, np.random.Generator):
        return np.random.RandomState(draw_seed(random_state))
    return check_random_state(random_state)


def draw_seed(random_state: Any) -> int:
    """A torch seed from None, an int, a numpy RandomState or a numpy Generator."""
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(np.iinfo(np.int32).max))
    integer = isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool)
    if integer and not 0 <= random_state < 2**32:  # numpy's range; -1 is an int, yet refused
        raise ParameterError(
            f"random_state must be an integer from 0 to 2**32 - 1 = {2**32 - 1} (or None, a "
            f"numpy RandomState or Generator); got {random_state!r}."
        )
    try:
        return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))
    except ValueError:
        raise ParameterError(
            f"random_state must be None, an int, a numpy RandomState or Generator; "
            f"got {random_state!r}."
        ) from None


def validate_table(X: Any, min_rows: int, name: str) -> pd.DataFrame:
    """``X`` as a DataFrame a synthesizer can learn from, or a DataError saying why not."""
    if sparse.issparse(X):
        raise DataError(
            f"Sparse input ({type(X).__name__}) is not supported; pass a DataFrame "
            "(pandas.DataFrame.sparse.from_spmatrix(X).sparse.to_dense())."
        )
    if isinstance(X, np.ndarray):
        if X.ndim != 2:
            raise DataError(f"Expected a 2-D table, got an array of shape {X.shape}.")
        X = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])
    if not isinstance(X, pd.DataFrame):
        raise DataError(f"Expected a pandas DataFrame, got {type(X).__name__}.")
    complex_columns = [c for c, t in X.dtypes.items() if pd.api.types.is_complex_dtype(t)]
    if complex_columns:
        raise DataError(f"Complex data not supported (columns {format_choices(complex_columns)}).")
    if X.shape[1] == 0:  # the wording of scikit-learn's check_array, which its checks expect
        raise DataError(
            f"The table has no columns: 0 feature(s) (shape={X.shape}) while a minimum of 1 "
            "is required."
        )
    if len(X) < min_rows:
        raise DataError(
            f"The table has {len(X)} row(s) (n_samples = {len(X)}); {name} "
            f"needs at least {min_rows} to learn from."
        )
    return X


def check_sample_memory(n_samples: int, first: pd.DataFrame) -> None:
    """Refuse an in-memory sample that would not fit in the available memory."""
    available = available_memory()
    if available is None or n_samples <= len(first):
        return
    per_row = float(first.memory_usage(deep=True, index=False).sum()) / max(1, len(first))
    needed = 2 * per_row * n_samples  # the chunks, then their concatenation
    if needed > available:
        raise ParameterError(
            f"n_samples={n_samples:,} would need about {needed / 1e9:,.1f} GB of memory "
            f"({per_row:,.0f} bytes a row, twice while joining chunks); about "
            f"{available / 1e9:,.1f} GB is available. Draw fewer rows, or stream them to a file "
            "with iter_samples or `fairsynth sample -n N -o out.csv`."
        )
