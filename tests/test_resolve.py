"""Dotted-name substitution and defaults expansion (reference cases A01-A15 and more)."""

import copy

import pytest

from snaketune.errors import ConfigError
from snaketune.resolve import (
    deep_merge,
    expand_defaults,
    locate_parameter,
    parse_parameter_name,
    resolve_trial,
    substitute,
)

ENCODERS = {"text": "parallel_cnn", "category": "dense", "number": "passthrough"}
DECODERS = {"text": "generator", "category": "classifier", "binary": "regressor"}


def enc(ftype):
    return ENCODERS.get(ftype)


def dec(ftype):
    return DECODERS.get(ftype)


def expand(config):
    return expand_defaults(config, enc, dec)


def base():
    return {
        "input_features": [{"name": "title", "type": "text"}],
        "output_features": [{"name": "summary", "type": "text"}],
    }


def features(config, section="input_features"):
    return {f["name"]: f for f in config[section]}


# --- substitution: reference cases --------------------------------------------------------


def test_a01_sections():
    cfg = substitute(
        base(),
        {
            "combiner.type": "tabnet",
            "combiner.fc_layers": [{"output_size": 64}, {"output_size": 32}],
            "trainer.learning_rate": 0.1,
            "trainer.batch_size": 256,
        },
    )
    assert cfg["combiner"] == {
        "type": "tabnet",
        "fc_layers": [{"output_size": 64}, {"output_size": 32}],
    }
    assert cfg["trainer"] == {"learning_rate": 0.1, "batch_size": 256}
    assert cfg["input_features"] == base()["input_features"]
    assert cfg["output_features"] == base()["output_features"]


def test_a02_feature_by_name():
    cfg = substitute(base(), {"title.encoder.type": "bert", "summary.decoder.reduce_input": "sum"})
    assert cfg["input_features"] == [{"name": "title", "type": "text", "encoder": {"type": "bert"}}]
    assert cfg["output_features"] == [
        {"name": "summary", "type": "text", "decoder": {"reduce_input": "sum"}}
    ]


def test_a03_dot_then_flat_key():
    cfg = substitute(
        base(),
        {
            ".": {
                "combiner": {"type": "concat", "num_fc_layers": 2},
                "trainer": {"learning_rate_scaling": "linear"},
            },
            "trainer.learning_rate": 0.1,
        },
    )
    assert cfg["combiner"] == {"type": "concat", "num_fc_layers": 2}
    assert cfg["trainer"] == {"learning_rate_scaling": "linear", "learning_rate": 0.1}


def test_a04_section_named_parameter_deep_merges():
    cfg = substitute(
        base(),
        {
            ".": {
                "combiner": {"type": "concat", "num_fc_layers": 2},
                "trainer": {"learning_rate_scaling": "linear"},
            },
            "trainer": {"learning_rate": 0.1, "batch_size": 256},
        },
    )
    assert cfg["trainer"] == {
        "learning_rate_scaling": "linear",
        "learning_rate": 0.1,
        "batch_size": 256,
    }
    assert cfg["combiner"] == {"type": "concat", "num_fc_layers": 2}


def test_a05_later_parameter_wins():
    cfg = substitute(
        base(),
        {"trainer.learning_rate": 0.1, ".": {"trainer": {"learning_rate": 0.5, "batch_size": 8}}},
    )
    assert cfg["trainer"] == {"learning_rate": 0.5, "batch_size": 8}
    # and the other way round
    cfg = substitute(
        base(),
        {".": {"trainer": {"learning_rate": 0.5, "batch_size": 8}}, "trainer.learning_rate": 0.1},
    )
    assert cfg["trainer"] == {"learning_rate": 0.1, "batch_size": 8}


def test_a06_deep_merge_keeps_siblings_lists_replace():
    config = base() | {
        "trainer": {"epochs": 3, "optimizer": {"type": "adam", "betas": [0.9, 0.99]}},
        "combiner": {"fc_layers": [{"output_size": 8}, {"output_size": 4}]},
    }
    cfg = substitute(
        config,
        {
            "trainer": {"optimizer": {"betas": [0.8, 0.9]}},
            "combiner.fc_layers": [{"output_size": 2}],
        },
    )
    assert cfg["trainer"] == {"epochs": 3, "optimizer": {"type": "adam", "betas": [0.8, 0.9]}}
    assert cfg["combiner"] == {"fc_layers": [{"output_size": 2}]}


def test_a07_defaults_parameter_reaches_input_features_only():
    raw = substitute(base(), {"defaults.text.encoder.num_filters": 64})
    assert raw["defaults"] == {"text": {"encoder": {"num_filters": 64}}}
    assert raw["input_features"] == base()["input_features"]
    cfg = expand(raw)
    assert cfg["input_features"] == [
        {"name": "title", "type": "text", "encoder": {"num_filters": 64}}
    ]
    assert cfg["output_features"] == [{"name": "summary", "type": "text"}]
    assert cfg["defaults"] == raw["defaults"]  # kept, as documentation


def test_a13_feature_name_shadows_section():
    config = {
        "input_features": [{"name": "trainer", "type": "number"}],
        "output_features": [{"name": "y", "type": "binary"}],
    }
    cfg = substitute(config, {"trainer.learning_rate": 0.1})
    assert cfg["input_features"] == [{"name": "trainer", "type": "number", "learning_rate": 0.1}]
    assert "trainer" not in cfg


def test_a14_list_index_rejected_with_clear_message():
    with pytest.raises(ConfigError) as info:
        substitute(base(), {"input_features.0.encoder.num_filters": 64})
    message = str(info.value)
    assert "hyperopt.parameters.input_features.0.encoder.num_filters" in message
    assert "'0' is a list index" in message
    assert "feature by its name" in message


def test_a15_resolved_trial():
    config = {
        "input_features": [
            {"name": "num1", "type": "number"},
            {"name": "num2", "type": "number"},
            {"name": "cat1", "type": "category"},
        ],
        "output_features": [{"name": "label", "type": "category"}],
        "combiner": {"type": "concat"},
        "trainer": {"epochs": 2, "batch_size": 32},
        "hyperopt": {"goal": "maximize"},
    }
    cfg = resolve_trial(
        config,
        {
            "trainer.learning_rate": 0.0353,
            "combiner.num_fc_layers": 1,
            "trainer.batch_size": 16,
            "label.decoder.fc_layers": [{"output_size": 8}],
            "defaults.category.encoder.embedding_size": 4,
        },
        enc,
        dec,
    )
    assert "hyperopt" not in cfg
    assert features(cfg)["cat1"]["encoder"] == {"embedding_size": 4}
    assert "encoder" not in features(cfg)["num1"]
    assert features(cfg, "output_features")["label"] == {
        "name": "label",
        "type": "category",
        "decoder": {"fc_layers": [{"output_size": 8}]},
    }
    assert cfg["combiner"] == {"type": "concat", "num_fc_layers": 1}
    assert cfg["trainer"] == {"epochs": 2, "batch_size": 16, "learning_rate": 0.0353}
    assert "hyperopt" in config  # input untouched


# --- substitution: more --------------------------------------------------------------------


def test_literal_root_paths():
    cfg = substitute(
        base() | {"preprocessing": {"split": {"type": "random"}}},
        {
            "preprocessing.split.probabilities": [0.6, 0.2, 0.2],
            "defaults.text.encoder.num_filters": 32,
        },
    )
    assert cfg["preprocessing"] == {"split": {"type": "random", "probabilities": [0.6, 0.2, 0.2]}}
    assert cfg["defaults"] == {"text": {"encoder": {"num_filters": 32}}}


def test_dot_merges_into_root_and_features_by_value():
    cfg = substitute(base(), {".": {"trainer": {"epochs": 2}, "combiner": {"type": "concat"}}})
    assert cfg["trainer"] == {"epochs": 2}
    assert cfg["combiner"] == {"type": "concat"}


def test_dot_requires_dict():
    with pytest.raises(ConfigError, match=r"hyperopt\.parameters\.\..*not a mapping"):
        substitute(base(), {".": 3})


def test_dot_feature_list_must_be_a_list():
    with pytest.raises(ConfigError, match="input_features can only be replaced whole"):
        substitute(base(), {".": {"input_features": {"title": {"encoder": {"type": "rnn"}}}}})
    replaced = substitute(base(), {".": {"input_features": [{"name": "x", "type": "number"}]}})
    assert replaced["input_features"] == [{"name": "x", "type": "number"}]


def test_list_value_replaces_whole_list():
    config = base() | {"combiner": {"fc_layers": [{"output_size": 8}, {"output_size": 4}]}}
    cfg = substitute(config, {"combiner": {"fc_layers": [{"dropout": 0.1}]}})
    assert cfg["combiner"]["fc_layers"] == [{"dropout": 0.1}]


def test_later_parameter_wins_same_leaf():
    cfg = substitute(base(), {"title.encoder": {"type": "rnn"}, "title.encoder.type": "cnnrnn"})
    assert features(cfg)["title"]["encoder"] == {"type": "cnnrnn"}


def test_feature_alone_takes_a_dict():
    cfg = substitute(base(), {"title": {"encoder": {"type": "rnn"}}})
    assert features(cfg)["title"] == {"name": "title", "type": "text", "encoder": {"type": "rnn"}}
    with pytest.raises(ConfigError, match="replace the whole feature 'title'"):
        substitute(base(), {"title": "rnn"})


def test_input_feature_looked_up_before_output():
    config = {
        "input_features": [{"name": "x", "type": "text"}],
        "output_features": [{"name": "x", "type": "text"}],
    }
    cfg = substitute(config, {"x.encoder.type": "rnn"})
    assert cfg["input_features"][0]["encoder"] == {"type": "rnn"}
    assert cfg["output_features"][0] == {"name": "x", "type": "text"}


def test_dotted_feature_name():
    config = {"input_features": [{"name": "a.b", "type": "text"}], "output_features": []}
    cfg = substitute(config, {"a.b.encoder.num_filters": 8})
    assert cfg["input_features"][0]["encoder"] == {"num_filters": 8}
    assert "a" not in cfg


@pytest.mark.parametrize(
    "name",
    ["a..b", ".trainer", "trainer.", "", " ", "trainer..learning_rate"],
)
def test_empty_segments_rejected(name):
    with pytest.raises(ConfigError):
        substitute(base(), {name: 1})


@pytest.mark.parametrize("name", ["title.encoder.0", "combiner.fc_layers.1.output_size"])
def test_integer_segment_rejected(name):
    with pytest.raises(ConfigError, match="list index"):
        substitute(base() | {"combiner": {"fc_layers": [{}, {}]}}, {name: 1})


def test_descend_into_non_dict_rejected():
    config = base() | {"trainer": {"learning_rate": 0.1}}
    with pytest.raises(ConfigError) as info:
        substitute(config, {"trainer.learning_rate.value": 1})
    assert "trainer.learning_rate" in str(info.value)
    assert "0.1" in str(info.value)
    with pytest.raises(ConfigError, match="title.encoder"):
        substitute(
            {"input_features": [{"name": "title", "type": "text", "encoder": "rnn"}]},
            {"title.encoder.num_filters": 8},
        )


def test_feature_list_path_rejected():
    with pytest.raises(ConfigError, match="start the name with the feature's name"):
        substitute(base(), {"input_features.title.encoder": {"type": "rnn"}})
    with pytest.raises(ConfigError, match="replaced whole by a list"):
        substitute(base(), {"input_features": {"title": {}}})


def test_none_sections_are_created():
    cfg = substitute(base() | {"trainer": None}, {"trainer.optimizer.type": "sgd"})
    assert cfg["trainer"] == {"optimizer": {"type": "sgd"}}


def test_substitute_does_not_mutate_inputs():
    config = base() | {"trainer": {"optimizer": {"type": "adam"}}}
    value = {"fc_layers": [{"output_size": 4}]}
    parameters = {"combiner": value, "trainer.optimizer.lr": 1, "title.encoder.type": "rnn"}
    snapshot = copy.deepcopy((config, parameters))
    cfg = substitute(config, parameters)
    assert (config, parameters) == snapshot
    cfg["combiner"]["fc_layers"][0]["output_size"] = 99
    assert value == {"fc_layers": [{"output_size": 4}]}


def test_parse_and_locate():
    t = parse_parameter_name("title.encoder.num_filters", {"title"}, set())
    assert (t.section, t.feature, t.path) == ("input_features", "title", ("encoder", "num_filters"))
    t = locate_parameter(base(), "summary.loss.weight")
    assert (t.section, t.feature, t.path) == ("output_features", "summary", ("loss", "weight"))
    t = locate_parameter(base(), "trainer.epochs")
    assert (t.section, t.feature, t.path) == (None, None, ("trainer", "epochs"))
    assert locate_parameter(base(), ".").path == ()


def test_deep_merge():
    assert deep_merge({"a": {"b": 1, "c": [1]}}, {"a": {"c": [2], "d": 3}}) == {
        "a": {"b": 1, "c": [2], "d": 3}
    }
    assert deep_merge({"a": 1}, {"a": {"b": 2}}) == {"a": {"b": 2}}
    assert deep_merge({"a": {"b": 2}}, {"a": None}) == {"a": None}


# --- defaults expansion --------------------------------------------------------------------


def test_a08_explicit_default_encoder_gets_untyped_defaults():
    # Ludwig 0.17 drops the defaults here; we apply them (parallel_cnn IS the default).
    config = {
        "input_features": [{"name": "t", "type": "text", "encoder": {"type": "parallel_cnn"}}],
        "defaults": {"text": {"encoder": {"num_filters": 64}}},
    }
    cfg = expand(config)
    assert cfg["input_features"] == [
        {"name": "t", "type": "text", "encoder": {"type": "parallel_cnn", "num_filters": 64}}
    ]


def test_a08_other_encoder_type_untouched_by_untyped_defaults():
    config = {
        "input_features": [{"name": "t", "type": "text", "encoder": {"type": "rnn"}}],
        "defaults": {"text": {"encoder": {"num_filters": 64}}},
    }
    assert expand(config)["input_features"] == [
        {"name": "t", "type": "text", "encoder": {"type": "rnn"}}
    ]


@pytest.mark.parametrize(
    "own", [{"type": "parallel_cnn", "filter_size": 5}, {"filter_size": 5}, "parallel_cnn"]
)
def test_a09_same_type_merges(own):
    config = {
        "input_features": [{"name": "t", "type": "text", "encoder": own}],
        "defaults": {"text": {"encoder": {"type": "parallel_cnn", "num_filters": 64}}},
    }
    encoder = expand(config)["input_features"][0]["encoder"]
    expected = {"type": "parallel_cnn", "num_filters": 64}
    if isinstance(own, dict):
        expected["filter_size"] = 5
    assert encoder == expected


def test_a10_different_types_ignore_defaults():
    config = {
        "input_features": [{"name": "t", "type": "text", "encoder": {"type": "rnn"}}],
        "defaults": {"text": {"encoder": {"type": "parallel_cnn", "num_filters": 64}}},
    }
    assert expand(config)["input_features"][0]["encoder"] == {"type": "rnn"}


def test_defaults_encoder_type_reaches_features_that_state_no_encoder():
    # Regression (issue 7.1): a feature without an encoder uses the default encoder, so
    # it takes the defaults' block whole, its type included.
    config = {
        "input_features": [
            {"name": "t", "type": "text"},
            {"name": "u", "type": "text", "encoder": {"type": "rnn"}},
            {"name": "v", "type": "text", "encoder": {"type": "parallel_cnn"}},
            {"name": "w", "type": "text", "encoder": {"num_filters": 3}},
        ],
        "defaults": {"text": {"encoder": {"type": "rnn", "cell_type": "gru"}}},
    }
    cfg = features(expand(config))
    assert cfg["t"]["encoder"] == {"type": "rnn", "cell_type": "gru"}
    assert cfg["u"]["encoder"] == {"type": "rnn", "cell_type": "gru"}
    assert cfg["v"]["encoder"] == {"type": "parallel_cnn"}  # states another type
    assert cfg["w"]["encoder"] == {"num_filters": 3, "type": "rnn", "cell_type": "gru"}


@pytest.mark.parametrize("kind", ["dense", "sparse"])
def test_defaults_category_encoder_type_grid_switches_the_encoder(kind):
    config = {
        "input_features": [{"name": "c", "type": "category"}],
        "output_features": [{"name": "y", "type": "category"}],
        "defaults": {"category": {"encoder": {}}},
    }
    cfg = resolve_trial(config, {"defaults.category.encoder.type": kind}, enc, dec)
    assert cfg["input_features"][0]["encoder"] == {"type": kind}
    assert "encoder" not in cfg["output_features"][0]


def test_defaults_decoder_and_loss_type_reach_outputs_that_state_none():
    config = {
        "output_features": [
            {"name": "a", "type": "number"},
            {"name": "b", "type": "number", "decoder": {"type": "regressor"}},
        ],
        "defaults": {
            "number": {
                "decoder": {"type": "projector", "num_fc_layers": 1},
                "loss": {"type": "mean_absolute_error"},
            }
        },
    }
    cfg = features(expand(config), "output_features")
    assert cfg["a"]["decoder"] == {"type": "projector", "num_fc_layers": 1}
    assert cfg["a"]["loss"] == {"type": "mean_absolute_error"}
    assert cfg["b"]["decoder"] == {"type": "regressor"}


def test_defaults_type_switches_untyped_features():
    config = {
        "input_features": [{"name": "t", "type": "text", "encoder": {"num_filters": 3}}],
        "defaults": {"text": {"encoder": {"type": "parallel_cnn", "filter_size": 5}}},
    }
    assert expand(config)["input_features"][0]["encoder"] == {
        "num_filters": 3,
        "type": "parallel_cnn",
        "filter_size": 5,
    }


@pytest.mark.parametrize("order", ["feature_first", "defaults_first"])
def test_a11_feature_beats_defaults_in_either_order(order):
    config = {"input_features": [{"name": "a", "type": "text"}, {"name": "b", "type": "text"}]}
    params = [
        ("a.preprocessing.most_common", 10),
        ("defaults.text.preprocessing.most_common", 100),
    ]
    if order == "defaults_first":
        params.reverse()
    cfg = features(resolve_trial(config, dict(params), enc, dec))
    assert cfg["a"]["preprocessing"] == {"most_common": 10}
    assert cfg["b"]["preprocessing"] == {"most_common": 100}


def test_feature_wins_at_every_depth():
    config = {
        "input_features": [
            {"name": "t", "type": "text", "encoder": {"embed": {"dim": 8}, "fc_layers": [{}]}}
        ],
        "defaults": {
            "text": {
                "encoder": {"embed": {"dim": 4, "trainable": True}, "fc_layers": [{}, {}], "x": 1}
            }
        },
    }
    assert expand(config)["input_features"][0]["encoder"] == {
        "embed": {"dim": 8, "trainable": True},
        "fc_layers": [{}],
        "x": 1,
    }


def test_a12_which_defaults_reach_inputs_and_outputs():
    config = {
        "input_features": [{"name": "c", "type": "category"}],
        "output_features": [{"name": "o", "type": "category"}],
        "defaults": {
            "category": {
                "encoder": {"embedding_size": 7},
                "preprocessing": {"most_common": 5},
                "decoder": {"fc_output_size": 16},
                "loss": {"weight": 2},
            }
        },
    }
    cfg = expand(config)
    assert cfg["input_features"] == [
        {
            "name": "c",
            "type": "category",
            "preprocessing": {"most_common": 5},
            "encoder": {"embedding_size": 7},
        }
    ]
    assert cfg["output_features"] == [
        {
            "name": "o",
            "type": "category",
            "decoder": {"fc_output_size": 16},
            "loss": {"weight": 2},
        }
    ]


def test_decoder_type_rule():
    config = {
        "output_features": [
            {"name": "a", "type": "category", "decoder": {"type": "classifier"}},
            {"name": "b", "type": "category", "decoder": {"type": "mlp_classifier"}},
            {"name": "c", "type": "category"},
        ],
        "defaults": {"category": {"decoder": {"num_fc_layers": 2}}},
    }
    cfg = features(expand(config), "output_features")
    assert cfg["a"]["decoder"] == {"type": "classifier", "num_fc_layers": 2}
    assert cfg["b"]["decoder"] == {"type": "mlp_classifier"}
    assert cfg["c"]["decoder"] == {"num_fc_layers": 2}


def test_loss_type_rule():
    config = {
        "output_features": [
            {"name": "a", "type": "category", "loss": {"type": "softmax_cross_entropy"}},
            {"name": "b", "type": "category", "loss": {"type": "focal"}},
            {"name": "c", "type": "category", "loss": {"weight": 3}},
        ],
        "defaults": {"category": {"loss": {"type": "softmax_cross_entropy", "weight": 2}}},
    }
    cfg = features(expand(config), "output_features")
    assert cfg["a"]["loss"] == {"type": "softmax_cross_entropy", "weight": 2}
    assert cfg["b"]["loss"] == {"type": "focal"}
    assert cfg["c"]["loss"] == {"weight": 3, "type": "softmax_cross_entropy"}
    untyped = {
        "output_features": [{"name": "a", "type": "category", "loss": {"type": "focal"}}],
        "defaults": {"category": {"loss": {"weight": 2}}},
    }
    assert expand(untyped)["output_features"][0]["loss"] == {"type": "focal", "weight": 2}


def test_other_types_and_typeless_features_untouched():
    config = {
        "input_features": [{"name": "n", "type": "number"}, {"name": "x"}],
        "defaults": {"text": {"encoder": {"num_filters": 1}}},
    }
    cfg = expand(config)
    assert cfg["input_features"] == config["input_features"]


def test_defaults_key_must_be_a_section():
    with pytest.raises(ConfigError) as info:
        expand({"input_features": [], "defaults": {"text": {"num_filters": 64}}})
    message = str(info.value)
    assert "defaults.text.num_filters" in message
    assert "64" in message
    assert "preprocessing, encoder, decoder, loss" in message
    with pytest.raises(ConfigError, match="defaults.text"):
        expand({"defaults": {"text": 3}})
    with pytest.raises(ConfigError, match="defaults.text.encoder"):
        expand({"defaults": {"text": {"encoder": "rnn"}}})


def test_expand_does_not_mutate_and_keeps_defaults():
    config = {
        "input_features": [{"name": "t", "type": "text", "encoder": {"filter_size": 3}}],
        "defaults": {"text": {"encoder": {"num_filters": 8, "nested": {"a": 1}}}},
    }
    snapshot = copy.deepcopy(config)
    cfg = expand(config)
    assert config == snapshot
    assert cfg["defaults"] == snapshot["defaults"]
    cfg["input_features"][0]["encoder"]["nested"]["a"] = 2
    assert config == snapshot


def test_resolve_trial_drops_hyperopt_and_does_not_mutate():
    config = base() | {"hyperopt": {"parameters": {}}, "defaults": {"text": {"encoder": {}}}}
    snapshot = copy.deepcopy(config)
    cfg = resolve_trial(config, {"title.encoder.type": "rnn"}, enc, dec)
    assert config == snapshot
    assert "hyperopt" not in cfg
    assert cfg["input_features"][0]["encoder"] == {"type": "rnn"}
