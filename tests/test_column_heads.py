"""The generator's column-by-column heads (``generator_heads='columns'``)."""

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
from fairsynth.nn.nets import ColumnHeads, Generator


class Span:
    def __init__(self, column: str, start: int, width: int, kind: str) -> None:
        self.column, self.start, self.width, self.kind = column, start, width, kind


# a continuous column (scalar + 3 modes), then two categorical columns
SPANS = [Span("x", 0, 1, "scalar"), Span("x", 1, 3, "onehot"), Span("a", 4, 4, "onehot"),
         Span("b", 8, 2, "onehot")]  # fmt: skip


def test_each_column_sees_the_columns_before_it_and_not_after() -> None:
    torch.manual_seed(0)
    heads = ColumnHeads(6, SPANS).train()
    h = torch.randn(32, 6)
    out = heads(h)
    assert out.shape == (32, 10)
    assert out[:, 0].abs().max() <= 1  # tanh scalar
    for start, width in ((1, 3), (4, 4), (8, 2)):
        torch.testing.assert_close(out[:, start : start + width].sum(1), torch.ones(32))
    # column "a" depends on column "x"'s output; column "x" does not depend on "a"
    a_before = out[:, 4:8].detach().clone()
    with torch.no_grad():
        heads.linears[0].weight.add_(1.0)
    changed = heads(h)
    assert not torch.allclose(changed[:, 4:8], a_before)
    with torch.no_grad():
        heads.linears[1].weight.add_(1.0)
    torch.testing.assert_close(heads(h)[:, :4], changed[:, :4])


def test_when_sampling_the_values_chosen_are_passed_on_as_one_hots() -> None:
    torch.manual_seed(0)
    heads = ColumnHeads(6, SPANS).eval()
    h = torch.randn(16, 6)
    out = heads(h)
    first = out[:, :4]
    chosen = torch.cat([first[:, :1], torch.nn.functional.one_hot(first[:, 1:].argmax(1), 3)], 1)
    logits = heads.linears[1](torch.cat([h, chosen], 1))
    torch.testing.assert_close(out[:, 4:8], torch.softmax(logits, 1))


def test_the_generator_keeps_its_joint_head_by_default() -> None:
    joint = Generator(4, (8,), SPANS)
    assert isinstance(joint.out, torch.nn.Linear)
    columns = Generator(4, (8,), SPANS, heads="columns")
    z, t = torch.randn(5, 4), torch.rand(5, 1)
    assert columns(z, t).shape == joint(z, t).shape == (5, 10)


def test_a_model_with_column_heads_fits_saves_and_loads(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    education = rng.choice(["HS", "BSc", "MSc"], 300)
    table = pd.DataFrame({
        "education": education,
        "years": pd.Series(education).map({"HS": 12, "BSc": 15, "MSc": 17}).to_numpy(),
        "age": rng.integers(18, 70, 300),
    })  # fmt: skip
    model = PTGANSynthesizer(epochs=3, generator_heads="columns", **SMALL_NETS).fit(table)  # type: ignore[arg-type]
    model.save(tmp_path / "m.fairsynth")
    loaded = BaseSynthesizer.load(tmp_path / "m.fairsynth")
    assert loaded.get_params()["generator_heads"] == "columns"
    pd.testing.assert_frame_equal(
        loaded.sample(200, random_state=0), model.sample(200, random_state=0)
    )
    with pytest.raises(ParameterError, match="generator_heads"):
        PTGANSynthesizer(generator_heads="tree").fit(table)  # type: ignore[arg-type]
