"""``fairsynth info``: what a model file holds, read without rebuilding the networks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fairsynth.models.fitcheck import FAILED_DETECTION

__all__ = ["describe_model", "privacy_line"]


def privacy_line(privacy: dict[str, Any] | None) -> str:
    """One line on a private fit's budget, or that the fit was not private."""
    if not privacy:
        return "privacy: none (not trained with differential privacy)"
    return (
        f"privacy: ε = {privacy['epsilon']:.3g} spent (target {privacy['target_epsilon']:g}), "
        f"δ = {privacy['delta']:.3g}; DP-SGD on the critic, noise multiplier "
        f"{privacy['noise_multiplier']:.3g}, clip norm {privacy['clip_norm']:g}, sample rate "
        f"{privacy['sample_rate']:.3g}, {privacy['steps_run']:,} of {privacy['steps']:,} steps, "
        f"{privacy['accountant']} accountant; {_transform_part(privacy)} (docs/privacy.md)"
    )


def _transform_part(privacy: dict[str, Any]) -> str:
    """What the ε covers of the transform (files before the private transform: nothing)."""
    if "columns_not_covered" not in privacy:
        return "the transform's statistics are not covered"
    parts = []
    if privacy["columns_from_metadata"]:
        parts.append(f"{len(privacy['columns_from_metadata'])} from metadata")
    if privacy["columns_released_privately"]:
        parts.append(
            f"{len(privacy['columns_released_privately'])} released with DP "
            f"(ε = {privacy['transform_epsilon']:.3g}, δ = {privacy['transform_delta']:.3g}, "
            "included above)"
        )
    uncovered = privacy["columns_not_covered"]
    if uncovered:
        parts.append(f"NOT COVERED: {', '.join(uncovered)} (read from the data as given)")
    return "transform columns: " + "; ".join(parts)


def auto_length_line(
    history: list[dict[str, Any]], convergence: dict[str, Any] | None, planned: int | None
) -> str:
    """What ``epochs='auto'`` chose: where convergence stopped the fit, or that it did not."""
    steps = sum(int(record.get("steps", 0)) for record in history)
    record: dict[str, Any] = convergence or {}
    checks = record.get("checks") or []
    if not checks:
        return f"epochs='auto': {planned or 0:,} epochs planned, {steps:,} steps run"
    seen = f"detection AUC of its rows {checks[-1]['detection_auc']:.3f}"
    if (fall := record.get("projected_fall")) is not None:
        way = "fall" if fall >= 0 else "rise"  # a negative fall is said as a rise
        horizon = record.get("horizon", 1500)
        seen += f", projected to {way} {abs(fall):.3f} in {horizon:,} more steps"
    if record.get("converged"):
        return f"epochs='auto': converged after {steps:,} steps ({seen})"
    if checks[-1]["detection_auc"] >= FAILED_DETECTION:
        return (
            f"epochs='auto': ran {steps:,} steps; its rows are told from real ones almost "
            f"always ({seen}), so its convergence checks could not see progress"
        )
    if (rows := record.get("too_few_rows")) is not None:
        return (
            f"epochs='auto': ran {steps:,} steps; the table's {rows:,} rows are too few for "
            f"its convergence checks to stop it early ({seen})"
        )
    if fall is not None and fall < 0:
        return (
            f"epochs='auto': ran {steps:,} steps; its rows had stopped getting harder to tell "
            f"from real ones ({seen}), so more steps would not help"
        )
    return (
        f"epochs='auto': stopped after {steps:,} steps before converging ({seen}); "
        "a longer fit (a larger epochs) may give closer rows"
    )


def describe_model(path: Path) -> list[str]:
    """The lines ``fairsynth info`` prints: class, versions, columns, fit, privacy, parameters."""
    from fairsynth.io.modelfile import read_model_file

    contents = read_model_file(path)
    fitted, params = contents.fitted, contents.params
    versions = ", ".join(f"{k} {v}" for k, v in contents.versions.items()) or "not recorded"
    columns = [str(c) for c in fitted.get("feature_names_in_", [])]
    discrete = set(contents.transform_config.get("discrete_columns", []))
    shown = ", ".join(f"{c} ({'discrete' if c in discrete else 'numeric'})" for c in columns)
    history = fitted.get("history_") or []
    steps = sum(int(record.get("steps", 0)) for record in history)
    fit_time = fitted.get("fit_time_")
    lines = [
        f"model: {contents.class_name}, written by fairsynth "
        f"{contents.fairsynth_version or '?'} ({versions})",
        f"columns ({len(columns)}): {shown}",
        f"fit: {len(history):,} epochs, {steps:,} steps, "
        + (f"{float(fit_time):.1f} s" if fit_time is not None else "time not recorded")
        + f", stopped by {fitted.get('stopped_reason_', '?')}",
    ]
    if params.get("epochs") == "auto" and (fitted.get("convergence_") or {}).get("checks"):
        lines.append(auto_length_line(history, fitted.get("convergence_"), None))
    lines += [
        privacy_line(fitted.get("privacy_")),
        "parameters:",
    ]
    lines += [f"  {key} = {value!r}" for key, value in sorted(params.items())]
    return lines
