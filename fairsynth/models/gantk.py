"""GANTKSynthesizer: GA-NTK, a generator trained against a closed-form NTK discriminator."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from numbers import Integral, Real
from typing import Any, ClassVar, Literal

import torch
from torch import Tensor

from fairsynth.exceptions import ParameterError
from fairsynth.models._constraints import Constraint, Interval, Options
from fairsynth.models._rows import Rows
from fairsynth.models.base import BaseSynthesizer
from fairsynth.models.callbacks import Callback
from fairsynth.nn.nets import Generator
from fairsynth.nn.ntk import gradient_flow_prediction, kernel_memory_bytes, relu_ntk

__all__ = ["MODEL_NAME", "GANTKSynthesizer"]

#: Name of this model for ``fairsynth fit --model``.
MODEL_NAME = "ga-ntk"

# The kernel and its eigendecomposition run in float64: the kernel of a few hundred rows is
# badly conditioned, and this part costs little next to the generator (see
# benchmarks/gantk_step_time.py).
_KERNEL_DTYPE = torch.float64
_POSITIVE_INTEGER: list[Constraint] = [Interval(Integral, 1, None)]
_POSITIVE: list[Constraint] = [Interval(Real, 0, None, closed="neither")]


class GANTKSynthesizer(BaseSynthesizer):
    """Synthetic tables from GA-NTK (Zhang et al., arXiv 2204.04090), generator form (GA-NTKg).

    There is no discriminator network to train. At each step the real rows of a batch and as
    many generated rows are labelled +1 and −1, and the discriminator is the infinitely wide
    ReLU network trained on them by gradient flow for a fixed time: its outputs on those rows
    are known in closed form, ``f = (I − exp(−τ K)) y`` with ``K`` the neural tangent kernel
    (:mod:`fairsynth.nn.ntk`). The generator minimises the cross-entropy that makes every row look
    real, ``mean softplus(−f)``, differentiating through ``K``. The objective is single-level:
    no alternating min-max. Rows are mapped to vectors by the same reversible transform as
    :class:`~fairsynth.PTGANSynthesizer`.

    A step costs O(m²) memory and O(m³) time in the ``m = 2 · batch_size`` rows of the
    kernel, so batches stay at a few hundred rows; GA-NTK suits small tables.

    Parameters
    ----------
    discrete_columns : list of str, optional
        Columns to model as categories; inferred from dtypes when None.
    epochs : int or None, default=300
        Passes over the data (an epoch is ``n_rows // batch_size`` steps).
    time_budget : float or None, default=None
        Stop after this many seconds of training even if epochs remain.
    batch_size : int, default=256
        Real rows per step (fewer if the table is smaller); the generator makes as many rows.
    noise_dim : int, default=64
        Size of the generator's noise.
    generator_dims : tuple of int, default=(256, 256)
        Widths of the generator's residual blocks.
    ntk_depth : int, default=2
        Hidden ReLU layers of the infinitely wide discriminator (2, as the reference's
        fully connected model).
    weight_var, bias_var : float, default=1.4615, 0.1
        Weight and bias variances of the discriminator (NTK parameterisation).
    ntk_learning_rate : float, default=0.01
        Learning rate η of the discriminator's gradient flow.
    ntk_time : float, default=131072.0
        Training time t of the discriminator (65,536 × 2, as in the reference code). As in the
        reference (through ``neural_tangents``), time is counted for the squared error averaged
        over the two one-hot label columns of the ``m`` rows, so ``τ = η t / (2 m)``.
    jitter : float, default=1e-5
        Added to the kernel's diagonal, relative to its mean diagonal, before the
        eigendecomposition.
    learning_rate : float, default=1e-3
        Adam step size of the generator. (The reference GA-NTKg uses 2e-4 for images; on the
        eight-Gaussian ring, 900 steps of 256 + 256 rows covered 4 modes at 2e-4 and all 8, with
        93% of samples within 3 sd of a mode, at 1e-3.)
    betas : tuple of float, default=(0.5, 0.999)
        Adam moment coefficients.
    max_grad_norm : float or None, default=5.0
        Clip the generator's gradient to this global norm (None: no clipping).
    norm : {'batch', 'layer', 'none'}, default='batch'
        Normalisation in the generator's blocks.
    categorical_head : {'softmax', 'gumbel'}, default='softmax'
        Output activation of one-hot blocks.
    max_kernel_memory : int, default=2_000_000_000
        Bytes a step's kernel may use (estimated before anything is allocated); a larger
        ``batch_size`` is refused with the largest one that fits.
    device : str, default='auto'
        'auto' (CUDA when present, else CPU), 'cpu', 'cuda' or 'cuda:N'.
    n_threads, fit_check : int or 'auto', bool or 'auto', default='auto', 'auto'
        As in :class:`~fairsynth.models.ptgan.PTGANSynthesizer`: CPU threads inside ``fit`` and
        ``sample``, and the end-of-fit check of the model's rows.
    random_state : int, RandomState or None
        Seed; with the same seed, data, device and threads the result is identical.
    verbose : bool, default=True
        Show a progress bar.
    sample_batch_size : int, default=50_000
        Rows generated per chunk by ``sample``, bounding its memory.
    callbacks : list of Callback, optional
        Extra hooks into the training loop.
    checkpoint_dir : str or Path, optional
        Folder for checkpoints of the fit (written at most once a minute and when training
        stops); a fit with the same table and parameters resumes from its checkpoint there.
        See :class:`~fairsynth.models.checkpoint.Checkpoint`.

    Attributes
    ----------
    transformer_ : TableTransformer
        The fitted reversible transform.
    generator_ : torch.nn.Module
        The trained generator.
    history_ : list of dict
        Per epoch: mean generator loss, mean probability the discriminator gives generated rows
        of being real (0.5 = it cannot tell), elapsed seconds.
    fit_time_ : float
        Seconds spent in ``fit``.
    n_features_in_ : int
        Number of columns seen in ``fit``.
    feature_names_in_ : ndarray of str
        Their names.
    stopped_reason_ : str
        Why training stopped: 'epochs', 'time_budget', 'callback' or 'interrupted'.

    Examples
    --------
    >>> import pandas as pd
    >>> from fairsynth.models.gantk import GANTKSynthesizer
    >>> data = pd.DataFrame({"x": [0.1, 0.5, 0.9, 1.3] * 25, "c": ["a", "b"] * 50})
    >>> model = GANTKSynthesizer(epochs=2, batch_size=50, verbose=False, random_state=0)
    >>> model.fit(data).sample(3, random_state=0).columns.tolist()
    ['x', 'c']
    """

    _network_names = ("generator_",)
    _optimizer_names = ("_optimizer",)
    _parameter_constraints: ClassVar[dict[str, list[Constraint]]] = {
        "norm": [Options("batch", "layer", "none")],
        "categorical_head": [Options("softmax", "gumbel")],
        "noise_dim": _POSITIVE_INTEGER,
        "ntk_depth": _POSITIVE_INTEGER,
        "weight_var": _POSITIVE,
        "ntk_learning_rate": _POSITIVE,
        "ntk_time": _POSITIVE,
        "learning_rate": _POSITIVE,
        "bias_var": [Interval(Real, 0, None)],
        "jitter": [Interval(Real, 0, None)],
        "max_grad_norm": [None, *_POSITIVE],
        "max_kernel_memory": [
            Interval(
                Real, 0, None, closed="neither", finite=False, description="a positive byte count"
            )
        ],
    }

    def __init__(
        self,
        *,
        discrete_columns: Sequence[str] | None = None,
        epochs: int | None = 300,
        time_budget: float | None = None,
        batch_size: int = 256,
        noise_dim: int = 64,
        generator_dims: tuple[int, ...] = (256, 256),
        ntk_depth: int = 2,
        weight_var: float = 1.4615,
        bias_var: float = 0.1,
        ntk_learning_rate: float = 0.01,
        ntk_time: float = 131072.0,
        jitter: float = 1e-5,
        learning_rate: float = 1e-3,
        betas: tuple[float, float] = (0.5, 0.999),
        max_grad_norm: float | None = 5.0,
        norm: Literal["batch", "layer", "none"] = "batch",
        categorical_head: Literal["softmax", "gumbel"] = "softmax",
        max_kernel_memory: int = 2_000_000_000,
        device: str = "auto",
        n_threads: int | Literal["auto"] = "auto",
        fit_check: bool | Literal["auto"] = "auto",
        random_state: Any = None,
        verbose: bool = True,
        sample_batch_size: int = 50_000,
        callbacks: Sequence[Callback] | None = None,
        checkpoint_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        self.discrete_columns = discrete_columns
        self.epochs = epochs
        self.time_budget = time_budget
        self.batch_size = batch_size
        self.noise_dim = noise_dim
        self.generator_dims = generator_dims
        self.ntk_depth = ntk_depth
        self.weight_var = weight_var
        self.bias_var = bias_var
        self.ntk_learning_rate = ntk_learning_rate
        self.ntk_time = ntk_time
        self.jitter = jitter
        self.learning_rate = learning_rate
        self.betas = betas
        self.max_grad_norm = max_grad_norm
        self.norm = norm
        self.categorical_head = categorical_head
        self.max_kernel_memory = max_kernel_memory
        self.device = device
        self.n_threads = n_threads
        self.fit_check = fit_check
        self.random_state = random_state
        self.verbose = verbose
        self.sample_batch_size = sample_batch_size
        self.callbacks = callbacks
        self.checkpoint_dir = checkpoint_dir

    # ------------------------------------------------------------------------- checks
    def _check_params(self) -> None:
        super()._check_params()
        self._check_kernel_memory()

    def _check_kernel_memory(self) -> None:
        limit = self.max_kernel_memory
        depth = int(self.ntk_depth)
        needed = kernel_memory_bytes(2 * int(self.batch_size), depth, _KERNEL_DTYPE)
        if needed > limit:
            per_pair = kernel_memory_bytes(2, depth, _KERNEL_DTYPE) / 4  # bytes per row² ...
            largest = math.isqrt(int(limit / per_pair)) // 2  # ... for 2·batch_size rows
            raise ParameterError(
                f"batch_size={self.batch_size} needs about {needed / 1e9:.2f} GB for its "
                f"{2 * self.batch_size}×{2 * self.batch_size} kernel (real + generated rows, "
                f"depth {depth}), over max_kernel_memory={limit} bytes ({limit / 1e9:.2f} GB). "
                f"Use batch_size ≤ {largest}, or raise max_kernel_memory."
            )

    # ---------------------------------------------------------------------- networks
    def _build(self, data: Rows) -> None:
        self.generator_ = Generator(
            int(self.noise_dim), self.generator_dims, self.transformer_.spans_, norm=self.norm,
            categorical=self.categorical_head,
        ).to(self.device_)  # fmt: skip
        betas = (float(self.betas[0]), float(self.betas[1]))
        self._optimizer = torch.optim.Adam(
            self.generator_.parameters(), lr=self.learning_rate, betas=betas
        )

    def _fake(self, n_rows: int, generator: torch.Generator) -> Tensor:
        """Generator output at temperature 0 (the Generator is shared with PTGAN)."""
        noise = torch.randn((n_rows, int(self.noise_dim)), generator=generator, device=self.device_)
        return self.generator_(noise, torch.zeros((n_rows, 1), device=self.device_))

    # ------------------------------------------------------------------ training step
    def _discriminator_scores(self, real: Tensor, fake: Tensor) -> Tensor:
        """The trained NTK discriminator's outputs on the rows ``[real; fake]`` (logits of real).

        Differentiable in ``fake``; computed in float64.
        """
        points = torch.cat([real, fake]).to(_KERNEL_DTYPE)
        kernel = relu_ntk(
            points, depth=int(self.ntk_depth), weight_var=float(self.weight_var),
            bias_var=float(self.bias_var),
        )  # fmt: skip
        labels = torch.cat([real.new_ones(len(real)), -real.new_ones(len(fake))])
        # f_real_column − f_fake_column of the reference's two one-hot outputs obeys the same
        # flow, with time counted over 2 m label entries.
        time = float(self.ntk_learning_rate) * float(self.ntk_time) / (2 * len(points))
        return gradient_flow_prediction(
            kernel, labels.to(_KERNEL_DTYPE), time, jitter=float(self.jitter)
        )

    def _train_step(self, data: Rows) -> dict[str, Tensor]:
        g = self._torch_generator
        n_real = min(int(self.batch_size), len(data))
        real = data[torch.randperm(len(data), generator=g, device=self.device_)[:n_real]]
        fake = self._fake(int(self.batch_size), g)
        scores = self._discriminator_scores(real, fake)
        # Cross-entropy with every row (real and generated) labelled real, as in GA-NTK.
        loss = torch.nn.functional.softplus(-scores).mean()
        self._optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.max_grad_norm is not None:
            torch.nn.utils.clip_grad_norm_(self.generator_.parameters(), float(self.max_grad_norm))
        self._optimizer.step()
        fake_real_prob = torch.sigmoid(scores[n_real:].detach()).mean()
        return {"generator_loss": loss.detach(), "fake_real_prob": fake_real_prob}

    def _generate(self, n_rows: int, generator: torch.Generator, plan: Any) -> Tensor:
        return self._fake(n_rows, generator)
