"""A peer's fairness frontier beside FairPTGAN's knob and ExponentiatedGradient, on one figure.

Not shipped. The peer (benchmarks/peers: ``tabfairgdt``) is fitted once per (seed, λ) and its
sample scored by the evaluation module's classifiers on the real test rows, the protocol of
the knob's own frontier; the knob's points and ExponentiatedGradient's are read from committed
frontier CSVs (``benchmarks/fair_frontier.py frontier``), so no GAN is refitted. Writes to
``--out``: ``<dataset>-<peer>.<by>.frontier.csv`` (every attribute), one PNG per sensitive-feature
variant (``<dataset>.<by>.<variant>.png``) and ``<dataset>.<by>.summary.md`` (mean ± sd over
seeds per λ, and the knob's HistGB / LogReg AUC interpolated at each peer point's DP). When the
peer is not installed it says so in one line and draws the rest.

Example (docs/fair-peers.md)::

    python -m benchmarks.peer_frontier --dataset adult --by sex --seeds 0 1 2 \\
        --ours 'benchmarks/results/fair-pmv/adult-fair-cross-s*.frontier.sex.csv' \\
        --eg benchmarks/results/fair-pmv/exponentiated-gradient.frontier.sex.csv \\
        --out benchmarks/results/peer-tabfairgdt
"""

from __future__ import annotations

import argparse
import glob
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.fair_frontier import dataset
from benchmarks.fair_summary import markdown, mean_sd
from benchmarks.peers import PEERS, peer_frontier

__all__ = ["at_same_dp", "draw", "knob_tables", "main", "summarize"]

METRICS = ["auc", "dp", "eo", "dp_at_rate"]
EXTRA = ["positive_share", "exact_copy_share", "fit_s"]


def _read(patterns: Sequence[str]) -> pd.DataFrame:
    files = sorted({f for pattern in patterns for f in glob.glob(pattern)})
    if not files:
        return pd.DataFrame()
    return pd.concat([pd.read_csv(f) for f in files], ignore_index=True)


def at_same_dp(peer: pd.DataFrame, ours: pd.DataFrame, attribute: str) -> pd.DataFrame:
    """Each peer point (mean over seeds per λ) with the knob's AUC interpolated at its DP.

    The knob's curve is its mean over fits per λ, for the same classifier and sensitive-feature
    variant, up to its smallest DP (past parity the DP rises again); a peer DP outside the
    knob's range gets NaN.
    """
    keys = ["model", "sensitive_feature"]
    rows = []
    peer = peer[peer["attribute"] == attribute].groupby([*keys, "fairness"])[["auc", "dp"]].mean()
    mine = ours[(ours["attribute"] == attribute) & (ours["source"] == "FairPTGAN")]
    curves = mine.groupby([*keys, "fairness"])[["auc", "dp"]].mean().reset_index()
    for (model, variant, fairness), point in peer.iterrows():
        curve = curves[(curves["model"] == model) & (curves["sensitive_feature"] == variant)]
        curve = curve.sort_values("fairness")
        if not curve.empty:  # the monotone part: λ = 0 down to the DP minimum
            curve = curve.iloc[: int(np.argmin(curve["dp"].to_numpy())) + 1].sort_values("dp")
        inside = not curve.empty and curve["dp"].min() <= point["dp"] <= curve["dp"].max()
        knob = float(np.interp(point["dp"], curve["dp"], curve["auc"])) if inside else np.nan
        rows.append(
            {"model": model, "sensitive_feature": variant, "fairness": fairness}
            | {"peer_auc": point["auc"], "peer_dp": point["dp"], "knob_auc_at_dp": knob}
            | {"peer_minus_knob": point["auc"] - knob}
        )
    return pd.DataFrame(rows)


def knob_tables(
    path: Path, data: Any, fairness: Sequence[float], seeds: Sequence[int], by: str
) -> pd.DataFrame:
    """A saved FairPTGAN model sampled at each λ (no refit): the same per-table figures."""
    from fairsynth.evaluation import exact_copies
    from fairsynth.labels import is_label
    from fairsynth.models.base import BaseSynthesizer

    model = BaseSynthesizer.load(path, device="cpu")
    train = data.train.reset_index(drop=True)
    rows = []
    for seed in seeds:
        for value in fairness:
            started = time.perf_counter()
            rows_ = model.sample(len(train), fairness=value, by=by, random_state=seed)
            rows.append(
                {"source": "FairPTGAN", "fairness": value, "seed": seed, "model_file": path.name}
                | {"fit_s": model.fit_time_, "sample_s": time.perf_counter() - started}
                | {
                    "positive_share": float(
                        np.mean(is_label(rows_[data.target], data.positive_label))
                    )
                }
                | {"exact_copy_share": float(exact_copies(train, rows_).mean())}
            )
    return pd.DataFrame(rows)


def summarize(peer: pd.DataFrame, ours: pd.DataFrame, attribute: str) -> str:
    """Markdown: the peer's points (mean ± sd over seeds), the knob's, and the comparison."""
    parts = []
    if not peer.empty:
        shown = peer[peer["attribute"] == attribute]
        keys = ["source", "sensitive_feature", "model", "fairness"]
        parts += [f"## Peer by {attribute} (mean ± sd over seeds)\n"]
        parts += [markdown(mean_sd(shown, keys, [*METRICS, "data_gap"])), ""]
        tables = shown.drop_duplicates(["fairness", "seed"])
        parts += ["## Peer's tables (per λ, over seeds)\n"]
        parts += [markdown(mean_sd(tables, ["fairness"], EXTRA)), ""]
        spread = shown.groupby(["sensitive_feature", "model", "fairness"])["dp"].agg(["min", "max"])
        parts += ["## Peer's DP range over seeds\n", markdown(spread.reset_index()), ""]
    if not ours.empty:
        mine = ours[(ours["attribute"] == attribute) & (ours["source"] != "ExponentiatedGradient")]
        keys = ["source", "sensitive_feature", "model", "fairness"]
        parts += [f"## FairPTGAN's knob by {attribute} (mean ± sd over fits)\n"]
        parts += [markdown(mean_sd(mine, keys, METRICS)), ""]
    if not peer.empty and not ours.empty:
        parts += ["## Peer against the knob at the same DP (mean over seeds / fits)\n"]
        parts += [markdown(at_same_dp(peer, ours, attribute)), ""]
    return "\n".join(parts)


def draw(table: pd.DataFrame, out: Path, name: str, attribute: str, note: str = "") -> list[Path]:
    """One PNG per sensitive-feature variant present in ``table``."""
    from fairsynth.frontier import plot_frontier

    paths = []
    for variant in ("included", "excluded"):
        part = table[(table["sensitive_feature"] == variant) & (table["attribute"] == attribute)]
        if part.empty:
            continue
        path = out / f"{name}.{attribute.replace(' & ', 'x')}.{variant}.png"
        title = f"{name} by {attribute}, sensitive feature {variant}{note}"
        paths.append(
            plot_frontier(part, path, attribute=attribute, sensitive_feature=variant, title=title)
        )
    return paths


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="adult")
    parser.add_argument("--by", default="sex", help="the attribute drawn (a sensitive column)")
    parser.add_argument("--protected", default=None, help="the peer's protected column [--by]")
    parser.add_argument("--peer", default="tabfairgdt", choices=sorted(PEERS))
    parser.add_argument("--fairness", type=float, nargs="+", default=None, help="the peer's λ")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--ours", nargs="*", default=[], help="FairPTGAN frontier CSV globs")
    parser.add_argument("--eg", nargs="*", default=[], help="ExponentiatedGradient CSV globs")
    parser.add_argument("--merge", type=int, default=0, help="merge groups under N rows")
    parser.add_argument(
        "--knob-model", type=Path, help="a saved FairPTGAN: its >50K and exact-copy shares"
    )
    parser.add_argument("--knob-fairness", type=float, nargs="+", default=[0.0, 1.0, 2.0])
    parser.add_argument("--out", type=Path, default=Path("benchmarks/runs/peer-frontier"))
    args = parser.parse_args(argv)
    started = time.perf_counter()
    data = dataset(args)
    args.out.mkdir(parents=True, exist_ok=True)
    options: dict = {"seeds": args.seeds, "protected": args.protected or args.by}
    if args.fairness is not None:
        options["fairness"] = args.fairness
    peer = peer_frontier(args.peer, data, **options)
    name = args.dataset + (f"-merged{args.merge}" if args.merge else "")
    label = args.by.replace(" & ", "x")
    if not peer.empty:
        peer = peer.assign(by=args.by, model_file=args.peer, dataset=name)
        peer.to_csv(args.out / f"{name}-{args.peer}.{label}.frontier.csv", index=False)
    ours = _read(args.ours)
    eg = _read(args.eg).drop_duplicates(["sensitive_feature", "fairness", "attribute"])
    table = pd.concat([frame for frame in (ours, eg, peer) if not frame.empty], ignore_index=True)
    if table.empty:
        raise SystemExit("Nothing to draw: no peer rows and no --ours / --eg files matched.")
    note = "" if not peer.empty else f" ({args.peer} not installed)"
    for path in draw(table, args.out, name, args.by, note):
        print(f"wrote {path}")
    text = summarize(peer, ours, args.by)
    if args.knob_model is not None:
        knob = knob_tables(args.knob_model, data, args.knob_fairness, args.seeds, args.by)
        knob.to_csv(args.out / f"{name}-knob.{label}.tables.csv", index=False)
        text += "\n## FairPTGAN's tables (a saved model sampled per λ, over seeds)\n\n"
        text += markdown(mean_sd(knob, ["fairness"], [*EXTRA, "sample_s"])) + "\n"
    (args.out / f"{name}.{label}.summary.md").write_text(text)
    print(text)
    print(f"done in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
