"""What a user of the fair variant waits for, beside TabFairGDT: one fit, then each λ.

Fits ``FairPTGANSynthesizer`` on Adult (sensitive ``sex``, outcome ``income``, its defaults,
``--threads`` torch threads) once and times it, then times a sample of as many rows as the
training table at each λ of ``--lambdas`` (the knob needs no refit). TabFairGDT (pip
``tabfairgdt``, benchmarks/peers/tabfairgdt.py) refits for each of its λ: each fit and each
sample of as many rows is timed too. Appends one JSON line to
benchmarks/results/fair-speed.jsonl. Run it alone on the machine, one job at a time::

    python -m benchmarks.fair_speed --seed 0 --threads 2
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

from benchmarks.isolated import append_row

RESULTS = Path(__file__).parent / "results" / "fair-speed.jsonl"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2, help="torch threads for the fit")
    parser.add_argument("--lambdas", type=float, nargs="+", default=[0.0, 1.0, 1.6, 2.0])
    args = parser.parse_args(argv)

    from benchmarks.peers import tabfairgdt
    from fairsynth import FairPTGANSynthesizer, load_dataset

    ds = load_dataset("adult")
    n = len(ds.train)
    row: dict[str, object] = {"seed": args.seed, "threads": args.threads, "rows": n}
    started = time.perf_counter()
    model = FairPTGANSynthesizer(
        sensitive="sex", target="income", positive_label=">50K",
        discrete_columns=ds.discrete_columns, random_state=args.seed, n_threads=args.threads,
    ).fit(ds.train)  # fmt: skip
    row["fair_fit_s"] = round(time.perf_counter() - started, 1)
    samples = {}
    for lam in args.lambdas:
        started = time.perf_counter()
        model.sample(n, fairness=lam, by="sex", random_state=args.seed)
        samples[str(lam)] = round(time.perf_counter() - started, 2)
    row["fair_sample_s"] = samples
    if tabfairgdt.available():
        fits, draws = {}, {}
        for lam in tabfairgdt.LAMBDAS:
            peer = tabfairgdt.TabFairGDTPeer(
                target="income", protected="sex", discrete_columns=ds.discrete_columns,
                fairness=lam, random_state=args.seed,
            ).fit(ds.train)  # fmt: skip
            fits[str(lam)] = round(peer.fit_time_, 2)
            started = time.perf_counter()
            peer.sample(n, random_state=args.seed)
            draws[str(lam)] = round(time.perf_counter() - started, 2)
        row["tabfairgdt_fit_s"], row["tabfairgdt_sample_s"] = fits, draws
    else:
        row["tabfairgdt"] = f"not installed: {tabfairgdt.HINT}"
    row["machine"] = f"{platform.machine()}, {platform.python_version()}"
    row["time"] = time.strftime("%Y-%m-%d %H:%M")
    append_row(RESULTS, row)


if __name__ == "__main__":
    main()
