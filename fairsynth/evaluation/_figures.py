"""The pictures of the HTML report, drawn on :class:`matplotlib.figure.Figure` objects.

Never through pyplot, so rendering a report changes no global matplotlib state. Colour is the
data source throughout: blue real, orange synthetic.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

__all__ = [
    "REAL",
    "SYNTHETIC",
    "association_figure",
    "dcr_figure",
    "detection_figure",
    "distribution_figure",
    "selection_figure",
    "utility_figure",
]

REAL, SYNTHETIC = "#4C72B0", "#DD8452"


def distribution_figure(data: pd.DataFrame) -> Figure:
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


def pair_matrix(pairs: pd.DataFrame, columns: list[str], value: str) -> np.ndarray:
    index = {c: i for i, c in enumerate(columns)}
    matrix = np.full((len(columns), len(columns)), np.nan)
    for row in pairs.itertuples(index=False):
        i, j = index[row.column_1], index[row.column_2]
        matrix[i, j] = matrix[j, i] = getattr(row, value)
    return matrix


def association_figure(pairs: pd.DataFrame) -> Figure:
    columns = list(dict.fromkeys([*pairs["column_1"], *pairs["column_2"]]))
    pairs = pairs.assign(difference=(pairs["real"] - pairs["synthetic"]).abs())
    size = max(3.6, 0.28 * len(columns) + 1.5)
    figure = Figure(figsize=(3 * size, size), layout="constrained")
    axes = figure.subplots(1, 3)
    titles = {"real": "real_train", "synthetic": "synthetic", "difference": "|real − synthetic|"}
    for ax, (value, title) in zip(axes, titles.items(), strict=True):
        image = ax.imshow(
            pair_matrix(pairs, columns, value),
            vmin=0,
            vmax=1,
            cmap="viridis" if value != "difference" else "Reds",
        )
        ax.set_xticks(range(len(columns)), columns, rotation=90, fontsize=7)
        ax.set_yticks(range(len(columns)), columns if value == "real" else [], fontsize=7)
        ax.set_title(title, fontsize=10)
    figure.colorbar(image, ax=axes, shrink=0.7, label="Cramér's V (numbers in deciles)")
    return figure


def selection_figure(rates: pd.DataFrame) -> Figure | None:
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


def dcr_figure(hist: pd.DataFrame) -> Figure:
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


def utility_figure(table: pd.DataFrame, metric: str) -> Figure:
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


def detection_figure(table: pd.DataFrame) -> Figure:
    """Per column: detection AUC of the column alone, and of every column but that one.

    Sorted as the table is (worst column on top). A column that stands out on the left is
    off in its own distribution; one whose right-hand bar falls short of the whole-table
    line carries a tell that the other columns do not.
    """
    columns = list(table["column"])
    figure = Figure(figsize=(10, 0.28 * len(columns) + 1.2), layout="constrained")
    alone_ax, without_ax = figure.subplots(1, 2, sharey=True)
    y = np.arange(len(columns))
    alone_ax.barh(y, table["auc_alone"] - 0.5, left=0.5, color=SYNTHETIC)
    alone_ax.set_title("this column alone", fontsize=10)
    without_ax.barh(y, table["auc_without"] - 0.5, left=0.5, color=REAL)
    everything = (table["auc_without"] + table["drop"]).mean()
    without_ax.axvline(everything, color="k", ls="--", lw=1, label="all columns")
    without_ax.set_title("every column but this one", fontsize=10)
    without_ax.legend(fontsize=8, loc="lower right")
    alone_ax.set_yticks(y, [str(c)[:24] for c in columns], fontsize=8)
    alone_ax.invert_yaxis()
    for ax in (alone_ax, without_ax):
        ax.set_xlim(0.5, 1.0)
        ax.set_xlabel("detection AUC (0.5 = indistinguishable)")
        ax.grid(axis="x", alpha=0.3)
    return figure
