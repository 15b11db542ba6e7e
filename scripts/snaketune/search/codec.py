"""Each of the 12 spaces as one searchable dimension, exact in both directions.

A sampler searches an *internal* value: an index for `choice`, the multiplier k of
k*q for the quantized spaces, the quantile of a normal for `randn`, the number itself
otherwise. `decode` turns it into the value the trial gets, with the same support as
random draws (spaces.py): `randint` excludes `upper`, `qrandint` with q > 1 includes
it, quantized floats are written as k*q in decimal. `encode` goes back (known points,
history), and `from_unit` maps a point of [0, 1) there, for quasi-random designs.

Optuna's distributions are built from the same description (`distribution`), so TPE,
GP and CMA-ES see integers as integers, log spaces on a log scale and categories as
categories.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from scipy.special import ndtr, ndtri

from snaketune import spaces
from snaketune.errors import ConfigError

# randn's quantile stays this far inside (0, 1): its inverse is finite there.
_QUANTILE_EDGE = 1e-9


def _is_multiple(value: float, q: float) -> bool:
    k = value / q
    return abs(k - round(k)) <= 1e-9 * max(1.0, abs(k))


@dataclass(frozen=True)
class Dimension:
    """One parameter as the sampler sees it: `kind` is categorical, int or float."""

    name: str
    spec: Mapping[str, Any]
    kind: str
    low: float = 0.0
    high: float = 0.0
    log: bool = False

    @property
    def size(self) -> int:
        return len(self._categories) if self.kind == "categorical" else 0

    @property
    def _categories(self) -> list:
        return self.spec["categories"]

    def _q(self) -> float:
        return self.spec.get("q", 1)

    def decode(self, internal: Any) -> Any:
        """The trial's value for an internal value."""
        space = self.spec["space"]
        if self.kind == "categorical":
            return copy.deepcopy(self._categories[int(internal)])
        if space in ("randn", "qrandn"):
            value = self.spec.get("mean", 0.0) + self.spec.get("sd", 1.0) * float(ndtri(internal))
            if space == "qrandn":
                return spaces.times_q(round(value / self._q()), self._q())
            return value
        if space in ("quniform", "qloguniform"):
            return spaces.times_q(int(internal), self._q())
        if space in ("qrandint", "qlograndint") and self._q() != 1:
            return int(internal) * self._q()
        if self.kind == "int":
            return int(internal)
        value = float(internal)
        return min(max(value, self.low), spaces.just_below(self.high))

    def encode(self, value: Any) -> Any:
        """The internal value of a trial's value; ConfigError if the space cannot give it."""
        space = self.spec["space"]
        if self.kind == "categorical":
            for index, category in enumerate(self._categories):
                if category == value and type(category) is type(value):
                    return index
            raise ConfigError(f"{value!r} is not one of the categories {self._categories!r}")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{value!r} is not a number")
        if not math.isfinite(value):
            raise ConfigError(f"{value!r} is not a finite number")
        if space == "qrandn" and not _is_multiple(value, self._q()):
            raise ConfigError(f"{value!r} is not a multiple of q = {self._q()!r}")
        if space in ("randn", "qrandn"):
            z = (value - self.spec.get("mean", 0.0)) / self.spec.get("sd", 1.0)
            return min(max(float(ndtr(z)), _QUANTILE_EDGE), 1 - _QUANTILE_EDGE)
        if space in ("quniform", "qloguniform") or (
            space in ("qrandint", "qlograndint") and self._q() != 1
        ):
            if not _is_multiple(value, self._q()):
                raise ConfigError(f"{value!r} is not a multiple of q = {self._q()!r}")
            internal = round(value / self._q())
        elif self.kind == "int":
            if value != int(value):
                raise ConfigError(f"{value!r} is not an integer")
            internal = int(value)
        else:
            internal = float(value)
        if not self.low <= internal <= self.high:
            raise ConfigError(f"{value!r} is outside the space {dict(self.spec)!r}")
        return internal

    def from_unit(self, u: float) -> Any:
        """The internal value at the point u of [0, 1): uniform on the searched scale."""
        if self.kind == "categorical":
            return min(int(u * self.size), self.size - 1)
        if self.kind == "int":  # floor (not int(): negative bounds), clamped (exp/log noise)
            if self.log:
                lo, hi = math.log(self.low), math.log(self.high + 1)
                value = math.floor(math.exp(lo + u * (hi - lo)))
            else:
                value = math.floor(self.low + u * (self.high - self.low + 1))
            return min(max(value, int(self.low)), int(self.high))
        if self.log:
            lo, hi = math.log(self.low), math.log(self.high)
            return min(max(math.exp(lo + u * (hi - lo)), self.low), self.high)
        return self.low + u * (self.high - self.low)

    def distribution(self) -> Any:
        """The optuna distribution over the internal values (imports optuna)."""
        from optuna.distributions import (
            CategoricalDistribution,
            FloatDistribution,
            IntDistribution,
        )

        if self.kind == "categorical":
            return CategoricalDistribution(list(range(self.size)))
        if self.kind == "int":
            return IntDistribution(int(self.low), int(self.high), log=self.log)
        return FloatDistribution(self.low, self.high, log=self.log)


def dimension(name: str, spec: Mapping[str, Any]) -> Dimension:
    """The dimension of a validated space (grid_search is not one: it is enumerated)."""
    space = spec["space"]
    spec = {**spaces.SPACES[space].optional, **spec}
    if space == "grid_search":
        raise ConfigError(
            f"hyperopt.parameters.{name}: grid_search enumerates its values, which a "
            "sampler that chooses each trial cannot do; write it as space: choice with "
            "categories, or use search_alg random or variant_generator."
        )
    if space == "choice":
        return Dimension(name, spec, "categorical")
    if space in ("randn", "qrandn"):
        return Dimension(name, spec, "float", _QUANTILE_EDGE, 1 - _QUANTILE_EDGE)
    lower, upper, q = spec["lower"], spec["upper"], spec.get("q", 1)
    log = spaces.SPACES[space].log
    if space in ("quniform", "qloguniform") or (space in ("qrandint", "qlograndint") and q != 1):
        k_lo, k_hi = spaces.multiples_in(lower, upper, q)
        return Dimension(name, spec, "int", k_lo, k_hi, log)
    if space in ("randint", "qrandint", "lograndint", "qlograndint"):  # upper exclusive
        return Dimension(name, spec, "int", lower, upper - 1, log)
    return Dimension(name, spec, "float", float(lower), float(upper), log)


def dimensions(parameters: Mapping[str, Mapping[str, Any]]) -> list[Dimension]:
    """Every parameter's dimension, in the order written."""
    return [dimension(name, spec) for name, spec in parameters.items()]
