"""One design parameter: its kind, legal values and its mapping to Optuna distributions.

Kinds:

* ``int``: ``low..high`` in steps of ``step``.
* ``pow2``: the powers of two from ``low`` to ``high``.
* ``ordinal``: an ordered list of numbers or strings (e.g. Vt flavours slow to fast).
* ``categorical``: an unordered list.
* ``float``: the interval ``[low, high]``, on a log scale when ``log`` is true.

Optuna stores each parameter under a key. Int, float and categorical parameters keep their
name and their real values. Pow2 and ordinal parameters are stored as integers so that
samplers which model order (TPE, GP, NSGA-II) see it: a pow2 parameter as its exponent under
``NAME.log2``, an ordinal one as its position under ``NAME.rank``. The real value of every
parameter is stored beside them in the trial's ``config`` attribute, and everything this
tool prints shows real values.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

Kind = Literal["int", "pow2", "ordinal", "categorical", "float"]
Layer = Literal["hw", "eda"]
KINDS: tuple[str, ...] = ("int", "pow2", "ordinal", "categorical", "float")
LAYERS: tuple[str, ...] = ("hw", "eda")
Value = int | float | str | bool


@dataclass(frozen=True)
class Parameter:
    """A parameter of the design space.

    Attributes:
        name: Identifier used in constraints and configurations.
        layer: ``"hw"`` for the hardware generator, ``"eda"`` for the implementation flow.
        kind: One of :data:`KINDS`.
        choices: The legal values in order, for every kind but ``float``.
        low, high, log: The bounds of a ``float`` parameter.
        default: The baseline design's value (e.g. Gemmini's default), or ``None``.
        unit, description: Free text for people.
    """

    name: str
    layer: Layer
    kind: Kind
    choices: tuple[Value, ...] = ()
    low: float = 0.0
    high: float = 0.0
    log: bool = False
    default: Value | None = None
    unit: str = ""
    description: str = ""
    _index: dict[Value, int] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._index.update({_key(v): i for i, v in enumerate(self.choices)})

    @property
    def is_discrete(self) -> bool:
        return self.kind != "float"

    @property
    def cardinality(self) -> float:
        """The number of legal values; ``inf`` for a float parameter."""
        return len(self.choices) if self.is_discrete else math.inf

    @property
    def is_numeric(self) -> bool:
        if not self.is_discrete:
            return True
        return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in self.choices)

    @property
    def optuna_key(self) -> str:
        """The name under which Optuna stores this parameter (see the module docstring)."""
        if self.kind == "pow2":
            return f"{self.name}.log2"
        if self.kind == "ordinal":
            return f"{self.name}.rank"
        return self.name

    def distribution(self) -> BaseDistribution:
        """The Optuna distribution that samplers draw this parameter from."""
        if self.kind == "float":
            return FloatDistribution(self.low, self.high, log=self.log)
        if self.kind == "categorical":
            return CategoricalDistribution(self.choices)
        if self.kind == "int":
            step = int(self.choices[1] - self.choices[0]) if len(self.choices) > 1 else 1
            return IntDistribution(int(self.choices[0]), int(self.choices[-1]), step=step)
        if self.kind == "pow2":
            return IntDistribution(_log2(self.choices[0]), _log2(self.choices[-1]))
        return IntDistribution(0, len(self.choices) - 1)

    def from_optuna(self, stored: Any) -> Value:
        """The real value for what Optuna stored under :attr:`optuna_key`."""
        if self.kind == "pow2":
            return 2 ** int(stored)
        if self.kind == "ordinal":
            return self.choices[int(stored)]
        if self.kind == "float":
            return float(stored)
        return stored

    def to_optuna(self, value: Value) -> Any:
        """What Optuna stores for the real ``value`` (inverse of :meth:`from_optuna`)."""
        if self.kind == "pow2":
            return _log2(int(value))
        if self.kind == "ordinal":
            return self.index_of(value)
        return value

    def index_of(self, value: Any) -> int:
        """Position of a legal value in :attr:`choices`; ``KeyError`` if not legal."""
        return self._index[_key(value)]

    def contains(self, value: Any) -> bool:
        """Whether ``value`` is a legal value of this parameter."""
        if self.kind == "float":
            return isinstance(value, (int, float)) and not isinstance(value, bool) and self.low <= value <= self.high
        return _key(value) in self._index

    def coerce(self, text: str) -> Value:
        """Parse a value typed by a person (``--set name=value``) into a legal value."""
        if self.kind == "float":
            try:
                value: Any = float(text)
            except ValueError:
                raise ValueError(f"expected a number in [{self.low:g}, {self.high:g}]") from None
            if not self.contains(value):
                raise ValueError(f"expected a number in [{self.low:g}, {self.high:g}]")
            return value
        for choice in self.choices:
            if str(choice).lower() == text.strip().lower():
                return choice
        raise ValueError(f"expected one of {self.describe_values()}")

    def middle(self) -> Value:
        """A central legal value: the default when the space gives none."""
        if self.kind == "float":
            return math.sqrt(self.low * self.high) if self.log else (self.low + self.high) / 2
        return self.choices[(len(self.choices) - 1) // 2]

    def baseline(self) -> Value:
        """The default value if set, else :meth:`middle`."""
        return self.default if self.default is not None else self.middle()

    def describe_values(self) -> str:
        """A short human description of the legal values."""
        if self.kind == "float":
            return f"[{self.low:g}, {self.high:g}]" + (" log" if self.log else "")
        if self.kind == "int" and len(self.choices) > 6:
            step = self.choices[1] - self.choices[0]
            suffix = f" step {step}" if step != 1 else ""
            return f"{self.choices[0]}..{self.choices[-1]}{suffix}"
        return ", ".join(str(c) for c in self.choices)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` uniform draws: indices into :attr:`choices`, or floats for a float kind."""
        if self.kind == "float":
            if self.log:
                return np.exp(rng.uniform(math.log(self.low), math.log(self.high), n))
            return rng.uniform(self.low, self.high, n)
        return rng.integers(0, len(self.choices), n)

    def values_array(self, indices: np.ndarray) -> np.ndarray:
        """Real values for an array of indices (the identity for a float kind)."""
        if self.kind == "float":
            return indices
        return np.asarray(self.choices, dtype=object if not self.is_numeric else None)[indices]


def _key(value: Any) -> Any:
    """A hashable key under which 8, 8.0 and True are told apart from each other."""
    return (type(value) is bool, value)


def _log2(value: Any) -> int:
    return int(value).bit_length() - 1
