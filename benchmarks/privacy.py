"""PTGAN with differential privacy on Adult: ε = 1, 3, 10 (δ = 1/n²) beside the non-private model.

Two stages, so that the fits (minutes each) and the scoring can run apart:

- ``--fit``: each (config, seed) in its own process fits PTGAN (one torch thread, defaults but
  ``privacy``), samples as many rows as the training split and keeps them in ``--work``
  (a CSV per case, not committed) with the fit's time and ε.
- ``--score``: scores each kept sample by the evaluation protocol (``fairsynth.evaluate``:
  Quality, detection AUC, TSTR, DP by sex, DCR) and the membership-inference attack
  (``fairsynth.evaluation.membership``), appending one JSON row per case to
  benchmarks/results/privacy/adult.jsonl.

Usage::

    python -m benchmarks.privacy --fit --configs none eps1 eps3 eps10 --seeds 0
    python -m benchmarks.privacy --score --configs none eps1 eps3 eps10 --seeds 0
    python -m benchmarks.privacy --fit --configs eps3 --epochs 10 --seeds 0   # 600 steps
    python -m benchmarks.privacy --fit --recipe --configs none eps1 eps3 eps10 --seeds 0 1 2
    python -m benchmarks.privacy --fit --recipe --epochs 200 --configs eps3 --seeds 0  # 6,000 steps

``--recipe`` fits with :data:`RECIPE`, the private settings chosen by the sweep of
benchmarks/privacy_sweep.py (docs/privacy.md), instead of PTGAN's defaults.

``--transform`` says where a private fit's transform takes its categories and bounds from:
``data`` (the table as given, not covered by ε: the rows before the private transform, case
names unchanged), ``private`` (released with DP, a quarter of ε: the library's default;
cases ``...-private``) or ``metadata`` (:data:`METADATA`, Adult's public codebook categories
and round bounds; cases ``...-metadata``)::

    python -m benchmarks.privacy --fit --recipe --configs eps3 --seeds 0 --transform metadata
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

from benchmarks.isolated import append_row

RESULTS = Path(__file__).parent / "results" / "privacy" / "adult.jsonl"
WORK = Path("/tmp/fairsynth-privacy")
CONFIGS: dict[str, float | None] = {"none": None, "eps1": 1.0, "eps3": 3.0, "eps10": 10.0}
# Rows alone (no tempering, no coherency penalty: sensitivity C, not 2C), a one-layer critic,
# 1,000 rows a step, a faster learning rate, 3,000 steps (100 epochs of Adult): the sweep of
# benchmarks/privacy_sweep.py, docs/privacy.md "Tuning a private fit"
METADATA = RESULTS.parent / "adult_metadata.json"  # UCI's adult.names, top codes, round bounds
TRANSFORMS = ("data", "private", "metadata")
RECIPE: dict[str, Any] = {
    "epochs": 100, "batch_size": 1000, "critic_dims": (128,), "learning_rate": 3e-4,
    "temperature_ratio": 1.0, "coherency_weight": 0.0,
}  # fmt: skip


def _privacy(epsilon: float | None, n_rows: int, transform: str) -> Any:
    """The ``privacy`` parameter of a case (δ = 1/n²)."""
    if epsilon is None:
        return None
    if transform == "metadata":
        return {"epsilon": epsilon, "delta": 1.0 / n_rows**2,
                "metadata": json.loads(METADATA.read_text())}  # fmt: skip
    return {"epsilon": epsilon, "delta": 1.0 / n_rows**2, "transform": transform}


def fit_one(
    config: str, seed: int, work: Path, epochs: int | str = "auto", recipe: bool = False,
    transform: str = "data",
) -> dict[str, Any]:  # fmt: skip
    """Fit, sample and keep the rows; return the fit's record."""
    from fairsynth import PTGANSynthesizer, load_dataset
    from fairsynth.exceptions import PrivacyWarning

    ds = load_dataset("adult")
    epsilon = CONFIGS[config]
    privacy = _privacy(epsilon, len(ds.train), transform)
    model = PTGANSynthesizer(
        random_state=seed,
        verbose=False,
        n_threads=1,
        fit_check=False,
        privacy=privacy,
        **(_recipe(epochs) if recipe else {"epochs": epochs}),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PrivacyWarning)
        model.fit(ds.train)
    started = time.perf_counter()
    synthetic = model.sample(len(ds.train), random_state=seed)
    work.mkdir(parents=True, exist_ok=True)
    case = _case(config, epochs, recipe, transform)
    synthetic.to_csv(work / f"{case}-{seed}.csv.gz", index=False)
    spent = getattr(model, "privacy_", None)
    return {
        "Synthesizer": f"PTGAN {case}",
        "Dataset": "adult",
        "seed": seed,
        "privacy": privacy if transform != "metadata" else {**privacy, "metadata": METADATA.name},
        "epsilon_spent": None if spent is None else round(spent["epsilon"], 4),
        "transform_epsilon": None if spent is None else spent.get("transform_epsilon"),
        "noise_multiplier": None if spent is None else round(spent["noise_multiplier"], 4),
        "steps": int(sum(h["steps"] for h in model.history_)),
        "params": {k: getattr(model, k) for k in RECIPE},
        "Train_Time": round(model.fit_time_, 1),
        "Sample_Time": round(time.perf_counter() - started, 2),
        "torch_threads": model.n_threads_,  # the fit's (the process keeps its own)
        "device": str(model.device_),
    }


def _recipe(epochs: int | str) -> dict[str, Any]:
    """:data:`RECIPE`, lengthened or shortened to ``epochs`` when that is a number."""
    return RECIPE if epochs == "auto" else {**RECIPE, "epochs": epochs}


def _case(config: str, epochs: int | str, recipe: bool = False, transform: str = "data") -> str:
    """The name of a case: the config, '-recipe', the epochs when not 'auto', the transform
    when not 'data' (and the fit private)."""
    name = f"{config}-recipe" if recipe else config
    name = name if epochs == "auto" else f"{name}-epochs{epochs}"
    return name if transform == "data" or CONFIGS[config] is None else f"{name}-{transform}"


def score_one(fit: dict[str, Any], work: Path) -> dict[str, Any]:
    """Score a kept sample by the evaluation protocol and the membership attack."""
    import pandas as pd

    from fairsynth import load_dataset
    from fairsynth.evaluation import evaluate

    ds = load_dataset("adult")
    config = fit["Synthesizer"].split()[-1]
    synthetic = pd.read_csv(work / f"{config}-{fit['seed']}.csv.gz")
    report = evaluate(
        ds.train, synthetic, real_test=ds.test, target=ds.target,
        positive_label=ds.positive_label, sensitive="sex", discrete_columns=ds.discrete_columns,
        sensitive_feature="included",
    )  # fmt: skip
    summary = report.summary().set_index("metric")["value"]
    row = dict(fit)
    row.update({str(k): _number(v) for k, v in summary.items()})
    return row


def _number(value: Any) -> Any:
    try:
        return round(float(value), 4)
    except (TypeError, ValueError):
        return value


def fit_to_record(
    command: list[str], record: Path, label: str, env: dict[str, str] | None = None
) -> None:
    """Run one fit's ``command`` in a process of its own; its last line of output (the fit's
    JSON record) goes to ``record`` and is printed. Exits with the tail of its errors."""
    out = subprocess.run(command, capture_output=True, text=True, env=env)
    if out.returncode != 0:
        sys.exit(f"{label} failed:\n{out.stderr[-3000:]}")
    record.write_text(out.stdout.strip().splitlines()[-1])
    print(record.read_text(), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--work", type=Path, default=WORK)
    parser.add_argument("--epochs", default="auto", help="'auto' (6,000 steps) or a number")
    parser.add_argument(
        "--recipe",
        action="store_true",
        help="fit with RECIPE (--epochs N: its length, 30 steps an epoch)",
    )
    parser.add_argument("--transform", default="data", choices=TRANSFORMS,
                        help="a private fit's categories and bounds: from the table as given, "
                        "released with DP, or from METADATA")  # fmt: skip
    stage = parser.add_mutually_exclusive_group(required=True)
    stage.add_argument("--fit", action="store_true")
    stage.add_argument("--score", action="store_true")
    stage.add_argument("--single", nargs=2, metavar=("CONFIG", "SEED"))
    args = parser.parse_args()
    epochs = args.epochs if args.epochs == "auto" else int(args.epochs)
    if args.single:  # one fit, in a process of its own
        row = fit_one(
            args.single[0], int(args.single[1]), args.work, epochs, args.recipe, args.transform
        )
        print(json.dumps(row), flush=True)
        return
    for config in args.configs:
        for seed in args.seeds:
            case = _case(config, epochs, args.recipe, args.transform)
            record = args.work / f"{case}-{seed}.json"
            if args.fit:
                command = [sys.executable, "-m", "benchmarks.privacy", "--work", str(args.work),
                           "--epochs", str(epochs)]  # fmt: skip
                command += ["--recipe"] if args.recipe else []
                command += ["--transform", args.transform]
                fit_to_record([*command, "--single", config, str(seed)], record, f"{config} {seed}")
            else:
                append_row(RESULTS, score_one(json.loads(record.read_text()), args.work))


if __name__ == "__main__":
    main()
