"""The evaluation report: headline numbers, tidy tables per section, JSON and HTML output."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fairsynth.exceptions import DataError
from fairsynth.io import atomic_output

__all__ = ["DIRECTIONS", "EvaluationReport"]

DIRECTIONS = {"higher": "higher is better", "lower": "lower is better"}
_FORMAT = "fairsynth-evaluation"
_VERSION = 1


def _frame_to_json(frame: pd.DataFrame) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads(frame.to_json(orient="split", index=False))
    return payload


def _plain(value: Any) -> Any:
    """JSON-safe copy of settings: numpy scalars to Python, NaN to None, the rest as text."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


@dataclass
class EvaluationReport:
    """What :func:`~fairsynth.evaluation.evaluate` found, section by section.

    Attributes
    ----------
    tables : dict of str to DataFrame
        Tidy tables: ``utility``, ``fidelity``, ``detection_columns``, ``column_shapes``,
        ``column_pair_trends``, ``coverage``, ``label_gap``, ``fairness``, ``group_rates``,
        ``privacy`` (those of the sections that ran) and ``notes`` (entries that could not be
        computed, and caveats).
    plot_data : dict of str to DataFrame
        The numbers behind the HTML pictures (histograms, pair associations).
    settings : dict
        Arguments, table sizes, package versions and seconds per section.

    Examples
    --------
    >>> report = EvaluationReport(
    ...     summary_table=pd.DataFrame({"section": ["utility"], "metric": ["LogReg AUC"],
    ...         "value": [0.9], "reference": [0.91], "direction": ["higher is better"],
    ...         "note": [""]}))
    >>> report.summary().loc[0, "direction"]
    'higher is better'
    """

    summary_table: pd.DataFrame
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    plot_data: dict[str, pd.DataFrame] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> pd.DataFrame:
        """Headline numbers, one row each.

        Columns: ``section``, ``metric``, ``value`` (for the synthetic table), ``reference``
        (the same figure for real data: the models trained on the real table, the real label
        gap, the real test table scored as if it were synthetic...), ``direction`` ('higher is
        better' or 'lower is better') and ``note`` (why a value is missing, or a warning).
        """
        return self.summary_table.copy()

    @property
    def notes(self) -> pd.DataFrame:
        """Entries that could not be computed, and caveats, with the reason."""
        return self.tables.get("notes", pd.DataFrame(columns=["section", "item", "reason"]))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; each table as ``{"columns": [...], "data": [[...], ...]}``."""
        return {
            "format": _FORMAT,
            "version": _VERSION,
            "settings": _plain(self.settings),
            "summary": _frame_to_json(self.summary_table),
            "tables": {name: _frame_to_json(t) for name, t in self.tables.items()},
            "plot_data": {name: _frame_to_json(t) for name, t in self.plot_data.items()},
        }

    @classmethod
    def from_dict(cls, payload: dict[str, Any]) -> EvaluationReport:
        """Rebuild a report from :meth:`to_dict` output."""
        if not isinstance(payload, dict) or payload.get("format") != _FORMAT:
            raise DataError("Not a fairsynth evaluation report (missing 'format' marker).")
        if payload.get("version") != _VERSION:
            raise DataError(f"Unknown report version {payload.get('version')!r}; expected 1.")

        def frame(d: dict[str, Any]) -> pd.DataFrame:
            return pd.DataFrame(d["data"], columns=d["columns"])

        return cls(
            summary_table=frame(payload["summary"]),
            tables={k: frame(v) for k, v in payload["tables"].items()},
            plot_data={k: frame(v) for k, v in payload["plot_data"].items()},
            settings=payload["settings"],
        )

    def to_json(self, path: str | os.PathLike[str]) -> Path:
        """Write the report as JSON (atomically); return the path."""
        text = json.dumps(self.to_dict(), indent=1, allow_nan=False)
        with atomic_output(path) as tmp:
            tmp.write_text(text, encoding="utf-8")
        return Path(path)

    @classmethod
    def from_json(cls, path: str | os.PathLike[str]) -> EvaluationReport:
        """Read a report written by :meth:`to_json`."""
        try:
            payload = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise DataError(f"Cannot read report '{path}': {exc}") from None
        return cls.from_dict(payload)

    def to_html(self, path: str | os.PathLike[str]) -> Path:
        """Write one self-contained HTML page with tables and pictures; return the path."""
        from fairsynth.evaluation.html import render_html

        text = render_html(self)
        with atomic_output(path) as tmp:
            tmp.write_text(text, encoding="utf-8")
        return Path(path)

    def __repr__(self) -> str:
        shown = self.summary_table[["section", "metric", "value", "reference", "direction"]]
        with pd.option_context("display.width", 120, "display.max_colwidth", 60):
            return f"EvaluationReport\n{shown.to_string(index=False, float_format='{:.3f}'.format)}"
