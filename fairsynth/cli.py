"""The ``fairsynth`` command line: argument parsing and file I/O only, calling the public API.

Every error a user can cause is printed as one line on stderr with exit code 2, never a
traceback (see :func:`main`).
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import typer

from fairsynth.exceptions import FairsynthError

app = typer.Typer(
    name="fairsynth",
    help="Fair synthetic copies of tables with Parallelly Tempered GANs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def fail(message: str) -> None:
    """Print one line on stderr and exit with code 2."""
    typer.echo(f"Error: {message}", err=True)
    raise typer.Exit(code=2)


F = TypeVar("F", bound=Callable[..., Any])


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
    """Console entry point: run the app, turning fairsynth errors into one line and exit 2."""
    try:
        app(standalone_mode=False)
    except FairsynthError as exc:
        typer.echo(f"Error: {exc}", err=True)
        sys.exit(2)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        typer.echo("Aborted.", err=True)
        sys.exit(130)
    except KeyboardInterrupt:
        typer.echo("Interrupted.", err=True)
        sys.exit(130)
    except Exception as exc:  # click usage errors and the like
        import click

        if isinstance(exc, click.ClickException):
            typer.echo(f"Error: {exc.format_message()}", err=True)
            sys.exit(2)
        raise
