"""Whether the draw's two guards act on a model (fairsynth/models/_draw.py).

For a fitted model, draws one pool of 8 candidates for each of ``--rows`` rows, as ``sample``
does (a fair model at ``--fairness``), and prints, for the whole pool or each (group, outcome)
cell of a fair model: the effective sample size of the odds as a share of the wanted rows (the
odds are flattened below 0.25), and the columns' mean total-variation misfit after raking
without and with the pairs' margins (the pairs are kept if the second is at most 1.5 times the
first plus 0.001). One JSON line per pool or cell.

Usage::

    python -m benchmarks.draw_checks adult-s0.fairsynth      # benchmarks.refine_cost --save
    python -m benchmarks.draw_checks wide-s0.fairsynth --table wide   # benchmarks.wide_fidelity
    python -m benchmarks.draw_checks benchmarks/runs/fair-refine/adult-fair-cross-s0.fairsynth \\
        --refit-refiner --fairness 1.6
"""

from __future__ import annotations

import argparse
import json
from typing import Any

import numpy as np


def checks(
    rows: Any, groups: np.ndarray, log_weights: np.ndarray, margins: Any, k: int
) -> dict[str, Any]:
    """The two guards' readings for one pool (``rows``, decoded candidates)."""
    from fairsynth.models import _draw

    n = len(rows) // k
    out: dict[str, Any] = {
        "rows": n,
        "effective_share": round(_draw._effective(log_weights) / n, 3),
    }
    if margins is None:
        return out
    flat = _draw._flatten(log_weights, _draw._MIN_EFFECTIVE * n)
    start = _draw._fill(np.exp(flat - flat.max()), groups, k)
    terms = margins.terms(rows)
    columns = [t for t in terms if not t.pair]
    alone = _draw._misfit(_draw._rake(start, groups, k, columns), columns)
    both = _draw._misfit(_draw._rake(start, groups, k, terms), columns)
    scale, shift = _draw._PAIR_SLACK
    return out | {"misfit_without_pairs": round(alone, 4), "misfit_with_pairs": round(both, 4),
                  "pairs_kept": both <= scale * alone + shift}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model")
    parser.add_argument("--table", choices=["adult", "wide"], default="adult")
    parser.add_argument("--rows", type=int, default=30_162)
    parser.add_argument("--fairness", type=float, default=0.0, help="a fair model's λ")
    parser.add_argument("--refit-refiner", action="store_true")
    args = parser.parse_args()

    import torch

    from fairsynth import load_dataset
    from fairsynth.models.base import BaseSynthesizer
    from fairsynth.models.refine import fit_refiner

    model = BaseSynthesizer.load(args.model, device="cpu")
    if args.refit_refiner:
        if args.table == "wide":
            from benchmarks.widetable import wide_table

            train = wide_table(30_162, random_state=0)
        else:
            train = load_dataset("adult").train
        model.refiner_ = fit_refiner(model, train, 0)
    k = 8
    fair = {"fairness": args.fairness} if getattr(model, "target", None) is not None else {}
    plan, _ = model._plan_sample(args.rows, 0, **fair)
    with torch.no_grad():
        candidates, groups, prior = model._candidates(
            args.rows, k, torch.Generator().manual_seed(0), plan
        )
    rows = model.transformer_.inverse_transform(candidates.numpy())
    log_weights = prior + model.refiner_.log_weights(rows)
    cells = model.refiner_.cell_margins
    if cells is None:
        reading = checks(rows, groups, log_weights, model.refiner_.margins, k)
        print(json.dumps({"pool": "all"} | reading))
        return
    keys = cells.keys(rows)
    for key in np.unique(keys):
        inside = np.flatnonzero(keys == key)
        own = np.unique(groups[inside], return_inverse=True)[1]
        margins = cells.cells.get(str(key))
        reading = checks(rows.iloc[inside], own, log_weights[inside], margins, k)
        print(json.dumps({"pool": str(key).replace("\x1f", " / ")} | reading))


if __name__ == "__main__":
    main()
