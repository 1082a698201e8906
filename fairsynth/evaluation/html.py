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

if TYPE_CHECKING:
    from fairsynth.evaluation.report import EvaluationReport

__all__ = ["render_html"]

REAL, SYNTHETIC, OTHER = "#4C72B0", "#DD8452", "#55A868"
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


def _distribution_figure(data: pd.DataFrame) -> Figure:
    columns = list(dict.fromkeys(data["column"]))
    ncols = 4
    nrows = math.ceil(len(columns) / ncols)
    # A fixed layout: the constrained engine took seconds for this many axes.
    height = 2.5 * nrows
    figure = Figure(figsize=(3.3 * ncols, height))
    figure.subplots_adjust(
        left=0.1, right=0.98, wspace=0.75, hspace=0.45, top=1 - 0.3 / height, bottom=0.4 / height
    )
    axes = figure.subplots(nrows, ncols, squeeze=False)
    for ax, column in zip(axes.flat, columns, strict=False):
        part = data[data["column"] == column]
        if part["kind"].iloc[0] == "numeric":
            width = (part["right"] - part["left"]).to_numpy()
            ax.bar(part["left"], part["real"], width=width, align="edge", color=REAL, alpha=0.55)
            ax.step(part["left"], part["synthetic"], where="post", color=SYNTHETIC, lw=1.8)
            ax.locator_params(axis="x", nbins=4)
        else:
            part = part[(part["real"] > 0) | (part["synthetic"] > 0)]
            y = np.arange(len(part))
            ax.barh(y - 0.2, part["real"], height=0.4, color=REAL)
            ax.barh(y + 0.2, part["synthetic"], height=0.4, color=SYNTHETIC)
            ax.set_yticks(y, [str(b)[:18] for b in part["bin"]], fontsize=7)
            ax.invert_yaxis()
        ax.set_title(column, fontsize=10)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(columns) :]:
        ax.set_visible(False)
    return figure


def _pair_matrix(pairs: pd.DataFrame, columns: list[str], value: str) -> np.ndarray:
    index = {c: i for i, c in enumerate(columns)}
    matrix = np.full((len(columns), len(columns)), np.nan)
    for row in pairs.itertuples(index=False):
        i, j = index[row.column_1], index[row.column_2]
        matrix[i, j] = matrix[j, i] = getattr(row, value)
    return matrix


def _association_figure(pairs: pd.DataFrame) -> Figure:
    columns = list(dict.fromkeys([*pairs["column_1"], *pairs["column_2"]]))
    pairs = pairs.assign(difference=(pairs["real"] - pairs["synthetic"]).abs())
    size = max(3.6, 0.28 * len(columns) + 1.5)
    figure = Figure(figsize=(3 * size, size), layout="constrained")
    axes = figure.subplots(1, 3)
    titles = {"real": "real_train", "synthetic": "synthetic", "difference": "|real − synthetic|"}
    for ax, (value, title) in zip(axes, titles.items(), strict=True):
        image = ax.imshow(
            _pair_matrix(pairs, columns, value),
            vmin=0,
            vmax=1,
            cmap="viridis" if value != "difference" else "Reds",
        )
        ax.set_xticks(range(len(columns)), columns, rotation=90, fontsize=7)
        ax.set_yticks(range(len(columns)), columns if value == "real" else [], fontsize=7)
        ax.set_title(title, fontsize=10)
    figure.colorbar(image, ax=axes, shrink=0.7, label="Cramér's V (numbers in deciles)")
    return figure


def _selection_figure(rates: pd.DataFrame) -> Figure | None:
    """Dot plot: per group, label shares (bars) and each model's selection rate (markers).

    Colour is the data source throughout the report (blue real, orange synthetic); the marker
    is the model.
    """
    attributes = [
        a
        for a in dict.fromkeys(rates["attribute"])
        if rates.loc[rates["attribute"] == a, "group"].nunique() <= 16
    ]
    if not attributes:
        return None
    sizes = [rates.loc[rates["attribute"] == a, "group"].nunique() for a in attributes]
    figure = Figure(figsize=(11, 0.9 * len(attributes) + 0.34 * sum(sizes)), layout="constrained")
    grid = figure.subplots(len(attributes), 1, squeeze=False, sharex=True, height_ratios=sizes)
    axes = grid[:, 0]
    colour = {"real_train": REAL, "real": REAL, "synthetic": SYNTHETIC}
    markers = dict(zip(dict.fromkeys(rates["model"].dropna()), "os^vD", strict=False))
    for ax, attribute in zip(axes, attributes, strict=True):
        part = rates[rates["attribute"] == attribute]
        groups = sorted(part["group"].unique())
        y = {g: i for i, g in enumerate(groups)}
        for k, data in enumerate(("real_train", "synthetic")):
            labels = part[(part["kind"] == "label") & (part["data"] == data)]
            ax.barh(
                [y[g] + (k - 0.5) * 0.36 for g in labels["group"]],
                labels["rate"],
                height=0.34,
                color=colour[data],
                alpha=0.35,
                label=f"label share in {data}",
            )
        shown = part[(part["kind"] == "prediction") & (part["sensitive_feature"] == "included")]
        for (model, source), rows in shown.groupby(["model", "trained_on"], sort=False):
            ax.plot(
                rows["rate"],
                [y[g] for g in rows["group"]],
                ls="none",
                ms=7,
                mew=1.5,
                marker=markers[model],
                color=colour[source],
                mfc=colour[source] if source == "synthetic" else "white",
                label=f"{model} trained on {source}",
            )
        ax.set_yticks(range(len(groups)), groups, fontsize=8)
        ax.set_ylim(len(groups) - 0.5, -0.5)
        ax.grid(axis="x", alpha=0.3)
        ax.set_title(f"share positive by {attribute}", fontsize=10)
        ax.tick_params(labelbottom=True)
    axes[-1].set_xlabel("share labelled positive (bars) or predicted positive (markers)")
    handles, labels = axes[0].get_legend_handles_labels()
    figure.legend(handles, labels, fontsize=8, loc="outside right upper")
    return figure


def _dcr_figure(hist: pd.DataFrame) -> Figure:
    figure = Figure(figsize=(8, 3.2), layout="constrained")
    ax = figure.subplots()
    width = (hist["right"] - hist["left"]).to_numpy()
    ax.bar(
        hist["left"],
        hist["held_out"],
        width=width,
        align="edge",
        color=REAL,
        alpha=0.55,
        label="held-out real rows",
    )
    ax.step(
        hist["left"], hist["synthetic"], where="post", color=SYNTHETIC, lw=2, label="synthetic rows"
    )
    p5 = float(hist["p5"].iloc[0])
    if np.isfinite(p5):
        ax.axvline(p5, color="k", ls="--", lw=1, label="held-out 5th percentile")
    ax.set_xlabel("distance to the closest training row")
    ax.set_ylabel("share of rows")
    ax.legend(fontsize=8)
    return figure


def _utility_figure(table: pd.DataFrame, metric: str) -> Figure:
    figure = Figure(figsize=(8, 2.8), layout="constrained")
    ax = figure.subplots()
    labels = [
        f"{m}\n(S {v})"
        for m, v in dict.fromkeys(zip(table["model"], table["sensitive_feature"], strict=True))
    ]
    x = np.arange(len(labels))
    for k, (source, colour) in enumerate((("synthetic", SYNTHETIC), ("real", REAL))):
        part = table[table["trained_on"] == source]
        if len(part):
            ax.bar(
                x + (k - 0.5) * 0.38,
                part[metric],
                width=0.38,
                color=colour,
                label=f"trained on {source}",
            )
    ax.set_xticks(x, labels, fontsize=8)
    if metric in ("auc", "accuracy") and table[metric].notna().any():
        ax.set_ylim(max(0.0, float(np.nanmin(table[metric])) - 0.1), 1.0)
    ax.set_ylabel(f"{metric} on real test rows")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return figure


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
            _png(_distribution_figure(plots["distributions"]), tight=False),
        ]
    if "associations" in plots and len(plots["associations"]):
        parts += [
            "<h3>Pair trends: strength of relation of each pair of columns</h3>",
            _png(_association_figure(plots["associations"])),
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
    figure = _selection_figure(t["group_rates"])
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
        parts += [_png(_utility_figure(t["utility"], metric)), _table(t["utility"])]
    if "fidelity" in t:
        parts += _fidelity_parts(t, plots)
    if "label_gap" in t:
        parts += _fairness_parts(t)
    if "privacy" in t:
        parts += ["<h2>Privacy: distance to closest training record</h2>", _table(t["privacy"])]
        if "dcr_histogram" in plots:
            parts.append(_png(_dcr_figure(plots["dcr_histogram"])))
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
