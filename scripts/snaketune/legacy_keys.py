"""Keys renamed inside a section since older Ludwig releases, each upgraded with a notice.

`legacy` moves whole blocks to their current place; this module renames single keys
inside them, as Ludwig's own upgrade code still does for configs of its 0.4-0.7 days
(and as its older docs and examples are written):

- feature type ``numerical`` → ``number`` (features, ``defaults``);
- encoders and the combiner: ``fc_size`` → ``output_size``, ``bias`` → ``use_bias``,
  ``conv_bias`` → ``conv_use_bias``; a category encoder's ``representation: sparse``
  → ``type: sparse`` (and ``dense`` likewise);
- decoders: ``fc_size`` → ``fc_output_size``, ``bias`` → ``use_bias``; entries of any
  ``fc_layers`` list: ``fc_size`` → ``output_size``;
- text preprocessing: ``word_``/``char_`` prefixed ``most_common``, ``tokenizer``,
  ``vocab_file`` and ``sequence_length_limit`` (→ ``max_sequence_length``);
- ``missing_value_strategy``: ``backfill`` → ``bfill``, ``pad`` → ``ffill``;
- trainer: the flat learning-rate schedule keys (``reduce_learning_rate_on_plateau``,
  ``decay``, ``learning_rate_warmup_epochs``, …) → ``trainer.learning_rate_scheduler``,
  ``increase_batch_size_on_plateau_max`` → ``max_batch_size``, ``eval_batch_size: 0``
  → ``null``;
- global preprocessing: ``split_probabilities``, ``stratify`` and ``force_split`` →
  ``preprocessing.split``.

A key given in both spellings with different values is ambiguous: ConfigError.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from snaketune.errors import ConfigError
from snaketune.errors import show_json as _fmt

LEGACY_FEATURE_TYPES = {"numerical": "number"}
ENCODER_RENAMES = {"fc_size": "output_size", "bias": "use_bias", "conv_bias": "conv_use_bias"}
COMBINER_RENAMES = {"fc_size": "output_size", "bias": "use_bias"}
DECODER_RENAMES = {"fc_size": "fc_output_size", "bias": "use_bias"}
FC_LAYER_RENAMES = {"fc_size": "output_size", "bias": "use_bias"}
# Flat keys of an output feature that Ludwig moves into the decoder as fc_<key>.
DECODER_FLAT_RENAMES = {
    "output_size": "fc_output_size",
    "fc_size": "fc_output_size",
    "activation": "fc_activation",
    "dropout": "fc_dropout",
    "norm": "fc_norm",
    "norm_params": "fc_norm_params",
}
TEXT_PREPROCESSING_RENAMES = {
    "sequence_length_limit": "max_sequence_length",
    "word_sequence_length_limit": "max_sequence_length",
    "char_sequence_length_limit": "max_sequence_length",
    "word_most_common": "most_common",
    "char_most_common": "most_common",
    "word_tokenizer": "tokenizer",
    "char_tokenizer": "tokenizer",
    "word_vocab_file": "vocab_file",
    "char_vocab_file": "vocab_file",
}
MISSING_VALUE_STRATEGIES = {"backfill": "bfill", "pad": "ffill"}
SCHEDULER_RENAMES = {
    "reduce_learning_rate_on_plateau": "reduce_on_plateau",
    "reduce_learning_rate_on_plateau_patience": "reduce_on_plateau_patience",
    "reduce_learning_rate_on_plateau_rate": "reduce_on_plateau_rate",
    "reduce_learning_rate_eval_metric": "reduce_eval_metric",
    "reduce_learning_rate_eval_split": "reduce_eval_split",
    "decay": "decay",
    "decay_steps": "decay_steps",
    "decay_rate": "decay_rate",
    "staircase": "staircase",
    "learning_rate_warmup_epochs": "warmup_evaluations",
}
TRAINER_RENAMES = {"increase_batch_size_on_plateau_max": "max_batch_size"}
SPLIT_KEYS = ("split_probabilities", "stratify", "force_split")


def _put(block: dict, key: str, value: Any, old: str, where: str, notices: list[str]) -> None:
    """Set ``block[key]`` from the legacy ``old`` unless the current spelling disagrees."""
    if key in block and block[key] != value:
        raise ConfigError(
            f"{where}.{old}: the legacy key ({_fmt(value)}) and {where}.{key} "
            f"({_fmt(block[key])}) are both given; keep only {where}.{key}."
        )
    block[key] = value
    notices.append(f"upgraded legacy key '{where}.{old}' to '{where}.{key}'")


def target_mapping(value: Any, where: str, why: str) -> dict:
    """A copy of the mapping legacy keys move into, {} when it is absent; else refused."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: {_fmt(value)} is not a mapping, so {why}.")
    return dict(value)


def rename_keys(block: Any, renames: dict[str, str], where: str, notices: list[str]) -> Any:
    """A copy of ``block`` with each legacy key of ``renames`` under its current name."""
    if not isinstance(block, dict) or not any(k in block for k in renames):
        return block
    out = {k: v for k, v in block.items() if k not in renames}
    for old, new in renames.items():
        if old in block:
            _put(out, new, block[old], old, where, notices)
    return out


def _fc_layers(block: Any, where: str, notices: list[str]) -> Any:
    """``fc_layers`` entries with their legacy keys renamed."""
    if not isinstance(block, dict) or not isinstance(block.get("fc_layers"), list):
        return block
    layers = [
        rename_keys(layer, FC_LAYER_RENAMES, f"{where}.fc_layers[{i}]", notices)
        for i, layer in enumerate(block["fc_layers"])
    ]
    return {**block, "fc_layers": layers}


def _representation(encoder: Any, where: str, notices: list[str]) -> Any:
    """A category encoder's legacy ``representation`` names the encoder type."""
    if not isinstance(encoder, dict) or "representation" not in encoder:
        return encoder
    out = {k: v for k, v in encoder.items() if k != "representation"}
    kind = encoder["representation"]
    if kind not in ("dense", "sparse"):
        raise ConfigError(
            f"{where}.representation: {_fmt(kind)} is not allowed; the legacy key takes dense "
            "or sparse, which are now encoder types (encoder: {type: sparse})."
        )
    if out.get("type", kind) != kind:
        raise ConfigError(
            f"{where}.representation: the legacy key ({_fmt(kind)}) and {where}.type "
            f"({_fmt(out['type'])}) disagree; keep only {where}.type."
        )
    out["type"] = kind
    notices.append(
        f"upgraded legacy key '{where}.representation: {kind}' to '{where}.type: {kind}'"
    )
    return out


def _preprocessing(block: Any, ftype: Any, where: str, notices: list[str]) -> Any:
    if not isinstance(block, dict):
        return block
    if ftype == "text":
        block = rename_keys(block, TEXT_PREPROCESSING_RENAMES, where, notices)
    strategy = block.get("missing_value_strategy")
    if isinstance(strategy, str) and strategy in MISSING_VALUE_STRATEGIES:
        new = MISSING_VALUE_STRATEGIES[strategy]
        block = {**block, "missing_value_strategy": new}
        notices.append(
            f"upgraded legacy value {where}.missing_value_strategy: {strategy!r} to {new!r}"
        )
    return block


def _encoder(block: Any, ftype: Any, where: str, notices: list[str]) -> Any:
    block = _fc_layers(rename_keys(block, ENCODER_RENAMES, where, notices), where, notices)
    return _representation(block, where, notices) if ftype == "category" else block


def _decoder(block: Any, where: str, notices: list[str]) -> Any:
    return _fc_layers(rename_keys(block, DECODER_RENAMES, where, notices), where, notices)


def _feature_type(owner: dict, where: str, notices: list[str]) -> dict:
    kind = owner.get("type")
    if isinstance(kind, str) and kind in LEGACY_FEATURE_TYPES:
        new = LEGACY_FEATURE_TYPES[kind]
        notices.append(f"upgraded legacy feature type {where}.type: {kind!r} to {new!r}")
        return {**owner, "type": new}
    return owner


def _apply(owner: dict, key: str, change: Callable[[Any], Any]) -> dict:
    return {**owner, key: change(owner[key])} if key in owner else owner


def upgrade_feature(feature: Any, section: str, notices: list[str]) -> Any:
    """One feature with the legacy keys of its blocks renamed (layout already current)."""
    if not isinstance(feature, dict):
        return feature
    where = f"{section}.{feature.get('name', '?')}"
    feature = _feature_type(feature, where, notices)
    ftype = feature.get("type")
    feature = _apply(
        feature,
        "preprocessing",
        lambda b: _preprocessing(b, ftype, f"{where}.preprocessing", notices),
    )
    if section == "input_features":
        return _apply(feature, "encoder", lambda b: _encoder(b, ftype, f"{where}.encoder", notices))
    return _apply(feature, "decoder", lambda b: _decoder(b, f"{where}.decoder", notices))


def upgrade_defaults(defaults: dict, notices: list[str]) -> dict:
    """``defaults.<type>`` blocks with legacy type names and keys upgraded."""
    out: dict[str, Any] = {}
    for ftype, block in defaults.items():
        key = LEGACY_FEATURE_TYPES.get(ftype, ftype) if isinstance(ftype, str) else ftype
        where = f"defaults.{key}"
        if key != ftype:
            if key in defaults:
                raise ConfigError(
                    f"defaults.{ftype}: the legacy type name and defaults.{key} are both given; "
                    f"keep only defaults.{key}."
                )
            notices.append(f"upgraded legacy key 'defaults.{ftype}' to '{where}'")
        if isinstance(block, dict):
            block = _apply(
                block,
                "preprocessing",
                lambda b, k=key, w=where: _preprocessing(b, k, f"{w}.preprocessing", notices),
            )
            block = _apply(
                block, "encoder", lambda b, k=key, w=where: _encoder(b, k, f"{w}.encoder", notices)
            )
            block = _apply(
                block, "decoder", lambda b, w=where: _decoder(b, f"{w}.decoder", notices)
            )
        out[key] = block
    return out


def upgrade_combiner(combiner: Any, notices: list[str]) -> Any:
    return _fc_layers(
        rename_keys(combiner, COMBINER_RENAMES, "combiner", notices), "combiner", notices
    )


def _scheduler_value(old: str, value: Any) -> Any:
    if old == "decay" and isinstance(value, bool):  # decay was on/off; now a schedule name
        return "exponential" if value else None
    if old == "reduce_learning_rate_on_plateau" and isinstance(value, bool | float):
        return int(value)
    return value


def upgrade_trainer(trainer: Any, notices: list[str]) -> Any:
    """Flat learning-rate schedule keys into ``learning_rate_scheduler``, and older names."""
    if not isinstance(trainer, dict):
        return trainer
    trainer = rename_keys(trainer, TRAINER_RENAMES, "trainer", notices)
    if trainer.get("eval_batch_size") == 0 and not isinstance(trainer["eval_batch_size"], bool):
        trainer = {**trainer, "eval_batch_size": None}
        notices.append("upgraded legacy value trainer.eval_batch_size: 0 to null")
    flat = [k for k in SCHEDULER_RENAMES if k in trainer]
    if not flat:
        return trainer
    schedule = target_mapping(
        trainer.get("learning_rate_scheduler"),
        "trainer.learning_rate_scheduler",
        f"the legacy keys {', '.join(flat)} cannot be moved into it; write them there",
    )
    out = {k: v for k, v in trainer.items() if k not in flat}
    for old in flat:
        new = SCHEDULER_RENAMES[old]
        value = _scheduler_value(old, trainer[old])
        if new in schedule and schedule[new] != value:
            raise ConfigError(
                f"trainer.{old}: the legacy key ({_fmt(trainer[old])}) and "
                f"trainer.learning_rate_scheduler.{new} ({_fmt(schedule[new])}) are both given; "
                f"keep only trainer.learning_rate_scheduler.{new}."
            )
        schedule[new] = value
        notices.append(
            f"upgraded legacy key 'trainer.{old}' to 'trainer.learning_rate_scheduler.{new}'"
        )
    out["learning_rate_scheduler"] = schedule
    return out


def upgrade_split(preprocessing: Any, notices: list[str]) -> Any:
    """``split_probabilities``, ``stratify`` and ``force_split`` → ``preprocessing.split``."""
    if not isinstance(preprocessing, dict) or not any(k in preprocessing for k in SPLIT_KEYS):
        return preprocessing
    legacy: dict[str, Any] = {}
    if "split_probabilities" in preprocessing:
        legacy["probabilities"] = preprocessing["split_probabilities"]
    if preprocessing.get("stratify") is not None:
        legacy.update(type="stratify", column=preprocessing["stratify"])
    if preprocessing.get("force_split") is not None:
        legacy.setdefault("type", "random")
    out = {k: v for k, v in preprocessing.items() if k not in SPLIT_KEYS}
    split = out.get("split")
    if split is not None and not isinstance(split, dict):
        raise ConfigError(
            f"preprocessing.split: {_fmt(split)} is not a mapping, so the legacy keys "
            f"{', '.join(k for k in SPLIT_KEYS if k in preprocessing)} cannot be moved into it."
        )
    split = dict(split or {})
    for key, value in legacy.items():
        if key in split and split[key] != value:
            raise ConfigError(
                f"preprocessing: the legacy split keys give split.{key} {_fmt(value)}, but "
                f"preprocessing.split.{key} is {_fmt(split[key])}; keep only preprocessing.split."
            )
        split[key] = value
    for key in SPLIT_KEYS:
        if key in preprocessing:
            notices.append(f"upgraded legacy key 'preprocessing.{key}' into 'preprocessing.split'")
    if split:
        out["split"] = split
    return out


def upgrade_parameter_path(section: str | None, path: list[str]) -> list[str]:
    """A hyperopt parameter path (below a feature, or from the root) with renamed keys."""
    if not path:
        return path
    if section == "input_features" and path[:1] == ["encoder"] and len(path) == 2:
        return ["encoder", ENCODER_RENAMES.get(path[1], path[1])]
    if section == "output_features" and path[:1] == ["decoder"] and len(path) == 2:
        return ["decoder", DECODER_RENAMES.get(path[1], path[1])]
    if section is None and path[0] == "combiner" and len(path) == 2:
        return ["combiner", COMBINER_RENAMES.get(path[1], path[1])]
    if section is None and path[0] == "trainer" and len(path) == 2:
        if path[1] in SCHEDULER_RENAMES:
            return ["trainer", "learning_rate_scheduler", SCHEDULER_RENAMES[path[1]]]
        return ["trainer", TRAINER_RENAMES.get(path[1], path[1])]
    if section is None and path[0] == "defaults" and len(path) == 4 and path[2] == "encoder":
        return [*path[:3], ENCODER_RENAMES.get(path[3], path[3])]
    return path
