"""Legacy Ludwig names are upgraded with a one-line notice each."""

import copy

import pytest

from snaketune.errors import ConfigError
from snaketune.legacy import upgrade_model_config, upgrade_parameter_name
from snaketune.resolve import resolve_trial

INPUTS = {"title"}
OUTPUTS = {"label"}


def choice(*values):
    return {"space": "choice", "categories": list(values)}


def guide_base():
    return {
        "input_features": [{"name": "title", "type": "text"}],
        "output_features": [{"name": "label", "type": "category"}],
    }


# --- parameter names -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("title.num_filters", "title.encoder.num_filters"),
        ("training.learning_rate", "trainer.learning_rate"),
        ("training", "trainer"),
        ("defaults.text.num_filters", "defaults.text.encoder.num_filters"),
        ("defaults.category.embedding_size", "defaults.category.encoder.embedding_size"),
        ("label.output_size", "label.decoder.fc_output_size"),
        ("label.fc_size", "label.decoder.fc_output_size"),
        ("label.decoder.fc_size", "label.decoder.fc_output_size"),
        ("title.fc_size", "title.encoder.output_size"),
        ("combiner.fc_size", "combiner.output_size"),
        ("defaults.text.fc_size", "defaults.text.encoder.output_size"),
        ("training.decay_rate", "trainer.learning_rate_scheduler.decay_rate"),
        (
            "trainer.reduce_learning_rate_on_plateau",
            "trainer.learning_rate_scheduler.reduce_on_plateau",
        ),
        ("label.fc_layers", "label.decoder.fc_layers"),
    ],
)
def test_parameter_name_upgraded_with_notice(old, new):
    name, notice = upgrade_parameter_name(old, INPUTS, OUTPUTS)
    assert name == new
    assert notice == f"upgraded legacy hyperopt parameter name '{old}' to '{new}'"
    assert "\n" not in notice


@pytest.mark.parametrize(
    "name",
    [
        ".",
        "trainer.learning_rate",
        "trainer",
        "combiner.num_fc_layers",
        "preprocessing.split.probabilities",
        "title.encoder.num_filters",
        "title.preprocessing.most_common",
        "title.tied",
        "title",
        "label.decoder.fc_layers",
        "label.loss.weight",
        "label.threshold",
        "label.reduce_input",
        "defaults.text.encoder.num_filters",
        "defaults.text.preprocessing.most_common",
        "defaults.category.decoder.num_fc_layers",
        "defaults.text",
        "defaults",
        "a..b",
        "input_features.0.encoder",
    ],
)
def test_parameter_name_unchanged(name):
    assert upgrade_parameter_name(name, INPUTS, OUTPUTS) == (name, None)


def test_feature_named_training_is_a_feature():
    assert upgrade_parameter_name("training.encoder.x", {"training"}, set()) == (
        "training.encoder.x",
        None,
    )
    assert upgrade_parameter_name("training.x", {"training"}, set()) == (
        "training.encoder.x",
        "upgraded legacy hyperopt parameter name 'training.x' to 'training.encoder.x'",
    )


# --- the two configs of the seed guide -------------------------------------------------------


def test_guide_first_config():
    config = guide_base() | {
        "hyperopt": {
            "parameters": {
                "title.num_filters": choice(128, 256, 512),
                "training.learning_rate": {"space": "loguniform", "lower": 0.0001, "upper": 0.1},
                "combiner.num_fc_layers": {"space": "randint", "lower": 2, "upper": 6},
            },
            "goal": "minimize",
            "metric": "loss",
        }
    }
    snapshot = copy.deepcopy(config)
    upgraded, notices = upgrade_model_config(config)
    assert config == snapshot
    hyperopt = upgraded["hyperopt"]
    assert list(hyperopt["parameters"]) == [
        "title.encoder.num_filters",
        "trainer.learning_rate",
        "combiner.num_fc_layers",
    ]
    assert hyperopt["parameters"]["title.encoder.num_filters"] == choice(128, 256, 512)
    assert hyperopt["goal"] == "minimize"
    assert notices == [
        "upgraded legacy hyperopt parameter name 'title.num_filters' "
        "to 'title.encoder.num_filters'",
        "upgraded legacy hyperopt parameter name 'training.learning_rate' "
        "to 'trainer.learning_rate'",
    ]
    assert upgraded["input_features"] == config["input_features"]


def test_guide_second_config_resolves():
    config = guide_base() | {
        "input_features": [{"name": "title", "type": "text"}, {"name": "c", "type": "category"}],
        "hyperopt": {
            "parameters": {
                "title.num_filters": choice(128, 256, 512),
                "defaults.text.num_filters": choice(128, 256, 512),
                "defaults.category.embedding_size": choice(64, 128, 256),
            },
            "goal": "minimize",
            "metric": "loss",
        },
    }
    upgraded, notices = upgrade_model_config(config)
    assert list(upgraded["hyperopt"]["parameters"]) == [
        "title.encoder.num_filters",
        "defaults.text.encoder.num_filters",
        "defaults.category.encoder.embedding_size",
    ]
    assert len(notices) == 3
    sampled = {
        "title.encoder.num_filters": 128,
        "defaults.text.encoder.num_filters": 512,
        "defaults.category.encoder.embedding_size": 64,
    }
    cfg = resolve_trial(
        upgraded,
        sampled,
        {"text": "parallel_cnn", "category": "dense"}.get,
        {"category": "classifier"}.get,
    )
    title, c = cfg["input_features"]
    assert title["encoder"] == {"num_filters": 128}  # the feature's own value wins
    assert c["encoder"] == {"embedding_size": 64}
    assert "decoder" not in cfg["output_features"][0]


# --- model config ---------------------------------------------------------------------------


def test_training_section_renamed():
    upgraded, notices = upgrade_model_config({"training": {"epochs": 3}, "combiner": {}})
    assert upgraded == {"trainer": {"epochs": 3}, "combiner": {}}
    assert notices == ["upgraded legacy key 'training' to 'trainer'"]


def test_training_and_trainer_both_rejected():
    with pytest.raises(ConfigError, match="both 'training'.*and 'trainer'"):
        upgrade_model_config({"training": {"epochs": 3}, "trainer": {"epochs": 4}})


def test_string_encoder_and_decoder():
    config = {
        "input_features": [{"name": "t", "type": "text", "encoder": "rnn"}],
        "output_features": [{"name": "y", "type": "category", "decoder": "classifier"}],
    }
    upgraded, notices = upgrade_model_config(config)
    assert upgraded["input_features"][0]["encoder"] == {"type": "rnn"}
    assert upgraded["output_features"][0]["decoder"] == {"type": "classifier"}
    assert notices == [
        "upgraded legacy input_features.t.encoder: 'rnn' to input_features.t.encoder: {type: rnn}",
        "upgraded legacy output_features.y.decoder: 'classifier' "
        "to output_features.y.decoder: {type: classifier}",
    ]


def test_flat_encoder_parameters_moved():
    config = {
        "input_features": [
            {
                "name": "t",
                "type": "text",
                "encoder": "parallel_cnn",
                "num_filters": 64,
                "filter_size": 3,
                "preprocessing": {"most_common": 10},
                "tied": None,
                "column": "T",
            }
        ]
    }
    upgraded, notices = upgrade_model_config(config)
    assert upgraded["input_features"][0] == {
        "name": "t",
        "type": "text",
        "encoder": {"type": "parallel_cnn", "num_filters": 64, "filter_size": 3},
        "preprocessing": {"most_common": 10},
        "tied": None,
        "column": "T",
    }
    assert notices[-1] == (
        "moved legacy flat parameters 'num_filters', 'filter_size' of input_features.t "
        "under 'encoder'"
    )


def test_flat_decoder_parameters_moved_feature_keys_stay():
    config = {
        "output_features": [
            {
                "name": "y",
                "type": "binary",
                "fc_layers": [{"output_size": 8}],
                "threshold": 0.4,
                "reduce_input": "mean",
                "loss": {"weight": 2},
            }
        ]
    }
    upgraded, notices = upgrade_model_config(config)
    assert upgraded["output_features"][0] == {
        "name": "y",
        "type": "binary",
        "threshold": 0.4,
        "reduce_input": "mean",
        "loss": {"weight": 2},
        "decoder": {"fc_layers": [{"output_size": 8}]},
    }
    assert notices == [
        "moved legacy flat parameters 'fc_layers' of output_features.y under 'decoder'"
    ]


def test_flat_parameter_conflict_rejected():
    config = {
        "input_features": [
            {"name": "t", "type": "text", "num_filters": 8, "encoder": {"num_filters": 4}}
        ]
    }
    with pytest.raises(ConfigError, match=r"input_features\.t\.num_filters.*encoder\.num_filters"):
        upgrade_model_config(config)


def test_defaults_flat_keys_moved():
    config = {
        "defaults": {
            "text": {"num_filters": 64, "preprocessing": {"most_common": 5}},
            "category": {"encoder": "sparse", "embedding_size": 8},
        }
    }
    upgraded, notices = upgrade_model_config(config)
    assert upgraded["defaults"] == {
        "text": {"preprocessing": {"most_common": 5}, "encoder": {"num_filters": 64}},
        "category": {"encoder": {"type": "sparse", "embedding_size": 8}},
    }
    assert notices == [
        "moved legacy flat parameters 'num_filters' of defaults.text under 'encoder'",
        "upgraded legacy defaults.category.encoder: 'sparse' "
        "to defaults.category.encoder: {type: sparse}",
        "moved legacy flat parameters 'embedding_size' of defaults.category under 'encoder'",
    ]


def test_current_config_unchanged_without_notices():
    config = guide_base() | {
        "trainer": {"epochs": 2},
        "defaults": {"text": {"encoder": {"type": "rnn"}}},
        "hyperopt": {
            "parameters": {"trainer.learning_rate": choice(0.1)},
            "search_alg": {"type": "random"},
            "executor": {"num_samples": 4},
        },
    }
    assert upgrade_model_config(config) == (config, [])


# --- hyperopt layout --------------------------------------------------------------------------


def test_sampler_section_moved():
    config = {
        "hyperopt": {
            "sampler": {
                "type": "ray",
                "search_alg": {"type": "hyperopt"},
                "num_samples": 12,
                "scheduler": {"type": "async_hyperband"},
            },
            "parameters": {},
        }
    }
    upgraded, notices = upgrade_model_config(config)
    assert upgraded["hyperopt"] == {
        "parameters": {},
        "executor": {"num_samples": 12, "scheduler": {"type": "async_hyperband"}},
        "search_alg": {"type": "hyperopt"},
    }
    assert notices == [
        "moved legacy key 'hyperopt.sampler.search_alg' to 'hyperopt.search_alg'",
        "moved legacy key 'hyperopt.sampler.num_samples' to 'hyperopt.executor.num_samples'",
        "moved legacy key 'hyperopt.sampler.scheduler' to 'hyperopt.executor.scheduler'",
        "removed legacy section 'hyperopt.sampler'",
    ]


def test_sampler_empty_scheduler_dropped_and_string_search_alg():
    config = {"hyperopt": {"sampler": {"search_alg": "random", "scheduler": {}}}}
    upgraded, notices = upgrade_model_config(config)
    assert upgraded["hyperopt"] == {"search_alg": {"type": "random"}}
    assert "dropped empty legacy key 'hyperopt.sampler.scheduler'" in notices
    assert notices[0] == (
        "upgraded legacy hyperopt.sampler.search_alg: 'random' "
        "to hyperopt.sampler.search_alg: {type: random}"
    )


def test_string_and_dict_search_alg_are_the_same_setting():
    config = {"hyperopt": {"search_alg": "random", "sampler": {"search_alg": {"type": "random"}}}}
    upgraded, notices = upgrade_model_config(config)
    assert upgraded["hyperopt"] == {"search_alg": {"type": "random"}}
    assert notices[0] == (
        "upgraded legacy hyperopt.search_alg: 'random' to hyperopt.search_alg: {type: random}"
    )
    assert "dropped legacy key 'hyperopt.sampler.search_alg'" in notices[1]


def test_sampler_random_type():
    upgraded, _ = upgrade_model_config({"hyperopt": {"sampler": {"type": "random"}}})
    assert upgraded["hyperopt"]["search_alg"] == {"type": "random"}


def test_sampler_conflicts_and_bad_values_rejected():
    with pytest.raises(ConfigError, match="hyperopt.sampler.num_samples"):
        upgrade_model_config(
            {"hyperopt": {"sampler": {"num_samples": 3}, "executor": {"num_samples": 5}}}
        )
    with pytest.raises(ConfigError, match="grid_search"):
        upgrade_model_config({"hyperopt": {"sampler": {"type": "grid"}}})
    with pytest.raises(ConfigError, match="hyperopt.sampler.foo"):
        upgrade_model_config({"hyperopt": {"sampler": {"foo": 1}}})
    same, notices = upgrade_model_config(
        {"hyperopt": {"sampler": {"num_samples": 5}, "executor": {"num_samples": 5}}}
    )
    assert same["hyperopt"] == {"executor": {"num_samples": 5}}
    assert notices[0].startswith("dropped legacy key 'hyperopt.sampler.num_samples'")


def test_executor_search_alg_promoted():
    config = {"hyperopt": {"executor": {"type": "ray", "search_alg": "hyperopt"}}}
    upgraded, notices = upgrade_model_config(config)
    assert upgraded["hyperopt"] == {"executor": {"type": "ray"}, "search_alg": {"type": "hyperopt"}}
    assert notices == [
        "upgraded legacy hyperopt.executor.search_alg: 'hyperopt' "
        "to hyperopt.executor.search_alg: {type: hyperopt}",
        "moved legacy key 'hyperopt.executor.search_alg' to 'hyperopt.search_alg'",
    ]
    assert config["hyperopt"]["executor"]["search_alg"] == "hyperopt"  # input untouched
    with pytest.raises(ConfigError, match="hyperopt.executor.search_alg"):
        upgrade_model_config(
            {
                "hyperopt": {
                    "executor": {"search_alg": {"type": "optuna"}},
                    "search_alg": {"type": "random"},
                }
            }
        )


def test_parameter_names_keep_order_and_collisions_rejected():
    config = guide_base() | {
        "hyperopt": {
            "parameters": {
                "combiner.num_fc_layers": choice(1),
                "title.num_filters": choice(2),
                "trainer.epochs": choice(3),
            }
        }
    }
    upgraded, _ = upgrade_model_config(config)
    assert list(upgraded["hyperopt"]["parameters"]) == [
        "combiner.num_fc_layers",
        "title.encoder.num_filters",
        "trainer.epochs",
    ]
    clash = guide_base() | {
        "hyperopt": {
            "parameters": {
                "title.encoder.num_filters": choice(1),
                "title.num_filters": choice(2),
            }
        }
    }
    with pytest.raises(ConfigError) as info:
        upgrade_model_config(clash)
    message = str(info.value)
    assert "hyperopt.parameters.title.num_filters" in message
    assert "hyperopt.parameters.title.encoder.num_filters" in message


def test_dot_categories_training_upgraded():
    config = {
        "hyperopt": {
            "parameters": {
                ".": choice({"training": {"epochs": 2}}, {"combiner": {"type": "concat"}})
            }
        }
    }
    upgraded, notices = upgrade_model_config(config)
    assert upgraded["hyperopt"]["parameters"]["."]["categories"] == [
        {"trainer": {"epochs": 2}},
        {"combiner": {"type": "concat"}},
    ]
    assert notices == [
        "upgraded legacy key 'hyperopt.parameters['.'].categories[0].training' "
        "to 'hyperopt.parameters['.'].categories[0].trainer'"
    ]


def test_features_upgraded_before_parameter_names():
    config = {
        "training": {"epochs": 1},
        "input_features": [{"name": "title", "type": "text", "num_filters": 8}],
        "output_features": [{"name": "label", "type": "category"}],
        "hyperopt": {"parameters": {"title.filter_size": choice(3, 5)}},
    }
    upgraded, notices = upgrade_model_config(config)
    assert upgraded["input_features"][0]["encoder"] == {"num_filters": 8}
    assert list(upgraded["hyperopt"]["parameters"]) == ["title.encoder.filter_size"]
    assert len(notices) == 3
    assert all("\n" not in n for n in notices)


def test_not_a_mapping_rejected():
    with pytest.raises(ConfigError):
        upgrade_model_config(["not", "a", "config"])


# --- keys renamed inside a block (legacy_keys) ------------------------------------------------


def test_ludwig_04_style_config_is_upgraded_key_by_key():
    config = {
        "input_features": [
            {
                "name": "title",
                "type": "text",
                "encoder": "parallel_cnn",
                "fc_size": 64,
                "preprocessing": {"word_most_common": 500, "word_sequence_length_limit": 20},
            },
            {
                "name": "price",
                "type": "numerical",
                "preprocessing": {"missing_value_strategy": "pad"},
            },
            {"name": "color", "type": "category", "representation": "sparse"},
        ],
        "output_features": [
            {"name": "label", "type": "category", "output_size": 32, "fc_layers": [{"fc_size": 8}]}
        ],
        "combiner": {"type": "concat", "fc_size": 48},
        "training": {"epochs": 3, "decay": True, "reduce_learning_rate_on_plateau": 2},
        "preprocessing": {
            "split_probabilities": [0.8, 0.1, 0.1],
            "text": {"lowercase": False},
            "numerical": {"preprocessing": {"normalization": "zscore"}},
        },
        "defaults": {"text": {"preprocessing": {"most_common": 100}}},
    }
    upgraded, notices = upgrade_model_config(config)
    title, price, color = upgraded["input_features"]
    assert title["encoder"] == {"type": "parallel_cnn", "output_size": 64}
    assert title["preprocessing"] == {"most_common": 500, "max_sequence_length": 20}
    assert price == {
        "name": "price",
        "type": "number",
        "preprocessing": {"missing_value_strategy": "ffill"},
    }
    assert color["encoder"] == {"type": "sparse"}
    assert upgraded["output_features"][0]["decoder"] == {
        "fc_output_size": 32,
        "fc_layers": [{"output_size": 8}],
    }
    assert upgraded["combiner"] == {"type": "concat", "output_size": 48}
    assert upgraded["trainer"] == {
        "epochs": 3,
        "learning_rate_scheduler": {"decay": "exponential", "reduce_on_plateau": 2},
    }
    assert upgraded["preprocessing"] == {"split": {"probabilities": [0.8, 0.1, 0.1]}}
    assert upgraded["defaults"] == {
        "text": {"preprocessing": {"lowercase": False, "most_common": 100}},
        "number": {"preprocessing": {"normalization": "zscore"}},
    }
    assert all("legacy" in n and "\n" not in n for n in notices)
    for expected in (
        "moved legacy section 'preprocessing.text' to 'defaults.text.preprocessing'",
        "upgraded legacy key 'combiner.fc_size' to 'combiner.output_size'",
        "upgraded legacy feature type input_features.price.type: 'numerical' to 'number'",
        "upgraded legacy key 'input_features.color.encoder.representation: sparse' to "
        "'input_features.color.encoder.type: sparse'",
        "upgraded legacy keys 'output_size' to 'fc_output_size' in output_features.label.decoder "
        "(a decoder's fully connected stack is fc_<key>)",
        "upgraded legacy key 'trainer.decay' to 'trainer.learning_rate_scheduler.decay'",
        "upgraded legacy key 'preprocessing.split_probabilities' into 'preprocessing.split'",
        "upgraded legacy key 'input_features.title.preprocessing.word_most_common' to "
        "'input_features.title.preprocessing.most_common'",
    ):
        assert expected in notices
    assert upgrade_model_config(upgraded)[1] == []  # idempotent


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            {"combiner": {"fc_size": 8, "output_size": 16}},
            "combiner.fc_size: the legacy key (8) and combiner.output_size (16) are both given",
        ),
        (
            {
                "input_features": [
                    {
                        "name": "c",
                        "type": "category",
                        "representation": "dense",
                        "encoder": {"type": "sparse"},
                    }
                ]
            },
            'input_features.c.encoder.representation: the legacy key ("dense") and '
            'input_features.c.encoder.type ("sparse") disagree',
        ),
        (
            {
                "preprocessing": {"text": {"most_common": 5}},
                "defaults": {"text": {"preprocessing": {"most_common": 9}}},
            },
            "preprocessing.text.most_common: the legacy setting (5) and "
            "defaults.text.preprocessing.most_common (9) are both given",
        ),
        (
            {"trainer": {"decay_rate": 0.9, "learning_rate_scheduler": {"decay_rate": 0.5}}},
            "trainer.decay_rate: the legacy key (0.9) and "
            "trainer.learning_rate_scheduler.decay_rate",
        ),
        (
            {"preprocessing": {"stratify": "label", "split": {"type": "random"}}},
            'the legacy split keys give split.type "stratify"',
        ),
        (
            {
                "output_features": [
                    {
                        "name": "y",
                        "type": "number",
                        "output_size": 8,
                        "decoder": {"fc_output_size": 4},
                    }
                ]
            },
            "output_features.y.output_size: the legacy flat parameter (8) and "
            "output_features.y.decoder.fc_output_size (4) are both given",
        ),
    ],
)
def test_legacy_and_current_spellings_that_disagree_are_refused(config, message):
    with pytest.raises(ConfigError) as info:
        upgrade_model_config(config)
    assert message in str(info.value)
