"""Membership inference: can an attacker holding the synthetic table tell training rows apart?

The attack is the distance-based, black-box one of GAN-Leaks (Chen, Yu, Zhang & Fritz, "GAN-Leaks:
A Taxonomy of Membership Inference Attacks against Generative Models", CCS 2020,
arXiv 1909.03935, its "full black-box" attack): a candidate real row is called a member when
some synthetic row lies close to it. The score of a row is minus its distance to the nearest
synthetic row (on the encoding of the distance to closest record: numbers scaled to [0, 1] by
the training range, a categorical mismatch adding 1 to the squared distance); the AUC of that
score separating real training rows (members) from real held-out rows (non-members), as many of
each, is the attack's success. 0.5: the synthetic table tells nothing about who was in the
training data; 1.0: every training row has a copy. A model trained with differential privacy
bounds any attack's advantage; this measures one attack, it proves nothing for others.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from fairsynth.evaluation._encoding import MixedEncoder, nearest_distances

__all__ = ["membership_attack"]


def membership_attack(
    train: pd.DataFrame,
    held_out: pd.DataFrame,
    synthetic: pd.DataFrame,
    categorical: Sequence[str],
    numerical: Sequence[str],
    *,
    max_rows: int = 5000,
    random_state: int | np.random.Generator | None = 0,
) -> dict[str, float]:
    """The distance attack's AUC on training rows against held-out rows.

    Parameters
    ----------
    train, held_out : DataFrame
        Real rows the synthesizer saw (members) and rows it never saw (non-members).
    synthetic : DataFrame
        The attacker's view: the synthetic table.
    categorical, numerical : sequence of str
        The column kinds (as for the distance to closest record).
    max_rows : int, default=5000
        Members and non-members scored, each (fewer when a table has fewer rows).
    random_state : int, Generator or None
        Which rows are drawn.

    Returns
    -------
    dict
        ``auc``, and ``rows`` (members, the same number of non-members).

    Examples
    --------
    >>> import pandas as pd
    >>> real = pd.DataFrame({"x": range(200), "c": ["a", "b"] * 100})
    >>> out = membership_attack(real[:100], real[100:], real[:100], ["c"], ["x"])
    >>> round(out["auc"], 2)
    1.0
    """
    rng = np.random.default_rng(random_state)
    rows = int(min(max_rows, len(train), len(held_out)))
    members = train.iloc[rng.choice(len(train), rows, replace=False)]
    others = held_out.iloc[rng.choice(len(held_out), rows, replace=False)]
    encoder = MixedEncoder(categorical, numerical).fit(train)
    # one pass over the synthetic rows, chunk by chunk, for both sets of candidates
    scores = -nearest_distances(encoder, synthetic, pd.concat([members, others]))
    labels = np.r_[np.ones(rows), np.zeros(rows)]
    # distances rounded so that BLAS noise (~1e-8) on exact copies does not order ties
    return {
        "auc": float(roc_auc_score(labels, np.round(scores, 6))),
        "rows": rows,
    }
