"""The training rows, packed: each one-hot span one code a row, the other outputs float32.

The transformed matrix of a wide table is mostly one-hot blocks: 199,523 rows × 42 columns
give 734 outputs, 586 MB as float32 (docs/scale.md). :class:`PackedRows` keeps a one-hot span
as the index of its 1 (int16) and the scalars as float32 (27 MB for that table), and rebuilds
the dense rows a training step draws (``rows[index]``), equal bit for bit to the matrix's rows,
so a fit gives the rows it gave from the matrix. A span that is not exactly one-hot in every
row (never for the transform's own encoding, but checked) stays dense.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from fairsynth.transform.table import TableTransformer

__all__ = ["PackedRows", "Rows", "block_codes", "columns", "pack_rows"]


class PackedRows:
    """Rows of a transformed matrix of ``width`` outputs, held packed (see the module).

    Build it with :func:`pack_rows`. ``rows[index]`` (a LongTensor of row numbers) gives the
    dense float32 rows; ``len(rows)`` and ``rows.shape`` are the matrix's.
    """

    def __init__(
        self, width: int, dense: Tensor, dense_columns: Sequence[int], codes: Tensor,
        spans: Sequence[tuple[int, int]],
    ) -> None:  # fmt: skip
        device = dense.device
        self.width = int(width)
        self._dense = dense  # rows × outputs kept as they are
        self._dense_columns = torch.as_tensor(list(dense_columns), dtype=torch.long, device=device)
        self._codes = codes  # rows × packed spans: the position of the 1 inside the span
        self._spans = [(int(start), int(size)) for start, size in spans]
        self._starts = torch.as_tensor([s for s, _ in self._spans], dtype=torch.long, device=device)
        self._span_of_start = {start: i for i, (start, _) in enumerate(self._spans)}

    def __len__(self) -> int:
        return len(self._dense)

    @property
    def shape(self) -> tuple[int, int]:
        """``(rows, width)``, as the dense matrix's."""
        return len(self), self.width

    @property
    def device(self) -> torch.device:
        return self._dense.device

    @property
    def nbytes(self) -> int:
        """Bytes held (the dense matrix would hold ``4 * rows * width``)."""
        return sum(t.element_size() * t.numel() for t in (self._dense, self._codes))

    def __getitem__(self, index: Tensor) -> Tensor:
        """The dense rows ``index`` (float32, ``len(index) × width``)."""
        out = torch.zeros((len(index), self.width), dtype=torch.float32, device=self.device)
        if len(self._dense_columns):
            out.index_copy_(1, self._dense_columns, self._dense[index])
        if len(self._spans):
            out.scatter_(1, self._codes[index].long() + self._starts, 1.0)
        return out

    def span_codes(self, start: int, width: int) -> Tensor:
        """Every row's position of the largest value in the span ``[start, start + width)``
        (its code; for a dense span, the first largest, as ``argmax``)."""
        if start in self._span_of_start:
            return self._codes[:, self._span_of_start[start]].long()
        return self.columns(torch.arange(start, start + width, device=self.device)).argmax(dim=1)

    def columns(self, index: Tensor) -> Tensor:
        """Every row's values in the outputs ``index`` (``rows × len(index)``, float32)."""
        out = torch.empty((len(self), len(index)), dtype=torch.float32, device=self.device)
        dense = {int(c): i for i, c in enumerate(self._dense_columns.tolist())}
        for j, column in enumerate(index.tolist()):
            if column in dense:
                out[:, j] = self._dense[:, dense[column]]
                continue
            span = next(i for i, (s, w) in enumerate(self._spans) if s <= column < s + w)
            out[:, j] = (self._codes[:, span] == column - self._spans[span][0]).float()
        return out


def pack_rows(
    transformer: TableTransformer, data: pd.DataFrame, random_state: Any, device: torch.device
) -> PackedRows:
    """``transformer.transform(data, random_state)``, packed (the same draws, the same values)."""
    onehot = {span.start: span.width for span in transformer.spans_ if span.kind == "onehot"}
    dense: list[np.ndarray] = []
    dense_columns: list[int] = []
    codes: list[np.ndarray] = []
    spans: list[tuple[int, int]] = []
    for start, block in transformer.encode_blocks(data, random_state):
        column = 0
        while column < block.shape[1]:
            at = start + column
            size = onehot.get(at, 1)
            part = block[:, column : column + size]
            code = _one_hot_codes(part) if at in onehot else None
            if code is None:  # float32, as transform writes it into its matrix
                dense.append(part.astype(np.float32))
                dense_columns.extend(range(at, at + size))
            else:
                codes.append(code)
                spans.append((at, size))
            column += size
    n_rows = len(data)
    dense_rows = np.concatenate(dense, axis=1) if dense else np.empty((n_rows, 0), np.float32)
    code_rows = np.stack(codes, axis=1) if codes else np.empty((n_rows, 0), np.int16)
    return PackedRows(
        transformer.output_dim_, torch.as_tensor(dense_rows, device=device), dense_columns,
        torch.as_tensor(code_rows, device=device), spans,
    )  # fmt: skip


def _one_hot_codes(block: np.ndarray) -> np.ndarray | None:
    """The position of the 1 in each row when every row of ``block`` is exactly one-hot."""
    if len(block) == 0 or block.shape[1] > np.iinfo(np.int16).max:
        return None
    # values >= 0 with a row maximum of 1 and a row sum of 1: one 1, the rest exactly 0
    if block.min() < 0 or (block.max(axis=1) != 1).any() or (block.sum(axis=1) != 1).any():
        return None
    return block.argmax(axis=1).astype(np.int16)


#: Training rows as the training steps take them: packed, or a dense matrix (in tests)
Rows = Tensor | PackedRows


def block_codes(data: Rows, blocks: Sequence[tuple[int, int]]) -> Tensor:
    """Each row's code in each one-hot block ``(start, width)``: ``rows × len(blocks)``."""
    if isinstance(data, PackedRows):
        return torch.stack([data.span_codes(start, width) for start, width in blocks], dim=1)
    return torch.stack(
        [data[:, start : start + width].argmax(dim=1) for start, width in blocks], dim=1
    )


def columns(data: Rows, index: Tensor) -> Tensor:
    """Every row's values in the outputs ``index``."""
    return data.columns(index) if isinstance(data, PackedRows) else data[:, index]
