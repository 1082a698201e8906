"""The commands that make or read a model: ``fit``, ``sample``, ``info`` and ``demo``.

Argument parsing and file I/O only, calling the public API; the options a user leaves out are
left to the estimator's defaults (:func:`~fairsynth.cli._app.given`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from fairsynth.cli._app import fail, given, handles_errors, split_names
from fairsynth.cli._info import auto_length_line, describe_model, privacy_line
from fairsynth.cli._private import privacy_params
from fairsynth.cli._support import (
    RowProgress,
    check_ranges,
    check_table_output,
    interrupt_exit_code,
    parse_size,
    stopped_fit_message,
)

FAIR_OPTIONS = ("--sensitive", "--target", "--positive-label")


def _model_class(name: str) -> Any:
    from fairsynth.registry import SYNTHESIZERS, synthesizer_class

    if name not in SYNTHESIZERS:  # a model name only (the registry also takes class names)
        fail(f"Unknown model {name!r}. Valid choices: {', '.join(SYNTHESIZERS)}")
    return synthesizer_class(name)


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
    metadata: Path | None = typer.Option(
        None,
        help="With --epsilon: a JSON file describing columns (categories; bounds), so that the "
        "transform reads nothing from the data (docs/privacy.md) [categories and bounds "
        "released with DP, a quarter of ε].",
    ),
    privacy_recipe: bool = typer.Option(
        False,
        "--privacy-recipe",
        help="With --epsilon: the settings that measured best under DP (rows alone, critic "
        "(128,), batch 1000, lr 3e-4, about 3,000 steps; docs/privacy.md); options given win.",
    ),
    distributed: bool = typer.Option(
        False,
        "--distributed",
        help="Train data-parallel across the processes torchrun started; process 0 saves "
        "(docs/scale.md).",
    ),
) -> None:
    """Fit a synthesizer on a table and save it (Ctrl-C stops and saves the model so far)."""
    from fairsynth.io import check_output_path, read_table
    from fairsynth.models.checkpoint import Checkpoint

    parallel = _data_parallel() if distributed else None
    if parallel is not None and threads is None:  # the machine's cores shared among its processes
        from fairsynth.models.distributed import threads_per_process

        threads = threads_per_process()
    check_ranges(seed=seed, checkpoint_every=checkpoint_every)
    check_output_path(output, inputs=(data,))
    cls = _model_class(model)
    fair = given(sensitive=split_names(sensitive), target=target, positive_label=positive_label)
    if model == "fair-ptgan" and len(fair) < 3:
        fail(f"--model fair-ptgan needs {', '.join(FAIR_OPTIONS)}.")
    if model != "fair-ptgan" and fair:
        fail(f"{', '.join(FAIR_OPTIONS)} are options of --model fair-ptgan, not of {model}.")
    table = read_table(data)
    params = given(
        discrete_columns=split_names(discrete), epochs=epochs, time_budget=time_budget,
        random_state=seed, device=device, n_threads=threads,
    )  # fmt: skip
    params.update(fair)
    private = privacy_params(model, len(table), epsilon, delta, metadata, privacy_recipe)
    params = {**private, **params}  # options given win over the recipe's settings
    if checkpoint_every is not None and checkpoint_dir is None:
        fail("--checkpoint-every needs --checkpoint-dir.")
    if checkpoint_dir is not None:
        every: dict[str, Any] = {}  # default: once a minute
        if checkpoint_every is not None:
            every = {"every_epochs": checkpoint_every, "every_seconds": None}
        params["callbacks"] = [Checkpoint(checkpoint_dir, **every)]
    if parallel is not None:
        params["callbacks"] = [parallel, *params.get("callbacks", [])]
    synthesizer = cls(verbose=not quiet, **params).fit(table)
    if parallel is not None and not parallel.leads():  # process 0 alone saves and reports
        if synthesizer.stopped_reason_ == "interrupted":
            raise typer.Exit(code=interrupt_exit_code())
        return
    synthesizer.save(output)
    resumed = getattr(synthesizer, "resumed_epochs_", 0)
    note = f" (resumed after epoch {resumed} of {synthesizer.checkpoint_path_})" if resumed else ""
    if synthesizer.epochs == "auto" and synthesizer.n_epochs_:  # say what 'auto' chose
        history, convergence = synthesizer.history_, synthesizer.convergence_
        note += "; " + auto_length_line(history, convergence, synthesizer.n_epochs_)
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


def _data_parallel() -> Any:
    """The DataParallel callback of ``--distributed``; a one-line error without a launcher."""
    from fairsynth.models.distributed import DataParallel, check_launcher

    check_launcher()
    return DataParallel()


@handles_errors
def info(model_file: Path = typer.Argument(..., help="Model file written by 'fairsynth fit'.")):
    """Show what a model file holds: columns, parameters, versions, fit time, ε and δ."""
    typer.echo("\n".join(describe_model(model_file)))


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
    refine: int | None = typer.Option(
        None,
        "--refine",
        min=1,
        help="Candidates per row that importance resampling picks from [the model's: 8]; "
        "1 samples the generator's rows as they are, about 20 times faster.",
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
    knob = given(fairness=fairness, by=split_names(by), balanced_groups=balanced_groups or None)
    if knob and not isinstance(synthesizer, FairPTGANSynthesizer):
        name = type(synthesizer).__name__
        fail(f"--fairness, --by and --balanced-groups need a fair-ptgan model; {model_file} "
             f"holds a {name}.")  # fmt: skip
    if where:
        knob["conditions"] = _conditions(where)
    if refine is not None:
        _set_refine(synthesizer, refine, model_file)
    chunks = synthesizer.iter_samples(n, chunk_size=chunk_size, random_state=seed, **knob)
    progress = RowProgress(n, enabled=not quiet)
    try:
        rows = write_chunks(chunks, output, total_rows=n, max_bytes=limit, progress=progress)
    finally:
        progress.close()
    typer.echo(f"Wrote {rows:,} rows to {output}", err=str(output) == "-")


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
    from fairsynth.cli._demo import run_demo

    check_ranges(seed=seed)
    check_table_output(output)
    run_demo(
        output, verbose=not quiet,
        **given(epochs=epochs, time_budget=time_budget, random_state=seed, device=device),
    )  # fmt: skip


def _set_refine(synthesizer: Any, refine: int, model_file: Path) -> None:
    """Apply ``--refine``, or fail when the model cannot refine its rows."""
    if "refine" not in synthesizer.get_params():
        fail(f"--refine needs a ptgan or fair-ptgan model; {model_file} holds a "
             f"{type(synthesizer).__name__}.")  # fmt: skip
    if refine > 1 and getattr(synthesizer, "refiner_", None) is None:
        fail(
            f"{model_file} was fit without importance resampling (refine=1, privacy, or a "
            "fairsynth before it), so it has no refiner; sample without --refine, or refit."
        )
    synthesizer.set_params(refine=refine)
