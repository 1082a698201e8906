"""The ``fairsynth`` command line: argument parsing and file I/O only, calling the public API.

Every error a user can cause is printed as one line on stderr with exit code 2, never a
traceback (see :func:`main`).
"""

from __future__ import annotations

import functools
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import typer

from fairsynth.cli_info import describe_model, privacy_line
from fairsynth.cli_support import (
    RowProgress,
    check_picture_output,
    check_ranges,
    check_table_output,
    install_sigterm_handler,
    interrupt_exit_code,
    parse_size,
    stopped_fit_message,
)
from fairsynth.exceptions import FairsynthError

app = typer.Typer(
    name="fairsynth",
    help="Fair synthetic copies of tables with Parallelly Tempered GANs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # help texts are plain: "[auto]" is a default, not a style tag
)


def fail(message: str) -> None:
    """Print one line on stderr and exit with code 2."""
    typer.echo(f"Error: {message}", err=True)
    raise typer.Exit(code=2)


F = TypeVar("F", bound=Callable[..., Any])


def _show_warning(
    message: Warning | str, category: type[Warning], *args: Any, **kwargs: Any
) -> None:
    """Warnings as one line on stderr, without the source line Python adds."""
    typer.echo(f"Warning: {message}", err=True)


def handles_errors(func: F) -> F:
    """Turn a :class:`FairsynthError` raised inside a command into one line and exit code 2."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except FairsynthError as exc:
            fail(str(exc))

    return wrapper  # type: ignore[return-value]


def main() -> None:
    """Console entry point: every error a user can cause is one line on stderr, exit code 2."""
    warnings.showwarning = _show_warning  # this process is the CLI: warnings as one line
    install_sigterm_handler()  # SIGTERM like Ctrl-C: a fit saves, a write leaves nothing
    if len(sys.argv) <= 1:
        app()  # standalone: prints the help
        return
    try:
        code = app(standalone_mode=False)
    except FairsynthError as exc:
        typer.echo(f"Error: {exc}", err=True)
        sys.exit(2)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        typer.echo("Interrupted.", err=True)
        sys.exit(interrupt_exit_code())
    except Exception as exc:
        # click's usage errors (vendored inside typer) carry a one-line message and exit code
        if hasattr(exc, "format_message") and hasattr(exc, "exit_code"):
            message = " ".join(str(exc.format_message()).split())
            typer.echo(f"Error: {message} (see --help)", err=True)
            sys.exit(int(exc.exit_code) or 2)
        raise
    if code == 130:  # typer's own answer to a KeyboardInterrupt (Ctrl-C, or our SIGTERM)
        typer.echo("Interrupted.", err=True)
        code = interrupt_exit_code()
    sys.exit(code if isinstance(code, int) else 0)


# ------------------------------------------------------------------------------------ models
FAIR_OPTIONS = ("--sensitive", "--target", "--positive-label")


def _model_class(name: str) -> Any:
    from fairsynth.registry import SYNTHESIZERS, synthesizer_class

    if name not in SYNTHESIZERS:  # a model name only (the registry also takes class names)
        fail(f"Unknown model {name!r}. Valid choices: {', '.join(SYNTHESIZERS)}")
    return synthesizer_class(name)


def _split_names(values: list[str] | None) -> list[str] | None:
    if not values:
        return None
    return [name.strip() for value in values for name in value.split(",") if name.strip()]


def _conditions(where: list[str]) -> dict[str, str]:
    """``--where COLUMN=VALUE`` options as conditions (the first '=' splits: 'income=>50K')."""
    conditions: dict[str, str] = {}
    for item in where:
        column, equals, value = item.partition("=")
        if not equals or not column:
            fail(f"--where takes COLUMN=VALUE, got {item!r}.")
        if column in conditions and conditions[column] != value:
            fail(f"--where gives {column!r} two values, {conditions[column]!r} and {value!r}.")
        conditions[column] = value
    return conditions


def _given(**kwargs: Any) -> dict[str, Any]:
    """Keep only options the user gave, so the estimator's own defaults apply (no drift)."""
    return {key: value for key, value in kwargs.items() if value is not None}


@app.command()
@handles_errors
def fit(
    data: Path = typer.Argument(..., help="Training table (CSV, or .parquet)."),
    output: Path = typer.Option(..., "--output", "-o", help="Model file to write."),
    model: str = typer.Option("ptgan", "--model", "-m", help="ptgan, ga-ntk or fair-ptgan."),
    discrete: list[str] | None = typer.Option(
        None, "--discrete", "-d", help="Discrete column (repeat, or comma-separated)."
    ),
    sensitive: list[str] | None = typer.Option(
        None, "--sensitive", "-s", help="fair-ptgan: sensitive column (repeat, or comma-separated)."
    ),
    target: str | None = typer.Option(None, "--target", "-t", help="fair-ptgan: outcome column."),
    positive_label: str | None = typer.Option(
        None, "--positive-label", "-p", help="fair-ptgan: favourable outcome ('1' matches 1)."
    ),
    epochs: int | None = typer.Option(None, help="Passes over the data [model default]."),
    time_budget: float | None = typer.Option(None, help="Stop training after this many seconds."),
    seed: int | None = typer.Option(None, help="Random seed for a reproducible fit."),
    device: str | None = typer.Option(None, help="auto, cpu, cuda or cuda:N [auto]."),
    threads: int | None = typer.Option(
        None, "--threads", help="CPU threads for torch [auto: sized to the networks]."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
    checkpoint_dir: Path | None = typer.Option(
        None, help="Folder for checkpoints; rerunning the same fit resumes from it."
    ),
    checkpoint_every: int | None = typer.Option(
        None, help="With --checkpoint-dir: write every N epochs [once a minute]."
    ),
    epsilon: float | None = typer.Option(
        None, help="ptgan: train with differential privacy to this ε (docs/privacy.md)."
    ),
    delta: float | None = typer.Option(None, help="With --epsilon: δ [1/n²]."),
) -> None:
    """Fit a synthesizer on a table and save it (Ctrl-C stops and saves the model so far)."""
    from fairsynth.io import check_output_path, read_table
    from fairsynth.models.checkpoint import Checkpoint

    check_ranges(seed=seed, checkpoint_every=checkpoint_every)
    check_output_path(output, inputs=(data,))
    cls = _model_class(model)
    fair = _given(sensitive=_split_names(sensitive), target=target, positive_label=positive_label)
    if model == "fair-ptgan" and len(fair) < 3:
        fail(f"--model fair-ptgan needs {', '.join(FAIR_OPTIONS)}.")
    if model != "fair-ptgan" and fair:
        fail(f"{', '.join(FAIR_OPTIONS)} are options of --model fair-ptgan, not of {model}.")
    table = read_table(data)
    params = _given(
        discrete_columns=_split_names(discrete), epochs=epochs, time_budget=time_budget,
        random_state=seed, device=device, n_threads=threads,
    )  # fmt: skip
    params.update(fair)
    if delta is not None and epsilon is None:
        fail("--delta needs --epsilon.")
    if epsilon is not None:
        params["privacy"] = (epsilon, delta)
    if checkpoint_every is not None and checkpoint_dir is None:
        fail("--checkpoint-every needs --checkpoint-dir.")
    if checkpoint_dir is not None:
        every: dict[str, Any] = {}  # default: once a minute
        if checkpoint_every is not None:
            every = {"every_epochs": checkpoint_every, "every_seconds": None}
        params["callbacks"] = [Checkpoint(checkpoint_dir, **every)]
    synthesizer = cls(verbose=not quiet, **params).fit(table)
    synthesizer.save(output)
    resumed = getattr(synthesizer, "resumed_epochs_", 0)
    note = f" (resumed after epoch {resumed} of {synthesizer.checkpoint_path_})" if resumed else ""
    if synthesizer.epochs == "auto" and synthesizer.n_epochs_:  # say what 'auto' chose
        steps = sum(int(record["steps"]) for record in synthesizer.history_)
        note += f"; epochs='auto': {synthesizer.n_epochs_:,} epochs planned, {steps:,} steps run"
    if synthesizer.fit_check_:  # the end-of-fit check ran (fits of a minute or more)
        check = synthesizer.fit_check_
        note += f"; detection AUC {check['detection_auc']:.3f} on {check['rows']:,} rows"
    if getattr(synthesizer, "privacy_", None):
        note += "; " + privacy_line(synthesizer.privacy_)
    typer.echo(
        f"Fitted {cls.__name__} on {len(table):,} rows × {table.shape[1]} columns in "
        f"{synthesizer.fit_time_:.1f} s{note}; saved to {output}",
        err=str(output) == "-",  # the model itself is on stdout
    )
    if synthesizer.stopped_reason_ == "interrupted":  # Ctrl-C or SIGTERM: saved, yet not done
        epochs_done = len(synthesizer.history_)
        typer.echo(stopped_fit_message(epochs_done, output, checkpoint_dir), err=True)
        raise typer.Exit(code=interrupt_exit_code())


@app.command()
@handles_errors
def info(model_file: Path = typer.Argument(..., help="Model file written by 'fairsynth fit'.")):
    """Show what a model file holds: columns, parameters, versions, fit time, ε and δ."""
    typer.echo("\n".join(describe_model(model_file)))


@app.command()
@handles_errors
def sample(
    model_file: Path = typer.Argument(..., help="Model file written by 'fairsynth fit'."),
    n: int = typer.Option(..., "--n", "-n", help="Number of rows to generate."),
    output: Path = typer.Option(
        ..., "--output", "-o", help="CSV or .parquet file to write ('-': CSV on stdout)."
    ),
    seed: int | None = typer.Option(None, help="Random seed for reproducible rows."),
    chunk_size: int = typer.Option(
        20_000, help="Rows generated and written at a time (memory grows with it)."
    ),
    max_bytes: str = typer.Option(
        "20GB", help="Refuse a file estimated larger than this (e.g. 500MB, 2TB, none)."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress."),
    device: str = typer.Option("auto", help="auto, cpu, cuda or cuda:N."),
    threads: int | None = typer.Option(
        None, "--threads", help="CPU threads for torch [auto: sized to the networks]."
    ),
    fairness: float | None = typer.Option(
        None, "--fairness", "-f", help="Fair models: the knob λ (0 keeps the data's rates) [0]."
    ),
    by: list[str] | None = typer.Option(
        None, "--by", help="Fair models: sensitive column(s) the knob equalises [all]."
    ),
    balanced_groups: bool = typer.Option(
        False, "--balanced-groups", help="Fair models: give every group the same share of rows."
    ),
    where: list[str] | None = typer.Option(
        None,
        "--where",
        "-w",
        help="Condition every row: COLUMN=VALUE, or COLUMN=LOW..HIGH for a numeric column "
        "(LOW.. or ..HIGH open); repeat for several.",
    ),
) -> None:
    """Generate rows from a saved model, streamed to a file in chunks."""
    from fairsynth.io import check_output_path
    from fairsynth.io.streaming import write_chunks
    from fairsynth.models.base import BaseSynthesizer
    from fairsynth.models.fair import FairPTGANSynthesizer

    check_ranges(seed=seed, chunk_size=chunk_size)
    check_output_path(output, inputs=(model_file,))
    check_table_output(output)
    limit = parse_size(max_bytes)
    n_threads = "auto" if threads is None else threads
    synthesizer = BaseSynthesizer.load(model_file, device=device, n_threads=n_threads)
    knob = _given(fairness=fairness, by=_split_names(by), balanced_groups=balanced_groups or None)
    if knob and not isinstance(synthesizer, FairPTGANSynthesizer):
        name = type(synthesizer).__name__
        fail(f"--fairness, --by and --balanced-groups need a fair-ptgan model; {model_file} "
             f"holds a {name}.")  # fmt: skip
    if where:
        knob["conditions"] = _conditions(where)
    chunks = synthesizer.iter_samples(n, chunk_size=chunk_size, random_state=seed, **knob)
    progress = RowProgress(n, enabled=not quiet)
    try:
        rows = write_chunks(chunks, output, total_rows=n, max_bytes=limit, progress=progress)
    finally:
        progress.close()
    typer.echo(f"Wrote {rows:,} rows to {output}", err=str(output) == "-")


@app.command()
@handles_errors
def demo(
    output: Path = typer.Option(
        Path("adult_synthetic.csv"), "--output", "-o", help="CSV file for the synthetic rows."
    ),
    epochs: int | None = typer.Option(None, help="Passes over the data [model default]."),
    time_budget: float | None = typer.Option(None, help="Stop training after this many seconds."),
    seed: int = typer.Option(0, help="Random seed."),
    device: str | None = typer.Option(None, help="auto, cpu, cuda or cuda:N [auto]."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Fit PTGAN on the bundled UCI Adult table, write a synthetic copy, compare the two."""
    from fairsynth.demo import run_demo

    check_ranges(seed=seed)
    check_table_output(output)
    run_demo(
        output, verbose=not quiet,
        **_given(epochs=epochs, time_budget=time_budget, random_state=seed, device=device),
    )  # fmt: skip


@app.command()
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
        None, help="Thread cap while evaluating [1]; 0 leaves thread settings alone."
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
    options = _given(
        target=target,
        positive_label=positive_label,
        sensitive=_split_names(sensitive),
        discrete_columns=_split_names(discrete),
        sections=_split_names(section),
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


@app.command()
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
        None, help="Also find the λ where HistGB's DP meets this (measured on --train)."
    ),
    device: str = typer.Option("auto", help="auto, cpu, cuda or cuda:N."),
) -> None:
    """Sweep a fair model's knob λ: AUC against DP and EO on real data, as a picture and a table."""
    from fairsynth.frontier import calibrate_fairness, fairness_frontier, plot_frontier
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
    try:
        values = [float(v) for v in _split_names(fairness) or []]
    except ValueError:
        fail(f"--fairness takes numbers, got {fairness!r}.")
    model = BaseSynthesizer.load(model_file, device=device)
    real_test = read_table(test)
    real_train = None if train is None else read_table(train)
    options = _given(
        fairness=values or None, by=_split_names(by), sensitive_feature=sensitive_feature
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
            model, real_train, target_dp, by=options.get("by"), random_state=seed
        )
        typer.echo(f"Calibrated on --train: {found}")
