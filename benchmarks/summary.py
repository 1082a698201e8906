"""Turn benchmark results into docs/benchmarks.md (mean ± sd over seeds) and plots.

Reads ``<results>/results.csv`` and ``<results>/runs.jsonl`` written by ``benchmarks.run``
(and the ring study's files from ``benchmarks.ring`` when they exist), writes one markdown
page and PNG figures: quality against fit time, and downstream utility against fairness.

Usage::

    python -m benchmarks.summary
    python -m benchmarks.summary --results /tmp/bench --out /tmp/bench.md --img /tmp/img
"""

from __future__ import annotations

import argparse
import os
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.registry import SYNTHESIZERS
from benchmarks.run import RESULTS, load_runs

__all__ = ["COLUMNS", "aggregate", "main", "summarize"]

ROOT = Path(__file__).resolve().parent.parent
# Headline columns of the per-data-set tables: (metric, header, digits; negative: significant
# digits). '{s}' is the first sensitive column of the data set.
COLUMNS = [
    ("Train_Time", "fit s", 0),
    ("Fit_Ratio", "fit / CTGAN", -2),
    ("Sample_Time", "sample s", 2),
    ("Peak_Memory_MB", "peak MB", 0),
    ("Quality_Score", "Quality (train)", 3),
    ("Quality_Score_Test", "Quality (test)", 3),
    ("Detection_AUC", "detection AUC", 3),
    ("LogReg_AUC", "LogReg AUC", 3),
    ("HistGB_AUC", "HistGB AUC", 3),
    ("HistGB_DP_{s}", "HistGB DP ({s})", 3),
    ("HistGB_EO_{s}", "HistGB EO ({s})", 3),
    ("Label_Gap_{s}", "label gap ({s})", 3),
    ("DCR_Ratio", "DCR ratio", 2),
]
PROTOCOL = """\
Protocol (docs/evaluation.md, `fairsynth.evaluation.evaluate`): each synthesizer is fitted on
the real training split and samples as many rows; every run is its own process. Quality is
SDMetrics' Quality report against the real training split ("test": against the real test split);
Column Pair Trends scores only related pairs (|Pearson r| > 0.5 between numbers, Cramér's V > 0.3
otherwise). TSTR: LogisticRegression and HistGradientBoosting trained on the synthetic rows, with
the sensitive column as a feature, tested on the real test split (ROC AUC, positive class pinned).
DP / EO: fairlearn's demographic parity and equalized odds differences of the HistGB predictions
on the real test split. Label gap: max − min over groups of P(Y = positive | S) in the synthetic
rows. Detection AUC: a classifier separating real and synthetic rows (0.5 = indistinguishable).
DCR ratio: median distance of synthetic rows to the closest training row over the same for real
held-out rows (about 1 is good; near 0 means copies). fit / CTGAN: mean fit time over CTGAN's on
the same data set and machine. Peak MB: peak resident memory of the run's process after fitting
and sampling (imports and data included). Figures are mean ± sd over the seeds (n). A run's
seed seeds the synthesizer, its sample and the evaluation's classifiers (HistGB's
`random_state`, which evaluation.md fixes at 0): the spread includes the classifiers' own, about
±0.002 AUC on Adult. fairsynth's PTGAN family samples from its averaged generator
(`ema_decay=0.999`) in runs of code from 2ea5fb0 on (the "Code" line lists each run's commit)."""

GUIDE = """\
Every synthesizer of the grid (benchmarks/registry.py: fairsynth's PTGAN and its ablations, the
fair variant, GA-NTK, CTGAN, TVAE, GaussianCopula, MOSTLY AI's TabularARGN, TabFairGAN, and the
fair tree generator TabFairGDT at its λ = 0, 0.5 and 1 on the first sensitive column) fitted on
the bundled Adult, COMPAS and German training splits with its defaults, three seeds each, and
scored by one protocol. What the tables help choose:

- **Fidelity**: Quality (SDMetrics, 1 best) and detection AUC (0.5: a classifier cannot tell
  synthetic rows from real ones).
- **Usefulness for a downstream model**: LogReg and HistGB AUC on the real test split, trained on
  the synthetic rows (TSTR); the real-data row is the ceiling.
- **Fairness as generated**: the label gap in the synthetic rows and the DP / EO of the model
  trained on them. The fair variant's row is one setting of its knob (λ = 1); its frontier and
  how to pick λ: [fairness.md](fairness.md).
- **Privacy**: DCR ratio (about 1 is good; near 0 means copies). **Cost**: fit time (compare as
  ratios, `fit / CTGAN`, within one data set: runs shared a 2-core machine), peak memory.

What the figures say about PTGAN's design (tempering, the coherency penalty, averaging) and the
ablation rows: [measurements.md](measurements.md). To reproduce the grid, then this page and its
figures:

```console
$ python -m benchmarks.run --datasets adult compas german --seeds 0 1 2 --threads 1
$ python -m benchmarks.ring modes --seeds 0 1 2 --steps 3000
$ python -m benchmarks.ring variance --seeds 0 1 2 --at 0 500 2000
$ python -m benchmarks.summary --note "..."      # the note: the last line under Runs below
```

The exact commands of the runs shown, the code commit of each and the machine are listed under
Runs at the end of this page; every run's parameters and versions are in `runs.jsonl`."""


def aggregate(results: pd.DataFrame) -> pd.DataFrame:
    """Mean, sd and count over seeds of each (dataset, synthesizer, metric), with references."""
    grouped = results.groupby(["Dataset", "Synthesizer", "Metric"], sort=False)
    table = grouped["Value"].agg(mean="mean", sd="std", n="count").reset_index()
    table["reference"] = grouped["Reference"].mean().to_numpy()
    fit = table[table.Metric == "Train_Time"].set_index(["Dataset", "Synthesizer"])["mean"]
    ratios = [
        (d, s, "Fit_Ratio", m / fit[(d, "ctgan")], np.nan, n, np.nan)
        for (d, s), m, n in zip(fit.index, fit, table[table.Metric == "Train_Time"].n, strict=True)
        if (d, "ctgan") in fit.index
    ]
    extra = pd.DataFrame(ratios, columns=table.columns)
    return pd.concat([table, extra], ignore_index=True) if len(extra) else table


def _cell(mean: float, sd: float, n: int, digits: int) -> str:
    if not np.isfinite(mean):
        return "–"
    style = f",.{digits}f" if digits >= 0 else f"#.{-digits}g"
    text = format(mean, style)
    return f"{text} ± {format(sd, style)}" if n > 1 and np.isfinite(sd) else text


def _order(names: Any) -> list[str]:
    known = [name for name in SYNTHESIZERS if name in set(names)]
    return known + sorted(set(names) - set(known))


def dataset_table(stats: pd.DataFrame, dataset: str, sensitive: str) -> str:
    """The markdown table of one data set: a row per synthesizer, then real data."""
    part = stats[stats.Dataset == dataset].set_index(["Synthesizer", "Metric"])
    columns = [(m.format(s=sensitive), h.format(s=sensitive), d) for m, h, d in COLUMNS]
    columns = [c for c in columns if c[0] in part.index.get_level_values("Metric")]
    lines = ["| synthesizer | n | " + " | ".join(h for _, h, _ in columns) + " |"]
    lines.append("|---|---:|" + "---:|" * len(columns))
    for name in _order(part.index.get_level_values("Synthesizer").unique()):
        rows = part.loc[name]
        n = int(rows.loc["Train_Time", "n"]) if "Train_Time" in rows.index else 0
        cells = [
            _cell(*rows.loc[m, ["mean", "sd", "n"]], d) if m in rows.index else "–"
            for m, _, d in columns
        ]
        lines.append(f"| {name} | {n} | " + " | ".join(cells) + " |")
    real = part.groupby(level="Metric")["reference"].mean()
    cells = [_cell(real.get(m, np.nan), np.nan, 1, d) for m, _, d in columns]
    lines.append("| *real data (reference)* | | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _sensitive(dataset: str, metrics: pd.Series) -> str:
    found = sorted(m[len("HistGB_DP_") :] for m in metrics.unique() if m.startswith("HistGB_DP_"))
    found = [f for f in found if not f.startswith("At_Rate") and not f.endswith("Excluded")]
    preferred = {"adult": "sex", "compas": "race", "german": "sex"}.get(dataset)
    return preferred if preferred in found else (found[0] if found else "")


def _plot(stats: pd.DataFrame, img: Path, x_metric: str, y_metric: str, name: str) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    datasets = list(stats.Dataset.unique())
    figure, axes = plt.subplots(1, len(datasets), figsize=(5 * len(datasets), 4), squeeze=False)
    for axis, dataset in zip(axes[0], datasets, strict=True):
        part = stats[stats.Dataset == dataset]
        x_name = x_metric.format(s=_sensitive(dataset, part.Metric))
        wide = part.pivot_table(index="Synthesizer", columns="Metric", values=["mean", "sd"])
        for synthesizer in _order(wide.index):
            if (("mean", x_name) not in wide.columns) or (("mean", y_metric) not in wide.columns):
                continue
            row = wide.loc[synthesizer]
            axis.errorbar(
                row[("mean", x_name)], row[("mean", y_metric)], xerr=row.get(("sd", x_name)),
                yerr=row.get(("sd", y_metric)), fmt="o", capsize=3,
            )  # fmt: skip
            axis.annotate(synthesizer, (row[("mean", x_name)], row[("mean", y_metric)]),
                          fontsize=8, xytext=(4, 4), textcoords="offset points")  # fmt: skip
        reference = part[part.Metric.isin([x_name, y_metric])].groupby("Metric")["reference"]
        real = reference.mean()
        if np.isfinite(real.get(x_name, np.nan)) and np.isfinite(real.get(y_metric, np.nan)):
            axis.plot(real[x_name], real[y_metric], "k*", markersize=12, label="real data")
            axis.legend(loc="best", fontsize=8)
        if x_metric == "Train_Time":
            axis.set_xscale("log")
        axis.set(title=dataset, xlabel=x_name.replace("_", " "), ylabel=y_metric.replace("_", " "))
        axis.grid(alpha=0.3)
    figure.tight_layout()
    img.mkdir(parents=True, exist_ok=True)
    path = img / f"{name}.png"
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def _context(runs: dict[tuple[str, str, int], dict[str, Any]]) -> list[str]:
    ok = [r for r in runs.values() if r["status"] == "ok"]
    lines = []
    if ok:
        machine, kinds = ok[-1].get("machine", {}), Counter()
        for r in ok:  # runs made at different times may have run on different machines
            m = r.get("machine", {})
            kinds[
                f"{m.get('cpu', '?')}, {m.get('cpu_count', '?')} cores "
                f"({m.get('threads', '?')} threads per run), {m.get('gpu') or 'no GPU'}, "
                f"{m.get('memory_gb', '?')} GB; {m.get('platform', '')}"
            ] += 1
        lines.append("Machine: " + "; ".join(f"{k} ({n} runs)" for k, n in kinds.items()) + ".")
        versions: dict[str, set[str]] = {}
        for r in ok:
            for package, value in r.get("versions", {}).items():
                versions.setdefault(package, set()).add(str(value))
        lines.append(
            "Versions: "
            + ", ".join(f"{k} {' / '.join(sorted(v))}" for k, v in versions.items())
            + "."
        )
        seeds = sorted({r["Seed"] for r in ok})
        commits = sorted({r.get("git", "?") for r in ok})
        lines.append(f"Seeds: {seeds}. Code: {', '.join(commits)}.")
        loads = [x for r in ok for x in r.get("load_average", [])]
        if loads:
            lines.append(
                f"Load average (1 min) at the start and end of the runs: {min(loads):.1f} to "
                f"{max(loads):.1f} on {machine.get('cpu_count', '?')} cores."
            )
    commands = sorted({r["command"] for r in runs.values() if r.get("command")})
    lines += [f"Command: `{c}`" for c in commands]
    params = sorted({f"{r['Synthesizer']}: {r['params']}" for r in runs.values() if r["params"]})
    if params:
        lines.append("Parameters other than the registry's: " + "; ".join(params) + ".")
    return lines


def _failures(runs: dict[tuple[str, str, int], dict[str, Any]]) -> list[str]:
    failed = [r for r in runs.values() if r["status"] != "ok"]
    if not failed:
        return []
    lines = ["", "### Failed runs", "", "| data set | synthesizer | seed | status | error |"]
    lines.append("|---|---|---:|---|---|")
    for r in failed:
        last = (r.get("error") or "").strip().splitlines()[-1:] or [""]
        error = last[0].replace("|", "/")[:160]
        lines.append(f"| {r['Dataset']} | {r['Synthesizer']} | {r['Seed']} | {r['status']} "
                     f"| {error} |")  # fmt: skip
    return lines


def summarize(
    results_dir: Path = RESULTS,
    out: Path = ROOT / "docs" / "benchmarks.md",
    img: Path = ROOT / "docs" / "img",
    ring_dir: Path | None = None,
    note: str | None = None,
) -> str:
    """Write the markdown page and the figures; return the page's text.

    ``note`` is printed under the run context (e.g. what else loaded the machine).
    """
    results_dir, out, img = Path(results_dir), Path(out), Path(img)
    results = pd.read_csv(results_dir / "results.csv")
    runs = load_runs(results_dir)
    stats = aggregate(results)
    link = os.path.relpath(results_dir, out.parent)
    lines = [
        "# Benchmarks",
        "",
        f"Generated by `python -m benchmarks.summary` from `{link}/results.csv` "
        "(one tidy row per data set, synthesizer, seed and metric; `runs.jsonl` beside it has "
        "each run's parameters, versions and machine). Do not edit by hand.",
        "",
        GUIDE,
        "",
        "## How the figures are measured",
        "",
        PROTOCOL,
    ]
    for dataset in stats.Dataset.unique():
        sensitive = _sensitive(dataset, stats[stats.Dataset == dataset].Metric)
        lines += ["", f"## {dataset}", "", dataset_table(stats, dataset, sensitive)]
    lines += _failures(runs)
    if len(stats):
        quality = _plot(stats, img, "Train_Time", "Quality_Score", "benchmarks-quality-time")
        fairness = _plot(stats, img, "HistGB_DP_{s}", "HistGB_AUC", "benchmarks-utility-fairness")
        lines += ["", "## Figures", ""]
        for title, path in (("Quality against fit time", quality),
                            ("TSTR HistGB AUC against downstream DP", fairness)):  # fmt: skip
            lines.append(f"![{title}]({os.path.relpath(path, out.parent)})")
    if ring_dir is not None and Path(ring_dir).exists():
        from benchmarks.ring import ring_markdown

        lines += ["", ring_markdown(Path(ring_dir), img, out.parent)]
    context = _context(runs) + ([f"Note: {note}"] if note else [])
    if context:
        lines += ["", "## Runs", "", *(f"- {line}" for line in context)]
    text = "\n".join(lines).rstrip() + "\n"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    return text


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--img", type=Path, default=ROOT / "docs" / "img")
    parser.add_argument("--ring", type=Path, default=RESULTS.parent / "ring",
                        help="ring study results (skipped when absent)")  # fmt: skip
    parser.add_argument("--note", help="a line printed under the run context")
    args = parser.parse_args(argv)
    summarize(args.results, args.out, args.img, args.ring, args.note)
    print(f"wrote {args.out} and figures under {args.img}")


if __name__ == "__main__":
    main()
