"""A private fit around DP-SGD: the transform's share of the budget, the total, the recipe.

The transform's layout (category lists, numeric bounds) is a statistic of the real rows unless
the user describes the columns (``privacy={"metadata": ...}``). For the columns metadata does
not describe, a private fit releases their categories and bounds with differential privacy
(:mod:`fairsynth.transform._private`), spending ``transform_share`` of ε and δ; DP-SGD spends
the rest. The two compose by basic composition (the ε add up, and the δ; Dwork & Roth 2014,
Theorem 3.16): ``privacy_["epsilon"]`` is their sum. With ``"transform": "data"`` the columns
are read from the table as given, as before this module: not covered, with a
:class:`~fairsynth.exceptions.PrivacyWarning` naming them. docs/privacy.md.
"""

from __future__ import annotations

import dataclasses
import warnings
from typing import TYPE_CHECKING, Any

from fairsynth.exceptions import ParameterError, PrivacyWarning, format_choices
from fairsynth.transform._metadata import resolve_metadata

if TYPE_CHECKING:  # privacy.py imports this module for its checks
    from fairsynth.models.privacy import PrivacySettings

__all__ = [
    "PRIVATE_RECIPE",
    "check_transform_settings",
    "private_recipe",
    "sgd_settings",
    "total_delta",
    "total_spent",
    "transform_budget",
    "warn_uncovered",
]

#: The settings that measured best under DP-SGD on Adult (docs/privacy.md, "Tuning a private
#: fit"): rows alone (no tempering, no coherency penalty: sensitivity C, not 2C), a one-layer
#: critic, 1,000 rows a step, a faster learning rate; :func:`private_recipe` adds the epochs of
#: about 3,000 steps.
PRIVATE_RECIPE: dict[str, Any] = {
    "temperature_ratio": 1.0, "coherency_weight": 0.0, "critic_dims": (128,),
    "batch_size": 1000, "learning_rate": 3e-4,
}  # fmt: skip
RECIPE_STEPS = 3000


def private_recipe(n_rows: int) -> dict[str, Any]:
    """:data:`PRIVATE_RECIPE` with the epochs of about 3,000 steps on ``n_rows`` rows."""
    steps_per_epoch = max(1, n_rows // PRIVATE_RECIPE["batch_size"])
    return {**PRIVATE_RECIPE, "epochs": max(1, round(RECIPE_STEPS / steps_per_epoch))}


def check_transform_settings(settings: PrivacySettings) -> None:
    """Refuse a bad ``metadata``, ``transform`` or ``transform_share``, naming it."""
    if settings.transform not in ("private", "data"):
        raise ParameterError(
            f"privacy transform={settings.transform!r} is not valid. Valid choices: 'private', "
            "'data'."
        )
    share = settings.transform_share
    if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 < share < 1:
        raise ParameterError(
            f"privacy transform_share={share!r} is not valid: give a number in (0, 1)."
        )
    resolve_metadata(settings.metadata)  # a ParameterError naming the column


def total_delta(settings: PrivacySettings, n_rows: int) -> float:
    """The target δ (``1 / n**2`` when not given); refuse δ ≥ 1/n naming the value."""
    delta = 1.0 / n_rows**2 if settings.delta is None else float(settings.delta)
    if delta >= 1.0 / n_rows:
        raise ParameterError(
            f"privacy delta={delta:g} is not valid for {n_rows} rows: give δ < 1/n = "
            f"{1.0 / n_rows:.3g} (1/n² = {1.0 / n_rows**2:.3g} is usual)."
        )
    return delta


def transform_budget(settings: PrivacySettings, n_rows: int) -> dict[str, float] | None:
    """The ``private_statistics`` of the fit's TableTransformer (None: read from the data)."""
    delta = total_delta(settings, n_rows)
    if settings.transform == "data":
        return None
    share = float(settings.transform_share)
    return {"epsilon": float(settings.epsilon) * share, "delta": delta * share}


def sgd_settings(
    settings: PrivacySettings, n_rows: int, transform_spent: dict[str, float]
) -> PrivacySettings:
    """What DP-SGD may spend: the target less what the transform's releases spent."""
    return dataclasses.replace(
        settings,
        epsilon=float(settings.epsilon) - transform_spent["epsilon"],
        delta=total_delta(settings, n_rows) - transform_spent["delta"],
    )


def warn_uncovered(sources: dict[str, str]) -> None:
    """Warn, naming them, about the columns whose layout was read from the data as given."""
    uncovered = [name for name, source in sources.items() if source == "data"]
    if uncovered:
        warnings.warn(
            f"privacy does not cover the transform's statistics of {format_choices(uncovered)} "
            "(category lists, numeric bounds, mixture fits, point masses read from the table as "
            "given): describe them in privacy={'metadata': ...}, or leave 'transform' at "
            "'private' (times are always read as given): see docs/privacy.md.",
            PrivacyWarning,
            stacklevel=5,
        )


def total_spent(
    sgd: dict[str, Any], settings: PrivacySettings, n_rows: int, transformer: Any
) -> dict[str, Any]:
    """``privacy_``: DP-SGD's record (:func:`~fairsynth.models.privacy.epsilon_spent`) with the
    transform's releases added by basic composition, and where each column's layout came from.
    """
    spent = transformer.private_spent_
    sources: dict[str, str] = transformer.sources_
    by_source = {
        key: [name for name, source in sources.items() if source == key]
        for key in ("metadata", "dp", "dtype", "data")
    }
    return {
        **sgd,
        "epsilon": sgd["epsilon"] + spent["epsilon"],
        "target_epsilon": float(settings.epsilon),
        "delta": total_delta(settings, n_rows),
        "dp_sgd_epsilon": sgd["epsilon"],
        "dp_sgd_target_epsilon": sgd["target_epsilon"],
        "dp_sgd_delta": sgd["delta"],
        "transform_epsilon": spent["epsilon"],
        "transform_delta": spent["delta"],
        "columns_from_metadata": by_source["metadata"],
        "columns_released_privately": by_source["dp"] + by_source["dtype"],
        "columns_not_covered": by_source["data"],
        "composition": "basic: the ε and the δ of DP-SGD and of the transform's releases add up",
    }
