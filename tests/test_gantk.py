"""Tests of GANTKSynthesizer: the estimator contract, the memory guard, and learning the ring."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import StopAfter, global_rngs_untouched
from sklearn.base import clone

from fairsynth.exceptions import NotFittedError, ParameterError
from fairsynth.models.base import BaseSynthesizer
from fairsynth.models.gantk import MODEL_NAME, GANTKSynthesizer
from fairsynth.toy import make_ring, ring_coverage


def _table(n: int = 240, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    group = rng.choice(["a", "b", "c"], size=n, p=[0.5, 0.3, 0.2])
    value = np.where(group == "a", 0.0, 3.0) + rng.normal(size=n)
    return pd.DataFrame({"value": value, "group": group, "count": rng.integers(0, 5, size=n)})


def _small(**params: object) -> GANTKSynthesizer:
    defaults: dict[str, object] = {"epochs": 2, "batch_size": 60, "verbose": False,
                                   "random_state": 0, "generator_dims": (32, 32)}  # fmt: skip
    defaults.update(params)
    return GANTKSynthesizer(**defaults)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def fitted() -> GANTKSynthesizer:
    return _small().fit(_table())


def test_fit_and_sample_any_number_of_rows(fitted: GANTKSynthesizer) -> None:
    table = _table()
    for n in (1, 7, 130):
        out = fitted.sample(n, random_state=1)
        assert len(out) == n
        assert list(out.columns) == list(table.columns)
        assert set(out["group"]) <= {"a", "b", "c"}
    assert fitted.n_features_in_ == 3
    assert len(fitted.history_) == 2
    record = fitted.history_[-1]
    assert record["steps"] == 240 // 60
    assert np.isfinite(record["generator_loss"])
    assert 0.0 < record["fake_real_prob"] < 1.0


def test_sampling_in_chunks_gives_the_same_rows(fitted: GANTKSynthesizer) -> None:
    whole = fitted.sample(50, random_state=3)
    chunks = pd.concat(list(fitted.iter_samples(50, chunk_size=50, random_state=3)))
    pd.testing.assert_frame_equal(whole, chunks.reset_index(drop=True))


def test_same_seed_same_model_and_global_rngs_untouched() -> None:
    with global_rngs_untouched():
        first = _small(random_state=5).fit(_table()).sample(20, random_state=0)
        second = _small(random_state=5).fit(_table()).sample(20, random_state=0)
    pd.testing.assert_frame_equal(first, second)
    other = _small(random_state=6).fit(_table()).sample(20, random_state=0)
    assert not first.equals(other)


def test_save_and_load_round_trip(fitted: GANTKSynthesizer, tmp_path: Path) -> None:
    path = fitted.save(tmp_path / "model.fairsynth")
    loaded = GANTKSynthesizer.load(path, device="cpu")
    assert isinstance(loaded, GANTKSynthesizer)
    assert loaded.get_params()["ntk_time"] == fitted.ntk_time
    pd.testing.assert_frame_equal(
        loaded.sample(40, random_state=2), fitted.sample(40, random_state=2)
    )
    assert isinstance(BaseSynthesizer.load(path, device="cpu"), GANTKSynthesizer)


def test_sklearn_contract() -> None:
    model = GANTKSynthesizer(ntk_depth=3, batch_size=100)
    copy = clone(model)
    assert copy.get_params() == model.get_params()
    assert copy.set_params(jitter=1e-4).jitter == 1e-4
    with pytest.raises(NotFittedError):
        model.sample(3)
    assert MODEL_NAME == "ga-ntk"


def test_oversized_batch_is_refused_before_allocating() -> None:
    model = _small(batch_size=100_000)  # a 200,000² kernel: ~9.6 TB
    with pytest.raises(ParameterError, match=r"batch_size=100000.*max_kernel_memory=2000000000"):
        model.fit(_table())
    with pytest.raises(ParameterError, match="batch_size=300") as info:
        _small(batch_size=300, max_kernel_memory=10_000_000).fit(_table())
    largest = int(str(info.value).split("batch_size ≤ ")[1].split(",")[0])
    assert 0 < largest < 300
    _small(batch_size=largest, max_kernel_memory=10_000_000, epochs=1).fit(_table())


@pytest.mark.parametrize(
    ("name", "value"),
    [("ntk_depth", 0), ("ntk_time", -1.0), ("ntk_learning_rate", 0.0), ("jitter", float("nan")),
     ("norm", "group"), ("max_grad_norm", 0), ("max_kernel_memory", -5), ("noise_dim", 2.5)],
)  # fmt: skip
def test_bad_parameters_name_the_value(name: str, value: object) -> None:
    with pytest.raises(ParameterError, match=name):
        _small(**{name: value}).fit(_table())


def test_tables_smaller_than_a_batch_use_every_row() -> None:
    model = _small(batch_size=64, epochs=3).fit(_table(n=20))
    assert len(model.sample(5, random_state=0)) == 5


def test_training_fools_the_discriminator_more() -> None:
    # Measured over seeds 0-3: the probability rises by 0.029-0.058 and the loss falls by
    # 0.018-0.041 in these 64 steps.
    ring = make_ring(512, random_state=0)
    model = _small(epochs=8, batch_size=64, generator_dims=(64, 64), learning_rate=2e-3)
    history = model.fit(ring).history_
    assert history[-1]["fake_real_prob"] > history[0]["fake_real_prob"] + 0.015
    assert history[-1]["generator_loss"] < history[0]["generator_loss"] - 0.01


@pytest.mark.slow
def test_covers_most_modes_of_the_ring() -> None:
    # 600 steps of 128 + 128 rows, ~30 s with one thread. Measured with seeds 0, 1, 2: 8 modes
    # each, 84-85% of samples within 3 sd of a mode.
    ring = make_ring(2000, random_state=0)
    model = GANTKSynthesizer(epochs=40, batch_size=128, verbose=False, random_state=0)
    samples = model.fit(ring).sample(4000, random_state=0)
    modes, good = ring_coverage(samples)
    assert modes >= 6
    assert good > 0.5


def test_checkpoint_resumes_to_the_same_model(tmp_path: Path) -> None:
    table = _table()
    whole = _small(epochs=3).fit(table)
    stopped = _small(epochs=3, checkpoint_dir=tmp_path, callbacks=[StopAfter(1)]).fit(table)
    assert stopped.stopped_reason_ == "callback" and len(stopped.history_) == 1
    resumed = _small(epochs=3, checkpoint_dir=tmp_path).fit(table)
    assert resumed.resumed_epochs_ == 1

    def losses(model: GANTKSynthesizer) -> list[tuple[float, float]]:
        return [(r["generator_loss"], r["fake_real_prob"]) for r in model.history_]

    assert losses(resumed) == losses(whole)
    pd.testing.assert_frame_equal(
        resumed.sample(30, random_state=4), whole.sample(30, random_state=4)
    )
