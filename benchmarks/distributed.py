"""Data-parallel PTGAN on Adult: one process against two at the same global batch and steps.

Each fit is the ``fairsynth fit`` command on Adult's training rows (Parquet, so dtypes are
kept), PTGAN's defaults, ``--epochs`` (60 steps an epoch at the batch of 500) and ``--seed``;
two processes are started by torchrun with ``--distributed``. The fits run one after another.
Each row: the command's wall time (start-up, transform, training, the refiner, saving), the
training's milliseconds a step after the first epoch, the machine's 1-minute load when the fit
started, the largest difference of a weight from the first configuration's (run first), and the
detection AUC of as many sampled rows as training rows by the evaluation protocol (HistGB,
3-fold, 5,000 rows of each). Rows go to ``benchmarks/results/distributed.jsonl``.

    python -m benchmarks.distributed --epochs 10 --seed 0 [--configs 1x1 1x2 2x1]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.isolated import append_row

RESULTS = Path(__file__).parent / "results" / "distributed.jsonl"
# PROCESSESxTHREADS: one process on one and on two threads, then two processes of one thread
# each (what --distributed gives on this 2-core machine)
CONFIGS = ["1x1", "1x2", "2x1"]


def _command(table: Path, model: Path, args: argparse.Namespace, processes: int, threads: int):
    fit = ["fit", str(table), "-o", str(model), "--epochs", str(args.epochs),
           "--seed", str(args.seed), "--threads", str(threads), "-q"]  # fmt: skip
    if processes == 1:
        return [sys.executable, "-m", "fairsynth", *fit]
    launch = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    return [*launch, "--nproc-per-node", str(processes), "-m", "fairsynth", *fit, "--distributed"]


def _largest_difference(first: Any, second: Any) -> float:
    worst = 0.0
    for name, network in first._networks().items():
        other = second._networks()[name].state_dict()
        for key, value in network.state_dict().items():
            worst = max(worst, (value.double() - other[key].double()).abs().max().item())
    return worst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--configs", nargs="+", default=CONFIGS, help="PROCESSESxTHREADS, in order")
    args = parser.parse_args()

    from fairsynth import load_dataset
    from fairsynth.evaluation import detection_auc
    from fairsynth.models.base import BaseSynthesizer

    ds = load_dataset("adult")
    discrete = list(ds.discrete_columns)
    numerical = [c for c in ds.train.columns if c not in discrete]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    first: Any = None
    with tempfile.TemporaryDirectory() as folder:
        table = Path(folder) / "adult.parquet"
        ds.train.to_parquet(table, index=False)
        for config in args.configs:
            processes, threads = (int(v) for v in config.split("x"))
            model_file = Path(folder) / f"{processes}x{threads}.fairsynth"
            load = os.getloadavg()[0]
            started = time.perf_counter()
            done = subprocess.run(
                _command(table, model_file, args, processes, threads),
                env=env, capture_output=True, text=True,
            )  # fmt: skip
            wall = time.perf_counter() - started
            if done.returncode != 0:
                sys.exit(done.stderr[-3000:])
            model = BaseSynthesizer.load(model_file, n_threads=2)
            history = model.history_
            later = sum(int(r["steps"]) for r in history[1:])
            step_ms = 1000 * (history[-1]["time"] - history[0]["time"]) / max(1, later)
            synthetic = model.sample(len(ds.train), random_state=args.seed)
            auc = detection_auc(ds.train, synthetic, discrete, numerical, random_state=args.seed)
            first = first or model
            append_row(RESULTS, {
                "processes": processes, "threads": threads, "epochs": args.epochs,
                "seed": args.seed, "steps": sum(int(r["steps"]) for r in history),
                "wall_s": round(wall, 1), "fit_s": round(model.fit_time_, 1),
                "step_ms": round(step_ms, 1), "load_1min": round(load, 2),
                "max_weight_difference": _largest_difference(first, model),
                "detection_auc": round(float(auc[0]), 4),
            })  # fmt: skip


if __name__ == "__main__":
    main()
