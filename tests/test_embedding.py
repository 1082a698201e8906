"""Categorical columns with many categories read and written through learned embeddings."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import SMALL_NETS

from fairsynth import PTGANSynthesizer
from fairsynth.exceptions import ParameterError
from fairsynth.models.base import BaseSynthesizer
from fairsynth.nn._pair_grads import is_plain_mlp
from fairsynth.nn.embedding import FactoredLinear, SpanEmbedding, embedding_width
from fairsynth.nn.nets import Critic


def test_embedding_width_follows_the_rule_of_thumb_and_never_exceeds_the_categories() -> None:
    assert [embedding_width(k) for k in (1, 2, 300, 849, 4000)] == [1, 2, 39, 70, 166]


def test_a_one_hot_block_embeds_as_its_categorys_vector_and_the_rest_passes_through() -> None:
    torch.manual_seed(0)
    embed = SpanEmbedding(8, [(2, 5)])  # entries 0, 1, 7 pass; 2..6 are a block of 5
    assert embed.out_width == 3 + embedding_width(5)
    x = torch.zeros(2, 8)
    x[:, [0, 1, 7]] = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    x[0, 2 + 3] = 1.0  # row 0: category 3
    x[1, 2:7] = 0.2  # row 1: a soft block, the mean of the categories
    out = embed(x)
    table = embed.tables[0].weight  # (d, k)
    torch.testing.assert_close(out[:, :3], x[:, [0, 1, 7]])
    torch.testing.assert_close(out[0, 3:], table[:, 3])
    torch.testing.assert_close(out[1, 3:], table.mean(1))
    with pytest.raises(ValueError, match="not a free part"):
        SpanEmbedding(8, [(2, 5), (5, 2)])


def test_a_factored_layer_writes_each_output_in_its_place() -> None:
    torch.manual_seed(0)
    layer = FactoredLinear(4, 10, [(1, 3), (6, 4)])
    h = torch.randn(5, 4)
    narrow = layer.narrow(h)  # outside outputs 0, 4, 5, 7, 8, 9 first, then the bottlenecks
    d1 = embedding_width(3)
    out = layer(h)
    torch.testing.assert_close(out[:, [0, 4, 5]], narrow[:, :3])
    torch.testing.assert_close(out[:, 1:4], layer.ups[0](narrow[:, 3 : 3 + d1]))
    torch.testing.assert_close(out[:, 6:10], layer.ups[1](narrow[:, 3 + d1 :]))


def _many_categories(n: int = 600, k: int = 150, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    group = rng.integers(0, 3, n)
    code = group * 50 + rng.integers(0, 50, n)  # 150 categories, tied to the group
    return pd.DataFrame({
        "city": [f"c{v:03d}" for v in code % k],
        "group": np.array(["a", "b", "c"])[group],
        "income": rng.normal(50, 10, n).round(1),
    })  # fmt: skip


def test_a_model_embeds_only_the_columns_above_the_threshold_and_round_trips(
    tmp_path: Path,
) -> None:
    table = _many_categories()
    params = {**SMALL_NETS, "epochs": 2, "random_state": 0, "verbose": False}
    onehot = PTGANSynthesizer(embed_categories_above=None, **params).fit(table)  # type: ignore[arg-type]
    embedded = PTGANSynthesizer(embed_categories_above=100, **params).fit(table)  # type: ignore[arg-type]
    assert onehot.generator_.embed is None and isinstance(onehot.generator_.out, torch.nn.Linear)
    city = onehot.transformer_.categories("city")
    # the generator reads the city block (150 wide) of its condition as 26 numbers; group (3)
    # stays one-hot; the generator writes and the critic reads every block one-hot
    assert embedded.generator_.embed is not None
    assert [k for _, k in embedded.generator_.embed.spans] == [len(city)]
    assert embedding_width(len(city)) == 26
    assert isinstance(embedded.generator_.out, torch.nn.Linear)
    assert embedded.critic_.embed is None
    weights = [sum(p.numel() for p in m.generator_.parameters()) for m in (onehot, embedded)]
    assert weights[1] < weights[0] * 0.8
    rows = embedded.sample(300, random_state=0)
    assert set(rows["city"]) <= set(table["city"]) and rows["city"].nunique() > 10
    embedded.save(tmp_path / "m.fairsynth")
    loaded = BaseSynthesizer.load(tmp_path / "m.fairsynth")
    assert loaded.get_params()["embed_categories_above"] == 100
    pd.testing.assert_frame_equal(loaded.sample(300, random_state=0), rows)


def test_a_table_without_wide_columns_gives_the_one_hot_models_rows() -> None:
    table = _many_categories(k=40)
    params = {**SMALL_NETS, "epochs": 2, "random_state": 0, "verbose": False}
    models = [PTGANSynthesizer(embed_categories_above=a, **params) for a in (None, 100)]  # type: ignore[arg-type]
    rows = [model.fit(table).sample(200, random_state=0) for model in models]
    pd.testing.assert_frame_equal(rows[0], rows[1])


def test_an_embedding_critic_is_not_taken_for_a_plain_mlp_and_the_threshold_is_checked() -> None:
    assert is_plain_mlp(Critic(10, (8,)))
    critic = Critic(10, (8,), embedded=[(2, 6)])
    assert not is_plain_mlp(critic)
    assert critic(torch.rand(4, 10), torch.rand(4, 1)).shape == (4,)
    with pytest.raises(ParameterError, match="embed_categories_above"):
        PTGANSynthesizer(embed_categories_above=0).fit(_many_categories())
