"""Short private fits of PTGAN on Adult under varied settings, scored quickly (issue 20).

The sweep behind docs/privacy.md's recipe: each case fits PTGAN once (one torch thread,
``fit_check`` off) with the parameters given, samples as many rows as the training split and
scores them by TSTR (LogReg and HistGB AUC on the real test split, sex a feature) and the
whole-table detection AUC (docs/evaluation.md); one JSON line a case is appended to
benchmarks/results/privacy/sweep.jsonl. The full protocol (Quality, DP by sex, membership
attack) is benchmarks/privacy.py's.

Usage::

    python -m benchmarks.privacy_sweep --plan --epsilon 3 --batch 500 2000 5000 --steps 600
    python -m benchmarks.privacy_sweep --tag eps3-b2000 --epsilon 3 \\
        --set batch_size=2000 critic_dims=[64,64] epochs=40 --privacy clip_norm=0.5

``--set`` values are JSON (lists become tuples); ``--epsilon 0`` fits without privacy.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path
from typing import Any

from benchmarks.isolated import append_row

RESULTS = Path(__file__).parent / "results" / "privacy" / "sweep.jsonl"


def _value(text: str) -> Any:
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return text
    return tuple(value) if isinstance(value, list) else value


def _pairs(items: list[str]) -> dict[str, Any]:
    return {k: _value(v) for k, v in (item.split("=", 1) for item in items)}


def plan(epsilon: float, batches: list[int], steps: list[int], n: int = 30_162) -> None:
    """Print the noise multiplier opacus's RDP accountant gives each (batch, steps)."""
    from fairsynth.models.privacy import PrivacySettings, plan_privacy

    settings = PrivacySettings(epsilon, 1.0 / n**2, max_noise_multiplier=1e3)
    for batch in batches:
        for count in steps:
            p = plan_privacy(settings, n, batch, count)
            # noise on the mean gradient, in units of C: 2 z C / batch, per coordinate
            noise = 2 * p.noise_multiplier / batch
            print(f"eps {epsilon:g} batch {batch} steps {count}: q {p.sample_rate:.3f} "
                  f"z {p.noise_multiplier:.2f} noise/coord on the mean {noise:.4f}")  # fmt: skip


def run(tag: str, epsilon: float, params: dict[str, Any], privacy: dict[str, Any],
        seed: int, clip_fake: bool = True, zero_noise: bool = False) -> dict[str, Any]:  # fmt: skip
    """Fit one case, sample, score; return its row."""
    import dataclasses

    import fairsynth.models._tempered as tempered
    from fairsynth import PTGANSynthesizer, load_dataset
    from fairsynth.evaluation.detection import detection_auc
    from fairsynth.evaluation.utility import tstr_scores
    from fairsynth.exceptions import PrivacyWarning
    from fairsynth.models.privacy import PrivateCritic

    PrivateCritic.clip_fake = clip_fake  # False: the ablation (fake rows' gradients unclipped)
    if zero_noise:  # sanity only: the private step without noise (no guarantee at all)
        planned = tempered.plan_privacy

        def noiseless(
            settings: Any, n_rows: int, batch_size: int, steps: int, paired: bool = True
        ) -> Any:
            plan = planned(settings, n_rows, batch_size, steps, paired)
            return dataclasses.replace(plan, noise_multiplier=0.0)

        tempered.plan_privacy = noiseless

    ds = load_dataset("adult")
    setting = None if epsilon == 0 else {"epsilon": epsilon, **privacy}
    options = {"random_state": seed, "verbose": False, "n_threads": 1, "fit_check": False}
    model = PTGANSynthesizer(**{**options, **params}, privacy=setting)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PrivacyWarning)
        model.fit(ds.train)
    synthetic = model.sample(len(ds.train), random_state=seed)
    scores = tstr_scores(
        synthetic, ds.test, ds.target, ds.positive_label, "sex",
        discrete_columns=ds.discrete_columns,
    )  # fmt: skip
    numeric = [c for c in ds.train.columns if c not in ds.discrete_columns and
               ds.train[c].dtype.kind in "if"]  # fmt: skip
    categorical = [c for c in ds.train.columns if c not in numeric]
    detection, _ = detection_auc(ds.train, synthetic, categorical, numeric)
    spent = getattr(model, "privacy_", None) or {}
    share = float((synthetic[ds.target] == ds.positive_label).mean())
    return {
        "tag": tag, "seed": seed, "epsilon": epsilon or None, "params": params,
        "privacy": privacy, "clip_fake": clip_fake if epsilon else None,
        "zero_noise": zero_noise,
        "epsilon_spent": spent.get("epsilon"),
        "noise_multiplier": spent.get("noise_multiplier"), "paired": spent.get("paired"),
        "sample_rate": spent.get("sample_rate"), "steps": spent.get("steps_run"),
        "tstr_histgb_auc": round(float(scores.loc["HistGB", "auc"]), 4),
        "tstr_logreg_auc": round(float(scores.loc["LogReg", "auc"]), 4),
        "detection_auc": round(float(detection), 4), "positive_share": round(share, 4),
        "Train_Time": round(model.fit_time_, 1), "torch_threads": model.n_threads_,
        "when": time.strftime("%Y-%m-%d %H:%M"),
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tag", default="case")
    parser.add_argument("--epsilon", type=float, default=3.0, help="0: no privacy")
    parser.add_argument("--set", nargs="*", default=[], help="PTGAN parameters, key=JSON")
    parser.add_argument("--privacy", nargs="*", default=[], help="privacy keys, key=JSON")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--unclipped-fake", action="store_true", help="ablation: old step")
    parser.add_argument("--zero-noise", action="store_true", help="sanity: z = 0, no privacy")
    parser.add_argument("--plan", action="store_true", help="print noise multipliers only")
    parser.add_argument("--batch", nargs="*", type=int, default=[500])
    parser.add_argument("--steps", nargs="*", type=int, default=[600])
    args = parser.parse_args()
    if args.plan:
        return plan(args.epsilon, args.batch, args.steps)
    row = run(args.tag, args.epsilon, _pairs(args.set), _pairs(args.privacy), args.seed,
              not args.unclipped_fake, args.zero_noise)  # fmt: skip
    append_row(RESULTS, row)


if __name__ == "__main__":
    main()
