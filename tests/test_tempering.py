"""Exact tests of the tempered objective's pure functions."""

from __future__ import annotations

import pytest
import torch

from fairsynth.nn.tempering import (
    coherency_penalty,
    draw_mixing_weights,
    draw_pairs,
    gradient_penalty,
    interpolate,
    temperature,
)


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_temperature_is_zero_on_data_and_one_at_half() -> None:
    a = torch.tensor([0.0, 0.25, 0.5, 0.75, 1.0])
    assert torch.allclose(temperature(a), torch.tensor([0.0, 0.5, 1.0, 0.5, 0.0]))


def test_interpolate_is_rowwise_convex_combination() -> None:
    x1 = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    x2 = torch.tensor([[5.0, 6.0], [7.0, 8.0]])
    out = interpolate(x1, x2, torch.tensor([1.0, 0.25]))
    assert torch.allclose(out, torch.tensor([[1.0, 2.0], [6.0, 7.0]]))


@pytest.mark.parametrize("ratio", [0.0, 0.5, 0.9, 1.0])
def test_mixing_weights_follow_their_law(ratio: float) -> None:
    a = draw_mixing_weights(200_000, ratio, _gen())
    at_one = (a == 1.0).float().mean().item()
    assert at_one == pytest.approx(ratio, abs=0.005)
    rest = a[a < 1.0]
    if ratio < 1.0:
        # the remainder is uniform on [0, 1): mean 1/2, variance 1/12
        assert rest.mean().item() == pytest.approx(0.5, abs=0.01)
        assert rest.var().item() == pytest.approx(1 / 12, abs=0.005)
    assert bool(((a >= 0) & (a <= 1)).all())


def test_draws_are_reproducible_and_leave_global_rng_alone() -> None:
    state = torch.random.get_rng_state()
    first = draw_pairs(100, 10, _gen(3)), draw_mixing_weights(10, 0.5, _gen(3))
    second = draw_pairs(100, 10, _gen(3)), draw_mixing_weights(10, 0.5, _gen(3))
    assert torch.equal(first[0][0], second[0][0]) and torch.equal(first[1], second[1])
    assert torch.equal(state, torch.random.get_rng_state())


def _linear_critic(w: torch.Tensor, c: float):  # type: ignore[no-untyped-def]
    def critic(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return x @ w + c * t.squeeze(1)

    return critic


def test_coherency_penalty_of_linear_critic_matches_hand_computation() -> None:
    w = torch.tensor([1.0, -2.0, 0.5])
    critic = _linear_critic(w, c=3.0)
    q1 = torch.tensor([[1.0, 0.0, 2.0], [0.0, 1.0, 1.0]])
    q2 = torch.tensor([[0.0, 1.0, 0.0], [2.0, 0.0, 1.0]])
    a1, a2, v = torch.tensor([1.0, 0.3]), torch.tensor([0.2, 0.6]), torch.tensor([0.5, 0.1])
    # slope along the pair line: w . (q1 - q2) = [1*1 - 2*(-1) + 0.5*2, 1*(-2) - 2*1 + 0]
    expected = torch.tensor([4.0, -4.0]).pow(2).mean()
    assert torch.allclose(coherency_penalty(critic, q1, q2, a1, a2, v), expected)


def test_coherency_penalty_through_temperature_adds_the_temperature_slope() -> None:
    w, c = torch.tensor([1.0, -2.0, 0.5]), 3.0
    q1 = torch.tensor([[1.0, 0.0, 2.0], [0.0, 1.0, 1.0]])
    q2 = torch.tensor([[0.0, 1.0, 0.0], [2.0, 0.0, 1.0]])
    a1, a2, v = torch.tensor([1.0, 0.3]), torch.tensor([0.2, 0.6]), torch.tensor([0.5, 0.1])
    mixed = v * a1 + (1 - v) * a2  # 0.6 and 0.57: both above 1/2, so dt/da = -2
    assert bool((mixed > 0.5).all())
    slope = torch.tensor([4.0, -4.0]) + c * (-2.0) * (a1 - a2)
    got = coherency_penalty(_linear_critic(w, c), q1, q2, a1, a2, v, through_temperature=True)
    assert torch.allclose(got, slope.pow(2).mean())


def test_coherency_penalty_is_zero_for_critic_flat_along_pairs() -> None:
    # a critic that depends only on coordinates where the pair does not differ
    critic = _linear_critic(torch.tensor([0.0, 0.0, 7.0]), c=1.0)
    q1 = torch.tensor([[1.0, 5.0, 2.0]])
    q2 = torch.tensor([[4.0, -1.0, 2.0]])
    one = torch.ones(1)
    assert coherency_penalty(critic, q1, q2, one, one * 0.5, one * 0.3).item() == 0.0


def test_coherency_penalty_trains_the_critic_parameters() -> None:
    net = torch.nn.Linear(4, 1)

    def critic(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return net(x).squeeze(1) + t.squeeze(1)

    q1, q2 = torch.randn(8, 4, generator=_gen(1)), torch.randn(8, 4, generator=_gen(2))
    a = torch.rand(8, generator=_gen(4))
    penalty = coherency_penalty(critic, q1, q2, a, a, a)
    penalty.backward()
    assert net.weight.grad is not None and net.weight.grad.abs().sum() > 0


def test_gradient_penalty_is_zero_for_unit_slope_linear_critic() -> None:
    critic = _linear_critic(torch.tensor([0.6, 0.8]), c=0.0)  # |w| = 1
    real, fake = torch.randn(5, 2, generator=_gen(1)), torch.randn(5, 2, generator=_gen(2))
    got = gradient_penalty(critic, real, fake, torch.zeros(5, 1), _gen(0))
    assert got.item() == pytest.approx(0.0, abs=1e-12)
    critic2 = _linear_critic(torch.tensor([3.0, 4.0]), c=0.0)  # |w| = 5 -> (5 - 1)^2
    assert gradient_penalty(critic2, real, fake, torch.zeros(5, 1), _gen(0)).item() == 16.0
