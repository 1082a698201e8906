"""The ring study's second part: tempering and the variance of gradient estimates.

Train with one configuration; at given steps freeze the weights and draw ``--batches``
minibatch gradients of the generator's and the critic's loss under each objective (tempered or
not), without updating anything. The scale-free measure is trace(Cov g) / ||mean g||² over the
minibatches: the noise of a gradient step relative to its signal. Run through
``python -m benchmarks.ring variance`` (benchmarks/ring.py).
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import Tensor

from benchmarks.registry import CONFIGS
from benchmarks.ring import ring_model, ring_table
from fairsynth.models.callbacks import Callback
from fairsynth.models.ptgan import PTGANSynthesizer

__all__ = ["ProbedPTGAN", "variance_study"]


class _GradientProbe:
    """Stands in for an optimiser: records the gradient at each ``step`` and changes nothing."""

    def __init__(self, parameters: Any) -> None:
        self.parameters = list(parameters)
        self.gradients: list[Any] = []

    def zero_grad(self, set_to_none: bool = True) -> None:
        for parameter in self.parameters:
            parameter.grad = None

    def step(self) -> None:
        flat = [
            (p.grad if p.grad is not None else torch.zeros_like(p)).reshape(-1)
            for p in self.parameters
        ]
        self.gradients.append(torch.cat(flat).detach().clone())


def _objective(name: str) -> dict[str, Any]:
    """All the parameters any objective sets, at PTGAN's defaults, then ``name``'s values."""
    defaults = PTGANSynthesizer().get_params()
    keys = {k for config in CONFIGS.values() for k in config} - {"norm", "critic_steps"}
    return {**{k: defaults[k] for k in keys}, **CONFIGS[name]}


def _ratio(gradients: list[Any]) -> tuple[float, float, float]:
    stacked = torch.stack(gradients).double()
    trace = float(stacked.var(dim=0, unbiased=True).sum())
    norm2 = float(stacked.mean(dim=0).pow(2).sum())
    return trace, norm2, trace / norm2 if norm2 > 0 else float("nan")


class _VarianceHook(Callback):
    """Callback: at the given generator steps, measure each objective's gradient variance."""

    def __init__(self, at: list[int], objectives: list[str], batches: int) -> None:
        self.at, self.objectives, self.batches = set(at), objectives, batches
        self.rows: list[dict[str, Any]] = []
        self.steps = 0

    def _measure(self, model: ProbedPTGAN) -> None:
        for objective in self.objectives:
            found = model.gradient_variance(model.training_matrix_, objective, self.batches)
            for network, (trace, norm2, ratio) in found.items():
                self.rows.append({"Step": self.steps, "Objective": objective,
                                  "Network": network, "Trace_Cov": trace,
                                  "Mean_Norm2": norm2, "Ratio": ratio})  # fmt: skip

    def on_fit_start(self, model: Any, total_epochs: int | None) -> None:
        if 0 in self.at:
            self._measure(model)

    def on_epoch_end(self, model: Any, record: dict[str, Any]) -> bool:
        self.steps += int(record["steps"])
        if self.steps in self.at:
            self._measure(model)
        return self.steps >= max(self.at)


def variance_study(
    config: str,
    seed: int,
    at: list[int],
    objectives: list[str],
    batches: int = 30,
    transform: str = "raw",
) -> list[dict[str, Any]]:
    """Gradient variance under each objective at the weights ``config`` reaches at ``at``."""
    hook = _VarianceHook(at, objectives, batches)
    ring_model(config, seed, max(at), [hook], transform, cls=ProbedPTGAN).fit(ring_table(seed))
    return [{"Trained_With": config, "Seed": seed, "Batches": batches, **r} for r in hook.rows]


class ProbedPTGAN(PTGANSynthesizer):
    """PTGANSynthesizer that keeps its transformed training matrix and probes its gradients.

    ``_build`` is the step a fit hands the transformed matrix to; this subclass keeps it
    (``training_matrix_``), the matrix ``_critic_step`` draws its minibatches from.
    """

    def _build(self, data: Tensor) -> None:
        self.training_matrix_ = data
        super()._build(data)

    def gradient_variance(
        self, data: Tensor, objective: str, batches: int = 30
    ) -> dict[str, tuple[float, float, float]]:
        """trace(Cov g) / ||mean g||² of the generator's and critic's minibatch gradients.

        The weights, the networks' buffers, the parameters and the model's random stream are
        restored afterwards, so training continues exactly as if nothing had been measured.
        Uses PTGANSynthesizer's own training steps with the optimisers swapped for probes, so
        the gradients are those the training loop would apply.
        """
        saved_params = {k: getattr(self, k) for k in _objective(objective)}
        saved_nets = {n: copy.deepcopy(net.state_dict()) for n, net in self._networks().items()}
        saved_rng = self._torch_generator.get_state()
        saved_optim = self._g_optimizer, self._d_optimizer
        probes = (
            _GradientProbe(self.generator_.parameters()),
            _GradientProbe(self.critic_.parameters()),
        )
        self.set_params(**_objective(objective))
        self._g_optimizer, self._d_optimizer = probes
        try:
            for _ in range(batches):
                self._critic_step(data)
                self._generator_step()
        finally:
            self._g_optimizer, self._d_optimizer = saved_optim
            self.set_params(**saved_params)
            for name, state in saved_nets.items():
                getattr(self, name).load_state_dict(state)
            self._torch_generator.set_state(saved_rng)
            for network in (self.generator_, self.critic_):
                network.zero_grad(set_to_none=True)
        out: dict[str, Any] = {}
        for network, probe in zip(("generator", "critic"), probes, strict=True):
            out[network] = _ratio(probe.gradients)
        return out
