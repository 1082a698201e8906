"""Rows per second of partitioned sampling on a local Dask cluster, with 1 and 2 workers.

Fits PTGAN one epoch on Adult (the model's size is what matters, not its quality), saves it,
then writes ``--rows`` rows in ``--partitions`` partitions to Parquet with each worker count,
checks that the rows are identical, and prints one JSON line per worker count.

Usage::

    python -m benchmarks.partitions --rows 1000000 --partitions 8
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--partitions", type=int, default=8)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--threads", default="auto", help="each worker's n_threads")
    args = parser.parse_args()

    import dask.dataframe as dd
    import distributed
    import pandas as pd

    from fairsynth import PTGANSynthesizer, load_dataset
    from fairsynth.models.partitions import partition_meta, sample_partition

    folder = Path(tempfile.mkdtemp(prefix="fairsynth-partitions-"))
    model = PTGANSynthesizer(epochs=1, verbose=False, random_state=0, n_threads=1)
    path = model.fit(load_dataset("adult").train).save(folder / "adult.fairsynth")
    threads = args.threads if args.threads == "auto" else int(args.threads)
    options = {"model": str(path), "n_rows": args.rows, "n_partitions": args.partitions,
               "n_threads": threads}  # fmt: skip
    written = []
    for workers in args.workers:
        cluster = distributed.LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
        )
        with cluster, distributed.Client(cluster):
            frame = dd.from_map(
                sample_partition, range(args.partitions), meta=partition_meta(path),
                seed=0, **options,
            )  # fmt: skip
            started = time.perf_counter()
            frame.to_parquet(folder / f"w{workers}")
            seconds = time.perf_counter() - started
        written.append(pd.read_parquet(folder / f"w{workers}"))
        row = {"workers": workers, "rows": args.rows, "partitions": args.partitions,
               "seconds": round(seconds, 1), "rows_per_s": round(args.rows / seconds)}  # fmt: skip
        print(json.dumps(row), flush=True)
    same = all(frame.equals(written[0]) for frame in written[1:])
    print(json.dumps({"identical_for_every_worker_count": same}))


if __name__ == "__main__":
    main()
