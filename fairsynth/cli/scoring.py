"""The commands that score tables: ``evaluate`` (any two tables) and ``frontier`` (the knob).

Argument parsing and file I/O only, calling the public API.
"""

from __future__ import annotations

from pathlib import Path

import typer

from fairsynth.cli._app import fail, given, handles_errors, split_names
from fairsynth.cli._support import check_picture_output, check_ranges, check_table_output


@handles_errors
def evaluate(
    real: Path = typer.Option(..., "--real", help="Real table the synthesizer learnt from."),
    synthetic: Path = typer.Option(..., "--synthetic", help="Synthetic table to score."),
    test: Path | None = typer.Option(
        None, "--test", help="Real held-out table (needed for utility and privacy)."
    ),
    target: str | None = typer.Option(None, "--target", "-t", help="Outcome column."),
    positive_label: str | None = typer.Option(
        None, "--positive-label", "-p", help="Favourable value of the target ('1' matches 1)."
    ),
    sensitive: list[str] | None = typer.Option(
        None, "--sensitive", "-s", help="Sensitive column (repeat, or comma-separated)."
    ),
    discrete: list[str] | None = typer.Option(
        None, "--discrete", "-d", help="Numeric column to treat as categories (repeatable)."
    ),
    section: list[str] | None = typer.Option(
        None, "--section", help="utility, fidelity, fairness or privacy (repeat; all by default)."
    ),
    seed: int | None = typer.Option(None, help="Random seed [0]."),
    threads: int | None = typer.Option(
        None,
        help="Thread cap while evaluating [1]; 2 or more also spread the per-column detection "
        "over as many processes (use the machine's cores when it is idle); 0 leaves thread "
        "settings alone.",
    ),
    output: list[Path] | None = typer.Option(
        None, "--output", "-o", help="Report file: .html or .json (repeat for both)."
    ),
    max_rows: int | None = typer.Option(
        None, "--max-rows", help="Rows of each table for Quality and the models' training [50000]."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress on stderr."),
) -> None:
    """Score a synthetic table against real data; print the summary, write the report."""
    from fairsynth.evaluation import evaluate as run_evaluation
    from fairsynth.io import check_output_path, read_table

    check_ranges(seed=seed)
    inputs = (real, synthetic) + (() if test is None else (test,))
    for path in output or []:
        if path.suffix.lower() not in (".html", ".htm", ".json"):
            fail(f"Report file '{path}' must end in .html or .json.")
        check_output_path(path, inputs=inputs)
    options = given(
        target=target,
        positive_label=positive_label,
        sensitive=split_names(sensitive),
        discrete_columns=split_names(discrete),
        sections=split_names(section),
        random_state=seed,
    )
    if threads is not None:
        options["n_threads"] = threads or None  # 0: no cap
    if max_rows is not None:
        options["quality_rows"] = options["model_rows"] = max_rows
    report = run_evaluation(
        read_table(real),
        read_table(synthetic),
        real_test=None if test is None else read_table(test),
        verbose=not quiet,
        **options,
    )
    summary = report.summary()
    summary["note"] = summary["note"].str.slice(0, 60)
    typer.echo(summary.to_string(index=False, float_format="{:.3f}".format, na_rep="n/a"))
    for note in report.notes.itertuples(index=False):
        typer.echo(f"note [{note.section}] {note.item}: {note.reason}")
    for path in output or []:
        if path.suffix.lower() == ".json":
            report.to_json(path)
        else:
            report.to_html(path)
        typer.echo(f"Wrote {path}")


@handles_errors
def frontier(
    model_file: Path = typer.Argument(..., help="FairPTGANSynthesizer model file."),
    test: Path = typer.Option(..., "--test", help="Real held-out table to score models on."),
    train: Path | None = typer.Option(
        None, "--train", help="Real training table: adds TRTR and ExponentiatedGradient."
    ),
    output: Path = typer.Option(Path("frontier.png"), "--output", "-o", help="Picture to write."),
    table: Path | None = typer.Option(None, "--table", help="CSV of the frontier's rows."),
    fairness: list[str] | None = typer.Option(
        None, "--fairness", "-f", help="λ values (repeat, or comma-separated) [0 to 2.5]."
    ),
    by: list[str] | None = typer.Option(None, "--by", help="Sensitive column(s) the knob acts on."),
    sensitive_feature: str | None = typer.Option(
        None, help="both, included or excluded: do the models see the sensitive columns [both]."
    ),
    seed: int = typer.Option(0, help="Random seed of the samples and the models."),
    target_dp: float | None = typer.Option(
        None, help="Also find the λ where HistGB's DP (or --metric) meets this, on --train."
    ),
    metric: str | None = typer.Option(
        None, help="With --target-dp: the gap to calibrate, dp, eo or dp_at_rate [dp]."
    ),
    margin: float = typer.Option(
        0.0, help="With --target-dp: meet target minus this on --train, so it holds on new rows."
    ),
    device: str = typer.Option("auto", help="auto, cpu, cuda or cuda:N."),
) -> None:
    """Sweep a fair model's knob λ: AUC against DP and EO on real data, as a picture and a table."""
    from fairsynth.exceptions import format_choices
    from fairsynth.frontier import calibrate_fairness, fairness_frontier, plot_frontier
    from fairsynth.frontier._scoring import METRICS
    from fairsynth.io import check_output_path, read_table, write_table
    from fairsynth.models.base import BaseSynthesizer

    check_ranges(seed=seed)
    inputs = (model_file, test) + (() if train is None else (train,))
    for path in (output, table):
        if path is not None:
            check_output_path(path, inputs=inputs)
    check_picture_output(output)  # all checked before the sweep, which takes minutes
    if table is not None:
        check_table_output(table)
    if target_dp is not None and train is None:
        fail("--target-dp calibrates on the real training rows: give --train too.")
    if margin and target_dp is None:
        fail("--margin is the room kept below --target-dp: give --target-dp too.")
    if metric is not None and target_dp is None:
        fail("--metric is the gap --target-dp calibrates: give --target-dp too.")
    if metric is not None and metric not in METRICS:
        fail(f"--metric must be one of {format_choices(METRICS)}, got {metric!r}.")
    if target_dp is not None and not 0 <= margin < target_dp:
        fail(f"--margin must be from 0 up to --target-dp ({target_dp:g}), got {margin:g}.")
    try:
        values = [float(v) for v in split_names(fairness) or []]
    except ValueError:
        fail(f"--fairness takes numbers, got {fairness!r}.")
    model = BaseSynthesizer.load(model_file, device=device)
    real_test = read_table(test)
    real_train = None if train is None else read_table(train)
    options = given(
        fairness=values or None, by=split_names(by), sensitive_feature=sensitive_feature
    )
    rows = fairness_frontier(model, real_test, real_train=real_train, seeds=(seed,), **options)
    if table is not None:  # the numbers first: they cost the sweep, the picture does not
        write_table(rows, table)
    plot_frontier(rows, output)
    shown = rows[rows["attribute"] == rows["by"]].drop(columns=["by", "f1", "macro_f1"])
    typer.echo(shown.to_string(index=False, float_format="{:.3f}".format, na_rep="-"))
    for path in (table, output):
        if path is not None:
            typer.echo(f"Wrote {path}")
    if target_dp is not None and real_train is not None:
        found = calibrate_fairness(
            model,
            real_train,
            target_dp,
            metric=metric or "dp",
            by=options.get("by"),
            margin=margin,
            random_state=seed,
        )
        typer.echo(f"Calibrated on --train: {found}")
