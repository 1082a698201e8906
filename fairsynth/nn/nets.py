"""Generator and critic networks, both conditioned on the temperature (torch only, no pandas).

The generator maps noise and a temperature to one row of the transformed table; its output
heads follow the transform's column spans: ``tanh`` for the scalar of a continuous column,
``softmax`` (or Gumbel-softmax) for a one-hot block. The critic scores a row at a temperature.
:class:`WeightAverage` keeps a running average of the generator's weights to sample from.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Literal, Protocol

import torch
from torch import Tensor, nn

from fairsynth.nn.embedding import FactoredLinear, SpanEmbedding

__all__ = ["ColumnHeads", "Critic", "Generator", "OutputHeads", "SpanLike", "WeightAverage"]

Norm = Literal["batch", "layer", "none"]
Heads = Literal["joint", "columns"]


class SpanLike(Protocol):
    """What the networks need of a transform's column span (read-only)."""

    @property
    def start(self) -> int: ...

    @property
    def width(self) -> int: ...

    @property
    def kind(self) -> str: ...

    @property
    def column(self) -> str: ...


def _norm(kind: Norm, width: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm1d(width)
    if kind == "layer":
        return nn.LayerNorm(width)
    return nn.Identity()


class _Residual(nn.Module):
    """CTGAN's residual block: the block's output is concatenated to its input."""

    def __init__(self, in_dim: int, out_dim: int, norm: Norm) -> None:
        super().__init__()
        self.fc = nn.Linear(in_dim, out_dim)
        self.norm = _norm(norm, out_dim)
        self.act = nn.ReLU()

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat([self.act(self.norm(self.fc(x))), x], dim=1)


class OutputHeads(nn.Module):
    """Activations per span: tanh on scalars, softmax or Gumbel-softmax on one-hot blocks."""

    def __init__(
        self,
        spans: Sequence[SpanLike],
        *,
        categorical: Literal["softmax", "gumbel"] = "softmax",
        tau: float = 0.2,
        scalar: Literal["tanh", "identity"] = "tanh",
    ) -> None:
        super().__init__()
        self.spans = [(int(s.start), int(s.width), str(s.kind)) for s in spans]
        self.categorical = categorical
        self.tau = tau
        self.scalar = scalar

    def forward(self, x: Tensor) -> Tensor:
        parts = []
        for start, width, kind in self.spans:
            block = x[:, start : start + width]
            if kind == "scalar":
                parts.append(torch.tanh(block) if self.scalar == "tanh" else block)
            elif self.categorical == "gumbel" and self.training:
                parts.append(nn.functional.gumbel_softmax(block, tau=self.tau, hard=False))
            else:
                parts.append(torch.softmax(block, dim=1))
        return torch.cat(parts, dim=1)


class ColumnHeads(nn.Module):
    """Output heads conditioned column by column, as autoregressive tabular models are.

    Column ``k``'s block is a linear map of the body's features and of the activated outputs
    of columns ``1 .. k-1``; out of training (sampling) the earlier columns' one-hot blocks are
    passed on as the one-hot of their largest entry, the value the transform will decode, so
    each column is generated given the values already chosen (education-num given education).

    Parameters
    ----------
    in_dim : int
        Width of the body's features.
    spans : sequence of spans
        The transform's output spans, in matrix order; consecutive spans of one column
        (``span.column``) form that column's block.
    categorical, tau, scalar
        Passed to :class:`OutputHeads`.
    """

    def __init__(
        self,
        in_dim: int,
        spans: Sequence[SpanLike],
        *,
        categorical: Literal["softmax", "gumbel"] = "softmax",
        tau: float = 0.2,
        scalar: Literal["tanh", "identity"] = "tanh",
    ) -> None:
        super().__init__()
        blocks: list[list[SpanLike]] = []
        for span in spans:
            if blocks and blocks[-1][0].column == span.column:
                blocks[-1].append(span)
            else:
                blocks.append([span])
        self.linears = nn.ModuleList()
        self.activations = nn.ModuleList()
        self.onehots: list[list[tuple[int, int]]] = []  # (start, width) within each block
        seen = 0
        for block in blocks:
            first = int(block[0].start)
            width = sum(int(s.width) for s in block)
            self.linears.append(nn.Linear(in_dim + seen, width))
            shifted = [_Span(int(s.start) - first, int(s.width), str(s.kind)) for s in block]
            self.activations.append(
                OutputHeads(shifted, categorical=categorical, tau=tau, scalar=scalar)
            )
            self.onehots.append([(s.start, s.width) for s in shifted if s.kind == "onehot"])
            seen += width

    def forward(self, h: Tensor) -> Tensor:
        outputs: list[Tensor] = []
        passed: list[Tensor] = []
        for linear, activation, onehots in zip(
            self.linears, self.activations, self.onehots, strict=True
        ):
            out = activation(linear(torch.cat([h, *passed], dim=1)))
            outputs.append(out)
            passed.append(out if self.training else _hard(out, onehots))
        return torch.cat(outputs, dim=1)


class _Span:
    def __init__(self, start: int, width: int, kind: str) -> None:
        self.start, self.width, self.kind, self.column = start, width, kind, ""


def _hard(block: Tensor, onehots: list[tuple[int, int]]) -> Tensor:
    """``block`` with each one-hot span replaced by the one-hot of its largest entry."""
    if not onehots:
        return block
    hard = block.clone()
    for start, width in onehots:
        part = block[:, start : start + width]
        hard[:, start : start + width] = nn.functional.one_hot(part.argmax(1), width).to(part)
    return hard


class Generator(nn.Module):
    """Residual MLP from noise and temperature to a transformed row.

    Parameters
    ----------
    noise_dim : int
        Size of the noise vector.
    hidden : sequence of int
        Widths of the residual blocks.
    spans : sequence of spans
        The transform's output spans (``start``, ``width``, ``kind``).
    norm : {'batch', 'layer', 'none'}
        Normalisation inside the blocks.
    categorical, tau, scalar
        Passed to :class:`OutputHeads`.
    heads : {'joint', 'columns'}
        'joint': one linear layer for the whole row; 'columns': :class:`ColumnHeads`.
    embedded_inputs : sequence of (start, width)
        One-hot blocks of the noise vector (a training-by-sampling condition) read through a
        learned embedding (:class:`~fairsynth.nn.embedding.SpanEmbedding`).
    embedded_outputs : sequence of (start, width)
        Output blocks written through a bottleneck
        (:class:`~fairsynth.nn.embedding.FactoredLinear`); with ``heads='joint'`` only.
    """

    def __init__(
        self,
        noise_dim: int,
        hidden: Sequence[int],
        spans: Sequence[SpanLike],
        *,
        norm: Norm = "batch",
        categorical: Literal["softmax", "gumbel"] = "softmax",
        tau: float = 0.2,
        scalar: Literal["tanh", "identity"] = "tanh",
        heads: Heads = "joint",
        embedded_inputs: Sequence[tuple[int, int]] = (),
        embedded_outputs: Sequence[tuple[int, int]] = (),
    ) -> None:
        super().__init__()
        output_dim = sum(int(s.width) for s in spans)
        blocks: list[nn.Module] = []
        self.embed: SpanEmbedding | None = None
        if embedded_inputs:
            self.embed = SpanEmbedding(noise_dim, embedded_inputs)
        dim = (noise_dim if self.embed is None else self.embed.out_width) + 1
        for width in hidden:
            blocks.append(_Residual(dim, width, norm))
            dim += width
        self.body = nn.Sequential(*blocks)
        self.out: nn.Module
        self.heads: nn.Module
        if heads == "columns":
            if embedded_outputs:
                raise ValueError("embedded_outputs needs heads='joint'.")
            self.out = nn.Identity()
            self.heads = ColumnHeads(dim, spans, categorical=categorical, tau=tau, scalar=scalar)
        else:
            self.out = (
                FactoredLinear(dim, output_dim, embedded_outputs)
                if embedded_outputs
                else nn.Linear(dim, output_dim)
            )
            self.heads = OutputHeads(spans, categorical=categorical, tau=tau, scalar=scalar)

    def hidden(self, z: Tensor, t: Tensor) -> Tensor:
        """The residual body's features of noise ``z`` (embedded) at temperature ``t``."""
        return self.body(torch.cat([z if self.embed is None else self.embed(z), t], dim=1))

    def forward(self, z: Tensor, t: Tensor) -> Tensor:
        return self.heads(self.out(self.hidden(z, t)))


class Critic(nn.Module):
    """MLP scoring a row at a temperature (one unbounded score a row).

    With ``pac > 1`` (PacGAN) the critic scores groups of ``pac`` consecutive rows at once.
    The one-hot blocks in ``embedded`` (start, width) are read through a learned embedding
    (:class:`~fairsynth.nn.embedding.SpanEmbedding`).
    """

    def __init__(
        self,
        input_dim: int,
        hidden: Sequence[int],
        *,
        pac: int = 1,
        embedded: Sequence[tuple[int, int]] = (),
    ) -> None:
        super().__init__()
        self.pac = pac
        self.embed = SpanEmbedding(input_dim, embedded) if embedded else None
        layers: list[nn.Module] = []
        dim = ((input_dim if self.embed is None else self.embed.out_width) + 1) * pac
        for width in hidden:
            layers += [nn.Linear(dim, width), nn.LeakyReLU(0.2)]
            dim = width
        layers.append(nn.Linear(dim, 1))
        self.body = nn.Sequential(*layers)

    def forward(self, x: Tensor, t: Tensor) -> Tensor:
        joined = torch.cat([x if self.embed is None else self.embed(x), t], dim=1)
        return self.body(joined.reshape(-1, joined.shape[1] * self.pac)).squeeze(1)


class WeightAverage(nn.Module):
    """A running average of a network's weights (Polyak averaging), to sample from.

    Each :meth:`update` moves the average toward the network: ``w <- d w + (1 - d) w_net``
    with ``d = min(decay, n / (n + 1))`` after ``n`` earlier updates. So the average starts as
    the plain mean of the first iterates (no pull toward the initial weights in a short fit)
    and becomes an exponential moving average of decay ``decay`` after ``1 / (1 - decay)``
    updates. Floating-point buffers (batch-norm running statistics) are averaged too, other
    buffers (step counts) copied. The count is a buffer, so model files and checkpoints keep it.

    Parameters
    ----------
    network : torch.nn.Module
        The network being trained; the average starts as a copy of it.
    decay : float
        Share of the average kept at each update, in [0, 1).
    """

    def __init__(self, network: nn.Module, decay: float) -> None:
        super().__init__()
        self.module = copy.deepcopy(network).requires_grad_(False)
        self.decay = float(decay)
        self.n_averaged: Tensor
        self.register_buffer("n_averaged", torch.zeros((), dtype=torch.long))

    def forward(self, *inputs: Tensor) -> Tensor:
        return self.module(*inputs)

    @torch.no_grad()
    def update(self, network: nn.Module) -> None:
        """Fold ``network``'s current weights into the average."""
        count = self.n_averaged.to(torch.float32)
        keep = torch.clamp(count / (count + 1.0), max=self.decay)  # no host sync on a GPU
        pairs = zip(
            [*self.module.parameters(), *self.module.buffers()],
            [*network.parameters(), *network.buffers()],
            strict=True,
        )
        for kept, current in pairs:
            if kept.is_floating_point():
                kept.lerp_(current, (1.0 - keep).to(kept.dtype))
            else:
                kept.copy_(current)
        self.n_averaged += 1
