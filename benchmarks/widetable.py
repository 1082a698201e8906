"""A wide table of any length built offline from the bundled Adult rows, for scale measurements.

``wide_table(n_rows)`` draws Adult's training rows with replacement, perturbs them a little
(numbers jittered, 1 % of categories redrawn from their column) and adds columns derived from
them: bands of the numbers, crossings of categories (some with 40-100 values), flags, a region
of the native country and a few numbers, 42 columns in all, 29 of them categorical (the shape of
the wide table of the scale issue). The income target keeps its relation to the other columns.

``shuffled_copy`` makes a stand-in synthetic table without training a model: a table built the
same way from another seed, with a share of its columns shuffled independently (their marginals
kept, their relations to the others lost).

Usage (writes train.csv, test.csv and synthetic.csv into the folder)::

    python -m benchmarks.widetable /tmp/wide --rows 200000
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from fairsynth.datasets import load_dataset

__all__ = ["shuffled_copy", "wide_table", "write_tables"]

_REGIONS = {
    "United-States": "North America",
    "Canada": "North America",
    "Outlying-US(Guam-USVI-etc)": "North America",
    "Mexico": "Latin America",
    "Puerto-Rico": "Latin America",
    "Cuba": "Latin America",
    "Jamaica": "Latin America",
    "Dominican-Republic": "Latin America",
    "El-Salvador": "Latin America",
    "Guatemala": "Latin America",
    "Honduras": "Latin America",
    "Nicaragua": "Latin America",
    "Haiti": "Latin America",
    "Columbia": "Latin America",
    "Ecuador": "Latin America",
    "Peru": "Latin America",
    "Trinadad&Tobago": "Latin America",
    "India": "Asia",
    "China": "Asia",
    "Japan": "Asia",
    "Philippines": "Asia",
    "Vietnam": "Asia",
    "Taiwan": "Asia",
    "Iran": "Asia",
    "Thailand": "Asia",
    "Cambodia": "Asia",
    "Laos": "Asia",
    "Hong": "Asia",
}


def _band(values: pd.Series, edges: list[float], prefix: str) -> pd.Series:
    codes = np.searchsorted(np.asarray(edges), values.to_numpy(), side="right")
    return pd.Series([f"{prefix}{c}" for c in codes], index=values.index)


def _cross(*columns: pd.Series) -> pd.Series:
    out = columns[0].astype(str)
    for column in columns[1:]:
        out = out + "|" + column.astype(str)
    return out


def _perturb(rows: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Jitter the numbers a little and redraw 1 % of each categorical column from its values."""
    n = len(rows)
    out = rows.copy()
    out["age"] = np.clip(out["age"] + rng.integers(-1, 2, n), 17, 90)
    out["fnlwgt"] = np.round(out["fnlwgt"] * rng.lognormal(0.0, 0.05, n)).astype("int64")
    jitter = rng.random(n) < 0.2
    out["hours-per-week"] = np.clip(out["hours-per-week"] + jitter * rng.integers(-2, 3, n), 1, 99)
    for column in ("workclass", "occupation", "marital-status", "native-country"):
        redraw = rng.random(n) < 0.01
        out.loc[redraw, column] = rng.choice(out[column].to_numpy(), int(redraw.sum()))
    return out


def wide_table(n_rows: int, *, random_state: int = 0) -> pd.DataFrame:
    """Adult rows resampled and perturbed, with 27 derived columns: 42 columns, 29 categorical.

    Parameters
    ----------
    n_rows : int
        Rows to draw (with replacement) from Adult's 30,162 training rows.
    random_state : int
        Seed of the draw and of every perturbation.

    Returns
    -------
    DataFrame
        Adult's 15 columns (target ``income``, sensitive ``sex``) and the derived ones.
    """
    rng = np.random.default_rng(random_state)
    adult = load_dataset("adult").train
    base = adult.iloc[rng.integers(0, len(adult), n_rows)].reset_index(drop=True)
    t = _perturb(base, rng)
    gain, loss, hours, age = t["capital-gain"], t["capital-loss"], t["hours-per-week"], t["age"]
    deciles = list(adult["fnlwgt"].quantile(np.arange(1, 10) / 10))
    derived = {
        "age_band": _band(age, [25, 35, 45, 55, 65], "age"),
        "age_decade": (age // 10 * 10).astype(str) + "s",
        "hours_band": _band(hours, [20, 35, 40, 41, 50, 60], "h"),
        "gain_band": _band(gain, [1, 3000, 7000, 15000], "g"),
        "loss_band": _band(loss, [1, 1500, 2000], "l"),
        "has_capital": np.where((gain > 0) | (loss > 0), "yes", "no"),
        "fnlwgt_decile": _band(t["fnlwgt"], deciles, "w"),
        "region": t["native-country"].map(_REGIONS).fillna("Europe/other"),
        "occupation_sex": _cross(t["occupation"], t["sex"]),
        "education_sex": _cross(t["education"], t["sex"]),
        "race_sex": _cross(t["race"], t["sex"]),
        "marital_relationship": _cross(t["marital-status"], t["relationship"]),
        "workclass_occupation": _cross(t["workclass"], t["occupation"]),
        "education_marital": _cross(t["education"], t["marital-status"]),
        "occupation_age": _cross(t["occupation"], _band(age, [30, 45, 60], "a")),
        "workclass_hours": _cross(t["workclass"], _band(hours, [35, 41, 50], "h")),
        "relationship_age": _cross(t["relationship"], _band(age, [30, 45, 60], "a")),
        "region_race": _cross(t["native-country"].map(_REGIONS).fillna("Europe/other"), t["race"]),
        "education_level": _band(t["education-num"], [9, 10, 13, 14], "e"),
        "full_time": np.where(hours >= 35, "full", "part"),
        "age_squared": age.astype(float) ** 2 / 100.0,
        "log_fnlwgt": np.log(t["fnlwgt"].astype(float)),
        "hours_per_age": np.round(hours / age, 4),
        "net_capital": gain - loss,
        "years_of_school": t["education-num"] + rng.integers(0, 2, n_rows),
        "weekly_income_proxy": np.round(
            hours * (10 + t["education-num"]) * rng.lognormal(0.0, 0.2, n_rows), 1
        ),
        "tenure": np.clip(age - 18 - rng.integers(0, 10, n_rows), 0, None),
    }
    return pd.concat([t, pd.DataFrame(derived)], axis=1)


def shuffled_copy(
    frame: pd.DataFrame, *, share: float = 0.33, keep: tuple[str, ...] = (), random_state: int = 0
) -> pd.DataFrame:
    """Shuffle every ``1/share``-th column independently (except ``keep``): a stand-in synthetic.

    Shuffling keeps each column's marginal and cuts its relation to the rest, so the copy is
    imperfect the way a weak generator is (detection AUC near 1), while the unshuffled
    columns keep the target learnable.
    """
    rng = np.random.default_rng(random_state)
    out = frame.copy()
    step = max(1, round(1 / share))
    for column in [c for c in frame.columns if c not in keep][::step]:
        out[column] = rng.permutation(out[column].to_numpy())
    return out


def write_tables(folder: Path, rows: int, test_rows: int | None = None) -> dict[str, Path]:
    """Write ``train.csv`` (seed 0), ``test.csv`` (seed 1) and ``synthetic.csv`` (seed 2)."""
    folder.mkdir(parents=True, exist_ok=True)
    frames = {
        "train": wide_table(rows, random_state=0),
        "test": wide_table(test_rows or rows // 2, random_state=1),
        "synthetic": shuffled_copy(
            wide_table(rows, random_state=2), keep=("income", "sex"), random_state=2
        ),
    }
    paths = {}
    for name, frame in frames.items():
        paths[name] = folder / f"{name}.csv"
        frame.to_csv(paths[name], index=False)
    return paths


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--test-rows", type=int, default=None, help="[rows / 2]")
    args = parser.parse_args(argv)
    for name, path in write_tables(args.folder, args.rows, args.test_rows).items():
        print(f"{name}: {path}")


if __name__ == "__main__":
    main()
