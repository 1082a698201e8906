"""The conditioning objects: the fair model's cells and training-by-sampling's categories."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import TINY_PARAMS

from fairsynth import ParameterError, PTGANSynthesizer
from fairsynth.models.base import BaseSynthesizer
from fairsynth.models.conditioning import CategorySampler
from fairsynth.models.fair import FairPTGANSynthesizer

CPU = torch.device("cpu")


def _one_hot(codes: list[int], width: int) -> torch.Tensor:
    return torch.nn.functional.one_hot(torch.tensor(codes), width).float()


@pytest.fixture
def matrix() -> torch.Tensor:
    """A scalar column, a 3-category block (shares 0.9 / 0.09 / 0.01), a 2-category block."""
    first = [0] * 900 + [1] * 90 + [2] * 10
    second = [0, 1] * 500
    return torch.cat([torch.rand(1000, 1), _one_hot(first, 3), _one_hot(second, 2)], dim=1)


def test_rare_categories_are_drawn_by_log_frequency(matrix: torch.Tensor) -> None:
    sampler = CategorySampler([(1, 3), (4, 2)], CPU).fit(matrix)
    assert sampler.counts == [[900, 90, 10], [500, 500]]
    g = torch.Generator().manual_seed(0)
    first, second, block = sampler.draw_pairs(60_000, g)
    in_first = block == 0
    drawn = matrix[first[in_first], 1:4].argmax(dim=1)
    shares = torch.bincount(drawn, minlength=3).float() / in_first.sum()
    log = np.log1p([900, 90, 10])
    np.testing.assert_allclose(shares.numpy(), log / log.sum(), atol=0.01)
    assert abs(float(in_first.float().mean()) - 0.5) < 0.01  # blocks uniformly
    assert len(torch.unique(second)) > 900  # the pair's second row: any row


def test_draws_stay_inside_each_block_and_skip_empty_categories(matrix: torch.Tensor) -> None:
    # the second block is narrower than the first (padded in the draw's table); the first
    # block's last category has no rows once they are recoded to its first
    matrix = matrix.clone()
    matrix[990:, 1:4] = torch.tensor([1.0, 0.0, 0.0])
    sampler = CategorySampler([(1, 3), (4, 2)], CPU).fit(matrix)
    assert sampler.counts == [[910, 90, 0], [500, 500]]
    first, _, block = sampler.draw_pairs(50_000, torch.Generator().manual_seed(1))
    drawn_first = matrix[first[block == 0], 1:4].argmax(dim=1)
    drawn_second = matrix[first[block == 1], 4:6].argmax(dim=1)
    assert int((drawn_first == 2).sum()) == 0
    assert set(drawn_second.tolist()) == {0, 1}
    assert abs(float((drawn_second == 0).float().mean()) - 0.5) < 0.01


def test_conditions_fill_and_paste_only_the_chosen_block(matrix: torch.Tensor) -> None:
    sampler = CategorySampler([(1, 3), (4, 2)], CPU).fit(matrix)
    block = torch.tensor([0, 1])
    condition = sampler.condition_of(matrix[[950, 3]], block)
    assert condition.tolist() == [[0.0, 1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 1.0]]
    rows = torch.full((2, 6), 0.5)
    pasted = sampler.paste(rows, condition)
    assert pasted.tolist() == [[0.5, 0.0, 1.0, 0.0, 0.5, 0.5], [0.5, 0.5, 0.5, 0.5, 0.0, 1.0]]


def test_sample_conditions_follow_the_data_frequencies(matrix: torch.Tensor) -> None:
    sampler = CategorySampler([(1, 3), (4, 2)], CPU).restore([[900, 90, 10], [500, 500]])
    condition = sampler.sample_conditions(np.random.default_rng(0), 100_000)
    assert torch.equal(condition.sum(dim=1), torch.ones(100_000))
    in_first = condition[:, :3].sum(dim=1) > 0
    shares = condition[in_first, :3].mean(dim=0)
    assert abs(float(in_first.float().mean()) - 0.5) < 0.01
    np.testing.assert_allclose(shares.numpy(), [0.9, 0.09, 0.01], atol=0.005)


def test_training_by_sampling_fits_samples_and_round_trips(
    adult_small: pd.DataFrame, tmp_path: Path
) -> None:
    params = {**TINY_PARAMS, "training_by_sampling": True}
    model = PTGANSynthesizer(**params).fit(adult_small)  # type: ignore[arg-type]
    assert isinstance(model.conditioner_, CategorySampler)
    assert len(model.conditioner_.blocks) == 9  # Adult's discrete columns
    # the fitted model holds no reference to the training rows, and says so if asked to draw
    assert model.conditioner_._data is None
    with pytest.raises(RuntimeError, match="after release"):
        model.conditioner_.mixed_conditions(torch.rand(4), torch.Generator().manual_seed(0))
    rows = model.sample(200, random_state=1)
    assert list(rows.columns) == list(adult_small.columns) and len(rows) == 200
    pd.testing.assert_frame_equal(rows, model.sample(200, random_state=1))
    loaded = BaseSynthesizer.load(model.save(tmp_path / "m.fairsynth"), device="cpu")
    pd.testing.assert_frame_equal(loaded.sample(200, random_state=1), rows)
    again = PTGANSynthesizer(**params).fit(adult_small)  # type: ignore[arg-type]
    pd.testing.assert_frame_equal(again.sample(200, random_state=1), rows)


def test_the_fair_model_refuses_training_by_sampling(adult_small: pd.DataFrame) -> None:
    with pytest.raises(ParameterError, match="training_by_sampling is not an option"):
        FairPTGANSynthesizer(
            sensitive="sex", target="income", positive_label=">50K", training_by_sampling=True
        ).fit(adult_small)
