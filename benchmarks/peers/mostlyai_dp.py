"""MOSTLY AI's TabularARGN (pip ``mostlyai-engine``) with its differential-privacy option on Adult.

Measured beside fairsynth's private PTGAN (benchmarks/privacy.py,
docs/privacy-measurements.md) and scored the same way (``benchmarks.privacy.score_one``:
``fairsynth.evaluate`` with the real test split, sex as a feature, the membership attack).
The engine needs a CUDA-free torch and its own packages, so it lives in a virtualenv of its
own; this file is both sides:

- ``--fit`` (fairsynth's virtualenv) writes Adult's training split to ``--work`` and runs this
  file with ``--engine-python`` (the engine's virtualenv) and ``--engine``, one process a case
  with one torch thread; it keeps the sample (``mostlyai-eps3-0.csv.gz``) and a record of the
  fit (ε and δ the engine reports, epochs, steps, fit time) beside it.
- ``--score`` (fairsynth's virtualenv) scores each kept sample and appends a JSON row to
  benchmarks/results/privacy/mostlyai.jsonl.

The engine's DP option (``differential_privacy=``): DP-SGD through opacus at a fixed noise
multiplier (1.5) and clip norm (1), RDP accountant; training stops at the first epoch whose ε
passes ``max_epsilon`` (the total: DP-SGD's ε plus ``value_protection_epsilon``, spent with
Laplace noise on the categories and bounds before training). Here ``max_epsilon`` is the ε of
the case, ``delta`` 1/n² (as ours) and ``value_protection_epsilon`` a quarter of ε (as ours:
``transform_share``); the rest are the engine's defaults.

Usage (install: docs/privacy-measurements.md, "MOSTLY AI's DP option")::

    python -m benchmarks.peers.mostlyai_dp --fit --epsilons 3 --seeds 0 \\
        --engine-python /tmp/mostly/.venv/bin/python
    python -m benchmarks.peers.mostlyai_dp --score --epsilons 3 --seeds 0
    python -m benchmarks.peers.mostlyai_dp --fit --epsilons 10 --max-minutes 10   # time cap
    python -m benchmarks.peers.mostlyai_dp --fit --epsilons 1 --noise-multiplier 3

``--noise-multiplier`` replaces the engine's 1.5 (case ``mostlyai-eps1-z3``); ``--max-minutes``
is the engine's ``max_training_time``. ``--fit`` and ``--score`` take the same options.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parents[1] / "results" / "privacy" / "mostlyai.jsonl"
WORK = Path("/tmp/fairsynth-privacy")
VALUE_SHARE = 0.25  # of ε, for the engine's private categories and bounds (ours: transform_share)
ONE_THREAD = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
              "HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1"}  # fmt: skip
ENGINE_DEFAULTS = (
    "noise_multiplier 1.5, max_grad_norm 1, RDP accountant, max_epochs 100, 80/20 train/val split"
)


def _case(epsilon: float, noise: float | None = None) -> str:
    """``mostlyai-eps3``; ``mostlyai-eps1-z3`` with a noise multiplier other than the engine's."""
    return f"mostlyai-eps{epsilon:g}" + ("" if noise is None else f"-z{noise:g}")


def engine_fit(
    train_csv: Path, work: Path, epsilon: float, seed: int, noise: float | None = None,
    max_minutes: float | None = None,
) -> dict[str, Any]:  # fmt: skip
    """In the engine's virtualenv: fit TabularARGN with DP, sample, keep the rows; the record.

    ``noise``: the noise multiplier (None: the engine's, 1.5); ``max_minutes``: the engine's
    ``max_training_time`` (None: its default, 10 days)."""
    import pandas as pd
    import torch

    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    from importlib.metadata import version

    from mostlyai.engine import TabularARGN
    from mostlyai.engine.domain import DifferentialPrivacyConfig

    train = pd.read_csv(train_csv)
    delta = 1.0 / len(train) ** 2
    dp = {"max_epsilon": epsilon, "delta": delta,
          "value_protection_epsilon": VALUE_SHARE * epsilon}  # fmt: skip
    if noise is not None:
        dp["noise_multiplier"] = noise
    case = _case(epsilon, noise)
    workspace = work / f"{case}-{seed}-workspace"
    limits = {} if max_minutes is None else {"max_training_time": max_minutes}
    model = TabularARGN(
        differential_privacy=DifferentialPrivacyConfig(**dp),  # a dict fails in its analyze()
        random_state=seed, verbose=0, workspace_dir=str(workspace),
        device="cpu", **limits,
    )  # fmt: skip
    started = time.perf_counter()
    model.fit(train)
    fit_time = time.perf_counter() - started
    started = time.perf_counter()
    synthetic = model.sample(n_samples=len(train))
    sample_time = time.perf_counter() - started
    synthetic.to_csv(work / f"{case}-{seed}.csv.gz", index=False)
    # One row an epoch: dp_eps is the ε spent up to it (DP-SGD's RDP ε at delta, plus
    # value_protection_epsilon); the model kept is the last row marked as a checkpoint (the
    # best validation loss within max_epsilon; if the first epoch already passed it, the engine
    # saves the model as it stands, over the budget, and marks that).
    from mostlyai.engine._workspace import Workspace

    paths = Workspace(workspace)
    progress = pd.read_csv(paths.model_progress_messages_path)
    kept = progress[progress["is_checkpoint"] == 1].iloc[-1]
    last = progress.iloc[-1]
    # The messages round ε to 2 decimals and δ to 8 (1/n² shows as 0): the checkpoint's saved
    # accountant gives DP-SGD's ε in full (the engine's sum adds value_protection_epsilon).
    from opacus.accountants import RDPAccountant

    accountant = RDPAccountant()
    state = torch.load(paths.model_dp_accountant_path, weights_only=False)
    accountant.load_state_dict(state)
    sgd_epsilon = accountant.get_epsilon(delta)
    return {
        "Synthesizer": f"MOSTLY AI TabularARGN {case}",
        "Dataset": "adult",
        "seed": seed,
        "privacy": {"differential_privacy": dp, "engine defaults": ENGINE_DEFAULTS, **limits},
        "epsilon_spent": round(float(kept["dp_eps"]), 4),
        "epsilon_last_epoch": round(float(last["dp_eps"]), 4),
        "epsilon_kept_full": round(sgd_epsilon + VALUE_SHARE * epsilon, 4),
        "dp_sgd_epsilon": round(sgd_epsilon, 4),
        "value_protection_epsilon": VALUE_SHARE * epsilon,
        "delta": delta,
        "delta_reported": float(kept["dp_delta"]),
        "accountant_steps": sum(n for _, _, n in accountant.history),
        "noise_multipliers": sorted({z for z, _, _ in accountant.history}),
        "sample_rates": sorted({q for _, q, _ in accountant.history}),
        "kept_epoch": float(kept["epoch"]),
        "epochs_run": float(last["epoch"]),
        "steps": int(last["steps"]),
        "stopped_by_max_epsilon": bool(float(last["dp_eps"]) > epsilon),
        "Train_Time": round(fit_time, 1),
        "Sample_Time": round(sample_time, 2),
        "torch_threads": torch.get_num_threads(),
        "device": "cpu",
        "versions": {p: version(p) for p in ("mostlyai-engine", "torch", "opacus")},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epsilons", nargs="+", type=float, default=[3.0])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--work", type=Path, default=WORK)
    parser.add_argument("--engine-python", default="/tmp/mostly/.venv/bin/python")
    parser.add_argument("--noise-multiplier", type=float, help="default: the engine's (1.5)")
    parser.add_argument("--max-minutes", type=float, help="the engine's max_training_time")
    stage = parser.add_mutually_exclusive_group(required=True)
    stage.add_argument("--fit", action="store_true")
    stage.add_argument("--score", action="store_true")
    stage.add_argument("--engine", nargs=2, metavar=("EPSILON", "SEED"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.engine:  # the engine's side, in its own virtualenv
        row = engine_fit(args.work / "adult-train.csv", args.work, float(args.engine[0]),
                         int(args.engine[1]), args.noise_multiplier, args.max_minutes)  # fmt: skip
        print(json.dumps(row), flush=True)
        return
    if args.fit:
        from fairsynth import load_dataset

        args.work.mkdir(parents=True, exist_ok=True)
        load_dataset("adult").train.to_csv(args.work / "adult-train.csv", index=False)
    for epsilon in args.epsilons:
        for seed in args.seeds:
            record = args.work / f"{_case(epsilon, args.noise_multiplier)}-{seed}.json"
            if args.fit:
                command = [args.engine_python, __file__, "--work", str(args.work),
                           "--engine", str(epsilon), str(seed)]  # fmt: skip
                for flag, value in (("--noise-multiplier", args.noise_multiplier),
                                    ("--max-minutes", args.max_minutes)):  # fmt: skip
                    command += [] if value is None else [flag, str(value)]
                from benchmarks.privacy import fit_to_record

                fit_to_record(command, record, f"ε = {epsilon:g}, seed {seed}",
                              env={**os.environ, **ONE_THREAD})  # fmt: skip
            else:
                from benchmarks.isolated import append_row
                from benchmarks.privacy import score_one

                append_row(RESULTS, score_one(json.loads(record.read_text()), args.work))


if __name__ == "__main__":
    main()
