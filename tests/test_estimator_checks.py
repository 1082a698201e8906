"""scikit-learn's estimator checks, and the determinism checks they cannot do for a sampler.

``parametrize_with_checks`` yields the checks that apply to an estimator from its tags: our
synthesizers are neither classifiers, regressors nor transformers, and accept missing values,
text and categories (``allow_nan``, ``categorical``, ``string`` tags), so the checks run are the
general ones: parameters and ``__init__`` (no attributes set, defaults, get/set_params, clone,
repr), ``fit`` (returns self, does not change parameters or ``__dict__`` of parameters, read-only
memmap and F-contiguous input, 1 feature, 1-D input refused, 1 sample refused, empty data
messages, complex and sparse input refused with clear messages, several dtypes), fitted
attributes (``n_features_in_``, ``check_is_fitted``) and pickling. Checks of ``predict``,
``transform``, ``score`` and sample weights do not apply (they pass vacuously or are not
yielded). The NaN/inf check is not yielded because NaN is data here (missing values), while
inf is refused (tests/test_bad_inputs.py). Array-API checks are skipped unless
SCIPY_ARRAY_API is set. ``check_fit_idempotent`` compares predictions, which a sampler has
not, so its equivalent for ``sample`` is written by hand below, with the RNG checks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.utils.estimator_checks import parametrize_with_checks

from fairsynth import PTGANSynthesizer
from fairsynth.models.base import BaseSynthesizer
from fairsynth.models.gantk import GANTKSynthesizer

TINY: dict[str, Any] = {"epochs": 1, "batch_size": 10, "verbose": False, "random_state": 0}
ESTIMATORS = [
    PTGANSynthesizer(generator_dims=(8,), critic_dims=(8,), noise_dim=4, **TINY),
    GANTKSynthesizer(generator_dims=(8,), noise_dim=4, **TINY),
]


@parametrize_with_checks(ESTIMATORS)
def test_scikit_learn_estimator_checks(
    estimator: BaseSynthesizer, check: Callable[[BaseSynthesizer], None]
) -> None:
    check(estimator)


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "x": rng.normal(size=120),
            "c": rng.choice(["a", "b", "c"], size=120),
            "k": rng.integers(0, 5, size=120),
        }
    )


def global_states() -> tuple[Any, torch.Tensor]:
    return np.random.get_state(), torch.random.get_rng_state()  # noqa: NPY002


def assert_unchanged(before: tuple[Any, torch.Tensor]) -> None:
    after = global_states()
    assert after[0][0] == before[0][0] and np.array_equal(after[0][1], before[0][1])
    assert after[0][2:] == before[0][2:]
    assert torch.equal(after[1], before[1])


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=lambda e: type(e).__name__)
def test_fit_is_idempotent_and_bit_identical_on_cpu(
    estimator: BaseSynthesizer, table: pd.DataFrame
) -> None:
    """Same seed, same data, same device: identical samples, also when fitting twice."""
    model = clone(estimator).set_params(epochs=2, batch_size=40)
    first = model.fit(table).sample(60, random_state=3)
    second = model.fit(table).sample(60, random_state=3)  # refit of the same object
    third = clone(model).fit(table).sample(60, random_state=3)  # a fresh object
    pd.testing.assert_frame_equal(first, second)
    pd.testing.assert_frame_equal(first, third)
    assert not first.equals(model.sample(60, random_state=4))


@pytest.mark.parametrize(
    "seed", [7, np.random.RandomState(7), np.random.default_rng(7)], ids=["int", "rs", "gen"]
)
def test_seeded_fit_and_sample_leave_the_global_rngs_alone(seed: Any, table: pd.DataFrame) -> None:
    before = global_states()
    model = clone(ESTIMATORS[0]).set_params(random_state=seed).fit(table)
    model.sample(30, random_state=seed)
    list(model.iter_samples(30, chunk_size=7, random_state=seed))
    assert_unchanged(before)


def test_a_seed_object_is_used_not_copied(table: pd.DataFrame) -> None:
    """As in scikit-learn: a RandomState is advanced by fit, so two fits with it differ."""
    state = np.random.RandomState(0)
    model = clone(ESTIMATORS[0]).set_params(random_state=state)
    first = model.fit(table).sample(20, random_state=0)
    second = model.fit(table).sample(20, random_state=0)
    assert not first.equals(second)
