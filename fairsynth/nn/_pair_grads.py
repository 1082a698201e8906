"""Per-pair gradients of PTGAN's critic loss, clipped and summed, for DP-SGD (privacy.py).

A pair's loss is its real row's score term plus the coherency penalty ``w * slope**2``, where
``slope`` is the critic's directional derivative along the line joining the pair. Two ways to get
each pair's gradient:

- :func:`vmap_gradients`: ``torch.func.vmap(grad(...))`` with the slope from ``torch.func.jvp``;
  works for any critic, but materialises every pair's gradient (about 0.5 s a step on Adult,
  25 times a plain critic step, on one CPU thread).
- :func:`mlp_clipped_sum`: closed form for the critic of fairsynth.nn.nets (Linear layers with
  LeakyReLU between them). For such a network the score's gradient in the weights of layer k is
  the outer product ``delta_k h_{k-1}^T`` (back-propagated signal, layer input), and, the network
  being piecewise linear, the slope's gradient is ``delta_k hdot_{k-1}^T`` with ``hdot`` the
  tangent carried forward along the direction (biases: zero). So each pair's gradient of a layer
  is a sum of two outer products, whose norm needs only dot products (the "ghost norm" of
  Goodfellow 2015, arXiv 1510.01799, and Li et al. 2022, arXiv 2110.05679), and the clipped sum
  is two matrix products. tests/test_privacy.py checks it against :func:`vmap_gradients`.
"""

from __future__ import annotations

import warnings

import torch
from torch import Tensor, nn
from torch.nn import functional

from fairsynth.nn.tempering import interpolate, temperature

__all__ = [
    "clip_and_sum",
    "is_plain_mlp",
    "mlp_clipped_fake_sum",
    "mlp_clipped_sum",
    "vmap_fake_gradients",
    "vmap_gradients",
]

Pairs = tuple[Tensor, Tensor, Tensor, Tensor, Tensor]  # q1, q2, a1, a2, v


def real_factor(loss: str, score: Tensor) -> Tensor:
    """d(real term)/d(score): -1 for the Wasserstein critic, -sigmoid(-s) for the logistic."""
    return -torch.ones_like(score) if loss == "wasserstein" else -torch.sigmoid(-score)


def fake_factor(loss: str, score: Tensor) -> Tensor:
    """d(fake term)/d(score): 1 for the Wasserstein critic, sigmoid(s) for the logistic."""
    return torch.ones_like(score) if loss == "wasserstein" else torch.sigmoid(score)


def _real_term(loss: str, score: Tensor) -> Tensor:
    return -score if loss == "wasserstein" else functional.softplus(-score)


def _fake_term(loss: str, score: Tensor) -> Tensor:
    return score if loss == "wasserstein" else functional.softplus(score)


def _direction(pairs: Pairs, through: bool) -> tuple[Tensor, Tensor, Tensor]:
    """The point on each segment, its temperature, and the tangent of (row, temperature)."""
    q1, q2, a1, a2, v = pairs
    mixed = v * a1 + (1 - v) * a2
    dt = -2.0 * torch.sign(mixed - 0.5) * (a1 - a2) if through else torch.zeros_like(v)
    tangent = torch.cat([q1 - q2, dt.unsqueeze(1)], dim=1)
    return interpolate(q1, q2, v), temperature(mixed), tangent


def vmap_gradients(
    critic: nn.Module, pairs: Pairs, *, loss: str, weight: float, through: bool
) -> dict[str, Tensor]:
    """Each pair's gradient of its loss, by ``torch.func`` (one entry a pair on axis 0)."""
    from torch.func import functional_call, grad, jvp, vmap

    params = {k: p.detach() for k, p in critic.named_parameters()}

    def score(p: dict[str, Tensor], x: Tensor, t: Tensor) -> Tensor:
        return functional_call(critic, p, (x.unsqueeze(0), t.reshape(1, 1)))[0]

    def pair_loss(p: dict[str, Tensor], q1: Tensor, q2: Tensor, a1: Tensor, a2: Tensor,
                  v: Tensor) -> Tensor:  # fmt: skip
        value = _real_term(loss, score(p, q1, temperature(a1)))
        if weight == 0:
            return value

        mixed = v * a1 + (1 - v) * a2  # slope along the segment, with t's change if through
        dt = -2.0 * torch.sign(mixed - 0.5) * (a1 - a2) if through else torch.zeros_like(v)
        point, t = interpolate(q1, q2, v), temperature(mixed)
        slope = jvp(lambda x, s: score(p, x, s), (point, t), (q1 - q2, dt))[1]
        return value + weight * slope**2

    if len(pairs[0]) == 0:
        return {k: torch.zeros((0, *p.shape), device=p.device) for k, p in params.items()}
    per_pair = vmap(grad(pair_loss), in_dims=(None, 0, 0, 0, 0, 0))
    with warnings.catch_warnings():  # torch's forward-mode AD loads its decompositions by jit
        warnings.filterwarnings("ignore", ".*torch.jit.script.*", DeprecationWarning)
        return dict(per_pair(params, *pairs))


def vmap_fake_gradients(
    critic: nn.Module, rows: Tensor, t: Tensor, *, loss: str
) -> dict[str, Tensor]:
    """Each generated row's gradient of its fake term, by ``torch.func`` (axis 0: rows)."""
    from torch.func import functional_call, grad, vmap

    params = {k: p.detach() for k, p in critic.named_parameters()}

    def row_loss(p: dict[str, Tensor], x: Tensor, s: Tensor) -> Tensor:
        score = functional_call(critic, p, (x.unsqueeze(0), s.reshape(1, 1)))[0]
        return _fake_term(loss, score)

    return dict(vmap(grad(row_loss), in_dims=(None, 0, 0))(params, rows, t))


def clip_and_sum(grads: dict[str, Tensor], clip_norm: float) -> dict[str, Tensor]:
    """Clip each pair's gradient (all parameters together) to ``clip_norm`` and sum them."""
    norms = torch.stack([g.flatten(1).norm(dim=1) for g in grads.values()]).norm(dim=0)
    factor = (clip_norm / (norms + 1e-6)).clamp(max=1.0)
    return {k: torch.einsum("i,i...->...", factor, g) for k, g in grads.items()}


def is_plain_mlp(critic: nn.Module) -> bool:
    """Whether ``critic`` is fairsynth's Critic with pac 1: Linear layers, LeakyReLU between."""
    body = getattr(critic, "body", None)
    if getattr(critic, "pac", None) != 1 or not isinstance(body, nn.Sequential):
        return False
    if getattr(critic, "embed", None) is not None:  # embedded categories: not in closed form
        return False
    layers = list(body)
    linear = all(isinstance(m, nn.Linear) for m in layers[0::2])
    acts = all(isinstance(m, nn.LeakyReLU) for m in layers[1::2])
    return linear and acts and len(layers) % 2 == 1


def _forward(
    layers: list[nn.Module], h: Tensor, tangent: Tensor | None
) -> tuple[list[Tensor], list[Tensor], list[Tensor], Tensor, Tensor | None]:
    """Inputs of each Linear, their tangents, the activation slopes, score and slope."""
    inputs, tangents, slopes = [], [], []
    for index in range(0, len(layers), 2):
        linear = layers[index]
        assert isinstance(linear, nn.Linear)
        inputs.append(h)
        tangents.append(tangent if tangent is not None else h)
        z = linear(h)
        dz = None if tangent is None else tangent @ linear.weight.T
        if index + 1 < len(layers):
            act = layers[index + 1]
            assert isinstance(act, nn.LeakyReLU)
            slope = torch.where(z > 0, 1.0, act.negative_slope)
            slopes.append(slope)
            h, tangent = slope * z, None if dz is None else slope * dz
        else:
            return inputs, tangents, slopes, z.squeeze(1), None if dz is None else dz.squeeze(1)
    raise ValueError("empty critic")


def _backward(layers: list[nn.Module], slopes: list[Tensor], n: int) -> list[Tensor]:
    """The score's gradient in each Linear layer's output (delta_k), one row a pair."""
    linears = layers[0::2]
    delta = torch.ones((n, 1), device=slopes[0].device) if slopes else torch.ones((n, 1))
    deltas = [delta]
    for k in range(len(linears) - 1, 0, -1):
        weight = linears[k].weight
        assert isinstance(weight, Tensor)
        delta = (delta @ weight) * slopes[k - 1]
        deltas.insert(0, delta)
    return deltas


def mlp_clipped_sum(
    critic: nn.Module, pairs: Pairs, *, loss: str, weight: float, through: bool,
    clip_norm: float,
) -> dict[str, Tensor]:  # fmt: skip
    """The clipped sum of per-pair gradients, in closed form for a plain MLP critic."""
    q1, a1 = pairs[0], pairs[2]
    layers = list(critic.body)  # type: ignore[arg-type]
    n = len(q1)
    with torch.no_grad():
        real_in = torch.cat([q1, temperature(a1).unsqueeze(1)], dim=1)
        ins, _, slopes, score, _ = _forward(layers, real_in, None)
        deltas = _backward(layers, slopes, n)
        c = real_factor(loss, score)
        terms: list[list[tuple[Tensor, Tensor]]] = [
            [(c.unsqueeze(1) * d, x)] for d, x in zip(deltas, ins, strict=True)
        ]
        if weight > 0:
            point, t, tangent = _direction(pairs, through)
            _, mid_tangents, mid_slopes, _, ds = _forward(
                layers, torch.cat([point, t.unsqueeze(1)], dim=1), tangent
            )
            assert ds is not None
            mid_deltas = _backward(layers, mid_slopes, n)
            scale = (2.0 * weight * ds).unsqueeze(1)
            for k, (d, u) in enumerate(zip(mid_deltas, mid_tangents, strict=True)):
                terms[k].append((scale * d, u))
    return _clip_terms(layers, terms, clip_norm)


def mlp_clipped_fake_sum(
    critic: nn.Module, rows: Tensor, t: Tensor, *, loss: str, clip_norm: float
) -> dict[str, Tensor]:
    """The clipped sum of each generated row's gradient of its fake term (plain MLP critic).

    Reads no real row: clipping it is not needed for privacy, but keeps the fake rows' pull on
    the critic on the same scale as the clipped real pairs' (docs/privacy.md).
    """
    layers = list(critic.body)  # type: ignore[arg-type]
    with torch.no_grad():
        ins, _, slopes, score, _ = _forward(layers, torch.cat([rows, t.unsqueeze(1)], 1), None)
        deltas = _backward(layers, slopes, len(rows))
        c = fake_factor(loss, score).unsqueeze(1)
        terms = [[(c * d, x)] for d, x in zip(deltas, ins, strict=True)]
    return _clip_terms(layers, terms, clip_norm)


def _clip_terms(
    layers: list[nn.Module], terms: list[list[tuple[Tensor, Tensor]]], clip_norm: float
) -> dict[str, Tensor]:
    """Clip each row's gradient, given as one or two outer products a layer, and sum them.

    ``terms[k]`` holds ``(a, b)`` pairs: the row's gradient of layer k's weight is the sum of
    ``a_i b_i^T``, of its bias ``a_i`` of the first pair (the slope's term has no bias part).
    """
    with torch.no_grad():
        n = len(terms[0][0][0])
        squared = torch.zeros(n, device=terms[0][0][0].device)
        for layer_terms in terms:
            (a, b) = layer_terms[0]
            squared += (a * a).sum(1) * (b * b).sum(1) + (a * a).sum(1)  # weight and bias
            if len(layer_terms) > 1:
                (e, f) = layer_terms[1]
                squared += (e * e).sum(1) * (f * f).sum(1)
                squared += 2.0 * (a * e).sum(1) * (b * f).sum(1)
        factor = (clip_norm / (squared.clamp(min=0).sqrt() + 1e-6)).clamp(max=1.0)
        out: dict[str, Tensor] = {}
        for index, layer_terms in zip(range(0, len(layers), 2), terms, strict=True):
            a, b = layer_terms[0]
            w = (factor.unsqueeze(1) * a).T @ b
            if len(layer_terms) > 1:
                e, f = layer_terms[1]
                w = w + (factor.unsqueeze(1) * e).T @ f
            out[f"body.{index}.weight"] = w
            out[f"body.{index}.bias"] = (factor.unsqueeze(1) * a).sum(0)
    return out
