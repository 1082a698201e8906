"""The tempered objective of PTGAN as pure tensor functions.

Notation follows docs/method.md (from Sohn & Song, arXiv 2411.11786, read through the public
description of its Algorithm 3): two real rows ``x1, x2`` are mixed with weight ``a`` into a
tempered sample ``a * x1 + (1 - a) * x2``; ``a = 1`` (or 0) is the data itself and ``a = 1/2`` the
hottest, most smoothed law. The temperature fed to both networks is ``t(a) = 1 - 2 |a - 1/2|``.
Nothing here holds state or touches a global random generator: every draw takes a
``torch.Generator``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

__all__ = [
    "coherency_penalty",
    "draw_mixing_weights",
    "draw_pairs",
    "gradient_penalty",
    "interpolate",
    "temperature",
]

Critic = Callable[[Tensor, Tensor], Tensor]


def draw_pairs(
    n_rows: int, batch_size: int, generator: torch.Generator, device: torch.device | str = "cpu"
) -> tuple[Tensor, Tensor]:
    """Draw two independent index vectors of real rows, with replacement."""
    first = torch.randint(n_rows, (batch_size,), generator=generator, device=device)
    second = torch.randint(n_rows, (batch_size,), generator=generator, device=device)
    return first, second


def draw_mixing_weights(
    batch_size: int,
    ratio: float,
    generator: torch.Generator,
    device: torch.device | str = "cpu",
) -> Tensor:
    """Draw mixing weights: 1 with probability ``ratio``, else uniform on [0, 1].

    Parameters
    ----------
    batch_size : int
        Number of weights.
    ratio : float
        The temperature ratio ``r`` in [0, 1]: the share of rows left at the data itself.
    generator : torch.Generator
        Source of randomness.
    device : torch.device or str
        Where the tensor lives.

    Returns
    -------
    Tensor of shape (batch_size,)
    """
    uniform = torch.rand(batch_size, generator=generator, device=device)
    keep = torch.rand(batch_size, generator=generator, device=device) < ratio
    return torch.where(keep, torch.ones_like(uniform), uniform)


def temperature(weight: Tensor) -> Tensor:
    """Temperature ``1 - 2 |a - 1/2|`` of mixing weight ``a``: 0 on the data, 1 at a = 1/2."""
    return 1.0 - 2.0 * (weight - 0.5).abs()


def interpolate(first: Tensor, second: Tensor, weight: Tensor) -> Tensor:
    """Row-wise convex combination ``a * first + (1 - a) * second`` (``a`` has one entry a row)."""
    a = weight.reshape(-1, *([1] * (first.dim() - 1)))
    return a * first + (1.0 - a) * second


def coherency_penalty(
    critic: Critic,
    q1: Tensor,
    q2: Tensor,
    a1: Tensor,
    a2: Tensor,
    v: Tensor,
    *,
    through_temperature: bool = False,
) -> Tensor:
    """Mean squared slope of the critic along the line joining two tempered samples.

    ``q1`` and ``q2`` are two points on the segment between the same two real rows, at mixing
    weights ``a1`` and ``a2``. At ``q~ = v q1 + (1 - v) q2`` (weight ``a~ = v a1 + (1 - v) a2``)
    the penalty is ``mean((grad_q D(q~, t(a~)) . (q1 - q2))**2)``.

    Parameters
    ----------
    critic : callable
        ``critic(x, t)`` returning one score a row.
    q1, q2 : Tensor of shape (n, d)
        The two tempered samples.
    a1, a2 : Tensor of shape (n,)
        Their mixing weights.
    v : Tensor of shape (n,)
        Where on the segment from ``q2`` to ``q1`` the slope is taken.
    through_temperature : bool, default=False
        If True, the slope is the total derivative along the path, including the change of the
        temperature feature ``t(a~)`` (an open point of the method; off by default).

    Returns
    -------
    Tensor
        A scalar, differentiable with respect to the critic's parameters.
    """
    q1, q2 = q1.detach(), q2.detach()
    if through_temperature:
        # d/dv D(q(v), t(a(v))): the slope along the path, temperature feature included.
        v_var = v.detach().clone().requires_grad_(True)
        mixed = v_var * a1 + (1.0 - v_var) * a2
        score = critic(interpolate(q1, q2, v_var), temperature(mixed).unsqueeze(1))
        (grad_v,) = torch.autograd.grad(score.sum(), v_var, create_graph=True)
        return (grad_v**2).mean()
    point = interpolate(q1, q2, v).requires_grad_(True)
    weight = v * a1 + (1.0 - v) * a2
    score = critic(point, temperature(weight).unsqueeze(1))
    (grad,) = torch.autograd.grad(score.sum(), point, create_graph=True)
    slope = (grad * (q1 - q2)).flatten(1).sum(dim=1)
    return (slope**2).mean()


def gradient_penalty(
    critic: Critic,
    real: Tensor,
    fake: Tensor,
    t: Tensor,
    generator: torch.Generator,
) -> Tensor:
    """WGAN-GP penalty ``mean((||grad D(x^)|| - 1)**2)`` at random points between real and fake.

    Used by the un-tempered ablation and as an optional extra term.
    """
    eps = torch.rand(real.shape[0], generator=generator, device=real.device)
    point = interpolate(real.detach(), fake.detach(), eps).requires_grad_(True)
    score = critic(point, t)
    (grad,) = torch.autograd.grad(score.sum(), point, create_graph=True)
    return ((grad.flatten(1).norm(dim=1) - 1.0) ** 2).mean()
