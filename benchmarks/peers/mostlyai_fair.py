"""MOSTLY AI's TabularARGN with its fairness option, a peer on the knob's frontier.

MOSTLY AI's engine (pip ``mostlyai-engine``, Apache 2.0) fits an autoregressive network once;
its fairness option acts when sampling (``sample(fairness=FairnessConfig(target_column,
sensitive_columns))``): it estimates the target's probabilities from 15,000 unconditional draws
and from 5,000 draws in each sensitive group, and maps each group's quantiles of the target's
probability onto the unconditional ones before the target is drawn (statistical parity of the
generated rows). It is on or off, with no strength. On the frontier's axis a sample without the
option is λ = 0 and one with it is λ = 1.

The engine needs its own virtualenv (it pulls pandas 3 and a CUDA torchvision;
docs/privacy-measurements.md, "MOSTLY AI's DP option", shows the install), so this file is both
sides:

- fairsynth's side (:func:`frontier_rows`, used by ``benchmarks.peer_frontier --peer mostlyai``)
  writes the training split to a work folder, runs this file with the engine's Python once per
  seed (one torch thread), reads the samples back in the training dtypes and scores them as the
  knob's frontier is scored (:func:`benchmarks.peers._scoring.score_table`);
- the engine's side (``--engine``) fits with the engine's defaults, draws as many rows as the
  training split without the option and with it for each sensitive column, and prints a record
  (fit and sample seconds, versions).

A seed's samples are kept in the work folder with the record and reused while the training
split is the same (its sha256 is in the record), so ``--by race`` after ``--by sex`` does not
refit. The engine's Python is ``$FAIRSYNTH_MOSTLYAI_PYTHON`` (default
``/tmp/mostly/.venv/bin/python``); when it is missing or cannot import the engine, the peer is
"not installed" and the frontier is drawn without it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["HINT", "available", "frontier_rows"]

SOURCE = "MOSTLY AI fair"
WORK = Path("/tmp/fairsynth-mostlyai-fair")
DEFAULT_PYTHON = "/tmp/mostly/.venv/bin/python"
HINT = (
    "a virtualenv with mostlyai-engine (docs/privacy-measurements.md), its python in "
    "$FAIRSYNTH_MOSTLYAI_PYTHON"
)
ONE_THREAD = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
              "HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1"}  # fmt: skip


def _python() -> str:
    return os.environ.get("FAIRSYNTH_MOSTLYAI_PYTHON", DEFAULT_PYTHON)


def available() -> bool:
    """Whether the engine's Python exists and imports ``mostlyai.engine``."""
    if not Path(_python()).exists():
        return False
    command = [_python(), "-c", "import mostlyai.engine"]
    check = subprocess.run(command, capture_output=True, env=os.environ | ONE_THREAD)
    return check.returncode == 0


# --------------------------------------------------------------------- the engine's side
def engine_run(train_csv: Path, work: Path, seed: int, target: str, sensitive: list[str]) -> dict:
    """In the engine's virtualenv: fit once, sample without and with fairness; the record."""
    import pandas as pd
    import torch

    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    from importlib.metadata import version

    from mostlyai.engine import TabularARGN
    from mostlyai.engine.domain import FairnessConfig

    train = pd.read_csv(train_csv)
    # its fairness option needs the target and the sensitive columns encoded as categories
    # (COMPAS's 0/1 target would be a number); the other columns keep the engine's choice
    categorical = {c: "TABULAR_CATEGORICAL" for c in [target, *sensitive]}
    model = TabularARGN(random_state=seed, verbose=0, device="cpu",
                        tgt_encoding_types=categorical,
                        workspace_dir=str(work / f"workspace-{seed}"))  # fmt: skip
    started = time.perf_counter()
    model.fit(train)
    record: dict[str, Any] = {"seed": seed, "fit_s": round(time.perf_counter() - started, 2)}
    cases: dict[str, Any] = {"off": None}
    cases |= {c: FairnessConfig(target_column=target, sensitive_columns=[c]) for c in sensitive}
    for name, fairness in cases.items():
        started = time.perf_counter()
        rows = model.sample(n_samples=len(train), fairness=fairness)
        record[f"sample_s[{name}]"] = round(time.perf_counter() - started, 2)
        rows.to_csv(work / f"{seed}-{name}.csv.gz", index=False)
    record["categorical"] = sorted(categorical)
    record["torch_threads"] = torch.get_num_threads()
    record["versions"] = {p: version(p) for p in ("mostlyai-engine", "torch", "pandas")}
    return record


# ------------------------------------------------------------------- fairsynth's side
def _write_train(dataset: Any, work: Path) -> str:
    """Write the training split where the engine reads it; its sha256."""
    work.mkdir(parents=True, exist_ok=True)
    train_csv = work / "train.csv"
    dataset.train.to_csv(train_csv, index=False)
    return hashlib.sha256(train_csv.read_bytes()).hexdigest()


def _samples(dataset: Any, seed: int, work: Path, digest: str) -> dict[str, Any]:
    """The seed's record, fitting when none kept matches the training split's ``digest``."""
    path = work / f"{seed}.json"
    if path.exists():
        record = json.loads(path.read_text())
        if record.get("train_sha256") == digest:
            return dict(record)
    command = [_python(), __file__, "--engine", str(seed), "--work", str(work),
               "--target", dataset.target, "--sensitive", *dataset.sensitive]  # fmt: skip
    print(f"{SOURCE}: fitting seed {seed} in {_python()}", file=sys.stderr, flush=True)
    done = subprocess.run(command, capture_output=True, text=True, env=os.environ | ONE_THREAD)
    if done.returncode != 0:
        raise RuntimeError(f"the engine failed on seed {seed}: {done.stderr.strip()[-2000:]}")
    record = json.loads(done.stdout.strip().splitlines()[-1]) | {"train_sha256": digest}
    path.write_text(json.dumps(record, indent=1))
    return dict(record)


def _read_sample(path: Path, dataset: Any) -> Any:
    """A kept sample in the training split's column order and dtypes."""
    import pandas as pd

    rows = pd.read_csv(path)[list(dataset.train.columns)]
    for column, dtype in dataset.train.dtypes.items():
        rows[column] = rows[column].astype(dtype)
    return rows


def frontier_rows(
    dataset: Any,
    *,
    fairness: Sequence[float] = (0.0, 1.0),
    seeds: Sequence[int] = (0, 1, 2),
    protected: str | None = None,
    models: Sequence[str] | None = None,
    sensitive_feature: str = "both",
    n_threads: int | None = 1,
    work: Path | None = None,
) -> Any:
    """The engine's points: per seed one fit, a sample without fairness (λ = 0) and one with it
    for ``protected`` (λ = 1, default the data set's first sensitive column), scored downstream.

    Rows as in :func:`benchmarks.peers.tabfairgdt.frontier_rows` (``source='MOSTLY AI fair'``),
    each with ``fit_s``, ``sample_s``, ``positive_share``, ``exact_copy_share``, ``protected``.
    """
    import pandas as pd

    from benchmarks.peers._scoring import score_table

    if any(value not in (0.0, 1.0) for value in fairness):
        raise ValueError(f"{SOURCE} is on (λ = 1) or off (λ = 0); got λ = {list(fairness)}.")
    protected = protected or dataset.sensitive[0]
    options = {"models": models, "sensitive_feature": sensitive_feature, "n_threads": n_threads}
    folder = (work or WORK) / dataset.name
    digest = _write_train(dataset, folder)  # once: every seed's fit reads it
    rows: list[dict[str, Any]] = []
    for seed in seeds:
        record = _samples(dataset, int(seed), folder, digest)
        for value in fairness:
            case = protected if value else "off"
            synthetic = _read_sample(folder / f"{seed}-{case}.csv.gz", dataset)
            timing = {"fit_s": record["fit_s"], "sample_s": record[f"sample_s[{case}]"]}
            key = {"source": SOURCE, "fairness": float(value), "seed": int(seed)}
            rows += score_table(dataset, synthetic, **key, protected=protected, timing=timing,
                                **options)  # fmt: skip
    return pd.DataFrame(rows)


def _engine_main() -> None:
    parser = argparse.ArgumentParser(description="the engine's side (run by frontier_rows)")
    parser.add_argument("--engine", type=int, required=True, metavar="SEED")
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--target", required=True)
    parser.add_argument("--sensitive", nargs="+", required=True)
    args = parser.parse_args()
    record = engine_run(args.work / "train.csv", args.work, args.engine, args.target,
                        args.sensitive)  # fmt: skip
    print(json.dumps(record), flush=True)


if __name__ == "__main__":
    _engine_main()
