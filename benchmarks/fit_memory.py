"""Where a fit's memory goes: the peak resident memory of each phase of ``PTGANSynthesizer.fit``.

Reads a CSV (the wide table of benchmarks/widetable.py, say), fits PTGAN at its defaults but
``--epochs`` (the peak does not depend on the number of steps: 1 epoch is enough) and prints
the largest resident memory (RSS, sampled every 20 ms) seen in each phase: reading the table,
fitting the transform, encoding the training rows and the conditioning (``prepare``), training,
the refiner (its rows drawn, then its classifier), the end-of-fit check and saving the model.
``--threads`` torch threads (1); run it alone. The headline figure of docs/scale.md is the
whole CLI fit's instead (``/usr/bin/time -v fairsynth fit ...``: its maximum resident set
size)::

    python -m benchmarks.widetable /tmp/wide --rows 199523
    python -m benchmarks.fit_memory /tmp/wide/train.csv --epochs 1
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    import psutil

    import fairsynth.models.base as base
    import fairsynth.models.refine as refine
    import fairsynth.transform.table as table
    from fairsynth import PTGANSynthesizer
    from fairsynth.io import read_table

    process = psutil.Process()
    phase, peaks, done = ["start"], {}, threading.Event()

    def watch() -> None:
        while not done.is_set():
            rss = process.memory_info().rss / 2**20
            peaks[phase[0]] = max(peaks.get(phase[0], 0.0), rss)
            time.sleep(0.02)

    def during(owner: Any, name: str, label: str, after: str) -> None:
        """Label the time inside ``owner.name`` ``label`` and the time after it ``after``."""
        inner: Callable[..., Any] = getattr(owner, name)

        def wrapped(*a: Any, **k: Any) -> Any:
            phase[0] = label
            try:
                return inner(*a, **k)
            finally:
                phase[0] = after

        setattr(owner, name, wrapped)

    during(table.TableTransformer, "fit", "transform fit", "prepare (encode, conditions)")
    during(base.BaseSynthesizer, "_run_epochs", "train", "after training")
    during(refine, "fit_refiner", "refiner: its rows", "after the refiner")
    during(refine.Refiner, "fit", "refiner: classifier", "refiner: its rows")
    during(base.BaseSynthesizer, "_check_fit", "end-of-fit check", "end")
    threading.Thread(target=watch, daemon=True).start()
    phase[0] = "read the table"
    data = read_table(args.csv)  # as the CLI reads it
    phase[0] = "before fit"
    model = PTGANSynthesizer(
        epochs=args.epochs,
        n_threads=args.threads,
        random_state=args.seed,
        verbose=False,
        fit_check=True,
    )  # the check as a fit of minutes makes it, however short this one
    model.fit(data)
    phase[0] = "save"
    with tempfile.TemporaryDirectory() as folder:
        model.save(Path(folder) / "model.fairsynth")
    time.sleep(0.1)
    done.set()
    print(f"{len(data)} rows x {data.shape[1]} columns, {args.epochs} epoch(s)")
    for label, peak in peaks.items():
        print(f"{peak:8.0f} MB  {label}")
    print(f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:8.0f} MB  process peak")


if __name__ == "__main__":
    main()
