"""Parameter constraints: declared once per class, checked by one function."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
import pytest

from fairsynth import FairPTGANSynthesizer, GANTKSynthesizer, ParameterError, PTGANSynthesizer
from fairsynth.models._constraints import Interval, Options, check_value, parameter_constraints


@pytest.mark.parametrize(
    ("allowed", "good", "bad", "message"),
    [
        ([Interval(Integral, 1, None)], [1, np.int64(7)], [0, 1.0, True, "1"],
         "x must be a positive integer, got"),
        ([Interval(Real, 0, 1, closed="left")], [0, 0.5, np.float32(0.9)], [1, float("nan"), -0.1],
         r"x must be a number in \[0, 1\), got"),
        ([Interval(Real, 0, None)], [0, 3.5], [float("inf"), -1, None],
         "x must be a finite number ≥ 0, got"),
        ([None, Options(True, False, "auto")], [None, True, np.False_, "auto"], [1, "yes"],
         "x must be None, True, False or 'auto', got"),
        ([Options("a", "b")], ["a", "b"], ["c", 1], r"Unknown x .*\. Valid choices: 'a', 'b'"),
    ],
)  # fmt: skip
def test_check_value(allowed: list, good: list, bad: list, message: str) -> None:
    for value in good:
        check_value("x", value, allowed)
    for value in bad:
        with pytest.raises(ParameterError, match=message):
            check_value("x", value, allowed)


def test_every_constraint_names_a_parameter() -> None:
    for cls in (PTGANSynthesizer, FairPTGANSynthesizer, GANTKSynthesizer):
        table = parameter_constraints(cls)
        assert set(table) <= set(cls._get_param_names()), cls
        assert {"epochs", "batch_size", "n_threads"} <= set(table)
        model = cls() if cls is not FairPTGANSynthesizer else cls(sensitive="s", target="y")
        for name in table:  # the defaults satisfy their own constraints
            check_value(name, getattr(model, name), table[name])
