"""PTGAN's defaults on Adult against the un-tempered WGAN-GP ablation (same nets, same steps).

Each (config, seed) runs in its own process so that peak memory is that run's alone. Results are
appended as JSON lines to benchmarks/results/adult_ptgan.jsonl and printed as a table.

Usage::

    python -m benchmarks.adult_ptgan --seeds 0 1 --configs ptgan wgan-gp
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import time
from pathlib import Path
from typing import Any

from benchmarks.isolated import run_isolated
from benchmarks.registry import CONFIGS  # the ablations: one definition, in the registry

RESULTS = Path(__file__).parent / "results" / "adult_ptgan.jsonl"
RARE_SHARE = 0.01  # a category with under 1% of the real training rows is "rare"


def rare_category_scores(real: Any, synthetic: Any, columns: list[str]) -> dict[str, float]:
    """Coverage of the real table's rare categories: the modes a mode-seeking loss would drop.

    ``Rare_Covered`` is the share of rare categories (over all discrete columns) that appear
    in the synthetic table at all; ``Rare_Mass_Ratio`` the synthetic rows in rare categories
    over the real ones (1 = their total share is kept; below 1 = under-represented).
    """
    covered, real_mass, synthetic_mass, count = 0, 0.0, 0.0, 0
    for column in columns:
        shares = real[column].value_counts(normalize=True)
        made = synthetic[column].value_counts(normalize=True)
        for value in shares[shares < RARE_SHARE].index:
            count += 1
            covered += int(made.get(value, 0.0) > 0)
            real_mass += float(shares[value])
            synthetic_mass += float(made.get(value, 0.0))
    return {
        "Rare_Categories": count,
        "Rare_Covered": round(covered / count, 4) if count else float("nan"),
        "Rare_Mass_Ratio": round(synthetic_mass / real_mass, 4) if count else float("nan"),
    }


def run_one(config: str, seed: int, extra: dict[str, Any]) -> dict[str, Any]:
    import torch

    from fairsynth import PTGANSynthesizer, load_dataset
    from fairsynth.evaluation import label_gap, quality_scores, tstr_scores

    ds = load_dataset("adult")
    params = {**CONFIGS[config], **extra}
    model = PTGANSynthesizer(random_state=seed, verbose=False, **params).fit(ds.train)
    started = time.perf_counter()
    synth = model.sample(len(ds.train), random_state=seed)
    sample_seconds = time.perf_counter() - started
    numerical = [c for c in ds.train.columns if c not in ds.discrete_columns]
    fidelity = quality_scores(ds.train, synth, numerical)[0]
    quality_train = fidelity["Quality"]
    quality_test = quality_scores(ds.test, synth, numerical)[0]["Quality"]
    scores = tstr_scores(synth, ds.test, ds.target, ds.positive_label, "sex")
    return {
        "Synthesizer": config,
        "Dataset": "adult",
        "seed": seed,
        "params": params,
        "ema_decay": model.ema_decay,
        "steps": int(sum(h["steps"] for h in model.history_)),
        "Train_Time": round(model.fit_time_, 1),
        "Sample_Rows_Per_s": round(len(synth) / sample_seconds),
        "Peak_Memory_MB": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "Quality_Score": round(float(quality_train), 4),
        "Quality_Score_Test": round(float(quality_test), 4),
        "Column_Shapes": round(float(fidelity["Column Shapes"]), 4),
        **rare_category_scores(ds.train, synth, list(ds.discrete_columns)),
        "HistGB_AUC": round(float(scores.loc["HistGB", "auc"]), 4),
        "LogReg_AUC": round(float(scores.loc["LogReg", "auc"]), 4),
        "HistGB_DP_sex": round(float(scores.loc["HistGB", "dp[sex]"]), 4),
        "Label_Gap_sex": round(
            label_gap((synth[ds.target] == ds.positive_label).to_numpy(), synth["sex"]), 4
        ),
        "torch_threads": torch.get_num_threads(),
        "device": str(model.device_),
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
    }


SUMMARY_COLUMNS = {
    "Quality_Score": "Quality", "Column_Shapes": "Column Shapes",
    "HistGB_AUC": "HistGB AUC", "LogReg_AUC": "LogReg AUC", "Label_Gap_sex": "label gap (sex)",
    "Rare_Covered": "rare categories covered", "Rare_Mass_Ratio": "rare mass ratio",
}  # fmt: skip


def summary_table(path: Path) -> str:
    """Mean ± sd over seeds per configuration (default parameters only), as markdown.

    Rows from before weight averaging became the default (no ``ema_decay`` recorded, or None)
    are their own group, marked "no averaging".
    """
    import pandas as pd

    from fairsynth import PTGANSynthesizer

    rows = pd.read_json(path, lines=True)
    rows = rows[[str(r["params"]) == str(CONFIGS[r["Synthesizer"]]) for _, r in rows.iterrows()]]
    default = PTGANSynthesizer().ema_decay
    decay = rows["ema_decay"] if "ema_decay" in rows else pd.Series(None, index=rows.index)
    averaged = decay.astype(float).fillna(-1.0) == default
    names = rows["Synthesizer"].where(averaged, rows["Synthesizer"] + ", no averaging")
    grouped = rows.groupby(names, sort=False)
    lines = ["| config | seeds | " + " | ".join(SUMMARY_COLUMNS.values()) + " |"]
    lines.append("|---|---:|" + "---:|" * len(SUMMARY_COLUMNS))
    for name, part in sorted(grouped, key=lambda item: str(item[0]).endswith("no averaging")):
        cells = []
        for column in SUMMARY_COLUMNS:
            mean, sd = part[column].mean(), part[column].std()
            cells.append(f"{mean:.3f}" + ("" if pd.isna(sd) else f" ± {sd:.3f}"))
        seeds = ", ".join(str(s) for s in sorted(part["seed"]))
        lines.append(f"| {name} | {seeds} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--configs", nargs="+", default=["ptgan", "wgan-gp"], choices=CONFIGS)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    parser.add_argument("--params", default="{}", help="JSON of extra parameters for every run")
    parser.add_argument("--single", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--summary", action="store_true", help="print the results as markdown")
    args = parser.parse_args()
    extra = json.loads(args.params)
    if args.summary:
        print(summary_table(RESULTS))
        return
    if args.single:
        print(json.dumps(run_one(args.configs[0], args.seeds[0], extra)))
        return
    for seed in args.seeds:
        for config in args.configs:
            case = ["--configs", config, "--seeds", str(seed), "--params", args.params]
            run_isolated("benchmarks.adult_ptgan", case, RESULTS)


if __name__ == "__main__":
    main()
