"""The knob's LogReg against ExponentiatedGradient, over several samples per λ (issue 5).

Not shipped. For each FairPTGANSynthesizer model file and each λ, ``--draws`` samples of the
training table's size (``random_state`` 0, 1, ...) are drawn with the knob on ``--by``; the
protocol's LogReg (sensitive column included, :func:`fair_resampling.score`) is trained on each and
scored on the real test rows, and ``vs_eg`` is its AUC minus ExponentiatedGradient's, interpolated
at the same DP from ``--eg`` (a frontier CSV holding EG's rows, as ``fair_frontier.py frontier``
writes them; a DP outside EG's range takes EG's nearest end, so λ = 0 rows, looser than EG's
loosest bound, are compared with that bound's AUC). Averaging draws takes out the
sample-to-sample spread (sd about 0.001 AUC on Adult) that one frontier row carries.

``--calibrate DP`` adds, per model, the λ that :func:`~fairsynth.frontier.calibrate_fairness`
finds for the protocol's LogReg to reach a DP of at most ``DP`` on the real *training* rows (the
issue's "calibrated fair end"); its rows have ``calibrated_to`` set, and the file's name ends
in ``.calibrated-DP.draws.csv``.

Sample-time variants (no refit), one at a time, each named in the ``variant`` column:

``--balanced-groups``
    the knob's ``balanced_groups=True``;
``--noise-scale S``
    the generator's noise multiplied by ``S`` before it is fed (the "truncation trick");
``--refine CLF``
    importance resampling: ``CLF`` (the protocol's LogReg or HistGB pipeline, all columns) learns
    the real training rows against a λ = 0 sample (``random_state`` 1000); each row of a sample is
    then picked from ``--pool`` rows generated for its cell, with probability proportional to
    ``p / (1 - p)`` (capped at 20 times the median), so the cell counts stay the knob's.

Example (the runs reported in docs/fairness.md)::

    python -m benchmarks.fair_knob_draws --threads 1 \\
        benchmarks/runs/fair-pm/adult-fair-cross-s0.fairsynth --out benchmarks/runs/fair-draws
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from benchmarks.fair_resampling import score
from fairsynth.datasets import load_dataset
from fairsynth.evaluation import build_model
from fairsynth.evaluation._prepare import column_kind
from fairsynth.frontier import calibrate_fairness
from fairsynth.models.base import BaseSynthesizer
from fairsynth.models.fair import FairnessWarning, FairPTGANSynthesizer

FAIRNESS = (0.0, 1.0, 1.5, 1.75, 2.0)
WEIGHT_CAP = 20.0  # importance weights capped at this many times their median


def eg_reference(path: str, attribute: str) -> pd.DataFrame:
    """ExponentiatedGradient's (dp, auc) rows for ``attribute``, sorted by DP."""
    rows = pd.read_csv(path)
    rows = rows[(rows["source"] == "ExponentiatedGradient") & (rows["attribute"] == attribute)]
    if rows.empty:
        raise SystemExit(f"{path} holds no ExponentiatedGradient rows for {attribute!r}")
    return rows.sort_values("dp")[["dp", "auc"]]


class NoiseScaled(torch.nn.Module):
    """A generator fed ``factor`` times its noise, the first ``width`` of its inputs."""

    def __init__(self, network: torch.nn.Module, width: int, factor: float) -> None:
        super().__init__()
        self.network, self.width, self.factor = network, width, factor

    def forward(self, inputs: torch.Tensor, temperature: torch.Tensor) -> torch.Tensor:
        noise = inputs[:, : self.width] * self.factor
        return self.network(torch.cat([noise, inputs[:, self.width :]], 1), temperature)


def scale_noise(model: FairPTGANSynthesizer, factor: float) -> None:
    """Make ``model`` feed its generator ``factor`` times its noise (the truncation trick).

    Wraps the network ``sample`` runs, the fitted attribute ``generator_ema_`` (``generator_``
    without weight averaging); the wrapped model is for this process only, not for saving.
    """
    name = "generator_" if model.generator_ema_ is None else "generator_ema_"
    setattr(model, name, NoiseScaled(getattr(model, name), int(model.noise_dim), factor))


class Refiner:
    """Importance resampling of a sample by a real-versus-synthetic classifier."""

    def __init__(self, model: FairPTGANSynthesizer, real: pd.DataFrame, name: str, pool: int):
        self.model, self.pool, self.columns = model, pool, list(real.columns)
        numeric = [c for c in self.columns if column_kind(real[c]) == "numeric"]
        categorical = [c for c in self.columns if c not in numeric]
        synthetic = model.sample(len(real), random_state=1000)
        both = pd.concat([real, synthetic], ignore_index=True)
        label = np.r_[np.ones(len(real)), np.zeros(len(synthetic))].astype(int)
        self.classifier = build_model(name, "classification", categorical, numeric)
        self.classifier.fit(both[self.columns], label)

    def sample(self, n: int, cells: list[str], seed: int, **knob: Any) -> pd.DataFrame:
        candidates = self.model.sample(self.pool * n, random_state=seed, **knob)
        p = np.clip(self.classifier.predict_proba(candidates[self.columns])[:, 1], 1e-6, 1 - 1e-6)
        weight = p / (1 - p)
        weight = np.minimum(weight, WEIGHT_CAP * np.median(weight))
        rng = np.random.default_rng(seed)
        picked = []
        for rows in candidates.groupby(cells).indices.values():
            groups = rows[: len(rows) // self.pool * self.pool].reshape(-1, self.pool)
            share = weight[groups] / weight[groups].sum(axis=1, keepdims=True)
            choice = (share.cumsum(axis=1) < rng.random((len(groups), 1))).sum(axis=1)
            picked.append(groups[np.arange(len(groups)), np.minimum(choice, self.pool - 1)])
        return candidates.iloc[np.concatenate(picked)].reset_index(drop=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", help="FairPTGANSynthesizer model files")
    parser.add_argument("--dataset", default="adult")
    parser.add_argument("--by", default=None, help="the knob's column [first sensitive]")
    parser.add_argument(
        "--eg", default="benchmarks/results/fair-pm/exponentiated-gradient.frontier.sex.csv"
    )
    parser.add_argument("--draws", type=int, default=4)
    parser.add_argument("--fairness", type=float, nargs="*", default=list(FAIRNESS))
    parser.add_argument(
        "--calibrate", type=float, default=None, metavar="DP",
        help="also the λ calibrated for LogReg DP ≤ DP on the real training rows",
    )  # fmt: skip
    variants = parser.add_mutually_exclusive_group()
    variants.add_argument("--balanced-groups", action="store_true")
    variants.add_argument("--noise-scale", type=float, default=None)
    variants.add_argument("--refine", choices=["LogReg", "HistGB"], default=None)
    parser.add_argument("--pool", type=int, default=4, help="candidates per row with --refine")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (CPU)")
    parser.add_argument("--out", default="benchmarks/runs/fair-draws")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    warnings.simplefilter("ignore", FairnessWarning)
    ds = load_dataset(args.dataset)
    column = args.by or ds.sensitive[0]
    eg = eg_reference(args.eg, column)
    variant = "default"
    if args.balanced_groups:
        variant = "balanced-groups"
    elif args.noise_scale is not None:
        variant = f"noise-scale-{args.noise_scale:g}"
    elif args.refine:
        variant = f"refine-{args.refine}-pool{args.pool}"
    knob: dict[str, Any] = {"by": column, "balanced_groups": args.balanced_groups}
    n = len(ds.train)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for path in args.models:
        started = time.perf_counter()
        model = BaseSynthesizer.load(path, device="cpu")
        if not isinstance(model, FairPTGANSynthesizer):
            parser.error(f"{path} holds a {type(model).__name__}, not a FairPTGANSynthesizer")
        if args.noise_scale is not None:
            scale_noise(model, args.noise_scale)
        refiner = Refiner(model, ds.train, args.refine, args.pool) if args.refine else None
        name = Path(path).name.removesuffix(".fairsynth")
        rows = []
        settings = [(float(f), np.nan) for f in args.fairness]
        if args.calibrate is not None:
            found = calibrate_fairness(
                model, ds.train, args.calibrate, reference_model="LogReg", by=column
            )
            settings.append((round(found.fairness, 4), args.calibrate))
        for fairness, calibrated_to in settings:
            for draw in range(args.draws):
                if refiner is not None:
                    table = refiner.sample(n, [column, ds.target], draw, fairness=fairness, **knob)
                else:
                    table = model.sample(n, fairness=fairness, random_state=draw, **knob)
                scores = score(table, ds.test, column, ds.target, ds.positive_label)
                vs_eg = scores["auc"] - float(np.interp(scores["dp"], eg["dp"], eg["auc"]))
                rows.append(
                    {"fairness": fairness, "calibrated_to": calibrated_to, "draw": draw}
                    | scores
                    | {"vs_eg": vs_eg}
                )
        frame = pd.DataFrame(rows).assign(model_file=name, variant=variant, by=column)
        tag = variant if args.calibrate is None else f"{variant}.calibrated-{args.calibrate:g}"
        frame.to_csv(out / f"{name}.{tag}.draws.csv", index=False)
        means = frame.groupby("fairness")[["auc", "dp", "vs_eg"]].mean()
        print(f"{name} ({variant}, {time.perf_counter() - started:.0f} s)", file=sys.stderr)
        print(means.round(4).to_string(), file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
