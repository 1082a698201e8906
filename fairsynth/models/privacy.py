"""Differentially private training of PTGAN's critic (DP-SGD), its budget and its accountant.

Only the critic sees real rows; the generator sees the critic alone, so its training is
post-processing and costs nothing more. Each critic step (docs/privacy.md):

1. **Poisson sampling of rows.** Every real row joins the step independently with probability
   ``q = min(1, 2 * batch_size / n)``; the rows drawn are shuffled and paired, so each row is in
   at most one tempered pair (the odd one out, if any, sits the step out).
2. **Per-pair clipping.** A pair's loss (its real score and its coherency penalty, which looks at
   both rows) is differentiated on its own (``torch.func.vmap(grad(...))``) and the gradient
   clipped to norm ``C`` (``clip_norm``).
3. **Gaussian noise** of standard deviation ``z * 2C`` on the sum, divided by ``batch_size``
   (a constant). The generated rows' part of the loss (``batch_size`` rows) reads no real row
   and gets no noise, but each generated row's gradient is clipped to ``C`` too: with only the
   real side clipped, the fake side outweighed it (per-row norms are about 3 on Adult) and the
   critic pushed every score down instead of separating real from fake (issue 20: 95% '>50K'
   rows at ε = 1e6; tests/test_privacy.py checks that the step is balanced).

Rows alone: a fit without tempering and penalty (``temperature_ratio=1``,
``coherency_weight=0``) needs no pairs, so each row drawn (rate ``batch_size / n``) is one
example and the sensitivity is ``C``: about a third of the noise on the sum at ε = 3
(``PrivacyPlan.paired``).

Sensitivity ``2C``: removing one row removes its pair, and when the number of rows drawn was odd
its partner takes the odd row's place in a new pair, so the sum moves by at most two clipped
gradients (under a coupling of the random pairings; joint quasi-convexity of Rényi divergence
reduces the mixture to the worst pair, Mironov, Talwar & Zhang 2019, arXiv 1908.10530). The noise
multiplier ``z`` is found by opacus's accountant for the Poisson-subsampled Gaussian mechanism
(Abadi et al. 2016, arXiv 1607.00133; Mironov 2017, arXiv 1702.07476) over the planned steps, and
the ε spent is computed again from the steps actually run. Adjacency: add or remove one row.
The transform's categories and bounds, and the budget they take: :mod:`~fairsynth.models.
private_fit`.
"""

from __future__ import annotations

import math
import secrets
import warnings
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import Tensor
from torch.nn import functional

from fairsynth.exceptions import FairsynthError, ParameterError
from fairsynth.models._rows import Rows
from fairsynth.models.private_fit import check_transform_settings, total_delta
from fairsynth.nn._pair_grads import (
    Pairs,
    clip_and_sum,
    is_plain_mlp,
    mlp_clipped_fake_sum,
    mlp_clipped_sum,
    vmap_fake_gradients,
    vmap_gradients,
)
from fairsynth.nn.tempering import interpolate, temperature

__all__ = [
    "PrivacyPlan",
    "PrivacySettings",
    "PrivateCritic",
    "check_privacy",
    "epsilon_spent",
    "plan_privacy",
    "resolve_privacy",
]

_ACCOUNTANTS = ("rdp", "prv")
_KEYS = (
    "epsilon", "delta", "clip_norm", "accountant", "max_noise_multiplier", "metadata",
    "transform", "transform_share",
)  # fmt: skip
SENSITIVITY = 2.0  # in units of the clip norm: see the module docstring


@dataclass(frozen=True)
class PrivacySettings:
    """The resolved ``privacy`` parameter.

    Parameters
    ----------
    epsilon : float
        Target ε, > 0.
    delta : float or None
        Target δ, in (0, 1/n); None means ``1 / n**2``.
    clip_norm : float
        Norm ``C`` each pair's critic gradient is clipped to.
    accountant : {'rdp', 'prv'}
        opacus's accountant: Rényi DP (Mironov 2017) or the PRV accountant (Gopi et al. 2021).
    max_noise_multiplier : float
        Refuse a fit whose budget needs more noise than this: it would learn noise.
    metadata : dict or None
        Public descriptions of columns (categories; bounds), so that the transform reads
        nothing of them from the data (:mod:`fairsynth.transform._metadata`).
    transform : {'private', 'data'}
        The columns ``metadata`` does not describe: their categories and bounds released with
        differential privacy ('private', spending ``transform_share`` of ε and δ), or read from
        the table as given ('data': not covered by ε, with a PrivacyWarning).
    transform_share : float
        The share of ε and δ spent on those releases, in (0, 1); none when metadata describes
        every column.
    """

    epsilon: float
    delta: float | None = None
    clip_norm: float = 1.0
    accountant: str = "rdp"
    max_noise_multiplier: float = 20.0
    metadata: Any = None
    transform: str = "private"
    transform_share: float = 0.25


def resolve_privacy(privacy: Any) -> PrivacySettings | None:
    """Read ``privacy``: None, ε, ``(ε, δ)`` or a mapping with the keys of PrivacySettings."""
    if privacy is None:
        return None
    if isinstance(privacy, PrivacySettings):
        settings = privacy
    elif isinstance(privacy, Mapping):
        unknown = sorted(set(privacy) - set(_KEYS))
        if unknown or "epsilon" not in privacy:
            raise ParameterError(
                f"privacy has keys {sorted(privacy)}; it needs 'epsilon' and may have "
                f"{', '.join(repr(k) for k in _KEYS[1:])}."
            )
        settings = PrivacySettings(**dict(privacy))
    elif isinstance(privacy, (tuple, list)) and len(privacy) == 2:
        settings = PrivacySettings(privacy[0], privacy[1])
    elif _is_number(privacy):
        settings = PrivacySettings(privacy)
    else:
        raise ParameterError(
            f"privacy={privacy!r} is not valid. Give None, ε, (ε, δ) or a dict with "
            f"'epsilon' and optionally {', '.join(repr(k) for k in _KEYS[1:])}."
        )
    _check_settings(settings)
    return settings


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_settings(s: PrivacySettings) -> None:
    if not _is_number(s.epsilon) or not math.isfinite(s.epsilon) or s.epsilon <= 0:
        raise ParameterError(f"privacy epsilon={s.epsilon!r} is not valid: give a number > 0.")
    if s.delta is not None and (not _is_number(s.delta) or not 0 < s.delta < 1):
        raise ParameterError(
            f"privacy delta={s.delta!r} is not valid: give a number in (0, 1/n), or None "
            "for 1/n² (n: the rows of the table)."
        )
    if not _is_number(s.clip_norm) or not math.isfinite(s.clip_norm) or s.clip_norm <= 0:
        raise ParameterError(f"privacy clip_norm={s.clip_norm!r} is not valid: give a number > 0.")
    if s.accountant not in _ACCOUNTANTS:
        raise ParameterError(
            f"privacy accountant={s.accountant!r} is not valid. Valid choices: 'rdp', 'prv'."
        )
    if not _is_number(s.max_noise_multiplier) or s.max_noise_multiplier <= 0:
        raise ParameterError(
            f"privacy max_noise_multiplier={s.max_noise_multiplier!r} is not valid: "
            "give a number > 0."
        )
    check_transform_settings(s)  # metadata, transform, transform_share


def check_privacy(model: Any) -> None:
    """Refuse parameter combinations the private fit does not cover, naming the parameter."""
    if model.privacy is None:
        return
    if getattr(model, "sensitive", None) is not None or getattr(model, "target", None) is not None:
        raise ParameterError(
            f"privacy is not supported by {type(model).__name__}: its (group, outcome) cell "
            "counts and within-cell pairs are not private. Use PTGANSynthesizer(privacy=...)."
        )
    rules = {
        "pac": (model.pac == 1, "1 (a pack mixes rows into one example)"),
        "gradient_penalty_weight": (model.gradient_penalty_weight == 0, "0"),
        "training_by_sampling": (
            model.training_by_sampling is not True,
            "False or 'auto' (category counts)",
        ),
        "checkpoint_dir": (model.checkpoint_dir is None, "None (a resumed fit is not counted)"),
        "epochs": (model.epochs is not None, "an integer or 'auto' (the steps are planned)"),
        "fit_check": (model.fit_check is not True, "'auto' or False (it reads real rows)"),
    }
    if any(type(cb).__name__ == "Checkpoint" for cb in model.callbacks or []):
        raise ParameterError(
            "privacy cannot be combined with a Checkpoint callback: a resumed fit's earlier "
            "steps would not be counted."
        )
    for name, (ok, valid) in rules.items():
        if not ok:
            raise ParameterError(
                f"privacy cannot be combined with {name}={getattr(model, name)!r}; "
                f"with privacy, {name} must be {valid}."
            )


@dataclass(frozen=True)
class PrivacyPlan:
    """The noise and sampling of a private fit: what the accountant is given."""

    target_epsilon: float
    delta: float
    noise_multiplier: float
    sample_rate: float
    steps: int
    clip_norm: float
    accountant: str
    paired: bool = True  # False: rows alone (untempered, no penalty), sensitivity C

    @property
    def sensitivity(self) -> float:
        """What one row can move the sum of clipped gradients by, in units of the clip norm."""
        return SENSITIVITY if self.paired else 1.0


def _opacus() -> Any:
    try:
        from opacus.accountants import utils
    except ImportError:
        raise FairsynthError(
            "privacy needs opacus: pip install 'fairsynth[privacy]' (or pip install opacus)."
        ) from None
    return utils


def plan_privacy(
    settings: PrivacySettings, n_rows: int, batch_size: int, steps: int, paired: bool = True
) -> PrivacyPlan:
    """Find the noise multiplier that spends ``settings.epsilon`` over ``steps`` steps.

    ``paired``: each step draws about ``batch_size`` pairs of rows (sample rate
    ``2 * batch_size / n``, sensitivity ``2C``); False, about ``batch_size`` rows on their own
    (rate ``batch_size / n``, sensitivity ``C``), for a fit without tempering or penalty.

    Raises
    ------
    ParameterError
        δ ≥ 1/n, or a budget that needs more noise than ``max_noise_multiplier`` (the message
        gives the most steps it allows).
    """
    delta = total_delta(settings, n_rows)
    utils = _opacus()
    rate = min(1.0, (2.0 if paired else 1.0) * batch_size / n_rows)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # opacus warns about optimal alpha orders at the edge
        try:
            z = utils.get_noise_multiplier(
                target_epsilon=float(settings.epsilon), target_delta=delta, sample_rate=rate,
                steps=int(steps), accountant=settings.accountant, epsilon_tolerance=0.005,
            )  # fmt: skip
        except ValueError:
            z = math.inf
    # the accountant's z is for sensitivity 1 (in units of C); ours is 2C
    if z > settings.max_noise_multiplier:
        most = _most_steps(settings, delta, rate, steps)
        raise ParameterError(
            f"privacy epsilon={settings.epsilon:g} over {steps} steps (sample rate {rate:.3g}) "
            f"needs a noise multiplier of {z:.3g}, above max_noise_multiplier="
            f"{settings.max_noise_multiplier:g}: the critic would learn noise. Train at most "
            f"{most} steps (fewer epochs), raise epsilon, or raise max_noise_multiplier."
        )
    return PrivacyPlan(
        float(settings.epsilon), delta, float(z), rate, int(steps), float(settings.clip_norm),
        settings.accountant, paired,
    )  # fmt: skip


def _most_steps(settings: PrivacySettings, delta: float, rate: float, steps: int) -> int:
    """The most steps at ``max_noise_multiplier`` that stay within ε (bisection)."""
    low, high = 0, steps
    while low < high:
        middle = (low + high + 1) // 2
        spent = _epsilon(settings.max_noise_multiplier, rate, middle, delta, settings.accountant)
        low, high = (middle, high) if spent <= settings.epsilon else (low, middle - 1)
    return low


def _epsilon(z: float, rate: float, steps: int, delta: float, accountant: str) -> float:
    if steps <= 0:
        return 0.0
    _opacus()
    from opacus.accountants import create_accountant

    acc = create_accountant(accountant)
    acc.history = [(z, rate, int(steps))]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(acc.get_epsilon(delta=delta))


def epsilon_spent(plan: PrivacyPlan, steps_run: int) -> dict[str, Any]:
    """What a private fit spent, for ``privacy_`` and the model file (plain JSON data)."""
    spent = _epsilon(
        plan.noise_multiplier, plan.sample_rate, steps_run, plan.delta, plan.accountant
    )
    return {
        "epsilon": spent,
        **asdict(plan),
        "steps_run": int(steps_run),
        "sensitivity": f"{plan.sensitivity:g} * clip_norm "
        + ("(each row in at most one pair)" if plan.paired else "(rows alone, no pairs)"),
        "adjacency": "add or remove one row",
    }


class PrivateCritic:
    """One DP-SGD step of a PTGAN critic: Poisson rows, pairs, per-pair clipping, noise.

    Parameters
    ----------
    model : PTGANSynthesizer
        The model being fitted (its critic, optimiser, loss and torch generator are used).
    plan : PrivacyPlan
        Sampling rate, noise multiplier and clip norm.
    """

    clip_fake = True  # clip each generated row's gradient too (False: the ablation only)

    def __init__(self, model: Any, plan: PrivacyPlan) -> None:
        self.model = model
        self.plan = plan
        self.steps = 0
        # Which rows are drawn, their pairing and the noise come from a seed nobody knows: with
        # the fit's random_state (saved in the model file) anyone could rebuild and subtract
        # the noise. So a private fit does not repeat exactly under the same random_state.
        self.secret = torch.Generator(device=model.device_).manual_seed(secrets.randbits(63))

    def _pairs(self, n_rows: int) -> tuple[Tensor, Tensor]:
        m, g = self.model, self.secret
        drawn = torch.rand(n_rows, generator=g, device=m.device_) < self.plan.sample_rate
        rows = drawn.nonzero().squeeze(1)
        if not self.plan.paired:  # each row on its own: x2 = x1 (no mixing, no penalty)
            return rows, rows
        rows = rows[torch.randperm(len(rows), generator=g, device=m.device_)]
        half = len(rows) // 2
        return rows[:half], rows[half : 2 * half]

    def step(self, data: Rows) -> dict[str, Tensor]:
        """Update the critic once; return the loss on generated rows (no real row in it)."""
        m, g = self.model, self.model._torch_generator
        first, second = self._pairs(len(data))
        x1, x2 = data[first], data[second]
        a1 = _weights(m, len(first))
        a2 = torch.rand(len(first), generator=g, device=m.device_)
        v = torch.rand(len(first), generator=g, device=m.device_)
        q1, q2 = interpolate(x1, x2, a1), interpolate(x1, x2, a2)
        summed = self.clipped_sum((q1, q2, a1, a2, v))
        scale = self.plan.noise_multiplier * self.plan.sensitivity * self.plan.clip_norm
        weight_fake = _weights(m, m.batch_size)
        t_fake = temperature(weight_fake)
        with torch.no_grad():
            fake = m._tempered_fake(weight_fake)
            fake_loss = _fake_term(m.loss, m.critic_(fake, t_fake.unsqueeze(1)))
        m._d_optimizer.zero_grad(set_to_none=True)
        if self.clip_fake:
            fake_sum = self.clipped_fake_sum(fake, t_fake)
        else:  # the ablation of docs/privacy.md: the fake rows' pull unclipped
            with torch.enable_grad():
                scores = m.critic_(fake, t_fake.unsqueeze(1))
                (_fake_term(m.loss, scores) * m.batch_size).backward()
            fake_sum = {k: p.grad for k, p in m.critic_.named_parameters()}
        for name, p in m.critic_.named_parameters():
            noise = torch.randn(p.shape, generator=self.secret, device=m.device_) * scale
            p.grad = (summed[name] + fake_sum[name] + noise) / m.batch_size
        m._d_optimizer.step()
        self.steps += 1
        return {"critic_fake_loss": fake_loss.detach()}

    def clipped_sum(self, pairs: Pairs) -> dict[str, Tensor]:
        """The sum over pairs of their critic gradients, each clipped to ``clip_norm``."""
        m = self.model
        options = {
            "loss": m.loss, "weight": float(m.coherency_weight),
            "through": bool(m.penalty_through_temperature),
        }  # fmt: skip
        if len(pairs[0]) == 0:
            return {k: torch.zeros_like(p) for k, p in m.critic_.named_parameters()}
        if is_plain_mlp(m.critic_):
            return mlp_clipped_sum(m.critic_, pairs, clip_norm=self.plan.clip_norm, **options)
        return clip_and_sum(vmap_gradients(m.critic_, pairs, **options), self.plan.clip_norm)

    def clipped_fake_sum(self, rows: Tensor, t: Tensor) -> dict[str, Tensor]:
        """The sum over generated rows of their critic gradients, each clipped likewise."""
        m, clip = self.model, self.plan.clip_norm
        if is_plain_mlp(m.critic_):
            return mlp_clipped_fake_sum(m.critic_, rows, t, loss=m.loss, clip_norm=clip)
        return clip_and_sum(vmap_fake_gradients(m.critic_, rows, t, loss=m.loss), clip)


def _weights(model: Any, size: int) -> Tensor:
    from fairsynth.nn.tempering import draw_mixing_weights

    return draw_mixing_weights(
        size, float(model.temperature_ratio), model._torch_generator, model.device_
    )


def _fake_term(loss: str, scores: Tensor) -> Tensor:
    return scores.mean() if loss == "wasserstein" else functional.softplus(scores).mean()
