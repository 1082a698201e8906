"""Learned embeddings of wide one-hot spans: categorical columns with many categories.

A one-hot block of ``k`` categories costs ``k`` weights for each unit of every linear layer it
meets. In PTGAN it meets three: training-by-sampling's condition (as wide as the categorical
outputs) is read by every residual block of the generator and by its output layer, that output
layer writes the row, and the critic's first layer reads it. One column of 849 categories makes
a step on Adult about four times as costly.

:class:`SpanEmbedding` reads a wide block as :func:`embedding_width` learned numbers, ``k * d``
weights in place of ``k`` times the layer's width; :class:`FactoredLinear` writes one through a
bottleneck as wide. PTGAN embeds its condition's wide blocks (``embed_categories_above``); the
output bottleneck and the critic's embedding cost fidelity where they were measured, and are
kept to rerun that measurement (docs/scale.md, "Columns with hundreds of categories").
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

__all__ = ["FactoredLinear", "SpanEmbedding", "embedding_width"]

Spans = Sequence[tuple[int, int]]  # (start, width) of each wide block


def embedding_width(categories: int) -> int:
    """Dimensions of a block of ``categories``: ``round(1.6 * k ** 0.56)``, at most ``k``.

    The rule of thumb of fastai's tabular models (``emb_sz_rule``): 39 dimensions for 300
    categories, 70 for 849, 166 for 4,000.
    """
    return max(1, min(int(categories), round(1.6 * int(categories) ** 0.56)))


def _outside(width: int, spans: Spans) -> list[int]:
    """Indices of ``0 .. width - 1`` that no span covers (plain Python: also on "meta")."""
    inside = [False] * width
    for start, size in spans:
        if start < 0 or size < 1 or start + size > width or any(inside[start : start + size]):
            raise ValueError(f"span ({start}, {size}) is not a free part of {width} outputs.")
        inside[start : start + size] = [True] * size
    return [i for i, covered in enumerate(inside) if not covered]


def _index(values: list[int]) -> Tensor:
    return torch.tensor(values, dtype=torch.long, device="cpu")


class SpanEmbedding(nn.Module):
    """Read a vector with its wide one-hot blocks replaced by learned embeddings.

    The output is the entries outside the blocks, in order, then each block's embedding
    (``block @ E``, ``E`` of shape ``k x embedding_width(k)``). A soft block (probabilities,
    a tempered mix of two rows) embeds as the same mix of its categories' vectors.

    Parameters
    ----------
    width : int
        Width of the input vector.
    spans : sequence of (start, width)
        The blocks to embed; they must not overlap.
    """

    def __init__(self, width: int, spans: Spans) -> None:
        super().__init__()
        self.spans = [(int(s), int(k)) for s, k in spans]
        self.keep: Tensor
        self.register_buffer("keep", _index(_outside(width, self.spans)), persistent=False)
        dims = [embedding_width(k) for _, k in self.spans]
        tables = [nn.Linear(k, d, bias=False) for d, (_, k) in zip(dims, self.spans, strict=True)]
        for table, d in zip(tables, dims, strict=True):  # a category's vector: length ~1
            nn.init.normal_(table.weight, std=d**-0.5)  # (its one-hot's length)
        self.tables = nn.ModuleList(tables)
        self.out_width = len(self.keep) + sum(dims)

    def forward(self, x: Tensor) -> Tensor:
        parts = [x.index_select(1, self.keep)]
        tables = zip(self.spans, self.tables, strict=True)
        parts += [table(x[:, s : s + k]) for (s, k), table in tables]
        return torch.cat(parts, dim=1)


class FactoredLinear(nn.Module):
    """``nn.Linear(in_dim, out_dim)`` whose wide blocks are written through a bottleneck.

    Outside the blocks it is a plain linear layer. A block of ``k`` outputs is
    ``up(h @ A)``: ``in_dim -> embedding_width(k) -> k``, a linear map of rank
    ``embedding_width(k)`` (its logits are still free enough to put any category first).

    Parameters
    ----------
    in_dim, out_dim : int
        As for ``nn.Linear``.
    spans : sequence of (start, width)
        The output blocks to factor; they must not overlap.
    """

    def __init__(self, in_dim: int, out_dim: int, spans: Spans) -> None:
        super().__init__()
        self.spans = [(int(s), int(k)) for s, k in spans]
        keep = _outside(out_dim, self.spans)
        dims = [embedding_width(k) for _, k in self.spans]
        self.narrow = nn.Linear(in_dim, len(keep) + sum(dims))
        self.ups = nn.ModuleList(
            nn.Linear(d, k) for d, (_, k) in zip(dims, self.spans, strict=True)
        )
        self._cuts = [len(keep), *dims]
        made = keep + [i for s, k in self.spans for i in range(s, k + s)]
        order = sorted(range(out_dim), key=made.__getitem__)
        self.order: Tensor  # where each output sits among the parts as they are made
        self.register_buffer("order", _index(order), persistent=False)

    def forward(self, h: Tensor) -> Tensor:
        first, *blocks = torch.split(self.narrow(h), self._cuts, dim=1)
        parts = [first, *(up(block) for up, block in zip(self.ups, blocks, strict=True))]
        return torch.cat(parts, dim=1).index_select(1, self.order)
