"""Differential privacy: the accountant, per-pair clipping, ε in the model file, bad input."""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import torch
from conftest import SMALL_NETS
from typer.testing import CliRunner

from fairsynth import PTGANSynthesizer, load_dataset
from fairsynth.cli import app
from fairsynth.exceptions import FairsynthError, ParameterError
from fairsynth.models.fair import FairPTGANSynthesizer
from fairsynth.models.privacy import (
    PrivacyPlan,
    PrivacySettings,
    PrivateCritic,
    epsilon_spent,
    plan_privacy,
)
from fairsynth.nn._pair_grads import (
    clip_and_sum,
    mlp_clipped_fake_sum,
    mlp_clipped_sum,
    vmap_fake_gradients,
    vmap_gradients,
)
from fairsynth.nn.nets import Critic
from fairsynth.nn.tempering import coherency_penalty, temperature
from fairsynth.transform import draft_metadata

pytest.importorskip("opacus")
runner = CliRunner()
PRIVATE = {**SMALL_NETS, "epochs": 2, "batch_size": 50}


def _pairs(n: int = 40, d: int = 7, seed: int = 0) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(seed)
    q1, q2 = torch.randn(n, d, generator=g), torch.randn(n, d, generator=g)
    a1 = torch.where(torch.rand(n, generator=g) < 0.5, 1.0, torch.rand(n, generator=g))
    return q1, q2, a1, torch.rand(n, generator=g), torch.rand(n, generator=g)


@functools.cache
def adult_metadata() -> dict[str, Any]:
    """Every column of Adult described (categories, bounds) from the whole training split."""
    return draft_metadata(load_dataset("adult").train)


def _fit(data: pd.DataFrame, **params: Any) -> PTGANSynthesizer:
    """A private fit whose transform is described by metadata (no column read from the data)."""
    epsilon, delta = params.pop("privacy")
    privacy = {"epsilon": epsilon, "delta": delta, "metadata": adult_metadata()}
    return PTGANSynthesizer(**{**PRIVATE, **params}, privacy=privacy).fit(data)


@pytest.mark.parametrize("accountant", ["rdp", "prv"])
@pytest.mark.parametrize("epsilon", [1.0, 8.0])
def test_noise_multiplier_spends_the_target_epsilon(epsilon: float, accountant: str) -> None:
    settings = PrivacySettings(epsilon, 1e-6, accountant=accountant, max_noise_multiplier=100)
    plan = plan_privacy(settings, n_rows=10_000, batch_size=100, steps=2000)
    spent = epsilon_spent(plan, 2000)["epsilon"]
    assert epsilon * 0.97 <= spent <= epsilon * 1.01
    assert epsilon_spent(plan, 500)["epsilon"] < 0.8 * epsilon  # fewer steps spend less
    assert plan.sample_rate == pytest.approx(0.02)


@pytest.mark.parametrize("loss", ["wasserstein", "non-saturating"])
@pytest.mark.parametrize("through", [False, True])
def test_closed_form_matches_torch_func_and_autograd(loss: str, through: bool) -> None:
    torch.manual_seed(0)
    critic, pairs = Critic(7, (12, 9)), _pairs()
    options = {"loss": loss, "weight": 5.0, "through": through}
    for clip in (1e9, 0.05):
        reference = clip_and_sum(vmap_gradients(critic, pairs, **options), clip)  # type: ignore[arg-type]
        fast = mlp_clipped_sum(critic, pairs, clip_norm=clip, **options)  # type: ignore[arg-type]
        for name in reference:
            torch.testing.assert_close(fast[name], reference[name], rtol=1e-4, atol=1e-6)
    if loss == "wasserstein":  # unclipped, the sum is the gradient of the batch's loss
        fast = mlp_clipped_sum(critic, pairs, clip_norm=1e9, **options)  # type: ignore[arg-type]
        q1, q2, a1, a2, v = pairs
        real = critic(q1, temperature(a1).unsqueeze(1))
        penalty = coherency_penalty(critic, q1, q2, a1, a2, v, through_temperature=through)
        ((-real.mean() + 5.0 * penalty) * len(q1)).backward()
        for name, p in critic.named_parameters():
            torch.testing.assert_close(fast[name], p.grad, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("loss", ["wasserstein", "non-saturating"])
def test_generated_rows_are_clipped_in_closed_form(loss: str) -> None:
    torch.manual_seed(0)
    critic, (rows, _, a, _, _) = Critic(7, (12, 9)), _pairs()
    t = temperature(a)
    for clip in (1e9, 0.05):
        reference = clip_and_sum(vmap_fake_gradients(critic, rows, t, loss=loss), clip)
        fast = mlp_clipped_fake_sum(critic, rows, t, loss=loss, clip_norm=clip)
        for name in reference:
            torch.testing.assert_close(fast[name], reference[name], rtol=1e-4, atol=1e-6)
    fast = mlp_clipped_fake_sum(critic, rows, t, loss=loss, clip_norm=1e9)
    scores = critic(rows, t.unsqueeze(1))  # unclipped: the gradient of the summed fake term
    (scores if loss == "wasserstein" else torch.nn.functional.softplus(scores)).sum().backward()
    for name, p in critic.named_parameters():
        torch.testing.assert_close(fast[name], p.grad, rtol=1e-4, atol=1e-5)


def test_clipping_bounds_each_pairs_gradient() -> None:
    torch.manual_seed(0)
    critic = Critic(7, (12,))
    options = {"loss": "wasserstein", "weight": 5.0, "through": False}
    for index in range(5):
        one = tuple(t[index : index + 1] * 30 for t in _pairs())  # large rows: large gradients
        raw = mlp_clipped_sum(critic, one, clip_norm=1e9, **options)  # type: ignore[arg-type]
        clipped = mlp_clipped_sum(critic, one, clip_norm=0.5, **options)  # type: ignore[arg-type]
        norm = torch.stack([g.norm() for g in raw.values()]).norm()
        assert norm > 0.5  # without clipping this pair's gradient is larger than C
        assert torch.stack([g.norm() for g in clipped.values()]).norm() == pytest.approx(0.5)


def test_private_fit_stores_epsilon_and_the_file_keeps_it(
    adult_small: pd.DataFrame, tmp_path: Path
) -> None:
    model = _fit(adult_small, privacy=(3.0, 1e-6))
    spent = model.privacy_
    assert 0 < spent["epsilon"] <= 3.0 + 1e-6
    assert spent["steps_run"] == spent["steps"] == 2 * (600 // 50)
    assert spent["noise_multiplier"] > 0 and model.fit_check_ is None
    assert "critic_loss" not in model.history_[0]  # a loss on real rows is not released
    path = model.save(tmp_path / "private.fairsynth")
    loaded = PTGANSynthesizer.load(path)
    assert loaded.privacy_ == spent and loaded.privacy["epsilon"] == 3.0
    assert spent["columns_from_metadata"] == list(adult_small.columns)
    assert spent["transform_epsilon"] == 0 and spent["dp_sgd_epsilon"] == spent["epsilon"]
    assert len(loaded.sample(20, random_state=0)) == 20
    result = runner.invoke(app, ["info", str(path)])
    assert result.exit_code == 0, result.output
    assert "ε = 3 spent (target 3), δ = 1e-06" in result.output
    assert "transform columns: 15 from metadata (docs/privacy.md)" in result.output
    assert "columns (15): age (numeric)" in result.output and "torch " in result.output


def test_the_noise_is_not_given_by_the_saved_seed(adult_small: pd.DataFrame) -> None:
    # random_state is in the model file: if it fixed the noise, anyone could subtract it
    first = _fit(adult_small, privacy=(8.0, 1e-6), epochs=1)
    second = _fit(adult_small, privacy=(8.0, 1e-6), epochs=1)
    assert first.privacy_["epsilon"] == second.privacy_["epsilon"]
    assert not torch.equal(first.critic_.body[0].weight, second.critic_.body[0].weight)
    plain = [PTGANSynthesizer(**PRIVATE).fit(adult_small).critic_ for _ in range(2)]
    assert torch.equal(plain[0].body[0].weight, plain[1].body[0].weight)


def test_cli_fit_prints_epsilon_and_info_of_a_plain_model(
    adult_small: pd.DataFrame, tmp_path: Path
) -> None:
    data = tmp_path / "train.csv"
    adult_small.to_csv(data, index=False)
    model = tmp_path / "m.fairsynth"
    args = ["fit", str(data), "-o", str(model), "--epochs", "1", "--seed", "0", "--quiet"]
    meta = tmp_path / "meta.json"
    meta.write_text(json.dumps(adult_metadata()))
    private = ["--epsilon", "2", "--delta", "1e-6", "--metadata", str(meta)]
    result = runner.invoke(app, [*args, *private])
    assert result.exit_code == 0, result.output
    assert "privacy: ε = " in result.output and "(target 2)" in result.output
    assert "transform columns: 15 from metadata" in result.output
    result = runner.invoke(app, [*args[:-1], "--epsilon", "0"])
    assert result.exit_code == 2 and "epsilon=0.0 is not valid" in result.output
    assert "Traceback" not in result.output
    plain = tmp_path / "plain.fairsynth"
    assert runner.invoke(app, ["fit", str(data), "-o", str(plain), *args[4:]]).exit_code == 0
    shown = runner.invoke(app, ["info", str(plain)]).output
    assert "privacy: none" in shown and "  batch_size = 500" in shown
    missing = runner.invoke(app, ["info", str(tmp_path / "nope.fairsynth")])
    assert missing.exit_code == 2 and missing.output.count("\n") == 1


@pytest.mark.parametrize(
    ("privacy", "match"),
    [
        (0, r"epsilon=0 is not valid: give a number > 0"),
        (-1.0, r"epsilon=-1.0 is not valid"),
        (float("inf"), r"epsilon=inf is not valid"),
        ((1.0, 1.5), r"delta=1.5 is not valid: give a number in \(0, 1/n\)"),
        ({"epsilon": 1, "clip": 2}, r"privacy has keys \['clip', 'epsilon'\]"),
        ({"epsilon": 1, "accountant": "gdp"}, r"accountant='gdp' is not valid.*'rdp', 'prv'"),
        ("high", r"privacy='high' is not valid"),
    ],
)
def test_bad_privacy_values_are_named(privacy: object, match: str) -> None:
    with pytest.raises(ParameterError, match=match):
        PTGANSynthesizer(privacy=privacy)._check_params()


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"pac": 2, "batch_size": 100}, r"pac=2; with privacy, pac must be 1"),
        ({"gradient_penalty_weight": 10.0}, r"gradient_penalty_weight=10.0"),
        ({"training_by_sampling": True}, r"training_by_sampling=True"),
        ({"epochs": None, "time_budget": 5.0}, r"epochs=None"),
        ({"fit_check": True}, r"fit_check=True"),
    ],
)
def test_unsupported_combinations_are_refused(params: dict[str, object], match: str) -> None:
    with pytest.raises(ParameterError, match=match):
        PTGANSynthesizer(privacy=1.0, **params)._check_params()  # type: ignore[arg-type]


def test_fair_model_refuses_privacy() -> None:
    model = FairPTGANSynthesizer(sensitive="sex", target="income", privacy=1.0)
    with pytest.raises(ParameterError, match="not supported by FairPTGANSynthesizer"):
        model._check_params()


def test_delta_and_a_budget_too_small_for_the_steps(adult_small: pd.DataFrame) -> None:
    with pytest.raises(ParameterError, match=r"delta=0.002 is not valid for 600 rows.*1/n = "):
        PTGANSynthesizer(**PRIVATE, privacy=(1.0, 0.002)).fit(adult_small)  # type: ignore[arg-type]
    settings = {"epsilon": 0.05, "max_noise_multiplier": 2.0, "metadata": adult_metadata()}
    with pytest.raises(ParameterError, match=r"needs a noise multiplier .*Train at most \d+ st"):
        PTGANSynthesizer(**PRIVATE, privacy=settings).fit(adult_small)  # type: ignore[arg-type]


def test_missing_opacus_is_one_clear_error(
    adult_small: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "opacus.accountants", None)
    with pytest.raises(FairsynthError, match="pip install"):
        _fit(adult_small, privacy=(1.0, None))


@pytest.mark.parametrize("clip_fake", [True, False])
def test_a_noiseless_step_gives_a_perfect_generator_no_push(
    adult_small: pd.DataFrame, monkeypatch: pytest.MonkeyPatch, clip_fake: bool
) -> None:
    # Without privacy the critic's expected gradient is zero when the generated rows follow
    # the data's law (real and fake terms cancel). Clipping only the real pairs broke that:
    # the unclipped fake rows outweighed them and pushed every score down (issue 20, the first
    # private fit: 95% '>50K' rows at ε = 1e6).
    params = {**PRIVATE, "epochs": 1, "coherency_weight": 0.0, "temperature_ratio": 1.0}
    model = PTGANSynthesizer(**params).fit(adult_small)  # type: ignore[arg-type]
    data = torch.as_tensor(model.transformer_.transform(adult_small), dtype=torch.float32)
    g = torch.Generator().manual_seed(1)
    monkeypatch.setattr(  # a perfect generator: real rows drawn afresh
        model, "_tempered_fake", lambda w: data[torch.randint(len(data), (len(w),), generator=g)]
    )
    model.batch_size = len(data) // 2  # q = 1: every row drawn, each in a pair
    plan = PrivacyPlan(1.0, 1e-6, 0.0, 1.0, 1, 0.01, "rdp")  # z = 0; C far below the norms
    critic = PrivateCritic(model, plan)
    monkeypatch.setattr(PrivateCritic, "clip_fake", clip_fake)
    critic.step(data)
    net = torch.stack([p.grad.norm() for p in model.critic_.parameters()]).norm()
    real = critic.clipped_sum(_real_pairs(data, critic))
    pull = torch.stack([v.norm() for v in real.values()]).norm() / model.batch_size
    # balanced: the net push is a small share of either side's pull (sampling noise only)
    assert bool(net < 0.3 * pull) is clip_fake  # False: the old step, which fails it


def _real_pairs(data: torch.Tensor, critic: PrivateCritic) -> tuple[torch.Tensor, ...]:
    first, second = critic._pairs(len(data))
    ones = torch.ones(len(first))
    return data[first], data[second], ones, ones, ones


def test_an_untempered_unpenalised_fit_draws_rows_alone(adult_small: pd.DataFrame) -> None:
    # no mixing and no coherency penalty: a row needs no partner, so sensitivity C, not 2C
    settings = PrivacySettings(3.0, 1e-6)
    paired = plan_privacy(settings, n_rows=10_000, batch_size=100, steps=500)
    alone = plan_privacy(settings, n_rows=10_000, batch_size=100, steps=500, paired=False)
    assert (paired.sample_rate, alone.sample_rate) == (0.02, 0.01)
    assert (paired.sensitivity, alone.sensitivity) == (2.0, 1.0)
    assert 2 * paired.noise_multiplier > 2.5 * alone.noise_multiplier  # less noise on the sum
    assert epsilon_spent(alone, 500)["epsilon"] == pytest.approx(3.0, rel=0.01)
    model = _fit(adult_small, privacy=(3.0, 1e-6), temperature_ratio=1.0, coherency_weight=0.0)
    assert model.privacy_["paired"] is False and model.privacy_["sample_rate"] == 50 / 600
    assert model.privacy_["sensitivity"].startswith("1 * clip_norm")
    rows = PrivateCritic(model, alone)._pairs(600)
    assert torch.equal(rows[0], rows[1]) and len(set(rows[0].tolist())) == len(rows[0])
    assert _fit(adult_small, privacy=(3.0, 1e-6)).privacy_["paired"] is True
