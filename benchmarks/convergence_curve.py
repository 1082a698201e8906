"""A fit's convergence signal beside the protocol's figures, every N steps, on a bundled table.

One PTGAN fit per call at the defaults, run to ``--steps``. Every ``--check-every`` steps the
in-training signal of :class:`fairsynth.EarlyStopping` is recorded (the end-of-fit check's
detection AUC of the generator's own rows against ``--check-rows`` training rows; here it
never stops the fit) with its cost; every ``--refined-every`` steps the sample a fit of that
length would draw (a refiner trained then, the default draw, as many rows as the training
split) is scored by the protocol: detection AUC against the training rows, Quality, category
coverage and TSTR HistGB / LogReg AUC on the test split. Rows are appended to
``benchmarks/results/convergence.jsonl`` (``kind`` "signal" or "refined"), so stopping rules
can be compared offline on the same fits.

Usage::

    python -m benchmarks.convergence_curve --dataset adult --steps 9000 --seed 0
    python -m benchmarks.convergence_curve --dataset german --steps 9000 --threads 1
    python -m benchmarks.convergence_curve --rows 5000 --steps 6000 --check-every 750 \
        --refined-every 750 --refined-from 4500 --threads 2   # 5,000 of Adult's rows

``--rows N`` fits on N training rows drawn with the seed (``DataFrame.sample``, as a user's
smaller table); detection and the refiner use those rows, TSTR the whole test split.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from benchmarks.adult_curve import every_steps, refined_sample
from benchmarks.isolated import append_row

RESULTS = Path(__file__).parent / "results" / "convergence.jsonl"


def protocol_scores(ds: Any, synth: Any, seed: int) -> dict[str, float]:
    """Detection AUC (training rows), Quality, coverage and TSTR AUC of ``synth``."""
    from fairsynth.evaluation import category_coverage, detection_auc, quality_scores, tstr_scores

    discrete = list(ds.discrete_columns)
    numerical = [c for c in ds.train.columns if c not in discrete]
    quality = quality_scores(ds.train, synth, numerical)[0]["Quality"]
    detection = detection_auc(ds.train, synth, discrete, numerical, random_state=seed)[0]
    coverage = category_coverage(ds.train, synth, discrete)["coverage"].mean()
    scores = tstr_scores(synth, ds.test, ds.target, ds.positive_label, ds.sensitive[0])
    return {
        "Detection_AUC": round(float(detection), 4),
        "Quality": round(float(quality), 4),
        "Coverage": round(float(coverage), 4),
        "HistGB_AUC": round(float(scores.loc["HistGB", "auc"]), 4),
        "LogReg_AUC": round(float(scores.loc["LogReg", "auc"]), 4),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="adult")
    parser.add_argument("--steps", type=int, default=9_000)
    parser.add_argument("--check-every", type=int, default=500)
    parser.add_argument("--check-rows", type=int, default=2_500)
    parser.add_argument("--refined-every", type=int, default=1_500)
    parser.add_argument("--refined-from", type=int, default=0, help="first step scored")
    parser.add_argument("--rows", type=int, default=None, help="training rows drawn [all]")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    from fairsynth import EarlyStopping, PTGANSynthesizer, load_dataset

    ds = load_dataset(args.dataset)
    if args.rows is not None and args.rows < len(ds.train):
        ds = replace(ds, train=ds.train.sample(args.rows, random_state=args.seed))
    model = PTGANSynthesizer(random_state=args.seed, verbose=False, n_threads=args.threads)
    steps_per_epoch = max(1, len(ds.train) // model.batch_size)
    key = {"dataset": args.dataset, "seed": args.seed, "threads": args.threads}
    key |= {} if args.rows is None else {"rows": len(ds.train)}

    def refined(model: Any, steps: int, record: dict[str, Any]) -> None:
        if steps < args.refined_from:
            return
        synth, seconds = refined_sample(model, ds.train, len(ds.train), args.seed)
        row = {"kind": "refined", **key, "step": steps, "train_s": round(record["time"], 1)}
        row |= {"refine_and_sample_s": round(seconds, 1), **protocol_scores(ds, synth, args.seed)}
        append_row(args.out, row | {"time": time.strftime("%Y-%m-%d %H:%M")})

    never = 10**9  # record only
    signal = EarlyStopping(args.check_every, patience=never, rows=args.check_rows, min_steps=never)
    callbacks = [signal, every_steps(args.refined_every, refined)]
    model.set_params(epochs=-(-args.steps // steps_per_epoch), callbacks=callbacks)
    model.fit(ds.train)
    for check in signal.scores_:
        append_row(args.out, {"kind": "signal", **key, **check})
    print(json.dumps(signal.scores_))


if __name__ == "__main__":
    main()
