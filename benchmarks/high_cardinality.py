"""A categorical column with hundreds of categories: one-hot blocks against learned embeddings.

Adult's table gains a ``job`` column: occupation, education and marital status crossed (849
categories in Adult's training rows, 692 of them under 0.1% of the rows), with 10% of the rows'
jobs redrawn from the column, so that it is tied to its three parts without being a function of
them. The held-out table is built the same way from Adult's test rows.

- ``--profile``: milliseconds per part of a training step, one torch thread, per configuration
  (:func:`benchmarks.step_profile.profile`); rows in results/step_profile.jsonl.
- otherwise, each (config, seed) in a process of its own: PTGAN fitted at its defaults but for
  the configuration, as many rows sampled, and scored as the wide table is
  (:func:`benchmarks.wide_fidelity.score`), plus detection on Adult's own 15 columns and, for
  ``job``: the share of its categories generated, its categories under 1% of the rows at
  0.5-2x their share, and the share of rows whose job agrees with its three parts (the data:
  about 0.9). Rows in results/fidelity/high_cardinality.jsonl.

Usage::

    python -m benchmarks.high_cardinality --profile
    python -m benchmarks.high_cardinality --configs onehot embedding-generator --seeds 0 1
    python -m benchmarks.high_cardinality --summary
"""

from __future__ import annotations

import argparse
import json
import time
from functools import partial
from pathlib import Path
from typing import Any

from benchmarks.isolated import append_row, run_isolated

RESULTS = Path(__file__).parent / "results" / "fidelity" / "high_cardinality.jsonl"
PARTS = ("occupation", "education", "marital-status")
CONFIGS: dict[str, dict[str, Any]] = {"onehot": {"embed_categories_above": None}}
# Where the 849-category block is embedded (the rest one-hot); the library's
# ``embed_categories_above`` embeds it where "embedding-condition" does.
PARTS_EMBEDDED = {
    "embedding": ("condition", "output", "critic"),  # everywhere
    "embedding-condition": ("condition",),  # the generator reads its condition embedded
    "embedding-output": ("output",),  # the generator writes through a bottleneck
    "embedding-generator": ("condition", "output"),  # both, the critic one-hot
    "embedding-critic": ("critic",),  # the critic reads the row embedded
}
CONFIGS.update({name: {"embed_categories_above": 100} for name in PARTS_EMBEDDED})
# today's defaults with the generator writing column by column (job last, after its parts)
CONFIGS["column-heads"] = {"embed_categories_above": 100, "generator_heads": "columns"}


def _model(config: str, **params: Any) -> Any:
    """PTGAN for ``config``: the embedding in the parts it names only."""
    from fairsynth import PTGANSynthesizer

    parts = PARTS_EMBEDDED.get(config)
    if parts is None:
        return PTGANSynthesizer(**CONFIGS[config], **params)

    class Ablation(PTGANSynthesizer):
        def _embedded_blocks(self) -> dict[str, list[tuple[int, int]]]:
            row = self._wide_blocks()  # the library embeds the condition's blocks only
            blocks = {**super()._embedded_blocks(), "output": row, "critic": row}
            return {part: blocks[part] if part in parts else [] for part in blocks}

    return Ablation(**CONFIGS[config], **params)


def _crossed(table: Any) -> Any:
    return table[list(PARTS)].astype(str).agg("|".join, axis=1)


def job_table(table: Any, *, redraw: float = 0.1, random_state: int = 0) -> Any:
    """``table`` with a ``job`` column: its parts crossed, ``redraw`` of rows redrawn."""
    import numpy as np

    rng = np.random.default_rng(random_state)
    jobs = _crossed(table).to_numpy()
    moved = rng.random(len(jobs)) < redraw
    jobs[moved] = rng.choice(jobs, int(moved.sum()))
    return table.assign(job=jobs)


def tables() -> tuple[Any, Any]:
    """Adult's training and test tables with their ``job`` columns."""
    from fairsynth import load_dataset

    adult = load_dataset("adult")
    return job_table(adult.train, random_state=0), job_table(adult.test, random_state=1)


def job_figures(train: Any, synth: Any) -> dict[str, Any]:
    """How ``job`` came out: its categories covered and at their share, agreeing with parts."""
    from benchmarks.fidelity import rare_ratios

    categories = set(train["job"])
    covered = len(categories & set(synth["job"])) / len(categories)
    rare = {f"Job_{k}": v for k, v in rare_ratios(train, synth, ["job"]).items()}
    return {
        "Job_Categories": len(categories),
        "Job_Coverage": round(covered, 4),
        **rare,
        "Job_Agrees": round(float((synth["job"] == _crossed(synth)).mean()), 4),
        "Job_Agrees_Data": round(float((train["job"] == _crossed(train)).mean()), 4),
    }


def run_one(config: str, seed: int, threads: int) -> dict[str, Any]:
    from benchmarks.wide_fidelity import score
    from fairsynth.evaluation import detection_auc

    train, test = tables()
    discrete = [c for c in train.columns if train[c].dtype == object]
    model = _model(config, n_threads=threads, random_state=seed, verbose=False).fit(train)
    started = time.perf_counter()
    synth = model.sample(len(train), random_state=seed)
    seconds = time.perf_counter() - started
    adult = [c for c in train.columns if c != "job"]
    numerical = [c for c in adult if c not in discrete]
    own = detection_auc(train[adult], synth[adult], [c for c in discrete if c != "job"],
                        numerical, random_state=seed)[0]  # fmt: skip
    return {
        "config": config,
        "params": CONFIGS[config],
        "seed": seed,
        "threads": threads,
        "Generator_Weights": sum(p.numel() for p in model.generator_.parameters()),
        "Critic_Weights": sum(p.numel() for p in model.critic_.parameters()),
        "Train_Time": round(model.fit_time_, 1),
        "Steps": sum(int(record["steps"]) for record in model.history_),
        "Sample_Rows_Per_s": round(len(synth) / seconds),
        **score(train, test, synth, discrete, seed),
        "Detection_AUC_Adult_Columns": round(own, 4),
        **job_figures(train, synth),
    }


SUMMARY = ["Train_Time", "Generator_Weights", "Detection_AUC", "Detection_AUC_Adult_Columns",
           "Quality", "Column_Pair_Trends", "HistGB_AUC", "Job_Coverage", "Job_Agrees"]  # fmt: skip


def summary_table(path: Path = RESULTS) -> str:
    """Markdown: per configuration, the mean and the seeds' range of each SUMMARY figure."""
    rows: dict[str, list[dict[str, Any]]] = {}
    for line in path.read_text().splitlines():
        row = json.loads(line)
        rows.setdefault(row["config"], []).append(row)
    lines = ["| config | seeds | " + " | ".join(SUMMARY) + " |", "|---" * (len(SUMMARY) + 2) + "|"]
    for config, runs in rows.items():
        cells = []
        for key in SUMMARY:
            values = [float(run[key]) for run in runs]
            mean = sum(values) / len(values)
            form = ",.0f" if key in ("Train_Time", "Generator_Weights") else ".3f"
            low, high = min(values), max(values)
            spread = f" ({low:{form}}-{high:{form}})" if high > low else ""
            cells.append(f"{mean:{form}}{spread}")
        seeds = ",".join(str(run["seed"]) for run in runs)
        lines.append(f"| {config} | {seeds} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--profile", action="store_true", help="time a step's parts instead")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--summary", action="store_true", help="print the results' table")
    parser.add_argument("--single", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.summary:
        print(summary_table())
        return
    if args.profile:
        from benchmarks.step_profile import RESULTS as PROFILES
        from benchmarks.step_profile import profile

        train, _ = tables()
        for config in args.configs:
            make = partial(_model, config)
            row = profile(f"adult+job ({config})", train, args.repeats, make=make)
            append_row(PROFILES, row)
    elif args.single:
        print(json.dumps(run_one(args.configs[0], args.seeds[0], args.threads)))
    else:
        for seed in args.seeds:
            for config in args.configs:
                arguments = ["--configs", config, "--seeds", str(seed), "--threads",
                             str(args.threads)]  # fmt: skip
                run_isolated("benchmarks.high_cardinality", arguments, RESULTS)


if __name__ == "__main__":
    main()
