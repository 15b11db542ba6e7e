"""The model config the scikit-learn engine accepts, as plain data, and its checker.

Every section, feature type, encoder, decoder, loss, combiner, trainer and optimizer
maps parameter names to a `Param`: Ludwig's default (or ours where scikit-learn
differs; docs/config.md lists those), the type and the allowed values. A `Param`
with `fixed` set is a Ludwig parameter that scikit-learn cannot realize: only the
value given as its default is accepted, and the message says why.

`validate(config)` checks a resolved trial config completely; `with_defaults(config)`
returns a copy where every parameter has its value.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from snaketune import data
from snaketune.errors import ConfigError, NotSupportedError, show

ENGINE_NAME = "sklearn"
UNKNOWN_SYMBOL = "<UNK>"
INPUT_TYPES = ("number", "binary", "category", "text")
OUTPUT_TYPES = ("binary", "category", "number")
MODEL_TYPES = ("ecd", "gbm")
# Ludwig feature types that exist but that this engine has no preprocessing for.
_LUDWIG_TYPES = ("set", "bag", "sequence", "image", "audio", "date", "h3", "vector", "timeseries")
SECTION_NAMES = (
    "trainer",
    "combiner",
    "preprocessing",
    "defaults",
    "hyperopt",
    "input_features",
    "output_features",
    "model_type",
)
# Top-level keys that are accepted and ignored here (other modules read or strip them).
IGNORED_TOP_LEVEL = ("defaults", "hyperopt", "ludwig_version", "backend")
TORCH_HINT = "run with --config engine=torch; install PyTorch with pip install 'snaketune[torch]'"


# --------------------------------------------------------------------------- parameters


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
            return f"only {_show(self.default)} (the default)"
        if self.kind == "choice":
            values = [_show(c) for c in self.choices]
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
            bounds.append(f"{'>' if self.min_exclusive else '>='} {_show(self.min)}")
        if self.max is not None:
            bounds.append(f"<= {_show(self.max)}")
        text = kind + (" " + " and ".join(bounds) if bounds else "")
        return text + (", or null" if self.nullable else "")


def _plain(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    return repr(value) if not isinstance(value, float) else f"{value:g}"


def _show(value: Any) -> str:
    return show(value, _plain)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def check_value(path: str, value: Any, param: Param) -> Any:
    """The value (normalized) if allowed, else ConfigError naming the path and what is allowed."""

    def bad(reason: str = "") -> ConfigError:
        shown = _show(value) if not isinstance(value, dict | list) else repr(value)
        return ConfigError(
            f"{path}: {shown!s} is not allowed; {reason or 'allowed: ' + param.allowed()}."
        )

    if param.fixed is not None:
        if value == param.default or (
            _is_number(value) and _is_number(param.default) and math.isclose(value, param.default)
        ):
            return param.default
        shown = _show(value) if not isinstance(value, dict | list) else repr(value)
        raise NotSupportedError(
            f"{path}: {shown} is not supported by the sklearn engine: {param.fixed}; "
            f"only {_show(param.default)} is accepted."
        )
    if param.kind == "custom":
        return param.check(path, value) if param.check is not None else value
    if value is None:
        if param.nullable or param.default is None:
            return None
        raise bad()
    if param.kind == "any":
        return value
    if param.kind == "bool":
        if not isinstance(value, bool):
            raise bad()
        return value
    if param.kind == "str":
        if not isinstance(value, str):
            raise bad()
        return value
    if param.kind == "choice":
        if isinstance(value, str) and value in param.aliases:
            return value
        if not any(value == c and type(value) is type(c) for c in param.choices):
            raise bad()
        return value
    if param.kind == "int":
        if not _is_int(value):
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            else:
                raise bad()
    elif param.kind == "float":
        if not _is_number(value) or not math.isfinite(value):
            raise bad()
        value = float(value)
    if param.min is not None and (
        value < param.min or (param.min_exclusive and value == param.min)
    ):
        raise bad()
    if param.max is not None and value > param.max:
        raise bad()
    return value


def P(default: Any, kind: str, **kw: Any) -> Param:  # noqa: N802 - reads like a table
    return Param(default, kind, **kw)


def fixed(default: Any, reason: str) -> Param:
    return Param(default, "any", fixed=reason)


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


# --------------------------------------------------------------------------- custom checks


def _check_pair(path: str, value: Any) -> list[float]:
    if not (
        isinstance(value, list | tuple) and len(value) == 2 and all(_is_number(v) for v in value)
    ):
        raise ConfigError(f"{path}: {value!r} is not allowed; give two numbers, e.g. [0.9, 0.999].")
    if not all(0 <= v < 1 for v in value):
        raise ConfigError(f"{path}: {list(value)!r} is not allowed; both values must be in [0, 1).")
    return [float(v) for v in value]


def _check_clip(path: str, value: Any) -> list[float] | None:
    if value is None:
        return None
    if not (
        isinstance(value, list | tuple) and len(value) == 2 and all(_is_number(v) for v in value)
    ):
        raise ConfigError(f"{path}: {value!r} is not allowed; give [min, max] or null.")
    if value[0] > value[1]:
        raise ConfigError(f"{path}: {list(value)!r} is not allowed; min must not exceed max.")
    return [float(v) for v in value]


def _check_batch_size(path: str, value: Any) -> int:
    """auto becomes AUTO_BATCH_SIZE here, so the trainers always get a number."""
    if value == "auto":
        return AUTO_BATCH_SIZE
    if _is_int(value) and value >= 1:
        return value
    raise ConfigError(f"{path}: {_show(value)} is not allowed; allowed: an integer >= 1, or auto.")


def _check_learning_rate(path: str, value: Any) -> float | str:
    """auto stays auto here: its number depends on the input features (`resolve_auto`)."""
    if value == "auto":
        return "auto"
    if not _is_number(value) or not math.isfinite(value) or value <= 0:
        raise ConfigError(f"{path}: {_show(value)} is not allowed; allowed: a number > 0.")
    return float(value)


def _check_gbm_learning_rate(path: str, value: Any) -> float:
    """Ludwig's GBM trainer never accepted auto (its learning_rate is a plain number)."""
    if value == "auto":
        raise ConfigError(
            f"{path}: auto is not allowed for model_type gbm (Ludwig's GBM trainer has no "
            "automatic learning rate); allowed: a number > 0, e.g. the default 0.03."
        )
    return _check_learning_rate(path, value)


def _check_eval_batch_size(path: str, value: Any) -> Any:
    if value is None or value == "auto" or (_is_int(value) and value >= 0):
        return value
    raise ConfigError(
        f"{path}: {_show(value)} is not allowed; allowed: an integer >= 0, auto or null."
    )


def _check_smooth(path: str, value: Any) -> Any:
    if value == "auto" or (_is_number(value) and value >= 0):
        return value
    raise ConfigError(f"{path}: {_show(value)} is not allowed; allowed: auto or a number >= 0.")


def _check_optional_str(path: str, value: Any) -> Any:
    if value is None or isinstance(value, str):
        return value
    raise ConfigError(f"{path}: {value!r} is not allowed; allowed: a string or null.")


def _check_fill_value_any(path: str, value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise ConfigError(f"{path}: {value!r} is not allowed; allowed: true, false, 0, 1 or a label.")


# --------------------------------------------------------------------------- tables

_FILL_COMMON = ("fill_with_const", "fill_with_mode", "bfill", "ffill", "drop_row")
_NORMALIZATIONS = ("zscore", "minmax", "iq", "log1p")

NUMBER_PREPROCESSING = {
    "missing_value_strategy": P(
        "fill_with_const", "choice", choices=(*_FILL_COMMON, "fill_with_mean")
    ),
    "fill_value": P(0.0, "float"),
    "normalization": P("zscore", "choice", choices=_NORMALIZATIONS, nullable=True),
    "outlier_strategy": P(
        None,
        "choice",
        choices=("fill_with_const", "fill_with_mean", "fill_with_mode"),
        nullable=True,
    ),
    "outlier_threshold": P(3.0, "float", min=0.0, min_exclusive=True),
}
BINARY_PREPROCESSING = {
    "missing_value_strategy": P(
        "fill_with_false", "choice", choices=("fill_with_false", *_FILL_COMMON)
    ),
    "fill_value": P(None, "custom", check=_check_fill_value_any),
    "fallback_true_label": P(None, "custom", check=_check_optional_str),
}
CATEGORY_PREPROCESSING = {
    "missing_value_strategy": P("fill_with_const", "choice", choices=_FILL_COMMON),
    "fill_value": P(UNKNOWN_SYMBOL, "str"),
    "lowercase": P(False, "bool"),
    "most_common": P(10000, "int", min=1),
}
TEXT_PREPROCESSING = {
    "missing_value_strategy": P("fill_with_const", "choice", choices=_FILL_COMMON),
    "fill_value": P(UNKNOWN_SYMBOL, "str"),
    "tokenizer": P(
        "space_punct", "choice", choices=("space_punct", "space", "ngram", "characters")
    ),
    "lowercase": P(True, "bool"),
    "most_common": P(20000, "int", min=1),
    "max_sequence_length": P(256, "int", min=1),
    "ngram_size": P(2, "int", min=1),
}
INPUT_PREPROCESSING = {
    "number": NUMBER_PREPROCESSING,
    "binary": BINARY_PREPROCESSING,
    "category": CATEGORY_PREPROCESSING,
    "text": TEXT_PREPROCESSING,
}
OUTPUT_PREPROCESSING = {
    "number": {
        **NUMBER_PREPROCESSING,
        "missing_value_strategy": P(
            "drop_row", "choice", choices=(*_FILL_COMMON, "fill_with_mean")
        ),
        "normalization": P(None, "choice", choices=_NORMALIZATIONS, nullable=True),
    },
    "binary": {
        **BINARY_PREPROCESSING,
        "missing_value_strategy": P(
            "drop_row", "choice", choices=("fill_with_false", *_FILL_COMMON)
        ),
    },
    "category": {
        **CATEGORY_PREPROCESSING,
        "missing_value_strategy": P("drop_row", "choice", choices=_FILL_COMMON),
    },
}

_SVD = P(None, "int", min=1, nullable=True)
ENCODERS: dict[str, dict[str, dict[str, Param]]] = {
    "number": {"passthrough": {}},
    "binary": {"passthrough": {}},
    "category": {
        "onehot": {},
        "ordinal": {},
        "target": {"smooth": P("auto", "custom", check=_check_smooth), "cv": P(5, "int", min=2)},
    },
    "text": {
        "tf_idf": {
            "norm": P("l2", "choice", choices=("l2", "l1"), nullable=True),
            "use_idf": P(True, "bool"),
            "smooth_idf": P(True, "bool"),
            "sublinear_tf": P(False, "bool"),
            "embedding_size": _SVD,
        },
        "bag": {"binary": P(False, "bool"), "embedding_size": _SVD},
    },
}
DEFAULT_ENCODERS = {
    "number": "passthrough",
    "binary": "passthrough",
    "category": "onehot",
    "text": "tf_idf",
}
# Ludwig encoders that are neural networks: they need the torch engine.
NEURAL_ENCODERS = {
    "number": ("dense", "sparse"),
    "binary": ("dense",),
    "category": ("dense", "sparse", "embed", "passthrough"),
    "text": (
        "parallel_cnn",
        "stacked_cnn",
        "stacked_parallel_cnn",
        "rnn",
        "cnnrnn",
        "transformer",
        "embed",
        "dense",
        "sparse",
        "bert",
        "gpt",
        "gpt2",
        "roberta",
        "distilbert",
        "t5",
        "mt5",
        "electra",
        "xlnet",
        "xlm",
        "xlmroberta",
        "flaubert",
        "camembert",
        "albert",
        "longformer",
        "ctrl",
        "transformer_xl",
        "auto_transformer",
        "deberta",
        "llm",
    ),
}

_ACTIVATIONS = ("relu", "tanh", "sigmoid", "linear")
_ACTIVATION_ALIASES = ("logistic", "identity")
# Ludwig activation names -> scikit-learn's MLP activation names.
SKLEARN_ACTIVATION = {
    "relu": "relu",
    "tanh": "tanh",
    "sigmoid": "logistic",
    "logistic": "logistic",
    "linear": "identity",
    "identity": "identity",
}
_ONE_ACTIVATION = "scikit-learn's MLP applies one activation to every hidden layer"

FC_STACK = {
    "num_fc_layers": P(0, "int", min=0),
    "fc_output_size": P(256, "int", min=1),
    "fc_layers": P(None, "custom", check=lambda p, v: _check_fc_layers(p, v)),
    "fc_activation": P("relu", "choice", choices=_ACTIVATIONS, aliases=_ACTIVATION_ALIASES),
    "fc_dropout": fixed(0.0, "scikit-learn's MLP has no dropout"),
    "fc_norm": fixed(None, "scikit-learn's MLP has no batch or layer normalization"),
    "fc_use_bias": fixed(True, "scikit-learn's MLP always has biases"),
    "use_bias": fixed(True, "scikit-learn's MLP always has biases"),
}
DECODERS: dict[str, dict[str, dict[str, Param]]] = {
    "binary": {"classifier": dict(FC_STACK), "regressor": dict(FC_STACK)},
    "category": {"classifier": dict(FC_STACK)},
    "number": {"regressor": {**FC_STACK, "clip": P(None, "custom", check=_check_clip)}},
}
DEFAULT_DECODERS = {"binary": "classifier", "category": "classifier", "number": "regressor"}

_LOSS_COMMON = {"weight": fixed(1.0, "there is only one output feature, so its loss has no weight")}
LOSSES: dict[str, dict[str, dict[str, Param]]] = {
    "binary": {
        "binary_weighted_cross_entropy": {
            **_LOSS_COMMON,
            "positive_class_weight": fixed(
                None, "scikit-learn's MLP and boosting have no class weights here"
            ),
            "robust_lambda": fixed(0, "scikit-learn's log loss has no robust variant"),
            "confidence_penalty": fixed(0, "scikit-learn's log loss has no confidence penalty"),
        }
    },
    "category": {
        "softmax_cross_entropy": {
            **_LOSS_COMMON,
            "class_weights": fixed(None, "scikit-learn's MLP has no class weights"),
            "robust_lambda": fixed(0, "scikit-learn's log loss has no robust variant"),
            "confidence_penalty": fixed(0, "scikit-learn's log loss has no confidence penalty"),
            "class_similarities": fixed(None, "scikit-learn's log loss has no class similarities"),
            "class_similarities_temperature": fixed(
                0, "scikit-learn's log loss has no class similarities"
            ),
        }
    },
    "number": {
        "mean_squared_error": dict(_LOSS_COMMON),
        # Only HistGradientBoosting has it (loss='absolute_error'); checked per model type.
        "mean_absolute_error": dict(_LOSS_COMMON),
    },
}
DEFAULT_LOSSES = {
    "binary": "binary_weighted_cross_entropy",
    "category": "softmax_cross_entropy",
    "number": "mean_squared_error",
}

INPUT_FEATURE_KEYS = ("name", "type", "column", "preprocessing", "encoder", "tied")
OUTPUT_FEATURE_KEYS = {
    "binary": ("name", "type", "column", "preprocessing", "decoder", "loss", "threshold",
               "dependencies", "reduce_input", "reduce_dependencies", "calibration"),
    "category": ("name", "type", "column", "preprocessing", "decoder", "loss", "top_k",
                 "dependencies", "reduce_input", "reduce_dependencies", "calibration"),
    "number": ("name", "type", "column", "preprocessing", "decoder", "loss",
               "dependencies", "reduce_input", "reduce_dependencies"),
}  # fmt: skip
OUTPUT_FEATURE_PARAMS = {
    "threshold": fixed(0.5, "metrics use Ludwig's default decision threshold 0.5"),
    "top_k": P(3, "int", min=1),
    "dependencies": fixed([], "there is only one output feature"),
    "reduce_input": fixed("sum", "the combiner output is already a vector"),
    "reduce_dependencies": fixed("sum", "there is only one output feature"),
    "calibration": fixed(False, "temperature scaling needs the torch engine"),
}

COMBINER = {
    "type": P("concat", "choice", choices=("concat",)),
    "num_fc_layers": P(0, "int", min=0),
    "output_size": P(256, "int", min=1),
    "fc_layers": P(None, "custom", check=lambda p, v: _check_fc_layers(p, v)),
    "activation": P("relu", "choice", choices=_ACTIVATIONS, aliases=_ACTIVATION_ALIASES),
    "dropout": fixed(0.0, "scikit-learn's MLP has no dropout"),
    "norm": fixed(None, "scikit-learn's MLP has no batch or layer normalization"),
    "norm_params": fixed(None, "scikit-learn's MLP has no batch or layer normalization"),
    "residual": fixed(False, "scikit-learn's MLP has no residual connections"),
    "use_bias": fixed(True, "scikit-learn's MLP always has biases"),
    "flatten_inputs": fixed(False, "inputs are already flat vectors"),
}
NEURAL_COMBINERS = (
    "sequence_concat",
    "sequence",
    "tabnet",
    "transformer",
    "tabtransformer",
    "comparator",
    "project_aggregate",
    "ft_transformer",
)
FC_LAYER_KEYS = ("output_size", "activation")

OPTIMIZERS = {
    "adam": {
        "type": P("adam", "str"),
        "betas": P([0.9, 0.999], "custom", check=_check_pair),
        "eps": P(1e-08, "float", min=0.0, min_exclusive=True),
        # Older Ludwig docs spell them beta_1 / beta_2 / epsilon.
        "beta_1": P(None, "float", min=0.0, max=0.999999, nullable=True),
        "beta_2": P(None, "float", min=0.0, max=0.999999, nullable=True),
        "epsilon": P(None, "float", min=0.0, min_exclusive=True, nullable=True),
        "weight_decay": fixed(
            0.0, "use trainer.regularization_lambda (scikit-learn's L2 penalty alpha)"
        ),
        "amsgrad": fixed(False, "scikit-learn's Adam has no AMSGrad variant"),
    },
    "sgd": {
        "type": P("sgd", "str"),
        "momentum": P(0.0, "float", min=0.0, max=1.0),
        "nesterov": P(False, "bool"),
        "weight_decay": fixed(
            0.0, "use trainer.regularization_lambda (scikit-learn's L2 penalty alpha)"
        ),
        "dampening": fixed(0.0, "scikit-learn's SGD has no dampening"),
    },
}
OPTIMIZER_ALIASES = {"stochastic_gradient_descent": "sgd", "gd": "sgd", "gradient_descent": "sgd"}
_CONSTANT_LR = "scikit-learn's MLP keeps the learning rate constant between partial_fit epochs"
LR_SCHEDULER = {
    "decay": fixed(None, _CONSTANT_LR),
    "decay_rate": fixed(0.96, _CONSTANT_LR),
    "decay_steps": fixed(10000, _CONSTANT_LR),
    "staircase": fixed(False, _CONSTANT_LR),
    "reduce_on_plateau": fixed(0, _CONSTANT_LR),
    "reduce_on_plateau_patience": fixed(10, _CONSTANT_LR),
    "reduce_on_plateau_rate": fixed(0.1, _CONSTANT_LR),
    "reduce_eval_metric": fixed("loss", _CONSTANT_LR),
    "reduce_eval_split": fixed("training", _CONSTANT_LR),
    "warmup_evaluations": fixed(0, _CONSTANT_LR),
    "warmup_fraction": fixed(0.0, _CONSTANT_LR),
}
_NO_CLIP = "scikit-learn's MLP does not clip gradients"
GRADIENT_CLIPPING = {
    "clipglobalnorm": fixed(None, _NO_CLIP),
    "clipnorm": fixed(None, _NO_CLIP),
    "clipvalue": fixed(None, _NO_CLIP),
}
_SELECTION = {
    "validation_field": P(None, "custom", check=_check_optional_str),
    "validation_metric": P(None, "custom", check=_check_optional_str),
    "eval_batch_size": P(None, "custom", check=_check_eval_batch_size),
    "evaluate_training_set": fixed(
        True, "the sklearn engine evaluates the whole training set after every epoch"
    ),
}
ECD_TRAINER = {
    "type": P("trainer", "choice", choices=("trainer",)),
    "epochs": P(100, "int", min=1),
    "batch_size": P(128, "custom", check=_check_batch_size),
    "learning_rate": P(0.001, "custom", check=_check_learning_rate),
    "optimizer": P({"type": "adam"}, "custom"),  # checked in _optimizer
    "regularization_lambda": P(0.0, "float", min=0.0),
    "regularization_type": fixed("l2", "scikit-learn's MLP only has an L2 penalty"),
    "early_stop": P(5, "int", min=-1),
    "should_shuffle": P(True, "bool"),
    **_SELECTION,
    "train_steps": fixed(None, "training length is counted in epochs (one partial_fit pass each)"),
    "steps_per_checkpoint": fixed(0, "the MLP is evaluated once per epoch (one partial_fit pass)"),
    "checkpoints_per_epoch": fixed(0, "the MLP is evaluated once per epoch (one partial_fit pass)"),
    "learning_rate_scheduler": P(None, "custom"),  # checked in _sub_section
    "gradient_clipping": P(None, "custom"),  # checked in _sub_section
    "use_mixed_precision": fixed(False, "scikit-learn computes in float64"),
    "compile": fixed(False, "there is no torch model to compile"),
}
_NO_BAGGING = "HistGradientBoosting has no row subsampling (bagging)"
GBM_TRAINER = {
    "type": P("lightgbm_trainer", "choice", choices=("lightgbm_trainer",)),
    "num_boost_round": P(1000, "int", min=1),
    "boosting_rounds_per_checkpoint": P(50, "int", min=1),
    "learning_rate": P(0.03, "custom", check=_check_gbm_learning_rate),
    "num_leaves": P(82, "int", min=2),
    "max_depth": P(18, "int"),
    "min_data_in_leaf": P(20, "int", min=1),
    "lambda_l2": P(0.2, "float", min=0.0),
    "feature_fraction": P(0.75, "float", min=0.0, max=1.0, min_exclusive=True),
    "feature_fraction_bynode": P(1.0, "float", min=0.0, max=1.0, min_exclusive=True),
    "max_bin": P(255, "int", min=2, max=255),
    "early_stop": P(5, "int", min=-1),
    **_SELECTION,
    "boosting_type": fixed("gbdt", "HistGradientBoosting only does plain gradient boosting"),
    "tree_learner": fixed("serial", "HistGradientBoosting has one tree learner"),
    "lambda_l1": fixed(0.0, "HistGradientBoosting has no L1 penalty"),
    "min_gain_to_split": fixed(0.0, "HistGradientBoosting has no minimum split gain"),
    "min_sum_hessian_in_leaf": fixed(1e-3, "HistGradientBoosting fixes it at 1e-3"),
    "bagging_fraction": fixed(1.0, _NO_BAGGING),
    "bagging_freq": fixed(0, _NO_BAGGING),
    "extra_trees": fixed(False, "HistGradientBoosting has no extremely randomized trees"),
    "max_delta_step": fixed(0.0, "HistGradientBoosting has no leaf output limit"),
}
TRAINERS = {"ecd": ECD_TRAINER, "gbm": GBM_TRAINER}

GLOBAL_PREPROCESSING = {
    "split": P(None, "custom"),  # checked by data.validate_split_config
    "sample_ratio": P(1.0, "float", min=0.0, max=1.0, min_exclusive=True),
    "sample_size": P(None, "int", min=1, nullable=True),
}
TOP_LEVEL = (
    "model_type",
    "input_features",
    "output_features",
    "combiner",
    "trainer",
    "preprocessing",
    *IGNORED_TOP_LEVEL,
)


# --------------------------------------------------------------------------- helpers


def _unknown(path: str, what: str, valid: Any) -> ConfigError:
    return ConfigError(
        f"{path}: unknown parameter for {what} (engine {ENGINE_NAME}); valid: {', '.join(valid)}."
    )


def _check_params(section: Any, params: dict[str, Param], path: str, what: str) -> dict[str, Any]:
    """Every key known, every value allowed; returns the section with defaults filled."""
    if section is None:
        section = {}
    if not isinstance(section, dict):
        raise ConfigError(f"{path}: {section!r} is not allowed; give a mapping of parameters.")
    out: dict[str, Any] = {}
    for key, value in section.items():
        if key not in params:
            raise _unknown(f"{path}.{key}", what, params)
        out[key] = check_value(f"{path}.{key}", value, params[key])
    for key, param in params.items():
        if key not in out:
            out[key] = copy.deepcopy(param.default)
    return out


def _check_fc_layers(path: str, value: Any) -> list[dict] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not value:
        raise ConfigError(
            f"{path}: {value!r} is not allowed; give a non-empty list like [{{output_size: 64}}]."
        )
    layers = []
    for i, layer in enumerate(value):
        where = f"{path}[{i}]"
        if not isinstance(layer, dict):
            raise ConfigError(
                f"{where}: {layer!r} is not allowed; each layer is a mapping like "
                "{output_size: 64}."
            )
        for key in layer:
            if key not in FC_LAYER_KEYS:
                raise ConfigError(
                    f"{where}.{key}: unknown parameter for a fully connected layer (engine "
                    f"{ENGINE_NAME}); valid: {', '.join(FC_LAYER_KEYS)} ({_ONE_ACTIVATION}, and it "
                    "has no per-layer dropout, norm or initializers)."
                )
        size = layer.get("output_size")
        if not _is_int(size) or size < 1:
            raise ConfigError(
                f"{where}.output_size: {_show(size)} is not allowed; allowed: an integer >= 1."
            )
        entry = {"output_size": size}
        if "activation" in layer:
            entry["activation"] = check_value(
                f"{where}.activation", layer["activation"], COMBINER["activation"]
            )
        layers.append(entry)
    return layers


def _feature_name(feature: Any, section: str, index: int, seen: set[str]) -> str:
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
    if name in SECTION_NAMES:
        raise ConfigError(
            f"{section}.{name}: a feature may not be named like a config section "
            f"({', '.join(SECTION_NAMES)}): hyperopt parameter names would be ambiguous; "
            "rename the feature and set `column` to the dataset column."
        )
    if name in seen:
        raise ConfigError(
            f"{section}.{name}: duplicate feature name {name!r}; feature names must be unique."
        )
    seen.add(name)
    return name


def _feature_type(feature: dict, path: str, allowed: tuple[str, ...], role: str) -> str:
    kind = feature.get("type")
    if kind in allowed:
        return kind
    if kind in _LUDWIG_TYPES or (role == "output" and kind in INPUT_TYPES):
        raise NotSupportedError(
            f"{path}.type: {role} features of type {kind!r} are not supported by the sklearn "
            f"engine yet; supported {role} types: {', '.join(allowed)} (engine: command runs "
            "any program per trial, such as ludwig train, which reads every Ludwig type)."
        )
    raise ConfigError(f"{path}.type: {_show(kind)} is not allowed; allowed: {', '.join(allowed)}.")


def _typed_block(
    block: dict | None, path: str, params: dict[str, Param], kind: str, what: str
) -> dict[str, Any]:
    """A block with a `type` (encoder, decoder, loss): its other keys checked against `params`."""
    body = {k: v for k, v in (block or {}).items() if k != "type"}
    for key in body:
        if key not in params:
            raise _unknown(f"{path}.{key}", what, ["type", *params])
    return {"type": kind, **_check_params(body, params, path, what)}


def _encoder(feature: dict, ftype: str, path: str) -> dict[str, Any]:
    block = feature.get("encoder")
    if block is not None and not isinstance(block, dict):
        raise ConfigError(
            f"{path}: {block!r} is not allowed; give a mapping like "
            f"{{type: {DEFAULT_ENCODERS[ftype]}}}."
        )
    kind = (block or {}).get("type", DEFAULT_ENCODERS[ftype])
    choices = ENCODERS[ftype]
    if kind not in choices:
        if kind in NEURAL_ENCODERS.get(ftype, ()):
            raise NotSupportedError(
                f"{path}.type: encoder '{kind}' is a neural network and needs the torch engine "
                f"({TORCH_HINT}); the sklearn engine's {ftype} encoders are: {', '.join(choices)}."
            )
        raise ConfigError(
            f"{path}.type: {_show(kind)} is not an encoder for {ftype} features; "
            f"the sklearn engine's {ftype} encoders are: {', '.join(choices)}."
        )
    return _typed_block(block, path, choices[kind], kind, f"encoder '{kind}' of {ftype} features")


def _decoder(feature: dict, ftype: str, path: str) -> dict[str, Any]:
    block = feature.get("decoder") or {}
    if not isinstance(block, dict):
        raise ConfigError(
            f"{path}: {block!r} is not allowed; give a mapping like "
            f"{{type: {DEFAULT_DECODERS[ftype]}}}."
        )
    kind = block.get("type", DEFAULT_DECODERS[ftype])
    if kind not in DECODERS[ftype]:
        raise ConfigError(
            f"{path}.type: {_show(kind)} is not a decoder for {ftype} output features in the "
            f"sklearn engine; allowed: {', '.join(DECODERS[ftype])}."
        )
    return _typed_block(
        block, path, DECODERS[ftype][kind], kind, f"decoder '{kind}' of {ftype} output features"
    )


def _loss(feature: dict, ftype: str, path: str) -> dict[str, Any]:
    block = feature.get("loss") or {}
    if not isinstance(block, dict):
        raise ConfigError(
            f"{path}: {block!r} is not allowed; give a mapping like "
            f"{{type: {DEFAULT_LOSSES[ftype]}}}."
        )
    kind = block.get("type", DEFAULT_LOSSES[ftype])
    if kind not in LOSSES[ftype]:
        raise NotSupportedError(
            f"{path}.type: {_show(kind)} is not supported for {ftype} outputs by the sklearn "
            f"engine; allowed: {', '.join(LOSSES[ftype])}."
        )
    return _typed_block(
        block, path, LOSSES[ftype][kind], kind, f"loss '{kind}' of {ftype} output features"
    )


def _sub_section(
    value: Any, params: dict[str, Param], path: str, what: str
) -> dict[str, Any] | None:
    if value is None:
        return None
    checked = _check_params(value, params, path, what)
    return {k: v for k, v in checked.items() if k in value}


def _optimizer(value: Any, path: str) -> dict[str, Any]:
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise ConfigError(f"{path}: {value!r} is not allowed; give a mapping like {{type: adam}}.")
    kind = value.get("type", "adam")
    canonical = OPTIMIZER_ALIASES.get(kind, kind)
    if canonical not in OPTIMIZERS:
        raise NotSupportedError(
            f"{path}.type: optimizer {_show(kind)} is not available in the sklearn engine "
            f"(scikit-learn's MLP has adam and sgd); allowed: {', '.join(OPTIMIZERS)}, "
            f"{', '.join(OPTIMIZER_ALIASES)}."
        )
    body = {k: v for k, v in value.items() if k != "type"}
    checked = _check_params(body, OPTIMIZERS[canonical], path, f"optimizer '{canonical}'")
    checked["type"] = canonical
    if canonical == "adam":
        legacy = {k: checked.pop(k) for k in ("beta_1", "beta_2", "epsilon")}
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
    return checked


# --------------------------------------------------------------------------- sections


def _input_feature(feature: dict, path: str) -> dict[str, Any]:
    ftype = _feature_type(feature, path, INPUT_TYPES, "input")
    for key in feature:
        if key not in INPUT_FEATURE_KEYS:
            raise _unknown(f"{path}.{key}", f"{ftype} input features", INPUT_FEATURE_KEYS)
    if feature.get("tied") is not None:
        raise NotSupportedError(
            f"{path}.tied: {feature['tied']!r} is not supported by the sklearn engine: tied "
            "weights need the torch engine; only null is accepted."
        )
    column = feature.get("column", feature["name"])
    if not isinstance(column, str) or not column:
        raise ConfigError(
            f"{path}.column: {column!r} is not allowed; give the dataset column name."
        )
    return {
        "name": feature["name"],
        "type": ftype,
        "column": column,
        "preprocessing": _check_params(
            feature.get("preprocessing"), INPUT_PREPROCESSING[ftype], f"{path}.preprocessing",
            f"preprocessing of {ftype} input features",
        ),
        "encoder": _encoder(feature, ftype, f"{path}.encoder"),
    }  # fmt: skip


def _output_feature(feature: dict, path: str) -> dict[str, Any]:
    ftype = _feature_type(feature, path, OUTPUT_TYPES, "output")
    keys = OUTPUT_FEATURE_KEYS[ftype]
    for key in feature:
        if key not in keys:
            raise _unknown(f"{path}.{key}", f"{ftype} output features", keys)
    column = feature.get("column", feature["name"])
    if not isinstance(column, str) or not column:
        raise ConfigError(
            f"{path}.column: {column!r} is not allowed; give the dataset column name."
        )
    out = {
        "name": feature["name"],
        "type": ftype,
        "column": column,
        "preprocessing": _check_params(
            feature.get("preprocessing"), OUTPUT_PREPROCESSING[ftype], f"{path}.preprocessing",
            f"preprocessing of {ftype} output features",
        ),
        "decoder": _decoder(feature, ftype, f"{path}.decoder"),
        "loss": _loss(feature, ftype, f"{path}.loss"),
    }  # fmt: skip
    for key in keys:
        if key in OUTPUT_FEATURE_PARAMS:
            param = OUTPUT_FEATURE_PARAMS[key]
            out[key] = check_value(f"{path}.{key}", feature.get(key, param.default), param)
    return out


def _check_text_preprocessing(feature: dict, path: str) -> None:
    prep = feature["preprocessing"]
    if (
        prep["tokenizer"] != "ngram"
        and prep["ngram_size"] != TEXT_PREPROCESSING["ngram_size"].default
    ):
        raise ConfigError(
            f"{path}.preprocessing.ngram_size: {prep['ngram_size']} has no effect with tokenizer "
            f"'{prep['tokenizer']}'; set tokenizer: ngram to build n-grams of 1 to ngram_size "
            "words."
        )


def _combiner(value: Any, model_type: str) -> dict[str, Any] | None:
    if model_type == "gbm":
        if value not in (None, {}):
            raise ConfigError(
                "combiner: a gbm model has no combiner (the trees see the encoded features "
                "directly); remove the combiner section or set model_type: ecd."
            )
        return None
    block = value or {}
    if not isinstance(block, dict):
        raise ConfigError(
            f"combiner: {block!r} is not allowed; give a mapping like {{type: concat}}."
        )
    kind = block.get("type", "concat")
    if kind in NEURAL_COMBINERS:
        raise NotSupportedError(
            f"combiner.type: combiner '{kind}' needs the torch engine ({TORCH_HINT}); the sklearn "
            "engine has: concat."
        )
    return _check_params(block, COMBINER, "combiner", f"combiner '{kind}'")


def _trainer(value: Any, model_type: str) -> dict[str, Any]:
    params = TRAINERS[model_type]
    if not isinstance(value or {}, dict):
        raise ConfigError(
            f"trainer: {value!r} is not allowed; give a mapping of trainer parameters."
        )
    block = dict(value or {})
    optimizer = block.pop("optimizer", None)
    scheduler = block.pop("learning_rate_scheduler", None)
    clipping = block.pop("gradient_clipping", None)
    if model_type == "gbm":
        for key, present in (
            ("optimizer", optimizer),
            ("learning_rate_scheduler", scheduler),
            ("gradient_clipping", clipping),
        ):
            if present is not None:
                raise _unknown(f"trainer.{key}", "the gbm trainer", params)
    checked = _check_params(block, params, "trainer", f"the {model_type} trainer")
    if model_type == "ecd":
        checked["optimizer"] = _optimizer(optimizer, "trainer.optimizer")
        checked["learning_rate_scheduler"] = _sub_section(
            scheduler,
            LR_SCHEDULER,
            "trainer.learning_rate_scheduler",
            "the learning rate scheduler",
        )
        checked["gradient_clipping"] = _sub_section(
            clipping, GRADIENT_CLIPPING, "trainer.gradient_clipping", "gradient clipping"
        )
    return checked


def _global_preprocessing(value: Any) -> dict[str, Any]:
    if not isinstance(value or {}, dict):
        raise ConfigError(
            f"preprocessing: {value!r} is not allowed; give a mapping (split, sample_ratio, ...)."
        )
    block = dict(value or {})
    split = block.pop("split", None)
    checked = _check_params(block, GLOBAL_PREPROCESSING, "preprocessing", "global preprocessing")
    checked["split"] = data.validate_split_config(split)
    if checked["sample_size"] is not None and checked["sample_ratio"] != 1.0:
        raise ConfigError(
            "preprocessing.sample_size: give either sample_size or sample_ratio, not both."
        )
    return checked


def _validation_selection(trainer: dict, output: dict) -> None:
    field_ = trainer.get("validation_field")
    if field_ is not None and field_ not in ("combined", output["name"]):
        raise ConfigError(
            f"trainer.validation_field: {field_!r} is not allowed; allowed: combined, "
            f"{output['name']}."
        )
    metric = trainer.get("validation_metric")
    if metric is not None:
        from snaketune import metrics

        try:
            metrics.check_metric(metric, field_ or output["name"], output["type"])
        except ConfigError as exc:
            message = str(exc).removeprefix("hyperopt.metric: ")
            raise ConfigError(f"trainer.validation_metric: {message}") from None


# --------------------------------------------------------------------------- entry points


def with_defaults(config: dict[str, Any]) -> dict[str, Any]:
    """The checked config with every parameter set (raises ConfigError like `validate`)."""
    if not isinstance(config, dict):
        raise ConfigError(
            "model config: expected a mapping with input_features and output_features."
        )
    for key in config:
        if key not in TOP_LEVEL:
            raise ConfigError(
                f"{key}: unknown section of the model config (engine {ENGINE_NAME}); "
                f"valid: {', '.join(TOP_LEVEL)}."
            )
    model_type = config.get("model_type", "ecd")
    if model_type not in MODEL_TYPES:
        raise ConfigError(
            f"model_type: {_show(model_type)} is not allowed; allowed: {', '.join(MODEL_TYPES)}."
        )
    seen: set[str] = set()
    inputs_raw = config.get("input_features")
    outputs_raw = config.get("output_features")
    for section, raw in (("input_features", inputs_raw), ("output_features", outputs_raw)):
        if not isinstance(raw, list) or not raw:
            raise ConfigError(
                f"{section}: give a non-empty list of features (each with name and type)."
            )
    names_in = [_feature_name(f, "input_features", i, seen) for i, f in enumerate(inputs_raw)]
    names_out = [_feature_name(f, "output_features", i, seen) for i, f in enumerate(outputs_raw)]
    if len(outputs_raw) > 1:
        raise NotSupportedError(
            f"output_features: {len(outputs_raw)} output features ({', '.join(names_out)}) are not "
            "supported yet; give exactly one."
        )
    inputs = [
        _input_feature(f, f"input_features.{n}") for f, n in zip(inputs_raw, names_in, strict=True)
    ]
    for feature in inputs:
        if feature["type"] == "text":
            _check_text_preprocessing(feature, f"input_features.{feature['name']}")
    outputs = [
        _output_feature(f, f"output_features.{n}")
        for f, n in zip(outputs_raw, names_out, strict=True)
    ]
    output = outputs[0]
    out = {
        "model_type": model_type,
        "input_features": inputs,
        "output_features": outputs,
        "combiner": _combiner(config.get("combiner"), model_type),
        "trainer": _trainer(config.get("trainer"), model_type),
        "preprocessing": _global_preprocessing(config.get("preprocessing")),
    }
    resolve_auto(out["trainer"], inputs)
    _check_model_specific(out, output)
    _validation_selection(out["trainer"], output)
    return out


def resolve_auto(trainer: dict[str, Any], input_features: list[dict[str, Any]]) -> None:
    """Replace the `auto` values left in a checked trainer by the numbers this engine uses.

    eval_batch_size has no effect here (a split is evaluated at once), so auto becomes null.
    """
    if trainer.get("learning_rate") == "auto":
        trainer["learning_rate"] = auto_learning_rate(input_features)
    if trainer.get("eval_batch_size") == "auto":
        trainer["eval_batch_size"] = None


def _check_model_specific(config: dict, output: dict) -> None:
    path = f"output_features.{output['name']}"
    decoder = output["decoder"]
    if config["model_type"] == "gbm":
        if decoder["num_fc_layers"] or decoder["fc_layers"]:
            raise ConfigError(
                f"{path}.decoder.num_fc_layers: a gbm model has no fully connected layers; "
                "use 0 (the default) or model_type: ecd."
            )
        return
    if output["type"] == "number" and output["loss"]["type"] == "mean_absolute_error":
        raise NotSupportedError(
            f"{path}.loss.type: mean_absolute_error is not supported for model_type ecd by the "
            "sklearn engine: scikit-learn's MLPRegressor only minimizes squared error; use "
            "mean_squared_error, or model_type: gbm (HistGradientBoosting has absolute_error)."
        )
    combiner = config["combiner"]
    activation = SKLEARN_ACTIVATION[combiner["activation"]]
    for i, layer in enumerate(combiner["fc_layers"] or []):
        if "activation" in layer and SKLEARN_ACTIVATION[layer["activation"]] != activation:
            raise NotSupportedError(
                f"combiner.fc_layers[{i}].activation: {layer['activation']} differs from "
                f"combiner.activation ({combiner['activation']}); {_ONE_ACTIVATION}."
            )
    if (decoder["num_fc_layers"] or decoder["fc_layers"]) and SKLEARN_ACTIVATION[
        decoder["fc_activation"]
    ] != activation:
        raise NotSupportedError(
            f"{path}.decoder.fc_activation: {decoder['fc_activation']} differs from "
            f"combiner.activation ({combiner['activation']}); {_ONE_ACTIVATION}."
        )


def validate(config: dict[str, Any]) -> None:
    with_defaults(config)


def hidden_layer_sizes(config: dict[str, Any]) -> tuple[int, ...]:
    """The MLP's hidden layers: the combiner's fully connected stack, then the decoder's."""
    combiner = config["combiner"]
    decoder = config["output_features"][0]["decoder"]
    if combiner["fc_layers"]:
        layers = [layer["output_size"] for layer in combiner["fc_layers"]]
    else:
        layers = [combiner["output_size"]] * combiner["num_fc_layers"]
    if decoder["fc_layers"]:
        layers += [layer["output_size"] for layer in decoder["fc_layers"]]
    else:
        layers += [decoder["fc_output_size"]] * decoder["num_fc_layers"]
    return tuple(layers)
