"""The default draw's parts, one at a time, on one model: candidates, conditions, calibration.

Loads a PTGAN model of Adult fitted at today's defaults (training-by-sampling, importance
resampling with 8 candidates) and samples as many rows as the training table five ways, with
the same seed:

- ``unrefined``: ``refine=1``, the generator's own rows;
- ``odds``: 8 candidates per row on the row's condition, drawn by the classifier's odds alone
  (the draw before fairsynth.models._draw calibrated it);
- ``odds, own conditions``: each candidate its own condition, at the data's frequencies, all
  candidates one pool; the odds alone;
- ``calibrated, own conditions``: the same pool, the draw calibrated to the training margins;
- ``calibrated, spread conditions`` (the default): each candidate's condition drawn as in
  training (rare categories more often), weighted back, calibrated.

Each is scored like ``benchmarks.fidelity`` (detection AUC, Quality, coverage, rare categories,
education consistency, label gap, TSTR). Appends one JSON line per variant to
benchmarks/results/refine/draw-variants.jsonl.

Usage::

    python -c "from fairsynth import PTGANSynthesizer, load_dataset; d = load_dataset('adult');
    PTGANSynthesizer(random_state=0, n_threads=2).fit(d.train).save('adult-s0.fairsynth')"
    python -m benchmarks.draw_variants adult-s0.fairsynth --seed 0
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from benchmarks.isolated import append_row

RESULTS = Path(__file__).parent / "results" / "refine" / "draw-variants.jsonl"
VARIANTS = (
    "unrefined",
    "odds",
    "odds, own conditions",
    "calibrated, own conditions",
    "calibrated, spread conditions",
)


def _configure(model: Any, margins: Any, variant: str) -> None:
    """Set ``model`` up to draw as ``variant`` does (instance attributes over its methods)."""
    model.__dict__.pop("_calibrates", None)
    conditioner = model.conditioner_
    for name in ("sample_conditions", "spread_log_ratio"):
        conditioner.__dict__.pop(name, None)
    model.refiner_.margins = margins if variant.startswith("calibrated") else None
    model.set_params(refine=1 if variant == "unrefined" else 8)
    if variant == "odds":  # candidates on their row's condition: no pool, no calibration
        model._calibrates = lambda plan: False
    if "own conditions" in variant:  # one pool, conditions at the data's frequencies
        draw = type(conditioner).sample_conditions.__get__(conditioner)
        conditioner.sample_conditions = lambda plan, n, spread=False: draw(plan, n)
        conditioner.spread_log_ratio = lambda condition: condition.new_zeros(len(condition))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", help="a model file of Adult at the defaults")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    from benchmarks.fidelity import score_rows
    from fairsynth import PTGANSynthesizer, load_dataset

    ds = load_dataset("adult")
    model = PTGANSynthesizer.load(args.model, n_threads=args.threads)
    if model.refiner_ is None or model.refiner_.margins is None or model.conditioner_ is None:
        raise SystemExit("the model needs a refiner with margins and training-by-sampling")
    margins = model.refiner_.margins
    for variant in VARIANTS:
        _configure(model, margins, variant)
        started = time.perf_counter()
        rows = model.sample(len(ds.train), random_state=args.seed)
        seconds = time.perf_counter() - started
        append_row(RESULTS, {
            "variant": variant,
            "model": Path(args.model).name,
            "seed": args.seed,
            "threads": args.threads,
            "Sample_Rows_Per_s": round(len(rows) / seconds),
            **score_rows(ds, rows, args.seed),
        })  # fmt: skip
        print(variant, "done", flush=True)


if __name__ == "__main__":
    main()
