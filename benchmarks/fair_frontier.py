"""The fairness-utility figures of issue 5: FairPTGAN's knob on Adult and COMPAS.

Not shipped. Three steps, each a sub-command, so that the slow fits run once and the cheap
evaluations can be repeated (every number lands in a tidy CSV under ``--out``):

``fit``
    Fit FairPTGANSynthesizer on a bundled data set, conditioned on all of its sensitive columns
    (Adult: sex and race, one model serves the sex, race and sex x race frontiers through
    ``by=``), or with ``--ptgan`` the unconditioned PTGANSynthesizer of the same size (the
    λ = 0 fidelity reference). Writes ``<out>/<name>.fairsynth``.
``frontier``
    For one model file: the knob's frontier (λ sweep) for each attribute, beside TRTR and
    fairlearn's ExponentiatedGradient on the real data; the calibrated λ for a downstream DP
    target (calibrated on the real *training* rows, reported on the real test rows, so the test
    table never picks λ); Quality and TSTR at λ = 0; fidelity within the smallest group.
``summary``
    Mean ± sd over seeds of everything in ``<out>/*.csv``.

Example (the runs reported in docs/fairness.md)::

    python benchmarks/fair_frontier.py fit --dataset adult --seed 0 --cross-group-pairs
    python benchmarks/fair_frontier.py frontier benchmarks/runs/fair/adult-fair-s0.fairsynth
    python benchmarks/fair_frontier.py summary

``frontier --peer tabfairgdt`` adds TabFairGDT's λ sweep (benchmarks/peers, fitted per seed and
λ in seconds) to each single-attribute frontier; without the package it says so and draws the
rest. benchmarks/peer_frontier.py draws a peer beside committed frontiers without a model file.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

if not __package__:  # run as a script (python benchmarks/fair_frontier.py): the root on the path
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.fair_summary import PUBLISHED, summary
from fairsynth import __version__
from fairsynth.datasets import load_dataset
from fairsynth.models.callbacks import Callback
from fairsynth.models.fair import FairnessWarning, FairPTGANSynthesizer
from fairsynth.models.ptgan import PTGANSynthesizer

OUT = Path("benchmarks/runs/fair")
# By data set: the attributes whose frontiers are drawn (each a list of sensitive columns).
ATTRIBUTES = {
    "adult": [["sex"], ["race"], ["sex", "race"]],
    "compas": [["race"]],
    "german": [["sex"]],
}
FAIRNESS = (0.0, 0.5, 1.0, 1.5, 2.0, 2.5)
SMALL_GROUPS = {"adult": [("race", "Amer-Indian-Eskimo"), ("race", "Other")]}
EG_BOUNDS = (0.005, 0.01, 0.02, 0.03, 0.045, 0.06, 0.1)  # dense: the reference is interpolated


def environment() -> dict[str, Any]:
    """Versions, hardware and threads, recorded beside every result."""
    import sklearn

    return {
        "fairsynth": __version__,
        "torch": torch.__version__,
        "sklearn": sklearn.__version__,
        "pandas": pd.__version__,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpu_threads_torch": torch.get_num_threads(),
        "device": "cuda" if torch.cuda.is_available() else "cpu",
    }


class _Snapshots(Callback):
    """Save the model so far every ``every`` epochs as ``<stem>-e<epochs>.fairsynth``."""

    def __init__(self, stem: Path, every: int) -> None:
        self.stem, self.every = stem, every

    def on_epoch_end(self, model: Any, record: dict[str, Any]) -> bool:
        done = record["epoch"] + 1
        if done % self.every == 0:
            model.save(self.stem.parent / f"{self.stem.name}-e{done}.fairsynth")
        return False


class _Log(Callback):
    """One line on stderr every few epochs, so a long fit in a log file shows its progress."""

    def on_epoch_end(self, model: Any, record: dict[str, Any]) -> bool:
        if record["epoch"] % 5 == 4:
            losses = {k: round(v, 4) for k, v in record.items() if k not in ("epoch", "steps")}
            print(f"epoch {record['epoch'] + 1}: {losses}", file=sys.stderr, flush=True)
        return False


def _epochs(text: str) -> int | str:
    return text if text == "auto" else int(text)


def _dataset_name(args: argparse.Namespace) -> str:
    return args.dataset + (f"-merged{args.merge}" if args.merge else "")


def dataset(args: argparse.Namespace) -> Any:
    """The bundled data set; with --merge N, sensitive groups under N training rows → 'Other'.

    COMPAS has 7 Native American and 24 Asian training rows: a max - min gap over groups that
    small (2 or 3 test rows) is noise, which is what the docs' advice to merge small groups is
    about.
    """
    ds = load_dataset(args.dataset)
    if not args.merge:
        return ds
    train, test = ds.train.copy(), ds.test.copy()
    for column in ds.sensitive:
        counts = train[column].value_counts()
        small = [str(v) for v in counts[counts < args.merge].index]
        for frame in (train, test):
            frame[column] = frame[column].where(~frame[column].isin(small), "Other")
    return dataclasses.replace(ds, train=train, test=test)


def fit(args: argparse.Namespace) -> None:
    ds = dataset(args)
    kind = "ptgan" if args.ptgan else f"fair{'-cross' if args.cross_group_pairs else ''}"
    name = f"{args.dataset}-{kind}-s{args.seed}" + args.suffix
    name += f"-merged{args.merge}" if args.merge else ""
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    callbacks: list[Callback] = [_Log()]
    if args.snapshot_every:
        callbacks.append(_Snapshots(out / name, args.snapshot_every))
    common: dict[str, Any] = {
        "discrete_columns": ds.discrete_columns,
        "epochs": args.epochs,
        "time_budget": args.time_budget,
        "random_state": args.seed,
        "verbose": False,
        "callbacks": callbacks,
        **json.loads(args.params),
    }
    if args.ptgan:
        model: PTGANSynthesizer = PTGANSynthesizer(**common)
    else:
        model = FairPTGANSynthesizer(
            sensitive=ds.sensitive,
            target=ds.target,
            positive_label=ds.positive_label,
            cross_group_pairs=args.cross_group_pairs,
            **common,
        )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", FairnessWarning)  # small intersectional cells: logged
        model.fit(ds.train)
    for warning in caught:
        print(f"warning: {warning.message}", file=sys.stderr)
    model.save(out / f"{name}.fairsynth")
    steps = sum(record["steps"] for record in model.history_)
    info = {"name": name, "fit_time_s": model.fit_time_, "steps": steps, "params": args.params}
    info |= environment()
    (out / f"{name}.fit.json").write_text(json.dumps(info, indent=1))
    print(json.dumps(info))


def _tidy(rows: pd.DataFrame, **key: Any) -> pd.DataFrame:
    return rows.assign(**key)


def _numerical(frame: pd.DataFrame, discrete: list[str]) -> list[str]:
    return [c for c in frame.columns if c not in discrete]


def fidelity(args: argparse.Namespace, model: Any, ds: Any, name: str) -> pd.DataFrame:
    """Quality (against real train and real test) and TSTR at λ = 0, as in the protocol."""
    from fairsynth.evaluation import quality_scores, tstr_scores

    rows = []
    for seed in args.seeds:
        synthetic = model.sample(len(ds.train), random_state=seed)
        for against, real in (("train", ds.train), ("test", ds.test)):
            scores, _, _ = quality_scores(real, synthetic, _numerical(real, ds.discrete_columns))
            rows += [
                {"metric": f"{k} vs real {against}", "value": v, "seed": seed}
                for k, v in scores.items()
                if not k.endswith("threshold")
            ]
        tstr = tstr_scores(
            synthetic,
            ds.test,
            ds.target,
            ds.positive_label,
            ds.sensitive,
            selection_rate=float(np.mean(ds.train[ds.target] == ds.positive_label)),
        )
        for model_name, line in tstr.iterrows():
            rows += [
                {"metric": f"{model_name} {k}", "value": line[k], "seed": seed}
                for k in ("accuracy", "auc", *(c for c in line.index if "[" in c))
            ]
    return pd.DataFrame(rows).assign(model=name, dataset=_dataset_name(args))


def small_group(args: argparse.Namespace, model: Any, ds: Any, name: str) -> pd.DataFrame:
    """Fidelity within small groups (Adult: race = Amer-Indian-Eskimo and Other)."""
    frames = [
        _one_group(args, model, ds, name, column, group)
        for column, group in SMALL_GROUPS.get(args.dataset, [])
    ]
    return pd.concat(frames, ignore_index=True)


def _one_group(
    args: argparse.Namespace, model: Any, ds: Any, name: str, column: str, group: str
) -> pd.DataFrame:
    from fairsynth.evaluation import detection_auc, quality_scores

    real = {
        k: t[t[column] == group].drop(columns=[column])
        for k, t in (("train", ds.train), ("test", ds.test))
    }
    numerical = _numerical(real["train"], ds.discrete_columns)
    categorical = [c for c in real["train"].columns if c not in numerical]
    rows = []
    for seed in args.seeds:
        # balanced over the column: ~1/k of the rows come from the small group, λ = 0 within it
        synthetic = model.sample(30_000, by=column, balanced_groups=True, random_state=seed)
        mine = synthetic[synthetic[column] == group].drop(columns=[column])
        for against, table in real.items():
            scores, _, _ = quality_scores(table, mine, numerical)
            auc, _ = detection_auc(table, mine, categorical, numerical, random_state=seed)
            rows += [
                {"metric": f"{k} vs real {against}", "value": v, "seed": seed}
                for k, v in scores.items()
                if not k.endswith("threshold")
            ]
            rows.append({"metric": f"detection AUC vs real {against}", "value": auc, "seed": seed})
    return pd.DataFrame(rows).assign(model=name, dataset=args.dataset, group=f"{column}={group}")


def frontier(args: argparse.Namespace) -> None:
    from fairsynth.frontier import (
        calibrate_fairness,
        exponentiated_gradient_scores,
        fairness_frontier,
        plot_frontier,
    )
    from fairsynth.models.base import BaseSynthesizer

    path = Path(args.model)
    name = path.name.removesuffix(".fairsynth")
    ds = dataset(args)
    out = Path(args.out)
    model = BaseSynthesizer.load(path, device="cpu")
    started = time.perf_counter()
    warnings.simplefilter("ignore", FairnessWarning)  # rates clipped at the far end for race
    if "fidelity" in args.parts:
        fidelity(args, model, ds, name).to_csv(out / f"{name}.fidelity.csv", index=False)
        print(f"fidelity done at {time.perf_counter() - started:.0f} s", file=sys.stderr)
    if not isinstance(model, FairPTGANSynthesizer):
        return
    if "small-group" in args.parts and args.dataset in SMALL_GROUPS:
        small_group(args, model, ds, name).to_csv(out / f"{name}.small_group.csv", index=False)
        print(f"small group done at {time.perf_counter() - started:.0f} s", file=sys.stderr)
    if "calibrate" in args.parts:
        calibration(args, model, ds, name, calibrate_fairness, fairness_frontier)
        print(f"calibration done at {time.perf_counter() - started:.0f} s", file=sys.stderr)
    if "frontier" not in args.parts:
        return
    for columns in ATTRIBUTES[args.dataset]:
        if args.by and " & ".join(columns) not in args.by:
            continue
        label = "x".join(columns)
        rows = fairness_frontier(
            model,
            ds.test,
            fairness=FAIRNESS,
            by=columns,
            seeds=args.seeds,
            real_train=ds.train,
            eg_bounds=(),
        )
        if args.eg:
            eg = exponentiated_gradient_scores(
                ds.train,
                ds.test,
                ds.target,
                ds.positive_label,
                model._sensitive,
                bounds=EG_BOUNDS,
                constrain=columns,
            )
            rows = pd.concat([rows, eg.assign(by=" & ".join(columns))], ignore_index=True)
        if args.peer and len(columns) == 1:  # refitted per seed and λ; empty if not installed
            from benchmarks.peers import peer_frontier

            extra = peer_frontier(args.peer, ds, seeds=args.seeds, protected=columns[0])
            rows = pd.concat([rows, extra.assign(by=columns[0])], ignore_index=True)
        rows.assign(model_file=name, dataset=_dataset_name(args)).to_csv(
            out / f"{name}.frontier.{label}.csv", index=False
        )
        peers = PUBLISHED if args.dataset == "adult" else None
        for variant in ("included", "excluded"):
            plot_frontier(
                rows,
                out / f"{name}.frontier.{label}.{variant}.png",
                sensitive_feature=variant,
                peers=peers,
                title=f"{args.dataset}, {name}: knob by {' & '.join(columns)}, "
                f"sensitive feature {variant}",
            )
        print(f"frontier {label} done at {time.perf_counter() - started:.0f} s", file=sys.stderr)


def calibration(
    args: argparse.Namespace, model: Any, ds: Any, name: str, calibrate: Any, sweep: Any
) -> None:
    """λ for HistGB DP ≤ target on real training rows; its figures on the real test rows."""
    # the classifier never sees these real rows; the test rows never choose λ
    holdout = ds.train
    rows = []
    for seed in args.seeds:
        for variant in (True, False):
            found = calibrate(
                model,
                holdout,
                args.target_dp,
                by=ds.sensitive[0],
                reference_model="HistGB",
                sensitive_as_feature=variant,
                margin=args.margin,
                random_state=seed,
            )
            print(f"seed {seed}, sensitive feature {variant}: {found}", file=sys.stderr)
            test = sweep(
                model,
                ds.test,
                fairness=(found.fairness,),
                by=ds.sensitive[0],
                seeds=(seed,),
                sensitive_feature="included" if variant else "excluded",
            )
            test = test[test["attribute"] == ds.sensitive[0]]
            rows.append(
                test.assign(
                    calibrated_on="real train",
                    met=found.met,
                    target_dp=args.target_dp,
                    margin=args.margin,
                    n_tried=len(found.evaluations),
                )
            )
    pd.concat(rows).assign(model_file=name, dataset=_dataset_name(args)).to_csv(
        out_path(args, f"{name}.calibrated.csv"), index=False
    )


def out_path(args: argparse.Namespace, filename: str) -> Path:
    return Path(args.out) / filename


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("fit", help="fit and save one model")
    p.add_argument("--dataset", default="adult", choices=sorted(ATTRIBUTES))
    p.add_argument("--epochs", type=_epochs, default="auto", help="an int, or 'auto' [auto]")
    p.add_argument("--time-budget", type=float, default=None)
    p.add_argument("--seed", type=int, default=0)
    pairs = p.add_mutually_exclusive_group()
    pairs.add_argument(
        "--cross-group-pairs", action="store_true", default=True, help="[default, as fairsynth]"
    )
    pairs.add_argument(
        "--within-cell-pairs", dest="cross_group_pairs", action="store_false",
        help="tempered pairs drawn within one (group, outcome) cell",
    )  # fmt: skip
    p.add_argument("--ptgan", action="store_true", help="the unconditioned PTGAN instead")
    p.add_argument("--suffix", default="", help="appended to the model's name, e.g. --suffix=-e150")
    p.add_argument("--params", default="{}", help="JSON of estimator parameters")
    p.add_argument(
        "--snapshot-every", type=int, default=0, help="also save the model every N epochs"
    )
    p.add_argument("--out", default=str(OUT))
    p.set_defaults(func=fit)
    p = sub.add_parser("frontier", help="evaluate one model file")
    p.add_argument("model")
    p.add_argument("--dataset", default="adult", choices=sorted(ATTRIBUTES))
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--target-dp", type=float, default=0.05)
    p.add_argument(
        "--margin", type=float, default=0.0, help="calibrate to target-dp minus this [0]"
    )
    p.add_argument("--by", nargs="*", default=None, help="attributes, e.g. 'sex' 'sex & race'")
    p.add_argument("--no-eg", dest="eg", action="store_false")
    p.add_argument("--peer", choices=["mostlyai", "tabfairgdt"], help="also draw a peer's λ sweep")
    p.add_argument(
        "--parts", nargs="+", default=["fidelity", "small-group", "calibrate", "frontier"]
    )
    p.add_argument("--out", default=str(OUT))
    p.set_defaults(func=frontier)
    p = sub.add_parser("summary", help="mean ± sd over seeds of every CSV in --out")
    p.add_argument("--out", default=str(OUT))
    p.set_defaults(func=summary)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (CPU)")
    parser.add_argument("--merge", type=int, default=0, help="merge groups under N rows")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    started = time.perf_counter()
    args.func(args)
    print(f"done in {time.perf_counter() - started:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
