"""Weight averaging (``ema_decay``): the exact update, sampling from the average, files, resume."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import SMALL_NETS, StopAfter
from torch import nn

from fairsynth import ParameterError, PTGANSynthesizer
from fairsynth.models.checkpoint import Checkpoint
from fairsynth.models.fair import FairPTGANSynthesizer
from fairsynth.nn.nets import WeightAverage

FAST: dict[str, Any] = {"epochs": 4, **SMALL_NETS}


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 200
    y = rng.integers(0, 2, n)
    return pd.DataFrame(
        {
            "x": rng.normal(y, 1.0),
            "c": rng.choice(["a", "b", "c"], n),
            "s": rng.choice(["F", "M"], n),
            "y": y,
        }
    )


def test_average_by_hand() -> None:
    """The mean of the iterates until 1 / (1 - decay) updates, then the moving average."""
    model = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    average = WeightAverage(model, decay=0.75)
    expected = [3.0, 4.0, 5.0, 6.0, 7.25]  # means of 3, 5, 7, 9; then 0.75 * 6 + 0.25 * 11
    for value, mean in zip([3.0, 5.0, 7.0, 9.0, 11.0], expected, strict=True):
        with torch.no_grad():
            for p in model.parameters():
                p.fill_(value)
            model[1].running_mean.fill_(-value)
        model[1].num_batches_tracked += 1
        average.update(model)
        for p in average.module.parameters():
            assert torch.allclose(p, torch.full_like(p, mean))
        assert torch.allclose(average.module[1].running_mean, torch.full((2,), -mean))
    assert int(average.module[1].num_batches_tracked) == 5  # copied, not averaged
    assert int(average.n_averaged) == 5
    assert not any(p.requires_grad for p in average.parameters())
    x = torch.randn(4, 2)
    assert torch.equal(average.eval()(x), average.module(x))


def test_decay_zero_samples_like_no_average(table: pd.DataFrame) -> None:
    """With decay 0 the average is the trained weights, and training draws nothing extra."""
    plain = PTGANSynthesizer(ema_decay=None, **FAST).fit(table)
    averaged = PTGANSynthesizer(ema_decay=0.0, **FAST).fit(table)
    assert plain.generator_ema_ is None and averaged.generator_ema_ is not None
    assert plain.history_[-1]["generator_loss"] == averaged.history_[-1]["generator_loss"]
    pd.testing.assert_frame_equal(
        plain.sample(50, random_state=2), averaged.sample(50, random_state=2)
    )


def test_samples_come_from_the_average(table: pd.DataFrame) -> None:
    model = PTGANSynthesizer(ema_decay=0.9, **FAST).fit(table)
    assert model.generator_ema_ is not None
    trained = dict(model.generator_.named_parameters())
    averaged = dict(model.generator_ema_.module.named_parameters())
    assert not torch.equal(trained["out.weight"], averaged["out.weight"])
    from_average = model.sample(50, random_state=2)
    model.generator_ema_ = None  # now the trained weights
    assert not from_average.equals(model.sample(50, random_state=2))


def test_save_load_keeps_the_average(tmp_path: Path, table: pd.DataFrame) -> None:
    model = PTGANSynthesizer(ema_decay=0.9, **FAST).fit(table)
    loaded = PTGANSynthesizer.load(model.save(tmp_path / "m.fairsynth"))
    assert loaded.generator_ema_ is not None
    pd.testing.assert_frame_equal(
        model.sample(40, random_state=1), loaded.sample(40, random_state=1)
    )


@pytest.mark.parametrize("decay", [None, 0.9])
def test_resume_keeps_the_average(tmp_path: Path, table: pd.DataFrame, decay: float | None) -> None:
    params = {**FAST, "batch_size": 200, "ema_decay": decay}  # one step per epoch
    reference = PTGANSynthesizer(**params).fit(table)
    stopped = [Checkpoint(tmp_path, every_epochs=1), StopAfter(2)]
    PTGANSynthesizer(**params, callbacks=stopped).fit(table)
    resumed = PTGANSynthesizer(**params, checkpoint_dir=tmp_path).fit(table)
    assert resumed.resumed_epochs_ == 2
    pd.testing.assert_frame_equal(
        reference.sample(40, random_state=1), resumed.sample(40, random_state=1)
    )


@pytest.mark.parametrize("decay", [1.0, -0.1, "0.9", True])
def test_bad_decay_is_named(table: pd.DataFrame, decay: object) -> None:
    with pytest.raises(ParameterError, match="ema_decay"):
        PTGANSynthesizer(ema_decay=decay, **FAST).fit(table)  # type: ignore[arg-type]


def test_fair_variant_samples_from_the_average(table: pd.DataFrame) -> None:
    params = {"sensitive": "s", "target": "y", "positive_label": 1, **FAST}
    plain = FairPTGANSynthesizer(ema_decay=None, **params).fit(table)
    zero = FairPTGANSynthesizer(ema_decay=0.0, **params).fit(table)
    averaged = FairPTGANSynthesizer(ema_decay=0.9, **params).fit(table)
    sample = plain.sample(60, fairness=1.0, random_state=4)
    pd.testing.assert_frame_equal(sample, zero.sample(60, fairness=1.0, random_state=4))
    other = averaged.sample(60, fairness=1.0, random_state=4)
    assert not sample.equals(other)
    # the knob's cell counts hold whichever generator draws the features
    pd.testing.assert_series_equal(sample.groupby("s")["y"].sum(), other.groupby("s")["y"].sum())
