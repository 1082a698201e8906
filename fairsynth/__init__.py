"""fairsynth: fair synthetic copies of tables with Parallelly Tempered GANs.

The synthesizers need torch; they are imported on first use, so ``fairsynth.evaluate`` and
``fairsynth.load_dataset`` work without loading torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from fairsynth.datasets import Dataset, load_dataset
from fairsynth.exceptions import (
    DataError,
    FairsynthError,
    ModelFileError,
    NotFittedError,
    ParameterError,
)
from fairsynth.registry import CLASS_MODULES

if TYPE_CHECKING:
    from fairsynth.evaluation import EvaluationReport, evaluate
    from fairsynth.fair import FairPTGANSynthesizer
    from fairsynth.gantk import GANTKSynthesizer
    from fairsynth.synthesizer import PTGANSynthesizer

__version__ = "0.1.0"

_LAZY = {
    **CLASS_MODULES,
    "evaluate": "fairsynth.evaluation",
    "EvaluationReport": "fairsynth.evaluation",
}

__all__ = [
    "DataError",
    "Dataset",
    "EvaluationReport",
    "FairPTGANSynthesizer",
    "FairsynthError",
    "GANTKSynthesizer",
    "ModelFileError",
    "NotFittedError",
    "PTGANSynthesizer",
    "ParameterError",
    "__version__",
    "evaluate",
    "load_dataset",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'fairsynth' has no attribute {name!r}")
