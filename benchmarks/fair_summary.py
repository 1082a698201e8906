"""Mean ± sd over seeds of the fairness figures that ``benchmarks/fair_frontier.py`` wrote.

``python benchmarks/fair_frontier.py summary`` calls :func:`summary`: it reads every CSV under
``--out`` and writes a markdown summary and the mean frontier's picture beside them.
:func:`markdown` and :func:`mean_sd` are shared with benchmarks/peer_frontier.py.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["PUBLISHED", "against_eg", "markdown", "mean_sd", "plot_means", "summary"]

# Points of other systems, Adult by sex, TSTR, S included: MOSTLY AI's fairness option measured
# here (benchmarks/peers/mostlyai_fair.py, mean of 3 seeds: results/peer-mostlyai/), CTGAN's
# from design/evaluation.md.
PUBLISHED = pd.DataFrame(
    [
        ("MOSTLY AI fair (3 seeds)", "LogReg", 0.882, 0.052, 0.207),
        ("MOSTLY AI fair (3 seeds)", "HistGB", 0.893, 0.053, 0.206),
        ("CTGAN 300 ep. (eval.md)", "LogReg", 0.894, 0.30, 0.20),
        ("CTGAN 300 ep. (eval.md)", "HistGB", 0.893, 0.28, 0.17),
    ],
    columns=["source", "model", "auc", "dp", "eo"],
).assign(attribute="sex", sensitive_feature="included")


def markdown(frame: pd.DataFrame, digits: int = 3) -> str:
    """A pipe table (pandas' to_markdown needs tabulate, which we do not depend on)."""

    def cell(value: Any) -> str:
        return f"{value:.{digits}f}" if isinstance(value, float) else str(value)

    lines = ["| " + " | ".join(map(str, frame.columns)) + " |", "|" + "---|" * frame.shape[1]]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.to_numpy()]
    return "\n".join(lines)


def mean_sd(frame: pd.DataFrame, keys: list[str], values: list[str]) -> pd.DataFrame:
    """``mean ± sd (n)`` over seeds as text, one column per value."""
    grouped = frame.groupby(keys, dropna=False)[values]
    mean, sd, n = grouped.mean(), grouped.std(), grouped.size()
    text = mean.map("{:.3f}".format)
    for column in values:
        spread = sd[column].map(lambda v: "" if pd.isna(v) else f" ± {v:.3f}")
        text[column] = text[column] + spread
    return text.assign(n=n).reset_index()


def _variant(names: pd.Series) -> pd.Series:
    """The model file's name without its seed: what is averaged over seeds."""
    return names.str.replace(r"-s\d+", "", regex=True)


def against_eg(frontier: pd.DataFrame) -> pd.DataFrame:
    """Mean AUC of FairPTGAN's LogReg points minus ExponentiatedGradient's AUC at the same DP."""
    mine = frontier[frontier["attribute"] == frontier["by"]]
    keys = ["dataset", "by", "sensitive_feature"]
    eg_all = mine[mine["source"] == "ExponentiatedGradient"].drop_duplicates([*keys, "fairness"])
    ours = mine[(mine["source"] == "FairPTGAN") & (mine["model"] == "LogReg")]
    means = ours.groupby(["variant", *keys, "fairness"])[["auc", "dp"]].mean().reset_index()
    rows = []
    for _, point in means.iterrows():
        eg = eg_all[(eg_all[keys] == point[keys]).all(axis=1)].sort_values("dp")
        if eg.empty:
            continue
        inside = eg["dp"].min() <= point["dp"] <= eg["dp"].max()
        reference = np.interp(point["dp"], eg["dp"], eg["auc"]) if inside else np.nan
        rows.append(
            point.to_dict() | {"eg_auc_at_dp": reference, "difference": point["auc"] - reference}
        )
    return pd.DataFrame(rows)


def plot_means(frontier: pd.DataFrame, out: Path) -> None:
    """One picture per (variant, attribute, sensitive feature), averaged over seeds."""
    from fairsynth.frontier import plot_frontier

    eg = frontier[frontier["source"] == "ExponentiatedGradient"]
    for (variant, by), part in frontier[frontier["source"] != "ExponentiatedGradient"].groupby(
        ["variant", "by"]
    ):
        dataset = str(part["dataset"].iloc[0])
        references = eg[(eg["dataset"] == dataset) & (eg["by"] == by)]
        references = references.drop_duplicates(["sensitive_feature", "fairness", "attribute"])
        table = pd.concat([part, references], ignore_index=True)
        seeds = part["model_file"].nunique()
        for variant_feature in ("included", "excluded"):
            plot_frontier(
                table,
                out / f"summary.{variant}.{str(by).replace(' & ', 'x')}.{variant_feature}.png",
                attribute=str(by),
                sensitive_feature=variant_feature,
                peers=PUBLISHED if dataset == "adult" else None,
                title=f"{variant}: knob by {by}, sensitive feature {variant_feature} "
                f"(mean of {seeds} fit(s))",
            )


def summary(args: argparse.Namespace) -> None:
    out = Path(args.out)
    parts: list[str] = [f"# FairPTGAN benchmark summary ({out})\n"]
    metrics = ["auc", "accuracy", "dp", "eo", "dp_at_rate", "data_gap"]
    frontier_files = sorted(out.glob("*.frontier.*.csv"))
    if frontier_files:
        frontier = pd.concat([pd.read_csv(f) for f in frontier_files], ignore_index=True)
        frontier["variant"] = _variant(frontier["model_file"])
        shown = frontier[frontier["attribute"] == frontier["by"]]
        keys = ["variant", "by", "sensitive_feature", "source", "model", "fairness"]
        parts += [
            "## Frontier (attribute = the knob's `by`)\n",
            markdown(mean_sd(shown, keys, metrics)),
        ]
        plot_means(frontier, out)
        comparison = against_eg(frontier)
        if not comparison.empty:
            parts += [
                "\n## LogReg against ExponentiatedGradient at equal DP (mean over seeds)\n",
                markdown(comparison),
            ]
    for suffix, keys in (
        ("calibrated", ["variant", "sensitive_feature", "model"]),
        ("fidelity", ["variant", "metric"]),
        ("small_group", ["variant", "group", "metric"]),
    ):
        files = sorted(out.glob(f"*.{suffix}.csv"))
        if not files:
            continue
        frame = pd.concat([pd.read_csv(f) for f in files], ignore_index=True)
        frame["variant"] = _variant(frame["model_file" if "model_file" in frame else "model"])
        values = ["value"] if "value" in frame else [*metrics[:5], "fairness"]
        parts += [f"\n## {suffix}\n", markdown(mean_sd(frame, keys, values))]
    fits = [json.loads(f.read_text()) for f in sorted(out.glob("*.fit.json"))]
    if fits:
        parts += ["\n## Fits\n", markdown(pd.DataFrame(fits))]
    text = "\n".join(parts) + "\n"
    (out / "summary.md").write_text(text)
    print(text)
