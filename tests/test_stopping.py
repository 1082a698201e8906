"""EarlyStopping: stop when the detection AUC stops falling, and sample from the best weights."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import SMALL_NETS

from fairsynth import PTGANSynthesizer
from fairsynth.models.stopping import Convergence, EarlyStopping


class Scripted(EarlyStopping):
    """Scores from a list instead of a classifier; keeps the weights seen at each check."""

    def __init__(self, scores: list[float], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.script = list(scores)
        self.weights: list[dict[str, torch.Tensor]] = []

    def _score(self, model: Any, real: pd.DataFrame) -> float:
        self.weights.append({k: v.clone() for k, v in model.generator_ema_.state_dict().items()})
        return self.script.pop(0)


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({"x": rng.normal(size=100), "c": rng.choice(["a", "b"], size=100)})


def same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return all(torch.equal(a[k], b[k]) for k in a)


def test_stops_after_patience_checks_without_improvement_and_keeps_the_best(
    table: pd.DataFrame,
) -> None:
    # one step an epoch (100 rows, batch 100): a check every 2 steps
    stop = Scripted([0.95, 0.85, 0.845, 0.86, 0.5], every_steps=2, patience=2, min_steps=0)
    model = PTGANSynthesizer(epochs=20, callbacks=[stop], **SMALL_NETS).fit(table)  # type: ignore[arg-type]
    assert stop.stopped_ and model.stopped_reason_ == "callback"
    assert [s["step"] for s in stop.scores_] == [2, 4, 6, 8]  # 0.845 is not 0.01 better
    assert stop.best_step_ == 4 and len(model.history_) == 8
    assert same(model.generator_ema_.state_dict(), stop.weights[1])  # type: ignore[union-attr]
    assert not same(stop.weights[1], stop.weights[3])


def test_a_fit_that_runs_its_epochs_samples_from_the_best_weights(table: pd.DataFrame) -> None:
    stop = Scripted([0.9, 0.7, 0.8], every_steps=2, patience=5, min_steps=0)
    model = PTGANSynthesizer(epochs=6, callbacks=[stop], **SMALL_NETS).fit(table)  # type: ignore[arg-type]
    assert not stop.stopped_ and model.stopped_reason_ == "epochs" and stop.best_step_ == 4
    assert same(model.generator_ema_.state_dict(), stop.weights[1])  # type: ignore[union-attr]


def test_no_stop_before_min_steps(table: pd.DataFrame) -> None:
    stop = Scripted([0.9, 0.95, 0.96, 0.97, 0.98], every_steps=1, patience=1, min_steps=4)
    PTGANSynthesizer(epochs=10, callbacks=[stop], **SMALL_NETS).fit(table)  # type: ignore[arg-type]
    assert [s["step"] for s in stop.scores_] == [1, 2, 3, 4] and stop.best_step_ == 1


def test_a_real_check_scores_the_rows(table: pd.DataFrame) -> None:
    stop = EarlyStopping(every_steps=2, rows=60, min_steps=0)
    PTGANSynthesizer(epochs=4, callbacks=[stop], **SMALL_NETS).fit(table)  # type: ignore[arg-type]
    assert [s["step"] for s in stop.scores_] == [2, 4]
    assert all(0.0 <= s["detection_auc"] <= 1.0 for s in stop.scores_)


# checks every 2 steps of 50 rows (the 100-row table has enough), a line over 4 steps
QUICK: dict[str, Any] = {"every": 2, "rows": 50, "window": 4, "horizon": 4}


class ScriptedConvergence(Convergence):
    """Convergence with scores from a list instead of a classifier."""

    def __init__(self, scores: list[float], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.script = list(scores)

    def _score(self, model: Any, seed: int) -> float:
        return self.script.pop(0)


def test_convergence_stops_once_the_recent_checks_are_flat(table: pd.DataFrame) -> None:
    # one step an epoch; checks every 2 steps from step 4 (min_steps 8 - window 4)
    scores = [0.95, 0.90, 0.85, 0.84, 0.84, 0.835, 0.5]
    rule = ScriptedConvergence(scores, **QUICK, tol=0.02, min_steps=8, patience=1)
    model = PTGANSynthesizer(epochs=30, callbacks=[rule], **SMALL_NETS).fit(table)  # type: ignore[arg-type]
    assert model.stopped_reason_ == "callback"
    # step 8: line through 0.95, 0.90, 0.85 falls 0.10 in 4 steps; step 10 (0.90, 0.85, 0.84):
    # 0.06; step 12 (0.85, 0.84, 0.84): 0.01 < 0.02, stop
    assert [c["step"] for c in rule.checks_] == [4, 6, 8, 10, 12] and len(model.history_) == 12
    assert model.convergence_["converged"] and model.convergence_["checks"] is rule.checks_
    assert model.convergence_["projected_fall"] == pytest.approx(0.01)


def test_convergence_waits_for_patience_flat_lines_in_a_row(table: pd.DataFrame) -> None:
    # the default patience, 2: a pause (one flat line at step 12: 0.85, 0.84, 0.84) followed
    # by a fall goes on; two flat lines in a row (steps 20 and 22) stop
    scores = [0.95, 0.90, 0.85, 0.84, 0.84, 0.80, 0.76, 0.76, 0.755, 0.755, 0.5]
    rule = ScriptedConvergence(scores, **QUICK, tol=0.02, min_steps=8)
    model = PTGANSynthesizer(epochs=30, callbacks=[rule], **SMALL_NETS).fit(table)  # type: ignore[arg-type]
    assert model.stopped_reason_ == "callback" and model.convergence_["converged"]
    assert rule.patience == 2 and [c["step"] for c in rule.checks_][-1] == 22
    assert len(model.history_) == 22


def test_convergence_runs_the_epochs_when_the_rows_keep_improving(table: pd.DataFrame) -> None:
    rule = ScriptedConvergence([0.9, 0.8, 0.7, 0.6], **QUICK, min_steps=4)
    model = PTGANSynthesizer(epochs=8, callbacks=[rule], **SMALL_NETS).fit(table)  # type: ignore[arg-type]
    assert model.stopped_reason_ == "epochs" and not model.convergence_["converged"]
    assert model.convergence_["projected_fall"] == pytest.approx(0.2)


def test_a_watched_fit_trains_as_an_unwatched_one(table: pd.DataFrame) -> None:
    never = Convergence(every=1, rows=50, window=10**6, min_steps=10**6)  # checks, no stop
    watched = PTGANSynthesizer(epochs=4, callbacks=[never], **SMALL_NETS).fit(table)  # type: ignore[arg-type]
    plain = PTGANSynthesizer(epochs=4, **SMALL_NETS).fit(table)  # type: ignore[arg-type]
    assert len(watched.convergence_["checks"]) == 4 and plain.convergence_ is None
    assert all(0.0 <= c["detection_auc"] <= 1.0 for c in watched.convergence_["checks"])
    assert same(watched.generator_.state_dict(), plain.generator_.state_dict())
    rows = [model.sample(50, random_state=1) for model in (watched, plain)]
    pd.testing.assert_frame_equal(*rows)


def test_epochs_auto_watches_convergence_only_where_it_can(table: pd.DataFrame) -> None:
    from fairsynth.models.gantk import GANTKSynthesizer

    auto = PTGANSynthesizer(epochs="auto", **SMALL_NETS)  # type: ignore[arg-type]
    assert any(isinstance(cb, Convergence) for cb in auto._collect_callbacks())
    assert auto._resolve_epochs(30_162) == -(-6000 // (30_162 // 100))
    fixed = PTGANSynthesizer(epochs=3, **SMALL_NETS)  # type: ignore[arg-type]
    assert not any(isinstance(cb, Convergence) for cb in fixed._collect_callbacks())
    private = PTGANSynthesizer(epochs="auto", privacy=3.0, **SMALL_NETS)  # type: ignore[arg-type]
    assert not any(isinstance(cb, Convergence) for cb in private._collect_callbacks())
    assert private._resolve_epochs(30_162) == -(-6000 // (30_162 // 100))
    ntk = GANTKSynthesizer(epochs="auto", verbose=False)  # type: ignore[arg-type]
    assert not any(isinstance(cb, Convergence) for cb in ntk._collect_callbacks())
    own = Convergence(every=7)
    mine = PTGANSynthesizer(epochs="auto", callbacks=[own], **SMALL_NETS)  # type: ignore[arg-type]
    assert [cb for cb in mine._collect_callbacks() if isinstance(cb, Convergence)] == [own]


def test_what_auto_chose_is_saved_and_said(table: pd.DataFrame, tmp_path: Any) -> None:
    from fairsynth.cli._info import auto_length_line, describe_model

    scores = [0.95, 0.90, 0.85, 0.84, 0.84]
    rule = ScriptedConvergence(scores, **QUICK, tol=0.02, min_steps=8, patience=1)
    params = {**SMALL_NETS, "epochs": "auto", "callbacks": [rule], "fit_check": False}
    model = PTGANSynthesizer(**params).fit(table)  # type: ignore[arg-type]
    assert len(model.history_) == 12 and model.n_epochs_ == 6000  # one step an epoch
    path = model.save(tmp_path / "m.fairsynth")
    loaded = PTGANSynthesizer.load(path)
    assert loaded.convergence_ == model.convergence_
    line = "epochs='auto': converged after 12 steps (detection AUC of its rows 0.840, "
    line += "projected to fall 0.010 in 4 more steps)"
    assert line in describe_model(path)
    record = {"checks": [{"step": 6000, "detection_auc": 0.75}], "converged": False}
    text = auto_length_line([{"steps": 6000}], record | {"projected_fall": 0.03}, 6000)
    assert text.startswith("epochs='auto': stopped after 6,000 steps before converging")
    assert "projected to fall 0.030 in 1,500 more steps" in text
    rising = auto_length_line([{"steps": 6000}], record | {"projected_fall": -0.03}, 6000)
    assert "had stopped getting harder to tell from real ones" in rising
    assert "projected to rise 0.030 in 1,500 more steps" in rising
    assert auto_length_line([{"steps": 5}], None, 6000) == (
        "epochs='auto': 6,000 epochs planned, 5 steps run"
    )


def test_a_watched_fair_fit_trains_as_an_unwatched_one(adult_small: pd.DataFrame) -> None:
    from fairsynth import FairPTGANSynthesizer

    fair = {"sensitive": "sex", "target": "income", "positive_label": ">50K", "epochs": 2}
    never = Convergence(every=3, rows=100, window=10**6, min_steps=10**6)
    watched = FairPTGANSynthesizer(callbacks=[never], **fair, **SMALL_NETS).fit(adult_small)  # type: ignore[arg-type]
    plain = FairPTGANSynthesizer(**fair, **SMALL_NETS).fit(adult_small)  # type: ignore[arg-type]
    assert len(watched.convergence_["checks"]) == 2  # 6 steps an epoch: a check at each end
    rows = [m.sample(100, random_state=3, fairness=1.0) for m in (watched, plain)]
    pd.testing.assert_frame_equal(*rows)


def test_no_stop_while_the_rows_are_told_apart_almost_always(table: pd.DataFrame) -> None:
    # flat at 1.0: a derived column can keep it there while the rest of the table improves
    rule = ScriptedConvergence([1.0] * 4, **QUICK, min_steps=4)
    model = PTGANSynthesizer(epochs=8, callbacks=[rule], **SMALL_NETS).fit(table)  # type: ignore[arg-type]
    assert model.stopped_reason_ == "epochs" and not model.convergence_["converged"]
    assert model.convergence_["projected_fall"] == 0.0
    from fairsynth.cli._info import auto_length_line

    line = auto_length_line(model.history_, model.convergence_, 8)
    assert line.startswith("epochs='auto': ran 8 steps; its rows are told from real ones almost")


def test_no_stop_while_the_rows_get_easier_to_tell_apart(table: pd.DataFrame) -> None:
    # a rising AUC is a drifting generator, not a converged one: the fit runs its epochs
    rule = ScriptedConvergence([0.6, 0.65, 0.7, 0.75], **QUICK, min_steps=4)
    model = PTGANSynthesizer(epochs=8, callbacks=[rule], **SMALL_NETS).fit(table)  # type: ignore[arg-type]
    assert model.stopped_reason_ == "epochs" and not model.convergence_["converged"]
    assert model.convergence_["projected_fall"] == pytest.approx(-0.1)


def test_no_stop_on_a_table_smaller_than_a_check(table: pd.DataFrame) -> None:
    # 100 rows against checks of 2,500: every check compares all of them, too few to stop on
    scores = [0.95, 0.90, 0.85, 0.84, 0.84, 0.84]
    rule = ScriptedConvergence(scores, every=2, window=4, horizon=4, tol=0.02, min_steps=8)
    model = PTGANSynthesizer(epochs=12, callbacks=[rule], **SMALL_NETS).fit(table)  # type: ignore[arg-type]
    assert model.stopped_reason_ == "epochs" and not model.convergence_["converged"]
    assert len(rule.checks_) == 5  # steps 4 to 12: recorded all the same
    assert model.convergence_["too_few_rows"] == 100
    from fairsynth.cli._info import auto_length_line

    line = auto_length_line(model.history_, model.convergence_, 12)
    assert line.startswith("epochs='auto': ran 12 steps; the table's 100 rows are too few")
