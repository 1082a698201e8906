"""Numeric conditions (a value or a range), met exactly by keeping the model's matching rows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import SMALL_NETS
from typer.testing import CliRunner

from fairsynth import FairPTGANSynthesizer, PTGANSynthesizer
from fairsynth.cli import app
from fairsynth.exceptions import DataError, ParameterError
from fairsynth.models import ranges as ranges_module
from fairsynth.models.gantk import GANTKSynthesizer


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 400
    return pd.DataFrame({
        "age": rng.integers(18, 80, n),
        "gain": np.where(rng.random(n) < 0.6, 0.0, rng.normal(5e3, 1e3, n).round(2)),
        "sex": rng.choice(["F", "M"], n),
        "y": rng.choice(["no", "yes"], n),
    })  # fmt: skip


@pytest.fixture(scope="module")
def model(table: pd.DataFrame) -> PTGANSynthesizer:
    params = {**SMALL_NETS, "training_by_sampling": True, "point_mass_share": 0.05}
    return PTGANSynthesizer(epochs=3, **params).fit(table)  # type: ignore[arg-type]


def test_every_row_meets_a_range_and_the_seed_repeats_the_rows(model: PTGANSynthesizer) -> None:
    rows = model.sample(500, random_state=1, conditions={"age": (30, 40)})
    assert len(rows) == 500 and rows["age"].between(30, 40).all()
    pd.testing.assert_frame_equal(
        rows, model.sample(500, random_state=1, conditions={"age": (30, 40)})
    )
    assert rows.dtypes.equals(model.sample(5, random_state=0).dtypes)
    open_above = model.sample(200, random_state=0, conditions={"age": (None, 25)})
    assert open_above["age"].le(25).all()


def test_a_point_mass_or_a_whole_number_can_be_asked_for_exactly(
    model: PTGANSynthesizer,
) -> None:
    assert (model.sample(300, random_state=0, conditions={"gain": 0})["gain"] == 0).all()
    assert (model.sample(100, random_state=0, conditions={"age": 33})["age"] == 33).all()


def test_numeric_and_discrete_conditions_together(model: PTGANSynthesizer) -> None:
    rows = model.sample(300, random_state=0, conditions={"age": (20, 50), "sex": "F"})
    assert rows["age"].between(20, 50).all() and (rows["sex"] == "F").all()


def test_iter_samples_streams_conditioned_chunks(model: PTGANSynthesizer) -> None:
    chunks = list(model.iter_samples(950, chunk_size=200, random_state=0,
                                     conditions={"age": (60, None)}))  # fmt: skip
    assert [len(c) for c in chunks] == [200, 200, 200, 200, 150]
    assert all(c["age"].ge(60).all() and c.index.equals(pd.RangeIndex(len(c))) for c in chunks)


@pytest.mark.parametrize(
    ("conditions", "error", "message"),
    [
        ({"age": (50, 40)}, ParameterError, r"empty: low 50 > high 40"),
        ({"age": (200, 300)}, DataError, r"outside the values the model generates, 18 to 79"),
        ({"gain": 12.5}, ParameterError, r"exactly only at its point masses \('0'\)"),
        ({"age": "old"}, ParameterError, r"finite number or a \(low, high\) range; got 'old'"),
        ({"age": (1, 2, 3)}, ParameterError, r"is \(low, high\), either end None"),
        ({"age": float("nan")}, ParameterError, r"finite number"),
        ({"age": True}, ParameterError, r"finite number"),
    ],
)
def test_bad_numeric_conditions_are_named(
    model: PTGANSynthesizer, conditions: dict[str, object], error: type, message: str
) -> None:
    with pytest.raises(error, match=message):
        model.sample(10, conditions=conditions)


def test_numeric_columns_in_a_conditions_frame_are_refused(model: PTGANSynthesizer) -> None:
    with pytest.raises(ParameterError, match=r"numeric columns \('age'\) go in a dict"):
        model.sample(3, conditions=pd.DataFrame({"age": [20, 30, 40]}))


def test_a_range_the_model_rarely_reaches_stops_with_its_share(
    model: PTGANSynthesizer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ranges_module, "MIN_TRIES", 2_000)
    monkeypatch.setattr(ranges_module, "MAX_TRIES_PER_ROW", 1)
    with pytest.raises(DataError, match=r"rows met age=33 in [\d,]+ generated rows \(a share"):
        model.sample(1_000, random_state=0, conditions={"age": 33})


def test_the_fair_model_and_gantk_take_numeric_conditions(table: pd.DataFrame) -> None:
    fair = FairPTGANSynthesizer(sensitive="sex", target="y", positive_label="yes", epochs=2,
                                **SMALL_NETS).fit(table)  # type: ignore[arg-type]  # fmt: skip
    rows = fair.sample(300, random_state=0, fairness=1.0,
                       conditions={"age": (25, 45), "sex": "M"})  # fmt: skip
    assert rows["age"].between(25, 45).all() and (rows["sex"] == "M").all()
    gantk = GANTKSynthesizer(epochs=2, batch_size=100, random_state=0, verbose=False).fit(table)
    assert (
        gantk.sample(50, random_state=0, conditions={"age": (30, 60)})["age"].between(30, 60).all()
    )
    with pytest.raises(ParameterError, match="takes no"):  # discrete conditions: not trained
        gantk.sample(5, conditions={"sex": "F"})


def test_the_command_line_takes_ranges(tmp_path: Path, model: PTGANSynthesizer) -> None:
    model.save(tmp_path / "m.fairsynth")
    out = tmp_path / "rows.csv"
    result = CliRunner().invoke(app, ["sample", str(tmp_path / "m.fairsynth"), "-n", "100",
                                      "-o", str(out), "--where", "age=30..40", "--where",
                                      "gain=0", "-q"])  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = pd.read_csv(out)
    assert len(rows) == 100 and rows["age"].between(30, 40).all() and (rows["gain"] == 0).all()
    again = CliRunner().invoke(app, ["sample", str(tmp_path / "m.fairsynth"), "-n", "5", "-o",
                                     str(tmp_path / "x.csv"), "--where", "age=90.."])  # fmt: skip
    assert again.exit_code != 0 and "outside the values the model generates" in again.output
    assert not (tmp_path / "x.csv").exists()
