"""One run of the benchmark grid, in a process of its own: fit, sample, evaluate, report.

``python -m benchmarks.worker`` is what :mod:`benchmarks.run` launches for each (data set,
synthesizer, seed): it fits the registered synthesizer (benchmarks/registry.py) on the bundled
data set's training split with its torch and BLAS threads capped, samples as many rows, scores
them with ``fairsynth.evaluation.evaluate`` and writes one JSON record (fit and sample times,
peak memory, metrics, package versions, machine) to ``--result``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import sys
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = [
    "METRIC_COLUMNS",
    "PACKAGES",
    "machine_info",
    "main",
    "metric_rows",
    "package_versions",
    "run_one",
]

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


def package_versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for package in PACKAGES:
        with contextlib.suppress(PackageNotFoundError):
            found[package] = version(package)
    return found


def machine_info(threads: int) -> dict[str, Any]:
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
    record.update(versions=package_versions(), machine=machine_info(args.threads))
    Path(args.result).write_text(json.dumps(record, allow_nan=True))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--synthesizer", required=True)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--params", default="{}", help="JSON of the synthesizer's parameters")
    parser.add_argument("--evaluate", default="{}", help="JSON of extra evaluate() arguments")
    parser.add_argument("--result", required=True, help="where to write the JSON record")
    _worker(parser.parse_args(argv))


if __name__ == "__main__":
    main()
