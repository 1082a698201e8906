"""Why the knob's equalized odds bottoms out: each sex's TPR and FPR as λ moves.

Not shipped. For one fitted FairPTGANSynthesizer of Adult (``benchmarks/fair_frontier.py fit``),
its refiner trained again as ``benchmarks/fair_refine.py --refit-refiner`` does, HistGB (S
included) is trained on ``model.sample(n, fairness=λ, by="sex")`` exactly as the calibration
trains it, and its predictions at threshold 0.5 are scored by sex on the real test and training
rows: true- and false-positive rate per sex, the gaps men − women (EO is the larger of the two
in size), and the spread of the test EO over 200 bootstrap draws of the test rows (the same
predictions, so only the test rows' noise). One JSON line per λ is appended to ``--out``::

    python benchmarks/fair_eo_rates.py --threads 1 \\
        benchmarks/runs/fair-refine/adult-fair-cross-s0.fairsynth --seed 0 \\
        --fairness 0 0.25 0.5 0.625 0.75 1 --out benchmarks/results/fair-calibrated/eo/rates.jsonl
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

if not __package__:  # run as a script: the root on the path
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def sex_rates(model: Any, ds: Any, synthetic: pd.DataFrame, real: pd.DataFrame, seed: int) -> Any:
    """Labels, HistGB's predictions and the sex of each row of ``real`` (the calibration's HistGB).

    Returns
    -------
    tuple of arrays
        ``y``, ``predicted`` (0/1) and ``sex`` of the real rows.
    """
    from fairsynth.evaluation._prepare import limit_threads, prepare
    from fairsynth.evaluation.utility import Prediction, _fit_predict
    from fairsynth.frontier._scoring import prevalence

    prepared = prepare(
        real.reset_index(drop=True),
        synthetic,
        None,
        target=ds.target,
        positive_label=ds.positive_label,
        sensitive=["sex"],
        names=("test_frame", "train_frame", ""),
    )  # as tstr_scores: the real table first, the synthetic one in the trained-on role
    prediction = Prediction("HistGB", "train_frame", True)
    train = (prepared.synthetic, prepared.y_synthetic)
    with limit_threads(1):
        _fit_predict(prediction, train, prepared.train, prepared, seed, prevalence(model))
    return prepared.y_train, prediction.pred, prepared.train["sex"].astype(str).to_numpy()


def gaps(y: np.ndarray, predicted: np.ndarray, sex: np.ndarray) -> dict[str, float]:
    """TPR and FPR per sex and their gaps, men − women."""
    out: dict[str, float] = {}
    for group in ("Male", "Female"):
        mine = sex == group
        out[f"tpr_{group}"] = float(predicted[mine & (y == 1)].mean())
        out[f"fpr_{group}"] = float(predicted[mine & (y == 0)].mean())
    out["tpr_gap"] = out["tpr_Male"] - out["tpr_Female"]
    out["fpr_gap"] = out["fpr_Male"] - out["fpr_Female"]
    out["eo"] = max(abs(out["tpr_gap"]), abs(out["fpr_gap"]))
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="model file")
    parser.add_argument("--seed", type=int, default=0, help="sample, classifier and refiner seed")
    parser.add_argument("--fairness", type=float, nargs="+", default=[0, 0.5, 0.625, 0.75, 1])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default="benchmarks/runs/fair-eo-rates.jsonl")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    from fairsynth.datasets import load_dataset
    from fairsynth.models.base import BaseSynthesizer
    from fairsynth.models.fair import FairnessWarning
    from fairsynth.models.refine import fit_refiner

    warnings.simplefilter("ignore", FairnessWarning)
    ds = load_dataset("adult")
    model = BaseSynthesizer.load(args.model, device="cpu")
    model.refiner_ = fit_refiner(model, ds.train, args.seed)
    n_rows, rng = int(np.sum(model.cell_counts_)), np.random.default_rng(args.seed)
    for fairness in args.fairness:
        synthetic = model.sample(n_rows, fairness=fairness, by=["sex"], random_state=args.seed)
        line: dict[str, Any] = {"model_file": Path(args.model).name, "fairness": fairness}
        for name, real in (("train", ds.train), ("test", ds.test)):  # test last: kept below
            y, predicted, sex = sex_rates(model, ds, synthetic, real, args.seed)
            line |= {f"{name}_{k}": round(v, 4) for k, v in gaps(y, predicted, sex).items()}
        draws = (rng.integers(0, len(y), len(y)) for _ in range(200))
        boot = [gaps(y[i], predicted[i], sex[i])["eo"] for i in draws]
        line |= {"test_eo_boot_sd": round(float(np.std(boot)), 4)}
        line |= {"test_women_positives": int(((sex == "Female") & (y == 1)).sum())}
        with Path(args.out).open("a") as handle:
            handle.write(json.dumps(line) + "\n")
        print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
