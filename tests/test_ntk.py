"""Tests of the analytic NTK and of the closed-form trained GP discriminator."""

from __future__ import annotations

import itertools
import math

import pytest
import torch
from torch import Tensor

from fairsynth.exceptions import ParameterError
from fairsynth.nn.ntk import (
    gradient_flow_prediction,
    kernel_memory_bytes,
    relu_nngp_ntk,
    relu_ntk,
)

WEIGHT_VAR, BIAS_VAR = 1.4615, 0.1


def _points(n: int = 5, d: int = 3, seed: int = 100) -> Tensor:
    return torch.randn(n, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def _empirical_ntk(x: Tensor, width: int, depth: int, seed: int) -> Tensor:
    """NTK of one finite network in the NTK parameterisation, by autograd: K = J Jᵀ.

    Built column by column, so the Jacobian of the ~17M parameters is never stored: Jᵀ e_j by
    backward, then J (Jᵀ e_j) as the derivative in u of the linear map u ↦ Jᵀu · (Jᵀ e_j).
    """
    gen = torch.Generator().manual_seed(seed)
    sizes = [x.shape[1], *[width] * depth, 1]
    params: list[Tensor] = []
    for fan_in, fan_out in itertools.pairwise(sizes):
        params += [torch.randn(fan_out, fan_in, generator=gen), torch.randn(fan_out, generator=gen)]
    for p in params:
        p.requires_grad_(True)
    h = x.float()
    for layer in range(len(params) // 2):
        w, b = params[2 * layer], params[2 * layer + 1]
        if layer > 0:
            h = torch.relu(h)
        h = math.sqrt(WEIGHT_VAR / w.shape[1]) * h @ w.T + math.sqrt(BIAS_VAR) * b
    out = h[:, 0]
    n = len(x)
    u = torch.zeros(n, requires_grad=True)
    transpose = torch.autograd.grad(out, params, grad_outputs=u, create_graph=True)
    columns = []
    for j in range(n):
        tangent = torch.autograd.grad(out, params, grad_outputs=torch.eye(n)[j], retain_graph=True)
        column = torch.autograd.grad(transpose, u, grad_outputs=tangent, retain_graph=True)[0]
        columns.append(column)
    return torch.stack(columns, dim=1).double()


@pytest.mark.parametrize("depth", [1, 2])
def test_analytic_ntk_matches_wide_network(depth: int) -> None:
    # One network of width 4096 fluctuates around its limit by ~2.4/sqrt(width) ≈ 4% (measured
    # over widths 256-8192: the error times sqrt(width) stays at 2.3-2.7). The mean over a few
    # initialisations estimates the limit itself, so a wrong recursion cannot pass.
    x = _points()
    analytic = relu_ntk(x, depth=depth, weight_var=WEIGHT_VAR, bias_var=BIAS_VAR)
    empirical = torch.stack([_empirical_ntk(x, 4096, depth, seed) for seed in range(4)]).mean(0)
    error = float((empirical - analytic).norm() / analytic.norm())
    assert error < 0.05


def test_single_wide_network_is_close_but_noisy() -> None:
    x = _points()
    analytic = relu_ntk(x, depth=2)
    single = _empirical_ntk(x, 4096, 2, seed=0)
    error = float((single - analytic).norm() / analytic.norm())
    assert 0.001 < error < 0.1


def test_first_layer_is_the_linear_kernel() -> None:
    x = _points()
    nngp, ntk = relu_nngp_ntk(x, depth=1, weight_var=2.0, bias_var=0.0)
    # With weight_var 2 and no bias, a ReLU layer keeps the diagonal: Σ2(x, x) = |x|² · 2/d.
    assert torch.allclose(nngp.diagonal(), 2.0 * (x * x).sum(1) / 3)
    # And the NTK adds the first layer's kernel times E[relu' relu'] = 1/2 on the diagonal.
    assert torch.allclose(ntk.diagonal(), 2.0 * nngp.diagonal())


def test_hand_computed_orthogonal_pair() -> None:
    # Two orthogonal unit vectors in 2-D, one hidden layer, weight_var 1, bias_var 0:
    # Σ1 = diag(1/2); θ = π/2, so E[relu relu] = (1/2)(1 + 0)/(2π) = 1/(4π), E[relu' relu'] = 1/4.
    x = torch.eye(2, dtype=torch.float64)
    nngp, ntk = relu_nngp_ntk(x, depth=1, weight_var=1.0, bias_var=0.0)
    assert nngp[0, 1].item() == pytest.approx(1 / (4 * math.pi))
    assert ntk[0, 1].item() == pytest.approx(1 / (4 * math.pi))  # Θ1(x, x') = 0
    assert nngp[0, 0].item() == pytest.approx(0.25)
    assert ntk[0, 0].item() == pytest.approx(0.25 + 0.5 * 0.5)


def test_symmetric_and_cross_forms_agree() -> None:
    x, y = _points(4), _points(3, seed=7)
    both = torch.cat([x, y])
    full = relu_ntk(both)
    assert torch.allclose(relu_ntk(x, y), full[:4, 4:], rtol=1e-5)
    assert torch.allclose(relu_ntk(x, x), full[:4, :4], rtol=1e-4)  # cosine margin at ties
    assert torch.allclose(full, full.T)
    assert torch.linalg.eigvalsh(full).min() > 0


def test_kernel_gradient_is_finite_for_duplicated_points() -> None:
    x = _points(4)
    x = torch.cat([x, x[:2]]).requires_grad_(True)
    relu_ntk(x).sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()


def test_kernel_rejects_bad_parameters() -> None:
    with pytest.raises(ParameterError, match="depth"):
        relu_ntk(_points(), depth=0)
    with pytest.raises(ParameterError, match="weight_var"):
        relu_ntk(_points(), weight_var=0.0)
    with pytest.raises(ParameterError, match="shapes"):
        relu_ntk(_points(), _points(d=2))


# ---------------------------------------------------------------------- trained discriminator
def _integrate(kernel: Tensor, targets: Tensor, time: float, steps: int = 4000) -> Tensor:
    """Runge-Kutta 4 on df/dτ = −K (f − y), f(0) = 0."""
    f = torch.zeros_like(targets)
    h = time / steps

    def slope(g: Tensor) -> Tensor:
        return -kernel @ (g - targets)

    for _ in range(steps):
        k1 = slope(f)
        k2 = slope(f + h / 2 * k1)
        k3 = slope(f + h / 2 * k2)
        k4 = slope(f + h * k3)
        f = f + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    return f


def test_closed_form_matches_integrated_gradient_flow() -> None:
    kernel = relu_ntk(_points(6, d=2), depth=2)
    targets = torch.tensor([1.0, 1.0, 1.0, -1.0, -1.0, -1.0], dtype=torch.float64)
    time = 2.0 / float(torch.linalg.eigvalsh(kernel).max()) * 5  # slow and fast modes both move
    jitter = 1e-3
    regularised = kernel + jitter * kernel.diagonal().mean() * torch.eye(6, dtype=torch.float64)
    expected = _integrate(regularised, targets, time)
    got = gradient_flow_prediction(kernel, targets, time, jitter=jitter)
    assert torch.allclose(got, expected, atol=1e-8)
    assert not torch.allclose(got, targets, atol=1e-2)  # not trivially converged


def test_closed_form_limits_and_columns() -> None:
    kernel = relu_ntk(_points(5), depth=2)
    y = torch.randn(5, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    assert torch.equal(gradient_flow_prediction(kernel, y, 0.0), torch.zeros_like(y))
    assert torch.allclose(gradient_flow_prediction(kernel, y, 1e9, jitter=1e-6), y, atol=1e-8)
    columns = torch.stack([gradient_flow_prediction(kernel, y[:, i], 0.3) for i in range(2)], 1)
    assert torch.allclose(gradient_flow_prediction(kernel, y, 0.3), columns)


def test_matches_matrix_exponential_and_its_gradient_on_degenerate_kernels() -> None:
    # Duplicated points give repeated eigenvalues, where differentiating through eigh divides
    # by zero; the Daleckii-Krein backward must agree with autograd through matrix_exp.
    base = _points(4, d=2)
    results = []
    for route in ("eigh", "expm"):
        x = torch.cat([base, base[:2], base[:2]]).clone().requires_grad_(True)
        kernel = relu_ntk(x, depth=2)
        y = torch.tensor([1.0] * 4 + [-1.0] * 4, dtype=torch.float64)
        if route == "eigh":
            f = gradient_flow_prediction(kernel, y, 0.7, jitter=1e-5)
        else:
            reg = kernel + 1e-5 * kernel.diagonal().mean() * torch.eye(8, dtype=torch.float64)
            f = y - torch.linalg.matrix_exp(-0.7 * reg) @ y
        torch.nn.functional.softplus(-f).mean().backward()
        assert x.grad is not None
        results.append((f.detach(), x.grad.clone()))
    (f1, g1), (f2, g2) = results
    assert torch.allclose(f1, f2, atol=1e-10)
    assert torch.isfinite(g1).all()
    assert torch.allclose(g1, g2, atol=1e-8)


def test_gradcheck_on_a_random_kernel() -> None:
    gen = torch.Generator().manual_seed(3)
    a = torch.randn(5, 5, dtype=torch.float64, generator=gen)
    kernel = (a @ a.T + 0.1 * torch.eye(5, dtype=torch.float64)).requires_grad_(True)
    y = torch.randn(5, 2, dtype=torch.float64, generator=gen).requires_grad_(True)
    assert torch.autograd.gradcheck(
        lambda k, t: gradient_flow_prediction(k, t, 0.4, relative_jitter=False), (kernel, y)
    )


def test_prediction_rejects_bad_inputs() -> None:
    kernel = torch.eye(3, dtype=torch.float64)
    with pytest.raises(ParameterError, match="square"):
        gradient_flow_prediction(kernel[:2], torch.ones(2), 1.0)
    with pytest.raises(ParameterError, match="targets"):
        gradient_flow_prediction(kernel, torch.ones(4), 1.0)
    with pytest.raises(ParameterError, match="time"):
        gradient_flow_prediction(kernel, torch.ones(3), -1.0)


def test_memory_estimate_grows_with_the_square() -> None:
    small = kernel_memory_bytes(256, depth=3)
    assert kernel_memory_bytes(512, depth=3) == 4 * small
    assert kernel_memory_bytes(256, depth=3, dtype=torch.float32) * 2 == small
