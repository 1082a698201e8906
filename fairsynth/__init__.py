"""fairsynth: fair synthetic copies of tables with Parallelly Tempered GANs."""

from __future__ import annotations

from fairsynth.datasets import Dataset, load_dataset
from fairsynth.exceptions import (
    DataError,
    FairsynthError,
    ModelFileError,
    NotFittedError,
    ParameterError,
)

__version__ = "0.1.0"

__all__ = [
    "DataError",
    "Dataset",
    "FairsynthError",
    "ModelFileError",
    "NotFittedError",
    "ParameterError",
    "__version__",
    "load_dataset",
]
