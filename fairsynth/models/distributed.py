"""Data-parallel training across processes and machines with ``torch.distributed``.

A fit with the :class:`DataParallel` callback, in each process that ``torchrun`` started, is
the one-process fit of the same ``batch_size`` and seed split by rows. Every process reads the
whole table and fits the same transform (checked across processes); every process draws the
random numbers of the whole batch, as the one-process fit does, and then runs its own
contiguous share of the batch's rows (``batch_size / world_size``) through the networks.
Before each optimiser step the gradients are averaged over the processes (one all-reduce of
the flattened gradients), and the generator's batch normalisation takes its statistics over
the whole batch (an all-reduce of per-feature sums), so every process holds the same networks,
equal to the one-process fit's up to the order of floating-point sums
(``tests/test_distributed.py`` measures how close). Process 0 alone shows progress, runs the
end-of-fit check and, in the CLI, writes the model file.

Every decision to stop (Ctrl-C or SIGTERM in any process, ``time_budget``, a callback) is taken
by all processes together at the end of each step, so they always stop at the same step. A
process that dies makes the others' next collective fail, at once on one machine or after
``timeout`` seconds across machines: they raise :class:`~fairsynth.exceptions.DistributedError`
and their model is left unfitted, so nothing half-trained is saved.

Why explicit all-reduces rather than torch's ``DistributedDataParallel``: the critic is called
several times a step, its coherency penalty differentiates through its input gradients (a
double backward), and the generator's step back-propagates through the critic without
updating it; DDP would synchronise the critic's unused gradients in the generator step, rename
the networks' weights (``module.``), and its overlap of communication with the backward pass
buys little for networks of a few hundred thousand weights. One all-reduce per optimiser step
of the gradients that optimiser uses is the whole of what is needed.

Not supported (:class:`~fairsynth.exceptions.ParameterError`): ``privacy`` (the accountant
counts one process's sampling), checkpoints (resuming needs every process to restore the same
state; refit instead), and models other than PTGAN and fair PTGAN. With
``gradient_penalty_weight > 0`` the penalty's interpolation points of each process are drawn
from the shared generator for its share only, so the fit is a correct data-parallel fit but
not the one-process fit's rows.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import torch
import torch.distributed as dist
from torch import Tensor, nn

from fairsynth.exceptions import DataError, DistributedError, ParameterError
from fairsynth.models.callbacks import Callback
from fairsynth.models.threads import available_cores

if TYPE_CHECKING:
    from fairsynth.models.base import BaseSynthesizer

__all__ = ["DataParallel", "check_launcher", "threads_per_process"]

_LAUNCH = "torchrun --nproc-per-node N -m fairsynth fit DATA -o MODEL --distributed"
T = TypeVar("T")


def check_launcher() -> tuple[int, int]:
    """Return ``(rank, world_size)`` from the launcher's environment, or raise.

    Raises
    ------
    ParameterError
        When ``RANK`` or ``WORLD_SIZE`` is unset (the process was not started by torchrun,
        Slurm's srun with those variables, or another launcher), giving the torchrun command.
    """
    missing = [name for name in ("RANK", "WORLD_SIZE") if name not in os.environ]
    if missing:
        raise ParameterError(
            f"Distributed training needs a launcher ({' and '.join(missing)} not set): "
            f"start it with `{_LAUNCH}` (docs/scale.md)."
        )
    return int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])


def threads_per_process() -> int:
    """This machine's cores shared among the processes the launcher started on it."""
    local = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
    return max(1, available_cores() // max(1, local))


class DataParallel(Callback):
    """Train data-parallel across the processes a launcher (``torchrun``) started.

    Pass one in ``callbacks`` of a PTGAN or fair PTGAN fit run in every process, or use
    ``fairsynth fit --distributed``; see the module notes and docs/scale.md.

    Parameters
    ----------
    timeout : float, default=300
        Seconds a process waits for the others at a collective (the step's all-reduces, the
        start) before it stops with a :class:`~fairsynth.exceptions.DistributedError`.

    Attributes
    ----------
    rank, world_size : int
        This process's number and the number of processes (known once the fit starts).

    Examples
    --------
    In a script started by ``torchrun --nproc-per-node 2 script.py``:

    >>> from fairsynth import DataParallel, PTGANSynthesizer
    >>> model = PTGANSynthesizer(callbacks=[DataParallel()])  # doctest: +SKIP
    >>> model.fit(table)  # doctest: +SKIP
    >>> if model.callbacks[0].rank == 0:  # doctest: +SKIP
    ...     model.save("model.fairsynth")
    """

    one_per_fit = True

    def __init__(self, timeout: float = 300.0) -> None:
        self.timeout = timeout
        self.rank, self.world_size = 0, 1
        self._model: Any = None
        self._started_group = False
        self._hooks: list[Any] = []
        self._norms: list[tuple[nn.Module, str, nn.Module]] = []

    # ------------------------------------------------------------------ callback hooks
    def on_data(self, model: BaseSynthesizer, data: Any) -> int:
        """Check the fit can run split, join the process group, agree on table and seed."""
        from fairsynth.models._checks import draw_seed
        from fairsynth.models.checkpoint import fit_fingerprint

        if dist.is_initialized():  # the caller's own process group
            self.rank, self.world_size = dist.get_rank(), dist.get_world_size()
        else:
            self.rank, self.world_size = check_launcher()
        _check_supported(model, self.world_size)
        self._model = model
        if model.device_.type == "cuda" and model.device_.index is None:
            model.device_ = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        if model.device_.type == "cuda":
            torch.cuda.set_device(model.device_)
        if not dist.is_initialized():
            self._join(model.device_)
        digest = bytes.fromhex(fit_fingerprint(model, data))
        self._same_everywhere("table or parameters", digest, DataError)
        seed = self._on_device(torch.tensor([draw_seed(model.random_state)], dtype=torch.int64))
        self._collective(dist.broadcast, seed, 0)
        return int(seed.cpu().item())

    def leads(self) -> bool:
        """Whether this is process 0, the one that shows progress and saves."""
        if dist.is_initialized():
            return dist.get_rank() == 0
        return os.environ.get("RANK", "0") == "0"

    def on_fit_start(self, model: BaseSynthesizer, total_epochs: int | None) -> None:
        """Check the transform, start from process 0's weights, synchronise the steps."""
        self._same_everywhere("transform", _transform_digest(model), DataError)
        for network in model._networks().values():
            tensors = [*network.parameters(), *network.buffers()]
            flat = torch.cat([t.detach().reshape(-1).to(torch.float64) for t in tensors])
            self._collective(dist.broadcast, flat, 0)
            _unflatten(flat, tensors)
        for name in model._optimizer_names:
            optimizer = getattr(model, name)
            self._hooks.append(optimizer.register_step_pre_hook(self._average_gradients))
        generator = getattr(model, "generator_", None)
        if generator is not None:
            self._synchronise_norms(generator)

    def on_fit_end(self, model: BaseSynthesizer) -> None:
        """Undo the fit's hooks; leave the process group if this fit started it."""
        for hook in self._hooks:
            hook.remove()
        self._hooks = []
        for parent, name, norm in self._norms:
            setattr(parent, name, norm)
        self._norms = []
        self._model = None  # a clone of the model's parameters copies no fitted model
        if self._started_group and dist.is_initialized():
            dist.destroy_process_group()
            self._started_group = False

    # ------------------------------------------------------------- used by the training
    def rows(self, *tensors: Tensor | None) -> tuple[Any, ...]:
        """This process's contiguous share of each batch-sized tensor (None stays None)."""
        return tuple(None if t is None else t.chunk(self.world_size)[self.rank] for t in tensors)

    def mean(self, values: dict[str, Tensor]) -> dict[str, Tensor]:
        """Each value averaged over the processes (one all-reduce for all of them)."""
        if not values:
            return values
        stacked = torch.stack([v.detach().reshape(()).to(torch.float64) for v in values.values()])
        self._collective(dist.all_reduce, stacked)
        return dict(zip(values, stacked / self.world_size, strict=True))

    def agree(self, *flags: bool) -> tuple[bool, ...]:
        """Each flag, true when it is true in any process."""
        either = self._on_device(torch.tensor([int(f) for f in flags], dtype=torch.int64))
        self._collective(dist.all_reduce, either, dist.ReduceOp.MAX)
        return tuple(bool(v) for v in either.cpu().tolist())

    def all_reduce(self, tensor: Tensor) -> Tensor:
        """The sum of ``tensor`` over the processes, differentiable (backward: the same sum)."""
        return _AllReduceSum.apply(tensor, self)

    # ------------------------------------------------------------------------- helpers
    def _join(self, device: torch.device) -> None:
        """Join the launcher's process group: gloo on the CPU, nccl on CUDA."""
        # torch._dynamo, which the first optimiser imports, keeps references to a process group
        # that exists when it is imported (torch 2.13): the group would outlive
        # destroy_process_group and its threads abort the interpreter's exit. Import it first.
        import torch._dynamo  # noqa: F401

        backend = "nccl" if device.type == "cuda" else "gloo"
        timeout = datetime.timedelta(seconds=float(self.timeout))
        try:
            dist.init_process_group(backend=backend, timeout=timeout)
        except (RuntimeError, ValueError) as exc:
            raise DistributedError(
                f"Process {self.rank} of {self.world_size} could not join the distributed fit "
                f"(timeout {self.timeout:g} s): {_first_line(exc)}"
            ) from exc
        self._started_group = True

    def _average_gradients(self, optimizer: torch.optim.Optimizer, *_: Any) -> None:
        grads = [
            p.grad for group in optimizer.param_groups for p in group["params"]
            if p.grad is not None
        ]  # fmt: skip
        if not grads:
            return
        flat = torch.cat([g.reshape(-1) for g in grads])
        self._collective(dist.all_reduce, flat)
        _unflatten(flat / self.world_size, grads)

    def _synchronise_norms(self, network: nn.Module) -> None:
        for parent in list(network.modules()):
            for name, child in list(parent.named_children()):
                if isinstance(child, nn.BatchNorm1d):
                    self._norms.append((parent, name, child))
                    setattr(parent, name, _WholeBatchNorm(child, self))

    def _same_everywhere(self, what: str, digest: bytes, error: type[Exception]) -> None:
        mine = self._on_device(torch.tensor(list(digest[:8]), dtype=torch.int64))
        everyone = [torch.zeros_like(mine) for _ in range(self.world_size)]
        self._collective(dist.all_gather, everyone, mine)
        differ = [r for r, d in enumerate(everyone) if not torch.equal(d, everyone[0])]
        if differ:
            raise error(
                f"Process {differ[0]} of {self.world_size} has a different {what} from "
                f"process 0's; every process must read the same table with the same options."
            )

    def _on_device(self, tensor: Tensor) -> Tensor:
        model = self._model
        return tensor if model is None else tensor.to(model.device_)

    def _collective(self, operation: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a collective; a lost or late process becomes a DistributedError."""
        try:
            return operation(*args, **kwargs)
        except RuntimeError as exc:  # torch's DistBackendError and gloo's timeouts among them
            model = self._model
            if model is not None and hasattr(model, "transformer_"):
                del model.transformer_  # not fitted: its networks may be half-updated
            raise DistributedError(
                f"Process {self.rank} of {self.world_size} stopped: another process of the "
                f"distributed fit crashed, was killed or did not answer within "
                f"{self.timeout:g} s; this model is left unfitted, nothing was saved "
                f"({_first_line(exc)})"
            ) from exc


class _AllReduceSum(torch.autograd.Function):
    """The sum over the processes; its gradient is the sum of the processes' gradients."""

    @staticmethod
    def forward(ctx: Any, tensor: Tensor, parallel: DataParallel) -> Tensor:
        ctx.parallel = parallel
        total = tensor.clone()
        parallel._collective(dist.all_reduce, total)
        return total

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None]:
        total = grad.clone()
        ctx.parallel._collective(dist.all_reduce, total)
        return total, None


class _WholeBatchNorm(nn.Module):
    """A BatchNorm1d that, in training, normalises by the statistics of the whole batch.

    The processes' per-feature sums of ``x`` and ``x**2`` are all-reduced (in float64, so the
    one-pass variance loses nothing to cancellation); the running statistics are updated as
    BatchNorm1d updates them, so they too are the same in every process. Its parameters and
    buffers are the wrapped layer's, in the same order.
    """

    def __init__(self, norm: nn.BatchNorm1d, parallel: DataParallel) -> None:
        super().__init__()
        self.norm = norm
        self._parallel = parallel  # not a module: no state of its own

    def forward(self, x: Tensor) -> Tensor:
        norm = self.norm
        if not norm.training:
            return norm(x)
        n = x.shape[0] * self._parallel.world_size
        wide = x.to(torch.float64)
        sums = self._parallel.all_reduce(torch.cat([wide.sum(0), (wide * wide).sum(0)]))
        mean, square = sums.chunk(2)
        mean, var = mean / n, square / n - (mean / n) ** 2
        tracked = norm.num_batches_tracked
        if norm.running_mean is not None and norm.running_var is not None and tracked is not None:
            with torch.no_grad():
                tracked.add_(1)
                momentum = norm.momentum
                factor = 1.0 / float(tracked) if momentum is None else momentum
                norm.running_mean.lerp_(mean.to(x.dtype), factor)
                norm.running_var.lerp_((var * n / max(n - 1, 1)).to(x.dtype), factor)
        y = ((wide - mean) / torch.sqrt(var + norm.eps)).to(x.dtype)
        return y * norm.weight + norm.bias if norm.affine else y


def _check_supported(model: BaseSynthesizer, world_size: int) -> None:
    from fairsynth.models._tempered import TemperedSteps
    from fairsynth.models.checkpoint import Checkpoint

    if not isinstance(model, TemperedSteps):
        raise ParameterError(
            f"Distributed training supports PTGANSynthesizer and FairPTGANSynthesizer, not "
            f"{type(model).__name__}."
        )
    if getattr(model, "privacy", None) is not None:
        raise ParameterError(
            "privacy cannot be combined with distributed training (the accountant counts one "
            "process's sampling); fit a private model in one process."
        )
    if any(isinstance(cb, Checkpoint) for cb in model._active_callbacks):
        raise ParameterError(
            "checkpoint_dir (a Checkpoint) cannot be combined with distributed training: "
            "resuming needs every process to restore the same state; refit instead."
        )
    share = world_size * int(getattr(model, "pac", 1))
    if model.batch_size % share:
        raise ParameterError(
            f"batch_size ({model.batch_size}) must be a multiple of the number of processes "
            f"({world_size}) times pac, so that each process gets an equal share of rows."
        )


def _first_line(exc: BaseException, limit: int = 160) -> str:
    """The start of an error's message (gloo's run over several sentences)."""
    text = str(exc).strip()
    line = text.splitlines()[0] if text else type(exc).__name__
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _transform_digest(model: BaseSynthesizer) -> bytes:
    config, arrays = model.transformer_.get_state()
    digest = hashlib.sha256(json.dumps(config, sort_keys=True, default=repr).encode("utf-8"))
    for name in sorted(arrays):
        digest.update(name.encode("utf-8"))
        digest.update(arrays[name].tobytes())
    return digest.digest()


def _unflatten(flat: Tensor, tensors: Sequence[Tensor]) -> None:
    """Copy consecutive pieces of ``flat`` into ``tensors`` (in place, keeping their dtypes)."""
    offset = 0
    with torch.no_grad():
        for tensor in tensors:
            size = tensor.numel()
            tensor.copy_(flat[offset : offset + size].view_as(tensor))
            offset += size
