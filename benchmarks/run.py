"""Run the benchmark grid: data sets × synthesizers × seeds, each run in its own process.

Each run fits one registered synthesizer (benchmarks/registry.py) on a bundled data set's
training split, samples as many rows, and scores them with ``fairsynth.evaluation.evaluate``
against the real training and test splits. The child process has a time budget (it is killed
when it runs over, and the failure is recorded) and reports fit time, sample time and the peak
resident memory of its own process. Results go to ``<out>/runs.jsonl`` (one record per run:
status, parameters, package versions, machine) and ``<out>/results.csv`` (one tidy row per
data set, synthesizer, seed and metric, with SDGym's column names). Finished runs are kept, so
an interrupted grid resumes where it stopped.

Usage::

    python -m benchmarks.run                                  # the full grid, 3 seeds
    python -m benchmarks.run --datasets german --synthesizers ptgan ctgan --seeds 0
    python -m benchmarks.run --params '{"ptgan": {"epochs": 5}}' --out /tmp/bench
    python -m benchmarks.summary                              # docs/benchmarks.md and plots
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd

from benchmarks.registry import DEFAULT_GRID, SYNTHESIZERS, missing_packages
from benchmarks.worker import METRIC_COLUMNS, machine_info, package_versions

__all__ = ["DATASETS", "METRIC_COLUMNS", "main", "run_grid", "tidy_results"]

DATASETS = ("adult", "compas", "german")
RESULTS = Path(__file__).parent / "results" / "grid"


# ------------------------------------------------------------------------------- parent
def _key(record: dict[str, Any]) -> tuple[str, str, int]:
    return record["Dataset"], record["Synthesizer"], int(record["Seed"])


def load_runs(out: Path) -> dict[tuple[str, str, int], dict[str, Any]]:
    """The latest record of each run in ``out/runs.jsonl`` (a torn last line is ignored)."""
    runs: dict[tuple[str, str, int], dict[str, Any]] = {}
    path = Path(out) / "runs.jsonl"
    if path.exists():
        for line in path.read_text().splitlines():
            with contextlib.suppress(json.JSONDecodeError, KeyError, TypeError):
                record = json.loads(line)
                runs[_key(record)] = record
    return runs


def tidy_results(runs: dict[tuple[str, str, int], dict[str, Any]]) -> pd.DataFrame:
    """One row per (dataset, synthesizer, seed, metric) of the finished runs."""
    rows = [
        (*key, metric, value, reference, section)
        for key, record in sorted(runs.items())
        if record["status"] == "ok"
        for metric, value, reference, section in record["metrics"]
    ]
    return pd.DataFrame(rows, columns=METRIC_COLUMNS)


def _append(out: Path, record: dict[str, Any]) -> None:
    with (out / "runs.jsonl").open("a") as handle:
        handle.write(json.dumps(record, allow_nan=True) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    table = tidy_results(load_runs(out))
    temporary = out / "results.csv.tmp"
    table.to_csv(temporary, index=False)
    temporary.replace(out / "results.csv")


def _git() -> str:
    root = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain"], cwd=root, capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        return "unknown"
    return f"{head}{'+dirty' if dirty else ''}" or "unknown"


def _kill(process: subprocess.Popen[bytes]) -> None:
    """Stop the child and everything it started (it leads its own process group)."""
    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 10)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(wait)
            return


def _launch(
    job: tuple[str, str, int],
    params: dict[str, Any],
    evaluation: dict[str, Any],
    timeout: float,
    threads: int,
    out: Path,
) -> dict[str, Any]:
    dataset, synthesizer, seed = job
    logs = out / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    stem = f"{dataset}-{synthesizer}-s{seed}"
    result, log = logs / f"{stem}.json", logs / f"{stem}.log"
    result.unlink(missing_ok=True)
    command = [sys.executable, "-m", "benchmarks.worker", "--dataset", dataset]
    command += ["--synthesizer", synthesizer, "--seed", str(seed), "--threads", str(threads)]
    command += ["--params", json.dumps(params), "--evaluate", json.dumps(evaluation)]
    command += ["--result", str(result)]
    root = Path(__file__).resolve().parent.parent
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")]),
    }
    started = time.perf_counter()
    with log.open("wb") as handle:
        process = subprocess.Popen(
            command, cwd=root, env=env, stdout=handle, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        try:
            code = process.wait(timeout)
            status = "ok" if code == 0 and result.exists() else "error"
        except subprocess.TimeoutExpired:
            _kill(process)
            status = "timeout"
        except BaseException:  # Ctrl-C in the parent: do not leave the child running
            _kill(process)
            raise
    record: dict[str, Any] = {"status": status, "wall_s": round(time.perf_counter() - started, 1)}
    if status == "ok":
        record.update(json.loads(result.read_text()))
        result.unlink()
    elif status == "timeout":
        record["error"] = f"killed after the time budget of {timeout:g} s"
    else:
        tail = log.read_text(errors="replace").strip().splitlines()[-15:]
        record["error"] = "\n".join(tail) or f"exit code {process.returncode}"
    record["log"] = str(log)
    return record


def _headline(record: dict[str, Any]) -> str:
    if record["status"] != "ok":
        return record["status"] + ": " + record.get("error", "").splitlines()[-1][:120]
    values = {m: v for m, v, _, _ in record["metrics"]}
    shown = [
        ("Quality", "Quality_Score"),
        ("detection AUC", "Detection_AUC"),
        ("HistGB AUC", "HistGB_AUC"),
        ("fit s", "Train_Time"),
    ]
    return "ok, " + ", ".join(f"{label} {values[m]:.3g}" for label, m in shown if m in values)


def run_grid(
    datasets: list[str],
    synthesizers: list[str],
    seeds: list[int],
    *,
    out: Path = RESULTS,
    params: dict[str, dict[str, Any]] | None = None,
    evaluation: dict[str, Any] | None = None,
    timeout: float = 10800.0,
    threads: int = 2,
    retry_failed: bool = False,
    rerun: bool = False,
    command: str | None = None,
) -> pd.DataFrame:
    """Run every (dataset, synthesizer, seed) not finished in ``out``; return the tidy table.

    ``params`` maps a synthesizer's name to parameter overrides; ``evaluation`` holds extra
    keyword arguments of ``evaluate`` for every run; ``command`` is recorded with each run.
    ``rerun`` runs finished runs again (after a change of code); the newest record of a run
    is the one results.csv and the summary use, the older ones stay in runs.jsonl.
    Seeds are the outer loop, so an interrupted grid already has one seed of everything.
    """
    unknown = sorted({*synthesizers} - set(SYNTHESIZERS)) + sorted({*datasets} - set(DATASETS))
    if unknown:
        raise SystemExit(f"Unknown names {unknown}. Synthesizers: {sorted(SYNTHESIZERS)}; "
                         f"data sets: {list(DATASETS)}.")  # fmt: skip
    missing = missing_packages(synthesizers)
    if missing:  # optional peers: skipped, not recorded as failures
        names, packages = ", ".join(missing), " ".join(sorted(set(missing.values())))
        print(f"Skipping {names}: not installed here (pip install {packages}).")
        synthesizers = [s for s in synthesizers if s not in missing]
    params, evaluation = params or {}, evaluation or {}
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    runs = load_runs(out)
    jobs = [(d, s, seed) for seed in seeds for d in datasets for s in synthesizers]
    for job in jobs:
        old = runs.get(job)
        wanted = (params.get(job[1], {}), evaluation)
        if old is not None and (old["params"], old.get("evaluate", {})) != wanted:
            raise SystemExit(
                f"{out} holds {job} with parameters {old['params']} and evaluation settings "
                f"{old.get('evaluate', {})}, not {wanted[0]} and {wanted[1]}: use another --out."
            )
    todo = [
        j for j in jobs if rerun or j not in runs or (retry_failed and runs[j]["status"] != "ok")
    ]
    print(f"{len(jobs)} runs, {len(jobs) - len(todo)} already in {out}, {len(todo)} to go.")
    context = {"git": _git(), "threads": threads, "command": command}
    started = time.perf_counter()
    for done, job in enumerate(todo, 1):
        print(f"[{done}/{len(todo)}] {job[0]} × {job[1]} × seed {job[2]} ...", flush=True)
        record: dict[str, Any] = {"Dataset": job[0], "Synthesizer": job[1], "Seed": job[2]}
        record.update(params=params.get(job[1], {}), evaluate=evaluation, timeout_s=timeout)
        record.update(context)
        record["load_average"] = [round(os.getloadavg()[0], 2)]
        record.update(_launch(job, record["params"], evaluation, timeout, threads, out))
        if record["status"] != "ok":
            record.update(versions=package_versions(), machine=machine_info(threads))
        record["load_average"].append(round(os.getloadavg()[0], 2))  # 1-minute, start and end
        record["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S")
        _append(out, record)
        elapsed = time.perf_counter() - started
        left = elapsed / done * (len(todo) - done)
        print(f"    {_headline(record)}  [{elapsed / 60:.1f} min, ~{left / 60:.0f} min left]")
    failed = [k for k, r in load_runs(out).items() if k in set(jobs) and r["status"] != "ok"]
    if failed:
        print(f"{len(failed)} run(s) failed (see runs.jsonl); rerun with --retry-failed: {failed}")
    return tidy_results(load_runs(out))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS))
    parser.add_argument("--synthesizers", nargs="+", default=DEFAULT_GRID)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--out", type=Path, default=RESULTS, help="results folder")
    parser.add_argument("--timeout", type=float, default=10800.0, help="seconds per run")
    parser.add_argument("--threads", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument(
        "--params", default="{}", help='JSON {synthesizer: {parameter: value}}, e.g. '
        '\'{"ptgan": {"epochs": 5}}\'',
    )  # fmt: skip
    parser.add_argument(
        "--evaluate",
        default="{}",
        help="JSON of extra evaluate() arguments, e.g. '{\"reference\": false}'",
    )
    parser.add_argument("--retry-failed", action="store_true", help="rerun failed runs")
    parser.add_argument(
        "--rerun", action="store_true", help="rerun finished runs too (the newest record counts)"
    )
    parser.add_argument("--list", action="store_true", help="list the registry and exit")
    args = parser.parse_args(argv)
    if args.list:
        for name, spec in SYNTHESIZERS.items():
            print(f"{name:20} {spec.kind:10} {spec.package:16} {spec.description}")
        return
    run_grid(
        args.datasets,
        args.synthesizers,
        args.seeds,
        out=args.out,
        params=json.loads(args.params),
        evaluation=json.loads(args.evaluate),
        timeout=args.timeout,
        threads=args.threads,
        retry_failed=args.retry_failed,
        rerun=args.rerun,
        command=shlex.join(["python", "-m", "benchmarks.run", *sys.argv[1:]])
        if argv is None
        else shlex.join(["python", "-m", "benchmarks.run", *argv]),
    )


if __name__ == "__main__":
    main()
