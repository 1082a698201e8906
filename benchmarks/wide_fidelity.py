"""Fidelity on a wide table (42 columns, 29 categorical) beside Adult's, at today's defaults.

Builds the wide table of benchmarks/widetable.py with as many training rows as Adult's (and a
held-out table of 15,060 rows from another seed), fits PTGAN at its defaults (one fit,
``--threads`` torch threads), samples as many rows with the default draw and with
``refine=1`` (the generator's own rows), and scores both: detection AUC against the training
and the held-out rows, SDMetrics Quality, Column Shapes and Pair Trends, category coverage,
categories under 1% of the rows generated at 0.5-2x their share, the label gap by sex and TSTR
HistGB AUC on the held-out rows. Appends one JSON line per draw to
benchmarks/results/fidelity/wide.jsonl.

Usage::

    python -m benchmarks.wide_fidelity --seed 0 --threads 1 --save wide-s0.fairsynth
    python -m benchmarks.wide_fidelity --seed 0 --threads 1 --model wide-s0.fairsynth  # again
"""

from __future__ import annotations

import argparse
import subprocess
import time
from pathlib import Path
from typing import Any

from benchmarks.isolated import append_row

RESULTS = Path(__file__).parent / "results" / "fidelity" / "wide.jsonl"
TRAIN_ROWS, TEST_ROWS = 30_162, 15_060


def score(train: Any, test: Any, synth: Any, discrete: list[str], seed: int) -> dict[str, Any]:
    """The figures of the module docstring for ``synth``."""
    from benchmarks.fidelity import rare_ratios
    from fairsynth.evaluation import (
        category_coverage,
        detection_auc,
        label_gap,
        quality_scores,
        tstr_scores,
    )

    numerical = [c for c in train.columns if c not in discrete]
    fidelity = quality_scores(train, synth, numerical)[0]
    positive = (synth["income"] == ">50K").to_numpy()
    tstr = tstr_scores(synth, test, "income", ">50K", "sex")

    def detection(real: Any) -> float:
        return round(detection_auc(real, synth, discrete, numerical, random_state=seed)[0], 4)

    return {
        "Detection_AUC": detection(train),
        "Detection_AUC_Test": detection(test),
        "Quality": round(float(fidelity["Quality"]), 4),
        "Column_Shapes": round(float(fidelity["Column Shapes"]), 4),
        "Column_Pair_Trends": round(float(fidelity["Column Pair Trends"]), 4),
        "Coverage": round(float(category_coverage(train, synth, discrete)["coverage"].mean()), 4),
        **rare_ratios(train, synth, discrete),
        "Label_Gap_sex": round(label_gap(positive, synth["sex"]), 4),
        "HistGB_AUC": round(float(tstr.loc["HistGB", "auc"]), 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--save", help="write the fitted model here")
    parser.add_argument("--model", help="score this model of the same table instead of fitting")
    args = parser.parse_args()

    from benchmarks.widetable import wide_table
    from fairsynth import PTGANSynthesizer

    train = wide_table(TRAIN_ROWS, random_state=args.seed)
    test = wide_table(TEST_ROWS, random_state=args.seed + 1000)
    discrete = [c for c in train.columns if train[c].dtype == object]
    if args.model:
        model = PTGANSynthesizer.load(args.model, n_threads=args.threads)
    else:
        model = PTGANSynthesizer(random_state=args.seed, n_threads=args.threads, verbose=False)
        model.fit(train)
    if args.save:
        model.save(args.save)
    commit = subprocess.run(
        ["git", "describe", "--always", "--dirty"], capture_output=True, text=True, check=False
    ).stdout.strip()
    for refine in ("auto", 1):
        model.set_params(refine=refine)
        started = time.perf_counter()
        synth = model.sample(len(train), random_state=args.seed)
        seconds = time.perf_counter() - started
        append_row(RESULTS, {
            "table": f"wide {train.shape[0]} x {train.shape[1]} ({len(discrete)} categorical)",
            "seed": args.seed,
            "refine": refine,
            "commit": commit,
            "threads": args.threads,
            "Train_Time": round(model.fit_time_, 1),
            "Steps": sum(int(record["steps"]) for record in model.history_),
            "Convergence": getattr(model, "convergence_", None),
            "Sample_Rows_Per_s": round(len(synth) / seconds),
            **score(train, test, synth, discrete, args.seed),
        })  # fmt: skip
        print(refine, "done", flush=True)


if __name__ == "__main__":
    main()
