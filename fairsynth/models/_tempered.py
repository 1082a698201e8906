"""PTGAN's training step: the tempered objective applied to a batch (critic, then generator).

A mixin of :class:`~fairsynth.models.ptgan.PTGANSynthesizer`, apart from its parameters and
networks so that each reads on its own: pairs of real rows mixed at two weights
(``_tempered_real``), generator output at the same temperatures (``_tempered_fake``), the
critic's loss with the coherency penalty and the generator's loss, and a private fit's
DP-SGD critic (:mod:`fairsynth.models.privacy`). The pure tensor functions are in
:mod:`fairsynth.nn.tempering`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor

from fairsynth.models._rows import Rows
from fairsynth.models.privacy import (
    PrivateCritic,
    epsilon_spent,
    plan_privacy,
    resolve_privacy,
)
from fairsynth.models.private_fit import sgd_settings, total_spent, warn_uncovered
from fairsynth.nn.tempering import (
    coherency_penalty,
    draw_mixing_weights,
    draw_pairs,
    gradient_penalty,
    interpolate,
    temperature,
)

__all__ = ["TemperedSteps"]

# The mixin uses PTGANSynthesizer's parameters, networks and BaseSynthesizer's loop; the type
# checker sees them through the synthesizer classes, as for ModelFiles (_saving.py).
_Mixin: Any = Any if TYPE_CHECKING else object


class TemperedSteps(_Mixin):
    """The training step of PTGAN (``_train_step``) and the private fit around the loop."""

    def _tempered_fake(self, weight: Tensor, condition: Tensor | None = None) -> Tensor:
        """Generator output at the temperatures of ``weight``, noise mixed like the rows.

        A conditional model generates for ``condition`` (the conditions of the tempered real
        rows the batch is judged against), or in the generator step (None) for conditions of
        real pairs drawn and mixed by its conditioner; the conditioned blocks are pasted in.
        In a data-parallel fit the draws are the whole batch's, the rows made this process's.
        """
        g = self._torch_generator
        shape = (len(weight), self.noise_dim)
        noise = torch.randn(shape, generator=g, device=self.device_)
        if self.interpolate_noise:
            other = torch.randn(shape, generator=g, device=self.device_)
            noise = interpolate(noise, other, weight)
        conditioner = self.conditioner_
        if conditioner is not None and condition is None:
            condition = conditioner.mixed_conditions(weight, g)
        noise, weight, condition = self._own_rows(noise, weight, condition)
        t = temperature(weight).unsqueeze(1)
        if conditioner is None:
            return self.generator_(noise, t)
        return conditioner.paste(self.generator_(torch.cat([noise, condition], 1), t), condition)

    def _tempered_real(self, data: Rows) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor | None]:
        """Pairs of real rows mixed at two weights, and their condition: ``(q1, q2, a1, a2, c)``.

        ``c`` is None for a model without conditions.
        """
        g, size = self._torch_generator, self.batch_size
        conditioner = self.conditioner_
        if conditioner is None:
            first, second = draw_pairs(len(data), size, g, self.device_)
        else:
            first, second, key = conditioner.draw_pairs(size, g)
        x1, x2 = data[first], data[second]
        a1 = draw_mixing_weights(size, float(self.temperature_ratio), g, self.device_)
        a2 = torch.rand(size, generator=g, device=self.device_)
        q1 = interpolate(x1, x2, a1)
        condition = None if conditioner is None else conditioner.condition_of(q1, key)
        return q1, interpolate(x1, x2, a2), a1, a2, condition

    def _own_rows(self, *tensors: Tensor | None) -> tuple[Any, ...]:
        """This process's share of a batch's rows: all of them unless the fit is data-parallel
        (:mod:`fairsynth.models.distributed`)."""
        return tensors if self._parallel is None else self._parallel.rows(*tensors)

    # ------------------------------------------------------------------ training step
    def _critic_step(self, data: Rows) -> dict[str, Tensor]:
        if (private := getattr(self, "_private", None)) is not None:
            return private.step(data)
        q1, q2, a1, a2, condition = self._tempered_real(data)
        with torch.no_grad():
            fake = self._tempered_fake(a1, condition)
        v = None  # where the coherency slope is taken, drawn for the whole batch like the rest
        if self.coherency_weight > 0:
            v = torch.rand(len(a1), generator=self._torch_generator, device=self.device_)
        q1, q2, a1, a2, v = self._own_rows(q1, q2, a1, a2, v)
        t1 = temperature(a1).unsqueeze(1)
        adversarial = self._loss.critic(self.critic_(q1, t1), self.critic_(fake, t1))
        loss = adversarial
        record = {"critic_loss": adversarial.detach()}
        if v is not None:
            penalty = coherency_penalty(
                self.critic_, q1, q2, a1, a2, v,
                through_temperature=self.penalty_through_temperature,
            )  # fmt: skip
            loss = loss + self.coherency_weight * penalty
            record["coherency_penalty"] = penalty.detach()
        if self.gradient_penalty_weight > 0:
            gp = gradient_penalty(self.critic_, q1, fake, t1, self._torch_generator)
            loss = loss + self.gradient_penalty_weight * gp
            record["gradient_penalty"] = gp.detach()
        self._d_optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self._d_optimizer.step()
        return record

    def _generator_step(self) -> dict[str, Tensor]:
        weight = draw_mixing_weights(
            self.batch_size, float(self.temperature_ratio), self._torch_generator, self.device_
        )
        fake = self._tempered_fake(weight)
        (weight,) = self._own_rows(weight)
        # the critic's own weight gradients are of no use here: not computing them saves two
        # of the backward's matrix products (the generator's gradients are the same)
        self.critic_.requires_grad_(False)
        try:
            loss = self._loss.generator(self.critic_(fake, temperature(weight).unsqueeze(1)))
            self._g_optimizer.zero_grad(set_to_none=True)
            loss.backward()
        finally:
            self.critic_.requires_grad_(True)
        self._g_optimizer.step()
        if self.generator_ema_ is not None:
            self.generator_ema_.update(self.generator_)
        return {"generator_loss": loss.detach()}

    def _train_step(self, data: Rows) -> dict[str, Tensor]:
        for _ in range(self.critic_steps):
            record = self._critic_step(data)
        record.update(self._generator_step())
        return record

    def _run_epochs(self, started: float) -> None:
        """Train; a private fit plans its noise first and records the ε it spent after."""
        self._private: PrivateCritic | None = None
        settings = resolve_privacy(self.privacy)
        if settings is None:
            return super()._run_epochs(started)
        n_rows = self._n_rows()
        epochs = int(self._resolve_epochs(n_rows) or 0)
        steps = epochs * max(1, n_rows // self.batch_size) * self.critic_steps
        # untempered and unpenalised, a row needs no partner: rows alone, sensitivity C
        paired = self.temperature_ratio < 1 or self.coherency_weight > 0
        # the transform's private releases spent their share; DP-SGD spends the rest
        sgd = sgd_settings(settings, n_rows, self.transformer_.private_spent_)
        plan = plan_privacy(sgd, n_rows, self.batch_size, steps, paired)
        warn_uncovered(self.transformer_.sources_)
        self._private = PrivateCritic(self, plan)
        try:
            super()._run_epochs(started)
        finally:
            record = epsilon_spent(plan, self._private.steps)
            self.privacy_ = total_spent(record, settings, n_rows, self.transformer_)
            self._private = None
