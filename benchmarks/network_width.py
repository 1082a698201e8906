"""What wider networks cost: PTGAN on Adult, 600 steps on 2 threads, defaults against (512, 512).

Fits each configuration for 10 epochs (600 steps at batch 500) with the end-of-fit check off,
then samples as many rows as the training split; prints the fit time, milliseconds per step and
rows sampled per second. The defaults run twice (first and last) to show the machine's drift.
Run it alone on the machine.

Usage::

    python -m benchmarks.network_width
"""

from __future__ import annotations

import json
import time
from typing import Any

CONFIGS: list[tuple[str, dict[str, Any]]] = [
    ("defaults", {}),
    ("wide (512, 512)", {"generator_dims": (512, 512), "critic_dims": (512, 512)}),
    ("defaults again", {}),
]


def main() -> None:
    from fairsynth import PTGANSynthesizer, load_dataset

    train = load_dataset("adult").train
    for name, params in CONFIGS:
        model = PTGANSynthesizer(
            epochs=10, random_state=0, verbose=False, n_threads=2, fit_check=False, **params
        ).fit(train)
        started = time.perf_counter()
        model.sample(len(train), random_state=0)
        seconds = time.perf_counter() - started
        steps = sum(int(record["steps"]) for record in model.history_)
        print(json.dumps({
            "config": name, "fit_s": round(model.fit_time_, 1),
            "ms_per_step": round(model.fit_time_ / steps * 1000, 1),
            "sample_rows_per_s": round(len(train) / seconds),
        }), flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
