"""Adversarial losses: the Wasserstein critic (default) and the non-saturating GAN loss.

Each loss turns critic scores into a critic loss and a generator loss, both minimised. Under the
non-saturating loss the scores are logits of a discriminator ``sigmoid(D(x))``; its generator loss
``-log sigmoid(D(G(z)))`` approximately minimises a divergence close to reverse KL (Shannon et al.
2020, arXiv 2010.08029), which is mode-seeking.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from torch import Tensor
from torch.nn import functional

from fairsynth.exceptions import ParameterError, format_choices

__all__ = ["LOSSES", "AdversarialLoss", "get_loss"]


class AdversarialLoss(Protocol):
    """Turns critic scores on real and generated rows into the two losses."""

    def critic(self, real: Tensor, fake: Tensor) -> Tensor: ...

    def generator(self, fake: Tensor) -> Tensor: ...


@dataclass(frozen=True)
class WassersteinLoss:
    """Critic maximises ``E D(real) - E D(fake)``; generator maximises ``E D(fake)``."""

    def critic(self, real: Tensor, fake: Tensor) -> Tensor:
        return fake.mean() - real.mean()

    def generator(self, fake: Tensor) -> Tensor:
        return -fake.mean()


@dataclass(frozen=True)
class NonSaturatingLoss:
    """Logistic discriminator; the generator maximises ``E log sigmoid(D(fake))``."""

    def critic(self, real: Tensor, fake: Tensor) -> Tensor:
        return functional.softplus(-real).mean() + functional.softplus(fake).mean()

    def generator(self, fake: Tensor) -> Tensor:
        return functional.softplus(-fake).mean()


LOSSES: dict[str, AdversarialLoss] = {
    "wasserstein": WassersteinLoss(),
    "non-saturating": NonSaturatingLoss(),
}


def get_loss(name: str) -> AdversarialLoss:
    """Return the loss called ``name``, or raise a ParameterError listing the choices."""
    try:
        return LOSSES[name]
    except KeyError:
        raise ParameterError(
            f"Unknown loss {name!r}. Valid choices: {format_choices(LOSSES)}"
        ) from None
