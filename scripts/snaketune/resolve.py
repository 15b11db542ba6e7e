"""How a sampled trial becomes a config: dotted-name substitution, then defaults expansion.

Everything here is a pure function on plain dicts: inputs are never mutated, results
share no mutable object with them.

Name resolution (``substitute``)
    A parameter name is split on ``.``. If its first segment is the name of an input
    feature (or, failing that, of an output feature), the rest of the path starts at
    that feature; otherwise the path starts at the config root. The name ``.`` merges
    a whole dict of top-level sections into the root. Parameters apply in order and
    each is deep-merged: dict into dict recurses, anything else (scalars, lists)
    replaces, missing keys are created, so a later parameter wins at the same leaf.
    List indices (``input_features.0.encoder``) are rejected: features are addressed
    by name. A feature whose name contains dots is found too (the longest dotted
    prefix that names a feature wins).

Defaults expansion (``expand_defaults``)
    ``defaults.<type>`` reaches every feature of that type: input features take its
    ``preprocessing`` and ``encoder``, output features its ``decoder`` and ``loss``.
    The feature's own values win at every depth. A feature that states no encoder
    (decoder, loss) type uses the default one, so it takes the defaults' block whole,
    ``type`` included: tuning ``defaults.text.encoder.type`` switches every text
    feature that names no encoder. A feature that states a type takes the block only
    when the defaults state the same type, or state none and the feature's type is the
    engine's built-in default. Unlike Ludwig 0.17, a feature that names the built-in
    default encoder explicitly therefore still receives untyped defaults.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from snaketune.errors import ConfigError
from snaketune.errors import show_json as _fmt

INPUT_FEATURES = "input_features"
OUTPUT_FEATURES = "output_features"
FEATURE_LISTS = (INPUT_FEATURES, OUTPUT_FEATURES)
DEFAULTS_SECTIONS = ("preprocessing", "encoder", "decoder", "loss")
INPUT_DEFAULTS = ("preprocessing", "encoder")
OUTPUT_DEFAULTS = ("decoder", "loss")

_INDEX = re.compile(r"[+-]?\d+")


@dataclass(frozen=True)
class ParameterTarget:
    """Where a dotted parameter name points.

    ``section`` is ``"input_features"``, ``"output_features"`` or ``None`` (the root);
    ``feature`` is the feature's name when ``section`` is set; ``path`` is the key path
    below the feature (or below the root). The name ``.`` gives ``(None, None, ())``.
    """

    section: str | None
    feature: str | None
    path: tuple[str, ...]


def feature_names(config: Mapping[str, Any], section: str) -> list[str]:
    """Names of the features of ``section`` (``input_features``/``output_features``)."""
    features = config.get(section)
    if not isinstance(features, list):
        return []
    return [f["name"] for f in features if isinstance(f, dict) and isinstance(f.get("name"), str)]


def parse_parameter_name(
    name: str, input_names: Iterable[str], output_names: Iterable[str]
) -> ParameterTarget:
    """Split a dotted parameter name into a target; raise ConfigError if it is malformed.

    Rejected: a non-string or empty name, empty segments (``a..b``, a leading or
    trailing dot), segments with surrounding blanks, and integer segments (list
    indices). The segments that spell a feature's own name are exempt from the last
    two checks.
    """
    key = f"hyperopt.parameters.{name}"
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(
            f"hyperopt.parameters: the parameter name {_fmt(name)} is not a dotted config path; "
            "write a path such as 'trainer.learning_rate' or '<feature name>.encoder.<param>', "
            "or '.' for a dict of whole sections."
        )
    if name == ".":
        return ParameterTarget(None, None, ())
    segments = name.split(".")
    if any(seg == "" for seg in segments):
        raise ConfigError(
            f"{key}: the name has an empty segment (two dots in a row, or a leading or "
            "trailing dot); a parameter name is a dotted path such as 'trainer.learning_rate', "
            "or exactly '.' to merge a dict of whole sections into the config."
        )
    inputs, outputs = set(input_names), set(output_names)
    section, feature, rest = None, None, segments
    for k in range(len(segments), 0, -1):
        prefix = ".".join(segments[:k])
        if prefix in inputs:
            section, feature, rest = INPUT_FEATURES, prefix, segments[k:]
            break
        if prefix in outputs:
            section, feature, rest = OUTPUT_FEATURES, prefix, segments[k:]
            break
    for seg in rest:
        if seg != seg.strip():
            raise ConfigError(
                f"{key}: the segment {seg!r} has leading or trailing blanks; "
                "config keys are written without them."
            )
        if _INDEX.fullmatch(seg):
            raise ConfigError(
                f"{key}: the segment {seg!r} is a list index, and list indices are not "
                "supported in parameter names. Address a feature by its name "
                "(for example 'title.encoder.num_filters' for the feature named 'title'), "
                "or give the whole list as the value of its parent key."
            )
    return ParameterTarget(section, feature, tuple(rest))


def locate_parameter(config: Mapping[str, Any], name: str) -> ParameterTarget:
    """``parse_parameter_name`` with the feature names of ``config``."""
    return parse_parameter_name(
        name, feature_names(config, INPUT_FEATURES), feature_names(config, OUTPUT_FEATURES)
    )


def deep_merge(base: Any, patch: Any) -> Any:
    """A new value: ``patch`` merged into ``base``.

    Dict into dict recurses (keys of ``base`` keep their order, new keys follow);
    anything else replaces, so lists are replaced whole. Neither input is mutated.
    """
    if isinstance(base, dict) and isinstance(patch, dict):
        merged = {k: copy.deepcopy(v) for k, v in base.items()}
        for k, v in patch.items():
            merged[k] = deep_merge(base[k], v) if k in base else copy.deepcopy(v)
        return merged
    return copy.deepcopy(patch)


def _overlay(top: dict, bottom: dict) -> dict:
    """A new dict: ``top`` over ``bottom`` at every depth (``top`` wins, its key order first)."""
    merged = {}
    for k, v in top.items():
        if k in bottom and isinstance(v, dict) and isinstance(bottom[k], dict):
            merged[k] = _overlay(v, bottom[k])
        else:
            merged[k] = copy.deepcopy(v)
    for k, v in bottom.items():
        if k not in top:
            merged[k] = copy.deepcopy(v)
    return merged


def _feature_index(config: dict, section: str, name: str) -> int:
    for i, feature in enumerate(config[section]):
        if isinstance(feature, dict) and feature.get("name") == name:
            return i
    raise AssertionError(f"feature {name!r} vanished from {section}")  # pragma: no cover


def _set_path(node: dict, path: tuple[str, ...], value: Any, key: str, where: str) -> None:
    """Deep-merge ``value`` at ``path`` below ``node`` (in place on our own copy)."""
    for depth, seg in enumerate(path[:-1]):
        child = node.get(seg)
        if child is None:
            child = node[seg] = {}
        elif not isinstance(child, dict):
            at = ".".join((where, *path[: depth + 1])).lstrip(".")
            if isinstance(child, list) and at in FEATURE_LISTS:
                raise ConfigError(
                    f"{key}: {at} is a list of features, and list entries cannot be reached "
                    "by a dotted path; start the name with the feature's name instead "
                    "(for example 'title.encoder.num_filters')."
                )
            raise ConfigError(
                f"{key}: the path goes through {at}, which holds {_fmt(child)} rather than "
                "a section (a mapping), so nothing can be set below it; only mappings can "
                "be descended into."
            )
        node = child
    leaf = path[-1]
    node[leaf] = deep_merge(node[leaf], value) if leaf in node else copy.deepcopy(value)


def _check_feature_lists(patch: Mapping[str, Any], key: str) -> None:
    for section in FEATURE_LISTS:
        if section in patch and not isinstance(patch[section], list):
            raise ConfigError(
                f"{key}: {section} is given as {_fmt(patch[section])}; {section} can only be "
                "replaced whole by a list of features. To change one feature, start the "
                "parameter name with the feature's name (for example 'title.encoder')."
            )


def substitute(config: dict, parameters: Mapping[str, Any]) -> dict:
    """A copy of ``config`` with the sampled ``parameters`` applied in their order.

    See the module docstring for how names resolve. Raises ConfigError for a name
    that is malformed, uses a list index, or would descend into a value that is not
    a mapping; for ``.`` with a value that is not a dict; and for a value that would
    turn a feature or a feature list into something else.
    """
    if not isinstance(config, dict):
        raise ConfigError(f"model config: {_fmt(config)} is not a mapping of sections.")
    result = copy.deepcopy(config)
    for name, value in parameters.items():
        key = f"hyperopt.parameters.{name}"
        target = locate_parameter(result, name)
        if target.section is None and not target.path:
            if not isinstance(value, dict):
                raise ConfigError(
                    f"{key}: the value {_fmt(value)} is not a mapping; the parameter '.' "
                    "takes a dict of top-level sections (for example "
                    "{trainer: {learning_rate: 0.1}}) and merges it into the config."
                )
            _check_feature_lists(value, key)
            result = deep_merge(result, value)
        elif target.section is None:
            if len(target.path) == 1:
                _check_feature_lists({target.path[0]: value}, key)
            _set_path(result, target.path, value, key, "")
        else:
            index = _feature_index(result, target.section, target.feature)
            feature = result[target.section][index]
            if not target.path:
                if not isinstance(value, dict):
                    raise ConfigError(
                        f"{key}: the value {_fmt(value)} would replace the whole feature "
                        f"{target.feature!r}; a parameter named after a feature alone takes a "
                        "dict of feature keys (for example {encoder: {type: rnn}}) that is "
                        "merged into the feature."
                    )
                result[target.section][index] = deep_merge(feature, value)
            else:
                _set_path(feature, target.path, value, key, target.feature)
    return result


def _check_defaults(defaults: Any) -> dict:
    if defaults is None:
        return {}
    if not isinstance(defaults, dict):
        raise ConfigError(
            f"defaults: {_fmt(defaults)} is not a mapping; defaults maps a feature type to "
            "its preprocessing, encoder, decoder and loss blocks."
        )
    for ftype, block in defaults.items():
        if block is None:
            continue
        if not isinstance(block, dict):
            raise ConfigError(
                f"defaults.{ftype}: {_fmt(block)} is not a mapping; allowed keys are "
                f"{', '.join(DEFAULTS_SECTIONS)}."
            )
        for section, value in block.items():
            if section not in DEFAULTS_SECTIONS:
                raise ConfigError(
                    f"defaults.{ftype}.{section}: {section!r} (value {_fmt(value)}) is not a "
                    f"defaults section; allowed are {', '.join(DEFAULTS_SECTIONS)}. Encoder "
                    f"parameters go under defaults.{ftype}.encoder (for example "
                    f"defaults.{ftype}.encoder.{section})."
                )
            if value is not None and not isinstance(value, dict):
                raise ConfigError(
                    f"defaults.{ftype}.{section}: {_fmt(value)} is not a mapping; write "
                    f"{section} parameters as a mapping (a type goes under "
                    f"defaults.{ftype}.{section}.type)."
                )
    return defaults


def _same_block(
    section: str,
    ftype: str,
    own: dict,
    default: dict,
    default_encoder: Callable[[str], str],
    default_decoder: Callable[[str], str],
) -> bool:
    """Whether the feature's ``section`` block takes the defaults' block.

    A feature that states no type uses "the default" encoder (decoder, loss), which is
    whatever the defaults say, so it takes the block whole, type included. A feature
    that states a type takes it only when the defaults name the same type, or name
    none and the feature's type is the engine's built-in default for its type.
    """
    if section == "preprocessing":
        return True
    mine, theirs = own.get("type"), default.get("type")
    if mine is None:
        return True
    if theirs is None:
        if section == "loss":
            return True
        lookup = default_encoder if section == "encoder" else default_decoder
        theirs = lookup(ftype)
    return mine == theirs


def expand_defaults(
    config: dict,
    default_encoder: Callable[[str], str],
    default_decoder: Callable[[str], str],
) -> dict:
    """A copy of ``config`` with ``defaults.<type>`` merged into every feature of that type.

    Input features take ``preprocessing`` and ``encoder``; output features take
    ``decoder`` and ``loss`` (never the other two). Values on the feature win at every
    depth. A feature that states no encoder type takes the defaults' encoder block
    whole (its type included); one that states a type takes it only when that type
    equals ``defaults.<type>.encoder.type``, or, when the defaults state none,
    ``default_encoder(type)``; likewise the decoder with ``default_decoder``. For
    ``loss`` a missing type on either side matches. ``preprocessing`` always merges.
    A feature's encoder/decoder given as a bare string counts as its type. Features
    without a string ``type`` are left as they are (validation reports them).

    The ``defaults`` section itself is kept unchanged in the result, so the trial
    config still shows where the values came from; features that were not changed
    keep their exact dicts (copied), and no empty blocks are added.

    Raises ConfigError when ``defaults`` is not a mapping of types to mappings, or a
    ``defaults.<type>`` key is not one of preprocessing, encoder, decoder, loss.
    """
    if not isinstance(config, dict):
        raise ConfigError(f"model config: {_fmt(config)} is not a mapping of sections.")
    result = copy.deepcopy(config)
    defaults = _check_defaults(result.get("defaults"))
    if not defaults:
        return result
    for section, takes in ((INPUT_FEATURES, INPUT_DEFAULTS), (OUTPUT_FEATURES, OUTPUT_DEFAULTS)):
        features = result.get(section)
        if not isinstance(features, list):
            continue
        for i, feature in enumerate(features):
            if not isinstance(feature, dict) or not isinstance(feature.get("type"), str):
                continue
            ftype = feature["type"]
            block = defaults.get(ftype) or {}
            updated = dict(feature)
            for key in takes:
                default = block.get(key)
                if not default:
                    continue
                own = feature.get(key)
                if own is None:
                    own = {}
                elif isinstance(own, str) and key in ("encoder", "decoder"):
                    own = {"type": own}
                elif not isinstance(own, dict):
                    continue  # malformed; validation reports it
                if _same_block(key, ftype, own, default, default_encoder, default_decoder):
                    updated[key] = _overlay(own, default)
            features[i] = updated
    return result


def resolve_trial(
    config: dict,
    parameters: Mapping[str, Any],
    default_encoder: Callable[[str], str],
    default_decoder: Callable[[str], str],
) -> dict:
    """The trial config: ``config`` minus ``hyperopt``, then substituted, then defaults expanded."""
    if not isinstance(config, dict):
        raise ConfigError(f"model config: {_fmt(config)} is not a mapping of sections.")
    base = {k: v for k, v in config.items() if k != "hyperopt"}
    return expand_defaults(substitute(base, parameters), default_encoder, default_decoder)
