"""The data layer: a reversible table <-> matrix transform and its column codecs (no torch).

:class:`TableTransformer` (in :mod:`fairsynth.transform.table`) is the public entry point;
``_schema`` decides which codec models each column, ``_columns`` and ``_continuous`` are the
codecs, ``_mixture`` the mode-specific normalisation and ``_values`` the plain-data values.
"""

from __future__ import annotations

from fairsynth.transform._metadata import draft_metadata
from fairsynth.transform.table import ColumnHandlingWarning, OutputSpan, TableTransformer

__all__ = ["ColumnHandlingWarning", "OutputSpan", "TableTransformer", "draft_metadata"]
