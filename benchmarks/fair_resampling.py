"""Where FairPTGAN's LogReg loses AUC against ExponentiatedGradient: the knob or the table?

Not shipped. For one fitted FairPTGANSynthesizer and the knob's attribute (Adult: sex), three
tables are built at each λ with the same row counts per (group, outcome) cell, the knob's
arithmetic (:func:`fairsynth.models.knob.outcome_distribution`):

``real resampled``
    the real training rows, resampled with replacement within their cells (issue 5's "what we
    learned": this traces ExponentiatedGradient's frontier);
``synthetic resampled``
    one synthetic table at λ = 0, resampled within its cells the same way;
``knob``
    ``model.sample(n, fairness=λ)``.

The protocol's LogReg (sensitive column included) is trained on each and scored on the real
test rows: AUC, DP (max - min selection rate at threshold 0.5) and the AUC *within* each group.
If ``knob`` and ``synthetic resampled`` agree, the knob does what it says (moves cell counts,
keeps each cell's rows) and any gap to ``real resampled`` comes from the λ = 0 table itself.

``--swap-cells`` also writes ``<model>.swap.csv``: at each λ, the real resampled table with one
(group, outcome) cell, or one whole group, replaced by the synthetic resampled one, which says
which cells of the synthetic table cost the most.

Example (the runs reported in docs/fairness.md)::

    python benchmarks/fair_resampling.py --threads 1 \\
        benchmarks/runs/fair-ema/adult-fair-cross-s0.fairsynth --out benchmarks/results/fair-ema
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from fairsynth.datasets import load_dataset
from fairsynth.evaluation import build_model, gap_metrics
from fairsynth.evaluation._prepare import column_kind
from fairsynth.models.base import BaseSynthesizer
from fairsynth.models.fair import FairnessWarning, FairPTGANSynthesizer
from fairsynth.models.knob import allocate, outcome_distribution

FAIRNESS = (0.0, 0.5, 1.0, 1.5, 2.0)


def resample(
    table: pd.DataFrame, column: str, target: str, positive: Any, fairness: float, seed: int
) -> pd.DataFrame:
    """``table`` with each (group, outcome) cell resampled to the knob's counts at ``fairness``."""
    groups = sorted(table[column].astype(str).unique())
    outcome = np.where(table[target] == positive, 0, 1)  # column 0: the positive outcome
    group = table[column].astype(str).map({g: i for i, g in enumerate(groups)}).to_numpy()
    counts = np.zeros((len(groups), 2))
    np.add.at(counts, (group, outcome), 1)
    probs, _ = outcome_distribution(counts, 0, np.arange(len(groups)), fairness)
    weights = counts.sum(axis=1) / counts.sum()
    wanted = allocate(len(table), probs * weights[:, None]).reshape(counts.shape)
    rng = np.random.default_rng(seed)
    rows = []
    for g in range(len(groups)):
        for k in range(2):
            cell = np.flatnonzero((group == g) & (outcome == k))
            if wanted[g, k] and len(cell):
                rows.append(rng.choice(cell, size=int(wanted[g, k]), replace=True))
    return table.iloc[np.concatenate(rows)].reset_index(drop=True)


def swapped_tables(
    real: pd.DataFrame, synthetic: pd.DataFrame, column: str, target: str, positive: Any
) -> Iterator[tuple[pd.DataFrame, str]]:
    """``real`` with one (group, outcome) cell, then one whole group, taken from ``synthetic``."""

    def cells(table: pd.DataFrame, group: str, outcome: bool | None) -> pd.Series:
        inside = table[column].astype(str) == group
        return inside if outcome is None else inside & ((table[target] == positive) == outcome)

    for group in sorted(real[column].astype(str).unique()):
        for outcome in (True, False, None):
            label = f"{column}={group}" + ("" if outcome is None else f", positive={outcome}")
            swapped = pd.concat(
                [real[~cells(real, group, outcome)], synthetic[cells(synthetic, group, outcome)]]
            )
            yield swapped, label


def score(
    train: pd.DataFrame, test: pd.DataFrame, column: str, target: str, positive: Any
) -> dict[str, float]:
    """The protocol's LogReg (sensitive column included): AUC, DP and the AUC within groups."""
    from sklearn.metrics import roc_auc_score

    features = [c for c in test.columns if c != target]
    numeric = [c for c in features if column_kind(test[c]) == "numeric"]
    categorical = [c for c in features if c not in numeric]
    model = build_model("LogReg", "classification", categorical, numeric)
    model.fit(train[features], (train[target] == positive).astype(int))
    proba = model.predict_proba(test[features])[:, 1]
    y = (test[target] == positive).to_numpy().astype(int)
    groups = test[column].astype(str).to_numpy()
    dp = gap_metrics(y, (proba > 0.5).astype(int), None, pd.Series(groups))["dp"]
    out = {"auc": float(roc_auc_score(y, proba)), "dp": dp}
    for g in np.unique(groups):
        inside = groups == g
        if 0 < y[inside].sum() < inside.sum():
            out[f"auc_within[{g}]"] = float(roc_auc_score(y[inside], proba[inside]))
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="a FairPTGANSynthesizer model file")
    parser.add_argument("--dataset", default="adult")
    parser.add_argument("--by", default=None, help="the knob's column [first sensitive]")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (CPU)")
    parser.add_argument("--out", default="benchmarks/runs/fair-ema")
    parser.add_argument(
        "--swap-cells", action="store_true", help="also score real tables with one cell swapped"
    )
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    warnings.simplefilter("ignore", FairnessWarning)
    started = time.perf_counter()
    ds = load_dataset(args.dataset)
    column = args.by or ds.sensitive[0]
    model = BaseSynthesizer.load(args.model, device="cpu")
    if not isinstance(model, FairPTGANSynthesizer):
        parser.error(f"{args.model} holds a {type(model).__name__}, not a FairPTGANSynthesizer")
    name = Path(args.model).name.removesuffix(".fairsynth")
    n = len(ds.train)
    base = model.sample(n, random_state=args.seed)
    rows, swaps = [], []
    for fairness in FAIRNESS:
        tables = {
            "real resampled": resample(
                ds.train, column, ds.target, ds.positive_label, fairness, args.seed
            ),
            "synthetic resampled": resample(
                base, column, ds.target, ds.positive_label, fairness, args.seed
            ),
            "knob": model.sample(n, fairness=fairness, by=column, random_state=args.seed),
        }
        for source, table in tables.items():
            scores = score(table, ds.test, column, ds.target, ds.positive_label)
            rows.append({"source": source, "fairness": fairness, "seed": args.seed} | scores)
            print(
                f"λ={fairness} {source}: AUC {scores['auc']:.4f}, DP {scores['dp']:.4f}",
                file=sys.stderr,
                flush=True,
            )
        if args.swap_cells:
            real, synthetic = tables["real resampled"], tables["synthetic resampled"]
            parts = swapped_tables(real, synthetic, column, ds.target, ds.positive_label)
            for swapped, part in parts:
                scores = score(swapped, ds.test, column, ds.target, ds.positive_label)
                swaps.append({"swapped": part, "fairness": fairness, "seed": args.seed} | scores)
    path = Path(args.out) / f"{name}.resampling.csv"
    pd.DataFrame(rows).assign(model_file=name, by=column).to_csv(path, index=False)
    if swaps:
        swap_path = Path(args.out) / f"{name}.swap.csv"
        pd.DataFrame(swaps).assign(model_file=name, by=column).to_csv(swap_path, index=False)
    print(f"{path} in {time.perf_counter() - started:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
