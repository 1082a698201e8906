"""What every fairsynth synthesizer shares: validation, the training loop, sampling, model files.

A synthesizer subclasses :class:`BaseSynthesizer` and supplies four small steps:
``_check_params``, ``_build`` (networks and optimisers for a transformed width),
``_train_step`` (one optimisation step, returning its losses) and ``_generate`` (transformed rows).
A conditional model also supplies ``_fit_conditions`` (learn its conditioning object from the
transformed matrix) and ``_plan_sample`` (the explicit plan a sample's chunks follow).
The fit loop, time budget, callbacks and seeding live here once; sampling in chunks in
:mod:`fairsynth.models._sampling`, save and load in :mod:`fairsynth.models._saving`.
"""

from __future__ import annotations

import threading
import time
import warnings
from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import torch
from sklearn.base import BaseEstimator
from torch import nn

from fairsynth.exceptions import (
    FitCheckWarning,
    NotFittedError,
    ParameterError,
    format_choices,
)
from fairsynth.models._checks import (
    check_n_samples,
    draw_seed,
    resolve_device,
    validate_table,
)
from fairsynth.models._constraints import Constraint, Interval, Options, check_params
from fairsynth.models._rows import PackedRows, Rows, pack_rows
from fairsynth.models._sampling import Sampling
from fairsynth.models._saving import ModelFiles
from fairsynth.models.callbacks import Callback, ProgressBar
from fairsynth.models.checkpoint import Checkpoint, InterruptFlag, defer_interrupts
from fairsynth.models.distributed import DataParallel
from fairsynth.models.threads import N_THREADS, resolve_threads, torch_threads
from fairsynth.transform import TableTransformer

__all__ = ["BaseSynthesizer", "check_n_samples", "draw_seed", "resolve_device"]

_GLOBAL_RNG = threading.RLock()  # held by a fit while it seeds and uses torch's global RNG
_CHECK_ROWS = 5000  # rows of each table the end-of-fit check compares
_CHECK_AFTER_SECONDS = 60.0  # under fit_check='auto', the shortest fit that is checked


class BaseSynthesizer(Sampling, ModelFiles, BaseEstimator):
    """Shared machinery of the synthesizers (not used directly)."""

    # Parameters every subclass has: discrete_columns, epochs, time_budget, batch_size,
    # device, n_threads, random_state, verbose, sample_batch_size, callbacks.
    _network_names: ClassVar[tuple[str, ...]] = ()
    _optimizer_names: ClassVar[tuple[str, ...]] = ()  # what a checkpoint keeps of training
    _min_rows: ClassVar[int] = 2
    # optimisation steps of a fit with epochs='auto' (at most, where the fit watches its
    # convergence: _watches_convergence)
    _auto_steps: ClassVar[int] = 6000
    _rows: PackedRows | None = None  # the training rows, while training
    _parallel: DataParallel | None = None  # a data-parallel fit's callback (distributed.py)
    #: the valid values of each parameter, checked by ``_check_params`` (a subclass adds its own)
    _parameter_constraints: ClassVar[dict[str, list[Constraint]]] = {
        "epochs": [Interval(Integral, 1, None), Options("auto"), None],
        "time_budget": [
            Interval(Real, 0, None, closed="neither", finite=False, description="positive seconds"),
            None,
        ],
        "batch_size": [Interval(Integral, 2, None)],
        "n_threads": N_THREADS,
        "fit_check": [Options(True, False, "auto")],
    }

    def __sklearn_tags__(self) -> Any:
        # Missing values, text and categories are data to imitate, not errors (scikit-learn ≥ 1.6).
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.categorical = True
        tags.input_tags.string = True
        return tags

    # ----------------------------------------------------------------- steps for subclasses
    def _check_params(self) -> None:
        """Raise ParameterError for any parameter out of range.

        Checks each parameter against ``_parameter_constraints`` (of the class and its
        parents); a subclass extends this with the rules that relate two parameters.
        """
        if self.epochs is None and self.time_budget is None:
            raise ParameterError("Give epochs, time_budget or both; both are None.")
        check_params(self)

    def _build(self, data: Rows) -> None:
        """Create networks and optimisers for transformed ``data`` (on ``self.device_``)."""
        raise NotImplementedError

    def _train_step(self, data: Rows) -> dict[str, torch.Tensor]:
        """One optimisation step on ``data``; return the (detached) losses to record.

        Losses stay tensors so that a GPU is not synchronised at every step; the loop turns
        their sums into numbers once an epoch.
        """
        raise NotImplementedError

    def _generate(self, n_rows: int, generator: torch.Generator, plan: Any) -> torch.Tensor:
        """Return ``n_rows`` transformed rows (eval mode, no grad is arranged by the caller).

        ``plan`` is what :meth:`_plan_sample` returned for this sample (None by default).
        """
        raise NotImplementedError

    def _fit_conditions(self, data: Rows) -> None:
        """Learn what conditioning needs from the transformed training ``data`` (a hook)."""

    def _end_training(self) -> None:
        """Let go of what only training needed: its rows, and (in subclasses) references to
        them."""
        self._rows = None

    def _n_rows(self) -> int:
        """The number of training rows (while training)."""
        assert self._rows is not None
        return len(self._rows)

    def _plan_sample(self, n_samples: int, random_state: Any, **options: Any) -> tuple[Any, Any]:
        """The plan of a sample of ``n_samples`` rows, and the random state of its networks.

        The plan travels explicitly to every :meth:`_generate` call of the sample; a model
        without conditions has none and takes no options.
        """
        if options:
            raise ParameterError(
                f"{type(self).__name__}.sample takes no {format_choices(sorted(options))}."
            )
        return None, random_state

    def _training_state(self) -> dict[str, Any]:
        """What a checkpoint keeps beyond the model file, live: the fit's seed, its random
        generator and the optimisers by name (models/checkpoint.py writes and restores them)."""
        return {
            "seed": int(self._fit_seed),
            "generator": self._torch_generator,
            "optimizers": {name: getattr(self, name) for name in self._optimizer_names},
        }

    def _networks(self) -> dict[str, nn.Module]:
        """The fitted networks by attribute name; one a configuration does not use is absent."""
        return {
            name: network
            for name in self._network_names
            if (network := getattr(self, name, None)) is not None
        }

    def _load_weights(self, weights: dict[str, torch.Tensor]) -> None:
        """Load each network's ``<name>.<key>`` entries of ``weights`` (a model file's)."""
        for name, network in self._networks().items():
            prefix = f"{name}."
            state = {k[len(prefix) :]: v for k, v in weights.items() if k.startswith(prefix)}
            network.load_state_dict(state)

    # ------------------------------------------------------------------------------- fit
    def fit(self, X: pd.DataFrame, y: None = None) -> BaseSynthesizer:
        """Learn the table ``X``.

        Parameters
        ----------
        X : pandas.DataFrame
            The table to imitate (a 2-D array is accepted, its columns named x0, x1, ...).
        y : None
            Ignored; present for scikit-learn compatibility.

        Returns
        -------
        self
        """
        self._check_params()
        data = self._validate_table(X)
        self.device_ = resolve_device(self.device)
        self._active_callbacks = callbacks = self._collect_callbacks()
        supplied = [s for cb in callbacks if (s := cb.on_data(self, data)) is not None]
        seed = supplied[0] if supplied else draw_seed(self.random_state)
        self._fit_seed = seed
        self.n_features_in_ = data.shape[1]
        self.feature_names_in_ = np.asarray(data.columns, dtype=object)
        devices = [self.device_] if self.device_.type == "cuda" else []
        started = time.perf_counter()
        # torch's global RNG (network initialisation) is seeded inside fork_rng: one fit at a
        # time per process holds it, so fits in threads give the rows they give one by one.
        with _GLOBAL_RNG, torch.random.fork_rng(devices=devices, device_type=self.device_.type):
            torch.manual_seed(seed)
            self._torch_generator = torch.Generator(device=self.device_).manual_seed(seed)
            self.transformer_ = self._make_transformer(seed).fit(data)
            # the only reference to the training rows (packed), dropped when training ends
            self._rows = pack_rows(self.transformer_, data, seed, self.device_)
            self._fit_conditions(self._rows)
            self._build(self._rows)
            work = self._work(self.batch_size)
            self.n_threads_ = resolve_threads(self.n_threads, work, idle_only=True)
            with torch_threads(self.n_threads_):
                self._run_epochs(started)
        self._check_fit(data, seed)
        return self

    def _check_fit(self, data: pd.DataFrame, seed: int) -> None:
        """Score a few thousand generated rows against the training rows (fitcheck.py).

        Under 'auto' only a fit of at least ``_CHECK_AFTER_SECONDS`` is checked, so the check
        costs a few percent of it; a fit stopped by Ctrl-C is not checked.
        """
        self.fit_check_: dict[str, Any] | None = None
        if self.fit_check is False or self.stopped_reason_ == "interrupted":
            return
        if self._parallel is not None and not self._parallel.leads():
            return  # process 0 checks the fit that every process holds
        if self.fit_check == "auto" and self.fit_time_ < _CHECK_AFTER_SECONDS:
            return
        from fairsynth.models.fitcheck import check_rows, fit_check_message

        rows = min(len(data), _CHECK_ROWS)
        synthetic = self.sample(rows, random_state=seed)
        real = data.sample(rows, random_state=seed) if rows < len(data) else data
        self.fit_check_ = check_rows(
            real, synthetic, self.transformer_.discrete_columns_, random_state=seed
        )
        message = fit_check_message(self.fit_check_)
        if message is not None:
            warnings.warn(message, FitCheckWarning, stacklevel=3)

    def _work(self, rows: int) -> float:
        """Multiply-adds of a forward pass of the trained networks on ``rows`` rows."""
        trained = sum(
            p.numel() for net in self._networks().values() for p in net.parameters()
            if p.requires_grad
        )  # fmt: skip
        return float(trained * rows)

    def _collect_callbacks(self) -> list[Callback]:
        """The user's callbacks, a progress bar if verbose, a Checkpoint if checkpoint_dir."""
        callbacks: list[Callback] = list(self.callbacks or [])
        self._parallel = next((cb for cb in callbacks if isinstance(cb, DataParallel)), None)
        if self.verbose and (self._parallel is None or self._parallel.leads()):
            callbacks.insert(0, ProgressBar(self.time_budget))  # one bar, process 0's
        # checkpoint_dir is a parameter of the synthesizers that offer it
        directory = getattr(self, "checkpoint_dir", None)
        if directory is not None:
            callbacks.append(Checkpoint(directory))
        if self._watches_convergence():
            from fairsynth.models.stopping import Convergence

            if not any(isinstance(cb, Convergence) for cb in callbacks):  # the user's own wins
                callbacks.append(Convergence())
        kinds = [type(cb) for cb in callbacks if cb.one_per_fit]
        if len(kinds) > len(set(kinds)):
            name = next(kind.__name__ for kind in kinds if kinds.count(kind) > 1)
            raise ParameterError(
                f"Give one {name.lower()} per fit (checkpoint_dir adds a Checkpoint), not several."
            )
        return callbacks

    def _watches_convergence(self) -> bool:
        """Whether ``epochs='auto'`` stops this fit by :class:`~fairsynth.models.stopping.
        Convergence` (PTGAN's family, on one process) instead of after ``_auto_steps``."""
        return False

    def _make_transformer(self, seed: int) -> TableTransformer:
        return TableTransformer(discrete_columns=self.discrete_columns, random_state=seed)

    @classmethod
    def _params_of_older_files(cls, transformer: TableTransformer) -> dict[str, Any]:
        """Parameters a model file may lack (added later), as the files without them were fit."""
        return {}

    def _validate_table(self, X: Any) -> pd.DataFrame:
        return validate_table(X, self._min_rows, type(self).__name__)

    def _run_epochs(self, started: float) -> None:
        """Train on ``self._rows`` (after a checkpoint's epochs) until epochs, time budget, a
        callback or Ctrl-C; then let go of the rows (:meth:`_end_training`) before the
        callbacks' ``on_fit_end``, so that what runs there (a refiner's fit) has their memory.

        Ctrl-C stops after the step in progress (see
        :func:`~fairsynth.models.checkpoint.defer_interrupts`), so the model kept is the one
        after the last completed step. A second Ctrl-C inside a step aborts: KeyboardInterrupt
        propagates and the half-updated model is left unfitted.
        """
        callbacks = self._active_callbacks
        self.history_: list[dict[str, float]] = []
        for callback in callbacks:
            history = callback.resume(self)
            if history is not None:
                self.history_, self.resumed_epochs_ = history, len(history)
        if self.history_:  # the time budget counts the time spent before the checkpoint
            started = time.perf_counter() - float(self.history_[-1]["time"])
        self.stopped_reason_ = "running"
        self.convergence_: dict[str, Any] | None = None  # set by a Convergence callback
        self.n_epochs_ = self._resolve_epochs(self._n_rows())
        for callback in callbacks:
            callback.on_fit_start(self, self.n_epochs_)
        self._in_step = False
        try:
            with defer_interrupts() as interrupt:
                self._loop(started, callbacks, interrupt)
        except KeyboardInterrupt:
            if self._in_step:
                self.stopped_reason_ = "aborted"
                del self.transformer_  # not fitted: the networks may be half-updated
                raise
            self.stopped_reason_ = "interrupted"
        finally:
            self._end_training()
            self.fit_time_ = time.perf_counter() - started
            for callback in callbacks:
                callback.on_fit_end(self)
            self._active_callbacks = []  # keep no progress bar
        if self.stopped_reason_ == "interrupted":
            warnings.warn(
                f"Training interrupted after {len(self.history_)} epoch(s); keeping the model "
                "of the last completed step.",
                stacklevel=3,
            )

    def _loop(self, started: float, callbacks: list[Callback], interrupt: InterruptFlag) -> None:
        data = self._rows
        assert data is not None  # fit sets it, _end_training drops it
        steps_per_epoch = max(1, len(data) // self.batch_size)
        epoch = len(self.history_)
        if epoch and self._out_of_time(started):  # resumed after the budget was spent
            self.stopped_reason_ = "time_budget"
            return
        while self.n_epochs_ is None or epoch < self.n_epochs_:
            sums: dict[str, torch.Tensor] = {}
            steps = 0
            for _ in range(steps_per_epoch):
                self._in_step = True
                for key, value in self._train_step(data).items():
                    sums[key] = sums[key] + value if key in sums else value
                self._in_step = False
                steps += 1
                if self._stop_reason(interrupt, started) is not None:
                    break
            if self._parallel is not None:  # the whole batch's losses, not this process's share
                sums = self._parallel.mean(sums)
            record = {"epoch": epoch, "steps": steps, "time": time.perf_counter() - started}
            record.update({k: float(v) / steps for k, v in sums.items()})
            self.history_.append(record)
            self.fit_time_ = record["time"]
            epoch += 1
            if interrupt.requested:  # before the callbacks, so a checkpoint records the stop
                self.stopped_reason_ = "interrupted"
            stop = any([cb.on_epoch_end(self, record) for cb in callbacks])
            # again: the signal may arrive while a callback runs
            reason = self._stop_reason(interrupt, started, stop)
            if reason is not None:
                self.stopped_reason_ = reason
                return
        self.stopped_reason_ = "epochs"

    def _stop_reason(
        self, interrupt: InterruptFlag, started: float, callback_stop: bool = False
    ) -> str | None:
        """Why training stops now ('interrupted', 'callback', 'time_budget'), or None.

        In a data-parallel fit every process decides together, so all stop at the same step.
        """
        flags: tuple[bool, ...] = (interrupt.requested, callback_stop, self._out_of_time(started))
        if self._parallel is not None:
            flags = self._parallel.agree(*flags)
        reasons = ("interrupted", "callback", "time_budget")
        return next((reason for reason, flag in zip(reasons, flags, strict=True) if flag), None)

    def _resolve_epochs(self, n_rows: int) -> int | None:
        """The number of epochs to train: ``epochs``, or under 'auto' enough for ``_auto_steps``
        (which a Convergence callback may cut short).

        'auto' counts optimisation steps rather than passes over the data, so a small table
        gets as much training as a large one (an epoch of a 700-row table is a single step at
        the default batch size).
        """
        if self.epochs != "auto":
            return None if self.epochs is None else int(self.epochs)
        steps_per_epoch = max(1, n_rows // self.batch_size)
        return -(-self._auto_steps // steps_per_epoch)

    def _out_of_time(self, started: float) -> bool:
        return self.time_budget is not None and time.perf_counter() - started >= self.time_budget

    # ---------------------------------------------------------------------------- sample
    def _check_fitted(self) -> None:
        if not hasattr(self, "transformer_"):
            raise NotFittedError(
                f"This {type(self).__name__} is not fitted yet; call fit(data) first."
            )
