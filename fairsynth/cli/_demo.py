"""The ``fairsynth demo``: fit PTGAN on bundled Adult, write a synthetic copy, compare."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pandas as pd

from fairsynth.datasets import load_dataset
from fairsynth.io import check_output_path, write_table

__all__ = ["compare_tables", "fidelity_line", "run_demo"]


def compare_tables(
    real: pd.DataFrame, synthetic: pd.DataFrame, target: str, positive: object, group: str
) -> pd.DataFrame:
    """A short side-by-side of a few column summaries and the label rate by ``group``."""
    rows: list[tuple[str, object, object]] = []
    for column in real.columns:
        if column == target:
            continue
        if pd.api.types.is_numeric_dtype(real[column]):
            for name, fn in (("mean", "mean"), ("std", "std"), ("median", "median")):
                rows.append((f"{column} {name}", getattr(real[column], fn)(),
                             getattr(synthetic[column], fn)()))  # fmt: skip
        else:
            top = real[column].value_counts(normalize=True).index[0]
            rows.append((f"{column} share '{top}'", (real[column] == top).mean(),
                         (synthetic[column] == top).mean()))  # fmt: skip
    rows.append((f"{target} rate '{positive}'", (real[target] == positive).mean(),
                 (synthetic[target] == positive).mean()))  # fmt: skip
    for level in sorted(real[group].dropna().unique()):
        rate_real = (real.loc[real[group] == level, target] == positive).mean()
        rate_synth = (synthetic.loc[synthetic[group] == level, target] == positive).mean()
        rows.append((f"{target} rate '{positive}' | {group}={level}", rate_real, rate_synth))
    frame = pd.DataFrame(rows, columns=["statistic", "real", "synthetic"]).set_index("statistic")
    return frame.astype(float).round(3)


def fidelity_line(
    real: pd.DataFrame, synthetic: pd.DataFrame, test: pd.DataFrame, target: str, positive: object
) -> str:
    """Detection AUC beside SDMetrics Quality, and the columns that give the rows away most.

    The fidelity section of :func:`fairsynth.evaluation.evaluate` (without the real-data
    references), as one line.
    """
    from fairsynth.evaluation import evaluate

    report = evaluate(
        real, synthetic, real_test=test, target=target, positive_label=positive,
        sections=["fidelity"], reference=False,
    )  # fmt: skip
    values = report.summary().set_index("metric")["value"]
    worst = report.tables["detection_columns"].head(3)
    named = ", ".join(f"{r.column} {r.auc_alone:.2f}" for r in worst.itertuples())
    return (
        f"Fidelity: detection AUC {values['Detection AUC (vs real_train)']:.3f} "
        f"(0.5 = indistinguishable from real rows), SDMetrics Quality "
        f"{values['Quality (vs real_train)']:.3f}; the columns that give the rows away most, "
        f"each alone: {named}."
    )


def run_demo(output: str | Path, *, verbose: bool = True, **params: Any) -> pd.DataFrame:
    """Fit PTGAN on Adult's training table with ``params``, write samples to ``output``.

    Returns the comparison table it prints.
    """
    from fairsynth.models.ptgan import PTGANSynthesizer
    from fairsynth.models.refine import resolve_refine

    out = check_output_path(output)
    dataset = load_dataset("adult")
    real = dataset.train
    print(f"UCI Adult training table: {len(real):,} rows × {real.shape[1]} columns (bundled).")
    model = PTGANSynthesizer(verbose=verbose, **params).fit(real)
    started = time.perf_counter()
    synthetic = model.sample(len(real), random_state=0)
    sample_time = time.perf_counter() - started
    write_table(synthetic, out)
    table = compare_tables(real, synthetic, dataset.target, dataset.positive_label, "sex")
    with pd.option_context("display.width", 120, "display.max_rows", 100):
        print(table.to_string())
    print(fidelity_line(real, synthetic, dataset.test, dataset.target, dataset.positive_label))
    candidates = resolve_refine(model) if model.refiner_ is not None else 1
    picked = f", each picked among {candidates} candidates" if candidates != 1 else ""
    length = ""
    if model.epochs == "auto":
        from fairsynth.cli._info import auto_length_line

        length = "; " + auto_length_line(model.history_, model.convergence_, model.n_epochs_)
    print(
        f"\nFit: {model.fit_time_:.1f} s ({len(model.history_)} epoch(s), "
        f"device {model.device_}{length}); sampling: {len(real) / sample_time:,.0f} rows/s"
        f"{picked}."
    )
    print(f"Wrote {len(synthetic):,} synthetic rows to {out}")
    return table
