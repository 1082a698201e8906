"""PTGAN on the wide table against training steps: the default draw's fidelity every N steps.

One fit at the defaults (but ``epochs``) on the wide table of benchmarks/widetable.py
(``--rows`` training rows, 42 columns, 29 categorical); every ``--every`` steps the model is
scored as it would sample at the end of a fit of that length: a refiner is trained on its rows
(:func:`fairsynth.models.refine.fit_refiner`), ``--sample`` rows are drawn with the default
importance resampling and scored against a held-out slice (15,060 rows built from another
seed): detection AUC on all columns and on Adult's own 15 (the derived columns are exact
functions of others, which the generator does not reproduce, so detection on all of them
stays near 1), SDMetrics Quality, category coverage and TSTR HistGB AUC. Answers "is the
default length enough for this table?". Rows are appended to
benchmarks/results/fidelity/wide_curve.jsonl; run it alone::

    python -m benchmarks.wide_curve --rows 199523 --steps 9600 --every 1600 --threads 2
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from benchmarks.adult_curve import every_steps, refined_sample
from benchmarks.isolated import append_row

RESULTS = Path(__file__).parent / "results" / "fidelity" / "wide_curve.jsonl"
TEST_ROWS = 15_060


def score(test: Any, synth: Any, discrete: list[str], base: list[str], seed: int) -> dict[str, Any]:
    """The module docstring's figures of ``synth`` against the held-out ``test`` rows."""
    from fairsynth.evaluation import category_coverage, detection_auc, quality_scores, tstr_scores

    numerical = [c for c in test.columns if c not in discrete]

    def detection(columns: list[str]) -> float:
        picked = [c for c in discrete if c in columns], [c for c in numerical if c in columns]
        auc = detection_auc(test[columns], synth[columns], *picked, random_state=seed)[0]
        return round(float(auc), 4)

    tstr = tstr_scores(synth, test, "income", ">50K", "sex")
    coverage = category_coverage(test, synth, discrete)["coverage"].mean()
    return {
        "Detection_AUC_Test": detection(list(test.columns)),
        "Detection_AUC_Test_Adult_Columns": detection(base),
        "Quality_Test": round(float(quality_scores(test, synth, numerical)[0]["Quality"]), 4),
        "Coverage_Test": round(float(coverage), 4),
        "HistGB_AUC": round(float(tstr.loc["HistGB", "auc"]), 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=199_523)
    parser.add_argument("--steps", type=int, default=9_600)
    parser.add_argument("--every", type=int, default=1_600)
    parser.add_argument("--sample", type=int, default=30_000, help="rows drawn at each point")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=RESULTS, help="JSON-lines file to append to")
    args = parser.parse_args()

    from benchmarks.widetable import wide_table
    from fairsynth import PTGANSynthesizer, load_dataset

    train = wide_table(args.rows, random_state=args.seed)
    test = wide_table(TEST_ROWS, random_state=args.seed + 1000)
    discrete = [c for c in train.columns if train[c].dtype == object]
    base = list(load_dataset("adult").train.columns)
    steps_per_epoch = args.rows // 500  # PTGAN's default batch

    def point(model: Any, steps: int, record: dict[str, Any]) -> None:
        synth, seconds = refined_sample(model, train, args.sample, args.seed)
        append_row(args.out, {
            "rows": args.rows, "seed": args.seed, "threads": args.threads,
            "step": steps, "train_s": round(float(record["time"]), 1),
            "refine_and_sample_s": round(seconds, 1), "sampled": args.sample,
            **score(test, synth, discrete, base, args.seed),
            "time": time.strftime("%Y-%m-%d %H:%M"),
        })  # fmt: skip
        print(steps, "scored", flush=True)

    epochs = -(-args.steps // steps_per_epoch)
    PTGANSynthesizer(
        epochs=epochs, random_state=args.seed, n_threads=args.threads, verbose=False,
        fit_check=False, callbacks=[every_steps(args.every, point)],
    ).fit(train)  # fmt: skip


if __name__ == "__main__":
    main()
