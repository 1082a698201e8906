"""Conditional sampling on Adult: exact conditions against rejection from the same model.

One FairPTGANSynthesizer conditioned on (sex, race) × income cells (one thread, seed 0). For
each slice (the four sex × income cells, and race × income cells under 1 % of the rows) it
draws ``--rows`` rows two ways and scores each against the real training rows of that slice:

- **conditioned**: ``model.sample(n, conditions={...})``: every row carries the slice's
  values through the conditioning vector (fairsynth.models.conditions), none is thrown away;
- **rejection**: unconditional rows of the same model, kept when they fall in the slice, until
  ``n`` are kept or ``--max-tries`` rows were generated (what CTGAN and SDV do).

Per slice and way: seconds, rows generated, rows kept, SDMetrics Quality and detection AUC of
the slice's other columns against the real slice. One JSON line per (slice, way) appended to
benchmarks/results/slices/adult.jsonl.

Usage::

    python -m benchmarks.slices --save /tmp/slices.fairsynth          # fit (about 5-10 min)
    python -m benchmarks.slices --model /tmp/slices.fairsynth --rows 10000
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from benchmarks.isolated import append_row

RESULTS = Path(__file__).parent / "results" / "slices" / "adult.jsonl"
SLICES: list[dict[str, str]] = [
    {"sex": "Female", "income": ">50K"},
    {"sex": "Female", "income": "<=50K"},
    {"sex": "Male", "income": ">50K"},
    {"sex": "Male", "income": "<=50K"},
    {"race": "Amer-Indian-Eskimo", "income": ">50K"},
    {"race": "Other", "income": ">50K"},
]


def in_slice(table: Any, wanted: dict[str, str]) -> Any:
    """Boolean mask of the rows of ``table`` that carry every value of ``wanted``."""
    import numpy as np

    mask = np.ones(len(table), dtype=bool)
    for column, value in wanted.items():
        mask &= (table[column].astype(str) == value).to_numpy()
    return mask


def rejection(model: Any, wanted: dict[str, str], rows: int, max_tries: int, seed: int) -> Any:
    """Unconditional rows kept when in the slice: (kept rows, rows generated)."""
    import numpy as np
    import pandas as pd

    kept: list[pd.DataFrame] = []
    have = tried = 0
    rng = np.random.default_rng(seed)
    while have < rows and tried < max_tries:
        batch = min(max_tries - tried, 10_000)  # small batches: no more rows than needed
        chunk = model.sample(batch, random_state=int(rng.integers(2**31)))
        hit = chunk[in_slice(chunk, wanted)]
        kept.append(hit)
        have, tried = have + len(hit), tried + batch
    return pd.concat(kept, ignore_index=True).head(rows), tried


def score(real: Any, rows: Any, wanted: dict[str, str], discrete: list[str]) -> dict[str, Any]:
    """Quality and detection AUC of ``rows`` against ``real`` on the slice's other columns."""
    from fairsynth.evaluation import detection_auc, quality_scores

    if len(rows) < 50:
        return {"Quality": None, "Detection_AUC": None}
    columns = [c for c in real.columns if c not in wanted]
    categorical = [c for c in columns if c in discrete]
    numerical = [c for c in columns if c not in discrete]
    quality = quality_scores(real[columns], rows[columns], numerical)[0]["Quality"]
    detection = detection_auc(real[columns], rows[columns], categorical, numerical)[0]
    return {"Quality": round(float(quality), 4), "Detection_AUC": round(float(detection), 4)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, help="a fitted model file (else fit one)")
    parser.add_argument("--save", type=Path, help="where to keep the fresh fit")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--max-tries", type=int, default=2_000_000)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    from fairsynth import FairPTGANSynthesizer, load_dataset
    from fairsynth.models.base import BaseSynthesizer

    ds = load_dataset("adult")
    if args.model is None:
        model: Any = FairPTGANSynthesizer(
            sensitive=["sex", "race"], target=ds.target, positive_label=ds.positive_label,
            random_state=args.seed, verbose=False, n_threads=1,
        ).fit(ds.train)  # fmt: skip
        if args.save is not None:
            model.save(args.save)
        if args.model is None and args.save is not None:
            return
    else:
        model = BaseSynthesizer.load(args.model)
    discrete = list(ds.discrete_columns)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    for wanted in SLICES:
        real = ds.train[in_slice(ds.train, wanted)]
        share = round(len(real) / len(ds.train), 4)
        started = time.perf_counter()
        exact = model.sample(args.rows, conditions=wanted, random_state=args.seed)
        ways = {"conditioned": (exact, args.rows, time.perf_counter() - started)}
        started = time.perf_counter()
        kept, tried = rejection(model, wanted, args.rows, args.max_tries, args.seed)
        ways["rejection"] = (kept, tried, time.perf_counter() - started)
        for way, (rows, generated, seconds) in ways.items():
            record = {
                "slice": wanted, "real_share": share, "real_rows": len(real), "way": way,
                "rows_wanted": args.rows, "rows_kept": len(rows), "rows_generated": generated,
                "all_in_slice": bool(in_slice(rows, wanted).all()),
                "seconds": round(seconds, 2),
                "seconds_per_10k": round(seconds / max(len(rows), 1) * 10_000, 2),
                **score(real, rows, wanted, discrete),
            }  # fmt: skip
            append_row(args.out, record)


if __name__ == "__main__":
    main()
