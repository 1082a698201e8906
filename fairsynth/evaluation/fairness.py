"""Fairness of the data and of the downstream models, by sensitive group.

Of the data: the label's demographic-parity gap, max - min over groups of
P(Y = positive | S = s). Downstream: the demographic-parity and equalized-odds differences of
fairlearn (between groups, worst case) of the utility models' predictions on the real test
table, at the 0.5 threshold and, for demographic parity, also at a fixed selection rate (the
top share of scores equal to the real training prevalence), per sensitive column and for the
intersection of all of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from fairsynth.evaluation._prepare import Issue, Prepared, group_labels
from fairsynth.evaluation._result import SectionResult, SummaryRow

if TYPE_CHECKING:
    from fairsynth.evaluation.utility import Prediction

__all__ = [
    "attributes",
    "fairness_section",
    "gap_metrics",
    "group_rates",
    "label_gap",
    "top_share",
]


def attributes(sensitive: Sequence[str]) -> list[tuple[str, list[str]]]:
    """Each sensitive column alone, then their intersection when there are several."""
    out = [(name, [name]) for name in sensitive]
    if len(sensitive) > 1:
        out.append((" & ".join(sensitive), list(sensitive)))
    return out


def top_share(scores: np.ndarray, rate: float) -> np.ndarray:
    """Predict positive for the ``rate`` share of rows with the highest scores (ties by order)."""
    k = round(float(rate) * len(scores))
    pred = np.zeros(len(scores), dtype=int)
    pred[np.argsort(-np.asarray(scores), kind="stable")[:k]] = 1
    return pred


def label_gap(y: np.ndarray, groups: pd.Series) -> float:
    """Max - min over groups of the share of positive labels."""
    rates = pd.Series(np.asarray(y, dtype=float)).groupby(groups.to_numpy()).mean()
    return float(rates.max() - rates.min())


def group_rates(y_true: np.ndarray, pred: np.ndarray, groups: pd.Series) -> pd.DataFrame:
    """Per group: selection rate, true- and false-positive rates, size (fairlearn's conventions).

    The same numbers as ``fairlearn.metrics.MetricFrame`` with ``selection_rate``,
    ``true_positive_rate``, ``false_positive_rate`` and ``count`` (a rate whose denominator is
    zero counts as 0), computed with ``numpy.bincount``: MetricFrame takes about 0.2 s a call,
    which made a full report spend most of its time here. Tests check the equality.
    """
    codes, names = pd.factorize(groups, sort=True)
    y, p = np.asarray(y_true, dtype=int), np.asarray(pred, dtype=int)
    k = len(names)
    n = np.bincount(codes, minlength=k).astype(float)
    positives = np.bincount(codes, weights=y, minlength=k)
    chosen = np.bincount(codes, weights=p, minlength=k)
    true_pos = np.bincount(codes, weights=y * p, minlength=k)
    with np.errstate(invalid="ignore", divide="ignore"):
        tpr = np.nan_to_num(true_pos / positives)
        fpr = np.nan_to_num((chosen - true_pos) / (n - positives))
    return pd.DataFrame(
        {"group": np.asarray(names), "rate": chosen / n, "tpr": tpr, "fpr": fpr, "n": n.astype(int)}
    )


def gap_metrics(
    y_true: np.ndarray, pred: np.ndarray, pred_at_rate: np.ndarray | None, groups: pd.Series
) -> dict[str, float]:
    """Demographic parity, equalized odds, and DP at a fixed selection rate.

    Equal to fairlearn's ``demographic_parity_difference`` and ``equalized_odds_difference``
    (``method='between_groups'``, ``agg='worst_case'``): the largest difference between
    groups in selection rate, and the larger of the differences in true- and false-positive
    rate.

    Parameters
    ----------
    y_true, pred : array of 0/1
        True labels and predictions at the 0.5 threshold.
    pred_at_rate : array of 0/1 or None
        Predictions at a fixed selection rate (see :func:`top_share`).
    groups : Series
        One group label per row.

    Returns
    -------
    dict
        ``dp``, ``eo`` and ``dp_at_rate`` (NaN when ``pred_at_rate`` is None).
    """
    rates = group_rates(y_true, pred, groups)

    def spread(values: pd.Series) -> float:
        return float(values.max() - values.min())

    out = {
        "dp": spread(rates["rate"]),
        "eo": max(spread(rates["tpr"]), spread(rates["fpr"])),
        "dp_at_rate": np.nan,
    }
    if pred_at_rate is not None:
        out["dp_at_rate"] = spread(group_rates(y_true, pred_at_rate, groups)["rate"])
    return out


def _variant(with_sensitive: bool) -> str:
    return "included" if with_sensitive else "excluded"


def _label_tables(prepared: Prepared) -> tuple[pd.DataFrame, pd.DataFrame]:
    data = {"real_train": (prepared.train, prepared.y_train)}
    if prepared.y_synthetic is not None:
        data["synthetic"] = (prepared.synthetic, prepared.y_synthetic)
    if prepared.test is not None:
        data["real_test"] = (prepared.test, prepared.y_test)
    gaps: list[dict[str, Any]] = []
    rates: list[pd.DataFrame] = []
    for attribute, columns in attributes(prepared.sensitive):
        for name, (frame, y) in data.items():
            assert y is not None  # set together with the frame in prepare()
            groups = group_labels(frame, columns)
            gaps.append(
                {
                    "attribute": attribute,
                    "data": name,
                    "label_gap": label_gap(y, groups),
                    "n_groups": int(groups.nunique()),
                }
            )
            table = group_rates(y, y, groups).assign(
                tpr=np.nan,
                fpr=np.nan,
                attribute=attribute,
                kind="label",
                data=name,
                model=None,
                trained_on=None,
                sensitive_feature=None,
            )
            rates.append(table)
    return pd.DataFrame(gaps), pd.concat(rates, ignore_index=True)


def _prediction_tables(
    prepared: Prepared, predictions: Sequence[Prediction]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    assert prepared.test is not None and prepared.y_test is not None
    rows: list[dict[str, Any]] = []
    rates: list[pd.DataFrame] = []
    for attribute, columns in attributes(prepared.sensitive):
        groups = group_labels(prepared.test, columns)
        for p in predictions:
            key = {
                "model": p.model,
                "trained_on": p.trained_on,
                "sensitive_feature": _variant(p.with_sensitive),
                "attribute": attribute,
            }
            if p.pred is None:
                rows.append(key | {"dp": np.nan, "eo": np.nan, "dp_at_rate": np.nan})
                continue
            rows.append(key | gap_metrics(prepared.y_test, p.pred, p.pred_at_rate, groups))
            table = group_rates(prepared.y_test, p.pred, groups)
            rates.append(table.assign(kind="prediction", data="real_test", **key))
    return pd.DataFrame(rows), pd.concat(rates, ignore_index=True) if rates else pd.DataFrame()


def fairness_section(prepared: Prepared, predictions: Sequence[Prediction]) -> SectionResult:
    """Tables ``label_gap``, ``fairness`` and ``group_rates`` plus the headline figures."""
    result = SectionResult()
    if not prepared.sensitive:
        result.issues.append(Issue("fairness", "all", "no sensitive columns given"))
        return result
    if prepared.task != "classification":
        why = "no target given" if prepared.task is None else "the target is not a class label"
        result.issues.append(Issue("fairness", "all", why))
        return result
    gaps, label_rates = _label_tables(prepared)
    result.tables["label_gap"] = gaps
    rate_tables = [label_rates]
    if predictions and prepared.test is not None:
        downstream, prediction_rates = _prediction_tables(prepared, predictions)
        result.tables["fairness"] = downstream
        rate_tables.append(prediction_rates)
    columns = ["attribute", "group", "kind", "data", "model", "trained_on", "sensitive_feature"]
    rates = pd.concat(rate_tables, ignore_index=True)
    result.tables["group_rates"] = rates[[*columns, "rate", "tpr", "fpr", "n"]]
    result.summary.extend(_summary(result.tables, prepared.sensitive[0]))
    result.issues.extend(_small_groups(prepared))
    return result


_SMALL_GROUP, _FEW_POSITIVES = 30, 10


def _small_groups(prepared: Prepared) -> list[Issue]:
    """Warn where a max - min gap can hinge on a handful of rows (EO on a few positives)."""
    frame, y, name = prepared.test, prepared.y_test, "real_test"
    if frame is None or y is None:
        frame, y, name = prepared.train, prepared.y_train, "real_train"
    assert y is not None
    issues = []
    for attribute, columns in attributes(prepared.sensitive):
        counts = pd.DataFrame({"group": group_labels(frame, columns).to_numpy(), "y": y})
        sizes = counts.groupby("group")["y"].agg(["size", "sum"])
        small = sizes[(sizes["size"] < _SMALL_GROUP) | (sizes["sum"] < _FEW_POSITIVES)]
        if len(small):
            group, (n, positives) = small["sum"].idxmin(), small.loc[small["sum"].idxmin()]
            issues.append(
                Issue(
                    "fairness",
                    f"groups of '{attribute}'",
                    f"{len(small)} group{'s have' if len(small) > 1 else ' has'} fewer than "
                    f"{_SMALL_GROUP} rows or "
                    f"{_FEW_POSITIVES} positive labels in {name} (e.g. '{group}': {n} rows, "
                    f"{positives} positive); their rates, and gaps that hinge on them "
                    "(EO especially), are noisy",
                )
            )
    return issues


def _summary(tables: dict[str, pd.DataFrame], attribute: str) -> list[SummaryRow]:
    rows: list[SummaryRow] = []
    gaps = tables["label_gap"].set_index(["attribute", "data"])["label_gap"]
    rows.append(
        SummaryRow(
            "fairness",
            f"label gap in the data ({attribute})",
            gaps.get((attribute, "synthetic"), np.nan),
            gaps.get((attribute, "real_train"), np.nan),
            "lower",
            "" if (attribute, "synthetic") in gaps.index else "target missing from synthetic",
        )
    )
    if "fairness" not in tables:
        return rows
    table = tables["fairness"]
    table = table[(table["attribute"] == attribute) & (table["sensitive_feature"] == "included")]
    names = {"dp": "DP difference", "eo": "EO difference", "dp_at_rate": "DP at fixed rate"}
    for metric, label in names.items():
        for model in table["model"].unique():
            mine = table[table["model"] == model].set_index("trained_on")[metric]
            rows.append(
                SummaryRow(
                    "fairness",
                    f"{model} {label} ({attribute})",
                    mine.get("synthetic", np.nan),
                    mine.get("real", np.nan),
                    "lower",
                )
            )
    return rows
