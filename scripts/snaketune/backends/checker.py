"""Walk a model config against an engine's tables: one checker, every engine's messages.

An engine describes what it accepts as an `EngineTables` (plain data, plus two
hooks for the checks that involve several keys of one engine); `with_defaults`
checks a config against it and returns a copy where every parameter has its value,
in the style of scikit-learn's parameter validation: each message names the key
path, the value and what is allowed. Adding an encoder is one entry in an engine's
`encoders` table and its implementation.
"""

from __future__ import annotations

import copy
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from snaketune import data
from snaketune.backends import tables
from snaketune.backends.params import Param, check_value, show_given, show_plain
from snaketune.errors import ConfigError, NotSupportedError

Table = Mapping[str, Param]
# A block chosen by `type` (encoders, decoders, losses): feature type -> kind -> params.
Kinds = Mapping[str, Mapping[str, Table]]


@dataclass(frozen=True)
class EngineTables:
    """What one engine accepts. The checker reads nothing else of the engine."""

    name: str
    model_types: tuple[str, ...]
    input_preprocessing: Mapping[str, Table]
    encoders: Kinds
    default_encoders: Mapping[str, str]
    decoders: Kinds
    default_decoders: Mapping[str, str]
    losses: Kinds
    output_feature_params: Table
    combiner: Table
    trainers: Mapping[str, Table]  # per model type
    optimizers: Mapping[str, Table]
    lr_scheduler: Table
    gradient_clipping: Table
    # Why something Ludwig has is refused here, each naming what to use instead.
    tied_reason: str
    foreign_encoders: Mapping[str, tuple[str, ...]]  # feature type -> encoder names
    foreign_encoder_reason: str  # "{kind}" is replaced by the encoder's name
    combiner_reason: str
    model_type_reasons: Mapping[str, str] = field(default_factory=dict)
    optimizer_note: str = ""
    # Checks of several keys at once, on the config with defaults; auto values to numbers.
    check_model: Callable[[dict[str, Any]], None] = lambda config: None
    resolve_auto: Callable[[dict[str, Any]], None] = lambda config: None
    output_preprocessing: Mapping[str, Table] = field(
        default_factory=lambda: tables.OUTPUT_PREPROCESSING
    )
    input_types: tuple[str, ...] = tables.FEATURE_TYPES
    output_types: tuple[str, ...] = tables.OUTPUT_TYPES

    @classmethod
    def of_module(cls, module_name: str) -> EngineTables:
        """The tables of a schema module: each field under its name in capitals
        (ENGINE_NAME for `name`), the hooks as module functions of the same name."""
        module = sys.modules[module_name]
        found = {"name": module.ENGINE_NAME}
        for f in fields(cls):
            for attribute in (f.name.upper(), f.name):
                if f.name != "name" and hasattr(module, attribute):
                    found[f.name] = getattr(module, attribute)
        return cls(**found)


_IMMUTABLE = (bool, int, float, str, type(None))


def with_defaults(config: Any, engine: EngineTables) -> dict[str, Any]:
    """The checked config with every parameter set; ConfigError at the first problem."""
    return _Walk(engine).config(config)


class _Walk:
    """One config against one engine's tables; each method checks one section."""

    def __init__(self, engine: EngineTables) -> None:
        self.engine = engine

    # ---------------------------------------------------------------- plumbing

    def unknown(self, path: str, what: str, valid: Any) -> ConfigError:
        return ConfigError(
            f"{path}: unknown parameter for {what} (engine {self.engine.name}); "
            f"valid: {', '.join(valid)}."
        )

    def params(self, section: Any, params: Table, path: str, what: str) -> dict[str, Any]:
        """Every key known, every value allowed; returns the section with defaults filled."""
        section = mapping(section, path, "{key: value}")
        out: dict[str, Any] = {}
        for key, value in section.items():
            if key not in params:
                raise self.unknown(f"{path}.{key}", what, params)
            out[key] = check_value(f"{path}.{key}", value, params[key], self.engine.name)
        for key, param in params.items():
            if key not in out:
                default = param.default
                # A default that is a value needs no copy (most are: parse time checks
                # every trial of a study, 10,000 of them or more).
                out[key] = default if isinstance(default, _IMMUTABLE) else copy.deepcopy(default)
        return out

    def typed(self, block: dict, path: str, params: Table, kind: str, what: str) -> dict:
        """A block with a `type` (encoder, decoder, loss): its other keys checked."""
        body = {k: v for k, v in block.items() if k != "type"}
        for key in body:
            if key not in params:
                raise self.unknown(f"{path}.{key}", what, ["type", *params])
        return {"type": kind, **self.params(body, params, path, what)}

    # ---------------------------------------------------------------- features

    def feature_type(self, feature: dict, path: str, role: str) -> str:
        allowed = self.engine.input_types if role == "input" else self.engine.output_types
        kind = feature.get("type")
        if kind in allowed:
            return kind
        if kind in tables.LUDWIG_TYPES or (role == "output" and kind in self.engine.input_types):
            raise NotSupportedError(
                f"{path}.type: {role} features of type {kind!r} are not supported by the "
                f"{self.engine.name} engine yet; supported {role} types: {', '.join(allowed)} "
                "(engine: command runs any program per trial, such as ludwig train, which reads "
                "every Ludwig type)."
            )
        raise ConfigError(
            f"{path}.type: {show_given(kind)} is not allowed; allowed: {', '.join(allowed)}."
        )

    def column(self, feature: dict, path: str) -> str:
        column = feature.get("column", feature["name"])
        if not isinstance(column, str) or not column:
            raise ConfigError(
                f"{path}.column: {column!r} is not allowed; give the dataset column name."
            )
        return column

    def input_feature(self, feature: dict, path: str) -> dict[str, Any]:
        ftype = self.feature_type(feature, path, "input")
        for key in feature:
            if key not in tables.INPUT_FEATURE_KEYS:
                raise self.unknown(
                    f"{path}.{key}", f"{ftype} input features", tables.INPUT_FEATURE_KEYS
                )
        if feature.get("tied") is not None:
            raise NotSupportedError(
                f"{path}.tied: {feature['tied']!r} is not supported by the {self.engine.name} "
                f"engine: {self.engine.tied_reason}; only null is accepted."
            )
        return {
            "name": feature["name"],
            "type": ftype,
            "column": self.column(feature, path),
            "preprocessing": self.params(
                feature.get("preprocessing"), self.engine.input_preprocessing[ftype],
                f"{path}.preprocessing", f"preprocessing of {ftype} input features",
            ),
            "encoder": self.encoder(feature, ftype, f"{path}.encoder"),
        }  # fmt: skip

    def encoder(self, feature: dict, ftype: str, path: str) -> dict[str, Any]:
        default = self.engine.default_encoders[ftype]
        block = mapping(feature.get("encoder"), path, f"{{type: {default}}}")
        kind = block.get("type", default)
        choices = self.engine.encoders[ftype]
        own = f"the {self.engine.name} engine's {ftype} encoders are: {', '.join(choices)}"
        if kind not in choices:
            if kind in self.engine.foreign_encoders.get(ftype, ()):
                reason = self.engine.foreign_encoder_reason.format(kind=kind)
                raise NotSupportedError(f"{path}.type: encoder '{kind}' {reason}; {own}.")
            raise ConfigError(
                f"{path}.type: {show_given(kind)} is not an encoder for {ftype} features; {own}."
            )
        return self.typed(block, path, choices[kind], kind, f"encoder '{kind}' of {ftype} features")

    def output_feature(self, feature: dict, path: str) -> dict[str, Any]:
        ftype = self.feature_type(feature, path, "output")
        keys = tables.OUTPUT_FEATURE_KEYS[ftype]
        for key in feature:
            if key not in keys:
                raise self.unknown(f"{path}.{key}", f"{ftype} output features", keys)
        out = {
            "name": feature["name"],
            "type": ftype,
            "column": self.column(feature, path),
            "preprocessing": self.params(
                feature.get("preprocessing"), self.engine.output_preprocessing[ftype],
                f"{path}.preprocessing", f"preprocessing of {ftype} output features",
            ),
            "decoder": self.chosen(feature, ftype, path, "decoder"),
            "loss": self.chosen(feature, ftype, path, "loss"),
        }  # fmt: skip
        own = self.engine.output_feature_params
        for key in keys:
            if key in own:
                value = feature.get(key, own[key].default)
                out[key] = check_value(f"{path}.{key}", value, own[key], self.engine.name)
        return out

    def chosen(self, feature: dict, ftype: str, feature_path: str, section: str) -> dict:
        """An output's decoder or loss: the kind from `type`, its keys from the kind's table."""
        path = f"{feature_path}.{section}"
        kinds = self.engine.decoders if section == "decoder" else self.engine.losses
        defaults = self.engine.default_decoders if section == "decoder" else tables.DEFAULT_LOSSES
        block = mapping(feature.get(section), path, f"{{type: {defaults[ftype]}}}")
        kind = block.get("type", defaults[ftype])
        allowed = ", ".join(kinds[ftype])
        if kind not in kinds[ftype] and section == "decoder":
            raise ConfigError(
                f"{path}.type: {show_given(kind)} is not a decoder for {ftype} output features "
                f"in the {self.engine.name} engine; allowed: {allowed}."
            )
        if kind not in kinds[ftype]:
            raise NotSupportedError(
                f"{path}.type: {show_given(kind)} is not supported for {ftype} outputs by the "
                f"{self.engine.name} engine; allowed: {allowed}."
            )
        if section == "decoder" and "clip" in block and "clip" in tables.OUTPUT_FEATURE_KEYS[ftype]:
            raise ConfigError(
                f"{path}.clip: clip is a parameter of the {ftype} output feature itself in "
                f"Ludwig; move it to {feature_path}.clip."
            )
        what = f"{section} '{kind}' of {ftype} output features"
        return self.typed(block, path, kinds[ftype][kind], kind, what)

    # ---------------------------------------------------------------- sections

    def combiner(self, value: Any, model_type: str) -> dict[str, Any] | None:
        if model_type == "gbm":
            if value not in (None, {}):
                raise ConfigError(
                    "combiner: a gbm model has no combiner (the trees see the encoded features "
                    "directly); remove the combiner section or set model_type: ecd."
                )
            return None
        block = mapping(value, "combiner", "{type: concat}")
        kind = block.get("type", "concat")
        if kind in tables.LUDWIG_COMBINERS:
            raise NotSupportedError(
                f"combiner.type: combiner '{kind}' {self.engine.combiner_reason}; allowed: concat."
            )
        return self.params(block, self.engine.combiner, "combiner", f"combiner '{kind}'")

    def optimizer(self, value: Any, path: str) -> dict[str, Any]:
        value = mapping(value, path, "{type: adam}")
        kind = value.get("type", "adam")
        canonical = tables.OPTIMIZER_ALIASES.get(kind, kind)
        optimizers = self.engine.optimizers
        if canonical not in optimizers:
            note = f" ({self.engine.optimizer_note})" if self.engine.optimizer_note else ""
            raise NotSupportedError(
                f"{path}.type: optimizer {show_given(kind)} is not available in the "
                f"{self.engine.name} engine{note}; allowed: {', '.join(optimizers)}, "
                f"{', '.join(tables.OPTIMIZER_ALIASES)}."
            )
        body = {k: v for k, v in value.items() if k != "type"}
        params = optimizers[canonical]
        for key in body:
            if key not in params:
                raise self.unknown(f"{path}.{key}", f"optimizer '{canonical}'", ["type", *params])
        checked = self.params(body, params, path, f"optimizer '{canonical}'")
        if canonical == "adam":
            _upgrade_adam_spelling(checked, body, path)
        return {"type": canonical, **checked}

    def trainer(self, value: Any, model_type: str) -> dict[str, Any]:
        params = self.engine.trainers[model_type]
        block = dict(mapping(value, "trainer", "{epochs: 10}"))
        nested = {
            "optimizer": lambda v: self.optimizer(v, "trainer.optimizer"),
            "learning_rate_scheduler": lambda v: self.params(
                v, self.engine.lr_scheduler, "trainer.learning_rate_scheduler",
                "the learning rate scheduler",
            ),
            "gradient_clipping": lambda v: self.params(
                v, self.engine.gradient_clipping, "trainer.gradient_clipping", "gradient clipping"
            ),
        }  # fmt: skip
        given = {key: block.pop(key, None) for key in nested}
        for key, present in given.items():
            if key not in params and present is not None:
                raise self.unknown(f"trainer.{key}", f"the {model_type} trainer", params)
        checked = self.params(block, params, "trainer", f"the {model_type} trainer")
        for key, check in nested.items():
            if key in params:
                checked[key] = check(given[key])
        schedule = checked.get("learning_rate_scheduler") or {}
        if schedule.get("warmup_evaluations") and schedule.get("warmup_fraction"):
            raise ConfigError(
                "trainer.learning_rate_scheduler: give either warmup_evaluations "
                f"({show_plain(schedule['warmup_evaluations'])}) or warmup_fraction "
                f"({show_plain(schedule['warmup_fraction'])}), not both."
            )
        return checked

    def global_preprocessing(self, value: Any) -> dict[str, Any]:
        block = dict(mapping(value, "preprocessing", "{split: {type: random}}"))
        split = block.pop("split", None)
        checked = self.params(
            block, tables.GLOBAL_PREPROCESSING, "preprocessing", "global preprocessing"
        )
        checked["split"] = data.validate_split_config(split)
        if checked["sample_size"] is not None and checked["sample_ratio"] != 1.0:
            raise ConfigError(
                "preprocessing.sample_size: give either sample_size or sample_ratio, not both."
            )
        return checked

    # ---------------------------------------------------------------- the whole config

    def config(self, config: Any) -> dict[str, Any]:
        if not isinstance(config, dict):
            raise ConfigError(
                "model config: expected a mapping with input_features and output_features."
            )
        for key in config:
            if key not in tables.TOP_LEVEL:
                raise ConfigError(
                    f"{key}: unknown section of the model config (engine {self.engine.name}); "
                    f"valid: {', '.join(tables.TOP_LEVEL)}."
                )
        model_type = config.get("model_type", "ecd")
        if model_type in self.engine.model_type_reasons:
            raise NotSupportedError(
                f"model_type: {model_type} is not supported by the {self.engine.name} engine "
                f"{self.engine.model_type_reasons[model_type]}."
            )
        if model_type not in self.engine.model_types:
            raise ConfigError(
                f"model_type: {show_given(model_type)} is not allowed; allowed: "
                f"{', '.join(self.engine.model_types)}."
            )
        inputs_raw, outputs_raw = config.get("input_features"), config.get("output_features")
        for section, raw in (("input_features", inputs_raw), ("output_features", outputs_raw)):
            if not isinstance(raw, list) or not raw:
                raise ConfigError(
                    f"{section}: give a non-empty list of features (each with name and type)."
                )
        seen: set[str] = set()
        names_in = [feature_name(f, "input_features", i, seen) for i, f in enumerate(inputs_raw)]
        names_out = [feature_name(f, "output_features", i, seen) for i, f in enumerate(outputs_raw)]
        if len(outputs_raw) > 1:
            raise NotSupportedError(
                f"output_features: {len(outputs_raw)} output features ({', '.join(names_out)}) "
                "are not supported yet; give exactly one."
            )
        out = {
            "model_type": model_type,
            "input_features": [
                self.input_feature(f, f"input_features.{n}")
                for f, n in zip(inputs_raw, names_in, strict=True)
            ],
            "output_features": [
                self.output_feature(f, f"output_features.{n}")
                for f, n in zip(outputs_raw, names_out, strict=True)
            ],
            "combiner": self.combiner(config.get("combiner"), model_type),
            "trainer": self.trainer(config.get("trainer"), model_type),
            "preprocessing": self.global_preprocessing(config.get("preprocessing")),
        }
        self.engine.resolve_auto(out)
        _check_selection(out)
        self.engine.check_model(out)
        return out


def mapping(block: Any, path: str, example: str) -> dict:
    """`block` if it is a mapping, {} for null, else a ConfigError showing an example."""
    if block is None:
        return {}
    if not isinstance(block, dict):
        raise ConfigError(f"{path}: {block!r} is not allowed; give a mapping like {example}.")
    return block


def feature_name(feature: Any, section: str, index: int, seen: set[str]) -> str:
    """The feature's name, refused when it cannot serve as a parameter path segment."""
    if not isinstance(feature, dict):
        raise ConfigError(
            f"{section}[{index}]: {feature!r} is not a feature; give a mapping with name and type."
        )
    name = feature.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(
            f"{section}[{index}].name: {name!r} is not allowed; every feature needs a name "
            "(a string)."
        )
    if "." in name or "/" in name:
        raise ConfigError(
            f"{section}.{name}: feature names may not contain '.' or '/' (dots separate hyperopt "
            "parameter paths and slashes separate folders); rename the feature and set "
            "`column` to the dataset column."
        )
    if name in tables.SECTION_NAMES:
        raise ConfigError(
            f"{section}.{name}: a feature may not be named like a config section "
            f"({', '.join(tables.SECTION_NAMES)}): hyperopt parameter names would be ambiguous; "
            "rename the feature and set `column` to the dataset column."
        )
    if name in seen:
        raise ConfigError(
            f"{section}.{name}: duplicate feature name {name!r}; feature names must be unique."
        )
    seen.add(name)
    return name


def _upgrade_adam_spelling(checked: dict[str, Any], body: dict[str, Any], path: str) -> None:
    """Fold the older beta_1/beta_2/epsilon spellings into betas/eps (refusing both at once)."""
    legacy = {k: checked.pop(k, None) for k in tables.ADAM_LEGACY}
    if legacy["beta_1"] is not None or legacy["beta_2"] is not None:
        if "betas" in body:
            raise ConfigError(f"{path}: give either betas or beta_1/beta_2, not both.")
        betas = list(checked["betas"])
        if legacy["beta_1"] is not None:
            betas[0] = legacy["beta_1"]
        if legacy["beta_2"] is not None:
            betas[1] = legacy["beta_2"]
        checked["betas"] = betas
    if legacy["epsilon"] is not None:
        if "eps" in body:
            raise ConfigError(f"{path}: give either eps or epsilon, not both.")
        checked["eps"] = legacy["epsilon"]


def _check_metric(path: str, metric: str, field_: str, output: dict) -> None:
    from snaketune import metrics

    try:
        metrics.check_metric(metric, field_, output["type"])
    except ConfigError as exc:
        message = str(exc).removeprefix("hyperopt.metric: ")
        raise ConfigError(f"{path}: {message}") from None


def _check_selection(config: dict[str, Any]) -> None:
    """The trainer's validation field and metrics name this model's output and its metrics."""
    output, trainer = config["output_features"][0], config["trainer"]
    field_ = trainer.get("validation_field")
    if field_ is not None and field_ not in ("combined", output["name"]):
        raise ConfigError(
            f"trainer.validation_field: {field_!r} is not allowed; allowed: combined, "
            f"{output['name']}."
        )
    if trainer.get("validation_metric") is not None:
        path = "trainer.validation_metric"
        _check_metric(path, trainer["validation_metric"], field_ or output["name"], output)
    schedule = trainer.get("learning_rate_scheduler")
    if schedule:
        path = "trainer.learning_rate_scheduler.reduce_eval_metric"
        _check_metric(path, schedule["reduce_eval_metric"], output["name"], output)
