"""The ``fairsynth`` command line's application: error handling and the console entry point.

Every error a user can cause is printed as one line on stderr with exit code 2, never a
traceback (see :func:`main`). The commands live in :mod:`fairsynth.cli.modelling` and
:mod:`fairsynth.cli.scoring`; :mod:`fairsynth.cli` adds them to :data:`app` in the order
``--help`` lists them.
"""

from __future__ import annotations

import functools
import sys
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

import typer

from fairsynth.cli._support import install_sigterm_handler, interrupt_exit_code
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


def given(**kwargs: Any) -> dict[str, Any]:
    """Keep only options the user gave, so the estimator's own defaults apply (no drift)."""
    return {key: value for key, value in kwargs.items() if value is not None}


def split_names(values: list[str] | None) -> list[str] | None:
    """Repeated or comma-separated names (``--sensitive sex,race``) as one list, or None."""
    if not values:
        return None
    return [name.strip() for value in values for name in value.split(",") if name.strip()]
