"""Parameter constraints declared once per class and checked by one function.

A synthesizer lists the valid values of each parameter in a class attribute,
``_parameter_constraints`` (scikit-learn's ``_parameter_constraints`` is the model)::

    _parameter_constraints = {
        "temperature_ratio": [Interval(Real, 0, 1)],
        "ema_decay": [None, Interval(Real, 0, 1, closed="left")],
        "norm": [Options("batch", "layer", "none")],
    }

:func:`check_params` reads the tables of the class and its parents, the subclass's entry
winning, and raises a :class:`~fairsynth.exceptions.ParameterError` that names the parameter,
the valid values and the value given. Rules that relate two parameters (``batch_size`` a
multiple of ``pac``) stay in code, in ``_check_params``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from numbers import Integral
from typing import Any

import numpy as np

from fairsynth.exceptions import ParameterError, format_choices

__all__ = ["Interval", "Options", "check_params", "check_value", "parameter_constraints"]

Bound = float | Callable[[], float] | None


class Interval:
    """Numbers of one kind between two bounds.

    Parameters
    ----------
    kind : numbers.Integral or numbers.Real
        Integral admits Python and numpy integers; Real admits any number, integers too.
        Booleans are never numbers here.
    left, right : number, callable or None
        The bounds; None leaves that side open. A callable is called at check time (the cores
        this process may use).
    closed : {'both', 'left', 'right', 'neither'}, default='both'
        Which bounds belong to the interval.
    finite : bool, default=True
        Whether the number must be finite (``inf`` refused; ``nan`` is always refused).
    description : str, optional
        How an error message names the interval, instead of the words made from the bounds;
        ``{0}`` and ``{1}`` stand for the bounds.
    """

    def __init__(
        self,
        kind: type,
        left: Bound,
        right: Bound,
        *,
        closed: str = "both",
        finite: bool = True,
        description: str | None = None,
    ) -> None:
        self.kind, self.left, self.right = kind, left, right
        self.closed, self.finite, self.description = closed, finite, description

    def bounds(self) -> tuple[float | None, float | None]:
        """The bounds, the callable ones called."""
        left, right = (b() if callable(b) else b for b in (self.left, self.right))
        return left, right

    def is_satisfied_by(self, value: object) -> bool:
        """Whether ``value`` is a number of the right kind inside the interval."""
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, self.kind):
            return False
        number = float(value)  # type: ignore[arg-type]
        if math.isnan(number) or (self.finite and math.isinf(number)):
            return False
        left, right = self.bounds()
        if left is not None and (number < left or (number == left and not self._closed("left"))):
            return False
        return right is None or number < right or (number == right and self._closed("right"))

    def _closed(self, side: str) -> bool:
        return self.closed in (side, "both")

    def __str__(self) -> str:
        left, right = self.bounds()
        if self.description is not None:
            return self.description.format(left, right)
        integer = self.kind is Integral
        if right is None and left is not None:
            if integer and left == 1 and self._closed("left"):
                return "a positive integer"
            noun = "an integer" if integer else ("a finite number" if self.finite else "a number")
            return f"{noun} {'≥' if self._closed('left') else '>'} {_number(left)}"
        noun = "an integer" if integer else "a number"
        if left is None or right is None:
            return (
                noun
                if right is None
                else f"{noun} {'≤' if self._closed('right') else '<'} {_number(right)}"
            )
        opening = "[" if self._closed("left") else "("
        closing = "]" if self._closed("right") else ")"
        return f"{noun} in {opening}{_number(left)}, {_number(right)}{closing}"


class Options:
    """A few valid values: names, or True and False."""

    def __init__(self, *values: object) -> None:
        self.values = values

    def is_satisfied_by(self, value: object) -> bool:
        """Whether ``value`` is one of the options; 1 is not True here, nor ``'1'`` 1."""
        return any(_same_kind(value, option) and value == option for option in self.values)

    def __str__(self) -> str:
        return _either([repr(v) for v in self.values])


Constraint = Interval | Options | None


def parameter_constraints(cls: type) -> dict[str, list[Constraint]]:
    """The constraints of every parameter of ``cls``, a subclass's entry winning."""
    table: dict[str, list[Constraint]] = {}
    for klass in reversed(cls.__mro__):
        table.update(vars(klass).get("_parameter_constraints", {}))
    return table


def check_params(model: Any, constraints: Mapping[str, list[Constraint]] | None = None) -> None:
    """Raise ParameterError for the first parameter of ``model`` outside its constraints.

    Parameters
    ----------
    model : object
        An estimator whose parameters are attributes of the same name.
    constraints : mapping, optional
        Parameter name → list of constraints, one of which the value must satisfy (None
        admits None); by default :func:`parameter_constraints` of the model's class.
    """
    table = parameter_constraints(type(model)) if constraints is None else constraints
    for name, allowed in table.items():
        check_value(name, getattr(model, name), allowed)


def check_value(name: str, value: object, allowed: list[Constraint]) -> None:
    """Raise ParameterError unless ``value`` satisfies one of ``allowed``.

    Raises
    ------
    ParameterError
        ``Unknown norm 'group'. Valid choices: 'batch', 'layer', 'none'`` for a choice among
        names, else ``batch_size must be an integer ≥ 2, got 1.``
    """
    if any(_satisfies(c, value) for c in allowed):
        return
    names = [v for c in allowed if isinstance(c, Options) for v in c.values]
    if len(allowed) == 1 and names and all(isinstance(v, str) for v in names):
        raise ParameterError(f"Unknown {name} {value!r}. Valid choices: {format_choices(names)}")
    described = _either([word for c in allowed for word in _words(c)])
    raise ParameterError(f"{name} must be {described}, got {value!r}.")


def _satisfies(constraint: Constraint, value: object) -> bool:
    return value is None if constraint is None else constraint.is_satisfied_by(value)


def _words(constraint: Constraint) -> list[str]:
    if isinstance(constraint, Options):
        return [repr(v) for v in constraint.values]
    return ["None" if constraint is None else str(constraint)]


def _same_kind(value: object, option: object) -> bool:
    if isinstance(option, bool):
        return isinstance(value, (bool, np.bool_))
    return isinstance(value, type(option)) and not isinstance(value, bool)


def _either(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
