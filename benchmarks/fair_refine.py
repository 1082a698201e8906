"""The fair model with and without importance resampling, and calibration with a margin.

Not shipped. For one fitted FairPTGANSynthesizer (``benchmarks/fair_frontier.py fit``), scored
twice without a refit: as fitted (``refine='auto'``: 8 candidates a row today, 4 before) and
with ``model.set_params(refine=1)`` (the generator's own rows), so the pair isolates the effect
of the refinement. For each:

- λ = 0 fidelity, one sample of the training size: detection AUC against the real training and
  test rows, Quality, TSTR HistGB / LogReg AUC, label gap by sex, >50K share;
- the calibrated fair end exactly as docs/fairness.md measures it: ``calibrate_fairness(model,
  ds.train, target, by="sex", reference_model="HistGB", random_state=seed)`` on the real
  training rows, then HistGB (S included) trained on the sample at that λ and scored on the real
  test rows (AUC, DP, EO, DP at fixed rate), for targets 0.05 (today's) and with margins (0.045,
  0.04, ...). The calibration's evaluations are cached across targets (the same sample and
  classifier for a λ), so a further target costs only the λ it adds. ``--metric eo``
  calibrates the equalized-odds difference instead of DP (docs/fairness.md, "Equalized
  odds"); part ``curve`` then scores every λ the calibrations tried on the test rows too.

One JSON line per (model, refine, part) is appended to ``--out``/results.jsonl, so a run cut
short keeps what it finished::

    python benchmarks/fair_refine.py --threads 1 \
        benchmarks/runs/fair-refine/adult-fair-cross-s0.fairsynth --seed 0 \
        --out benchmarks/runs/fair-refine
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

if not __package__:  # run as a script: the root on the path
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

TARGETS = (0.05, 0.045, 0.04)


def _cached_sample(model: Any) -> None:
    """Memoise ``model.sample`` (by its arguments and the refine setting) on the instance."""
    original = model.sample
    cache: dict[str, Any] = {}

    def sample(*args: Any, **kwargs: Any) -> Any:
        key = repr((model.refine, args, sorted(kwargs.items())))
        if key not in cache:
            cache[key] = original(*args, **kwargs)
        return cache[key].copy()

    model.sample = sample


def _cached_scores(model: Any) -> None:
    """Memoise the calibration's scoring of a λ (train rows only pass through it)."""
    from fairsynth.frontier import calibrate

    original = calibrate.score_synthetic
    cache: dict[str, Any] = {}

    def score(the_model: Any, real: Any, fairness: float, **kwargs: Any) -> Any:
        key = repr((model.refine, len(real), fairness, sorted(kwargs.items())))
        if key not in cache:
            cache[key] = original(the_model, real, fairness, **kwargs)
        return [dict(row) for row in cache[key]]

    calibrate.score_synthetic = score  # type: ignore[assignment]


def exact_copies(synthetic: pd.DataFrame, real: pd.DataFrame) -> float:
    """Share of synthetic rows equal in every column to a real row (values compared as text)."""

    def keys(frame: pd.DataFrame) -> pd.Series:
        text = {
            c: frame[c].astype(float if pd.api.types.is_numeric_dtype(real[c]) else str)
            for c in real.columns
        }
        return pd.DataFrame(text).astype(str).agg("|".join, axis=1)

    return float(keys(synthetic).isin(set(keys(real))).mean())


def fidelity(model: Any, ds: Any, seed: int) -> dict[str, Any]:
    from fairsynth.evaluation import detection_auc, label_gap, quality_scores, tstr_scores

    started = time.perf_counter()
    synth = model.sample(len(ds.train), random_state=seed)
    sample_s = time.perf_counter() - started
    discrete = list(ds.discrete_columns)
    numerical = [c for c in ds.train.columns if c not in discrete]
    quality = quality_scores(ds.train, synth, numerical)[0]
    positive = (synth[ds.target] == ds.positive_label).to_numpy()
    scores = tstr_scores(
        synth,
        ds.test,
        ds.target,
        ds.positive_label,
        "sex",
        selection_rate=float(np.mean(ds.train[ds.target] == ds.positive_label)),
    )
    detection = {
        name: detection_auc(real, synth, discrete, numerical, random_state=seed)[0]
        for name, real in (("detection_auc", ds.train), ("detection_auc_test", ds.test))
    }
    return {
        "sample_s": round(sample_s, 2),
        "exact_copies": exact_copies(synth, ds.train),
        **detection,
        "quality": float(quality["Quality"]),
        "column_shapes": float(quality["Column Shapes"]),
        "column_pair_trends": float(quality["Column Pair Trends"]),
        "histgb_auc": float(scores.loc["HistGB", "auc"]),
        "logreg_auc": float(scores.loc["LogReg", "auc"]),
        "histgb_dp": float(scores.loc["HistGB", "dp[sex]"]),
        "logreg_dp": float(scores.loc["LogReg", "dp[sex]"]),
        "label_gap_sex": float(label_gap(positive, synth["sex"])),
        "positive_share": float(positive.mean()),
    }


def test_scores(model: Any, ds: Any, seed: int, fairness: float, included: bool) -> dict:
    """HistGB trained on the sample at ``fairness`` and scored by sex on the real test rows."""
    from fairsynth.frontier._scoring import prevalence, score_synthetic

    rows = score_synthetic(  # as fair_frontier.py's calibration (fairness_frontier) scores it
        model,
        ds.test.reset_index(drop=True),
        fairness,
        sensitive=model._sensitive,
        by=["sex"],
        variants=[included],
        models=["HistGB"],
        n_samples=int(np.sum(model.cell_counts_)),
        balanced_groups=False,
        seed=seed,
        options={"selection_rate": prevalence(model), "random_state": seed, "n_threads": 1},
    )
    test = next(r for r in rows if r["attribute"] == "sex")
    return {k: float(test[k]) for k in ("auc", "dp", "eo", "dp_at_rate", "accuracy")}


def calibrated(
    model: Any,
    ds: Any,
    seed: int,
    target: float,
    included: bool = True,
    tolerance: float = 0.05,
    metric: str = "dp",
) -> tuple[dict[str, Any], pd.DataFrame]:
    """docs/fairness.md's calibrated fair end for one target: λ on train, scores on test.

    Returns the result row and the calibration's evaluations (every λ tried, train rows).
    """
    from fairsynth.frontier import calibrate_fairness

    found = calibrate_fairness(
        model,
        ds.train,
        target,
        metric=metric,
        by="sex",
        reference_model="HistGB",
        sensitive_as_feature=included,
        tolerance=tolerance,
        random_state=seed,
    )
    row = {
        "metric": metric,
        "target": target,
        "sensitive_feature": "included" if included else "excluded",
        "fairness": found.fairness,
        "met_on_train": found.met,
        "train_dp": found.scores["dp"],
        "train_eo": found.scores["eo"],
        "train_auc": found.scores["auc"],
        "n_tried": len(found.evaluations),
        **test_scores(model, ds, seed, found.fairness, included),
    }
    return row, found.evaluations


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?", help="model file (omit with --summary)")
    parser.add_argument("--seed", type=int, default=0, help="sample and classifier seed")
    parser.add_argument("--refine", type=int, nargs="+", default=[0, 1],
                        help="0: as fitted; k: set_params(refine=k)")  # fmt: skip
    parser.add_argument("--targets", type=float, nargs="*", default=list(TARGETS))
    parser.add_argument("--excluded-targets", type=float, nargs="*", default=[],
                        help="targets calibrated with S excluded (after --targets)")  # fmt: skip
    parser.add_argument("--parts", nargs="+", default=["fidelity", "calibrate"],
                        help="fidelity, calibrate; curve: each λ calibrated, on test")  # fmt: skip
    parser.add_argument("--metric", choices=["dp", "eo"], default="dp",
                        help="what calibrate_fairness brings to the target")  # fmt: skip
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--tolerance",
        type=float,
        default=0.05,
        help="the calibration's final bracket in λ (calibrate_fairness)",
    )
    parser.add_argument("--refit-refiner", action="store_true",
                        help="train the refiner again with today's code first (a file fitted "
                        "before the calibrated draw keeps its old refiner otherwise)")  # fmt: skip
    parser.add_argument("--out", default="benchmarks/runs/fair-refine")
    parser.add_argument("--summary", action="store_true",
                        help="write CSVs and summary.md from --out/results.jsonl")  # fmt: skip
    args = parser.parse_args(argv)
    if args.summary:
        summary(Path(args.out))
        return
    import torch

    torch.set_num_threads(args.threads)
    from fairsynth.datasets import load_dataset
    from fairsynth.models.base import BaseSynthesizer
    from fairsynth.models.fair import FairnessWarning

    warnings.simplefilter("ignore", FairnessWarning)
    ds = load_dataset("adult")
    model = BaseSynthesizer.load(args.model, device="cpu")
    if args.refit_refiner:
        from fairsynth.models.refine import fit_refiner

        model.refiner_ = fit_refiner(model, ds.train, args.seed)
    fitted_refine = model.refine
    _cached_sample(model)
    _cached_scores(model)
    name = Path(args.model).name.removesuffix(".fairsynth")
    out = Path(args.out) / "results.jsonl"
    for refine in args.refine:
        model.set_params(refine=fitted_refine if refine == 0 else refine)
        key = {"model_file": name, "seed": args.seed, "refine": str(model.refine)}

        def write(part: str, values: dict[str, Any], started: float, key: dict = key) -> None:
            line = key | {"part": part, "seconds": round(time.perf_counter() - started, 1)}
            line |= values
            with out.open("a") as handle:
                handle.write(json.dumps(line) + "\n")
            print(json.dumps(line), flush=True)

        if "fidelity" in args.parts:
            started = time.perf_counter()
            write("fidelity", fidelity(model, ds, args.seed), started)
        if "calibrate" in args.parts:
            tried: dict[tuple[bool, float], dict] = {}
            runs = [(t, True) for t in args.targets] + [(t, False) for t in args.excluded_targets]
            for target, included in runs:
                started = time.perf_counter()
                found, evaluations = calibrated(
                    model, ds, args.seed, target, included, args.tolerance, args.metric
                )
                write("calibrated", found | {"tolerance": args.tolerance}, started)
                for row in evaluations.to_dict("records"):
                    tried[(included, row["fairness"])] = row
            for (included, fairness), row in sorted(tried.items()):
                if "curve" not in args.parts:
                    break
                started = time.perf_counter()
                train = {f"train_{k}": float(row[k]) for k in ("auc", "dp", "eo")}
                test = test_scores(model, ds, args.seed, fairness, included)
                values = {"metric": args.metric, "fairness": fairness} | train | test
                variant = "included" if included else "excluded"
                write("curve", values | {"sensitive_feature": variant}, started)


def _mean_sd(values: pd.Series, digits: int = 3) -> str:
    return f"{values.mean():.{digits}f} ± {values.std(ddof=1):.{digits}f}"


def _load(out: Path) -> pd.DataFrame:
    """results.jsonl as a table, the last line of each key kept (a rerun replaces a line)."""
    table = pd.DataFrame([json.loads(line) for line in (out / "results.jsonl").open()])
    if "metric" not in table:
        table["metric"] = None
    calibrating = table["part"] != "fidelity"  # lines from before --metric calibrated DP
    table.loc[calibrating, "metric"] = table.loc[calibrating, "metric"].fillna("dp")
    table["refine"] = table["refine"].map({"auto": "on (auto)", "1": "off (1)"})
    keys = ["model_file", "refine", "part", "metric", "target", "sensitive_feature"]
    curve = table["part"] == "curve"
    return pd.concat(
        [
            table[~curve].drop_duplicates(keys, keep="last"),
            table[curve].drop_duplicates([*keys, "fairness"], keep="last"),
        ]
    )


def _curve_md(curve: pd.DataFrame) -> list[str]:
    """Per fit: the λ with the lowest metric on the training rows, and on the test rows."""
    md = ["", "## Every λ the calibrations tried, scored on the test rows too (part curve)", ""]
    md += ["| fit | S | metric | λ tried | lowest on train: λ, train, test, test AUC "
           "| lowest on test: λ, test, test AUC | test by λ |", "|---" * 7 + "|"]  # fmt: skip
    groups = curve.groupby(["model_file", "sensitive_feature", "metric"])
    for (fit, variant, metric), part in groups:
        at = part.loc[part[f"train_{metric}"].idxmin()]
        best = part.loc[part[metric].idxmin()]
        values = zip(part["fairness"], part[metric], strict=True)
        by_fairness = ", ".join(f"{f:g}: {v:.3f}" for f, v in sorted(values))
        md.append(
            f"| {fit} | {variant} | {metric} | {len(part)} | {at.fairness:.4g}, "
            f"{at[f'train_{metric}']:.4f}, {at[metric]:.4f}, {at.auc:.4f} | {best.fairness:.4g}, "
            f"{best[metric]:.4f}, {best.auc:.4f} | {by_fairness} |"
        )
    return md


def summary(out: Path) -> None:
    """results.jsonl → fidelity.csv, calibrated.csv, curve.csv and summary.md."""
    table = _load(out)
    parts = {name: table[table["part"] == name] for name in ("fidelity", "calibrated", "curve")}
    for name, part in parts.items():
        if len(part):
            parts[name] = part.dropna(axis=1, how="all")
            parts[name].to_csv(out / f"{name}.csv", index=False)
    fidelity, calibrated, curve = parts.values()
    md = ["# FairPTGAN with and without importance resampling (benchmarks/fair_refine.py)", ""]
    metrics = ["detection_auc", "detection_auc_test", "quality", "column_shapes",
               "column_pair_trends", "histgb_auc", "logreg_auc", "histgb_dp", "label_gap_sex",
               "positive_share", "exact_copies"]  # fmt: skip
    if len(fidelity):  # a run of --parts calibrate has none
        md += ["## λ = 0 fidelity (mean ± sd over fits)", "", "| refine | fits | "
               + " | ".join(metrics) + " |", "|---|---|" + "---|" * len(metrics)]  # fmt: skip
    for refine, part in fidelity.groupby("refine"):
        cells = [_mean_sd(part[m]) for m in metrics]
        md.append(f"| {refine} | {len(part)} | " + " | ".join(cells) + " |")
    md += ["", "## Calibrated fair end (HistGB, by sex, λ on the training rows, test rows)", ""]
    md += ["| refine | S | metric ≤ target on train | fits | λ | test AUC | test DP | EO "
           "| DP at rate | fits with test metric ≤ 0.05 | of them AUC ≥ 0.88 | max test metric |",
           "|---" * 12 + "|"]  # fmt: skip
    keys = ["refine", "sensitive_feature", "metric", "target"]
    for (refine, variant, metric, target), part in calibrated.groupby(keys):
        meets = part[metric] <= 0.05
        md.append(
            f"| {refine} | {variant} | {metric} ≤ {target:g} | {len(part)} "
            f"| {_mean_sd(part['fairness'], 2)} | {_mean_sd(part['auc'])} "
            f"| {_mean_sd(part['dp'])} | {_mean_sd(part['eo'])} | {_mean_sd(part['dp_at_rate'])} "
            f"| {int(meets.sum())} of {len(part)} | {int((meets & (part['auc'] >= 0.88)).sum())} "
            f"| {part[metric].max():.4f} |"
        )
    md += ["", "## Paired: refine on − off (same fits, mean ± sd)", ""]
    for metric in metrics if len(fidelity) else []:
        wide = fidelity.pivot_table(index="model_file", columns="refine", values=metrics)
        if metric in wide and wide[metric].shape[1] == 2:
            diff = (wide[metric]["on (auto)"] - wide[metric]["off (1)"]).dropna()
            md.append(f"- λ = 0 {metric}: {_mean_sd(diff, 4)} ({len(diff)} fits)")
    for (variant, metric, target), part in calibrated.groupby(keys[1:]):
        wide = part.pivot_table(index="model_file", columns="refine", values=["auc", metric])
        if wide["auc"].shape[1] == 2:
            auc = (wide["auc"]["on (auto)"] - wide["auc"]["off (1)"]).dropna()
            gap = (wide[metric]["on (auto)"] - wide[metric]["off (1)"]).dropna()
            md.append(
                f"- calibrated, S {variant}, {metric} ≤ {target:g}: test AUC {_mean_sd(auc, 4)}, "
                f"test {metric} {_mean_sd(gap, 4)} ({len(auc)} fits)"
            )
    md += ["", "## Margin: the same refine, target t against 0.05 (paired)", ""]
    included = calibrated[calibrated["sensitive_feature"] == "included"]
    for (refine, metric), part in included.groupby(["refine", "metric"]):
        wide = part.pivot_table(index="model_file", columns="target", values=["auc", metric])
        for target in wide["auc"].columns:
            if target == 0.05 or 0.05 not in wide["auc"].columns:
                continue
            auc = (wide["auc"][target] - wide["auc"][0.05]).dropna()
            md.append(
                f"- refine {refine}, {metric} ≤ {target:g}: test AUC {_mean_sd(auc, 4)} against "
                f"0.05 ({len(auc)} fits), test {metric} max {wide[metric][target].max():.4f}"
            )
    md += ["", "## By fit", "", "| fit | refine | S | metric ≤ target | λ | train metric "
           "| test AUC | test DP | EO | DP at rate |", "|---" * 10 + "|"]  # fmt: skip
    for row in calibrated.sort_values(["model_file", "refine", *keys[1:]]).to_dict("records"):
        md.append(
            f"| {row['model_file']} | {row['refine']} | {row['sensitive_feature']} "
            f"| {row['metric']} ≤ {row['target']:g} | {row['fairness']:.4g} "
            f"| {row['train_' + row['metric']]:.4f} | {row['auc']:.4f} | {row['dp']:.4f} "
            f"| {row['eo']:.3f} | {row['dp_at_rate']:.3f} |"
        )
    md += _curve_md(curve) if len(curve) else []
    (out / "summary.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()
