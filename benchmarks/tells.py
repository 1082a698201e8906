"""Where a model's Adult rows give themselves away: detection AUC by column, by pair, by group.

Samples as many rows as Adult's training split from a fitted model (a model file, or a fresh
fit of PTGAN with ``--params``, one thread) and trains the evaluation's detection classifier
(HistGB, 3-fold, 8,000 rows of each table) on: all columns; the numeric and the categorical
ones apart; all but one column (leave-one-out); each column alone; each pair of columns. A
pair's *lift* is its AUC above the better of its two columns alone: what the pair's joint
distribution gives away beyond its margins. Prints one JSON object.

Usage::

    python -m benchmarks.tells --params '{}' --seed 0 --save /tmp/ptgan-0.fairsynth
    python -m benchmarks.tells --model /tmp/ptgan-0.fairsynth --top 15
"""

from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path
from typing import Any

ROWS = 8_000


def tells(real: Any, synthetic: Any, discrete: list[str], top: int) -> dict[str, Any]:
    """The detection AUCs described in the module docstring."""
    from fairsynth.evaluation import column_detection, detection_auc

    numeric = [c for c in real.columns if c not in discrete]

    def auc(columns: list[str]) -> float:
        cat = [c for c in columns if c in discrete]
        num = [c for c in columns if c in numeric]
        return round(detection_auc(real, synthetic, cat, num, max_rows=ROWS)[0], 3)

    columns = list(real.columns)
    # each column alone and all but it: the evaluation's per-column table, at full size
    table = column_detection(real, synthetic, list(discrete), numeric, max_rows=ROWS,
                             column_rows=ROWS, max_iter=100)[0].set_index("column")  # fmt: skip
    single = {c: round(float(table.loc[c, "auc_alone"]), 3) for c in columns}
    pairs = {(a, b): auc([a, b]) for a, b in itertools.combinations(columns, 2)}
    lift = {k: round(v - max(single[k[0]], single[k[1]]), 3) for k, v in pairs.items()}
    worst = sorted(lift, key=lambda k: -lift[k])[:top]
    return {
        "all": auc(columns),
        "numeric": auc(numeric),
        "categorical": auc(list(discrete)),
        "leave_one_out": {c: round(float(table.loc[c, "auc_without"]), 3) for c in columns},
        "single": single,
        "pairs_by_lift": [[a, b, pairs[(a, b)], lift[(a, b)]] for a, b in worst],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, help="a model file (else a fresh PTGAN fit)")
    parser.add_argument("--params", default="{}", help="JSON of PTGANSynthesizer parameters")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--save", type=Path, help="where to keep the fresh fit's model file")
    parser.add_argument("--top", type=int, default=15, help="pairs to list, largest lift first")
    args = parser.parse_args()

    from fairsynth import PTGANSynthesizer, load_dataset
    from fairsynth.models.base import BaseSynthesizer

    ds = load_dataset("adult")
    if args.model is not None:
        model: Any = BaseSynthesizer.load(args.model)
    else:
        params = {"random_state": args.seed, "verbose": False, "n_threads": 1}
        model = PTGANSynthesizer(**{**params, **json.loads(args.params)}).fit(ds.train)
        if args.save is not None:
            model.save(args.save)
    synthetic = model.sample(len(ds.train), random_state=args.seed)
    print(json.dumps(tells(ds.train, synthetic, list(ds.discrete_columns), args.top)))


if __name__ == "__main__":
    main()
