"""The ``fairsynth`` command line: argument parsing and file I/O only, calling the public API.

:data:`app` is the typer application and :func:`main` the console entry point
(``fairsynth = "fairsynth.cli:main"``, and ``python -m fairsynth``). The commands are added
here, in the order ``fairsynth --help`` lists them: those that make or read a model
(:mod:`~fairsynth.cli.modelling`), then those that score tables (:mod:`~fairsynth.cli.scoring`).
"""

from __future__ import annotations

from fairsynth.cli import modelling, scoring
from fairsynth.cli._app import app, main

for _command in (
    modelling.fit,
    modelling.info,
    modelling.sample,
    modelling.demo,
    scoring.evaluate,
    scoring.frontier,
):
    app.command()(_command)

__all__ = ["app", "main"]
