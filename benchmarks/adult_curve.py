"""PTGAN on Adult against training steps: TSTR AUC, Quality and label gap every N steps.

One fit per call; every ``--every`` generator steps the model samples as many rows as the
training table (``random_state=0``) and is scored on the real test table (TSTR LogReg and
HistGB AUC, label gap by sex) and, every second time, by SDMetrics Quality against the real
training table. Answers "would more steps, another learning rate or weight averaging help?"
without one fit per budget. ``--ema`` samples from an exponential moving average of the
generator's weights (Polyak averaging, a benchmark-only subclass; not a library option).
Rows are appended as JSON lines to ``benchmarks/results/adult_curve.jsonl``.

Usage::

    python -m benchmarks.adult_curve --steps 12000 --every 1500
    python -m benchmarks.adult_curve --steps 12000 --params '{"learning_rate": 2e-4}'
    python -m benchmarks.adult_curve --steps 7500 --ema 0.999
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results" / "adult_curve.jsonl"
STEPS_PER_EPOCH = 60  # Adult's 30,162 rows at batch 500


def _model(params: dict[str, Any], ema: float | None, seed: int, callback: Any) -> Any:
    import torch
    from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

    from fairsynth import PTGANSynthesizer

    class AveragedPTGAN(PTGANSynthesizer):
        """Samples from an EMA of the generator's weights (buffers averaged too)."""

        def _build(self, data: torch.Tensor) -> None:
            super()._build(data)
            self._ema = AveragedModel(
                self.generator_, multi_avg_fn=get_ema_multi_avg_fn(ema), use_buffers=True
            )

        def _generator_step(self) -> dict[str, torch.Tensor]:
            record = super()._generator_step()
            self._ema.update_parameters(self.generator_)
            return record

        def _generate(self, n_rows: int, generator: torch.Generator) -> torch.Tensor:
            shape = (n_rows, self.noise_dim)
            noise = torch.randn(shape, generator=generator, device=self.device_)
            net = self._ema.module.eval()
            return net(noise, torch.zeros((n_rows, 1), device=self.device_))

    cls = PTGANSynthesizer if ema is None else AveragedPTGAN
    return cls(random_state=seed, verbose=False, callbacks=[callback], **params)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=12_000)
    parser.add_argument("--every", type=int, default=1_500)
    parser.add_argument("--params", default="{}", help="JSON of PTGANSynthesizer parameters")
    parser.add_argument("--ema", type=float, default=None, help="EMA decay, e.g. 0.999")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=RESULTS, help="JSON-lines file to append to")
    args = parser.parse_args()

    import torch

    from fairsynth import load_dataset
    from fairsynth.callbacks import Callback
    from fairsynth.evaluation import label_gap, quality_scores, tstr_scores

    torch.set_num_threads(args.threads)  # a benchmark process of its own
    ds = load_dataset("adult")
    numerical = [c for c in ds.train.columns if c not in ds.discrete_columns]
    params = {**json.loads(args.params), "epochs": -(-args.steps // STEPS_PER_EPOCH)}
    args.out.parent.mkdir(parents=True, exist_ok=True)

    class Curve(Callback):
        steps = 0

        def on_epoch_end(self, model: Any, record: dict[str, Any]) -> bool:
            before, self.steps = self.steps, self.steps + int(record["steps"])
            if self.steps // args.every == before // args.every:
                return False
            synth = model.sample(len(ds.train), random_state=0)
            scores = tstr_scores(synth, ds.test, ds.target, ds.positive_label, "sex")
            second = self.steps % (2 * args.every) < STEPS_PER_EPOCH
            quality = quality_scores(ds.train, synth, numerical)[0]["Quality"] if second else None
            positive = (synth[ds.target] == ds.positive_label).to_numpy()
            row = {
                "params": json.loads(args.params), "ema": args.ema, "seed": args.seed,
                "threads": args.threads, "step": self.steps,
                "train_s": round(float(record["time"]), 1),
                "HistGB_AUC": round(float(scores.loc["HistGB", "auc"]), 4),
                "LogReg_AUC": round(float(scores.loc["LogReg", "auc"]), 4),
                "Quality": None if quality is None else round(float(quality), 4),
                "Label_Gap_sex": round(label_gap(positive, synth["sex"]), 4),
                "time": time.strftime("%Y-%m-%d %H:%M"),
            }  # fmt: skip
            with args.out.open("a") as handle:
                handle.write(json.dumps(row) + "\n")
            print(json.dumps(row), flush=True)
            return False

    _model(params, args.ema, args.seed, Curve()).fit(ds.train)


if __name__ == "__main__":
    main()
