"""The model config the torch engine accepts, as plain data, and its checker.

The tables follow Ludwig 0.17's ECD schema: every feature type, encoder, decoder,
loss, combiner, trainer, optimizer and scheduler maps parameter names to a `Param`
(Ludwig's default, kind, allowed values). A `Param` with `fixed` set is a Ludwig
parameter this engine does not implement: only its default is accepted, and the
message says why. docs/torch.md is the reference for every key.

The value checking (`Param`, `check_value`) and the number/binary/category
preprocessing tables are the scikit-learn engine's: both engines preprocess those
types the same way.

`validate(config)` checks a resolved trial config completely; `with_defaults(config)`
returns a copy where every parameter has its value (Ludwig's `auto` values replaced by
numbers); `ludwig_differences(config)` names the Ludwig 0.17 defaults a config relies on
that this engine does not follow.
"""

from __future__ import annotations

import copy
import math
from typing import Any

from snaketune import data
from snaketune.backends.sklearn import schema as sk
from snaketune.backends.sklearn.schema import P, Param, _is_number, _show
from snaketune.errors import ConfigError, NotSupportedError

ENGINE_NAME = "torch"
INPUT_TYPES = ("number", "binary", "category", "text")
OUTPUT_TYPES = ("binary", "category", "number")
_LUDWIG_TYPES = ("set", "bag", "sequence", "image", "audio", "date", "h3", "vector", "timeseries")
IGNORED_TOP_LEVEL = ("defaults", "hyperopt", "ludwig_version", "backend")
SKLEARN_HINT = "--config engine=sklearn"


def fixed(default: Any, reason: str) -> Param:
    return Param(default, "any", fixed=reason)


def check_value(path: str, value: Any, param: Param) -> Any:
    """The value (normalized) if allowed; a fixed parameter's message names this engine."""
    if param.fixed is None:
        return sk.check_value(path, value, param)
    if value == param.default or (
        _is_number(value) and _is_number(param.default) and math.isclose(value, param.default)
    ):
        return param.default
    shown = _show(value) if not isinstance(value, dict | list) else repr(value)
    raise NotSupportedError(
        f"{path}: {shown} is not supported by the torch engine: {param.fixed}; "
        f"only {_show(param.default)} is accepted."
    )


# --------------------------------------------------------------------------- custom checks


def _check_positive_or_null(path: str, value: Any) -> float | None:
    if value is None:
        return None
    if not _is_number(value) or not math.isfinite(value) or value <= 0:
        raise ConfigError(f"{path}: {_show(value)} is not allowed; allowed: a number > 0, or null.")
    return float(value)


def _check_class_weights(path: str, value: Any) -> Any:
    """null, a list of weights (one per class, in the order of the classes) or {label: weight}."""
    if value is None:
        return None
    items = value.values() if isinstance(value, dict) else value
    if not isinstance(value, dict | list) or not value:
        raise ConfigError(
            f"{path}: {value!r} is not allowed; give null, a list of weights (one per class) or a "
            "mapping {label: weight}."
        )
    for weight in items:
        if not _is_number(weight) or not math.isfinite(weight) or weight < 0:
            raise ConfigError(
                f"{path}: {value!r} is not allowed; every weight must be a number >= 0."
            )
    if isinstance(value, dict):
        return {str(k): float(v) for k, v in value.items()}
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


# --------------------------------------------------------------------------- shared choices

ACTIVATIONS = ("relu", "elu", "leakyRelu", "logSigmoid", "sigmoid", "tanh", "softmax", "gelu")
_ACTIVATION_ALIASES = ("linear", "identity")  # no activation (also null)
WEIGHT_INITIALIZERS = (
    "xavier_uniform",
    "xavier_normal",
    "kaiming_uniform",
    "kaiming_normal",
    "orthogonal",
    "uniform",
    "normal",
    "zeros",
    "ones",
)
BIAS_INITIALIZERS = ("zeros", "ones", "uniform", "normal")
REDUCTIONS = ("sum", "mean", "avg", "max", "concat", "last")
POOL_FUNCTIONS = ("max", "mean", "avg", "average")
NORMS = ("batch", "layer")
RNN_CELLS = ("rnn", "lstm", "gru", "lstm_block", "ln", "lstm_cudnn", "gru_block", "gru_cudnn")
# Ludwig's cell names -> the torch module (the block/cudnn variants are the same in PyTorch).
RNN_MODULE = {
    "rnn": "rnn",
    "lstm": "lstm",
    "lstm_block": "lstm",
    "ln": "lstm",
    "lstm_cudnn": "lstm",
    "gru": "gru",
    "gru_block": "gru",
    "gru_cudnn": "gru",
}

_NO_NORM_PARAMS = "batch and layer normalization use PyTorch's defaults (eps, momentum)"


def _activation(default: Any = "relu") -> Param:
    return P(default, "choice", choices=ACTIVATIONS, aliases=_ACTIVATION_ALIASES, nullable=True)


def _weights(default: str | None = "xavier_uniform") -> Param:
    return P(default, "choice", choices=WEIGHT_INITIALIZERS, nullable=default is None)


def _bias() -> Param:
    return P("zeros", "choice", choices=BIAS_INITIALIZERS)


def _dropout() -> Param:
    return P(0.0, "float", min=0.0, max=1.0)


def _norm() -> Param:
    return P(None, "choice", choices=NORMS, nullable=True)


FC_LAYER = {
    "output_size": P(256, "int", min=1),
    "activation": _activation(),
    "dropout": _dropout(),
    "norm": _norm(),
    "norm_params": fixed(None, _NO_NORM_PARAMS),
    "use_bias": P(True, "bool"),
    "weights_initializer": _weights(),
    "bias_initializer": _bias(),
}
CONV_LAYER = {
    "filter_size": P(3, "int", min=1),
    "num_filters": P(256, "int", min=1),
    "strides": P(1, "int", min=1),
    "padding": P("same", "choice", choices=("same", "valid")),
    "dilation_rate": P(1, "int", min=1),
    "pool_function": P("max", "choice", choices=POOL_FUNCTIONS),
    "pool_size": P(None, "int", min=1, nullable=True),
    "pool_strides": P(None, "int", min=1, nullable=True),
    "pool_padding": P("same", "choice", choices=("same", "valid")),
    "activation": _activation(),
    "dropout": _dropout(),
    "norm": _norm(),
    "norm_params": fixed(None, _NO_NORM_PARAMS),
    "use_bias": P(True, "bool"),
    "weights_initializer": _weights(),
    "bias_initializer": _bias(),
}
# The parallel layers of parallel_cnn all keep the sequence length (stride 1, same padding).
PARALLEL_CONV_LAYER = {
    k: v
    for k, v in CONV_LAYER.items()
    if k not in ("strides", "padding", "dilation_rate", "pool_strides", "pool_padding")
}


def _layer_list(path: str, value: Any, params: dict[str, Param], example: str) -> list | None:
    if value is None:
        return None
    if not isinstance(value, list) or not value:
        raise ConfigError(
            f"{path}: {value!r} is not allowed; give a non-empty list like [{example}]."
        )
    layers = []
    for i, layer in enumerate(value):
        where = f"{path}[{i}]"
        if not isinstance(layer, dict):
            raise ConfigError(
                f"{where}: {layer!r} is not allowed; each layer is a mapping like {example}."
            )
        for key in layer:
            if key not in params:
                raise ConfigError(
                    f"{where}.{key}: unknown parameter for a layer (engine {ENGINE_NAME}); "
                    f"valid: {', '.join(params)}."
                )
        # Only the keys given: the rest come from the block's own defaults when building.
        layers.append(
            {key: check_value(f"{where}.{key}", val, params[key]) for key, val in layer.items()}
        )
    return layers


def _fc_layers() -> Param:
    return P(None, "custom", check=lambda p, v: _layer_list(p, v, FC_LAYER, "{output_size: 64}"))


def _conv_layers(params: dict[str, Param]) -> Param:
    return P(None, "custom", check=lambda p, v: _layer_list(p, v, params, "{filter_size: 3}"))


# --------------------------------------------------------------------------- preprocessing

_FILL_COMMON = ("fill_with_const", "fill_with_mode", "bfill", "ffill", "drop_row")
TOKENIZERS = (
    "space_punct",
    "space",
    "characters",
    "underscore",
    "comma",
    "untokenized",
    "stripped",
    "ngram",
)
TEXT_PREPROCESSING = {
    "missing_value_strategy": P("fill_with_const", "choice", choices=_FILL_COMMON),
    "fill_value": P("<UNK>", "str"),
    "computed_fill_value": fixed("<UNK>", "it is computed internally"),
    "tokenizer": P("space_punct", "choice", choices=TOKENIZERS),
    "lowercase": P(False, "bool"),
    "most_common": P(20000, "int", min=1),
    "max_sequence_length": P(256, "int", min=1),
    "sequence_length": P(None, "int", min=1, nullable=True),
    "padding": P("right", "choice", choices=("right", "left")),
    "padding_symbol": P("<PAD>", "str"),
    "unknown_symbol": P("<UNK>", "str"),
    "ngram_size": P(2, "int", min=1),
    "vocab_file": fixed(None, "the vocabulary is built from the training split"),
    "pretrained_model_name_or_path": fixed(
        None, "pretrained (Hugging Face) tokenizers and encoders are not available"
    ),
    "cache_encoder_embeddings": fixed(False, "there are no pretrained encoders to cache"),
}
INPUT_PREPROCESSING = {
    "number": sk.NUMBER_PREPROCESSING,
    "binary": sk.BINARY_PREPROCESSING,
    "category": sk.CATEGORY_PREPROCESSING,
    "text": TEXT_PREPROCESSING,
}
OUTPUT_PREPROCESSING = sk.OUTPUT_PREPROCESSING

# --------------------------------------------------------------------------- encoders

_EMBEDDING = {
    "representation": P("dense", "choice", choices=("dense", "sparse")),
    "embedding_size": P(256, "int", min=1),
    "embeddings_trainable": P(True, "bool"),
    "pretrained_embeddings": fixed(None, "loading pretrained (GloVe) embeddings is not available"),
    "embeddings_on_cpu": fixed(False, "the whole model lives on one device"),
    "vocab": fixed(None, "the vocabulary comes from the preprocessing of the training split"),
    "should_embed": fixed(True, "text is always given to the encoder as token ids"),
    "max_sequence_length": fixed(
        None, "the sequence length is set by the feature's preprocessing.max_sequence_length"
    ),
    "skip": fixed(False, "every input feature is encoded"),
}
_CNN_COMMON = {
    **_EMBEDDING,
    "dropout": _dropout(),
    "activation": _activation(),
    "num_conv_layers": P(None, "int", min=1, nullable=True),
    "num_filters": P(256, "int", min=1),
    "filter_size": P(3, "int", min=1),
    "pool_function": P("max", "choice", choices=POOL_FUNCTIONS),
    "pool_size": P(None, "int", min=1, nullable=True),
    "use_bias": P(True, "bool"),
    "weights_initializer": _weights(),
    "bias_initializer": _bias(),
    "reduce_output": P("sum", "choice", choices=REDUCTIONS, nullable=True),
    "output_size": P(256, "int", min=1),
    "norm": _norm(),
    "norm_params": fixed(None, _NO_NORM_PARAMS),
    "num_fc_layers": P(None, "int", min=0, nullable=True),
    "fc_layers": _fc_layers(),
}
TEXT_ENCODERS = {
    "parallel_cnn": {**_CNN_COMMON, "conv_layers": _conv_layers(PARALLEL_CONV_LAYER)},
    "stacked_cnn": {
        **_CNN_COMMON,
        "conv_layers": _conv_layers(CONV_LAYER),
        "strides": P(1, "int", min=1),
        "padding": P("same", "choice", choices=("same", "valid")),
        "dilation_rate": P(1, "int", min=1),
        "pool_strides": P(None, "int", min=1, nullable=True),
        "pool_padding": P("same", "choice", choices=("same", "valid")),
    },
    "rnn": {
        **_EMBEDDING,
        "dropout": _dropout(),
        "recurrent_dropout": _dropout(),
        "activation": P("tanh", "choice", choices=("tanh", "relu")),
        "recurrent_activation": fixed("sigmoid", "PyTorch's LSTM and GRU cells use sigmoid gates"),
        "cell_type": P("rnn", "choice", choices=RNN_CELLS),
        "num_layers": P(1, "int", min=1),
        "state_size": P(256, "int", min=1),
        "bidirectional": P(False, "bool"),
        "unit_forget_bias": P(True, "bool"),
        "use_bias": P(True, "bool"),
        "weights_initializer": _weights(),
        "recurrent_initializer": _weights("orthogonal"),
        "bias_initializer": _bias(),
        "reduce_output": P("last", "choice", choices=REDUCTIONS, nullable=True),
        "output_size": P(256, "int", min=1),
        "norm": _norm(),
        "norm_params": fixed(None, _NO_NORM_PARAMS),
        "num_fc_layers": P(0, "int", min=0),
        "fc_activation": _activation(),
        "fc_dropout": _dropout(),
        "fc_layers": _fc_layers(),
    },
    "embed": {
        **_EMBEDDING,
        "dropout": _dropout(),
        "weights_initializer": _weights("uniform"),
        "reduce_output": P("sum", "choice", choices=REDUCTIONS, nullable=True),
    },
}
_CATEGORY_EMBEDDING_FIXED = {
    "pretrained_embeddings": _EMBEDDING["pretrained_embeddings"],
    "embeddings_on_cpu": _EMBEDDING["embeddings_on_cpu"],
    "vocab": _EMBEDDING["vocab"],
    "skip": _EMBEDDING["skip"],
}
_DENSE_FC = {
    "dropout": _dropout(),
    "activation": _activation(),
    "output_size": P(256, "int", min=1),
    "num_layers": P(1, "int", min=0),
    "fc_layers": _fc_layers(),
    "norm": _norm(),
    "norm_params": fixed(None, _NO_NORM_PARAMS),
    "use_bias": P(True, "bool"),
    "weights_initializer": _weights(),
    "bias_initializer": _bias(),
    "input_size": fixed(None, "the input size follows from the feature"),
    "skip": _EMBEDDING["skip"],
}
ENCODERS: dict[str, dict[str, dict[str, Param]]] = {
    "number": {"passthrough": {}, "dense": dict(_DENSE_FC)},
    "binary": {"passthrough": {}, "dense": dict(_DENSE_FC)},
    "category": {
        "dense": {
            "embedding_size": P(50, "int", min=1),
            "dropout": _dropout(),
            "embedding_initializer": _weights(None),
            "embeddings_trainable": P(True, "bool"),
            **_CATEGORY_EMBEDDING_FIXED,
        },
        "sparse": {
            "dropout": _dropout(),
            "embedding_initializer": fixed(None, "a sparse embedding starts as the one-hot matrix"),
            "embeddings_trainable": P(False, "bool"),
            **_CATEGORY_EMBEDDING_FIXED,
        },
        "onehot": {"vocab": _EMBEDDING["vocab"], "skip": _EMBEDDING["skip"]},
        "passthrough": {"skip": _EMBEDDING["skip"]},
    },
    "text": TEXT_ENCODERS,
}
DEFAULT_ENCODERS = {
    "number": "passthrough",
    "binary": "passthrough",
    "category": "dense",
    "text": "parallel_cnn",
}
# Encoders that only the scikit-learn engine has.
SKLEARN_ENCODERS = {"category": ("ordinal", "target"), "text": ("tf_idf", "bag")}

# --------------------------------------------------------------------------- decoders, losses

DECODER_FC = {
    "num_fc_layers": P(0, "int", min=0),
    "fc_output_size": P(256, "int", min=1),
    "fc_layers": _fc_layers(),
    "fc_activation": _activation(),
    "fc_dropout": _dropout(),
    "fc_norm": _norm(),
    "fc_norm_params": fixed(None, _NO_NORM_PARAMS),
    "fc_use_bias": P(True, "bool"),
    "fc_weights_initializer": _weights(),
    "fc_bias_initializer": _bias(),
    "use_bias": P(True, "bool"),
    "weights_initializer": _weights(),
    "bias_initializer": _bias(),
    "input_size": fixed(None, "the input size follows from the combiner"),
}
DECODERS: dict[str, dict[str, dict[str, Param]]] = {
    "binary": {
        "classifier": dict(DECODER_FC),
        "regressor": dict(DECODER_FC),
    },
    "category": {
        "classifier": {
            **DECODER_FC,
            "num_classes": fixed(None, "the classes come from the training split"),
        }
    },
    "number": {"regressor": dict(DECODER_FC)},
}
# Ludwig 0.17 names the binary decoder "regressor" (a single logit); "classifier" is accepted
# as the same network. The default matters for defaults expansion, which matches by type.
DEFAULT_DECODERS = {"binary": "regressor", "category": "classifier", "number": "regressor"}

_LOSS_WEIGHT = {"weight": fixed(1.0, "there is only one output feature, so its loss has no weight")}
_ROBUST = {
    "robust_lambda": P(0.0, "float", min=0.0, max=1.0),
    "confidence_penalty": P(0.0, "float", min=0.0),
}
LOSSES: dict[str, dict[str, dict[str, Param]]] = {
    "binary": {
        "binary_weighted_cross_entropy": {
            **_LOSS_WEIGHT,
            "positive_class_weight": P(None, "custom", check=_check_positive_or_null),
            **_ROBUST,
        }
    },
    "category": {
        "softmax_cross_entropy": {
            **_LOSS_WEIGHT,
            "class_weights": P(None, "custom", check=_check_class_weights),
            **_ROBUST,
            "class_similarities": fixed(None, "class similarity smoothing is not implemented"),
            "class_similarities_temperature": fixed(
                0, "class similarity smoothing is not implemented"
            ),
        }
    },
    "number": {
        "mean_squared_error": dict(_LOSS_WEIGHT),
        "mean_absolute_error": dict(_LOSS_WEIGHT),
        "root_mean_squared_error": dict(_LOSS_WEIGHT),
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
    "number": ("name", "type", "column", "preprocessing", "decoder", "loss", "clip",
               "dependencies", "reduce_input", "reduce_dependencies"),
}  # fmt: skip
OUTPUT_FEATURE_PARAMS = {
    "threshold": fixed(0.5, "metrics use Ludwig's default decision threshold 0.5"),
    "top_k": P(3, "int", min=1),
    "clip": P(None, "custom", check=_check_clip),
    "dependencies": fixed([], "there is only one output feature"),
    "reduce_input": fixed("sum", "the combiner output is already a vector"),
    "reduce_dependencies": fixed("sum", "there is only one output feature"),
    "calibration": fixed(False, "temperature scaling is not implemented"),
}

# --------------------------------------------------------------------------- combiner

COMBINER = {
    "type": P("concat", "choice", choices=("concat",)),
    "num_fc_layers": P(0, "int", min=0),
    "output_size": P(256, "int", min=1),
    "fc_layers": _fc_layers(),
    "activation": _activation(),
    "dropout": _dropout(),
    "norm": _norm(),
    "norm_params": fixed(None, _NO_NORM_PARAMS),
    "residual": P(False, "bool"),
    "use_bias": P(True, "bool"),
    "weights_initializer": _weights(),
    "bias_initializer": _bias(),
    "flatten_inputs": P(False, "bool"),
}
LUDWIG_COMBINERS = (
    "sequence_concat",
    "sequence",
    "tabnet",
    "transformer",
    "tabtransformer",
    "comparator",
    "project_aggregate",
    "ft_transformer",
)

# --------------------------------------------------------------------------- trainer

_BETAS = P([0.9, 0.999], "custom", check=sk._check_pair)
_WEIGHT_DECAY = P(0.0, "float", min=0.0)
OPTIMIZERS = {
    "adam": {
        "betas": _BETAS,
        "eps": P(1e-08, "float", min=0.0),
        "weight_decay": _WEIGHT_DECAY,
        "amsgrad": P(False, "bool"),
        # Older Ludwig docs spell them beta_1 / beta_2 / epsilon.
        "beta_1": P(None, "float", min=0.0, max=0.999999, nullable=True),
        "beta_2": P(None, "float", min=0.0, max=0.999999, nullable=True),
        "epsilon": P(None, "float", min=0.0, min_exclusive=True, nullable=True),
    },
    "adamw": {
        "betas": _BETAS,
        "eps": P(1e-08, "float", min=0.0),
        "weight_decay": _WEIGHT_DECAY,
        "amsgrad": P(False, "bool"),
    },
    "sgd": {
        "momentum": P(0.0, "float", min=0.0),
        "weight_decay": _WEIGHT_DECAY,
        "dampening": P(0.0, "float", min=0.0),
        "nesterov": P(False, "bool"),
    },
    "rmsprop": {
        "momentum": P(0.0, "float", min=0.0),
        "alpha": P(0.99, "float", min=0.0),
        "eps": P(1e-08, "float", min=0.0),
        "centered": P(False, "bool"),
        "weight_decay": _WEIGHT_DECAY,
    },
    "adagrad": {
        "initial_accumulator_value": P(0.0, "float", min=0.0),
        "lr_decay": P(0.0, "float", min=0.0),
        "weight_decay": _WEIGHT_DECAY,
        "eps": P(1e-10, "float", min=0.0),
    },
    "adadelta": {
        "rho": P(0.9, "float", min=0.0, max=1.0),
        "eps": P(1e-06, "float", min=0.0),
        "weight_decay": _WEIGHT_DECAY,
    },
    "adamax": {"betas": _BETAS, "eps": P(1e-08, "float", min=0.0), "weight_decay": _WEIGHT_DECAY},
    "nadam": {
        "betas": _BETAS,
        "eps": P(1e-08, "float", min=0.0),
        "weight_decay": _WEIGHT_DECAY,
        "momentum_decay": P(4e-3, "float", min=0.0),
    },
}
OPTIMIZER_ALIASES = {"stochastic_gradient_descent": "sgd", "gd": "sgd", "gradient_descent": "sgd"}
LR_SCHEDULER = {
    "decay": P(None, "choice", choices=("linear", "exponential", "cosine"), nullable=True),
    "decay_rate": P(0.96, "float", min=0.0, max=1.0),
    "decay_steps": P(10000, "int", min=1),
    "staircase": P(False, "bool"),
    "reduce_on_plateau": P(0, "int", min=0),
    "reduce_on_plateau_patience": P(10, "int", min=0),
    "reduce_on_plateau_rate": P(0.1, "float", min=0.0, max=1.0),
    "reduce_eval_metric": P("loss", "str"),
    "reduce_eval_split": P("training", "choice", choices=("training", "validation")),
    "warmup_evaluations": P(0, "float", min=0.0),
    "warmup_fraction": P(0.0, "float", min=0.0, max=1.0),
    "t_0": P(None, "int", min=1, nullable=True),
    "t_mult": P(1, "int", min=1),
    "eta_min": P(0.0, "float", min=0.0, max=1.0),
}
GRADIENT_CLIPPING = {
    "clipglobalnorm": P(0.5, "custom", check=_check_positive_or_null),
    "clipnorm": P(None, "custom", check=_check_positive_or_null),
    "clipvalue": P(None, "custom", check=_check_positive_or_null),
}
ECD_TRAINER = {
    "type": P("trainer", "choice", choices=("trainer",)),
    "epochs": P(100, "int", min=1),
    "train_steps": P(None, "int", min=1, nullable=True),
    "batch_size": P(128, "custom", check=sk._check_batch_size),
    "eval_batch_size": P(None, "custom", check=sk._check_eval_batch_size),
    "learning_rate": P(0.001, "custom", check=sk._check_learning_rate),
    "learning_rate_scaling": P("linear", "choice", choices=("constant", "sqrt", "linear")),
    "optimizer": P({"type": "adam"}, "custom"),  # checked in _optimizer
    "regularization_lambda": P(0.0, "float", min=0.0),
    "regularization_type": P("l2", "choice", choices=("l1", "l2", "l1_l2"), nullable=True),
    "early_stop": P(5, "int", min=-1),
    "should_shuffle": P(True, "bool"),
    "validation_field": P(None, "custom", check=sk._check_optional_str),
    "validation_metric": P(None, "custom", check=sk._check_optional_str),
    "learning_rate_scheduler": P(None, "custom"),  # checked in _sub_section
    "gradient_clipping": P(None, "custom"),  # checked in _sub_section
    "evaluate_training_set": fixed(
        True, "the torch engine evaluates the whole training set after every epoch"
    ),
    "steps_per_checkpoint": fixed(0, "the model is evaluated once per epoch"),
    "checkpoints_per_epoch": fixed(0, "the model is evaluated once per epoch"),
    "use_mixed_precision": fixed(False, "training runs in float32"),
    "compile": fixed(False, "torch.compile is not used"),
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


def _typed_block(
    block: dict | None, path: str, params: dict[str, Param], kind: str, what: str
) -> dict[str, Any]:
    """A block with a `type` (encoder, decoder, loss): its other keys checked against `params`."""
    body = {k: v for k, v in (block or {}).items() if k != "type"}
    for key in body:
        if key not in params:
            raise _unknown(f"{path}.{key}", what, ["type", *params])
    return {"type": kind, **_check_params(body, params, path, what)}


def _mapping(block: Any, path: str, example: str) -> dict:
    if block is None:
        return {}
    if not isinstance(block, dict):
        raise ConfigError(f"{path}: {block!r} is not allowed; give a mapping like {example}.")
    return block


def _feature_type(feature: dict, path: str, allowed: tuple[str, ...], role: str) -> str:
    kind = feature.get("type")
    if kind in allowed:
        return kind
    if kind in _LUDWIG_TYPES or (role == "output" and kind in INPUT_TYPES):
        raise NotSupportedError(
            f"{path}.type: {role} features of type {kind!r} are not supported by the torch "
            f"engine yet; supported {role} types: {', '.join(allowed)} (engine: command runs "
            "any program per trial, such as ludwig train, which reads every Ludwig type)."
        )
    raise ConfigError(f"{path}.type: {_show(kind)} is not allowed; allowed: {', '.join(allowed)}.")


def _encoder(feature: dict, ftype: str, path: str) -> dict[str, Any]:
    block = _mapping(feature.get("encoder"), path, f"{{type: {DEFAULT_ENCODERS[ftype]}}}")
    kind = block.get("type", DEFAULT_ENCODERS[ftype])
    choices = ENCODERS[ftype]
    if kind not in choices:
        if kind in SKLEARN_ENCODERS.get(ftype, ()):
            raise NotSupportedError(
                f"{path}.type: encoder '{kind}' exists only in the sklearn engine "
                f"({SKLEARN_HINT}); the torch engine's {ftype} encoders are: "
                f"{', '.join(choices)}."
            )
        raise ConfigError(
            f"{path}.type: {_show(kind)} is not an encoder for {ftype} features in the torch "
            f"engine; allowed: {', '.join(choices)}."
        )
    return _typed_block(block, path, choices[kind], kind, f"encoder '{kind}' of {ftype} features")


def _decoder(feature: dict, ftype: str, path: str) -> dict[str, Any]:
    block = _mapping(feature.get("decoder"), path, f"{{type: {DEFAULT_DECODERS[ftype]}}}")
    kind = block.get("type", DEFAULT_DECODERS[ftype])
    if kind not in DECODERS[ftype]:
        raise ConfigError(
            f"{path}.type: {_show(kind)} is not a decoder for {ftype} output features in the "
            f"torch engine; allowed: {', '.join(DECODERS[ftype])}."
        )
    if ftype == "number" and "clip" in block:
        raise ConfigError(
            f"{path}.clip: clip is a parameter of the number output feature itself in Ludwig; "
            f"move it to {path.rsplit('.', 1)[0]}.clip."
        )
    return _typed_block(
        block, path, DECODERS[ftype][kind], kind, f"decoder '{kind}' of {ftype} output features"
    )


def _loss(feature: dict, ftype: str, path: str) -> dict[str, Any]:
    block = _mapping(feature.get("loss"), path, f"{{type: {DEFAULT_LOSSES[ftype]}}}")
    kind = block.get("type", DEFAULT_LOSSES[ftype])
    if kind not in LOSSES[ftype]:
        raise NotSupportedError(
            f"{path}.type: {_show(kind)} is not supported for {ftype} outputs by the torch "
            f"engine; allowed: {', '.join(LOSSES[ftype])}."
        )
    return _typed_block(
        block, path, LOSSES[ftype][kind], kind, f"loss '{kind}' of {ftype} output features"
    )


def _optimizer(value: Any, path: str) -> dict[str, Any]:
    value = _mapping(value, path, "{type: adam}")
    kind = value.get("type", "adam")
    canonical = OPTIMIZER_ALIASES.get(kind, kind)
    if canonical not in OPTIMIZERS:
        raise NotSupportedError(
            f"{path}.type: optimizer {_show(kind)} is not available in the torch engine; "
            f"allowed: {', '.join(OPTIMIZERS)}, {', '.join(OPTIMIZER_ALIASES)}."
        )
    body = {k: v for k, v in value.items() if k != "type"}
    params = OPTIMIZERS[canonical]
    for key in body:
        if key not in params:
            raise _unknown(f"{path}.{key}", f"optimizer '{canonical}'", ["type", *params])
    checked = _check_params(body, params, path, f"optimizer '{canonical}'")
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
    if (
        canonical == "sgd"
        and checked["nesterov"]
        and (checked["momentum"] <= 0 or checked["dampening"] != 0)
    ):
        raise ConfigError(
            f"{path}.nesterov: true needs momentum > 0 and dampening 0 (PyTorch's SGD); "
            f"momentum is {_show(checked['momentum'])}, dampening {_show(checked['dampening'])}."
        )
    return {"type": canonical, **checked}


# --------------------------------------------------------------------------- sections


def _input_feature(feature: dict, path: str) -> dict[str, Any]:
    ftype = _feature_type(feature, path, INPUT_TYPES, "input")
    for key in feature:
        if key not in INPUT_FEATURE_KEYS:
            raise _unknown(f"{path}.{key}", f"{ftype} input features", INPUT_FEATURE_KEYS)
    if feature.get("tied") is not None:
        raise NotSupportedError(
            f"{path}.tied: {feature['tied']!r} is not supported by the torch engine: tied "
            "encoders are not implemented; only null is accepted."
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


def _combiner(value: Any) -> dict[str, Any]:
    block = _mapping(value, "combiner", "{type: concat}")
    kind = block.get("type", "concat")
    if kind in LUDWIG_COMBINERS:
        raise NotSupportedError(
            f"combiner.type: combiner '{kind}' is not available in the torch engine yet; "
            "allowed: concat."
        )
    return _check_params(block, COMBINER, "combiner", f"combiner '{kind}'")


def _sub_section(value: Any, params: dict[str, Param], path: str, what: str) -> dict[str, Any]:
    return _check_params(value, params, path, what)


def _trainer(value: Any) -> dict[str, Any]:
    block = dict(_mapping(value, "trainer", "{epochs: 10}"))
    optimizer = block.pop("optimizer", None)
    scheduler = block.pop("learning_rate_scheduler", None)
    clipping = block.pop("gradient_clipping", None)
    checked = _check_params(block, ECD_TRAINER, "trainer", "the ecd trainer")
    checked["optimizer"] = _optimizer(optimizer, "trainer.optimizer")
    checked["learning_rate_scheduler"] = _sub_section(
        scheduler, LR_SCHEDULER, "trainer.learning_rate_scheduler", "the learning rate scheduler"
    )
    checked["gradient_clipping"] = _sub_section(
        clipping, GRADIENT_CLIPPING, "trainer.gradient_clipping", "gradient clipping"
    )
    schedule = checked["learning_rate_scheduler"]
    if schedule["warmup_evaluations"] and schedule["warmup_fraction"]:
        raise ConfigError(
            "trainer.learning_rate_scheduler: give either warmup_evaluations "
            f"({_show(schedule['warmup_evaluations'])}) or warmup_fraction "
            f"({_show(schedule['warmup_fraction'])}), not both."
        )
    return checked


def _global_preprocessing(value: Any) -> dict[str, Any]:
    block = dict(_mapping(value, "preprocessing", "{split: {type: random}}"))
    split = block.pop("split", None)
    checked = _check_params(block, sk.GLOBAL_PREPROCESSING, "preprocessing", "global preprocessing")
    checked["split"] = data.validate_split_config(split)
    if checked["sample_size"] is not None and checked["sample_ratio"] != 1.0:
        raise ConfigError(
            "preprocessing.sample_size: give either sample_size or sample_ratio, not both."
        )
    return checked


def _check_metric_name(path: str, metric: str, field: str, output: dict) -> None:
    from snaketune import metrics

    try:
        metrics.check_metric(metric, field, output["type"])
    except ConfigError as exc:
        message = str(exc).removeprefix("hyperopt.metric: ")
        raise ConfigError(f"{path}: {message}") from None


def _check_model(config: dict) -> None:
    """Checks that involve several keys."""
    output = config["output_features"][0]
    trainer = config["trainer"]
    field_ = trainer["validation_field"]
    if field_ is not None and field_ not in ("combined", output["name"]):
        raise ConfigError(
            f"trainer.validation_field: {field_!r} is not allowed; allowed: combined, "
            f"{output['name']}."
        )
    if trainer["validation_metric"] is not None:
        _check_metric_name(
            "trainer.validation_metric",
            trainer["validation_metric"],
            field_ or output["name"],
            output,
        )
    _check_metric_name(
        "trainer.learning_rate_scheduler.reduce_eval_metric",
        trainer["learning_rate_scheduler"]["reduce_eval_metric"],
        output["name"],
        output,
    )
    for feature in config["input_features"]:
        path = f"input_features.{feature['name']}"
        encoder = feature["encoder"]
        kind = encoder["type"]
        if feature["type"] == "text" and kind in ("parallel_cnn", "stacked_cnn"):
            pairs = (("conv_layers", "num_conv_layers"), ("fc_layers", "num_fc_layers"))
            for layers, number in pairs:
                if encoder[layers] is not None and encoder[number] is not None:
                    raise ConfigError(
                        f"{path}.encoder.{number}: give either {layers} or {number}, not both "
                        f"({number} is {encoder[number]}, {layers} has {len(encoder[layers])} "
                        "layers)."
                    )
        if (
            kind == "rnn"
            and RNN_MODULE[encoder["cell_type"]] != "rnn"
            and (encoder["activation"] != "tanh")
        ):
            raise NotSupportedError(
                f"{path}.encoder.activation: {encoder['activation']} is not supported by the torch "
                f"engine with cell_type {encoder['cell_type']}: PyTorch's LSTM and GRU cells use "
                "tanh; only tanh is accepted (relu works with cell_type rnn)."
            )
        if (
            feature["type"] == "text"
            and encoder.get("reduce_output", "sum") is None
            and not config["combiner"]["flatten_inputs"]
        ):
            raise ConfigError(
                f"{path}.encoder.reduce_output: null keeps one vector per token, which the concat "
                "combiner can only use with combiner.flatten_inputs: true; set it, or reduce "
                "the sequence (sum, mean, max, concat, last)."
            )
        if feature["type"] == "text":
            prep = feature["preprocessing"]
            if prep["padding_symbol"] == prep["unknown_symbol"]:
                raise ConfigError(
                    f"{path}.preprocessing.unknown_symbol: {prep['unknown_symbol']!r} equals "
                    "padding_symbol; the two symbols must differ."
                )


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
    if model_type == "gbm":
        raise NotSupportedError(
            "model_type: gbm is not supported by the torch engine (it trains Ludwig's ECD "
            f"networks); gradient boosting runs in the sklearn engine ({SKLEARN_HINT})."
        )
    if model_type != "ecd":
        raise ConfigError(f"model_type: {_show(model_type)} is not allowed; allowed: ecd.")
    seen: set[str] = set()
    inputs_raw = config.get("input_features")
    outputs_raw = config.get("output_features")
    for section, raw in (("input_features", inputs_raw), ("output_features", outputs_raw)):
        if not isinstance(raw, list) or not raw:
            raise ConfigError(
                f"{section}: give a non-empty list of features (each with name and type)."
            )
    names_in = [sk._feature_name(f, "input_features", i, seen) for i, f in enumerate(inputs_raw)]
    names_out = [sk._feature_name(f, "output_features", i, seen) for i, f in enumerate(outputs_raw)]
    if len(outputs_raw) > 1:
        raise NotSupportedError(
            f"output_features: {len(outputs_raw)} output features ({', '.join(names_out)}) are not "
            "supported yet; give exactly one."
        )
    out = {
        "model_type": "ecd",
        "input_features": [
            _input_feature(f, f"input_features.{n}")
            for f, n in zip(inputs_raw, names_in, strict=True)
        ],
        "output_features": [
            _output_feature(f, f"output_features.{n}")
            for f, n in zip(outputs_raw, names_out, strict=True)
        ],
        "combiner": _combiner(config.get("combiner")),
        "trainer": _trainer(config.get("trainer")),
        "preprocessing": _global_preprocessing(config.get("preprocessing")),
    }
    _resolve_auto(out["trainer"], out["input_features"])
    _check_model(out)
    return out


# Rows per evaluation batch when eval_batch_size is auto or null (training.eval_batch_size).
EVAL_BATCH_SIZE_FLOOR = 1024


def _resolve_auto(trainer: dict[str, Any], input_features: list[dict[str, Any]]) -> None:
    """Replace the `auto` values left in a checked trainer by the numbers the network trains with.

    batch_size auto is already AUTO_BATCH_SIZE (its check resolves it).
    """
    if trainer["learning_rate"] == "auto":
        trainer["learning_rate"] = sk.auto_learning_rate(input_features)
    if trainer["eval_batch_size"] == "auto":
        trainer["eval_batch_size"] = max(trainer["batch_size"], EVAL_BATCH_SIZE_FLOOR)


def validate(config: dict[str, Any]) -> None:
    with_defaults(config)


# --------------------------------------------------------------------------- Ludwig 0.17 defaults

# Ludwig 0.17 (ludwig/schema/model_types/base.py) gives an ecd config without a combiner
# section an ft_transformer combiner once it has this many input features.
FT_TRANSFORMER_MIN_INPUTS = 3


def ludwig_differences(config: dict[str, Any]) -> list[str]:
    """One notice per Ludwig 0.17 default this trial config relies on that the engine differs from.

    `config` is the resolved trial config before defaults are filled in: a key it sets is its
    own choice, not a default. docs/torch.md lists the same differences.
    """
    if not isinstance(config, dict):
        return []
    trainer = config.get("trainer")
    trainer = trainer if isinstance(trainer, dict) else {}
    notices = (
        _combiner_difference(config),
        _batch_size_difference(trainer),
        _training_set_difference(trainer),
    )
    return [notice for notice in notices if notice is not None]


def _combiner_difference(config: dict[str, Any]) -> str | None:
    inputs = config.get("input_features")
    count = len(inputs) if isinstance(inputs, list) else 0
    if "combiner" in config or config.get("model_type", "ecd") != "ecd":
        return None
    if count < FT_TRANSFORMER_MIN_INPUTS:
        return None
    return (
        f"combiner: no combiner is given and there are {count} input features; Ludwig 0.17 then "
        "uses ft_transformer, which the torch engine does not implement yet, so it uses concat."
    )


def _batch_size_difference(trainer: dict[str, Any]) -> str | None:
    if trainer.get("batch_size", "auto") != "auto":
        return None
    given = "auto is given" if "batch_size" in trainer else "no batch_size is given"
    return (
        f"trainer.batch_size: {given}; Ludwig 0.17 then tunes it for throughput (a power of two, "
        "at most 128 without a GPU and at most 20% of the training rows), while the torch engine "
        f"uses {sk.AUTO_BATCH_SIZE}."
    )


def _training_set_difference(trainer: dict[str, Any]) -> str | None:
    if "evaluate_training_set" in trainer:
        return None
    return (
        "trainer.evaluate_training_set: not given; Ludwig 0.17 defaults to false (training "
        "metrics accumulated over the epoch's batches), while the torch engine always evaluates "
        "the whole training split after each epoch (true)."
    )
