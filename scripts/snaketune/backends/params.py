"""One parameter of an engine's tables, and the check of one value against it.

An engine declares what each section accepts as tables of `Param`s (Ludwig's
default, the kind, the allowed values); `backends/checker.py` walks a config
against them and this module judges each value, so every engine words its
messages the same way. A `Param` with `fixed` set is a Ludwig parameter the
engine cannot realize: only its default is accepted, and the message says why.
The custom checks at the end are the kinds of value that several engines share.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from snaketune.errors import ConfigError, NotSupportedError, show


def plain(value: Any) -> str:
    """A value as YAML spells it: null, true/false, strings bare, floats short."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    return repr(value) if not isinstance(value, float) else f"{value:g}"


def show_plain(value: Any) -> str:
    """`plain`, bounded: how allowed values and defaults are listed."""
    return show(value, plain)


def show_given(value: Any) -> str:
    """How a message shows the value a user gave: strings quoted, so '3' is not 3."""
    if isinstance(value, str):
        return show(value)
    return show(value, plain) if not isinstance(value, dict | list) else show(value)


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


@dataclass(frozen=True)
class Param:
    """One parameter: default, kind and allowed values (plain data)."""

    default: Any
    kind: str  # int | float | bool | str | choice | any | custom
    choices: tuple = ()
    min: float | None = None
    max: float | None = None
    min_exclusive: bool = False
    nullable: bool = False
    fixed: str | None = None  # why only the default is accepted
    check: Callable[[str, Any], Any] | None = field(default=None, compare=False)
    aliases: tuple = ()  # extra accepted spellings of choice values

    def allowed(self) -> str:
        if self.fixed is not None:
            return f"only {show_plain(self.default)} (the default)"
        if self.kind == "choice":
            values = [show_plain(c) for c in self.choices]
            if self.nullable:
                values.append("null")
            return ", ".join(values)
        kind = {
            "int": "an integer",
            "float": "a number",
            "bool": "true or false",
            "str": "a string",
        }.get(self.kind, self.kind)
        bounds = []
        if self.min is not None:
            bounds.append(f"{'>' if self.min_exclusive else '>='} {show_plain(self.min)}")
        if self.max is not None:
            bounds.append(f"<= {show_plain(self.max)}")
        text = kind + (" " + " and ".join(bounds) if bounds else "")
        return text + (", or null" if self.nullable else "")


def P(default: Any, kind: str, **kw: Any) -> Param:  # noqa: N802 - reads like a table
    return Param(default, kind, **kw)


def fixed(default: Any, reason: str) -> Param:
    """A Ludwig parameter the engine cannot realize: only `default` is accepted."""
    return Param(default, "any", fixed=reason)


def check_value(path: str, value: Any, param: Param, engine: str) -> Any:
    """The value (normalized) if allowed, else ConfigError naming the path and what is allowed."""

    def bad() -> ConfigError:
        return ConfigError(
            f"{path}: {show_given(value)} is not allowed; allowed: {param.allowed()}."
        )

    if param.fixed is not None:
        if value == param.default or (
            is_number(value) and is_number(param.default) and math.isclose(value, param.default)
        ):
            return param.default
        raise NotSupportedError(
            f"{path}: {show_given(value)} is not supported by the {engine} engine: {param.fixed}; "
            f"only {show_plain(param.default)} is accepted."
        )
    if param.kind == "custom":
        return param.check(path, value) if param.check is not None else value
    if value is None:
        if param.nullable or param.default is None:
            return None
        raise bad()
    if param.kind == "any":
        return value
    if param.kind in ("bool", "str"):
        if not isinstance(value, bool if param.kind == "bool" else str):
            raise bad()
        return value
    if param.kind == "choice":
        if isinstance(value, str) and value in param.aliases:
            return value
        if not any(value == c and type(value) is type(c) for c in param.choices):
            raise bad()
        return value
    if param.kind == "int":
        if not is_int(value):
            if not (isinstance(value, float) and value.is_integer()):
                raise bad()
            value = int(value)
    elif param.kind == "float":
        if not is_number(value) or not math.isfinite(value):
            raise bad()
        value = float(value)
    if param.min is not None and (
        value < param.min or (param.min_exclusive and value == param.min)
    ):
        raise bad()
    if param.max is not None and value > param.max:
        raise bad()
    return value


# --------------------------------------------------------------------------- shared kinds


def _refuse(path: str, value: Any, allowed: str) -> ConfigError:
    return ConfigError(f"{path}: {show_given(value)} is not allowed; {allowed}.")


def check_pair(path: str, value: Any) -> list[float]:
    """Adam's betas: two numbers in [0, 1)."""
    if not (
        isinstance(value, list | tuple) and len(value) == 2 and all(is_number(v) for v in value)
    ):
        raise _refuse(path, value, "give two numbers, e.g. [0.9, 0.999]")
    if not all(0 <= v < 1 for v in value):
        raise _refuse(path, list(value), "both values must be in [0, 1)")
    return [float(v) for v in value]


def check_clip(path: str, value: Any) -> list[float] | None:
    """A number output's clip: [min, max] or null."""
    if value is None:
        return None
    if not (
        isinstance(value, list | tuple) and len(value) == 2 and all(is_number(v) for v in value)
    ):
        raise _refuse(path, value, "give [min, max] or null")
    if value[0] > value[1]:
        raise _refuse(path, list(value), "min must not exceed max")
    return [float(v) for v in value]


def check_batch_size(path: str, value: Any) -> int:
    """auto becomes AUTO_BATCH_SIZE here, so the trainers always get a number."""
    if value == "auto":
        return AUTO_BATCH_SIZE
    if is_int(value) and value >= 1:
        return value
    raise _refuse(path, value, "allowed: an integer >= 1, or auto")


def check_learning_rate(path: str, value: Any) -> float | str:
    """auto stays auto here: its number depends on the input features (`auto_learning_rate`)."""
    if value == "auto":
        return "auto"
    if not is_number(value) or not math.isfinite(value) or value <= 0:
        raise _refuse(path, value, "allowed: a number > 0")
    return float(value)


def check_eval_batch_size(path: str, value: Any) -> Any:
    if value is None or value == "auto" or (is_int(value) and value >= 0):
        return value
    raise _refuse(path, value, "allowed: an integer >= 0, auto or null")


def check_optional_str(path: str, value: Any) -> Any:
    if value is None or isinstance(value, str):
        return value
    raise _refuse(path, value, "allowed: a string or null")


def check_fill_value_any(path: str, value: Any) -> Any:
    """A binary feature's fill_value: a boolean, 0/1 or one of its two labels."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise _refuse(path, value, "allowed: true, false, 0, 1 or a label")


def check_positive_or_null(path: str, value: Any) -> float | None:
    if value is None:
        return None
    if not is_number(value) or not math.isfinite(value) or value <= 0:
        raise _refuse(path, value, "allowed: a number > 0, or null")
    return float(value)


def layers(
    params: Mapping[str, Param], example: str, engine: str, *, required: tuple = (), note: str = ""
) -> Param:
    """A list of layer mappings (fc_layers, conv_layers), each key checked against `params`.

    Only the keys given are kept: the rest come from the block's own defaults when the
    network is built. `note` explains, after the valid keys, why some are missing.
    """

    def check(path: str, value: Any) -> list[dict[str, Any]] | None:
        if value is None:
            return None
        if not isinstance(value, list) or not value:
            raise _refuse(path, value, f"give a non-empty list like [{example}]")
        checked = []
        for i, layer in enumerate(value):
            where = f"{path}[{i}]"
            if not isinstance(layer, dict):
                raise _refuse(where, layer, f"each layer is a mapping like {example}")
            for key in layer:
                if key not in params:
                    raise ConfigError(
                        f"{where}.{key}: unknown parameter for a layer (engine {engine}); "
                        f"valid: {', '.join(params)}{f' ({note})' if note else ''}."
                    )
            for key in required:
                if key not in layer:
                    raise ConfigError(
                        f"{where}.{key}: missing; every layer needs {key} "
                        f"({params[key].allowed()})."
                    )
            checked.append(
                {k: check_value(f"{where}.{k}", v, params[k], engine) for k, v in layer.items()}
            )
        return checked

    return P(None, "custom", check=check)


# --------------------------------------------------------------------------- auto values

# What Ludwig 0.17 makes of the trainer's `auto` values, fixed so that a trial's resolved
# config says what it trained with. batch_size: Ludwig tunes it for throughput, capped at
# 128 on a CPU (and falls back to 128 where it cannot tune); learning_rate: Ludwig's
# heuristic (ludwig/utils/heuristics.py) by input feature type, without pretrained encoders.
AUTO_BATCH_SIZE = 128
AUTO_LEARNING_RATE = 0.001
AUTO_LEARNING_RATE_TEXT = 0.0001


def auto_learning_rate(input_features: list[dict[str, Any]]) -> float:
    """Ludwig's `learning_rate: auto`: a smaller rate when an input is text (larger encoders)."""
    if any(feature.get("type") == "text" for feature in input_features):
        return AUTO_LEARNING_RATE_TEXT
    return AUTO_LEARNING_RATE
