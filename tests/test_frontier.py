"""The knob's frontier, its calibration and the ``frontier`` command, on tiny fits."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import SMALL_NETS
from typer.testing import CliRunner

from fairsynth import ParameterError, PTGANSynthesizer
from fairsynth.cli import app
from fairsynth.frontier import (
    calibrate_fairness,
    exponentiated_gradient_scores,
    fairness_frontier,
    plot_frontier,
)
from fairsynth.frontier.calibrate import _first_below
from fairsynth.models.fair import FairPTGANSynthesizer

FAST = {"epochs": 2, **SMALL_NETS}


def make_table(n: int, seed: int) -> pd.DataFrame:
    """The group decides most of the outcome (rates 0.7 and 0.1); x carries a little signal."""
    rng = np.random.default_rng(seed)
    s = rng.choice(["a", "b"], n)
    y = (rng.random(n) < np.where(s == "a", 0.7, 0.1)).astype(int)
    return pd.DataFrame({"x": rng.normal(y * 0.5, 1.0).round(3), "s": s, "y": y})


@pytest.fixture(scope="module")
def train() -> pd.DataFrame:
    return make_table(600, 0)


@pytest.fixture(scope="module")
def test_rows() -> pd.DataFrame:
    return make_table(500, 1)


@pytest.fixture(scope="module")
def model(train: pd.DataFrame) -> FairPTGANSynthesizer:
    return FairPTGANSynthesizer(sensitive="s", target="y", positive_label=1, **FAST).fit(train)


def test_frontier_table(
    model: FairPTGANSynthesizer, train: pd.DataFrame, test_rows: pd.DataFrame
) -> None:
    rows = fairness_frontier(
        model, test_rows, fairness=(0.0, 1.0), models=["LogReg"], sensitive_feature="included",
        seeds=(0, 1), real_train=train, eg_bounds=(0.02,),
    )  # fmt: skip
    ours = rows[rows["source"] == "FairPTGAN"]
    assert len(ours) == 4 and set(ours["fairness"]) == {0.0, 1.0}
    assert set(rows["source"]) == {"FairPTGAN", "real data", "ExponentiatedGradient"}
    assert {"auc", "dp", "eo", "dp_at_rate", "data_gap", "attribute", "by"} <= set(rows.columns)
    # the synthetic label gap follows the knob exactly: the data's at λ = 0, none at λ = 1
    real_gap = train.groupby("s")["y"].mean().diff().abs().iloc[-1]
    assert ours.loc[ours["fairness"] == 0, "data_gap"].to_numpy() == pytest.approx(real_gap, 0.01)
    assert ours.loc[ours["fairness"] == 1, "data_gap"].max() < 0.01
    # the DP-constrained reference is much fairer than the same model trained on real data
    real = rows[rows["source"] == "real data"].iloc[0]
    fair = rows[rows["source"] == "ExponentiatedGradient"].iloc[0]
    assert real["dp"] > 0.3 and fair["dp"] < 0.15
    # a classifier that sees the group reproduces its gap at λ = 0 and loses it at λ = 1
    dp = ours.groupby("fairness")["dp_at_rate"].mean()
    assert dp[0.0] > dp[1.0] + 0.2


def test_calibration_finds_the_crossing(
    model: FairPTGANSynthesizer, test_rows: pd.DataFrame
) -> None:
    found = calibrate_fairness(
        model, test_rows, 0.25, metric="dp_at_rate", reference_model="LogReg", tolerance=0.1
    )
    assert found.met and 0 < found.fairness <= 1.0
    tried = found.evaluations.set_index("fairness")["dp_at_rate"]
    assert tried[found.fairness] <= 0.25
    assert found.baseline["dp_at_rate"] > 0.25
    below = tried[tried.index < found.fairness]
    assert (below > 0.25).all() and found.fairness - below.index.max() <= 0.1
    assert "λ =" in str(found) and np.isfinite(found.auc_cost)


def test_calibration_keeps_a_margin(model: FairPTGANSynthesizer, test_rows: pd.DataFrame) -> None:
    options = {"metric": "dp_at_rate", "reference_model": "LogReg", "tolerance": 0.1}
    plain = calibrate_fairness(model, test_rows, 0.3, **options)
    kept = calibrate_fairness(model, test_rows, 0.3, margin=0.1, **options)
    assert kept.met and kept.margin == 0.1 and kept.target == 0.3
    assert kept.scores["dp_at_rate"] <= 0.2 and kept.fairness >= plain.fairness
    tried = kept.evaluations.set_index("fairness")["dp_at_rate"]
    assert (tried[tried.index < kept.fairness] > 0.2).all()  # the smallest λ that meets 0.2
    assert "− margin 0.1" in str(kept) and "margin" not in str(plain)
    for margin in (-0.01, 0.3, float("nan"), "0.01"):
        with pytest.raises(ParameterError, match="margin must be a number"):
            calibrate_fairness(model, test_rows, 0.3, margin=margin)  # type: ignore[arg-type]


def test_calibration_reports_an_unreachable_target(
    model: FairPTGANSynthesizer, test_rows: pd.DataFrame
) -> None:
    found = calibrate_fairness(
        model, test_rows, 1e-9, metric="dp_at_rate", reference_model="LogReg", max_fairness=0.5
    )
    assert not found.met
    assert list(found.evaluations["fairness"]) == [0.0, 0.5]
    assert found.scores["dp_at_rate"] == found.evaluations["dp_at_rate"].min()


def test_frontier_needs_a_fair_model(test_rows: pd.DataFrame) -> None:
    with pytest.raises(ParameterError, match="FairPTGANSynthesizer"):
        calibrate_fairness(PTGANSynthesizer(), test_rows)  # type: ignore[arg-type]


def test_exponentiated_gradient_bounds(train: pd.DataFrame, test_rows: pd.DataFrame) -> None:
    rows = exponentiated_gradient_scores(train, test_rows, "y", 1, ["s"], bounds=(0.01, 0.5))
    assert list(rows["fairness"]) == [0.01, 0.5]
    assert rows["dp"].iloc[0] < rows["dp"].iloc[1]
    # A bound this loose leaves one classifier: its probability at 0.5 gives the same DP.
    assert rows["dp_mixture"].iloc[1] == pytest.approx(rows["dp"].iloc[1], abs=0.02)


def test_plot_and_cli(model: FairPTGANSynthesizer, test_rows: pd.DataFrame, tmp_path: Path) -> None:
    model_file = model.save(tmp_path / "fair.fairsynth")
    test_rows.to_csv(tmp_path / "test.csv", index=False)
    picture, table = tmp_path / "f.png", tmp_path / "f.csv"
    base = ["frontier", str(model_file), "--test", str(tmp_path / "test.csv")]
    result = CliRunner().invoke(
        app,
        [*base, "-f", "0,1.5", "--sensitive-feature", "included", "-o", str(picture),
         "--table", str(table)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert picture.stat().st_size > 10_000 and f"Wrote {picture}" in result.output
    rows = pd.read_csv(table)
    assert set(rows.loc[rows["source"] == "FairPTGAN", "fairness"]) == {0.0, 1.5}
    peers = pd.DataFrame(
        [{"source": "peer", "model": "LogReg", "auc": 0.7, "dp": 0.1, "eo": 0.1, "attribute": "s"}]
    )
    assert plot_frontier(rows, tmp_path / "g.png", peers=peers).stat().st_size > 10_000
    with pytest.raises(ParameterError, match="No rows for attribute"):
        plot_frontier(rows, tmp_path / "h.png", attribute="race")
    for extra, message in [
        (["-f", "zero"], "--fairness takes numbers"),
        (["--target-dp", "0.05"], "give --train too"),
        (["--margin", "0.01"], "give --target-dp too"),
        (["--metric", "eo"], "give --target-dp too"),
        (["--target-dp", "0.05", "--train", "x.csv", "--margin", "0.05"], "--margin must be"),
        (["--by", "x"], "by=['x'] must name sensitive columns"),
    ]:
        bad = CliRunner().invoke(app, [*base, *extra, "-o", str(tmp_path / "i.png")])
        assert bad.exit_code == 2 and message in bad.output, bad.output


def test_cli_calibrates_the_metric_asked(
    model: FairPTGANSynthesizer, train: pd.DataFrame, test_rows: pd.DataFrame, tmp_path: Path
) -> None:
    model_file = model.save(tmp_path / "fair.fairsynth")
    for name, rows in (("test", test_rows), ("train", train)):
        rows.to_csv(tmp_path / f"{name}.csv", index=False)
    # every EO meets 1: calibrated at λ = 0, one classifier
    base = ["frontier", str(model_file), "--test", str(tmp_path / "test.csv"), "-f", "0",
            "--sensitive-feature", "included", "--train", str(tmp_path / "train.csv"),
            "--target-dp", "1"]  # fmt: skip
    result = CliRunner().invoke(app, [*base, "--metric", "eo", "-o", str(tmp_path / "f.png")])
    assert result.exit_code == 0, result.output
    assert "Calibrated on --train: λ = 0 (met: eo ≤ 1 on s, HistGB)" in result.output
    bad = CliRunner().invoke(app, [*base, "--metric", "oe", "-o", str(tmp_path / "g.png")])
    assert bad.exit_code == 2  # one line, before the sweep: nothing written
    message = "Error: --metric must be one of 'dp', 'eo', 'dp_at_rate', got 'oe'."
    assert bad.output.strip() == message and not (tmp_path / "g.png").exists()


def test_any_index_of_the_real_table(model: FairPTGANSynthesizer, test_rows: pd.DataFrame) -> None:
    options = {"fairness": (0.0,), "models": ["LogReg"], "sensitive_feature": "included"}
    plain = fairness_frontier(model, test_rows, **options)
    shifted = test_rows.set_axis(np.arange(len(test_rows)) + 1000)  # e.g. a subsample
    moved = fairness_frontier(model, shifted, **options)
    pd.testing.assert_frame_equal(plain, moved)
    assert plain["auc"].iloc[0] > 0.7


def test_grid_search_looks_again_around_a_passed_minimum() -> None:
    calls: list[float] = []

    def v_shaped(fairness: float, floor: float = 0.0) -> float:
        calls.append(fairness)
        return abs(fairness - 1.3) + floor

    assert _first_below(v_shaped, 0.1, 0.5, 3.0) == 1.25  # 1.0 and 1.5 both miss 0.1
    assert calls == [0.0, 0.5, 1.0, 1.5, 2.0, 1.125, 1.25]
    assert _first_below(lambda f: v_shaped(f, 0.2), 0.1, 0.5, 3.0) is None
    assert _first_below(lambda f: 1.0 - f, 0.4, 0.5, 3.0) == 1.0
