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
import platform
import re
import shlex
import signal
import subprocess
import sys
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import pandas as pd

from benchmarks.registry import DEFAULT_GRID, SYNTHESIZERS, missing_packages

__all__ = ["DATASETS", "METRIC_COLUMNS", "main", "metric_rows", "run_grid", "tidy_results"]

DATASETS = ("adult", "compas", "german")
RESULTS = Path(__file__).parent / "results" / "grid"
METRIC_COLUMNS = ["Dataset", "Synthesizer", "Seed", "Metric", "Value", "Reference", "Section"]
PACKAGES = (
    "fairsynth", "torch", "numpy", "pandas", "scikit-learn", "rdt", "sdmetrics", "fairlearn",
    "ctgan", "sdv", "mostlyai-engine", "tabfairgan", "tabfairgdt",
)  # fmt: skip
# evaluate()'s fidelity and privacy tables, renamed to SDGym-style metric names.
_FIDELITY = {
    ("Quality", "real_train"): "Quality_Score",
    ("Quality", "real_test"): "Quality_Score_Test",
    ("Column Shapes", "real_train"): "Column_Shapes",
    ("Column Pair Trends", "real_train"): "Column_Pair_Trends",
    ("Detection AUC", "real_train"): "Detection_AUC",
    ("Category coverage", "real_train"): "Category_Coverage",
}
_PRIVACY = {
    "DCR median ratio (synthetic / held-out)": "DCR_Ratio",
    "share closer than held-out 5th percentile": "DCR_Close_Share",
    "share of exact copies of training rows": "Exact_Copy_Share",
}
_UTILITY = {"accuracy": "Accuracy", "auc": "AUC", "f1": "F1", "macro_f1": "Macro_F1"}
_FAIRNESS = {"dp": "DP", "eo": "EO", "dp_at_rate": "DP_At_Rate"}


# ------------------------------------------------------------------------------ metrics
def _name(attribute: str) -> str:
    return re.sub(r"\W+", "_", attribute).strip("_")


def metric_rows(report: Any) -> list[tuple[str, float, float, str]]:
    """``(metric, value, reference, section)`` for the headline numbers of an evaluation.

    Downstream figures are those of the models that see the sensitive columns; the same
    figures without them carry the suffix ``_S_Excluded``. ``reference`` is the same figure
    for real data (models trained on the real training split; the test split scored as if it
    were synthetic), NaN where there is none.
    """
    tables, rows = report.tables, []
    for r in tables.get("fidelity", pd.DataFrame()).itertuples():
        if (r.metric, r.against) in _FIDELITY:
            rows.append((_FIDELITY[(r.metric, r.against)], r.value, r.reference, "fidelity"))
    utility = tables.get("utility", pd.DataFrame())
    for r in utility[utility.get("trained_on", pd.Series(dtype=str)) == "synthetic"].itertuples():
        ref = utility[
            (utility.trained_on == "real")
            & (utility.model == r.model)
            & (utility.sensitive_feature == r.sensitive_feature)
        ]
        suffix = "" if r.sensitive_feature == "included" else "_S_Excluded"
        for column, label in _UTILITY.items():
            real = float(ref[column].iloc[0]) if len(ref) else float("nan")
            rows.append((f"{r.model}_{label}{suffix}", getattr(r, column), real, "utility"))
    fairness = tables.get("fairness", pd.DataFrame())
    for r in fairness[fairness.get("trained_on", pd.Series(dtype=str)) == "synthetic"].itertuples():
        ref = fairness[
            (fairness.trained_on == "real")
            & (fairness.model == r.model)
            & (fairness.sensitive_feature == r.sensitive_feature)
            & (fairness.attribute == r.attribute)
        ]
        suffix = "" if r.sensitive_feature == "included" else "_S_Excluded"
        for column, label in _FAIRNESS.items():
            real = float(ref[column].iloc[0]) if len(ref) else float("nan")
            name = f"{r.model}_{label}_{_name(r.attribute)}{suffix}"
            rows.append((name, getattr(r, column), real, "fairness"))
    gaps = tables.get("label_gap", pd.DataFrame(columns=["attribute", "data", "label_gap"]))
    for attribute, group in gaps.groupby("attribute", sort=False):
        by_data = dict(zip(group["data"], group["label_gap"], strict=True))
        rows.append(
            (
                f"Label_Gap_{_name(str(attribute))}",
                by_data.get("synthetic", float("nan")),
                by_data.get("real_train", float("nan")),
                "fairness",
            )
        )
    for r in tables.get("privacy", pd.DataFrame(columns=["metric"])).itertuples():
        if r.metric in _PRIVACY:
            rows.append((_PRIVACY[r.metric], r.value, r.reference, "privacy"))
    return [(m, float(v), float(ref), s) for m, v, ref, s in rows]


# ------------------------------------------------------------------------------- worker
def _peak_memory_mb() -> float:
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024  # bytes on macOS


def _peak_gpu_memory_mb() -> float | None:
    """Peak memory torch allocated on the GPU, when torch is loaded and has one."""
    torch = sys.modules.get("torch")
    if torch is None or not torch.cuda.is_available():
        return None
    return float(torch.cuda.max_memory_allocated()) / 2**20


def _limit_threads(threads: int) -> Any:
    """Thread caps for this benchmark process only (torch, OpenMP, BLAS)."""
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(threads)
    return threadpool_limits(threads)


def _seed_globals(seed: int) -> None:
    # Some baselines draw from the global RNGs; this process exists for one run, so seeding
    # them here is harmless (fairsynth's own models never read them).
    import random

    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002
    torch.manual_seed(seed)


def run_one(
    dataset: str,
    synthesizer: str,
    seed: int,
    params: dict[str, Any],
    evaluation: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Fit, sample and evaluate one (dataset, synthesizer, seed); the record of the run.

    ``evaluation`` holds extra keyword arguments of ``evaluate`` (e.g. ``reference=False``).
    """
    from benchmarks.registry import build
    from fairsynth.datasets import load_dataset
    from fairsynth.evaluation import evaluate

    data = load_dataset(dataset)
    _seed_globals(seed)
    model = build(synthesizer, data, seed, dict(params))
    base_memory = _peak_memory_mb()
    started = time.perf_counter()
    model.fit(data.train)
    train_time = time.perf_counter() - started
    started = time.perf_counter()
    synthetic = model.sample(len(data.train))
    sample_time = time.perf_counter() - started
    peak_memory = _peak_memory_mb()
    gpu_memory = _peak_gpu_memory_mb()
    # Baselines may reorder columns or keep a non-default index.
    synthetic = synthetic[list(data.train.columns)].reset_index(drop=True)
    started = time.perf_counter()
    report = evaluate(
        data.train,
        synthetic,
        real_test=data.test,
        target=data.target,
        positive_label=data.positive_label,
        sensitive=list(data.sensitive),
        discrete_columns=list(data.discrete_columns),
        random_state=seed,
        **(evaluation or {}),
    )
    evaluate_time = time.perf_counter() - started
    cost = [
        ("Train_Time", train_time),
        ("Sample_Time", sample_time),
        ("Peak_Memory_MB", peak_memory),
        ("Base_Memory_MB", base_memory),
        ("Evaluate_Time", evaluate_time),
    ]
    if gpu_memory is not None:
        cost.append(("Peak_GPU_Memory_MB", gpu_memory))
    metrics = [(m, v, float("nan"), "cost") for m, v in cost] + metric_rows(report)
    return {"metrics": metrics, "details": model.details(), "rows": len(synthetic)}


def _versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for package in PACKAGES:
        with contextlib.suppress(PackageNotFoundError):
            found[package] = version(package)
    return found


def _machine(threads: int) -> dict[str, Any]:
    import torch

    cpu = platform.processor()
    with contextlib.suppress(OSError):
        lines = Path("/proc/cpuinfo").read_text().splitlines()
        cpu = next((ln.split(":", 1)[1].strip() for ln in lines if "model name" in ln), cpu)
    info = {
        "platform": platform.platform(),
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "threads": threads,
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }
    with contextlib.suppress(ImportError):
        import psutil

        info["memory_gb"] = round(psutil.virtual_memory().total / 2**30, 1)
    return info


def _worker(args: argparse.Namespace) -> None:
    limits = _limit_threads(args.threads)
    try:
        record = run_one(
            args.dataset,
            args.synthesizer,
            args.seed,
            json.loads(args.params),
            json.loads(args.evaluate),
        )
    finally:
        limits.restore_original_limits()
    record.update(versions=_versions(), machine=_machine(args.threads))
    Path(args.result).write_text(json.dumps(record, allow_nan=True))


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
    command = [sys.executable, "-m", "benchmarks.run", "--worker", "--dataset", dataset]
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
        record = {"Dataset": job[0], "Synthesizer": job[1], "Seed": job[2]}
        record.update(params=params.get(job[1], {}), evaluate=evaluation, timeout_s=timeout)
        record.update(context)
        record["load_average"] = [round(os.getloadavg()[0], 2)]
        record.update(_launch(job, record["params"], evaluation, timeout, threads, out))
        if record["status"] != "ok":
            record.update(versions=_versions(), machine=_machine(threads))
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
    for hidden in ("--dataset", "--synthesizer", "--result"):
        parser.add_argument(hidden, help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        _worker(args)
        return
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
