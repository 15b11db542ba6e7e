"""What the torch engine accepts, as tables for `backends/checker.py`.

The tables follow Ludwig 0.17's ECD schema: every feature type, encoder, decoder,
loss, combiner, trainer, optimizer and scheduler maps parameter names to a `Param`
(Ludwig's default, kind, allowed values). A parameter made with `fixed` is a Ludwig
parameter this engine does not implement: only its default is accepted, and the
message says why. docs/torch.md is the reference for every key. Number, binary and
category preprocessing are the shared tables (`backends/tables.py`).

`validate(config)` checks a resolved trial config completely; `with_defaults(config)`
returns a copy where every parameter has its value (Ludwig's `auto` values replaced by
numbers); `ludwig_differences(config)` names the Ludwig 0.17 defaults a config relies on
that this engine does not follow.
"""

from __future__ import annotations

import math
from typing import Any

from snaketune.backends import checker, params, tables
from snaketune.backends.params import P, Param, fixed, layers
from snaketune.errors import ConfigError, NotSupportedError

ENGINE_NAME = "torch"
SKLEARN_HINT = "--config engine=sklearn"


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
        if not params.is_number(weight) or not math.isfinite(weight) or weight < 0:
            raise ConfigError(
                f"{path}: {value!r} is not allowed; every weight must be a number >= 0."
            )
    if isinstance(value, dict):
        return {str(k): float(v) for k, v in value.items()}
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


def _fc_layers() -> Param:
    return layers(FC_LAYER, "{output_size: 64}", ENGINE_NAME)


def _conv_layers(params: dict[str, Param]) -> Param:
    return layers(params, "{filter_size: 3}", ENGINE_NAME)


# --------------------------------------------------------------------------- preprocessing

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
    "missing_value_strategy": P("fill_with_const", "choice", choices=tables.FILL_COMMON),
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
    "number": tables.NUMBER_PREPROCESSING,
    "binary": tables.BINARY_PREPROCESSING,
    "category": tables.CATEGORY_PREPROCESSING,
    "text": TEXT_PREPROCESSING,
}

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

_ROBUST = {
    "robust_lambda": P(0.0, "float", min=0.0, max=1.0),
    "confidence_penalty": P(0.0, "float", min=0.0),
}
LOSSES: dict[str, dict[str, dict[str, Param]]] = {
    "binary": {
        "binary_weighted_cross_entropy": {
            **tables.LOSS_WEIGHT,
            "positive_class_weight": P(None, "custom", check=params.check_positive_or_null),
            **_ROBUST,
        }
    },
    "category": {
        "softmax_cross_entropy": {
            **tables.LOSS_WEIGHT,
            "class_weights": P(None, "custom", check=_check_class_weights),
            **_ROBUST,
            "class_similarities": fixed(None, "class similarity smoothing is not implemented"),
            "class_similarities_temperature": fixed(
                0, "class similarity smoothing is not implemented"
            ),
        }
    },
    "number": {
        "mean_squared_error": dict(tables.LOSS_WEIGHT),
        "mean_absolute_error": dict(tables.LOSS_WEIGHT),
        "root_mean_squared_error": dict(tables.LOSS_WEIGHT),
    },
}

OUTPUT_FEATURE_PARAMS = {
    **tables.OUTPUT_FEATURE_PARAMS,
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

# --------------------------------------------------------------------------- trainer

_BETAS = tables.BETAS
_WEIGHT_DECAY = P(0.0, "float", min=0.0)
OPTIMIZERS = {
    "adam": {
        "betas": _BETAS,
        "eps": P(1e-08, "float", min=0.0),
        "weight_decay": _WEIGHT_DECAY,
        "amsgrad": P(False, "bool"),
        **tables.ADAM_LEGACY,
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
    "clipglobalnorm": P(0.5, "custom", check=params.check_positive_or_null),
    "clipnorm": P(None, "custom", check=params.check_positive_or_null),
    "clipvalue": P(None, "custom", check=params.check_positive_or_null),
}
ECD_TRAINER = {
    **tables.ECD_TRAINER_COMMON,
    "train_steps": P(None, "int", min=1, nullable=True),
    "learning_rate_scaling": P("linear", "choice", choices=("constant", "sqrt", "linear")),
    "regularization_type": P("l2", "choice", choices=("l1", "l2", "l1_l2"), nullable=True),
    # false (Ludwig's default): the training curve holds metrics of the epoch's batches as
    # they were trained on; true: the whole training split evaluated after each epoch.
    "evaluate_training_set": P(False, "bool"),
    "steps_per_checkpoint": fixed(0, "the model is evaluated once per epoch"),
    "checkpoints_per_epoch": fixed(0, "the model is evaluated once per epoch"),
    "use_mixed_precision": fixed(False, "training runs in float32"),
    "compile": fixed(False, "torch.compile is not used"),
}

TRAINERS = {"ecd": ECD_TRAINER}
MODEL_TYPES = tuple(TRAINERS)


# --------------------------------------------------------------------------- hooks

# Rows per evaluation batch when eval_batch_size is auto or null (training.eval_batch_size).
EVAL_BATCH_SIZE_FLOOR = 1024


def resolve_auto(config: dict[str, Any]) -> None:
    """Replace the `auto` values left in the checked trainer by the numbers the network uses.

    batch_size auto is already params.AUTO_BATCH_SIZE (its check resolves it).
    """
    trainer = config["trainer"]
    if trainer["learning_rate"] == "auto":
        trainer["learning_rate"] = params.auto_learning_rate(config["input_features"])
    if trainer["eval_batch_size"] == "auto":
        trainer["eval_batch_size"] = max(trainer["batch_size"], EVAL_BATCH_SIZE_FLOOR)


def check_model(config: dict[str, Any]) -> None:
    """What PyTorch's modules cannot express, found across several keys."""
    optimizer = config["trainer"]["optimizer"]
    if (
        optimizer["type"] == "sgd"
        and optimizer["nesterov"]
        and (optimizer["momentum"] <= 0 or optimizer["dampening"] != 0)
    ):
        raise ConfigError(
            "trainer.optimizer.nesterov: true needs momentum > 0 and dampening 0 (PyTorch's "
            f"SGD); momentum is {params.show_plain(optimizer['momentum'])}, dampening "
            f"{params.show_plain(optimizer['dampening'])}."
        )
    for feature in config["input_features"]:
        _check_encoder(feature, config["combiner"])


def _check_encoder(feature: dict[str, Any], combiner: dict[str, Any]) -> None:
    path = f"input_features.{feature['name']}"
    encoder = feature["encoder"]
    kind = encoder["type"]
    if feature["type"] == "text" and kind in ("parallel_cnn", "stacked_cnn"):
        for layers_key, number in (
            ("conv_layers", "num_conv_layers"),
            ("fc_layers", "num_fc_layers"),
        ):
            if encoder[layers_key] is not None and encoder[number] is not None:
                raise ConfigError(
                    f"{path}.encoder.{number}: give either {layers_key} or {number}, not both "
                    f"({number} is {encoder[number]}, {layers_key} has "
                    f"{len(encoder[layers_key])} layers)."
                )
    if (
        kind == "rnn"
        and RNN_MODULE[encoder["cell_type"]] != "rnn"
        and encoder["activation"] != "tanh"
    ):
        raise NotSupportedError(
            f"{path}.encoder.activation: {encoder['activation']} is not supported by the torch "
            f"engine with cell_type {encoder['cell_type']}: PyTorch's LSTM and GRU cells use "
            "tanh; only tanh is accepted (relu works with cell_type rnn)."
        )
    if feature["type"] != "text":
        return
    if encoder.get("reduce_output", "sum") is None and not combiner["flatten_inputs"]:
        raise ConfigError(
            f"{path}.encoder.reduce_output: null keeps one vector per token, which the concat "
            "combiner can only use with combiner.flatten_inputs: true; set it, or reduce "
            "the sequence (sum, mean, max, concat, last)."
        )
    prep = feature["preprocessing"]
    if prep["padding_symbol"] == prep["unknown_symbol"]:
        raise ConfigError(
            f"{path}.preprocessing.unknown_symbol: {prep['unknown_symbol']!r} equals "
            "padding_symbol; the two symbols must differ."
        )


# Why what Ludwig has and this engine does not is refused, each naming what to use.
TIED_REASON = "tied encoders are not implemented"
FOREIGN_ENCODERS = SKLEARN_ENCODERS
FOREIGN_ENCODER_REASON = f"exists only in the sklearn engine ({SKLEARN_HINT})"
COMBINER_REASON = "is not available in the torch engine yet"
MODEL_TYPE_REASONS = {
    "gbm": "(it trains Ludwig's ECD networks); gradient boosting runs in the sklearn "
    f"engine ({SKLEARN_HINT})"
}

TABLES = checker.EngineTables.of_module(__name__)


def with_defaults(config: dict[str, Any]) -> dict[str, Any]:
    """The checked config with every parameter set (raises ConfigError at the first problem)."""
    return checker.with_defaults(config, TABLES)


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
        f"uses {params.AUTO_BATCH_SIZE}."
    )
