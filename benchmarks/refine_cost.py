"""What importance resampling costs: the fit's share and sampling speed with and without it.

Fits PTGAN on Adult at the defaults (one fit, ``--threads`` torch threads), then times: the
refiner alone (trained again on the same rows, as the end of ``fit`` trains it), and sampling
as many rows as the training table with ``refine`` 8 (the default), 4, 2 and 1, three times
each. ``--save PATH`` keeps the fitted model (benchmarks/draw_variants.py reads it);
``--model PATH`` times a saved model's sampling instead of fitting one (``fit_s`` is then the
saved fit's time), so that two versions of the sampling code can be compared on one model.
``--label`` names the row. Run it alone on the machine (docs/evaluation.md: timings are
ratios taken one job at a time).
Appends one JSON line to benchmarks/results/refine/cost.jsonl.

Usage::

    python -m benchmarks.refine_cost --seed 0 --threads 2 --save adult-s0.fairsynth
    python -m benchmarks.refine_cost --seed 0 --threads 2 --model adult-s0.fairsynth
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

from benchmarks.isolated import append_row

RESULTS = Path(__file__).parent / "results" / "refine" / "cost.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--save", help="write the fitted model here")
    parser.add_argument("--model", help="time this saved model's sampling; no fit")
    parser.add_argument("--label", help="a name for the row (the code version, say)")
    args = parser.parse_args()

    from fairsynth import PTGANSynthesizer, load_dataset
    from fairsynth.models.refine import fit_refiner

    ds = load_dataset("adult")
    if args.model:
        model = PTGANSynthesizer.load(args.model, n_threads=args.threads)
    else:
        model = PTGANSynthesizer(random_state=args.seed, n_threads=args.threads, verbose=False)
        model.fit(ds.train)
    if args.save:
        model.save(args.save)
    refiner = model.refiner_
    started = time.perf_counter()
    fit_refiner(model, ds.train, args.seed)
    refiner_seconds = time.perf_counter() - started
    model.refiner_ = refiner
    rates: dict[str, list[float]] = {}
    for k in (8, 4, 2, 1):
        model.set_params(refine=k)
        for repeat in range(3):
            started = time.perf_counter()
            model.sample(len(ds.train), random_state=repeat)
            rates.setdefault(f"rows_per_s_refine_{k}", []).append(
                round(len(ds.train) / (time.perf_counter() - started))
            )
    append_row(RESULTS, {
        **({"label": args.label} if args.label else {}),
        **({"model": Path(args.model).name} if args.model else {}),
        "seed": args.seed,
        "threads": args.threads,
        "fit_s": round(model.fit_time_, 1),
        "refiner_s": round(refiner_seconds, 1),
        **rates,
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
    })  # fmt: skip


if __name__ == "__main__":
    main()
