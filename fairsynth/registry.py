"""The synthesizer classes: one table for the package, the CLI, model files and the benchmarks.

Each entry is the CLI's model name, the module that defines the class, and the class's name.
Importing this module imports no model (the synthesizers need torch): :func:`synthesizer_class`
imports the one asked for. A model file can only name one of these classes, so loading a file
never makes fairsynth import a module the file chose.
"""

from __future__ import annotations

import importlib
from typing import Any

from fairsynth.exceptions import ParameterError, format_choices

__all__ = ["CLASS_MODULES", "SYNTHESIZERS", "synthesizer_class"]

SYNTHESIZERS: dict[str, tuple[str, str]] = {
    "ptgan": ("fairsynth.models.ptgan", "PTGANSynthesizer"),
    "ga-ntk": ("fairsynth.models.gantk", "GANTKSynthesizer"),
    "fair-ptgan": ("fairsynth.models.fair", "FairPTGANSynthesizer"),
}
#: class name -> module, for ``fairsynth.<Class>`` and for loading a model file
CLASS_MODULES: dict[str, str] = {cls: module for module, cls in SYNTHESIZERS.values()}


def synthesizer_class(name: str) -> Any:
    """The class of a model name (``'ptgan'``) or class name (``'PTGANSynthesizer'``).

    Raises
    ------
    ParameterError
        If ``name`` is neither, naming the valid model names.
    """
    if name in SYNTHESIZERS:
        module, cls = SYNTHESIZERS[name]
    elif name in CLASS_MODULES:
        module, cls = CLASS_MODULES[name], name
    else:
        raise ParameterError(
            f"Unknown model {name!r}. Valid choices: {format_choices(SYNTHESIZERS)}"
        )
    return getattr(importlib.import_module(module), cls)
