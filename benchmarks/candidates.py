"""Candidates per sampled row against what the rows score: one saved model, several ``refine``.

Loads a PTGAN model of Adult (fitted at the defaults; ``benchmarks.refine_cost --save`` writes
one), samples as many rows as the training table with each number of candidates and each
sample seed, and scores the rows as ``benchmarks.fidelity`` does (detection AUC, Quality,
TSTR...). Appends one JSON line per (candidates, seed) to
benchmarks/results/refine/candidates.jsonl, with the sampling rate (run it alone to time it).

Usage::

    python -m benchmarks.candidates adult-s0.fairsynth --candidates 8 16 32 --seeds 0 1
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from benchmarks.isolated import append_row

RESULTS = Path(__file__).parent / "results" / "refine" / "candidates.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", help="a model file of Adult at the defaults")
    parser.add_argument("--candidates", type=int, nargs="+", default=[8, 16, 32])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    from benchmarks.fidelity import score_rows
    from fairsynth import PTGANSynthesizer, load_dataset

    ds = load_dataset("adult")
    model = PTGANSynthesizer.load(args.model, n_threads=args.threads)
    for k in args.candidates:
        model.set_params(refine=k)
        for seed in args.seeds:
            started = time.perf_counter()
            rows = model.sample(len(ds.train), random_state=seed)
            rate = round(len(rows) / (time.perf_counter() - started))
            append_row(RESULTS, {
                "model": Path(args.model).name, "candidates": k, "seed": seed,
                "threads": args.threads, "Sample_Rows_Per_s": rate,
                **score_rows(ds, rows, seed),
            })  # fmt: skip
            print(f"{k} candidates, seed {seed}: done", flush=True)


if __name__ == "__main__":
    main()
