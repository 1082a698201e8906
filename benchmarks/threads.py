"""The thread policy under load: a fit alone, beside a second fit, and beside a busy loop.

Each case fits PTGAN on Adult for ``--epochs`` epochs (600 steps at 10) in processes of their
own, started together, and prints their fit seconds as JSON lines. ``--threads`` is the
setting of the fits ('auto' or a number: 2 is torch's default on a 2-core machine, the
setting before the policy). Run it alone on the machine: anything else running skews it.

Usage::

    python -m benchmarks.threads --threads auto 2 --epochs 10
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

_FIT = """
import sys
from fairsynth import PTGANSynthesizer, load_dataset
threads = sys.argv[1] if sys.argv[1] == "auto" else int(sys.argv[1])
model = PTGANSynthesizer(epochs=int(sys.argv[2]), n_threads=threads, fit_check=False,
                         verbose=False, random_state=0).fit(load_dataset("adult").train)
print(round(model.fit_time_, 1), model.n_threads_)
"""
_BUSY = "while True:\n    pass\n"


def _case(name: str, threads: str, epochs: int, fits: int, busy: bool) -> dict[str, object]:
    loop = subprocess.Popen([sys.executable, "-c", _BUSY]) if busy else None
    try:
        started = time.perf_counter()
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", _FIT, threads, str(epochs)],
                stdout=subprocess.PIPE,
                text=True,
            )
            for _ in range(fits)
        ]
        outputs = [p.communicate()[0].split() for p in procs]
        wall = time.perf_counter() - started
    finally:
        if loop is not None:
            loop.kill()
    return {
        "case": name,
        "threads": threads,
        "torch_threads_used": int(outputs[0][1]),
        "fit_s": [float(o[0]) for o in outputs],
        "wall_s": round(wall, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", nargs="+", default=["auto", "2"])
    parser.add_argument("--epochs", type=int, default=10)
    args = parser.parse_args()
    for threads in args.threads:
        for name, fits, busy in (("alone", 1, False), ("beside a second fit", 2, False),
                                 ("beside a busy loop", 1, True)):  # fmt: skip
            print(json.dumps(_case(name, threads, args.epochs, fits, busy)), flush=True)


if __name__ == "__main__":
    main()
