"""The privacy options of ``fairsynth fit``: ``--epsilon``, ``--delta``, ``--metadata``, the recipe.

Argument checks and file reading only; what they mean is in :mod:`fairsynth.models.privacy`,
:mod:`fairsynth.models.private_fit` and docs/privacy.md.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fairsynth.cli._app import fail

__all__ = ["privacy_params"]


def read_metadata(path: Path) -> Any:
    """The JSON object of a ``--metadata`` file: column name -> description."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        fail(f"--metadata {path}: cannot read it ({exc.strerror or exc}).")
    try:
        metadata = json.loads(text)
    except json.JSONDecodeError as exc:
        fail(f"--metadata {path}: not valid JSON ({exc.msg}, line {exc.lineno}).")
    if not isinstance(metadata, dict):
        fail(
            f"--metadata {path}: expected a JSON object of column name -> description, "
            f"got a JSON {type(metadata).__name__}."
        )
    return metadata


def privacy_params(
    model: str,
    n_rows: int,
    epsilon: float | None,
    delta: float | None,
    metadata: Path | None,
    recipe: bool,
) -> dict[str, Any]:
    """The parameters the privacy options give (empty without ``--epsilon``).

    ``--privacy-recipe`` adds the settings of :func:`~fairsynth.models.private_fit.
    private_recipe` (the caller lets explicitly given options win over them).
    """
    needs = {"--delta": delta, "--metadata": metadata, "--privacy-recipe": recipe or None}
    alone = [name for name, value in needs.items() if value is not None]
    if epsilon is None:
        if alone:
            fail(f"{', '.join(alone)} need(s) --epsilon (they describe a private fit).")
        return {}
    if model != "ptgan":
        fail(f"--epsilon is an option of --model ptgan, not of {model}.")
    privacy: Any = (epsilon, delta)
    if metadata is not None:
        privacy = {"epsilon": epsilon, "delta": delta, "metadata": read_metadata(metadata)}
    params: dict[str, Any] = {"privacy": privacy}
    if recipe:
        from fairsynth.models.private_fit import private_recipe

        params.update(private_recipe(n_rows))
    return params
