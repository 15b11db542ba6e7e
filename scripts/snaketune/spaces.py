"""The 12 Ludwig/Ray search spaces, as plain data.

A parameter's space is the dict the user writes under ``hyperopt.parameters``,
e.g. ``{space: loguniform, lower: 1e-4, upper: 0.1}``. It stays a plain dict end
to end (YAML in, JSON out); this module only knows how to check one completely
up front (:func:`validate_space`) and how to draw one value from it
(:func:`sample`), with the bounds Ray 2.60 uses, so a Ludwig study samples the
same ranges here.

Each space is one :class:`Space` entry in the :data:`SPACES` registry, keyed by
the name the user writes in YAML. Adding a space is adding one draw function
and one entry.

Where we deliberately differ from Ludwig/Ray (all of it at validation time, so
a bad space fails before any job rather than in the middle of a study):

- every problem Ludwig only warns about (unknown keys, ``lower > upper``,
  missing bounds) is an error, and no key is ever dropped silently;
- a quantized float bound must be a multiple of ``q`` up to float noise
  (``0.3`` with ``q: 0.1`` is accepted; Ray rejects it because
  ``0.3 / 0.1 == 2.9999999999999996``);
- quantized floats are returned as the float nearest to ``k * q`` computed in
  decimal from ``q`` as written, so JSON shows ``0.3``, not
  ``0.30000000000000004`` (see :func:`times_q`);
- ``qlograndint`` (q > 1) has Ray's support (the multiples of q, both ends
  included) but weights that fall steadily from the smallest multiple to the
  largest, where Ray's floor-then-round weights zigzag.
"""

from __future__ import annotations

import copy
import difflib
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from numbers import Integral, Real
from typing import Any

import numpy as np

from snaketune.errors import ConfigError, show

# A bound counts as a multiple of q when bound / q is this close to a whole
# number (relative to its size): wide enough for float noise such as
# 0.3 / 0.1, far too narrow to accept 0.05 with q = 0.1.
_MULTIPLE_TOLERANCE = 1e-9
# Integer spaces sample 64-bit integers (numpy's generator).
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

Spec = Mapping[str, Any]
DrawFn = Callable[[Spec, np.random.Generator], Any]


@dataclass(frozen=True)
class Space:
    """What one space accepts and how it is sampled.

    ``kind`` is what the values are (``float``, ``int`` or ``categorical``),
    which also decides the type of ``lower``/``upper``/``q``. ``required``
    keys have no default; ``optional`` maps each other key to its default.
    """

    name: str
    kind: str
    required: tuple[str, ...]
    draw: DrawFn
    optional: Mapping[str, Any] = field(default_factory=dict)
    log: bool = False  # log scale: bounds must be > 0

    @property
    def keys(self) -> tuple[str, ...]:
        """Every key the space accepts, in the order they are documented."""
        return ("space", *self.required, *self.optional)

    @property
    def quantized(self) -> bool:
        return "q" in self.required or "q" in self.optional


# --------------------------------------------------------------------------- #
# Drawing one value. Every function gets a validated spec and returns a plain
# Python value (never a numpy scalar), so it can go straight to JSON/YAML.
# --------------------------------------------------------------------------- #


def just_below(x: float) -> float:
    return math.nextafter(x, -math.inf)


def _log_uniform(lower: float, upper: float, rng: np.random.Generator) -> float:
    """exp(U(ln lower, ln upper)), kept in [lower, upper) despite exp/log noise."""
    value = math.exp(float(rng.uniform(math.log(lower), math.log(upper))))
    return min(max(value, lower), just_below(upper))


def multiples_in(lower: float, upper: float, q: float) -> tuple[int, int]:
    """The range k_lo..k_hi (inclusive) of the multiples k*q inside [lower, upper].

    Bounds are snapped inward to multiples of q, as Ray does; the tolerance
    keeps 0.3 / 0.1 == 2.9999999999999996 from snapping to 0.4.
    """
    if isinstance(lower, int) and isinstance(upper, int) and isinstance(q, int):
        return -(-lower // q), upper // q
    return (
        math.ceil(lower / q - _MULTIPLE_TOLERANCE),
        math.floor(upper / q + _MULTIPLE_TOLERANCE),
    )


def times_q(k: int, q: float) -> float:
    """k * q for a quantized float, without binary noise.

    The product is taken in decimal from q's shortest repr (what the user
    wrote), then converted to the nearest float: 3 * 0.1 gives 0.3, not
    0.30000000000000004, at any scale of q (unlike round(x, 12), which would
    zero out a q of 1e-13).
    """
    return float(Decimal(repr(float(q))) * k)


def _nearest_k(value: float, q: float, k_lo: int, k_hi: int) -> int:
    return min(max(round(value / q), k_lo), k_hi)


def _draw_choice(spec: Spec, rng: np.random.Generator) -> Any:
    categories = spec["categories"]
    return copy.deepcopy(categories[int(rng.integers(len(categories)))])


def _draw_grid(spec: Spec, rng: np.random.Generator) -> Any:
    # Grid search enumerates its values (see snaketune.search.variant); a
    # sampler that treats it as just another space draws it uniformly.
    values = spec["values"]
    return copy.deepcopy(values[int(rng.integers(len(values)))])


def _draw_uniform(spec: Spec, rng: np.random.Generator) -> float:
    lower, upper = spec["lower"], spec["upper"]
    return min(float(rng.uniform(lower, upper)), just_below(upper))


def _draw_quniform(spec: Spec, rng: np.random.Generator) -> float:
    q = spec["q"]
    k_lo, k_hi = multiples_in(spec["lower"], spec["upper"], q)
    # round(U(k_lo*q, k_hi*q) / q) == round(U(k_lo, k_hi)): both end points
    # are reachable, with half the weight of the inner values (as in Ray).
    k = min(max(round(float(rng.uniform(k_lo, k_hi))), k_lo), k_hi)
    return times_q(k, q)


def _draw_loguniform(spec: Spec, rng: np.random.Generator) -> float:
    return _log_uniform(spec["lower"], spec["upper"], rng)


def _draw_qloguniform(spec: Spec, rng: np.random.Generator) -> float:
    q = spec["q"]
    k_lo, k_hi = multiples_in(spec["lower"], spec["upper"], q)
    value = _log_uniform(k_lo * q, k_hi * q, rng)
    return times_q(_nearest_k(value, q, k_lo, k_hi), q)


def _draw_randn(spec: Spec, rng: np.random.Generator) -> float:
    return float(rng.normal(spec["mean"], spec["sd"]))


def _draw_qrandn(spec: Spec, rng: np.random.Generator) -> float:
    q = spec["q"]
    return times_q(round(float(rng.normal(spec["mean"], spec["sd"])) / q), q)


def _draw_randint(spec: Spec, rng: np.random.Generator) -> int:
    return int(rng.integers(spec["lower"], spec["upper"]))


def _draw_qrandint(spec: Spec, rng: np.random.Generator) -> int:
    q = spec["q"]
    if q == 1:  # Ray 2.60: q = 1 is plain randint, upper exclusive
        return _draw_randint(spec, rng)
    k_lo, k_hi = multiples_in(spec["lower"], spec["upper"], q)
    return int(rng.integers(k_lo, k_hi + 1)) * q


def _draw_lograndint(spec: Spec, rng: np.random.Generator) -> int:
    # _log_uniform stays in [lower, upper), so the floor is in [lower, upper - 1].
    return math.floor(_log_uniform(spec["lower"], spec["upper"], rng))


def _draw_qlograndint(spec: Spec, rng: np.random.Generator) -> int:
    q = spec["q"]
    if q == 1:  # as qrandint: q = 1 is plain lograndint, upper exclusive
        return _draw_lograndint(spec, rng)
    # lograndint applied to the multipliers k of the multiples k*q, with the
    # last multiple included: P(k*q) is proportional to ln((k+1)/k), so the
    # values are log-uniform over the multiples, both ends inclusive, and
    # skewed towards the small ones.
    k_lo, k_hi = multiples_in(spec["lower"], spec["upper"], q)
    return math.floor(_log_uniform(k_lo, k_hi + 1, rng)) * q


_LOG_BASE = {"base": 10}

SPACES: dict[str, Space] = {
    space.name: space
    for space in (
        Space("choice", "categorical", ("categories",), _draw_choice),
        Space("grid_search", "categorical", ("values",), _draw_grid),
        Space("uniform", "float", ("lower", "upper"), _draw_uniform),
        Space("quniform", "float", ("lower", "upper", "q"), _draw_quniform),
        Space("loguniform", "float", ("lower", "upper"), _draw_loguniform, _LOG_BASE, log=True),
        Space(
            "qloguniform", "float", ("lower", "upper", "q"), _draw_qloguniform, _LOG_BASE, log=True
        ),
        Space("randn", "float", (), _draw_randn, {"mean": 0.0, "sd": 1.0}),
        Space("qrandn", "float", ("mean", "sd", "q"), _draw_qrandn),
        Space("randint", "int", ("lower", "upper"), _draw_randint),
        Space("qrandint", "int", ("lower", "upper"), _draw_qrandint, {"q": 1}),
        Space("lograndint", "int", ("lower", "upper"), _draw_lograndint, _LOG_BASE, log=True),
        Space(
            "qlograndint", "int", ("lower", "upper", "q"), _draw_qlograndint, _LOG_BASE, log=True
        ),
    )
}
"""Every space, keyed by the name the user writes as ``space:`` in YAML."""

SPACE_NAMES: tuple[str, ...] = tuple(SPACES)
"""The 12 space names, in Ludwig's documented order."""


# --------------------------------------------------------------------------- #
# Validation
# --------------------------------------------------------------------------- #


def _show(value: Any) -> str:
    return show(value)


def _quoted(names: list[str] | tuple[str, ...]) -> str:
    return ", ".join(repr(n) for n in names)


class _Checker:
    """Builds the messages for one parameter, so each names its key path."""

    def __init__(self, name: str, space: Space | None = None) -> None:
        self.path = f"hyperopt.parameters.{name}"
        self.space = space

    def fail(self, message: str) -> ConfigError:
        return ConfigError(f"{self.path}: {message}")

    def bad(self, key: str, value: Any, allowed: str) -> ConfigError:
        assert self.space is not None
        return self.fail(
            f"{key!r} ({_show(value)}) must be {allowed} for space {self.space.name!r}"
        )

    def number(self, key: str, value: Any) -> float:
        # bool is an int in Python, but `lower: true` is surely a mistake.
        if isinstance(value, bool) or not isinstance(value, Real):
            raise self.bad(key, value, "a number")
        number = float(value)
        if not math.isfinite(number):
            raise self.bad(key, value, "a finite number")
        return number

    def integer(self, key: str, value: Any) -> int:
        # A whole float such as 8.0 is accepted as 8, as Ludwig's schema does.
        if isinstance(value, bool) or not isinstance(value, Real):
            raise self.bad(key, value, "an integer")
        if isinstance(value, Integral) or (
            math.isfinite(float(value)) and float(value).is_integer()
        ):
            number = int(value)
            if not INT64_MIN <= number <= INT64_MAX:
                raise self.bad(key, value, "an integer between -2**63 and 2**63 - 1")
            return number
        raise self.bad(key, value, "an integer (integer spaces take whole numbers)")

    def options(self, key: str, value: Any) -> list:
        if not isinstance(value, list | tuple) or not value:
            raise self.bad(key, value, "a non-empty list of options")
        return copy.deepcopy(list(value))


def _read_space_name(check: _Checker, spec: Mapping) -> Space:
    valid = f"valid spaces are {', '.join(SPACE_NAMES)}"
    if "space" not in spec:
        raise check.fail(f"missing 'space'; {valid}")
    name = spec["space"]
    if isinstance(name, str) and name in SPACES:
        return SPACES[name]
    hint = ""
    if isinstance(name, str):
        by_lower = {n.lower(): n for n in SPACE_NAMES}
        close = by_lower.get(name.strip().lower()) or next(
            iter(difflib.get_close_matches(name, SPACE_NAMES, n=1)), None
        )
        if close:
            hint = f" (names are case-sensitive; did you mean {close!r}?)"
    raise check.fail(f"'space' ({_show(name)}) is not a known search space; {valid}{hint}")


def _check_keys(check: _Checker, space: Space, spec: Mapping) -> None:
    unknown = [key for key in spec if key not in space.keys]
    if space.name == "choice" and "values" in unknown:
        raise check.fail(
            "space 'choice' takes its options as 'categories', not 'values' "
            f"(got values: {_show(spec['values'])})"
        )
    if space.name == "grid_search" and "categories" in unknown:
        raise check.fail(
            "space 'grid_search' takes its options as 'values', not 'categories' "
            f"(got categories: {_show(spec['categories'])})"
        )
    if unknown:
        got = ", ".join(f"{key!r} ({_show(spec[key])})" for key in unknown)
        raise check.fail(
            f"unknown key(s) {got} for space {space.name!r}; allowed keys are {_quoted(space.keys)}"
        )
    missing = [key for key in space.required if key not in spec]
    if missing:
        raise check.fail(
            f"space {space.name!r} needs {_quoted(missing)} (missing); "
            f"its keys are {_quoted(space.keys)}"
        )


def _check_values(check: _Checker, space: Space, raw: dict) -> dict:
    """Type-check each key and convert it to its canonical type."""
    out: dict[str, Any] = {"space": space.name}
    for key in space.keys[1:]:
        value = raw[key]
        if key in ("categories", "values"):
            out[key] = check.options(key, value)
        elif space.kind == "int" and key in ("lower", "upper", "q"):
            out[key] = check.integer(key, value)
        else:
            out[key] = check.number(key, value)
    return out


def _check_ranges(check: _Checker, space: Space, spec: dict) -> None:
    """Bounds, scale and quantization: everything Ray would fail on later."""
    if "base" in spec and (spec["base"] <= 0 or spec["base"] == 1):
        raise check.bad("base", spec["base"], "a positive number other than 1")
    if "sd" in spec and spec["sd"] <= 0:
        raise check.bad("sd", spec["sd"], "greater than 0")
    if "q" in spec and spec["q"] <= 0:
        raise check.bad("q", spec["q"], "greater than 0")
    if "sd" in spec and "q" in spec:
        reach = abs(spec["mean"]) + 40 * spec["sd"]  # no draw lands farther than this
        if not math.isfinite(reach / spec["q"]):
            raise check.fail(
                f"'mean' and 'sd' ({_show(spec['mean'])}, {_show(spec['sd'])}) over 'q' "
                f"({_show(spec['q'])}) overflow a float for space {space.name!r}; choose a "
                "larger q"
            )
    if "lower" not in spec:
        return
    lower, upper = spec["lower"], spec["upper"]
    if space.log and lower <= 0:
        raise check.bad("lower", lower, "greater than 0 (a log scale needs positive bounds)")
    if lower >= upper:
        exclusive = " (upper is exclusive)" if space.kind == "int" else ""
        raise check.fail(
            f"'lower' ({_show(lower)}) must be below 'upper' ({_show(upper)}) "
            f"for space {space.name!r}{exclusive}"
        )
    if space.kind == "float" and not math.isfinite(upper - lower):
        raise check.fail(
            f"'upper' - 'lower' ({_show(upper)} - {_show(lower)}) overflows a float for space "
            f"{space.name!r}; choose bounds closer together"
        )
    q = spec.get("q")
    if space.kind == "float" and q is not None:
        for key in ("lower", "upper"):
            ratio = spec[key] / q
            if not math.isfinite(ratio):
                raise check.fail(
                    f"{key!r} ({_show(spec[key])}) / 'q' ({_show(q)}) overflows a float for "
                    f"space {space.name!r}; choose a larger q"
                )
            if abs(ratio - round(ratio)) > _MULTIPLE_TOLERANCE * max(1.0, abs(ratio)):
                raise check.fail(
                    f"{key!r} ({_show(spec[key])}) must be a multiple of 'q' ({_show(q)}) "
                    f"for space {space.name!r}"
                )
    if space.kind == "int" and q is not None and q > 1:
        k_lo, k_hi = multiples_in(lower, upper, q)
        if k_lo > k_hi:
            raise check.fail(
                f"no multiple of 'q' ({q}) lies between 'lower' ({lower}) and "
                f"'upper' ({upper}) for space {space.name!r}"
            )


def ludwig_ignored_keys(spec: object) -> list[str]:
    """Keys of ``spec`` that Ludwig's space schemas drop with a deprecation warning.

    Configs written for Ludwig before 0.5 carry a ``type`` (float, int) in each space,
    and examples put ``q`` on spaces that do not quantize; Ludwig strips both, so they
    change nothing. Every other unknown key stays an error (``validate_space``).
    """
    if not isinstance(spec, Mapping) or spec.get("space") not in SPACES:
        return []
    space = SPACES[spec["space"]]
    return [key for key in ("type", "q") if key in spec and key not in space.keys]


def validate_space(name: str, spec: object) -> dict:
    """Check one parameter's space completely and return a normalized copy.

    ``name`` is the parameter's dotted name, used in messages as
    ``hyperopt.parameters.<name>``. Every problem raises :class:`ConfigError`
    before any job starts (Ludwig finds most of them only while sampling).
    The copy has every default filled in (``randn`` mean 0.0 and sd 1.0,
    ``base`` 10 on log spaces, ``qrandint`` q 1), float-space numbers as
    floats, integer-space bounds as ints, keys in documented order, and
    ``categories``/``values`` deep-copied. ``base`` is accepted on log spaces
    but, as in Ray 2.60, does not change the distribution.
    """
    check = _Checker(name)
    if not isinstance(spec, Mapping):
        raise check.fail(
            "expected a mapping with a 'space' key (for example "
            f"{{space: choice, categories: [a, b]}}), got {_show(spec)}"
        )
    space = _read_space_name(check, spec)
    check.space = space
    _check_keys(check, space, spec)
    normalized = _check_values(check, space, {**space.optional, **spec})
    _check_ranges(check, space, normalized)
    return normalized


# --------------------------------------------------------------------------- #
# Using a validated space
# --------------------------------------------------------------------------- #


def _space_of(spec: Spec) -> Space:
    return SPACES[spec["space"]]


def sample(spec: Spec, rng: np.random.Generator) -> Any:
    """Draw one value from a space returned by :func:`validate_space`.

    The result is a plain Python value (int, float, str, bool, dict, list),
    never a numpy scalar; chosen categories are deep copies, so a trial can
    never alter the study's space. Bounds follow Ray 2.60 (see each space in
    DESIGN §5): ``uniform``/``loguniform``/``randint``/``lograndint`` exclude
    ``upper``; ``quniform``/``qloguniform`` and ``qrandint``/``qlograndint``
    with q > 1 include it. Quantized floats are the float nearest to ``k*q``
    computed in decimal (``0.3``, not ``0.30000000000000004``).
    """
    space = _space_of(spec)
    return space.draw({**space.optional, **spec}, rng)


def is_grid(spec: Spec) -> bool:
    """Whether the parameter is enumerated (grid_search) rather than sampled."""
    return spec.get("space") == "grid_search"


def grid_values(spec: Spec) -> list:
    """The values of a grid_search parameter, deep-copied, in the order written."""
    if not is_grid(spec):
        raise ValueError(f"grid_values needs a 'grid_search' space, got {spec.get('space')!r}")
    return copy.deepcopy(list(spec["values"]))


def value_kind(spec: Spec) -> str:
    """``"float"``, ``"int"`` or ``"categorical"``: how reports should plot the values.

    Same split as Ludwig's hyperopt visualizations: choice and grid_search are
    categorical even when their options are numbers.
    """
    return _space_of(spec).kind
