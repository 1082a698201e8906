"""Privacy: how close synthetic rows sit to the training rows, compared with fresh real rows.

Distance to closest record (DCR): for each synthetic row, the Euclidean distance to its
nearest real training row on the :class:`~fairsynth.evaluation._encoding.MixedEncoder`
encoding (numbers scaled to [0, 1] by the training range, each categorical mismatch adding 1
to the squared distance), compared with the same distance for real held-out rows. A
generator that generalises puts its rows about as far from the training rows as new real
rows are (median ratio near 1, about 5 % of rows under the held-out 5th percentile); one that
copies puts them at distance 0.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from fairsynth.evaluation._encoding import CHUNK_ROWS, MixedEncoder, nearest_distances
from fairsynth.evaluation._prepare import Issue, Prepared
from fairsynth.evaluation._result import SectionResult, SummaryRow
from fairsynth.evaluation.membership import membership_attack

__all__ = ["closest_distances", "exact_copies", "privacy_section"]

_COPY_FLAG_SHARE_CLOSE = 0.10  # twice what held-out real rows get by construction
_COPY_FLAG_EXCESS = 0.01  # exact-copy share above the held-out rows' own share
_PAIR_BUDGET = 400_000_000  # queries × training rows per table: Adult's 10,000 × 30,162 fit


def exact_copies(train: pd.DataFrame, other: pd.DataFrame) -> np.ndarray:
    """Boolean mask of the rows of ``other`` equal, in every column, to some row of ``train``."""
    columns = list(other.columns)
    seen = pd.util.hash_pandas_object(train[columns], index=False)
    return pd.util.hash_pandas_object(other, index=False).isin(seen).to_numpy()


def closest_distances(
    train: pd.DataFrame,
    queries: pd.DataFrame,
    categorical: Sequence[str],
    numerical: Sequence[str],
    *,
    chunk_rows: int = CHUNK_ROWS,
) -> np.ndarray:
    """Distance from each query row to its nearest training row (exact copies give 0).

    Every training row is searched, :data:`~fairsynth.evaluation._encoding.CHUNK_ROWS` at a
    time (:func:`~fairsynth.evaluation._encoding.nearest_distances`).
    """
    encoder = MixedEncoder(categorical, numerical).fit(train)
    best = nearest_distances(encoder, train, queries, chunk_rows=chunk_rows)
    # The BLAS shortcut leaves rounding noise (~1e-8) where rows are identical.
    best[exact_copies(train, queries)] = 0.0
    return best


def query_rows(n_train: int, max_rows: int) -> int:
    """Rows whose DCR is measured: ``max_rows``, fewer when the training table is large.

    The search costs (queries × training rows); above :data:`_PAIR_BUDGET` pairs the queries
    are cut (to 1,000 at least) rather than the training rows, since the statistic is the
    distance to the closest of *all* training rows, while a median or a 5th percentile of
    a few thousand queries is already precise.
    """
    return int(min(max_rows, max(1000, _PAIR_BUDGET // max(n_train, 1))))


def _sample(frame: pd.DataFrame, max_rows: int, rng: np.random.Generator) -> pd.DataFrame:
    if len(frame) <= max_rows:
        return frame
    return frame.iloc[np.sort(rng.choice(len(frame), max_rows, replace=False))]


def _share_closer(distances: np.ndarray, threshold: float) -> float:
    # With many duplicated rows the held-out 5th percentile can be 0; then count ties.
    return float(np.mean(distances < threshold if threshold > 0 else distances <= threshold))


def _histogram(synthetic: np.ndarray, held_out: np.ndarray) -> pd.DataFrame:
    both = np.r_[synthetic, held_out]
    top = float(np.quantile(both, 0.99)) if len(both) else 1.0
    edges = np.linspace(0.0, top if top > 0 else 1.0, 41)
    counts = {
        name: np.histogram(np.clip(d, 0, edges[-1]), edges)[0] / max(len(d), 1)
        for name, d in (("synthetic", synthetic), ("held_out", held_out))
    }
    return pd.DataFrame({"left": edges[:-1], "right": edges[1:], **counts})


def privacy_section(
    prepared: Prepared,
    *,
    max_rows: int,
    seed: int,
    progress: Callable[[str], None] = lambda detail: None,
) -> SectionResult:
    """Table ``privacy`` (DCR figures, exact copies) and the DCR histogram data."""
    result = SectionResult()
    columns = list(prepared.synthetic.columns)
    train = prepared.train[columns]
    categorical = [c for c in prepared.categorical if c in columns]
    numerical = [c for c in prepared.numerical if c in columns]
    rng = np.random.default_rng([seed, 7])
    progress("exact copies (every row)")
    copies = exact_copies(train, prepared.synthetic)
    rows: list[dict[str, Any]] = []
    max_rows = query_rows(len(train), max_rows)
    synthetic = _sample(prepared.synthetic, max_rows, rng)
    sampled = f"{len(synthetic):,} of {len(prepared.synthetic):,} synthetic rows"
    if prepared.test is None:
        result.issues.append(Issue("privacy", "DCR comparison", "needs real_test (held-out rows)"))
        held_copies = np.array([], dtype=bool)
        held = synthetic.iloc[:0]
    else:
        test = prepared.test[columns]
        held = _sample(test, max_rows, rng)
        held_copies = exact_copies(train, test)
        sampled += f", {len(held):,} of {len(test):,} held-out rows"
    progress(f"distance to closest record of {sampled}")
    # one pass over the training rows for both sets of queries
    both = closest_distances(train, pd.concat([synthetic, held]), categorical, numerical)
    d_syn, d_hold = both[: len(synthetic)], both[len(synthetic) :]
    p5 = float(np.percentile(d_hold, 5)) if len(d_hold) else np.nan
    median_hold = float(np.median(d_hold)) if len(d_hold) else np.nan
    ratio = float(np.median(d_syn)) / median_hold if median_hold > 0 else np.nan
    share_close = _share_closer(d_syn, p5) if len(d_hold) else np.nan
    share_hold = _share_closer(d_hold, p5) if len(d_hold) else np.nan
    held_share = float(held_copies.mean()) if len(held_copies) else np.nan
    rows += [
        {
            "metric": "DCR median, synthetic",
            "value": float(np.median(d_syn)),
            "reference": median_hold,
            "note": f"reference: held-out real rows; {sampled}",
        },
        {
            "metric": "DCR median ratio (synthetic / held-out)",
            "value": ratio,
            "reference": 1.0,
            "note": "held-out median DCR is 0" if median_hold == 0 else "",
        },
        {
            "metric": "share closer than held-out 5th percentile",
            "value": share_close,
            "reference": share_hold,
            "note": f"held-out 5th percentile of DCR = {p5:.4g}",
        },
        {
            "metric": "exact copies of training rows",
            "value": int(copies.sum()),
            "reference": round(held_share * len(copies)) if len(held_copies) else np.nan,
            "note": "reference: held-out rows' share of copies × synthetic rows",
        },
        {
            "metric": "share of exact copies of training rows",
            "value": float(copies.mean()),
            "reference": held_share,
            "note": "all rows compared, no subsample",
        },
    ]
    if prepared.test is not None:
        progress("membership inference (distance attack)")
        attack = membership_attack(
            train, prepared.test[columns], prepared.synthetic, categorical, numerical,
            max_rows=max_rows // 2, random_state=rng,
        )  # fmt: skip
        rows.append({
            "metric": "membership inference AUC (distance attack)",
            "value": attack["auc"],
            "reference": 0.5,
            "note": f"GAN-Leaks full black-box attack; {attack['rows']:,} training vs as many "
            "held-out rows; 0.5 = no membership signal",
        })  # fmt: skip
    table = pd.DataFrame(rows)
    result.tables["privacy"] = table
    result.plot_data["dcr_histogram"] = _histogram(d_syn, d_hold).assign(p5=p5)
    flagged = share_close >= _COPY_FLAG_SHARE_CLOSE or (
        float(copies.mean()) > (0.0 if np.isnan(held_share) else held_share) + _COPY_FLAG_EXCESS
    )
    flag = "synthetic rows sit closer to training rows than fresh real rows do" if flagged else ""
    directions: dict[int, Literal["higher", "lower"]] = {1: "higher", 2: "lower", 4: "lower"}
    if len(rows) > 5:
        directions[5] = "lower"
    for i, direction in directions.items():
        row = rows[i]
        result.summary.append(
            SummaryRow("privacy", row["metric"], row["value"], row["reference"], direction, flag)
        )
    return result
