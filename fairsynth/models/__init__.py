"""The model layer: the synthesizers, their training loop, conditioning and callbacks.

``base`` (the fit loop, sampling in chunks; ``_saving`` for save and load, ``_checks`` and
``_constraints`` for the parameter and input checks, ``threads`` for the thread policy),
``ptgan``, ``fair`` and ``gantk`` (the synthesizers), ``conditioning``, ``conditions``,
``ranges`` and ``knob`` (what a model is conditioned on: cells, rare categories, user
conditions and the fairness knob), ``callbacks``, ``checkpoint``, ``stopping`` and
``fitcheck`` (hooks into the training loop), ``privacy`` (DP-SGD) and ``partitions``.
The public classes are imported from :mod:`fairsynth` (``from fairsynth import Checkpoint``).
Importing this package imports no torch; its modules that need torch import it themselves.
"""
