"""One self-contained HTML page for an evaluation report, pictures embedded as base64 PNGs.

Figures are drawn on :class:`matplotlib.figure.Figure` objects directly, never through
pyplot, so rendering a report changes no global matplotlib state.
"""

from __future__ import annotations

import base64
import html
import io
import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from fairsynth.evaluation._figures import (
    REAL,
    SYNTHETIC,
    association_figure,
    dcr_figure,
    detection_figure,
    distribution_figure,
    selection_figure,
    utility_figure,
)

if TYPE_CHECKING:
    from fairsynth.evaluation.report import EvaluationReport

__all__ = ["render_html"]

_CSS = " ".join(
    """
body{font-family:system-ui,sans-serif;margin:0;background:#f6f7f9;color:#222}
main{max-width:1200px;margin:0 auto;padding:24px 32px 64px;background:#fff}
h1{margin:0 0 4px;font-size:26px}
h2{margin-top:40px;border-bottom:2px solid #ddd;padding-bottom:4px}
h3{margin:24px 0 8px;font-size:16px;color:#444} p.lead{color:#555;margin:4px 0 16px}
table{border-collapse:collapse;font-size:13px;margin:8px 0 16px}
th,td{padding:4px 10px;border-bottom:1px solid #e3e3e3;text-align:right;vertical-align:top}
th{background:#f0f2f5;text-align:center} td.l,td:first-child{text-align:left}
td.text{text-align:left;color:#555;max-width:420px} tr:nth-child(even) td{background:#fafbfc}
.up{color:#2a7a2a} .down{color:#a33}
.note{background:#fff6df;border-left:4px solid #e0a800;padding:8px 12px;margin:12px 0}
img{max-width:100%;display:block;margin:8px 0 16px}
.key span{display:inline-block;width:12px;height:12px;margin:0 4px 0 12px;vertical-align:middle}
footer{margin-top:48px;font-size:12px;color:#777}
""".split()
)


def _png(figure: Figure, tight: bool = True) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, bbox_inches="tight" if tight else None)
    encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img alt="figure" src="data:image/png;base64,{encoded}">'


def _fmt(value: object) -> str:
    if isinstance(value, (float, np.floating)):
        number = float(value)
        if math.isnan(number):
            return "–"
        whole = number.is_integer() and abs(number) >= 2
        return f"{number:,.0f}" if abs(number) >= 1000 or whole else f"{number:.3f}"
    if value is None:
        return "–"
    return html.escape(str(value))


def _table(frame: pd.DataFrame, text_columns: tuple[str, ...] = ("note", "reason")) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    rows = []
    for record in frame.itertuples(index=False):
        cells = []
        for column, value in zip(frame.columns, record, strict=True):
            css = ' class="text"' if column in text_columns else ""
            cells.append(f"<td{css}>{_fmt(value)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _summary_table(summary: pd.DataFrame) -> str:
    arrows = {True: '<span class="up">▲ higher</span>', False: '<span class="down">▼ lower</span>'}
    head = "".join(
        f"<th>{h}</th>"
        for h in ("section", "metric", "synthetic", "real reference", "better", "note")
    )
    rows = "".join(
        f"<tr><td>{_fmt(r.section)}</td><td class='l'>{_fmt(r.metric)}</td>"
        f"<td><b>{_fmt(r.value)}</b></td><td>{_fmt(r.reference)}</td>"
        f"<td>{arrows[str(r.direction).startswith('higher')]}</td>"
        f"<td class='text'>{_fmt(r.note)}</td></tr>"
        for r in summary.itertuples(index=False)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def _key(*entries: tuple[str, str]) -> str:
    return (
        '<p class="key">'
        + "".join(f'<span style="background:{c}"></span>{html.escape(t)}' for t, c in entries)
        + "</p>"
    )


def _pivot_fairness(table: pd.DataFrame) -> pd.DataFrame:
    wide = table.pivot_table(
        index=["attribute", "model", "sensitive_feature"],
        columns="trained_on",
        values=["dp", "eo", "dp_at_rate"],
        sort=False,
    )
    wide.columns = [f"{metric} ({source})" for metric, source in wide.columns]
    return wide.reset_index()


_TEXT = {
    "summary": "Each figure is for the synthetic table; <i>real reference</i> is the same figure "
    "for real data (models trained on the real table, the real label gap, the real test table "
    "scored as if it were synthetic).",
    "utility": "Models trained on the synthetic (or the real) training table, scored on the real "
    "test table. F1 is the positive class's; macro-F1 averages it with the other class. "
    "'S included' means the sensitive columns are features of the model.",
    "detection": "The detection classifier shown one column only (left: how far that "
    "column's own distribution is off) and every column but one (right: a bar short of the "
    "dashed whole-table line means the column carries a tell the others do not). Fewer rows "
    "and boosting iterations than the headline detection AUC; see the note in the summary.",
    "fairness": "dp: demographic-parity difference at threshold 0.5; eo: equalized-odds "
    "difference; dp_at_rate: demographic-parity difference when the top share of scores equal "
    "to the real training prevalence is predicted positive. Max − min over groups.",
}


def _lead(s: dict[str, Any]) -> str:
    rows = s.get("rows", {})
    sensitive = ", ".join(s.get("sensitive") or []) or "none"
    return (
        f"<p class='lead'>target <b>{_fmt(s.get('target'))}</b> (positive "
        f"{_fmt(s.get('positive_label'))}) · sensitive {_fmt(sensitive)} · rows: real_train "
        f"{_fmt(rows.get('real_train'))}, synthetic {_fmt(rows.get('synthetic'))}, real_test "
        f"{_fmt(rows.get('real_test'))} · seed {_fmt(s.get('random_state'))}</p>"
    )


def _fidelity_parts(t: dict[str, pd.DataFrame], plots: dict[str, pd.DataFrame]) -> list[str]:
    parts = ["<h2>Fidelity</h2>", _table(t["fidelity"])]
    if "distributions" in plots:
        parts += [
            "<h3>Column distributions</h3>",
            _key(("real_train", REAL), ("synthetic", SYNTHETIC)),
            _png(distribution_figure(plots["distributions"]), tight=False),
        ]
    if len(t.get("detection_columns", ())):
        parts += [
            "<h3>Detection by column: where the synthetic rows give themselves away</h3>",
            f"<p>{_TEXT['detection']}</p>",
            _png(detection_figure(t["detection_columns"])),
            _table(t["detection_columns"]),
        ]
    if "associations" in plots and len(plots["associations"]):
        parts += [
            "<h3>Pair trends: strength of relation of each pair of columns</h3>",
            _png(association_figure(plots["associations"])),
        ]
    for name, title in (("column_shapes", "Column shapes (SDMetrics)"), ("coverage", "Coverage")):
        if name in t:
            parts += [f"<h3>{title}</h3>", _table(t[name])]
    return parts


def _fairness_parts(t: dict[str, pd.DataFrame]) -> list[str]:
    parts = [
        "<h2>Fairness</h2>",
        "<h3>Label gap in the data: max − min over groups of P(positive)</h3>",
        _table(t["label_gap"]),
    ]
    if "fairness" in t:
        parts += [
            "<h3>Downstream models on real test rows</h3>",
            f"<p>{_TEXT['fairness']}</p>",
            _table(_pivot_fairness(t["fairness"])),
        ]
    figure = selection_figure(t["group_rates"])
    if figure is not None:
        parts += ["<h3>Positive share by group (models with S included)</h3>", _png(figure)]
    return parts


def render_html(report: EvaluationReport) -> str:
    """Return the report as one HTML document (pictures included)."""
    t, s, plots = report.tables, report.settings, report.plot_data
    parts = ["<h1>Synthetic data evaluation</h1>", _lead(s), "<h2>Summary</h2>"]
    parts += [f"<p>{_TEXT['summary']}</p>", _summary_table(report.summary_table)]
    if len(report.notes):
        title = "<b>Not computed, or to keep in mind:</b>"
        parts.append(f"<div class='note'>{title}{_table(report.notes)}</div>")
    if "utility" in t:
        metric = "auc" if "auc" in t["utility"] else "r2"
        parts += [
            "<h2>Utility: train on synthetic, test on real</h2>",
            f"<p>{_TEXT['utility']}</p>",
        ]
        parts += [_png(utility_figure(t["utility"], metric)), _table(t["utility"])]
    if "fidelity" in t:
        parts += _fidelity_parts(t, plots)
    if "label_gap" in t:
        parts += _fairness_parts(t)
    if "privacy" in t:
        heading = "<h2>Privacy: distance to closest record, membership inference</h2>"
        parts += [heading, _table(t["privacy"])]
        if "dcr_histogram" in plots:
            parts.append(_png(dcr_figure(plots["dcr_histogram"])))
    versions = ", ".join(f"{k} {v}" for k, v in (s.get("versions") or {}).items())
    seconds = (s.get("seconds") or {}).get("total")
    parts.append(
        f"<footer>Protocol: docs/evaluation.md · {html.escape(versions)} · "
        f"computed in {_fmt(seconds)} s</footer>"
    )
    head = f"<meta charset='utf-8'><title>fairsynth evaluation</title><style>{_CSS}</style>"
    body = "\n".join(parts)
    page = f"<head>{head}</head><body><main>{body}</main></body>"
    return f"<!DOCTYPE html><html lang='en'>{page}</html>\n"
