"""Scale: stream 10,000,000 synthetic rows to CSV and Parquet, and fit on 300,000 rows.

Each measurement runs in its own process, so its peak resident memory (``ru_maxrss``, which,
unlike tracemalloc, counts torch's buffers) is that run's alone:

``model``
    Fit PTGAN with its default networks on Adult for one epoch (throughput, not quality, is
    measured here) and save it; also the baseline: the same process imports everything and
    samples 1,000 rows.
``sample-csv``, ``sample-parquet``
    ``fairsynth sample MODEL -n 10000000 -o out.csv`` (and ``.parquet``) through the console
    entry point, in chunks of 20,000 rows (the CLI default); the output's rows are counted
    and the file is deleted afterwards.
``fit-300k``
    PTGAN with its defaults on 300,000 rows (Adult's training rows drawn with replacement),
    for ``--epochs`` epochs, with a checkpoint every epoch; reports the time of the transform
    and of each epoch, the checkpoint's size and write time.

Results are appended as JSON lines to benchmarks/results/scale.jsonl and printed. Usage::

    python -m benchmarks.scale --threads 1          # everything: 13 minutes on 2 busy cores
    python -m benchmarks.scale --only fit-300k --epochs 2 --threads 2

docs/scale.md's streams come from ``--only model sample-csv sample-parquet --rows 1000000
--threads 2``, its 300k fit from the first command.
"""

from __future__ import annotations

import argparse
import itertools
import json
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.isolated import append_row

RESULTS = Path(__file__).parent / "results" / "scale.jsonl"
STEPS = ("model", "sample-csv", "sample-parquet", "fit-300k")


def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # kB on Linux


def common(threads: int) -> dict[str, Any]:
    import torch

    torch.set_num_threads(threads)
    return {
        "torch_threads": threads,
        "device": "cpu",
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
        "python": platform.python_version(),
        "torch": torch.__version__,
    }


def step_model(work: Path, threads: int, **_: Any) -> dict[str, Any]:
    from fairsynth import PTGANSynthesizer, load_dataset

    info = common(threads)
    train = load_dataset("adult").train
    started = time.perf_counter()
    model = PTGANSynthesizer(epochs=1, random_state=0, verbose=False).fit(train)
    fit_seconds = time.perf_counter() - started
    model.save(work / "adult.fairsynth")
    model.sample(1_000, random_state=0)
    return {
        **info,
        "Train_Rows": len(train),
        "Train_Time": round(fit_seconds, 1),
        "Output_Width": model.transformer_.output_dim_,
        "Peak_Memory_MB": peak_rss_mb(),
        "note": "fit 1 epoch + sample 1,000 rows: the baseline of a process that samples",
    }


def step_sample(work: Path, threads: int, suffix: str, rows: int, **_: Any) -> dict[str, Any]:
    from fairsynth.cli import main as cli_main

    info = common(threads)
    out = work / f"out{suffix}"
    argv = ["fairsynth", "sample", str(work / "adult.fairsynth"), "-n", str(rows), "-o", str(out)]
    sys.argv = [*argv, "--seed", "0"]
    started = time.perf_counter()
    try:
        cli_main()
    except SystemExit as exc:
        if exc.code not in (0, None):
            raise
    seconds = time.perf_counter() - started
    peak = peak_rss_mb()
    size = out.stat().st_size
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        written = pq.ParquetFile(out).metadata.num_rows
    else:
        with out.open("rb") as handle:
            written = sum(1 for _ in handle) - 1  # minus the header
    out.unlink()
    return {
        **info,
        "command": " ".join(argv[1:]).replace(str(work), "$WORK"),
        "Rows": written,
        "Sample_Time": round(seconds, 1),
        "Sample_Rows_Per_s": round(written / seconds),
        "File_MB": round(size / 2**20),
        "Peak_Memory_MB": peak,
    }


def step_fit_300k(work: Path, threads: int, epochs: int, **_: Any) -> dict[str, Any]:
    from fairsynth import PTGANSynthesizer, load_dataset
    from fairsynth.models.checkpoint import Checkpoint

    info = common(threads)
    train = load_dataset("adult").train.sample(300_000, replace=True, random_state=0)
    train = train.reset_index(drop=True)
    checkpoint = Checkpoint(work / "checkpoints", every_epochs=1)
    model = PTGANSynthesizer(epochs=epochs, random_state=0, verbose=False, callbacks=[checkpoint])
    model.fit(train)
    times = [record["time"] for record in model.history_]
    epoch_seconds = [round(b - a, 1) for a, b in itertools.pairwise(times)]
    started = time.perf_counter()
    checkpoint.write(model)
    write_seconds = time.perf_counter() - started
    return {
        **info,
        "Train_Rows": len(train),
        "Epochs": len(model.history_),
        "Steps_Per_Epoch": model.history_[0]["steps"],
        "Train_Time": round(model.fit_time_, 1),
        "Transform_And_First_Epoch_Time": round(model.history_[0]["time"], 1),
        "Later_Epoch_Times": epoch_seconds,
        "Checkpoint_MB": round(checkpoint.path.stat().st_size / 2**20, 1),  # type: ignore[union-attr]
        "Checkpoint_Write_Time": round(write_seconds, 2),
        "Peak_Memory_MB": peak_rss_mb(),
    }


def run_child(step: str, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    command = [sys.executable, "-m", "benchmarks.scale", "--child", step, "--work", str(work)]
    command += ["--threads", str(args.threads), "--epochs", str(args.epochs)]
    command += ["--rows", str(args.rows)]
    out = subprocess.run(command, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"{step} failed:\n{out.stderr[-3000:]}")
    return {"step": step, **json.loads(out.stdout.strip().splitlines()[-1])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", choices=STEPS, default=list(STEPS))
    parser.add_argument("--rows", type=int, default=10_000_000, help="rows to stream")
    parser.add_argument("--epochs", type=int, default=2, help="epochs of the 300k fit")
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    parser.add_argument("--work", type=Path, default=None, help="folder for the files")
    parser.add_argument("--child", choices=STEPS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        runners: dict[str, Callable[..., dict[str, Any]]] = {
            "model": step_model,
            "fit-300k": step_fit_300k,
        }
        suffix = {"sample-csv": ".csv", "sample-parquet": ".parquet"}.get(args.child, "")
        run = runners.get(args.child, step_sample)
        row = run(args.work, args.threads, suffix=suffix, rows=args.rows, epochs=args.epochs)
        print(json.dumps(row))
        return
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=args.work) as folder:
        work = Path(folder)
        steps = list(args.only)
        if any(s.startswith("sample") for s in steps) and "model" not in steps:
            steps.insert(0, "model")
        for step in steps:
            append_row(RESULTS, run_child(step, args, work))


if __name__ == "__main__":
    main()
