"""Packed training rows (fairsynth.models._rows): the dense rows back, bit for bit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from fairsynth.models._rows import PackedRows, block_codes, columns, pack_rows
from fairsynth.transform import TableTransformer

CPU = torch.device("cpu")


def _table(n: int = 2000) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    gain = np.where(rng.random(n) < 0.9, 0.0, rng.lognormal(8, 1, n))
    return pd.DataFrame({
        "age": rng.integers(17, 90, n),
        "gain": gain,  # a point mass at 0
        "score": np.where(rng.random(n) < 0.1, np.nan, rng.normal(size=n)),  # missing values
        "colour": rng.choice(["red", "green", None], n),  # a missing category
        "city": rng.choice([f"c{i}" for i in range(40)], n),
    })  # fmt: skip


def test_packed_rows_are_the_transforms_rows_in_less_memory() -> None:
    data = _table()
    transformer = TableTransformer(discrete_columns=["colour", "city"], random_state=0).fit(data)
    dense = torch.as_tensor(transformer.transform(data, random_state=3))
    rows = pack_rows(transformer, data, 3, CPU)
    assert rows.shape == tuple(dense.shape) and len(rows) == len(data)
    index = torch.tensor([5, 0, 1999, 5, 17])
    assert torch.equal(rows[index], dense[index])  # the same bits, repeats and order kept
    assert torch.equal(rows[torch.arange(len(data))], dense)
    assert rows.nbytes < dense.numel() * 4 / 3
    blocks = [(s.start, s.width) for s in transformer.spans_ if s.kind == "onehot"]
    assert torch.equal(block_codes(rows, blocks), block_codes(dense, blocks))
    picked = torch.tensor([0, blocks[0][0] + 1, dense.shape[1] - 1, 2])
    assert torch.equal(columns(rows, picked), columns(dense, picked))


def test_a_span_that_is_not_one_hot_stays_dense() -> None:
    data = _table(300)
    transformer = TableTransformer(discrete_columns=["colour", "city"], random_state=0).fit(data)
    start = next(s.start for s in transformer.spans_ if s.column == "city")
    blocks = list(transformer.encode_blocks(data, 1))
    soft = {s: b.copy() for s, b in blocks}
    soft[start][0] = 1.0 / soft[start].shape[1]  # one soft row

    class Soft(TableTransformer):
        def encode_blocks(self, data, random_state=None):  # type: ignore[no-untyped-def]
            return iter(soft.items())

    softened = Soft(discrete_columns=["colour", "city"], random_state=0).fit(data)
    rows = pack_rows(softened, data, 1, CPU)
    expected = np.concatenate([soft[s] for s, _ in blocks], axis=1).astype(np.float32)
    assert torch.equal(rows[torch.arange(len(data))], torch.as_tensor(expected))
    assert isinstance(rows, PackedRows)
    width = next(s.width for s in transformer.spans_ if s.column == "city")
    assert torch.equal(
        rows.span_codes(start, width), torch.as_tensor(expected[:, start : start + width]).argmax(1)
    )
