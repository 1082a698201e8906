"""Conditional sampling: exact values through the conditioning vector, never by rejection."""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd
import pytest
from conftest import TINY_PARAMS
from typer.testing import CliRunner

from fairsynth import DataError, ParameterError, PTGANSynthesizer
from fairsynth.cli import app
from fairsynth.models.fair import FairPTGANSynthesizer


@pytest.fixture(scope="module")
def fair(adult_small: pd.DataFrame) -> FairPTGANSynthesizer:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # small cells of a 600-row table
        return FairPTGANSynthesizer(
            sensitive=["sex", "race"], target="income", positive_label=">50K", **TINY_PARAMS
        ).fit(adult_small)


@pytest.fixture(scope="module")
def by_sampling(adult_small: pd.DataFrame) -> PTGANSynthesizer:
    return PTGANSynthesizer(training_by_sampling=True, **TINY_PARAMS).fit(adult_small)  # type: ignore[arg-type]


def test_fair_model_conditions_are_exact_and_follow_the_knob(fair: FairPTGANSynthesizer) -> None:
    rows = fair.sample(2000, conditions={"sex": "Female", "income": ">50K"}, random_state=0)
    assert (rows["sex"] == "Female").all() and (rows["income"] == ">50K").all()
    women = fair.sample(4000, conditions={"sex": "Female"}, random_state=0)
    assert (women["sex"] == "Female").all()
    table = (
        fair.outcome_rates(0.0, by="sex")
        .groupby("sex")
        .apply(lambda g: (g["rate"] * g["share"]).sum() / g["share"].sum(), include_groups=False)
    )
    assert abs((women["income"] == ">50K").mean() - table["Female"]) < 0.002  # exact counts
    fairer = fair.sample(4000, conditions={"sex": "Female"}, fairness=1.0, random_state=0)
    assert (fairer["income"] == ">50K").mean() > (women["income"] == ">50K").mean() + 0.05


def test_a_conditions_frame_is_followed_row_by_row(fair: FairPTGANSynthesizer) -> None:
    wanted = pd.DataFrame({"sex": ["Male", "Female", "Male"], "race": ["Black", "White", "White"]})
    rows = fair.sample(3, conditions=wanted, random_state=1)
    pd.testing.assert_frame_equal(rows[["sex", "race"]], wanted)
    again = fair.sample(3, conditions=wanted, random_state=1)
    pd.testing.assert_frame_equal(rows, again)


def test_training_by_sampling_conditions_one_column(by_sampling: PTGANSynthesizer) -> None:
    rare = by_sampling.sample(500, conditions={"race": "Amer-Indian-Eskimo"}, random_state=2)
    assert (rare["race"] == "Amer-Indian-Eskimo").all()
    wanted = pd.DataFrame({"education": ["Doctorate", "HS-grad", "Masters"]})
    rows = by_sampling.sample(3, conditions=wanted, random_state=2)
    assert rows["education"].tolist() == ["Doctorate", "HS-grad", "Masters"]
    streamed = by_sampling.iter_samples(10, chunk_size=4, conditions=wanted.iloc[[0] * 10])
    assert (pd.concat(list(streamed))["education"] == "Doctorate").all()


@pytest.mark.parametrize(
    ("conditions", "error", "message"),
    [
        ({"nope": 1}, DataError, "Conditions on 'nope', not columns of the training table"),
        ({"race": "Martian"}, ParameterError, "race='Martian' is not a value seen in training"),
        ({"age": 30.5}, ParameterError, "generates 'age' exactly only at its point masses"),
        ({"race": "White", "sex": "Male"}, ParameterError, "one discrete column at a time"),
        ({}, ParameterError, "conditions is empty"),
        ([("race", "White")], ParameterError, "must be a dict"),
        (pd.DataFrame({"race": ["White", None]}), ParameterError, "hold missing values"),
        (pd.DataFrame({"race": ["White"] * 3}), ParameterError, "it has 3 rows but n_samples is 5"),
    ],
)
def test_bad_conditions_are_named(
    by_sampling: PTGANSynthesizer, conditions: object, error: type, message: str
) -> None:
    n = 2 if isinstance(conditions, pd.DataFrame) and len(conditions) == 2 else 5
    with pytest.raises(error, match=message):
        by_sampling.sample(n, conditions=conditions)


def test_models_not_trained_for_a_condition_say_so(
    adult_small: pd.DataFrame, fair: FairPTGANSynthesizer
) -> None:
    plain = PTGANSynthesizer(**{**TINY_PARAMS, "training_by_sampling": False, "epochs": 1})
    plain.fit(adult_small.iloc[:200])
    with pytest.raises(ParameterError, match="training_by_sampling=True"):
        plain.sample(5, conditions={"race": "White"})
    with pytest.raises(ParameterError, match="sensitive and target columns, got 'education'"):
        fair.sample(5, conditions={"education": "Masters"})


def test_cli_where(tmp_path: Path, fair: FairPTGANSynthesizer) -> None:
    model, out = fair.save(tmp_path / "fair.fairsynth"), tmp_path / "out.csv"
    runner = CliRunner()
    where = ["--where", "sex=Female", "-w", "income=>50K"]
    done = runner.invoke(app, ["sample", str(model), "-n", "50", "-o", str(out), *where])
    assert done.exit_code == 0, done.output
    rows = pd.read_csv(out)
    assert (rows["sex"] == "Female").all() and (rows["income"] == ">50K").all()
    bad = runner.invoke(app, ["sample", str(model), "-n", "5", "-o", str(out), "-w", "sex"])
    assert bad.exit_code == 2 and "--where takes COLUMN=VALUE, got 'sex'" in bad.output
