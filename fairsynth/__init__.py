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
    from fairsynth.models.callbacks import Callback
    from fairsynth.models.checkpoint import Checkpoint
    from fairsynth.models.distributed import DataParallel
    from fairsynth.models.fair import FairPTGANSynthesizer
    from fairsynth.models.gantk import GANTKSynthesizer
    from fairsynth.models.partitions import partition_meta, sample_partition
    from fairsynth.models.ptgan import PTGANSynthesizer
    from fairsynth.models.stopping import Convergence, EarlyStopping
    from fairsynth.transform import TableTransformer

__version__ = "0.1.0"

_LAZY = {
    **CLASS_MODULES,
    "evaluate": "fairsynth.evaluation",
    "EvaluationReport": "fairsynth.evaluation",
    "Callback": "fairsynth.models.callbacks",
    "Checkpoint": "fairsynth.models.checkpoint",
    "Convergence": "fairsynth.models.stopping",
    "DataParallel": "fairsynth.models.distributed",
    "EarlyStopping": "fairsynth.models.stopping",
    "partition_meta": "fairsynth.models.partitions",
    "sample_partition": "fairsynth.models.partitions",
    "TableTransformer": "fairsynth.transform",
}

__all__ = [
    "Callback",
    "Checkpoint",
    "Convergence",
    "DataError",
    "DataParallel",
    "Dataset",
    "EarlyStopping",
    "EvaluationReport",
    "FairPTGANSynthesizer",
    "FairsynthError",
    "GANTKSynthesizer",
    "ModelFileError",
    "NotFittedError",
    "PTGANSynthesizer",
    "ParameterError",
    "TableTransformer",
    "__version__",
    "evaluate",
    "load_dataset",
    "partition_meta",
    "sample_partition",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'fairsynth' has no attribute {name!r}")
