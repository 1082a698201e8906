"""benchmarks/tells.py names the pair whose association a synthetic table lost."""

from __future__ import annotations

import numpy as np
import pandas as pd

from benchmarks.tells import tells


def test_the_pair_that_lost_its_association_has_the_largest_lift() -> None:
    rng = np.random.default_rng(0)
    n = 3000
    a = rng.choice(["x", "y", "z"], n)
    real = pd.DataFrame({"a": a, "b": a.copy(), "c": rng.normal(size=n)})  # b follows a
    fake = real.copy()
    fake["b"] = rng.permutation(real["b"].to_numpy())  # same margins, association gone
    found = tells(real, fake, ["a", "b"], top=3)
    assert found["pairs_by_lift"][0][:2] == ["a", "b"] and found["pairs_by_lift"][0][3] > 0.3
    assert max(found["single"].values()) < 0.56  # no column alone gives it away
    assert found["leave_one_out"]["c"] > 0.8 > found["leave_one_out"]["b"]
