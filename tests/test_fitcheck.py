"""The end-of-fit check: detection AUC and weakened strong pairs, with a warning that names them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import TINY_PARAMS, global_rngs_untouched

from fairsynth import ParameterError, PTGANSynthesizer
from fairsynth.datasets import load_dataset
from fairsynth.exceptions import FitCheckWarning
from fairsynth.models.fitcheck import check_rows, fit_check_message


@pytest.fixture(scope="module")
def adult() -> pd.DataFrame:
    return load_dataset("adult").train.sample(3000, random_state=0).reset_index(drop=True)


def test_real_rows_pass_and_independent_columns_are_named(adult: pd.DataFrame) -> None:
    discrete = load_dataset("adult").discrete_columns
    real, other = adult.iloc[:1500], adult.iloc[1500:].reset_index(drop=True)
    clean = check_rows(real, other, discrete)
    assert clean["detection_auc"] < 0.6 and clean["weak_pairs"] == []
    assert fit_check_message(clean) is None
    shuffled = other.copy()
    rng = np.random.default_rng(0)
    for column in shuffled.columns:  # every association broken, every column's shape kept
        shuffled[column] = rng.permutation(shuffled[column].to_numpy())
    broken = check_rows(real, shuffled, discrete)
    assert ["education", "education-num"] == broken["weak_pairs"][0][:2]
    assert broken["weak_pairs"][0][2] > 0.9 and broken["weak_pairs"][0][3] < 0.2
    message = fit_check_message(broken)
    assert message is not None and "(education, education-num) 1.00 →" in message


def test_a_failed_fit_is_warned_and_recorded(adult: pd.DataFrame, tmp_path: object) -> None:
    params = {**TINY_PARAMS, "epochs": 1, "fit_check": True}
    with global_rngs_untouched(), pytest.warns(FitCheckWarning, match="The fit looks failed"):
        model = PTGANSynthesizer(**params).fit(adult)  # type: ignore[arg-type]
    check = model.fit_check_
    assert check is not None and check["rows"] == 3000 and check["detection_auc"] > 0.9
    same = PTGANSynthesizer(**{**params, "fit_check": False}).fit(adult)  # type: ignore[arg-type]
    assert same.fit_check_ is None  # and the check changed nothing the model samples:
    pd.testing.assert_frame_equal(same.sample(50, random_state=0), model.sample(50, random_state=0))


def test_auto_skips_short_fits_and_bad_values_are_refused(adult: pd.DataFrame) -> None:
    model = PTGANSynthesizer(**{**TINY_PARAMS, "epochs": 1}).fit(adult.head(300))  # type: ignore[arg-type]
    assert model.fit_check_ is None  # a fit of a second: the check would cost more than it
    with pytest.raises(ParameterError, match="fit_check must be True, False or 'auto'"):
        PTGANSynthesizer(fit_check="yes").fit(adult)  # type: ignore[arg-type]
