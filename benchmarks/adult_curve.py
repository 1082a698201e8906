"""PTGAN on Adult against training steps: detection AUC, TSTR AUC, Quality, label gap every N steps.

One fit per call; every ``--every`` generator steps the model samples as many rows as the
training table (``random_state=0``) and is scored on the real test table (TSTR LogReg and
HistGB AUC, label gap by sex), by the end-of-fit check's detection AUC (5,000 rows of each,
:func:`fairsynth.models.fitcheck.check_rows`) and, every second time, by SDMetrics Quality
against the real training table. Answers "would more steps, another learning rate or weight
averaging help?" without one fit per budget. The model samples from its averaged generator
(``ema_decay``, 0.999 by default); ``--params '{"ema_decay": null}'`` samples from the trained
weights. Each row records the decay as ``ema``. With ``--refined`` each point is scored as
the model would sample it at the end of a fit of that length: a refiner is trained on the
averaged generator's rows, the sample is drawn with the default importance resampling, and it
is scored like ``benchmarks.fidelity`` (the protocol's detection AUC, Quality, TSTR, ...). Rows
are appended as JSON lines to
``benchmarks/results/adult_curve.jsonl``. (Its rows with ``ema`` 0.999 and no ``params`` key
``ema_decay`` from before 2026-11-23 20:00 were made with an earlier form of this script that
averaged with torch's ``AveragedModel``: an EMA from the initial weights, without the warm-up
mean of :class:`fairsynth.nn.nets.WeightAverage`; rows with ``ema`` None sampled the trained
weights.)

Usage::

    python -m benchmarks.adult_curve --steps 12000 --every 1500
    python -m benchmarks.adult_curve --steps 12000 --params '{"learning_rate": 2e-4}'
    python -m benchmarks.adult_curve --steps 12000 --params '{"ema_decay": null}'
    python -m benchmarks.adult_curve --steps 9000 --every 1500 --refined --seed 1
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.isolated import append_row

RESULTS = Path(__file__).parent / "results" / "adult_curve.jsonl"
STEPS_PER_EPOCH = 60  # Adult's 30,162 rows at batch 500


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=12_000)
    parser.add_argument("--every", type=int, default=1_500)
    parser.add_argument("--params", default="{}", help="JSON of PTGANSynthesizer parameters")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=RESULTS, help="JSON-lines file to append to")
    parser.add_argument(
        "--refined",
        action="store_true",
        help="score the refined default draw at each point (benchmarks.fidelity)",
    )
    args = parser.parse_args()

    import torch

    from fairsynth import PTGANSynthesizer, load_dataset
    from fairsynth.evaluation import label_gap, quality_scores, tstr_scores
    from fairsynth.models.fitcheck import check_rows

    torch.set_num_threads(args.threads)  # a benchmark process of its own
    ds = load_dataset("adult")
    numerical = [c for c in ds.train.columns if c not in ds.discrete_columns]
    params = {**json.loads(args.params), "epochs": -(-args.steps // STEPS_PER_EPOCH)}
    args.out.parent.mkdir(parents=True, exist_ok=True)

    def point(model: Any, steps: int, record: dict[str, Any]) -> None:
        if args.refined:
            append_row(args.out, refined_point(model, ds, args, steps, record))
            return
        synth = model.sample(len(ds.train), random_state=0)
        scores = tstr_scores(synth, ds.test, ds.target, ds.positive_label, "sex")
        second = steps % (2 * args.every) < STEPS_PER_EPOCH
        quality = quality_scores(ds.train, synth, numerical)[0]["Quality"] if second else None
        positive = (synth[ds.target] == ds.positive_label).to_numpy()
        check = check_rows(ds.train, synth.head(5_000), ds.discrete_columns)
        row = {
            "params": json.loads(args.params), "ema": model.ema_decay, "seed": args.seed,
            "threads": args.threads, "step": steps,
            "train_s": round(float(record["time"]), 1),
            "Detection_AUC": check["detection_auc"],
            "HistGB_AUC": round(float(scores.loc["HistGB", "auc"]), 4),
            "LogReg_AUC": round(float(scores.loc["LogReg", "auc"]), 4),
            "Quality": None if quality is None else round(float(quality), 4),
            "Label_Gap_sex": round(label_gap(positive, synth["sex"]), 4),
            "time": time.strftime("%Y-%m-%d %H:%M"),
        }  # fmt: skip
        append_row(args.out, row)

    curve = every_steps(args.every, point)
    PTGANSynthesizer(random_state=args.seed, verbose=False, callbacks=[curve], **params).fit(
        ds.train
    )


def every_steps(every: int, point: Callable[[Any, int, dict[str, Any]], None]) -> Any:
    """A callback that calls ``point(model, steps, record)`` at the end of each epoch that
    takes the fit past a multiple of ``every`` steps."""
    from fairsynth.models.callbacks import Callback

    class EverySteps(Callback):
        steps = 0

        def on_epoch_end(self, model: Any, record: dict[str, Any]) -> bool:
            before, self.steps = self.steps, self.steps + int(record["steps"])
            if self.steps // every != before // every:
                point(model, self.steps, record)
            return False

    return EverySteps()


def refined_point(model: Any, ds: Any, args: Any, steps: int, record: dict[str, Any]) -> Any:
    """The figures of the sample a fit of ``steps`` steps would draw (refiner trained now)."""
    from benchmarks.fidelity import score_rows

    synth, seconds = refined_sample(model, ds.train, len(ds.train), args.seed)
    return {
        "params": json.loads(args.params), "refined": True, "seed": args.seed,
        "threads": args.threads, "step": steps, "train_s": round(float(record["time"]), 1),
        "refine_and_sample_s": round(seconds, 1), **score_rows(ds, synth, args.seed),
        "time": time.strftime("%Y-%m-%d %H:%M"),
    }  # fmt: skip


def refined_sample(model: Any, train: Any, n_rows: int, seed: int) -> tuple[Any, float]:
    """``n_rows`` rows drawn as a fit that ended now would draw them (a refiner trained on
    ``train`` now, then dropped: training goes on), and the seconds that took."""
    from fairsynth.models.refine import fit_refiner

    started = time.perf_counter()
    model.refiner_ = fit_refiner(model, train, seed)
    synth = model.sample(n_rows, random_state=seed)
    model.refiner_ = None
    return synth, time.perf_counter() - started


if __name__ == "__main__":
    main()
