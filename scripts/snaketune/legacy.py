"""Upgrade names from older Ludwig docs to the current layout, each with a one-line notice.

The upgrades are applied to every config (they are no-ops on a current one):

- top-level ``training`` → ``trainer``;
- a feature's ``encoder``/``decoder`` given as a string → ``{type: <string>}``;
- flat encoder parameters written on an input feature → under ``encoder``; flat
  decoder parameters on an output feature → under ``decoder`` (keys that are
  feature-level in current Ludwig, such as ``reduce_input`` or ``threshold``, stay);
- ``defaults.<type>.<key>`` for a key that is not a defaults section →
  ``defaults.<type>.encoder.<key>``;
- the legacy hyperopt layout: ``hyperopt.sampler`` (its ``search_alg`` goes to the
  top level, ``num_samples`` and ``scheduler`` to ``executor``),
  ``hyperopt.executor.search_alg`` promoted to ``hyperopt.search_alg``, a string
  ``search_alg`` → ``{type: ...}``;
- hyperopt parameter names (``upgrade_parameter_name``), and ``training`` inside the
  dicts of a ``.`` parameter.

Where the old and the new spelling are both present with different values, the
config is ambiguous and a ConfigError says so.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from snaketune import legacy_keys
from snaketune.errors import ConfigError
from snaketune.errors import show_json as _fmt
from snaketune.resolve import (
    DEFAULTS_SECTIONS,
    INPUT_FEATURES,
    OUTPUT_FEATURES,
    feature_names,
    parse_parameter_name,
)

# Keys that belong to the feature itself (current Ludwig), never moved under encoder/decoder.
FEATURE_LEVEL_KEYS = frozenset(
    {
        # every feature
        "name",
        "type",
        "column",
        "proc_column",
        "active",
        "preprocessing",
        # input features
        "encoder",
        "tied",
        "augmentation",
        # output features
        "decoder",
        "loss",
        "reduce_input",
        "reduce_dependencies",
        "dependencies",
        "default_validation_metric",
        "input_size",
        "num_classes",
        "top_k",
        "threshold",
        "calibration",
        "clip",
        "vector_size",
    }
)

_SUB_BLOCK = {INPUT_FEATURES: "encoder", OUTPUT_FEATURES: "decoder"}
# Flat keys renamed as they move under the sub-block (a decoder's fc stack is fc_<key>).
_FLAT_RENAMES = {INPUT_FEATURES: {}, OUTPUT_FEATURES: legacy_keys.DECODER_FLAT_RENAMES}
# Ludwig's feature types: a key of the global preprocessing section named like one of
# them is that type's preprocessing, written the pre-0.5 way.
LUDWIG_FEATURE_TYPES = (
    "binary",
    "category",
    "number",
    "numerical",
    "text",
    "set",
    "bag",
    "sequence",
    "timeseries",
    "image",
    "audio",
    "date",
    "h3",
    "vector",
)
_SAMPLER_KEYS = ("type", "search_alg", "num_samples", "scheduler")


def _join(keys: Iterable[str]) -> str:
    return ", ".join(repr(k) for k in keys)


def upgrade_parameter_name(
    name: str, input_names: set[str], output_names: set[str]
) -> tuple[str, str | None]:
    """The current spelling of a hyperopt parameter name, and a notice if it changed.

    ``training.x`` → ``trainer.x``; ``<input feature>.<key>`` → ``<feature>.encoder.<key>``
    and ``<output feature>.<key>`` → ``<feature>.decoder.<key>`` when ``key`` is not a
    feature-level key; ``defaults.<type>.<key>`` → ``defaults.<type>.encoder.<key>``
    when ``key`` is not one of preprocessing, encoder, decoder, loss. Names already in
    the current form, ``.``, section paths and malformed names (reported later, by
    resolution) come back unchanged with no notice.
    """
    try:
        target = parse_parameter_name(name, input_names, output_names)
    except ConfigError:
        return name, None
    path = list(target.path)
    if target.section is not None:
        if path and path[0] not in FEATURE_LEVEL_KEYS:
            path[0] = _FLAT_RENAMES[target.section].get(path[0], path[0])
            path.insert(0, _SUB_BLOCK[target.section])
        path = legacy_keys.upgrade_parameter_path(target.section, path)
        new = ".".join([target.feature, *path])
    elif path and path[0] == "training":
        new = ".".join(legacy_keys.upgrade_parameter_path(None, ["trainer", *path[1:]]))
    elif len(path) >= 3 and path[0] == "defaults" and path[2] not in DEFAULTS_SECTIONS:
        new = ".".join(legacy_keys.upgrade_parameter_path(None, [*path[:2], "encoder", *path[2:]]))
    elif path:
        new = ".".join(legacy_keys.upgrade_parameter_path(None, path))
    else:
        return name, None
    if new == name:
        return name, None
    return new, f"upgraded legacy hyperopt parameter name '{name}' to '{new}'"


def _upgrade_training(section: dict, where: str, notices: list[str]) -> dict:
    """``training`` → ``trainer`` in a dict of top-level sections (returns a new dict)."""
    if "training" not in section:
        return section
    prefix = f"{where}." if where else ""
    if "trainer" in section:
        raise ConfigError(
            f"{prefix}training: both 'training' (the legacy name, value "
            f"{_fmt(section['training'])}) and 'trainer' are given; keep only 'trainer'."
        )
    upgraded = {("trainer" if k == "training" else k): v for k, v in section.items()}
    notices.append(f"upgraded legacy key '{prefix}training' to '{prefix}trainer'")
    return upgraded


def _as_block(value: Any, where: str, notices: list[str]) -> Any:
    if isinstance(value, str):
        notices.append(f"upgraded legacy {where}: {value!r} to {where}: {{type: {value}}}")
        return {"type": value}
    return value


def _move_flat_keys(
    owner: dict,
    keys: list[str],
    sub: str,
    where: str,
    notices: list[str],
    renames: dict[str, str] | None = None,
) -> dict:
    """A new ``owner`` with ``keys`` moved under ``owner[sub]`` (renamed per ``renames``)."""
    renames = renames or {}
    new_block = legacy_keys.target_mapping(
        owner.get(sub),
        f"{where}.{sub}",
        f"the flat parameters {_join(keys)} written on {where} cannot be moved under it; "
        f"write them in {where}.{sub}",
    )
    for k in keys:
        new = renames.get(k, k)
        if new in new_block and new_block[new] != owner[k]:
            raise ConfigError(
                f"{where}.{k}: the legacy flat parameter ({_fmt(owner[k])}) and "
                f"{where}.{sub}.{new} ({_fmt(new_block[new])}) are both given; keep only "
                f"{where}.{sub}.{new}."
            )
        new_block[new] = owner[k]
    upgraded = {k: v for k, v in owner.items() if k not in keys}
    upgraded[sub] = new_block
    notices.append(f"moved legacy flat parameters {_join(keys)} of {where} under '{sub}'")
    renamed = [k for k in keys if renames.get(k, k) != k]
    if renamed:
        notices.append(
            f"upgraded legacy keys {', '.join(f'{k!r} to {renames[k]!r}' for k in renamed)} "
            f"in {where}.{sub} (a decoder's fully connected stack is fc_<key>)"
        )
    return upgraded


def _upgrade_feature(feature: dict, section: str, notices: list[str]) -> dict:
    sub = _SUB_BLOCK[section]
    label = feature.get("name", "?")
    where = f"{section}.{label}"
    upgraded = dict(feature)
    if sub in upgraded:
        upgraded[sub] = _as_block(upgraded[sub], f"{where}.{sub}", notices)
    flat = [k for k in upgraded if k not in FEATURE_LEVEL_KEYS]
    if flat:
        upgraded = _move_flat_keys(upgraded, flat, sub, where, notices, _FLAT_RENAMES[section])
    return legacy_keys.upgrade_feature(upgraded, section, notices)


def _move_type_preprocessing(cfg: dict, notices: list[str]) -> dict:
    """``preprocessing.<feature type>`` (before Ludwig 0.5) → ``defaults.<type>.preprocessing``."""
    preprocessing = cfg.get("preprocessing")
    if not isinstance(preprocessing, dict):
        return cfg
    moved = [k for k in preprocessing if k in LUDWIG_FEATURE_TYPES]
    if not moved:
        return cfg
    defaults = legacy_keys.target_mapping(
        cfg.get("defaults"),
        "defaults",
        f"the legacy preprocessing.{moved[0]} section cannot be moved to "
        f"defaults.{moved[0]}.preprocessing",
    )
    for ftype in moved:
        block = preprocessing[ftype]
        if isinstance(block, dict) and set(block) == {"preprocessing"}:
            block = block["preprocessing"]
        target = legacy_keys.LEGACY_FEATURE_TYPES.get(ftype, ftype)
        entry = defaults.get(target)
        entry = dict(entry) if isinstance(entry, dict) else {}
        current = entry.get("preprocessing")
        if isinstance(current, dict) and isinstance(block, dict):
            clash = [k for k in block if k in current and current[k] != block[k]]
            if clash:
                raise ConfigError(
                    f"preprocessing.{ftype}.{clash[0]}: the legacy setting "
                    f"({_fmt(block[clash[0]])}) and defaults.{target}.preprocessing.{clash[0]} "
                    f"({_fmt(current[clash[0]])}) are both given; keep only the defaults one."
                )
            block = {**block, **current}
        entry["preprocessing"] = block
        defaults[target] = entry
        notices.append(
            f"moved legacy section 'preprocessing.{ftype}' to 'defaults.{target}.preprocessing'"
        )
    cfg = {**cfg, "defaults": defaults}
    rest = {k: v for k, v in preprocessing.items() if k not in moved}
    if rest:
        cfg["preprocessing"] = rest
    else:
        del cfg["preprocessing"]
    return cfg


def _upgrade_defaults(defaults: dict, notices: list[str]) -> dict:
    upgraded = {}
    for ftype, block in defaults.items():
        if isinstance(block, dict):
            block = dict(block)
            for key in ("encoder", "decoder"):
                if key in block:
                    block[key] = _as_block(block[key], f"defaults.{ftype}.{key}", notices)
            flat = [k for k in block if k not in DEFAULTS_SECTIONS]
            if flat:
                block = _move_flat_keys(block, flat, "encoder", f"defaults.{ftype}", notices)
        upgraded[ftype] = block
    return legacy_keys.upgrade_defaults(upgraded, notices)


def _move_into(
    dest: dict, dest_name: str, key: str, value: Any, source: str, notices: list[str]
) -> None:
    """Move ``value`` (from ``source``) to ``dest[key]`` unless an equal value is there."""
    if key in dest:
        if dest[key] != value:
            raise ConfigError(
                f"{source}: the legacy setting ({_fmt(value)}) conflicts with "
                f"{dest_name}.{key} ({_fmt(dest[key])}); keep only {dest_name}.{key}."
            )
        notices.append(f"dropped legacy key '{source}' (same as '{dest_name}.{key}')")
        return
    dest[key] = value
    notices.append(f"moved legacy key '{source}' to '{dest_name}.{key}'")


def _upgrade_sampler(hyperopt: dict, notices: list[str]) -> None:
    sampler = hyperopt.pop("sampler")
    if sampler is None:
        notices.append("dropped empty legacy key 'hyperopt.sampler'")
        return
    if not isinstance(sampler, dict):
        raise ConfigError(
            f"hyperopt.sampler: {_fmt(sampler)} is not a mapping; the legacy sampler section "
            f"may hold {_join(_SAMPLER_KEYS)} (now hyperopt.search_alg and hyperopt.executor)."
        )
    unknown = [k for k in sampler if k not in _SAMPLER_KEYS]
    if unknown:
        raise ConfigError(
            f"hyperopt.sampler.{unknown[0]}: the legacy sampler section has no key "
            f"{unknown[0]!r} (value {_fmt(sampler[unknown[0]])}); it may hold "
            f"{_join(_SAMPLER_KEYS)}. Use hyperopt.search_alg and hyperopt.executor instead."
        )
    executor = hyperopt.get("executor")
    if executor is None and ("num_samples" in sampler or sampler.get("scheduler")):
        executor = hyperopt["executor"] = {}
    elif executor is not None and not isinstance(executor, dict):
        raise ConfigError(f"hyperopt.executor: {_fmt(executor)} is not a mapping.")
    elif executor is not None:
        executor = hyperopt["executor"] = dict(executor)
    kind = sampler.get("type")
    if kind not in (None, "ray", "random"):
        raise ConfigError(
            f"hyperopt.sampler.type: the legacy sampler {_fmt(kind)} has no counterpart; "
            "allowed legacy values are 'ray' and 'random'. For a grid, give the parameters "
            "'space: grid_search' and drop the sampler section."
        )
    if "search_alg" in sampler:
        _move_into(
            hyperopt,
            "hyperopt",
            "search_alg",
            _as_block(sampler["search_alg"], "hyperopt.sampler.search_alg", notices),
            "hyperopt.sampler.search_alg",
            notices,
        )
    elif kind == "random" and "search_alg" not in hyperopt:
        hyperopt["search_alg"] = {"type": "random"}
        notices.append("upgraded legacy 'hyperopt.sampler.type: random' to 'hyperopt.search_alg'")
    if "num_samples" in sampler:
        _move_into(
            executor,
            "hyperopt.executor",
            "num_samples",
            sampler["num_samples"],
            "hyperopt.sampler.num_samples",
            notices,
        )
    if "scheduler" in sampler:
        if sampler["scheduler"]:
            _move_into(
                executor,
                "hyperopt.executor",
                "scheduler",
                sampler["scheduler"],
                "hyperopt.sampler.scheduler",
                notices,
            )
        else:
            notices.append("dropped empty legacy key 'hyperopt.sampler.scheduler'")
    notices.append("removed legacy section 'hyperopt.sampler'")


def _upgrade_parameters(
    parameters: dict, inputs: set[str], outputs: set[str], notices: list[str]
) -> dict:
    upgraded: dict[str, Any] = {}
    origin: dict[str, str] = {}
    for name, spec in parameters.items():
        new, notice = upgrade_parameter_name(name, inputs, outputs)
        if new in upgraded:
            raise ConfigError(
                f"hyperopt.parameters.{name}: it names the same config field as "
                f"hyperopt.parameters.{origin[new]} (both are '{new}' in the current layout); "
                "keep only one of them."
            )
        if notice:
            notices.append(notice)
        if new == "." and isinstance(spec, dict):
            spec = dict(spec)
            for key in ("categories", "values"):
                if isinstance(spec.get(key), list):
                    spec[key] = [
                        _upgrade_training(c, f"hyperopt.parameters['.'].{key}[{i}]", notices)
                        if isinstance(c, dict)
                        else c
                        for i, c in enumerate(spec[key])
                    ]
        upgraded[new] = spec
        origin[new] = name
    return upgraded


def _upgrade_hyperopt(hyperopt: dict, inputs: set[str], outputs: set[str], notices: list[str]):
    hyperopt = dict(hyperopt)
    if "search_alg" in hyperopt:
        hyperopt["search_alg"] = _as_block(hyperopt["search_alg"], "hyperopt.search_alg", notices)
    if "sampler" in hyperopt:
        _upgrade_sampler(hyperopt, notices)
    executor = hyperopt.get("executor")
    if isinstance(executor, dict) and "search_alg" in executor:
        executor = hyperopt["executor"] = dict(executor)
        _move_into(
            hyperopt,
            "hyperopt",
            "search_alg",
            _as_block(executor.pop("search_alg"), "hyperopt.executor.search_alg", notices),
            "hyperopt.executor.search_alg",
            notices,
        )
    if isinstance(hyperopt.get("parameters"), dict):
        hyperopt["parameters"] = _upgrade_parameters(
            hyperopt["parameters"], inputs, outputs, notices
        )
    return hyperopt


def upgrade_model_config(config: dict) -> tuple[dict, list[str]]:
    """An upgraded copy of ``config`` and one human-readable notice per upgrade.

    The input is not mutated. Raises ConfigError when a legacy and a current spelling
    of the same setting are both given with different values, or two hyperopt
    parameter names become the same name.
    """
    if not isinstance(config, dict):
        raise ConfigError(f"model config: {_fmt(config)} is not a mapping of sections.")
    notices: list[str] = []
    cfg = _upgrade_training(copy.deepcopy(config), "", notices)
    cfg = _move_type_preprocessing(cfg, notices)
    for key, upgrade in (
        ("combiner", legacy_keys.upgrade_combiner),
        ("trainer", legacy_keys.upgrade_trainer),
        ("preprocessing", legacy_keys.upgrade_split),
    ):
        if key in cfg:
            cfg[key] = upgrade(cfg[key], notices)
    for section in (INPUT_FEATURES, OUTPUT_FEATURES):
        features = cfg.get(section)
        if isinstance(features, list):
            cfg[section] = [
                _upgrade_feature(f, section, notices) if isinstance(f, dict) else f
                for f in features
            ]
    if isinstance(cfg.get("defaults"), dict):
        cfg["defaults"] = _upgrade_defaults(cfg["defaults"], notices)
    if isinstance(cfg.get("hyperopt"), dict):
        inputs = set(feature_names(cfg, INPUT_FEATURES))
        outputs = set(feature_names(cfg, OUTPUT_FEATURES))
        cfg["hyperopt"] = _upgrade_hyperopt(cfg["hyperopt"], inputs, outputs, notices)
    return cfg, notices
