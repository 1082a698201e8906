"""Draw a frontier table: AUC against each fairness gap, λ written at each point."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from fairsynth.exceptions import ParameterError, format_choices
from fairsynth.io.output import open_output

if TYPE_CHECKING:
    pass
from fairsynth.frontier._scoring import METRICS

__all__ = ["plot_frontier"]


def plot_frontier(
    table: pd.DataFrame,
    path: str | Path,
    *,
    attribute: str | None = None,
    sensitive_feature: str = "included",
    peers: pd.DataFrame | None = None,
    title: str | None = None,
) -> Path:
    """Draw AUC against DP, EO and DP at a fixed rate from a :func:`fairness_frontier` table.

    FairPTGAN's λ sweep is a line per classifier (mean over seeds, λ written at each point),
    ExponentiatedGradient a dashed line, the classifiers trained on real data a star, any other
    source with a λ (a peer generator's sweep) a dotted line of triangles; ``peers``
    (columns ``source``, ``model``, ``auc``, ``dp``, ``eo``) adds fixed points of other systems.
    Writes a PNG (or any format matplotlib knows by the suffix; none: PNG) atomically through
    :func:`fairsynth.io.output.open_output` and returns its path.
    """
    from matplotlib.figure import Figure

    if attribute is None:
        attribute = str(table["by"].iloc[0]) if "by" in table else str(table["attribute"].iloc[0])
    mine = table[
        (table["attribute"] == attribute) & (table["sensitive_feature"] == sensitive_feature)
    ]
    if mine.empty:
        raise ParameterError(
            f"No rows for attribute {attribute!r} with the sensitive feature {sensitive_feature}."
            f" Attributes: {format_choices(table['attribute'].unique())}"
        )
    fig = Figure(figsize=(15, 4.6), layout="constrained")
    axes = fig.subplots(1, 3, sharey=True)
    means = (
        mine.groupby(["source", "model", "fairness"], dropna=False)[["auc", *METRICS]]
        .mean()
        .reset_index()
    )
    styles = {"LogReg": "tab:blue", "HistGB": "tab:orange"}
    for ax, metric in zip(axes, METRICS, strict=True):
        for (source, name), part in means.groupby(["source", "model"]):
            color = styles.get(str(name), "tab:gray")
            if source == "real data":
                ax.plot(
                    part[metric], part["auc"], "*", ms=14, color=color, label=f"{name} on real data"
                )
                continue
            dashed = source == "ExponentiatedGradient"
            part = part.sort_values("fairness")
            ax.plot(
                part[metric],
                part["auc"],
                "s--" if dashed else "o-" if source == "FairPTGAN" else "^:",
                color=color,
                alpha=0.7 if dashed else 1.0,
                label=f"{name}: {source}",
            )
            if not dashed:
                for _, point in part.iterrows():
                    ax.annotate(
                        f"{point['fairness']:g}",
                        (point[metric], point["auc"]),
                        textcoords="offset points",
                        xytext=(4, 4),
                        fontsize=7,
                    )
        if peers is not None and metric in peers:
            for _, peer in peers[peers["attribute"] == attribute].iterrows():
                ax.plot(
                    peer[metric],
                    peer["auc"],
                    "x",
                    ms=9,
                    mew=2,
                    color=styles.get(str(peer["model"]), "k"),
                    label=f"{peer['model']}: {peer['source']}",
                )
        names = {"dp": "DP difference", "eo": "EO difference", "dp_at_rate": "DP at fixed rate"}
        ax.set_xlabel(f"{names[metric]} on real test ({attribute})")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("ROC AUC on real test")
    axes[0].legend(fontsize=7, loc="lower right")
    fig.suptitle(
        title
        or f"Fairness knob λ (numbers at points), by {attribute}; "
        f"sensitive feature {sensitive_feature}"
    )
    out = Path(path)
    with open_output(out) as handle:  # atomic, like every other output
        fig.savefig(handle, format=out.suffix.lstrip(".").lower() or "png", dpi=110)
    return out
