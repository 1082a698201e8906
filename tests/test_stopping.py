"""EarlyStopping: stop when the detection AUC stops falling, and sample from the best weights."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import SMALL_NETS

from fairsynth import PTGANSynthesizer
from fairsynth.models.stopping import EarlyStopping


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
