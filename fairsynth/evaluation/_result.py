"""What each section hands back to :func:`~fairsynth.evaluation.evaluate`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, NamedTuple

import pandas as pd

from fairsynth.evaluation._prepare import Issue

__all__ = ["SectionResult", "SummaryRow"]


class SummaryRow(NamedTuple):
    """One headline number: its value, the same figure for real data, and its direction."""

    section: str
    metric: str
    value: float
    reference: float
    direction: Literal["higher", "lower"]
    note: str = ""


@dataclass
class SectionResult:
    """Tidy tables, data for the pictures, headline rows and caveats of one section."""

    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    plot_data: dict[str, pd.DataFrame] = field(default_factory=dict)
    summary: list[SummaryRow] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
