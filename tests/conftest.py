"""Shared fixtures: small real tables, so whole-behaviour tests stay fast."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch

from fairsynth.datasets import load_dataset
from fairsynth.models.base import BaseSynthesizer
from fairsynth.models.callbacks import Callback

# The test networks are tiny: one thread is faster than two, and far faster on a busy machine,
# where two threads per process oversubscribe the cores. Only the test process is changed.
torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _torch_rng_restored() -> Iterator[None]:
    """A test that seeds torch's global RNG (``torch.manual_seed``) leaves it as it found it."""
    with torch.random.fork_rng(devices=[]):
        yield


@pytest.fixture(scope="session")
def adult_small() -> pd.DataFrame:
    """600 real Adult training rows (all dtypes of the real table)."""
    return load_dataset("adult").train.sample(600, random_state=0).reset_index(drop=True)


# Networks of a single 16-unit layer, for tests that fit many models (epochs set by each test).
SMALL_NETS: dict[str, object] = {
    "batch_size": 100,
    "generator_dims": (16,),
    "critic_dims": (16,),
    "noise_dim": 8,
    "verbose": False,
    "random_state": 0,
}


@contextmanager
def global_rngs_untouched() -> Iterator[None]:
    """Assert that the block leaves numpy's and torch's global random states as it found them."""
    numpy_state = np.random.get_state()  # noqa: NPY002 (checking the global state)
    torch_state = torch.random.get_rng_state()
    yield
    assert torch.equal(torch.random.get_rng_state(), torch_state)
    after = np.random.get_state()  # noqa: NPY002
    assert all(np.array_equal(a, b) for a, b in zip(after, numpy_state, strict=True))


class StopAfter(Callback):
    """Stop training after ``epochs`` epochs (as an early-stopping callback would)."""

    def __init__(self, epochs: int) -> None:
        self.epochs = epochs

    def on_epoch_end(self, model: BaseSynthesizer, record: dict[str, Any]) -> bool:
        return len(model.history_) >= self.epochs


TINY_PARAMS: dict[str, object] = {
    "epochs": 2,
    "batch_size": 100,
    "generator_dims": (32, 32),
    "critic_dims": (32, 32),
    "noise_dim": 16,
    "verbose": False,
    "random_state": 0,
}


@pytest.fixture
def tiny_params() -> dict[str, object]:
    """Parameters for a fit of a few steps."""
    return dict(TINY_PARAMS)


@pytest.fixture(scope="session")
def fitted_small(adult_small: pd.DataFrame):  # type: ignore[no-untyped-def]
    """One PTGAN fitted for a few steps on ``adult_small``, shared by tests that only read it."""
    from fairsynth import PTGANSynthesizer

    return PTGANSynthesizer(**TINY_PARAMS).fit(adult_small)


# A model of one 8-unit layer fitted for one epoch on 100 rows: for tests of files and
# processes (outputs, signals) that only need some fitted model, fast.
TINY_MODEL: dict[str, object] = {
    "epochs": 1,
    "batch_size": 50,
    "generator_dims": (8,),
    "critic_dims": (8,),
    "noise_dim": 4,
    "verbose": False,
    "random_state": 0,
}


@pytest.fixture(scope="module")
def model_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A saved TINY_MODEL (x: numbers, c: two categories)."""
    from fairsynth import PTGANSynthesizer

    data = pd.DataFrame({"x": np.linspace(0, 1, 100), "c": ["a", "b"] * 50})
    model = PTGANSynthesizer(**TINY_MODEL).fit(data)  # type: ignore[arg-type]
    return model.save(tmp_path_factory.mktemp("m") / "m.fairsynth")
