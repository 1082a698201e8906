"""Model files of every synthesizer: save, load, and the fitted state they carry.

A mixin of :class:`~fairsynth.models.base.BaseSynthesizer`, apart from the training loop so
that each reads on its own. A file names its class;
:func:`~fairsynth.registry.synthesizer_class` imports the module of a class the registry
lists, so loading never imports a module the file chose.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from fairsynth.exceptions import FairsynthError, ModelFileError
from fairsynth.io.modelfile import (
    ModelContents,
    check_names,
    check_tensor_shapes,
    plain_params,
    read_model_file,
    write_model_file,
)
from fairsynth.models._checks import resolve_device
from fairsynth.registry import CLASS_MODULES, synthesizer_class
from fairsynth.transform import TableTransformer

__all__ = ["ModelFiles"]

_REGISTRY: dict[str, Any] = {}  # every class defined so far, by name
# The mixin uses the synthesizer's attributes and steps (BaseSynthesizer's); the type checker
# sees them through BaseSynthesizer, which checks their use.
_Mixin: Any = Any if TYPE_CHECKING else object


class ModelFiles(_Mixin):
    """Save and load for a synthesizer (its steps ``_networks``, ``_build``, ``_check_params``)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _REGISTRY[cls.__name__] = cls

    def _fitted_state(self) -> dict[str, Any]:
        return {
            "history_": self.history_,
            "fit_time_": self.fit_time_,
            "stopped_reason_": self.stopped_reason_,
            "fit_check_": getattr(self, "fit_check_", None),
            "convergence_": getattr(self, "convergence_", None),
            "n_features_in_": int(self.n_features_in_),
            "feature_names_in_": [str(c) for c in self.feature_names_in_],
        }

    def _set_fitted_state(self, fitted: dict[str, Any]) -> None:
        """Set the fitted attributes of a model file (the inverse of :meth:`_fitted_state`)."""
        for key, value in fitted.items():
            setattr(self, key, value)

    def save(self, path: str | Path) -> Path:
        """Write the fitted model to ``path`` (a zip of JSON and safetensors, no pickle)."""
        from fairsynth import __version__

        self._check_fitted()
        return write_model_file(path, self._model_contents(), __version__)

    def _model_contents(self) -> ModelContents:
        """The fitted model as plain data (parameters, fitted attributes, transform, weights)."""
        params = plain_params(
            {k: v for k, v in self.get_params(deep=False).items() if k != "callbacks"}
        )
        weights = {
            f"{name}.{key}": value
            for name, network in self._networks().items()
            for key, value in network.state_dict().items()
        }
        config, arrays = self.transformer_.get_state()
        return ModelContents(
            type(self).__name__, params, self._fitted_state(), config, arrays, weights
        )

    @classmethod
    def load(cls, path: str | Path, *, device: str = "auto", n_threads: int | str = "auto") -> Any:
        """Read a model written by :meth:`save`; no code in the file is ever run.

        Parameters
        ----------
        path : str or Path
            The model file.
        device : str, default='auto'
            Where to put the networks ('auto' uses CUDA when present).
        n_threads : int or 'auto', default='auto'
            CPU threads for sampling on this machine (the file's own setting is not kept:
            it was chosen for the machine that fitted it).
        """
        contents = read_model_file(path)
        if contents.class_name not in _REGISTRY and contents.class_name in CLASS_MODULES:
            synthesizer_class(contents.class_name)  # imports its module: a fresh process
        target = _REGISTRY.get(contents.class_name)
        if target is None or not issubclass(target, cls):
            raise ModelFileError(
                f"'{path}' holds a {contents.class_name}, which {cls.__name__}.load cannot read."
            )
        reserved = {"transformer_", "device_", *target._network_names, *dir(target)}
        check_names(path, contents, target._get_param_names(), reserved)
        transformer = TableTransformer.from_state(
            contents.transform_config, contents.transform_arrays
        )
        # a file written before a parameter existed was fitted as that parameter's "off" value
        params = {**target._params_of_older_files(transformer), **contents.params}
        params["device"], params["n_threads"] = device, n_threads
        model: Any = target(**params)
        model.device_ = resolve_device(device)
        model.transformer_ = transformer
        try:  # an edited file, or one whose class was changed: say so before building anything
            model._check_params()
        except FairsynthError as exc:
            raise ModelFileError(
                f"'{path}' holds a {contents.class_name} whose parameters are not valid for "
                f"one (an edited file?): {exc}"
            ) from None
        model._set_fitted_state(contents.fitted)
        try:
            model.feature_names_in_ = np.asarray(model.feature_names_in_, dtype=object)
            width = model.transformer_.output_dim_
            check_tensor_shapes(path, model, width, contents.weights)
            model._build(torch.zeros((2, width), device=model.device_))
            model._load_weights(contents.weights)
            for network in model._networks().values():
                network.to(model.device_)
        except (AttributeError, TypeError, ValueError, RuntimeError) as exc:
            message = " ".join(str(exc).split())[:300]
            raise ModelFileError(f"'{path}': the model cannot be rebuilt: {message}") from None
        return model
