"""What every fairsynth synthesizer shares: validation, the training loop, sampling, model files.

A synthesizer subclasses :class:`BaseSynthesizer` and supplies four small steps:
``_check_params``, ``_build`` (networks and optimisers for a transformed width),
``_train_step`` (one optimisation step, returning its losses) and ``_generate`` (transformed rows).
The fit loop, time budget, callbacks, seeding, sampling in chunks and save/load live here once.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import torch
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from torch import nn

from fairsynth.callbacks import Callback, ProgressBar
from fairsynth.exceptions import DataError, ModelFileError, NotFittedError, ParameterError
from fairsynth.modelfile import ModelContents, read_model_file, write_model_file
from fairsynth.transform import TableTransformer

__all__ = ["BaseSynthesizer", "resolve_device"]

_REGISTRY: dict[str, type[BaseSynthesizer]] = {}


def resolve_device(device: str | torch.device) -> torch.device:
    """Turn ``'auto'`` into CUDA when present, else CPU; check any other name."""
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError):
        raise ParameterError(
            f"Unknown device {device!r}. Valid: 'auto', 'cpu', 'cuda', 'cuda:N'."
        ) from None
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ParameterError(f"device={device!r} but no CUDA device is available; use 'auto'.")
    if resolved.type not in ("cpu", "cuda"):
        raise ParameterError(f"Unsupported device {device!r}. Valid: 'auto', 'cpu', 'cuda'.")
    return resolved


def check_n_samples(n_samples: object) -> int:
    """Return ``n_samples`` as an int ≥ 1, or raise a ParameterError saying what is valid."""
    if isinstance(n_samples, bool) or not isinstance(n_samples, (int, np.integer)):
        raise ParameterError(f"n_samples must be a positive integer, got {n_samples!r}.")
    if n_samples < 1:
        raise ParameterError(f"n_samples must be at least 1, got {n_samples}.")
    return int(n_samples)


class BaseSynthesizer(BaseEstimator):
    """Shared machinery of the synthesizers (not used directly)."""

    # Parameters every subclass has: discrete_columns, epochs, time_budget, batch_size,
    # device, random_state, verbose, sample_batch_size, callbacks.
    _network_names: ClassVar[tuple[str, ...]] = ()
    _min_rows: ClassVar[int] = 2

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _REGISTRY[cls.__name__] = cls

    # ----------------------------------------------------------------- steps for subclasses
    def _check_params(self) -> None:
        """Raise ParameterError for any parameter out of range."""

    def _build(self, data: torch.Tensor) -> None:
        """Create networks and optimisers for transformed ``data`` (on ``self.device_``)."""
        raise NotImplementedError

    def _train_step(self, data: torch.Tensor) -> dict[str, torch.Tensor]:
        """One optimisation step on ``data``; return the (detached) losses to record.

        Losses stay tensors so that a GPU is not synchronised at every step; the loop turns
        their sums into numbers once an epoch.
        """
        raise NotImplementedError

    def _generate(self, n_rows: int, generator: torch.Generator) -> torch.Tensor:
        """Return ``n_rows`` transformed rows (eval mode, no grad is arranged by the caller)."""
        raise NotImplementedError

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
        self._check_common_params()
        self._check_params()
        data = self._validate_table(X)
        rng = check_random_state(self.random_state)
        seed = int(rng.randint(np.iinfo(np.int32).max))
        self.device_ = resolve_device(self.device)
        devices = [self.device_] if self.device_.type == "cuda" else []
        started = time.perf_counter()
        with torch.random.fork_rng(devices=devices, device_type=self.device_.type):
            torch.manual_seed(seed)
            self._torch_generator = torch.Generator(device=self.device_).manual_seed(seed)
            self.transformer_ = self._make_transformer(seed).fit(data)
            matrix = self.transformer_.transform(data, random_state=seed)
            tensor = torch.as_tensor(matrix, dtype=torch.float32, device=self.device_)
            self._build(tensor)
            self._run_epochs(tensor, started)
        self.fit_time_ = time.perf_counter() - started
        self.n_features_in_ = data.shape[1]
        self.feature_names_in_ = np.asarray(data.columns, dtype=object)
        return self

    def _make_transformer(self, seed: int) -> TableTransformer:
        return TableTransformer(discrete_columns=self.discrete_columns, random_state=seed)

    def _check_common_params(self) -> None:
        epochs, budget = self.epochs, self.time_budget
        if epochs is None and budget is None:
            raise ParameterError("Give epochs, time_budget or both; both are None.")
        if epochs is not None and (not isinstance(epochs, (int, np.integer)) or epochs < 1):
            raise ParameterError(f"epochs must be a positive integer or None, got {epochs!r}.")
        if budget is not None and not (isinstance(budget, (int, float)) and budget > 0):
            raise ParameterError(f"time_budget must be positive seconds or None, got {budget!r}.")
        if not isinstance(self.batch_size, (int, np.integer)) or self.batch_size < 2:
            raise ParameterError(f"batch_size must be an integer ≥ 2, got {self.batch_size!r}.")

    def _validate_table(self, X: Any) -> pd.DataFrame:
        if isinstance(X, np.ndarray):
            if X.ndim != 2:
                raise DataError(f"Expected a 2-D table, got an array of shape {X.shape}.")
            X = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])
        if not isinstance(X, pd.DataFrame):
            raise DataError(f"Expected a pandas DataFrame, got {type(X).__name__}.")
        if X.shape[1] == 0:
            raise DataError("The table has no columns.")
        if len(X) < self._min_rows:
            raise DataError(
                f"The table has {len(X)} row(s); {type(self).__name__} needs at least "
                f"{self._min_rows} to learn from."
            )
        return X

    def _run_epochs(self, data: torch.Tensor, started: float) -> None:
        callbacks: list[Callback] = list(self.callbacks or [])
        if self.verbose:
            callbacks.insert(0, ProgressBar(self.time_budget))
        steps_per_epoch = max(1, len(data) // self.batch_size)
        self.history_: list[dict[str, float]] = []
        self.stopped_reason_ = "epochs"
        for callback in callbacks:
            callback.on_fit_start(self, self.epochs)
        try:
            epoch = 0
            while self.epochs is None or epoch < self.epochs:
                sums: dict[str, torch.Tensor] = {}
                steps = 0
                for _ in range(steps_per_epoch):
                    for key, value in self._train_step(data).items():
                        sums[key] = sums[key] + value if key in sums else value
                    steps += 1
                    if self._out_of_time(started):
                        break
                record = {"epoch": epoch, "steps": steps, "time": time.perf_counter() - started}
                record.update({k: float(v) / steps for k, v in sums.items()})
                self.history_.append(record)
                epoch += 1
                if any([cb.on_epoch_end(self, record) for cb in callbacks]):
                    self.stopped_reason_ = "callback"
                    break
                if self._out_of_time(started):
                    self.stopped_reason_ = "time_budget"
                    break
        except KeyboardInterrupt:
            self.stopped_reason_ = "interrupted"
            warnings.warn("Training interrupted; keeping the model as it is.", stacklevel=3)
        finally:
            for callback in callbacks:
                callback.on_fit_end(self)

    def _out_of_time(self, started: float) -> bool:
        return self.time_budget is not None and time.perf_counter() - started >= self.time_budget

    # ---------------------------------------------------------------------------- sample
    def _check_fitted(self) -> None:
        if not hasattr(self, "transformer_"):
            raise NotFittedError(
                f"This {type(self).__name__} is not fitted yet; call fit(data) first."
            )

    def iter_samples(
        self, n_samples: int, *, chunk_size: int | None = None, random_state: Any = None
    ) -> Iterator[pd.DataFrame]:
        """Yield ``n_samples`` synthetic rows in chunks of at most ``chunk_size`` rows.

        Memory stays bounded by the chunk size, so any number of rows can be streamed to disk.
        """
        self._check_fitted()
        total = check_n_samples(n_samples)
        chunk = check_n_samples(chunk_size or self.sample_batch_size)
        seed = int(check_random_state(random_state).randint(np.iinfo(np.int32).max))
        generator = torch.Generator(device=self.device_).manual_seed(seed)
        networks = [getattr(self, name) for name in self._network_names]
        modes = [net.training for net in networks]
        for net in networks:
            net.eval()
        try:
            done = 0
            while done < total:
                size = min(chunk, total - done)
                with torch.no_grad():
                    rows = self._generate(size, generator).cpu().numpy()
                yield self.transformer_.inverse_transform(rows)
                done += size
        finally:
            for net, mode in zip(networks, modes, strict=True):
                net.train(mode)

    def sample(self, n_samples: int, *, random_state: Any = None) -> pd.DataFrame:
        """Draw synthetic rows.

        Parameters
        ----------
        n_samples : int
            Number of rows, at least 1.
        random_state : int, numpy Generator/RandomState or None
            Seed for the draw; the same seed gives the same rows.

        Returns
        -------
        pandas.DataFrame
            The same columns, in the same order and with the same dtypes as the training table.
        """
        chunks = list(self.iter_samples(n_samples, random_state=random_state))
        return pd.concat(chunks, ignore_index=True) if len(chunks) > 1 else chunks[0]

    # ------------------------------------------------------------------------ model files
    def _fitted_state(self) -> dict[str, Any]:
        return {
            "history_": self.history_,
            "fit_time_": self.fit_time_,
            "stopped_reason_": self.stopped_reason_,
            "n_features_in_": int(self.n_features_in_),
            "feature_names_in_": [str(c) for c in self.feature_names_in_],
        }

    def save(self, path: str | Path) -> Path:
        """Write the fitted model to ``path`` (a zip of JSON and safetensors, no pickle)."""
        from fairsynth import __version__

        self._check_fitted()
        params = {k: v for k, v in self.get_params(deep=False).items() if k != "callbacks"}
        params = {k: list(v) if isinstance(v, tuple) else v for k, v in params.items()}
        weights = {
            f"{name}.{key}": value
            for name in self._network_names
            for key, value in getattr(self, name).state_dict().items()
        }
        config, arrays = self.transformer_.get_state()
        contents = ModelContents(type(self).__name__, params, self._fitted_state(), config, arrays,
                                 weights)  # fmt: skip
        return write_model_file(path, contents, __version__)

    @classmethod
    def load(cls, path: str | Path, *, device: str = "auto") -> BaseSynthesizer:
        """Read a model written by :meth:`save`; no code in the file is ever run.

        Parameters
        ----------
        path : str or Path
            The model file.
        device : str, default='auto'
            Where to put the networks ('auto' uses CUDA when present).
        """
        contents = read_model_file(path)
        target = _REGISTRY.get(contents.class_name)
        if target is None or not issubclass(target, cls):
            raise ModelFileError(
                f"'{path}' holds a {contents.class_name}, which {cls.__name__}.load cannot read."
            )
        params = dict(contents.params)
        params["device"] = device
        model = target(**params)
        model.device_ = resolve_device(device)
        model.transformer_ = TableTransformer.from_state(
            contents.transform_config, contents.transform_arrays
        )
        for key, value in contents.fitted.items():
            setattr(model, key, value)
        model.feature_names_in_ = np.asarray(model.feature_names_in_, dtype=object)
        width = model.transformer_.output_dim_
        model._build(torch.zeros((2, width), device=model.device_))
        for name in model._network_names:
            prefix = f"{name}."
            state = {
                k[len(prefix) :]: v for k, v in contents.weights.items() if k.startswith(prefix)
            }
            network: nn.Module = getattr(model, name)
            try:
                network.load_state_dict(state)
            except RuntimeError as exc:
                raise ModelFileError(f"'{path}': weights of {name} do not fit: {exc}") from None
            network.to(model.device_)
        return model
