"""Neural tangent kernels and the closed-form trained GP discriminator (pure torch functions).

Used by GA-NTK (Zhang et al., "Single-level Adversarial Data Synthesis based on Neural Tangent
Kernels", arXiv 2204.04090): the discriminator is an infinitely wide ReLU network trained by
gradient flow on the mean squared error, whose outputs on its own training points are known in
closed form, so there is no inner training loop to run.

Parameterisation
----------------
The kernel is that of a fully connected network with ``depth`` hidden ReLU layers and a scalar
linear read-out, in the *NTK parameterisation* (Jacot et al. 2018; the default of the
``neural_tangents`` library that the GA-NTK authors used)::

    h1(x)     = sqrt(weight_var / d)   * W1 x       + sqrt(bias_var) * b1
    h(l+1)(x) = sqrt(weight_var / n_l) * W(l+1) relu(h_l(x)) + sqrt(bias_var) * b(l+1)

with every entry of the ``W`` and ``b`` drawn from N(0, 1) and trained. ``d`` is the input
dimension and ``n_l`` the width of layer ``l``. As all widths grow, the outputs form a Gaussian
process with covariance (NNGP) ``Σ`` and the network's tangent kernel tends to the fixed NTK
``Θ``, given layer by layer by the arc-cosine recursion (Cho & Saul 2009)::

    Σ1 = Θ1 = weight_var * <x, x'> / d + bias_var
    with c = Σl(x, x') / sqrt(Σl(x, x) Σl(x', x')),  θ = arccos c:
    E[relu relu] = sqrt(Σl(x, x) Σl(x', x')) * (sin θ + (π − θ) c) / (2π)
    E[relu' relu'] = (π − θ) / (2π)
    Σ(l+1) = weight_var * E[relu relu] + bias_var
    Θ(l+1) = Σ(l+1) + weight_var * Θl * E[relu' relu']

The defaults ``weight_var = 1.4615`` and ``bias_var = 0.1`` are those of the official GA-NTK
code (``W_std = sqrt(1.4615)``, ``b_std = sqrt(0.1)``).

Trained discriminator
---------------------
Gradient flow ``df/dτ = −K (f − y)`` from ``f(0) = 0`` gives ``f(τ) = (I − exp(−τ K)) y`` on the
training points. :func:`gradient_flow_prediction` evaluates it through an eigendecomposition of
the symmetric ``K``, with a backward pass written from the Daleckii–Krein formula so that the
gradient stays finite when eigenvalues coincide (duplicated or collapsed points), where
differentiating through ``torch.linalg.eigh`` divides by their differences.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from fairsynth.exceptions import ParameterError

__all__ = ["gradient_flow_prediction", "kernel_memory_bytes", "relu_nngp_ntk", "relu_ntk"]

# Cosines are kept this far inside [-1, 1]: arccos has an infinite slope at ±1, and the NTK of
# a ReLU network has a cusp where two points coincide. Exact ties (the diagonal) are handled
# analytically; near-ties get a large but finite gradient (at most about 1 / sqrt(2 margin)).
# The margin moves a tied entry of Ė by about sqrt(2 margin) / (2π): 7e-6 in float64.
_COS_MARGIN = {torch.float64: 1e-9, torch.float32: 1e-6}


def _check_kernel_params(depth: int, weight_var: float, bias_var: float) -> None:
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 1:
        raise ParameterError(f"depth must be a positive integer, got {depth!r}.")
    if not weight_var > 0:
        raise ParameterError(f"weight_var must be > 0, got {weight_var!r}.")
    if not bias_var >= 0:
        raise ParameterError(f"bias_var must be ≥ 0, got {bias_var!r}.")


def relu_nngp_ntk(
    x1: Tensor,
    x2: Tensor | None = None,
    *,
    depth: int = 2,
    weight_var: float = 1.4615,
    bias_var: float = 0.1,
) -> tuple[Tensor, Tensor]:
    """NNGP and NTK of an infinitely wide fully connected ReLU network.

    Parameters
    ----------
    x1 : Tensor of shape (n1, d)
        First set of points.
    x2 : Tensor of shape (n2, d), optional
        Second set; None means ``x1`` itself, and then the diagonal (each point with itself) is
        computed exactly, with a gradient that stays finite.
    depth : int, default=2
        Number of hidden ReLU layers (the network has ``depth + 1`` linear layers).
    weight_var, bias_var : float, default=1.4615, 0.1
        Variances of the weight and bias scales in the NTK parameterisation (see module notes).

    Returns
    -------
    nngp, ntk : Tensor of shape (n1, n2)
        The output covariance at initialisation and the neural tangent kernel.
    """
    _check_kernel_params(depth, weight_var, bias_var)
    if x1.ndim != 2 or (x2 is not None and (x2.ndim != 2 or x2.shape[1] != x1.shape[1])):
        shapes = (tuple(x1.shape), None if x2 is None else tuple(x2.shape))
        raise ParameterError(f"Expected two (n, d) tensors with the same d, got shapes {shapes}.")
    same = x2 is None
    other = x1 if x2 is None else x2
    dim = x1.shape[1]
    sigma = weight_var * (x1 @ other.mT) / dim + bias_var
    q1 = weight_var * (x1 * x1).sum(1) / dim + bias_var
    q2 = q1 if same else weight_var * (other * other).sum(1) / dim + bias_var
    ntk = sigma
    diagonal = torch.eye(len(x1), dtype=torch.bool, device=x1.device) if same else None
    margin = _COS_MARGIN.get(x1.dtype, 1e-3)
    for _ in range(depth):
        norm = torch.sqrt((q1[:, None] * q2[None, :]).clamp_min(torch.finfo(x1.dtype).tiny))
        cos = (sigma / norm).clamp(-1.0 + margin, 1.0 - margin)
        theta = torch.arccos(cos)
        act = norm * (torch.sin(theta) + (math.pi - theta) * cos) / (2 * math.pi)
        der = (math.pi - theta) / (2 * math.pi)
        if diagonal is not None:
            # θ = 0 exactly on the diagonal: E[relu²] = Σ/2 and E[relu'²] = 1/2.
            act = torch.where(diagonal, q1[:, None] / 2, act)
            der = torch.where(diagonal, torch.full_like(der, 0.5), der)
        sigma = weight_var * act + bias_var
        ntk = sigma + weight_var * ntk * der
        q1 = weight_var * q1 / 2 + bias_var
        q2 = q1 if same else weight_var * q2 / 2 + bias_var
    return sigma, ntk


def relu_ntk(
    x1: Tensor,
    x2: Tensor | None = None,
    *,
    depth: int = 2,
    weight_var: float = 1.4615,
    bias_var: float = 0.1,
) -> Tensor:
    """Neural tangent kernel of an infinitely wide fully connected ReLU network.

    See :func:`relu_nngp_ntk` for the parameters; this returns the NTK only.

    Examples
    --------
    >>> import torch
    >>> k = relu_ntk(torch.eye(3, dtype=torch.float64), depth=2)
    >>> k.shape, bool(torch.allclose(k, k.T))
    (torch.Size([3, 3]), True)
    """
    return relu_nngp_ntk(x1, x2, depth=depth, weight_var=weight_var, bias_var=bias_var)[1]


def _divided_differences(evals: Tensor, time: float) -> Tensor:
    """``(g(λi) − g(λj)) / (λi − λj)`` for ``g(λ) = 1 − exp(−time λ)``, ``g'(λi)`` when equal.

    Written as ``time · exp(−time · min) · (1 − exp(−x)) / x`` with ``x = time · |λi − λj|``,
    which neither overflows nor cancels.
    """
    low = torch.minimum(evals[:, None], evals[None, :])
    x = time * (evals[:, None] - evals[None, :]).abs()
    positive = x > 0
    ratio = torch.where(positive, -torch.expm1(-x) / torch.where(positive, x, 1.0), 1.0)
    return time * torch.exp(-time * low) * ratio


class _GradientFlow(torch.autograd.Function):
    """``(I − exp(−time K)) Y`` for a symmetric ``K``, through ``eigh``, with a stable backward."""

    @staticmethod
    def forward(ctx: Any, kernel: Tensor, targets: Tensor, time: float) -> Tensor:
        evals, evecs = torch.linalg.eigh(kernel)
        # K is positive semi-definite; negative eigenvalues are rounding errors.
        evals = evals.clamp_min(0.0)
        gain = -torch.expm1(-time * evals)
        projected = evecs.mT @ targets
        ctx.save_for_backward(evals, evecs, projected, gain)
        ctx.time = time
        return evecs @ (gain[:, None] * projected)

    @staticmethod
    def backward(ctx: Any, grad_out: Tensor) -> tuple[Tensor | None, Tensor | None, None]:
        evals, evecs, projected, gain = ctx.saved_tensors
        upstream = evecs.mT @ grad_out
        grad_kernel = grad_targets = None
        if ctx.needs_input_grad[0]:
            # Daleckii–Krein: d g(K) = V (G ∘ (Vᵀ dK V)) Vᵀ with G the divided differences.
            inner = _divided_differences(evals, ctx.time) * (upstream @ projected.mT)
            grad_kernel = evecs @ inner @ evecs.mT
            grad_kernel = 0.5 * (grad_kernel + grad_kernel.mT)
        if ctx.needs_input_grad[1]:
            grad_targets = evecs @ (gain[:, None] * upstream)
        return grad_kernel, grad_targets, None


def gradient_flow_prediction(
    kernel: Tensor,
    targets: Tensor,
    time: float,
    *,
    jitter: float = 1e-5,
    relative_jitter: bool = True,
) -> Tensor:
    """Outputs on its training points of a kernel model trained by gradient flow for ``time``.

    Returns ``f = (I − exp(−time (K + εI))) y``, the solution of ``df/dτ = −(K + εI)(f − y)``
    with ``f(0) = 0``: the mean prediction of an infinitely wide network trained on the
    squared error when ``K`` is its NTK.

    Parameters
    ----------
    kernel : Tensor of shape (m, m)
        Symmetric positive semi-definite kernel matrix (only its symmetric part is used).
    targets : Tensor of shape (m,) or (m, k)
        Labels ``y``.
    time : float
        Training time ``τ`` in the units of the equation above (learning rate times steps,
        including any normalisation of the loss; see
        :class:`~fairsynth.models.gantk.GANTKSynthesizer`).
    jitter : float, default=1e-5
        ``ε`` added to the diagonal before the eigendecomposition.
    relative_jitter : bool, default=True
        Scale ``jitter`` by the mean of the kernel's diagonal, as ``neural_tangents`` (and so the
        GA-NTK reference code) does; False adds ``jitter`` as it is.

    Returns
    -------
    Tensor
        ``f``, shaped like ``targets``. Differentiable in ``kernel`` and ``targets``.

    Examples
    --------
    >>> import torch
    >>> k = torch.tensor([[2.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    >>> y = torch.tensor([1.0, -1.0], dtype=torch.float64)
    >>> gradient_flow_prediction(k, y, 1.0, jitter=0.0)
    tensor([ 0.8647, -0.6321], dtype=torch.float64)
    """
    if kernel.ndim != 2 or kernel.shape[0] != kernel.shape[1]:
        raise ParameterError(f"kernel must be a square matrix, got shape {tuple(kernel.shape)}.")
    if targets.shape[0] != kernel.shape[0] or targets.ndim not in (1, 2):
        raise ParameterError(
            f"targets must have shape ({kernel.shape[0]},) or ({kernel.shape[0]}, k), "
            f"got {tuple(targets.shape)}."
        )
    if not (math.isfinite(time) and time >= 0):
        raise ParameterError(f"time must be a finite number ≥ 0, got {time!r}.")
    if not jitter >= 0:
        raise ParameterError(f"jitter must be ≥ 0, got {jitter!r}.")
    size = kernel.shape[0]
    kernel = 0.5 * (kernel + kernel.mT)
    scale = kernel.diagonal().mean() if relative_jitter else 1.0
    eye = torch.eye(size, dtype=kernel.dtype, device=kernel.device)
    regularised = kernel + (jitter * scale) * eye
    column = targets.reshape(size, -1)
    out: Tensor = _GradientFlow.apply(regularised, column, float(time))
    return out.reshape(targets.shape)


def kernel_memory_bytes(n_points: int, depth: int, dtype: torch.dtype = torch.float64) -> int:
    """Upper estimate of the peak memory of one differentiable kernel + prediction + backward.

    Autograd keeps about ten ``n × n`` matrices per hidden layer of the kernel recursion (Σ,
    the cosine, θ, the two arc-cosine expectations, Θ and the products between them), and the
    eigendecomposition and the backward pass need about eight more. Measured peaks on CPU at
    2,048 points in float64: 17.1, 26.9 and 36.7 matrices at depths 1, 2 and 3.
    """
    itemsize = torch.empty((), dtype=dtype).element_size()
    return (10 * depth + 10) * n_points * n_points * itemsize
