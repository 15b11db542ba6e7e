"""The torch engine: schema, text preprocessing, what each parameter builds, training, predictor."""

from __future__ import annotations

import copy
import json
import math

import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch")

import joblib  # noqa: E402
from torch import nn  # noqa: E402

from snaketune import metrics, resolve  # noqa: E402
from snaketune.backends.sklearn.models import TrainingDiverged  # noqa: E402
from snaketune.backends.torch_engine import ENGINE, encoders, schema, training  # noqa: E402
from snaketune.backends.torch_engine import model as ecd  # noqa: E402
from snaketune.backends.torch_engine import preprocessing as prep  # noqa: E402
from snaketune.backends.torch_engine.predictor import TorchPredictor  # noqa: E402
from snaketune.errors import ConfigError, NotSupportedError  # noqa: E402
from snaketune.prepare import run_prepare  # noqa: E402

WORDS = np.array(["good", "bad", "great", "awful", "fine", "meh"])
TINY_TEXT = {"embedding_size": 4, "num_filters": 3, "num_fc_layers": 1, "output_size": 4}
BASE = {
    "input_features": [
        {"name": "review", "type": "text", "encoder": dict(TINY_TEXT)},
        {"name": "age", "type": "number"},
        {"name": "colour", "type": "category", "column": "color", "encoder": {"embedding_size": 2}},
        {"name": "member", "type": "binary"},
    ],
    "output_features": [{"name": "label", "type": "category"}],
    "combiner": {"type": "concat", "num_fc_layers": 1, "output_size": 8},
    "trainer": {"epochs": 3, "learning_rate": 0.02, "batch_size": 16},
}


def _config(output=None, **changes):
    config = copy.deepcopy(BASE)
    if output is not None:
        config["output_features"] = [output]
    config.update(copy.deepcopy(changes))
    return config


def _dataset(n=60, seed=0):
    rng = np.random.default_rng(seed)
    age = rng.normal(40, 10, n)
    color = rng.choice(["red", "green", "blue"], n).astype(object)
    member = rng.choice(["yes", "no"], n).astype(object)
    review = [" ".join(rng.choice(WORDS, rng.integers(2, 6))) for _ in range(n)]
    points = (age > 40).astype(int) + (color == "red") + np.array([r.count("good") for r in review])
    frame = pd.DataFrame(
        {
            "age": age,
            "color": color,
            "member": member,
            "review": review,
            "label": np.where(points >= 2, "high", np.where(points == 1, "mid", "low")),
            "churn": np.where(points >= 1, "yes", "no"),
            "spend": 10.0 * points + rng.normal(0, 1, n),
        }
    )
    frame.loc[::11, "age"] = np.nan
    frame.loc[::13, "color"] = None
    frame.loc[::7, "review"] = None
    return frame


def _prepare(tmp_path, config, frame=None, seed=0):
    path = tmp_path / "data.csv"
    (frame if frame is not None else _dataset()).to_csv(path, index=False)
    out = tmp_path / "prepared"
    run_prepare(
        data_files={"dataset": str(path)},
        data_format=None,
        config=ENGINE.preprocessing_key(config),
        engine=ENGINE,
        seed=seed,
        out_dir=str(out),
    )
    return out


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    return _prepare(tmp_path_factory.mktemp("prep"), BASE)


def _train(config, prepared_dir, out_dir, seed=7, output_feature="label", metric="accuracy"):
    info = ENGINE.train(
        config,
        str(prepared_dir),
        str(out_dir),
        seed=seed,
        threads=1,
        output_feature=output_feature,
        metric=metric,
        gpus=0,
        config_path=None,
    )
    stats = json.loads((out_dir / "training_statistics.json").read_text())
    return info, stats, joblib.load(out_dir / "model.joblib")


def _count(module):
    return sum(p.numel() for p in module.parameters())


def _sizes(stack):
    """Output sizes of the layers of an FCStack."""
    return [layer.linear.out_features for layer in stack.layers]


# --------------------------------------------------------------------------- contract


def test_default_encoders_and_decoders():
    assert ENGINE.name == "torch"
    assert [ENGINE.default_encoder(t) for t in ("number", "binary", "category", "text")] == [
        "passthrough",
        "passthrough",
        "dense",
        "parallel_cnn",
    ]
    # Ludwig's names: a binary output's default decoder is "regressor" (one logit).
    assert [ENGINE.default_decoder(t) for t in ("binary", "category", "number")] == [
        "regressor",
        "classifier",
        "regressor",
    ]


def test_ludwig_defaults_are_filled_in():
    full = schema.with_defaults(
        {
            "input_features": [{"name": "t", "type": "text"}, {"name": "c", "type": "category"}],
            "output_features": [{"name": "y", "type": "binary"}],
        }
    )
    text, category = full["input_features"][0], full["input_features"][1]
    assert text["encoder"]["type"] == "parallel_cnn"
    assert (text["encoder"]["embedding_size"], text["encoder"]["num_filters"]) == (256, 256)
    assert text["encoder"]["filter_size"] == 3 and text["encoder"]["reduce_output"] == "sum"
    assert text["preprocessing"]["tokenizer"] == "space_punct"
    assert text["preprocessing"]["max_sequence_length"] == 256
    assert category["encoder"] == {**category["encoder"], "type": "dense", "embedding_size": 50}
    trainer = full["trainer"]
    assert (trainer["epochs"], trainer["learning_rate"], trainer["early_stop"]) == (100, 0.001, 5)
    assert trainer["optimizer"] == {
        "type": "adam",
        "betas": [0.9, 0.999],
        "eps": 1e-08,
        "weight_decay": 0.0,
        "amsgrad": False,
    }
    assert trainer["gradient_clipping"]["clipglobalnorm"] == 0.5
    assert trainer["learning_rate_scheduler"]["decay"] is None
    assert full["combiner"]["num_fc_layers"] == 0 and full["combiner"]["output_size"] == 256
    assert full["output_features"][0]["loss"]["type"] == "binary_weighted_cross_entropy"


def _set(path, value):
    def change(config):
        node = config
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = value

    return change


INVALID = [
    (_set(["foo"], 1), ConfigError, r"^foo: unknown section .*engine torch.*valid: model_type"),
    (
        _set(["input_features", 0, "encoder"], {"type": "parallel_cnn", "foo": 1}),
        ConfigError,
        r"^input_features\.review\.encoder\.foo: unknown parameter for encoder 'parallel_cnn' of "
        r"text features \(engine torch\); valid: type, representation, embedding_size",
    ),
    (
        _set(["input_features", 0, "encoder"], {"type": "rnn", "num_filters": 3}),
        ConfigError,
        r"encoder\.num_filters: unknown parameter for encoder 'rnn'.*cell_type.*state_size",
    ),
    (
        _set(["input_features", 0, "encoder"], {"type": "tf_idf"}),
        NotSupportedError,
        r"^input_features\.review\.encoder\.type: encoder 'tf_idf' exists only in the sklearn "
        r"engine \(--config engine=sklearn\); the torch engine's text encoders are: "
        r"parallel_cnn, stacked_cnn, rnn, embed\.",
    ),
    (
        _set(["input_features", 2, "encoder"], {"type": "target"}),
        NotSupportedError,
        r"'target' exists only in the sklearn engine.*category encoders are: dense, sparse, "
        r"onehot, passthrough",
    ),
    (
        _set(["input_features", 0, "encoder"], {"type": "bert"}),
        ConfigError,
        r"encoder\.type: 'bert' is not an encoder for text features; the torch engine's text "
        "encoders are",
    ),
    (
        _set(["input_features", 0, "encoder"], {"conv_layers": [{"filter_size": 2, "x": 1}]}),
        ConfigError,
        r"conv_layers\[0\]\.x: unknown parameter for a layer .*valid: filter_size, num_filters",
    ),
    (
        _set(["input_features", 0, "encoder"], {"conv_layers": [{"filter_size": 0}]}),
        ConfigError,
        r"conv_layers\[0\]\.filter_size: 0 is not allowed; allowed: an integer >= 1",
    ),
    (
        _set(["input_features", 0, "encoder"], {"num_conv_layers": 2, "conv_layers": [{}]}),
        ConfigError,
        r"encoder\.num_conv_layers: give either conv_layers or num_conv_layers, not both",
    ),
    (
        _set(
            ["input_features", 0, "encoder"],
            {"type": "rnn", "cell_type": "lstm", "activation": "relu"},
        ),
        NotSupportedError,
        r"encoder\.activation: relu .*LSTM and GRU cells use tanh",
    ),
    (
        _set(["input_features", 0, "encoder"], {"type": "embed", "reduce_output": None}),
        ConfigError,
        r"encoder\.reduce_output: null .*combiner\.flatten_inputs: true",
    ),
    (
        _set(["input_features", 0, "encoder"], {"pretrained_embeddings": "glove.txt"}),
        NotSupportedError,
        r"pretrained_embeddings: 'glove\.txt' is not supported by the torch engine: .*only null",
    ),
    (
        _set(["input_features", 0, "preprocessing"], {"tokenizer": "bert"}),
        ConfigError,
        r"preprocessing\.tokenizer: 'bert' is not allowed; allowed: space_punct, space",
    ),
    (
        _set(["input_features", 0, "preprocessing"], {"unknown_symbol": "<PAD>"}),
        ConfigError,
        r"unknown_symbol: '<PAD>' equals padding_symbol",
    ),
    (
        _set(["input_features", 1, "encoder"], {"type": "dense", "num_filters": 2}),
        ConfigError,
        r"^input_features\.age\.encoder\.num_filters: unknown .*'dense' of number features",
    ),
    (
        _set(["input_features", 0, "tied"], "other"),
        NotSupportedError,
        r"^input_features\.review\.tied: 'other' is not supported by the torch engine",
    ),
    (
        _set(
            ["output_features", 0], {"name": "label", "type": "number", "decoder": {"clip": [0, 1]}}
        ),
        ConfigError,
        r"decoder\.clip: clip is a parameter of the number output feature .*label\.clip",
    ),
    (
        _set(["output_features", 0, "loss"], {"type": "softmax_cross_entropy", "foo": 1}),
        ConfigError,
        r"^output_features\.label\.loss\.foo: unknown .*valid: type, weight, class_weights",
    ),
    (
        _set(["output_features", 0, "loss"], {"class_weights": {"high": -1}}),
        ConfigError,
        r"class_weights: .* every weight must be a number >= 0",
    ),
    (
        _set(["output_features", 0, "decoder"], {"type": "regressor"}),
        ConfigError,
        r"decoder\.type: 'regressor' is not a decoder for category output features",
    ),
    (_set(["model_type"], "gbm"), NotSupportedError, r"^model_type: gbm .*sklearn engine"),
    (
        _set(["combiner", "type"], "tabnet"),
        NotSupportedError,
        r"^combiner\.type: .*allowed: concat",
    ),
    (
        _set(["combiner", "norm"], "group"),
        ConfigError,
        r"^combiner\.norm: 'group' is not allowed; allowed: batch, layer, null",
    ),
    (
        _set(["combiner", "fc_layers"], [{"output_size": 4, "colour": 1}]),
        ConfigError,
        r"combiner\.fc_layers\[0\]\.colour: unknown .*valid: output_size, activation, dropout",
    ),
    (_set(["combiner", "dropout"], 1.5), ConfigError, r"^combiner\.dropout: 1\.5 is not allowed"),
    (
        _set(["trainer", "foo"], 1),
        ConfigError,
        r"^trainer\.foo: unknown parameter for the ecd trainer \(engine torch\); valid: type, "
        r"epochs",
    ),
    (
        _set(["trainer", "learning_rate"], "fast"),
        ConfigError,
        r"^trainer\.learning_rate: 'fast' is not allowed; allowed: a number > 0\.$",
    ),
    (
        _set(["trainer", "batch_size"], "max"),
        ConfigError,
        r"^trainer\.batch_size: 'max' is not allowed; allowed: an integer >= 1, or auto\.$",
    ),
    (
        _set(["trainer", "eval_batch_size"], -1),
        ConfigError,
        r"^trainer\.eval_batch_size: -1 is not allowed; allowed: an integer >= 0, auto or null\.$",
    ),
    (
        _set(["trainer", "optimizer"], {"type": "lbfgs"}),
        NotSupportedError,
        r"optimizer 'lbfgs' is not available .*allowed: adam, adamw, sgd",
    ),
    (
        _set(["trainer", "optimizer"], {"type": "adamw", "momentum": 0.9}),
        ConfigError,
        r"^trainer\.optimizer\.momentum: unknown parameter for optimizer 'adamw'.*valid: type, "
        r"betas, eps, weight_decay, amsgrad",
    ),
    (
        _set(["trainer", "optimizer"], {"type": "sgd", "nesterov": True}),
        ConfigError,
        r"nesterov: true needs momentum > 0",
    ),
    (
        _set(["trainer", "learning_rate_scheduler"], {"decay": "step"}),
        ConfigError,
        r"learning_rate_scheduler\.decay: 'step' is not allowed; allowed: linear, exponential, "
        r"cosine, null",
    ),
    (
        _set(
            ["trainer", "learning_rate_scheduler"],
            {"warmup_evaluations": 1, "warmup_fraction": 0.1},
        ),
        ConfigError,
        r"give either warmup_evaluations .* or warmup_fraction",
    ),
    (
        _set(["trainer", "learning_rate_scheduler"], {"reduce_eval_metric": "r2"}),
        ConfigError,
        r"^trainer\.learning_rate_scheduler\.reduce_eval_metric: .*'r2'",
    ),
    (
        _set(["trainer", "learning_rate_scheduler"], {"reduce_eval_split": "test"}),
        ConfigError,
        r"reduce_eval_split: 'test' is not allowed; allowed: training, validation",
    ),
    (
        _set(["trainer", "regularization_type"], "l3"),
        ConfigError,
        r"regularization_type: 'l3' is not allowed; allowed: l1, l2, l1_l2, null",
    ),
    (
        _set(["trainer", "use_mixed_precision"], True),
        NotSupportedError,
        r"use_mixed_precision: true is not supported by the torch engine",
    ),
    (
        _set(["trainer", "validation_metric"], "r2"),
        ConfigError,
        r"^trainer\.validation_metric: .*'r2'",
    ),
    (
        lambda c: c["output_features"].append({"name": "other", "type": "number"}),
        NotSupportedError,
        r"^output_features: 2 output features",
    ),
    (_set(["input_features", 0, "name"], "label"), ConfigError, r"duplicate feature name 'label'"),
    (
        _set(["input_features", 0, "type"], "image"),
        NotSupportedError,
        r"input features of type 'image' are not supported by the torch engine",
    ),
]


@pytest.mark.parametrize(("change", "error", "pattern"), INVALID)
def test_validate_config_errors(change, error, pattern):
    config = _config()
    change(config)
    with pytest.raises(error, match=pattern):
        ENGINE.validate_config(config)


def test_valid_ludwig_spellings_are_accepted():
    config = _config()
    config["input_features"][0]["encoder"] = {"type": "rnn", "cell_type": "lstm_cudnn"}
    config["combiner"].update(activation=None, norm="layer", dropout=0.1, residual=True)
    config["trainer"]["optimizer"] = {"type": "adam", "beta_1": 0.8, "epsilon": 1e-7}
    config["trainer"]["batch_size"] = "auto"
    config["output_features"][0]["loss"] = {"class_weights": {"high": 2}, "robust_lambda": 0.1}
    config["ludwig_version"] = "0.17"
    config["defaults"] = {"text": {"encoder": {"type": "parallel_cnn"}}}  # read elsewhere
    ENGINE.validate_config(config)
    full = schema.with_defaults(config)
    assert full["trainer"]["optimizer"]["betas"] == [0.8, 0.999]
    assert full["trainer"]["optimizer"]["eps"] == 1e-7
    gd = _config(trainer={"optimizer": {"type": "gd", "momentum": 0.9, "nesterov": True}})
    assert schema.with_defaults(gd)["trainer"]["optimizer"]["type"] == "sgd"


AUTO = {"learning_rate": "auto", "batch_size": "auto", "eval_batch_size": "auto"}


def test_auto_trainer_values_become_the_documented_numbers():
    """docs/torch.md: Ludwig's learning-rate heuristic, 128 rows, max(batch_size, 1024)."""
    trainer = schema.with_defaults(_config(trainer=AUTO))["trainer"]
    assert trainer["learning_rate"] == 0.0001  # a text input
    assert (trainer["batch_size"], trainer["eval_batch_size"]) == (128, 1024)
    tabular = _config(trainer=AUTO)
    tabular["input_features"] = tabular["input_features"][1:]
    assert schema.with_defaults(tabular)["trainer"]["learning_rate"] == 0.001
    wide = _config(trainer={"batch_size": 2048, "eval_batch_size": "auto"})
    assert schema.with_defaults(wide)["trainer"]["eval_batch_size"] == 2048


def test_sampled_values_replace_auto():
    sampled = resolve.substitute(
        _config(trainer=AUTO), {"trainer.learning_rate": 0.05, "trainer.batch_size": 32}
    )
    trainer = schema.with_defaults(sampled)["trainer"]
    assert (trainer["learning_rate"], trainer["batch_size"]) == (0.05, 32)


def _bare(n_inputs=4, **sections):
    inputs = copy.deepcopy(BASE["input_features"][:n_inputs])
    return {"input_features": inputs, "output_features": BASE["output_features"], **sections}


def test_ludwig_differences_name_each_default_the_config_relies_on():
    notices = schema.ludwig_differences(_bare())
    assert notices == ENGINE.config_notices(_bare())
    combiner, batch_size = notices  # evaluate_training_set: false is Ludwig's default too
    assert combiner == (
        "combiner: no combiner is given and there are 4 input features; Ludwig 0.17 then uses "
        "ft_transformer, which the torch engine does not implement yet, so it uses concat."
    )
    assert batch_size.startswith("trainer.batch_size: no batch_size is given; Ludwig 0.17 then ")
    assert batch_size.endswith("the torch engine uses 128.")


def test_ludwig_differences_leave_out_what_the_config_sets():
    chosen = {"batch_size": 64, "evaluate_training_set": True}
    assert schema.ludwig_differences(_bare(trainer=chosen, combiner={})) == []
    assert schema.ludwig_differences(_bare(2, trainer=chosen)) == []  # concat below 3 inputs
    (notice,) = schema.ludwig_differences(_bare(3, combiner=None, trainer={**chosen, **AUTO}))
    assert notice.startswith("trainer.batch_size: auto is given; Ludwig 0.17 then tunes it")
    assert schema.ludwig_differences("not a config") == []


def test_preprocessing_key_depends_only_on_preprocessing():
    key = ENGINE.preprocessing_key(BASE)
    other = _config(trainer={"epochs": 9}, combiner={"num_fc_layers": 2})
    other["input_features"][0]["encoder"] = {"type": "rnn", "state_size": 3}
    assert ENGINE.preprocessing_key(other) == key
    changed = _config()
    changed["input_features"][0]["preprocessing"] = {"max_sequence_length": 3}
    assert ENGINE.preprocessing_key(changed) != key
    json.dumps(key)


# --------------------------------------------------------------------------- preprocessing


def _text_prep(values, **params):
    full = {k: p.default for k, p in schema.TEXT_PREPROCESSING.items()}
    full.update(params)
    return prep.TextPreprocessor("t", "t", full).fit(pd.Series(values, dtype=object))


def test_text_tokenizers_vocabulary_and_padding():
    assert schema.TEXT_PREPROCESSING["lowercase"].default is False  # Ludwig 0.17's
    texts = ["Good, good movie!", "bad movie", None, "good"]
    p = _text_prep(texts, lowercase=True)
    assert p.vocabulary_[:2] == ["<PAD>", "<UNK>"]
    assert p.vocabulary_[2:5] == ["good", "movie", "!"]  # by count, then alphabetically
    assert p.length_ == 5  # the longest training text: good , good movie !
    ids = p.transform(pd.Series(["good unseen", None, "MOVIE"], dtype=object))
    assert ids.tolist() == [
        [2, 1, 0, 0, 0],  # unseen token -> <UNK>
        [1, 0, 0, 0, 0],  # missing -> <UNK> alone
        [3, 0, 0, 0, 0],  # lowercased
    ]
    space = _text_prep(texts, tokenizer="space", lowercase=False, most_common=2, padding="left")
    assert space.vocabulary_ == ["<PAD>", "<UNK>", "good", "Good,"]
    assert space.transform(pd.Series(["bad good"])).tolist() == [[0, 1, 2]]  # left padding
    capped = _text_prep(texts, max_sequence_length=2)
    assert capped.length_ == 2 and capped.transform(pd.Series(["good good good"])).shape == (1, 2)
    fixed = _text_prep(texts, sequence_length=7, padding_symbol="<p>", unknown_symbol="<u>")
    assert fixed.length_ == 7 and fixed.vocabulary_[:2] == ["<p>", "<u>"]
    chars = _text_prep(["ab a"], tokenizer="characters")
    assert chars.vocabulary_[2:] == ["a", "b"]
    assert prep.tokenize("a b c", "ngram", 2) == ["a", "b", "c", "a b", "b c"]
    assert prep.tokenize("x_y__z", "underscore") == ["x", "y", "z"]
    assert prep.tokenize("x, y", "comma") == ["x", "y"]


def test_text_missing_value_strategies():
    mode = _text_prep(["a b", None, "a b", "c"], missing_value_strategy="fill_with_mode")
    assert mode.transform(pd.Series([None], dtype=object)).tolist() == [[2, 3]]
    const = _text_prep(["a", None], fill_value="nothing here")
    assert "nothing" in const.vocabulary_


def test_prepared_arrays(prepared):
    splits = joblib.load(prepared / "torch" / "splits.joblib")
    info = json.loads((prepared / "torch" / "info.json").read_text())
    X = splits["training"]["X"]
    assert (
        X["review"].dtype == np.int64 and X["review"].shape[1] == info["sequence_lengths"]["review"]
    )
    assert X["colour"].dtype == np.int64 and X["colour"].ndim == 1
    assert X["age"].dtype == np.float32 and X["age"].shape[1] == 1
    assert not np.isnan(X["age"]).any()  # missing numbers filled
    assert info["vocabulary_sizes"]["colour"] == 4  # <UNK>, red, green, blue
    assert info["classes"] and set(info["classes"]) == {"high", "mid", "low"}


def test_unseen_and_missing_categories_map_to_unknown(prepared):
    stored = joblib.load(prepared / "torch" / "preprocessors.joblib")
    colour = stored["inputs"]["colour"]
    values = prep.to_array(colour, pd.Series(["purple", None, "red"], dtype=object))
    assert values[0] == 0 and values[1] == 0 and values[2] > 0


# --------------------------------------------------------------------------- what gets built

TEXT_INFO = {"vocab_size": 30, "sequence_length": 6, "padding": "right"}


def _text_encoder(info=TEXT_INFO, **encoder):
    config = _config()
    config["input_features"][0]["encoder"] = encoder
    feature = schema.with_defaults(config)["input_features"][0]
    return encoders.build_encoder(feature, info)


def _convs(encoder):
    return [conv.conv for conv in encoder.convs]


def test_parallel_cnn_defaults_are_ludwigs():
    encoder = _text_encoder(embedding_size=5, num_filters=2)
    assert [c.kernel_size[0] for c in _convs(encoder)] == [2, 3, 4, 5]
    assert [layer.linear.out_features for layer in encoder.fc.layers] == [512, 256]
    assert encoder.output_shape == (256,)
    assert encoder.reduce_output == "sum"


@pytest.mark.parametrize(
    ("params", "check"),
    [
        ({"num_filters": 7}, lambda e: {c.out_channels for c in _convs(e)} == {7}),
        (
            {"filter_size": 4, "num_conv_layers": 2},
            lambda e: [c.kernel_size[0] for c in _convs(e)] == [4, 4],
        ),
        (
            {"conv_layers": [{"filter_size": 1, "num_filters": 2}, {"filter_size": 3}]},
            lambda e: [(c.kernel_size[0], c.out_channels) for c in _convs(e)] == [(1, 2), (3, 5)],
        ),
        ({"embedding_size": 3}, lambda e: e.embed.embedding.weight.shape == (30, 3)),
        ({"embedding_size": 100}, lambda e: e.embed.output_size == 30),  # capped at the vocabulary
        ({"representation": "sparse"}, lambda e: not e.embed.embedding.weight.requires_grad),
        (
            {"num_fc_layers": 3, "output_size": 6},
            lambda e: len(e.fc.layers) == 3 and e.output_shape == (6,),
        ),
        ({"num_fc_layers": 0}, lambda e: e.fc is None and e.output_shape == (4 * 5,)),
        ({"fc_layers": [{"output_size": 9}, {"output_size": 2}]}, lambda e: e.output_shape == (2,)),
        (
            {"dropout": 0.3},
            lambda e: {m.p for m in e.modules() if isinstance(m, nn.Dropout)} == {0.3},
        ),
        ({"activation": "tanh"}, lambda e: any(isinstance(m, nn.Tanh) for m in e.modules())),
        ({"norm": "batch"}, lambda e: any(isinstance(m, nn.BatchNorm1d) for m in e.modules())),
        ({"reduce_output": "concat", "num_fc_layers": 0}, lambda e: e.output_shape == (6 * 4 * 5,)),
        (
            {"pool_size": 2, "reduce_output": "concat", "num_fc_layers": 0},
            lambda e: e.output_shape == (3 * 4 * 5,),
        ),
    ],
)
def test_parallel_cnn_parameters_change_the_network(params, check):
    encoder = _text_encoder(**{"embedding_size": 5, "num_filters": 5, **params})
    assert check(encoder)
    out = encoder(torch.randint(0, 30, (3, 6)))
    assert tuple(out.shape[1:]) == encoder.output_shape


def test_stacked_cnn_layers_and_pooling():
    default = _text_encoder(type="stacked_cnn", embedding_size=4, num_filters=2)
    assert [c.kernel_size[0] for c in _convs(default)] == [7, 7, 3, 3, 3, 3]
    assert [conv.out_length for conv in default.convs] == [2, 1, 1, 1, 1, 1]  # pools of 3
    two = _text_encoder(
        type="stacked_cnn", num_conv_layers=2, filter_size=2, num_filters=3, num_fc_layers=0,
        reduce_output="concat", embedding_size=4,
    )  # fmt: skip
    assert len(two.convs) == 2 and two.output_shape == (6 * 3,)
    strided = _text_encoder(
        type="stacked_cnn", conv_layers=[{"filter_size": 2, "strides": 2, "padding": "valid"}],
        num_filters=3, num_fc_layers=0, reduce_output="concat", embedding_size=4,
    )  # fmt: skip
    assert strided.output_shape == (3 * 3,)
    assert tuple(strided(torch.randint(0, 30, (2, 6))).shape) == (2, 9)
    with pytest.raises(ValueError, match=r"conv_layers\[0\]: the sequence is 6 tokens long"):
        _text_encoder(type="stacked_cnn", conv_layers=[{"filter_size": 9, "padding": "valid"}])


@pytest.mark.parametrize(
    ("params", "check"),
    [
        ({"cell_type": "rnn"}, lambda e: type(e.rnn) is nn.RNN),
        ({"cell_type": "lstm"}, lambda e: type(e.rnn) is nn.LSTM),
        ({"cell_type": "gru_block"}, lambda e: type(e.rnn) is nn.GRU),
        ({"state_size": 7}, lambda e: e.rnn.hidden_size == 7 and e.output_shape == (7,)),
        ({"bidirectional": True}, lambda e: e.rnn.bidirectional and e.output_shape == (10,)),
        ({"num_layers": 3}, lambda e: e.rnn.num_layers == 3),
        ({"embedding_size": 2}, lambda e: e.rnn.input_size == 2),
        (
            {"num_fc_layers": 2, "output_size": 3},
            lambda e: e.output_shape == (3,) and len(e.fc.layers) == 2,
        ),
        ({"reduce_output": "concat"}, lambda e: e.output_shape == (6 * 5,)),
        ({"activation": "relu"}, lambda e: e.rnn.nonlinearity == "relu"),
    ],
)
def test_rnn_parameters_change_the_network(params, check):
    encoder = _text_encoder(**{"type": "rnn", "state_size": 5, "embedding_size": 4, **params})
    assert check(encoder)
    out = encoder(torch.randint(0, 30, (3, 6)))
    assert tuple(out.shape[1:]) == encoder.output_shape


def test_rnn_last_reduction_takes_the_last_real_token():
    encoder = _text_encoder(type="rnn", state_size=3, embedding_size=2).eval()
    ids = torch.tensor([[5, 6, 0, 0, 0, 0]])
    full, _ = encoder.rnn(encoder.embed(ids))
    assert torch.allclose(encoder(ids), full[:, 1])


def test_lstm_unit_forget_bias():
    on = _text_encoder(type="rnn", cell_type="lstm", state_size=2, embedding_size=2)
    off = _text_encoder(type="rnn", cell_type="lstm", state_size=2, embedding_size=2,
                        unit_forget_bias=False)  # fmt: skip
    assert on.rnn.bias_ih_l0[2:4].tolist() == [1.0, 1.0]
    assert off.rnn.bias_ih_l0.abs().sum() == 0


def test_embed_encoder():
    encoder = _text_encoder(type="embed", embedding_size=3)
    assert encoder.output_shape == (3,) and _count(encoder) == 30 * 3
    mean = _text_encoder(type="embed", embedding_size=3, reduce_output="max")
    assert mean(torch.randint(0, 30, (2, 6))).shape == (2, 3)


def _feature_encoder(index, encoder, info):
    config = _config()
    config["input_features"][index]["encoder"] = encoder
    return encoders.build_encoder(schema.with_defaults(config)["input_features"][index], info)


def test_category_encoders():
    info = {"vocab_size": 6}
    dense = _feature_encoder(2, {"type": "dense", "embedding_size": 4, "dropout": 0.2}, info)
    assert dense.output_shape == (4,) and _count(dense) == 6 * 4
    assert any(isinstance(m, nn.Dropout) and m.p == 0.2 for m in dense.modules())
    assert _feature_encoder(2, {"type": "dense", "embedding_size": 50}, info).output_shape == (6,)
    sparse = _feature_encoder(2, {"type": "sparse"}, info)
    assert sparse.output_shape == (6,)
    assert torch.equal(sparse(torch.tensor([2])), torch.eye(6)[[2]])
    onehot = _feature_encoder(2, {"type": "onehot"}, info)
    assert _count(onehot) == 0 and onehot(torch.tensor([0, 5])).shape == (2, 6)
    passthrough = _feature_encoder(2, {"type": "passthrough"}, info)
    assert passthrough(torch.tensor([3])).tolist() == [[3.0]]


def test_number_and_binary_encoders():
    assert _feature_encoder(1, {"type": "passthrough"}, {}).output_shape == (1,)
    dense = _feature_encoder(1, {"type": "dense", "output_size": 5, "num_layers": 2}, {})
    assert dense.output_shape == (5,) and len(dense.fc.layers) == 2
    custom = _feature_encoder(3, {"type": "dense", "fc_layers": [{"output_size": 3}]}, {})
    assert custom.output_shape == (3,) and _count(custom) == 1 * 3 + 3


SPEC_INPUTS = {"review": TEXT_INFO, "colour": {"vocab_size": 4}}


def _network(output=None, **changes):
    full = schema.with_defaults(_config(output, **changes))
    spec = {
        "config": full,
        "inputs": SPEC_INPUTS,
        "output": {"type": full["output_features"][0]["type"], "n_classes": 3},
    }
    return ecd.build_model(spec)


def _batch(n=4):
    return {
        "review": torch.randint(0, 30, (n, 6)),
        "age": torch.randn(n, 1),
        "colour": torch.randint(0, 4, (n,)),
        "member": torch.ones(n, 1),
    }


# review 4 + age 1 + colour 2 + member 1
CONCAT_WIDTH = 8


@pytest.mark.parametrize(
    ("combiner", "check"),
    [
        ({"num_fc_layers": 0}, lambda c: c.output_size == CONCAT_WIDTH and not c.fc.layers),
        (
            {"num_fc_layers": 2, "output_size": 5},
            lambda c: _sizes(c.fc) == [5, 5],
        ),
        ({"fc_layers": [{"output_size": 7}, {"output_size": 3}]}, lambda c: c.output_size == 3),
        (
            {"num_fc_layers": 1, "norm": "batch"},
            lambda c: isinstance(c.fc.layers[0].norm, nn.BatchNorm1d),
        ),
        (
            {"num_fc_layers": 1, "norm": "layer"},
            lambda c: isinstance(c.fc.layers[0].norm, nn.LayerNorm),
        ),
        ({"num_fc_layers": 1, "dropout": 0.4}, lambda c: c.fc.layers[0].dropout.p == 0.4),
        (
            {"num_fc_layers": 1, "activation": "elu"},
            lambda c: isinstance(c.fc.layers[0].activation, nn.ELU),
        ),
        ({"num_fc_layers": 1, "use_bias": False}, lambda c: c.fc.layers[0].linear.bias is None),
    ],
)
def test_combiner_parameters_change_the_network(combiner, check):
    network = _network(combiner={"type": "concat", **combiner})
    assert check(network.combiner)
    assert network.decoder.projection.in_features == network.combiner.output_size
    network.train()
    assert network(_batch()).shape == (4, 3)


def test_combiner_residual_and_flatten_inputs():
    residual = _network(combiner={"num_fc_layers": 2, "output_size": 8, "residual": True})
    residual.eval()
    hidden = torch.randn(2, CONCAT_WIDTH, generator=torch.Generator().manual_seed(0))
    layer_out = residual.combiner.fc.layers[0](hidden)
    # float sums may be ordered differently by the two paths: compare with a tolerance
    assert torch.allclose(
        residual.combiner.fc.layers[1](layer_out + hidden) + layer_out + hidden,
        residual.combiner.fc(hidden),
        atol=1e-6,
    )
    config = _config(combiner={"flatten_inputs": True})
    config["input_features"][0]["encoder"] = {"type": "embed", "embedding_size": 2,
                                              "reduce_output": None}  # fmt: skip
    full = schema.with_defaults(config)
    spec = {"config": full, "inputs": SPEC_INPUTS, "output": {"type": "category", "n_classes": 3}}
    network = ecd.build_model(spec)
    assert network.combiner.input_size == 6 * 2 + 1 + 2 + 1
    assert network(_batch()).shape == (4, 3)


@pytest.mark.parametrize(
    ("output", "check"),
    [
        (
            {"type": "category", "decoder": {"num_fc_layers": 2, "fc_output_size": 6}},
            lambda d: _sizes(d.fc) == [6, 6] and d.projection.out_features == 3,
        ),
        (
            {"type": "category", "decoder": {"fc_layers": [{"output_size": 4}]}},
            lambda d: d.projection.in_features == 4,
        ),
        (
            {"type": "category", "decoder": {"num_fc_layers": 1, "fc_norm": "batch"}},
            lambda d: isinstance(d.fc.layers[0].norm, nn.BatchNorm1d),
        ),
        (
            {"type": "category", "decoder": {"num_fc_layers": 1, "fc_dropout": 0.5}},
            lambda d: d.fc.layers[0].dropout.p == 0.5,
        ),
        ({"type": "binary"}, lambda d: d.projection.out_features == 1 and not d.fc.layers),
        (
            {"type": "number", "decoder": {"use_bias": False}},
            lambda d: d.projection.out_features == 1 and d.projection.bias is None,
        ),
    ],
)
def test_decoder_parameters_change_the_network(output, check):
    network = _network({"name": "label", **output})
    assert check(network.decoder)
    expected = (4, 3) if output["type"] == "category" else (4,)
    assert network.train()(_batch()).shape == expected


# --------------------------------------------------------------------------- schedules, losses


def _schedule(total=100, per_epoch=10, **config):
    full = {k: copy.deepcopy(p.default) for k, p in schema.LR_SCHEDULER.items()}
    full.update(config)
    return training.Schedule(full, 0.1, per_epoch, total)


def test_learning_rate_schedules():
    assert _schedule().rate(57) == 0.1
    linear = _schedule(decay="linear")
    assert linear.rate(0) == 0.1 and math.isclose(linear.rate(50), 0.05) and linear.rate(99) > 0
    expo = _schedule(decay="exponential", decay_rate=0.5, decay_steps=10)
    assert math.isclose(expo.rate(10), 0.05) and math.isclose(expo.rate(5), 0.1 * 0.5**0.5)
    stairs = _schedule(decay="exponential", decay_rate=0.5, decay_steps=10, staircase=True)
    assert stairs.rate(9) == 0.1 and math.isclose(stairs.rate(10), 0.05)
    cosine = _schedule(decay="cosine", t_0=10)
    assert cosine.rate(0) == 0.1 and math.isclose(cosine.rate(5), 0.05) and cosine.rate(10) == 0.1
    longer = _schedule(decay="cosine", t_0=10, t_mult=2)  # periods 10, 20, 40, ...
    assert longer.rate(10) == 0.1 and math.isclose(longer.rate(20), 0.05) and longer.rate(30) == 0.1
    warm = _schedule(warmup_evaluations=1)  # one epoch = 10 steps
    assert math.isclose(warm.rate(0), 0.01) and math.isclose(warm.rate(9), 0.1)
    assert _schedule(warmup_fraction=0.5).warmup == 50


def test_reduce_on_plateau():
    schedule = _schedule(reduce_on_plateau=1, reduce_on_plateau_patience=2)
    assert [schedule.evaluated(v, "loss") for v in (1.0, 0.9, 0.95, 0.93)] == [
        False,
        False,
        False,
        True,
    ]
    assert math.isclose(schedule.rate(0), 0.01)
    assert not schedule.evaluated(5.0, "loss") and not schedule.evaluated(5.0, "loss")
    assert not schedule.evaluated(5.0, "loss")  # no reductions left


def _loss(output, classes=None, n_classes=3):
    full = schema.with_defaults(_config(output))["output_features"][0]
    task = training.Task("label", full["type"], n_classes, full["loss"]["type"])
    return training.make_loss(full, task, classes, torch.device("cpu"))


def test_losses():
    logits, y = torch.tensor([[2.0, 0.0, 0.0], [0.0, 1.0, 0.0]]), torch.tensor([0, 2])
    plain = _loss({"name": "label", "type": "category"})(logits, y)
    assert torch.isclose(plain, torch.nn.functional.cross_entropy(logits, y))
    weighted = _loss(
        {"name": "label", "type": "category", "loss": {"class_weights": {"c": 3.0}}},
        ["a", "b", "c"],
    )(logits, y)
    assert not torch.isclose(weighted, plain)
    robust = _loss({"name": "label", "type": "category", "loss": {"robust_lambda": 0.5}})
    assert torch.isclose(robust(logits, y), 0.5 * plain + 0.5 / 3)
    penalized = _loss({"name": "label", "type": "category", "loss": {"confidence_penalty": 1}})
    assert penalized(logits, y) > plain
    with pytest.raises(ValueError, match=r"class_weights: 2 weights for 3 classes"):
        _loss(
            {"name": "label", "type": "category", "loss": {"class_weights": [1, 2]}},
            ["a", "b", "c"],
        )
    binary = _loss({"name": "label", "type": "binary", "loss": {"positive_class_weight": 2}})
    z, t = torch.tensor([0.3, -1.0]), torch.tensor([1.0, 1.0])
    expected = torch.nn.functional.binary_cross_entropy_with_logits(
        z, t, pos_weight=torch.tensor(2.0)
    )
    assert torch.isclose(binary(z, t), expected)
    mae = _loss({"name": "label", "type": "number", "loss": {"type": "mean_absolute_error"}})
    assert mae(torch.tensor([1.0, 3.0]), torch.tensor([2.0, 2.0])) == 1.0
    rmse = _loss({"name": "label", "type": "number", "loss": {"type": "root_mean_squared_error"}})
    assert rmse(torch.tensor([0.0, 0.0]), torch.tensor([3.0, 4.0])) == math.sqrt(12.5)


def test_regularization_penalty():
    params = [nn.Parameter(torch.tensor([1.0, -2.0]))]
    assert training.regularization(params, "l1", 0.5).item() == 1.5
    assert training.regularization(params, "l2", 0.5).item() == 2.5
    assert training.regularization(params, "l1_l2", 1.0).item() == 8.0
    assert training.regularization(params, "l2", 0.0) is None


def test_device_falls_back_to_cpu():
    from snaketune.backends.torch_engine.engine import device_for

    assert device_for(0).type == "cpu"
    if not torch.cuda.is_available():
        assert device_for(1).type == "cpu"


# --------------------------------------------------------------------------- training


def _curve_checks(stats, output, output_type, epochs_run):
    for split in ("training", "validation", "test"):
        curves = stats[split][output]
        assert list(curves) == metrics.metrics_for(output_type)
        assert all(len(values) == epochs_run for values in curves.values())
        assert stats[split]["combined"]["loss"] == curves["loss"]
    assert stats["evaluation_frequency"] == {"frequency": 1, "period": "epoch"}


def test_training_category_curves_and_best_epoch(prepared, tmp_path):
    config = _config(
        trainer={"epochs": 4, "learning_rate": 0.05, "batch_size": 8, "early_stop": -1}
    )
    info, stats, predictor = _train(config, prepared, tmp_path)
    assert info["epochs_run"] == 4
    _curve_checks(stats, "label", "category", 4)
    accuracy = stats["validation"]["label"]["accuracy"]
    assert info["best_epoch"] == metrics.best_index(accuracy, "accuracy") + 1
    # The saved model is the best epoch's: it reproduces that epoch's validation metric.
    validation = pd.read_parquet(prepared / "validation.parquet")
    proba = predictor.predict_proba(validation)
    again = metrics.compute("category", validation["label"].to_numpy(), proba, predictor.classes_)
    assert math.isclose(again["accuracy"], accuracy[info["best_epoch"] - 1])
    assert math.isclose(
        again["loss"], stats["validation"]["label"]["loss"][info["best_epoch"] - 1], rel_tol=1e-6
    )
    assert isinstance(predictor, TorchPredictor)


def test_evaluate_training_set_false_curves_the_batches_and_keeps_the_model(prepared, tmp_path):
    """Ludwig's default: the training curve is of the epoch's batches as trained on (no
    second pass); the model, the other splits' curves and the best epoch are unchanged."""
    trainer = {"epochs": 3, "learning_rate": 0.05, "batch_size": 8, "early_stop": -1}
    info, batches, model = _train(_config(trainer=trainer), prepared, tmp_path / "a")
    full_config = _config(trainer={**trainer, "evaluate_training_set": True})
    full_info, full, full_model = _train(full_config, prepared, tmp_path / "b")
    assert info == full_info
    assert batches["validation"] == full["validation"] and batches["test"] == full["test"]
    assert all(np.array_equal(model.weights[k], full_model.weights[k]) for k in model.weights)
    _curve_checks(batches, "label", "category", 3)
    assert batches["training"] != full["training"]
    # A full evaluation is of the model as it was after the epoch: the kept (best) one's.
    training = pd.read_parquet(prepared / "training.parquet")
    proba = full_model.predict_proba(training)
    again = metrics.compute("category", training["label"].to_numpy(), proba, full_model.classes_)
    best = full_info["best_epoch"] - 1
    assert math.isclose(again["accuracy"], full["training"]["label"]["accuracy"][best])


def test_best_epoch_is_kept_not_the_last(prepared, tmp_path):
    # A learning rate far too high makes later epochs worse than an earlier one.
    config = _config(
        trainer={"epochs": 6, "learning_rate": 1.0, "batch_size": 4, "early_stop": -1,
                 "optimizer": {"type": "sgd"}, "gradient_clipping": {"clipglobalnorm": None}},
    )  # fmt: skip
    info, stats, predictor = _train(config, prepared, tmp_path, metric="loss")
    losses = stats["validation"]["label"]["loss"]
    assert info["best_epoch"] < info["epochs_run"] == 6
    validation = pd.read_parquet(prepared / "validation.parquet")
    again = metrics.compute(
        "category", validation["label"].to_numpy(), predictor.predict_proba(validation),
        predictor.classes_,
    )  # fmt: skip
    assert math.isclose(again["loss"], losses[info["best_epoch"] - 1], rel_tol=1e-6)
    assert not math.isclose(again["loss"], losses[-1], rel_tol=1e-6)


def test_early_stop(prepared, tmp_path):
    config = _config(
        trainer={"epochs": 30, "learning_rate": 1.0, "batch_size": 4, "early_stop": 0,
                 "optimizer": {"type": "sgd"}, "gradient_clipping": {"clipglobalnorm": None}},
    )  # fmt: skip
    info, stats, _ = _train(config, prepared, tmp_path, metric="loss")
    assert info["epochs_run"] == info["best_epoch"] + 1 < 30
    assert len(stats["test"]["label"]["loss"]) == info["epochs_run"]


def test_train_steps_limit_training(prepared, tmp_path):
    config = _config(trainer={"epochs": 50, "train_steps": 5, "batch_size": 16})
    info, stats, _ = _train(config, prepared, tmp_path)
    # about 42 training rows -> 3 steps per epoch; 5 steps end in the second epoch
    assert info["epochs_run"] == 2


def test_training_is_deterministic(prepared, tmp_path):
    config = _config(combiner={"num_fc_layers": 1, "output_size": 4, "dropout": 0.2})
    config["trainer"]["learning_rate_scheduler"] = {"decay": "linear"}
    config["trainer"]["regularization_lambda"] = 0.001
    _, first, model_a = _train(config, prepared, tmp_path / "a", seed=11)
    _, second, model_b = _train(config, prepared, tmp_path / "b", seed=11)
    assert first == second
    assert all(np.array_equal(model_a.weights[k], model_b.weights[k]) for k in model_a.weights)
    _, other, _ = _train(config, prepared, tmp_path / "c", seed=12)
    assert other != first


@pytest.fixture(scope="module")
def binary_prepared(tmp_path_factory):
    config = _config({"name": "churn", "type": "binary"})
    return _prepare(tmp_path_factory.mktemp("binary"), config)


def test_training_binary_output(binary_prepared, tmp_path):
    config = _config({"name": "churn", "type": "binary", "loss": {"positive_class_weight": 1.5}})
    config["input_features"][0]["encoder"] = {
        "type": "rnn", "cell_type": "gru", "state_size": 3, "embedding_size": 3,
        "bidirectional": True,
    }  # fmt: skip
    info, stats, predictor = _train(
        config, binary_prepared, tmp_path, output_feature="churn", metric="roc_auc"
    )
    _curve_checks(stats, "churn", "binary", info["epochs_run"])
    assert predictor.classes_ == [False, True]  # yes/no are boolean spellings
    frame = _dataset().head(5)
    assert predictor.predict(frame).dtype == bool
    assert predictor.predict_proba(frame).shape == (5, 2)


@pytest.fixture(scope="module")
def number_prepared(tmp_path_factory):
    config = _config(
        {"name": "spend", "type": "number", "preprocessing": {"normalization": "zscore"}}
    )
    return _prepare(tmp_path_factory.mktemp("number"), config)


def test_training_number_output(number_prepared, tmp_path):
    output = {"name": "spend", "type": "number", "preprocessing": {"normalization": "zscore"},
              "loss": {"type": "mean_absolute_error"}, "clip": [0, 25]}  # fmt: skip
    config = _config(output)
    config["input_features"][0]["encoder"] = {"type": "stacked_cnn", "num_conv_layers": 1,
                                              "num_filters": 2, "embedding_size": 3,
                                              "num_fc_layers": 0}  # fmt: skip
    config["trainer"]["optimizer"] = {"type": "adamw", "weight_decay": 0.01}
    info, stats, predictor = _train(
        config, number_prepared, tmp_path, output_feature="spend", metric="mean_absolute_error"
    )
    _curve_checks(stats, "spend", "number", info["epochs_run"])
    assert stats["training"]["spend"]["loss"] == stats["training"]["spend"]["mean_absolute_error"]
    values = predictor.predict(_dataset())
    assert values.dtype == float and values.min() >= 0 and values.max() <= 25
    assert abs(values.mean() - _dataset()["spend"].mean()) < 15  # original units, not z-scores
    with pytest.raises(AttributeError, match="no probabilities"):
        predictor.predict_proba(_dataset())


def test_divergence_is_a_clear_error(tmp_path):
    frame = _dataset()
    frame["spend"] = frame["spend"] * 1e20
    config = _config({"name": "spend", "type": "number"})
    prepared_dir = _prepare(tmp_path, config, frame)
    with pytest.raises(TrainingDiverged, match=r"training diverged in epoch 1: .*learning_rate"):
        _train(config, prepared_dir, tmp_path / "out", output_feature="spend", metric="loss")


def test_predictor_round_trip_on_raw_frame(prepared, tmp_path):
    config = _config()
    config["input_features"][0]["encoder"] = {"type": "embed", "embedding_size": 3}
    config["input_features"][2]["encoder"] = {"type": "onehot"}
    _, _, predictor = _train(config, prepared, tmp_path)
    reloaded = joblib.load(tmp_path / "model.joblib")
    assert reloaded._network is None  # rebuilt from the spec on first use
    frame = pd.DataFrame(
        {
            "review": ["good great", None, "never seen words"],
            "age": [30.0, np.nan, 50.0],
            "color": ["red", "purple", None],
            "member": ["yes", None, "no"],
            "extra": [1, 2, 3],
        },
        index=[10, 11, 12],
    )
    proba = reloaded.predict_proba(frame)
    assert proba.shape == (3, 3) and np.allclose(proba.sum(axis=1), 1)
    assert np.allclose(proba, predictor.predict_proba(frame))
    assert set(reloaded.predict(frame)) <= set(reloaded.classes_)
    roundtrip = tmp_path / "again.joblib"
    joblib.dump(reloaded, roundtrip)
    assert np.allclose(joblib.load(roundtrip).predict_proba(frame), proba)
    with pytest.raises(Exception, match=r"lacks the input column\(s\) color"):
        reloaded.predict(frame.drop(columns=["color"]))
