"""What the scikit-learn engine accepts, as tables for `backends/checker.py`.

Every section, feature type, encoder, decoder, loss, combiner, trainer and optimizer
maps parameter names to a `Param`: Ludwig's default (or ours where scikit-learn
differs; docs/config.md lists those), the type and the allowed values. A parameter
made with `fixed` is one scikit-learn cannot realize: only its default is accepted,
and the message says why. The hooks at the end check what involves several keys.

`validate(config)` checks a resolved trial config completely; `with_defaults(config)`
returns a copy where every parameter has its value.
"""

from __future__ import annotations

from typing import Any

from snaketune.backends import checker, params, tables
from snaketune.backends.params import P, Param, fixed, layers
from snaketune.errors import ConfigError, NotSupportedError

ENGINE_NAME = "sklearn"
TORCH_HINT = "run with --config engine=torch; install PyTorch with pip install 'snaketune[torch]'"


def _check_gbm_learning_rate(path: str, value: Any) -> float:
    """Ludwig's GBM trainer never accepted auto (its learning_rate is a plain number)."""
    if value == "auto":
        raise ConfigError(
            f"{path}: auto is not allowed for model_type gbm (Ludwig's GBM trainer has no "
            "automatic learning rate); allowed: a number > 0, e.g. the default 0.03."
        )
    return params.check_learning_rate(path, value)


def _check_smooth(path: str, value: Any) -> Any:
    if value == "auto" or (params.is_number(value) and value >= 0):
        return value
    raise ConfigError(
        f"{path}: {params.show_given(value)} is not allowed; allowed: auto or a number >= 0."
    )


# --------------------------------------------------------------------------- preprocessing

TEXT_PREPROCESSING = {
    "missing_value_strategy": P("fill_with_const", "choice", choices=tables.FILL_COMMON),
    "fill_value": P(tables.UNKNOWN_SYMBOL, "str"),
    "tokenizer": P(
        "space_punct", "choice", choices=("space_punct", "space", "ngram", "characters")
    ),
    "lowercase": P(True, "bool"),
    "most_common": P(20000, "int", min=1),
    "max_sequence_length": P(256, "int", min=1),
    "ngram_size": P(2, "int", min=1),
}
INPUT_PREPROCESSING = {
    "number": tables.NUMBER_PREPROCESSING,
    "binary": tables.BINARY_PREPROCESSING,
    "category": tables.CATEGORY_PREPROCESSING,
    "text": TEXT_PREPROCESSING,
}

# --------------------------------------------------------------------------- encoders

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
_ACTIVATION = P("relu", "choice", choices=_ACTIVATIONS, aliases=_ACTIVATION_ALIASES)
FC_LAYER = {"output_size": P(256, "int", min=1), "activation": _ACTIVATION}
_FC_LAYERS = layers(
    FC_LAYER,
    "{output_size: 64}",
    ENGINE_NAME,
    required=("output_size",),
    note=f"{_ONE_ACTIVATION}, and it has no per-layer dropout, norm or initializers",
)

# --------------------------------------------------------------------------- decoders, losses

FC_STACK = {
    "num_fc_layers": P(0, "int", min=0),
    "fc_output_size": P(256, "int", min=1),
    "fc_layers": _FC_LAYERS,
    "fc_activation": _ACTIVATION,
    "fc_dropout": fixed(0.0, "scikit-learn's MLP has no dropout"),
    "fc_norm": fixed(None, "scikit-learn's MLP has no batch or layer normalization"),
    "fc_use_bias": fixed(True, "scikit-learn's MLP always has biases"),
    "use_bias": fixed(True, "scikit-learn's MLP always has biases"),
}
DECODERS: dict[str, dict[str, dict[str, Param]]] = {
    "binary": {"classifier": dict(FC_STACK), "regressor": dict(FC_STACK)},
    "category": {"classifier": dict(FC_STACK)},
    "number": {"regressor": dict(FC_STACK)},
}
DEFAULT_DECODERS = {"binary": "classifier", "category": "classifier", "number": "regressor"}

_NO_ROBUST = {
    "robust_lambda": fixed(0, "scikit-learn's log loss has no robust variant"),
    "confidence_penalty": fixed(0, "scikit-learn's log loss has no confidence penalty"),
}
LOSSES: dict[str, dict[str, dict[str, Param]]] = {
    "binary": {
        "binary_weighted_cross_entropy": {
            **tables.LOSS_WEIGHT,
            "positive_class_weight": fixed(
                None, "scikit-learn's MLP and boosting have no class weights here"
            ),
            **_NO_ROBUST,
        }
    },
    "category": {
        "softmax_cross_entropy": {
            **tables.LOSS_WEIGHT,
            "class_weights": fixed(None, "scikit-learn's MLP has no class weights"),
            **_NO_ROBUST,
            "class_similarities": fixed(None, "scikit-learn's log loss has no class similarities"),
            "class_similarities_temperature": fixed(
                0, "scikit-learn's log loss has no class similarities"
            ),
        }
    },
    "number": {
        "mean_squared_error": dict(tables.LOSS_WEIGHT),
        # Only HistGradientBoosting has it (loss='absolute_error'); checked per model type.
        "mean_absolute_error": dict(tables.LOSS_WEIGHT),
    },
}
OUTPUT_FEATURE_PARAMS = {
    **tables.OUTPUT_FEATURE_PARAMS,
    "calibration": fixed(False, "temperature scaling needs the torch engine"),
}

# --------------------------------------------------------------------------- combiner, trainer

_NO_NORM = "scikit-learn's MLP has no batch or layer normalization"
COMBINER = {
    "type": P("concat", "choice", choices=("concat",)),
    "num_fc_layers": P(0, "int", min=0),
    "output_size": P(256, "int", min=1),
    "fc_layers": _FC_LAYERS,
    "activation": _ACTIVATION,
    "dropout": fixed(0.0, "scikit-learn's MLP has no dropout"),
    "norm": fixed(None, _NO_NORM),
    "norm_params": fixed(None, _NO_NORM),
    "residual": fixed(False, "scikit-learn's MLP has no residual connections"),
    "use_bias": fixed(True, "scikit-learn's MLP always has biases"),
    "flatten_inputs": fixed(False, "inputs are already flat vectors"),
}

_L2_ONLY = "use trainer.regularization_lambda (scikit-learn's L2 penalty alpha)"
OPTIMIZERS = {
    "adam": {
        "betas": tables.BETAS,
        "eps": P(1e-08, "float", min=0.0, min_exclusive=True),
        **tables.ADAM_LEGACY,
        "weight_decay": fixed(0.0, _L2_ONLY),
        "amsgrad": fixed(False, "scikit-learn's Adam has no AMSGrad variant"),
    },
    "sgd": {
        "momentum": P(0.0, "float", min=0.0, max=1.0),
        "nesterov": P(False, "bool"),
        "weight_decay": fixed(0.0, _L2_ONLY),
        "dampening": fixed(0.0, "scikit-learn's SGD has no dampening"),
    },
}
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
# The parameters that choose the best evaluation, which the gbm trainer has too.
_SELECTION = {
    key: tables.ECD_TRAINER_COMMON[key]
    for key in ("validation_field", "validation_metric", "eval_batch_size")
} | {
    "evaluate_training_set": fixed(
        True, "the sklearn engine evaluates the whole training set after every epoch"
    ),
}
_ONE_PASS = "the MLP is evaluated once per epoch (one partial_fit pass)"
ECD_TRAINER = {
    **tables.ECD_TRAINER_COMMON,
    "regularization_type": fixed("l2", "scikit-learn's MLP only has an L2 penalty"),
    "evaluate_training_set": _SELECTION["evaluate_training_set"],
    "train_steps": fixed(None, "training length is counted in epochs (one partial_fit pass each)"),
    "steps_per_checkpoint": fixed(0, _ONE_PASS),
    "checkpoints_per_epoch": fixed(0, _ONE_PASS),
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
MODEL_TYPES = tuple(TRAINERS)


# --------------------------------------------------------------------------- hooks


def resolve_auto(config: dict[str, Any]) -> None:
    """Replace the `auto` values left in the checked trainer by the numbers this engine uses.

    eval_batch_size has no effect here (a split is evaluated at once), so auto becomes null.
    """
    trainer = config["trainer"]
    if trainer.get("learning_rate") == "auto":
        trainer["learning_rate"] = params.auto_learning_rate(config["input_features"])
    if trainer.get("eval_batch_size") == "auto":
        trainer["eval_batch_size"] = None


def check_model(config: dict[str, Any]) -> None:
    """What scikit-learn's estimators cannot express, found across several keys."""
    for feature in config["input_features"]:
        prep = feature["preprocessing"]
        if feature["type"] == "text" and (
            prep["tokenizer"] != "ngram"
            and prep["ngram_size"] != TEXT_PREPROCESSING["ngram_size"].default
        ):
            raise ConfigError(
                f"input_features.{feature['name']}.preprocessing.ngram_size: "
                f"{prep['ngram_size']} has no effect with tokenizer '{prep['tokenizer']}'; set "
                "tokenizer: ngram to build n-grams of 1 to ngram_size words."
            )
    output = config["output_features"][0]
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


# Why what Ludwig has and this engine does not is refused, each naming what to use.
TIED_REASON = "tied weights need the torch engine"
FOREIGN_ENCODERS = NEURAL_ENCODERS
FOREIGN_ENCODER_REASON = f"is a neural network and needs the torch engine ({TORCH_HINT})"
COMBINER_REASON = f"needs the torch engine ({TORCH_HINT})"
OPTIMIZER_NOTE = "scikit-learn's MLP has adam and sgd"

TABLES = checker.EngineTables.of_module(__name__)


def with_defaults(config: dict[str, Any]) -> dict[str, Any]:
    """The checked config with every parameter set (raises ConfigError at the first problem)."""
    return checker.with_defaults(config, TABLES)


def hidden_layer_sizes(config: dict[str, Any]) -> tuple[int, ...]:
    """The MLP's hidden layers: the combiner's fully connected stack, then the decoder's."""
    combiner = config["combiner"]
    decoder = config["output_features"][0]["decoder"]
    if combiner["fc_layers"]:
        sizes = [layer["output_size"] for layer in combiner["fc_layers"]]
    else:
        sizes = [combiner["output_size"]] * combiner["num_fc_layers"]
    if decoder["fc_layers"]:
        sizes += [layer["output_size"] for layer in decoder["fc_layers"]]
    else:
        sizes += [decoder["fc_output_size"]] * decoder["num_fc_layers"]
    return tuple(sizes)
