"""The parts of the engines' tables that are the same in every engine, as data.

Both engines preprocess number, binary and category features the same way
(`backends/preprocessing.py`), share the global preprocessing, the feature keys
and the output feature's own parameters; an engine's schema module starts from
these and adds or overrides what differs.
"""

from __future__ import annotations

from snaketune.backends.params import (
    P,
    check_batch_size,
    check_clip,
    check_eval_batch_size,
    check_fill_value_any,
    check_learning_rate,
    check_optional_str,
    check_pair,
    fixed,
)

UNKNOWN_SYMBOL = "<UNK>"
FEATURE_TYPES = ("number", "binary", "category", "text")
OUTPUT_TYPES = ("binary", "category", "number")
# Ludwig feature types that exist but that no engine here has preprocessing for.
LUDWIG_TYPES = ("set", "bag", "sequence", "image", "audio", "date", "h3", "vector", "timeseries")
# A feature may not take one of these names: hyperopt parameter paths start with them.
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
# Top-level keys that are accepted and ignored by the engines (other modules read or strip them).
IGNORED_TOP_LEVEL = ("defaults", "hyperopt", "ludwig_version", "backend")
# The sections of a model config that an engine trains from.
TRAINED_SECTIONS = (
    "model_type",
    "input_features",
    "output_features",
    "combiner",
    "trainer",
    "preprocessing",
)
TOP_LEVEL = (*TRAINED_SECTIONS, *IGNORED_TOP_LEVEL)
# Ludwig's combiners other than concat.
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
OPTIMIZER_ALIASES = {"stochastic_gradient_descent": "sgd", "gd": "sgd", "gradient_descent": "sgd"}

# --------------------------------------------------------------------------- preprocessing

FILL_COMMON = ("fill_with_const", "fill_with_mode", "bfill", "ffill", "drop_row")
NORMALIZATIONS = ("zscore", "minmax", "iq", "log1p")

NUMBER_PREPROCESSING = {
    "missing_value_strategy": P(
        "fill_with_const", "choice", choices=(*FILL_COMMON, "fill_with_mean")
    ),
    "fill_value": P(0.0, "float"),
    "normalization": P("zscore", "choice", choices=NORMALIZATIONS, nullable=True),
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
        "fill_with_false", "choice", choices=("fill_with_false", *FILL_COMMON)
    ),
    "fill_value": P(None, "custom", check=check_fill_value_any),
    "fallback_true_label": P(None, "custom", check=check_optional_str),
}
CATEGORY_PREPROCESSING = {
    "missing_value_strategy": P("fill_with_const", "choice", choices=FILL_COMMON),
    "fill_value": P(UNKNOWN_SYMBOL, "str"),
    "lowercase": P(False, "bool"),
    "most_common": P(10000, "int", min=1),
}
# An output's rows without a label are dropped by default (Ludwig's output defaults).
OUTPUT_PREPROCESSING = {
    "number": {
        **NUMBER_PREPROCESSING,
        "missing_value_strategy": P("drop_row", "choice", choices=(*FILL_COMMON, "fill_with_mean")),
        "normalization": P(None, "choice", choices=NORMALIZATIONS, nullable=True),
    },
    "binary": {
        **BINARY_PREPROCESSING,
        "missing_value_strategy": P(
            "drop_row", "choice", choices=("fill_with_false", *FILL_COMMON)
        ),
    },
    "category": {
        **CATEGORY_PREPROCESSING,
        "missing_value_strategy": P("drop_row", "choice", choices=FILL_COMMON),
    },
}
GLOBAL_PREPROCESSING = {
    "split": P(None, "custom"),  # checked by data.validate_split_config
    "sample_ratio": P(1.0, "float", min=0.0, max=1.0, min_exclusive=True),
    "sample_size": P(None, "int", min=1, nullable=True),
}

# --------------------------------------------------------------------------- features

INPUT_FEATURE_KEYS = ("name", "type", "column", "preprocessing", "encoder", "tied")
_OUTPUT_COMMON = ("name", "type", "column", "preprocessing", "decoder", "loss")
_OUTPUT_RELATIONS = ("dependencies", "reduce_input", "reduce_dependencies")
OUTPUT_FEATURE_KEYS = {
    "binary": (*_OUTPUT_COMMON, "threshold", *_OUTPUT_RELATIONS, "calibration"),
    "category": (*_OUTPUT_COMMON, "top_k", *_OUTPUT_RELATIONS, "calibration"),
    "number": (*_OUTPUT_COMMON, "clip", *_OUTPUT_RELATIONS),
}
# The output feature's own parameters (not its decoder's). In Ludwig a number output's
# clip belongs to the feature: `decoder.clip` is refused with a message that says so.
OUTPUT_FEATURE_PARAMS = {
    "threshold": fixed(0.5, "metrics use Ludwig's default decision threshold 0.5"),
    "top_k": P(3, "int", min=1),
    "clip": P(None, "custom", check=check_clip),
    "dependencies": fixed([], "there is only one output feature"),
    "reduce_input": fixed("sum", "the combiner output is already a vector"),
    "reduce_dependencies": fixed("sum", "there is only one output feature"),
}
DEFAULT_LOSSES = {
    "binary": "binary_weighted_cross_entropy",
    "category": "softmax_cross_entropy",
    "number": "mean_squared_error",
}
LOSS_WEIGHT = {"weight": fixed(1.0, "there is only one output feature, so its loss has no weight")}
# Older Ludwig docs spell Adam's betas and eps beta_1 / beta_2 / epsilon.
ADAM_LEGACY = {
    "beta_1": P(None, "float", min=0.0, max=0.999999, nullable=True),
    "beta_2": P(None, "float", min=0.0, max=0.999999, nullable=True),
    "epsilon": P(None, "float", min=0.0, min_exclusive=True, nullable=True),
}

# --------------------------------------------------------------------------- trainer

BETAS = P([0.9, 0.999], "custom", check=check_pair)
# The ecd trainer parameters both engines read the same way (each adds its own).
ECD_TRAINER_COMMON = {
    "type": P("trainer", "choice", choices=("trainer",)),
    "epochs": P(100, "int", min=1),
    "batch_size": P(128, "custom", check=check_batch_size),
    "eval_batch_size": P(None, "custom", check=check_eval_batch_size),
    "learning_rate": P(0.001, "custom", check=check_learning_rate),
    "optimizer": P({"type": "adam"}, "custom"),  # checked against the engine's OPTIMIZERS
    "regularization_lambda": P(0.0, "float", min=0.0),
    "early_stop": P(5, "int", min=-1),
    "should_shuffle": P(True, "bool"),
    "validation_field": P(None, "custom", check=check_optional_str),
    "validation_metric": P(None, "custom", check=check_optional_str),
    "learning_rate_scheduler": P(None, "custom"),  # checked against LR_SCHEDULER
    "gradient_clipping": P(None, "custom"),  # checked against GRADIENT_CLIPPING
}
