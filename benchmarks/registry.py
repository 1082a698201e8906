"""The synthesizers the benchmarks know: an explicit dict from name to factory.

Every factory takes the data set, the seed and optional parameter overrides, and returns an
object with ``fit(frame)`` and ``sample(n) -> DataFrame``. Third-party packages and the
fairsynth models still being written are imported inside their factory, so this module imports
with nothing but the standard library, and a missing package fails with a message that says
what to install.

Ablations are parameter sets of the same estimator (``CONFIGS``): one training loop, no copies.

>>> sorted(CONFIGS)[:3]
['gan-ns-gp', 'ptgan', 'ptgan-cp10']
>>> SYNTHESIZERS["ctgan"].kind
'baseline'
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from fairsynth.datasets import Dataset

__all__ = [
    "CONFIGS",
    "DEFAULT_GRID",
    "SYNTHESIZERS",
    "MissingPackageError",
    "Spec",
    "build",
    "missing_packages",
]

INSTALL_HINT = (
    "install the bench extra with the CPU torch pin: "
    "pip install -c constraints.txt -e '.[bench]' (see benchmarks/README.md)"
)
ARGN_HINT = (
    "pip install -c constraints.txt mostlyai-engine, then pip uninstall -y torchvision "
    "torchaudio (the CUDA torchvision it pulls in fails to import; see benchmarks/README.md)"
)

# PTGAN's ablations: parameter sets of PTGANSynthesizer on the same networks.
CONFIGS: dict[str, dict[str, Any]] = {
    "ptgan": {},
    "wgan-gp": {"temperature_ratio": 1.0, "coherency_weight": 0.0, "gradient_penalty_weight": 10.0},
    "wgan-gp-5": {
        "temperature_ratio": 1.0,
        "coherency_weight": 0.0,
        "gradient_penalty_weight": 10.0,
        "critic_steps": 5,
    },
    "ptgan-r0.5": {"temperature_ratio": 0.5},
    "ptgan-cp10": {"coherency_weight": 10.0},
    "ptgan-gp": {"coherency_weight": 0.0, "gradient_penalty_weight": 10.0},
    "ptgan-no-noise-mix": {"interpolate_noise": False},
    "ptgan-layernorm": {"norm": "layer"},
    "ptgan-point-masses": {"point_mass_share": 0.05},
    # The non-saturating loss (Shannon et al. 2020): with tempering, and without it.
    "ptgan-ns": {"loss": "non-saturating"},
    "gan-ns-gp": {
        "loss": "non-saturating",
        "temperature_ratio": 1.0,
        "coherency_weight": 0.0,
        "gradient_penalty_weight": 10.0,
    },
}


class MissingPackageError(ImportError):
    """A synthesizer's package (or fairsynth module) is not installed here."""


class Adapter:
    """Uniform ``fit``/``sample`` over one synthesizer object, with optional run details."""

    def __init__(
        self,
        model: Any,
        fit: Callable[[Any, pd.DataFrame], Any],
        sample: Callable[[Any, int], pd.DataFrame],
    ) -> None:
        self.model = model
        self._fit, self._sample = fit, sample

    def fit(self, frame: pd.DataFrame) -> Adapter:
        self._fit(self.model, frame)
        return self

    def sample(self, n_rows: int) -> pd.DataFrame:
        return self._sample(self.model, n_rows)

    def details(self) -> dict[str, Any]:
        """Steps, stop reason and device of fairsynth models (empty for the others)."""
        history = getattr(self.model, "history_", None)
        if history is None:
            return {}
        return {
            "epochs": len(history),
            "steps": int(sum(record["steps"] for record in history)),
            "stopped_reason": getattr(self.model, "stopped_reason_", None),
            "device": str(getattr(self.model, "device_", "")),
        }


Factory = Callable[["Dataset", int, dict[str, Any]], Adapter]


@dataclass(frozen=True)
class Spec:
    """One registered synthesizer: how to build it, and what it is."""

    factory: Factory
    kind: str  # 'fairsynth', 'ablation', 'baseline' or 'peer' (skipped when not installed)
    description: str
    package: str = "fairsynth"
    defaults: dict[str, Any] = field(default_factory=dict)
    module: str = "fairsynth"  # what a 'peer' imports: the grid checks it before running


def _import(module: str, package: str, hint: str = INSTALL_HINT) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingPackageError(
            f"{module} is not importable ({exc}); it comes from '{package}': {hint}."
        ) from exc


# ---------------------------------------------------------------------------- fairsynth
def _fairsynth(name: str, config: dict[str, Any], **sample_kwargs: Any) -> Factory:
    """A fairsynth estimator by its model name (fairsynth.registry), imported when built."""

    def factory(dataset: Dataset, seed: int, overrides: dict[str, Any]) -> Adapter:
        from fairsynth.registry import synthesizer_class

        cls = synthesizer_class(name)
        params = {"discrete_columns": dataset.discrete_columns, "verbose": False}
        params.update(config)
        params.update(overrides)
        model = cls(random_state=seed, **params)
        return Adapter(
            model,
            lambda m, frame: m.fit(frame),
            lambda m, n: m.sample(n, random_state=seed, **sample_kwargs),
        )

    return factory


def _fair_ptgan(dataset: Dataset, seed: int, overrides: dict[str, Any]) -> Adapter:
    fairness = overrides.pop("fairness", 1.0)
    config = {
        "sensitive": list(dataset.sensitive),
        "target": dataset.target,
        "positive_label": dataset.positive_label,
    }
    factory = _fairsynth("fair-ptgan", config, fairness=fairness)
    return factory(dataset, seed, overrides)


# ----------------------------------------------------------------------------- baselines
def _ctgan(class_name: str) -> Factory:
    def factory(dataset: Dataset, seed: int, overrides: dict[str, Any]) -> Adapter:
        cls = getattr(_import("ctgan", "ctgan"), class_name)
        model = cls(**overrides)
        model.set_random_state(seed)
        columns = list(dataset.discrete_columns)
        return Adapter(model, lambda m, frame: m.fit(frame, columns), lambda m, n: m.sample(n))

    return factory


def _gaussian_copula(dataset: Dataset, seed: int, overrides: dict[str, Any]) -> Adapter:
    metadata_module = _import("sdv.metadata", "sdv")
    single_table = _import("sdv.single_table", "sdv")
    discrete = set(dataset.discrete_columns)
    # SDV 2 takes and returns {table name: frame}; SDV 1 plain frames.
    as_tables = int(importlib.metadata.version("sdv").split(".")[0]) >= 2

    def fit(holder: dict[str, Any], frame: pd.DataFrame) -> None:
        metadata = metadata_module.Metadata()
        metadata.add_table("data")
        for column in frame.columns:
            sdtype = "categorical" if column in discrete else "numerical"
            metadata.add_column(column, sdtype=sdtype, table_name="data")
        model = single_table.GaussianCopulaSynthesizer(metadata, **overrides)
        model.fit({"data": frame} if as_tables else frame)
        holder["model"] = model

    def sample(holder: dict[str, Any], n_rows: int) -> pd.DataFrame:
        # SDV seeds its sampler itself; the runner also seeds the global RNGs of its process.
        rows = holder["model"].sample(num_rows=n_rows)
        return rows["data"] if isinstance(rows, dict) else rows

    return Adapter({}, fit, sample)


def _tabular_argn(dataset: Dataset, seed: int, overrides: dict[str, Any]) -> Adapter:
    engine = _import("mostlyai.engine", "mostlyai-engine", ARGN_HINT)
    workspace = tempfile.mkdtemp(prefix="argn-")
    params = {"random_state": seed, "verbose": 0, "workspace_dir": workspace}
    model = engine.TabularARGN(**{**params, **overrides})
    return Adapter(model, lambda m, frame: m.fit(frame), lambda m, n: m.sample(n_samples=n))


def _tabfairgan(dataset: Dataset, seed: int, overrides: dict[str, Any]) -> Adapter:
    module = _import("tabfairgan", "tabfairgan")
    params = {"epochs": 60, "batch_size": 256, **overrides}
    holder: dict[str, Any] = {}

    def fit(holder: dict[str, Any], frame: pd.DataFrame) -> None:
        # TFG takes its table in the constructor and trains without a fairness phase by default.
        holder["model"] = module.TFG(frame, device="cpu", **params)
        holder["model"].train()

    return Adapter(holder, fit, lambda h, n: h["model"].generate_fake_df(n))


def _tabfairgdt(fairness: float) -> Factory:
    """TabFairGDT (benchmarks/peers/tabfairgdt.py) at λ = ``fairness``, protecting the first
    sensitive column (Adult, German: sex; COMPAS: race)."""

    def factory(dataset: Dataset, seed: int, overrides: dict[str, Any]) -> Adapter:
        from benchmarks.peers.tabfairgdt import TabFairGDTPeer

        params = {"fairness": fairness, "protected": dataset.sensitive[0], **overrides}
        model = TabFairGDTPeer(
            target=dataset.target,
            discrete_columns=dataset.discrete_columns,
            random_state=seed,
            **params,
        )
        return Adapter(model, lambda m, frame: m.fit(frame), lambda m, n: m.sample(n))

    return factory


def missing_packages(names: list[str]) -> dict[str, str]:
    """Of the peers among ``names`` (kind 'peer'), those whose package is not installed."""
    found: dict[str, str] = {}
    for name in names:
        spec = SYNTHESIZERS.get(name)
        if (
            spec is not None
            and spec.kind == "peer"
            and importlib.util.find_spec(spec.module) is None
        ):
            found[name] = spec.package
    return found


def build(name: str, dataset: Dataset, seed: int, overrides: dict[str, Any] | None = None) -> Any:
    """The registered synthesizer ``name`` for ``dataset`` and ``seed``, ready to fit."""
    if name not in SYNTHESIZERS:
        known = ", ".join(sorted(SYNTHESIZERS))
        raise KeyError(f"Unknown synthesizer {name!r}. Registered: {known}.")
    spec = SYNTHESIZERS[name]
    return spec.factory(dataset, seed, {**spec.defaults, **(overrides or {})})


_PTGAN = "ptgan"
_ABLATIONS = {
    "wgan-gp": "WGAN-GP on PTGAN's networks (no tempering, ordinary gradient penalty)",
    "wgan-gp-5": "the same with 5 critic steps per generator step",
    "ptgan-r0.5": "PTGAN with temperature ratio 0.5 (half the rows tempered)",
    "ptgan-cp10": "PTGAN with coherency weight 10 instead of 100",
    "ptgan-gp": "PTGAN with the ordinary gradient penalty instead of the coherency penalty",
    "ptgan-no-noise-mix": "PTGAN without noise interpolation",
    "ptgan-layernorm": "PTGAN with layer norm in the generator",
    "ptgan-point-masses": "PTGAN whose numeric values held by ≥ 5% of rows are point modes",
    "ptgan-ns": "PTGAN with the non-saturating loss (logistic discriminator)",
    "gan-ns-gp": "non-saturating GAN on PTGAN's networks with the gradient penalty, no tempering",
}

SYNTHESIZERS: dict[str, Spec] = {
    "ptgan": Spec(_fairsynth(_PTGAN, CONFIGS["ptgan"]), "fairsynth", "PTGAN, defaults"),
    **{
        name: Spec(_fairsynth(_PTGAN, CONFIGS[name]), "ablation", text)
        for name, text in _ABLATIONS.items()
    },
    "fair-ptgan": Spec(
        _fair_ptgan, "fairsynth", "FairPTGAN on all sensitive columns, sampled at fairness 1"
    ),
    "gantk": Spec(_fairsynth("ga-ntk", {}), "fairsynth", "GA-NTK, defaults"),
    "ctgan": Spec(_ctgan("CTGAN"), "baseline", "CTGAN (ctgan), defaults: 300 epochs", "ctgan"),
    "tvae": Spec(_ctgan("TVAE"), "baseline", "TVAE (ctgan), defaults: 300 epochs", "ctgan"),
    "gaussian-copula": Spec(
        _gaussian_copula, "baseline", "GaussianCopulaSynthesizer (sdv), defaults", "sdv"
    ),
    "tabular-argn": Spec(
        _tabular_argn,
        "baseline",
        "MOSTLY AI TabularARGN (mostlyai-engine), defaults, early-stopped",
        "mostlyai-engine",
    ),
    "tabfairgan": Spec(
        _tabfairgan,
        "baseline",
        "TabFairGAN (tabfairgan), 60 epochs, batch 256, no fairness phase",
        "tabfairgan",
    ),
    **{
        name: Spec(
            _tabfairgdt(fairness),
            "peer",
            f"TabFairGDT (tabfairgdt), defaults, λ = {fairness:g} on the first sensitive column",
            "tabfairgdt",
            module="tabfairgdt",
        )
        for name, fairness in (("tabfairgdt", 0.0), ("tabfairgdt-0.5", 0.5), ("tabfairgdt-1", 1.0))
    },
}

# What `python -m benchmarks.run` runs when no synthesizers are named.
DEFAULT_GRID = [
    "ptgan",
    "wgan-gp",
    "ptgan-gp",
    "ptgan-no-noise-mix",
    "ptgan-r0.5",
    "fair-ptgan",
    "gantk",
    "ctgan",
    "tvae",
    "gaussian-copula",
    "tabular-argn",
    "tabfairgan",
    "tabfairgdt",
    "tabfairgdt-0.5",
    "tabfairgdt-1",
]
