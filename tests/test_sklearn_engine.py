"""The scikit-learn engine: schema, feature handling, ECD/GBM training, predictor."""

from __future__ import annotations

import copy
import json
import math

import joblib
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from snaketune import metrics, resolve
from snaketune.backends import tables
from snaketune.backends.sklearn import ENGINE, schema
from snaketune.backends.sklearn import features as feats
from snaketune.backends.sklearn.models import TrainingDiverged
from snaketune.backends.sklearn.predictor import Predictor
from snaketune.errors import ConfigError, DataError, NotSupportedError
from snaketune.prepare import run_prepare

BASE = {
    "input_features": [
        {"name": "age", "type": "number"},
        {"name": "colour", "type": "category", "column": "color"},
        {"name": "member", "type": "binary"},
        {"name": "review", "type": "text"},
    ],
    "output_features": [{"name": "label", "type": "category"}],
    "combiner": {"type": "concat", "num_fc_layers": 1, "output_size": 8},
    "trainer": {"epochs": 12, "learning_rate": 0.02, "batch_size": 32},
}
WORDS = np.array(["good", "bad", "great", "awful", "fine", "meh", "ok"])


FIXED_SPLIT = {"split": {"type": "fixed"}}  # the data's `split` column, used only when asked


def _config(**changes):
    config = copy.deepcopy(BASE)
    for key, value in changes.items():
        config[key] = value
    return config


def _dataset(n=240, seed=0):
    rng = np.random.default_rng(seed)
    age = rng.normal(40, 10, n)
    color = rng.choice(["red", "green", "blue", "teal"], n, p=[0.4, 0.3, 0.2, 0.1]).astype(object)
    member = rng.choice(["yes", "no"], n).astype(object)
    review = [" ".join(rng.choice(WORDS, 4)) for _ in range(n)]
    points = (
        (age > 40).astype(int)
        + (color == "red")
        + np.array([r.count("good") + r.count("great") for r in review])
    )
    label = np.where(points >= 2, "high", np.where(points == 1, "mid", "low"))
    age[::19] = np.nan
    color[::23] = None
    member[::29] = None
    return pd.DataFrame(
        {"age": age, "color": color, "member": member, "review": review, "label": label}
    )


def _prepare(tmp_path, frame, config, seed=0):
    path = tmp_path / "data.csv"
    frame.to_csv(path, index=False)
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
    return _prepare(tmp_path_factory.mktemp("prep"), _dataset(), BASE)


def _train(config, prepared_dir, out_dir, seed=7, output_feature="label", metric="accuracy"):
    info = ENGINE.train(
        config,
        str(prepared_dir),
        str(out_dir),
        seed=seed,
        threads=1,
        output_feature=output_feature,
        metric=metric,
    )
    stats = json.loads((out_dir / "training_statistics.json").read_text())
    return info, stats, joblib.load(out_dir / "model.joblib")


# --------------------------------------------------------------------------- contract


def test_default_encoders_and_decoders():
    assert [ENGINE.default_encoder(t) for t in ("number", "binary", "category", "text")] == [
        "passthrough",
        "passthrough",
        "onehot",
        "tf_idf",
    ]
    assert [ENGINE.default_decoder(t) for t in ("binary", "category", "number")] == [
        "classifier",
        "classifier",
        "regressor",
    ]
    assert ENGINE.name == "sklearn"


def _set(path, value):
    def change(config):
        node = config
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = value

    return change


INVALID = [
    (_set(["foo"], 1), ConfigError, r"^foo: unknown section .*valid: model_type, input_features"),
    (
        _set(["input_features", 3, "encoder"], {"type": "tf_idf", "foo": 1}),
        ConfigError,
        r"^input_features\.review\.encoder\.foo: unknown parameter for encoder 'tf_idf' of text "
        r"features \(engine sklearn\); valid: type, norm, use_idf, smooth_idf, sublinear_tf, "
        r"embedding_size",
    ),
    (
        _set(["input_features", 0, "preprocessing"], {"foo": 1}),
        ConfigError,
        r"^input_features\.age\.preprocessing\.foo: unknown parameter "
        r".*valid: missing_value_strategy",
    ),
    (
        _set(["input_features", 0, "foo"], 1),
        ConfigError,
        r"^input_features\.age\.foo: unknown .*valid: name, type",
    ),
    (
        _set(["output_features", 0, "decoder"], {"clip": [0, 1]}),
        ConfigError,
        r"^output_features\.label\.decoder\.clip: unknown parameter for decoder 'classifier'",
    ),
    (
        _set(["output_features", 0, "loss"], {"foo": 1}),
        ConfigError,
        r"^output_features\.label\.loss\.foo: unknown .*'softmax_cross_entropy'",
    ),
    (
        _set(["combiner", "foo"], 1),
        ConfigError,
        r"^combiner\.foo: unknown .*valid: type, num_fc_layers",
    ),
    (
        _set(["trainer", "foo"], 1),
        ConfigError,
        r"^trainer\.foo: unknown .*ecd trainer .*valid: type, epochs",
    ),
    (
        _set(["trainer", "optimizer"], {"type": "adam", "momentum": 0.9}),
        ConfigError,
        r"^trainer\.optimizer\.momentum: unknown parameter for optimizer 'adam'"
        r".*valid: type, betas, eps",
    ),
    (
        _set(["preprocessing"], {"foo": 1}),
        ConfigError,
        r"^preprocessing\.foo: unknown .*valid: split, sample_ratio",
    ),
    (
        _set(["input_features", 3, "encoder"], {"type": "parallel_cnn"}),
        NotSupportedError,
        r"^input_features\.review\.encoder\.type: encoder 'parallel_cnn' .*torch engine "
        r"\(run with --config engine=torch.*text encoders are: tf_idf, bag",
    ),
    (
        _set(["input_features", 1, "encoder"], {"type": "dense"}),
        NotSupportedError,
        r"torch engine.*category encoders are: onehot, ordinal, target",
    ),
    (
        _set(["input_features", 3, "encoder"], {"type": "nope"}),
        ConfigError,
        r"'nope'|nope is not an encoder",
    ),
    (_set(["combiner", "type"], "tabnet"), NotSupportedError, r"^combiner\.type: .*torch engine"),
    (
        _set(["combiner", "dropout"], 0.2),
        NotSupportedError,
        r"^combiner\.dropout: 0\.2 .*has no dropout; only 0",
    ),
    (
        _set(["input_features", 0, "preprocessing"], {"normalization": "log2"}),
        ConfigError,
        r"normalization: 'log2' is not allowed; allowed: zscore, minmax, iq, log1p, null",
    ),
    (_set(["trainer", "learning_rate"], 0), ConfigError, r"^trainer\.learning_rate: 0 .*> 0"),
    (
        _set(["trainer", "learning_rate"], "fast"),
        ConfigError,
        r"^trainer\.learning_rate: 'fast' is not allowed; allowed: a number > 0\.$",
    ),
    (
        _set(["trainer", "epochs"], 2.5),
        ConfigError,
        r"^trainer\.epochs: 2\.5 is not allowed; allowed: an integer >= 1",
    ),
    (
        _set(["trainer", "batch_size"], 0),
        ConfigError,
        r"^trainer\.batch_size: 0 is not allowed; allowed: an integer >= 1, or auto\.$",
    ),
    (_set(["trainer", "optimizer"], {"type": "rmsprop"}), NotSupportedError, r"allowed: adam, sgd"),
    (
        _set(["trainer", "validation_metric"], "r2"),
        ConfigError,
        r"^trainer\.validation_metric: .*'r2'",
    ),
    (
        _set(["combiner", "activation"], "elu"),
        ConfigError,
        r"^combiner\.activation: 'elu' .*relu, tanh, sigmoid, linear",
    ),
    (
        _set(["input_features", 3, "preprocessing"], {"ngram_size": 3}),
        ConfigError,
        r"ngram_size: 3 has no effect with tokenizer 'space_punct'",
    ),
    (_set(["input_features", 0, "name"], "label"), ConfigError, r"duplicate feature name 'label'"),
    (
        _set(["input_features", 0, "name"], "a.b"),
        ConfigError,
        r"input_features\.a\.b: .*'\.' or '/'",
    ),
    (_set(["input_features", 0, "name"], "a/b"), ConfigError, r"'\.' or '/'"),
    (_set(["input_features", 0, "name"], "trainer"), ConfigError, r"named like a config section"),
    (
        _set(["input_features", 0, "type"], "image"),
        NotSupportedError,
        r"type 'image' are not supported",
    ),
    (
        _set(["output_features", 0, "type"], "text"),
        NotSupportedError,
        r"output features of type 'text'",
    ),
    (
        lambda c: c["output_features"].append({"name": "other", "type": "number"}),
        NotSupportedError,
        r"^output_features: 2 output features",
    ),
    (_set(["model_type"], "gbm"), ConfigError, r"^combiner: a gbm model has no combiner"),
    (
        _set(["trainer", "learning_rate_scheduler"], {"decay": "exponential"}),
        NotSupportedError,
        r"learning_rate_scheduler\.decay: 'exponential' .*constant",
    ),
    (
        _set(["preprocessing"], {"split": {"type": "random", "probabilities": [0.5, 0.5, 0.5]}}),
        ConfigError,
        r"preprocessing\.split\.probabilities: .*sums to 1\.5",
    ),
]


@pytest.mark.parametrize(("change", "error", "pattern"), INVALID)
def test_validate_config_errors(change, error, pattern):
    config = _config()
    change(config)
    with pytest.raises(error, match=pattern):
        ENGINE.validate_config(config)


def test_gbm_trainer_validation():
    gbm = _config(model_type="gbm", trainer={"num_boost_round": 10})
    del gbm["combiner"]
    ENGINE.validate_config(gbm)
    gbm["trainer"]["lambda_l1"] = 0.25
    with pytest.raises(NotSupportedError, match=r"trainer\.lambda_l1: 0\.25 .*no L1 penalty"):
        ENGINE.validate_config(gbm)
    gbm["trainer"] = {"epochs": 3}
    with pytest.raises(
        ConfigError,
        match=r"trainer\.epochs: unknown parameter for the gbm trainer.*num_boost_round",
    ):
        ENGINE.validate_config(gbm)


AUTO = {"learning_rate": "auto", "batch_size": "auto", "eval_batch_size": "auto"}


def test_auto_trainer_values_become_the_documented_numbers():
    """docs/config.md: Ludwig's learning-rate heuristic, 128 rows; eval_batch_size has no use."""
    trainer = schema.with_defaults(_config(trainer=AUTO))["trainer"]
    assert trainer["learning_rate"] == 0.0001  # a text input
    assert (trainer["batch_size"], trainer["eval_batch_size"]) == (128, None)
    tabular = _config(trainer=AUTO, input_features=BASE["input_features"][:3])
    assert schema.with_defaults(tabular)["trainer"]["learning_rate"] == 0.001
    sampled = resolve.substitute(
        _config(trainer=AUTO), {"trainer.learning_rate": 0.05, "trainer.batch_size": 16}
    )
    trainer = schema.with_defaults(sampled)["trainer"]
    assert (trainer["learning_rate"], trainer["batch_size"]) == (0.05, 16)
    assert ENGINE.config_notices(_config(trainer=AUTO)) == []


def test_gbm_auto_values():
    gbm = _config(model_type="gbm", trainer={"eval_batch_size": "auto"})
    del gbm["combiner"]
    assert schema.with_defaults(gbm)["trainer"]["eval_batch_size"] is None
    gbm["trainer"]["learning_rate"] = "auto"
    with pytest.raises(
        ConfigError,
        match=r"^trainer\.learning_rate: auto is not allowed for model_type gbm .*a number > 0",
    ):
        ENGINE.validate_config(gbm)


def test_valid_ludwig_spellings_are_accepted():
    config = _config()
    config["trainer"]["optimizer"] = {"type": "adam", "beta_1": 0.8, "epsilon": 1e-7}
    config["combiner"].update(dropout=0.0, norm=None, activation="tanh")
    config["output_features"][0]["loss"] = {"type": "softmax_cross_entropy", "weight": 1.0}
    config["ludwig_version"] = "0.17"
    config["defaults"] = {"text": {"encoder": {"type": "parallel_cnn"}}}  # ignored here
    ENGINE.validate_config(config)
    full = schema.with_defaults(config)
    assert full["trainer"]["optimizer"]["betas"] == [0.8, 0.999]
    assert full["trainer"]["optimizer"]["eps"] == 1e-7


def test_preprocessing_key_depends_only_on_preprocessing():
    key = ENGINE.preprocessing_key(BASE)
    other_model = _config(trainer={"epochs": 3})
    other_model["input_features"][3]["encoder"] = {"type": "bag", "embedding_size": 2}
    assert ENGINE.preprocessing_key(other_model) == key
    explicit = _config()
    explicit["input_features"][0]["preprocessing"] = {"normalization": "zscore"}
    assert ENGINE.preprocessing_key(explicit) == key
    changed = _config()
    changed["input_features"][3]["preprocessing"] = {"most_common": 3}
    assert ENGINE.preprocessing_key(changed) != key
    assert set(key) == {"input_features", "output_features", "preprocessing"}
    json.dumps(key)


# --------------------------------------------------------------------------- preprocessors


def _number(values, **params):
    full = {**{k: p.default for k, p in tables.NUMBER_PREPROCESSING.items()}, **params}
    prep = feats.NumberPreprocessor("x", "x", full).fit(pd.Series(values))
    return prep, prep.transform(pd.Series(values)).ravel()


def test_number_normalizations():
    values = [1.0, 2.0, 3.0, 4.0, 100.0]
    _, z = _number(values)
    assert abs(z.mean()) < 1e-12 and abs(z.std() - 1) < 1e-12
    _, mm = _number(values, normalization="minmax")
    assert mm.min() == 0 and mm.max() == 1
    _, iq = _number(values, normalization="iq")
    assert iq[2] == 0 and iq[3] - iq[1] == 1  # (x - median) / IQR
    _, log = _number(values, normalization="log1p")
    assert np.allclose(log, np.log1p(values))
    _, raw = _number(values, normalization=None)
    assert raw.tolist() == values


def test_number_missing_strategies_and_outliers():
    values = [1.0, None, 3.0, 3.0, None]
    assert _number(values, normalization=None)[1].tolist() == [1, 0, 3, 3, 0]
    assert _number(values, normalization=None, fill_value=-1.0)[1].tolist() == [1, -1, 3, 3, -1]
    assert _number(values, normalization=None, missing_value_strategy="fill_with_mean")[1][
        1
    ] == pytest.approx(7 / 3)
    assert _number(values, normalization=None, missing_value_strategy="fill_with_mode")[1][1] == 3
    assert _number(values, normalization=None, missing_value_strategy="ffill")[1].tolist() == [
        1,
        1,
        3,
        3,
        3,
    ]
    # bfill leaves the last row missing: it gets fill_value
    assert _number(values, normalization=None, missing_value_strategy="bfill")[1].tolist() == [
        1,
        3,
        3,
        3,
        0,
    ]
    spiky = [1.0, 1.1, 0.9, 1.0, 1.05, 0.95, 1.0, 50.0]
    _, out = _number(
        spiky, normalization=None, outlier_strategy="fill_with_const", outlier_threshold=2.0
    )
    assert out[-1] == 0.0 and out[0] == 1.0


def test_number_rejects_text():
    with pytest.raises(DataError, match=r"feature 'x': type number needs numbers.*'abc'"):
        _number([1.0, "abc"])


def _binary(values, **params):
    full = {**{k: p.default for k, p in tables.BINARY_PREPROCESSING.items()}, **params}
    prep = feats.BinaryPreprocessor("b", "b", full).fit(pd.Series(values, dtype=object))
    return prep, prep.transform(pd.Series(values, dtype=object)).ravel()


def test_binary_spellings_and_missing():
    assert _binary(["yes", "No", None, "TRUE", 0, 1.0])[1].tolist() == [1, 0, 0, 1, 0, 1]
    _, mode = _binary(["y", "y", None, "n"], missing_value_strategy="fill_with_mode")
    assert mode.tolist() == [1, 1, 1, 0]
    prep, odd = _binary(["spam", "ham", "spam"])
    assert prep.true_label_ == "spam" and odd.tolist() == [1, 0, 1]
    prep, chosen = _binary(["spam", "ham", "spam"], fallback_true_label="ham")
    assert chosen.tolist() == [0, 1, 0]
    with pytest.raises(DataError, match="needs two values"):
        _binary(["a", "b", "c"])


def _category(values, **params):
    full = {**{k: p.default for k, p in tables.CATEGORY_PREPROCESSING.items()}, **params}
    return feats.CategoryPreprocessor("c", "c", full).fit(pd.Series(values, dtype=object))


def test_category_vocabulary_most_common_unknown_and_missing():
    values = ["a", "a", "a", "b", "b", "c", None, 1.0]
    prep = _category(values)
    assert prep.vocabulary_ == ["<UNK>", "a", "b", "1", "c"]
    assert _category(values, most_common=2).vocabulary_ == ["<UNK>", "a", "b"]
    out = (
        _category(values, most_common=2)
        .transform(pd.Series(["c", "a", None, "zzz"], dtype=object))
        .ravel()
    )
    assert out.tolist() == ["<UNK>", "a", "<UNK>", "<UNK>"]
    filled = _category(values, missing_value_strategy="fill_with_mode").transform(
        pd.Series([None], dtype=object)
    )
    assert filled.ravel().tolist() == ["a"]
    assert _category(["A", "a"], lowercase=True).vocabulary_ == ["<UNK>", "a"]


def _text(docs, **params):
    full = {**{k: p.default for k, p in schema.TEXT_PREPROCESSING.items()}, **params}
    return feats.TextPreprocessor("t", "t", full).fit(pd.Series(docs, dtype=object))


def test_text_vocabulary_tokenizers_and_truncation():
    docs = ["Good movie, good!", "bad movie", "good plot", None]
    assert sorted(_text(docs).vectorizer_.vocabulary_) == [
        "!",
        ",",
        "<unk>",
        "bad",
        "good",
        "movie",
        "plot",
    ]
    assert _text(docs, most_common=2).vocabulary_size == 2
    assert "bad movie" in _text(docs, tokenizer="ngram").vectorizer_.vocabulary_
    assert "movie," in _text(docs, tokenizer="space").vectorizer_.vocabulary_
    assert "Good" in _text(docs, lowercase=False).vectorizer_.vocabulary_
    assert sorted(_text(docs, max_sequence_length=1).vectorizer_.vocabulary_) == [
        "<unk>",
        "bad",
        "good",
    ]
    counts = _text(docs).transform(pd.Series(["good good unseen"], dtype=object))
    assert sp.issparse(counts) and counts.sum() == 2


# --------------------------------------------------------------------------- encoders


def _encode(feature_type, encoder, prep, column, y=None, target_type="multiclass"):
    params = schema.ENCODERS[feature_type][encoder["type"]]
    block = {**{key: param.default for key, param in params.items()}, **encoder}
    feature = {"name": "f", "type": feature_type, "encoder": block}
    return feats.FeatureEncoder(feature, prep, seed=0).fit_transform(column, y, target_type)


def test_category_encoder_widths():
    prep = _category(["a", "b", "c", "a", "b", "a"])
    column = prep.transform(pd.Series(["a", "b", "c", "a", "b", "a"], dtype=object))
    assert _encode("category", {"type": "onehot"}, prep, column).shape == (6, 4)
    ordinal = _encode("category", {"type": "ordinal"}, prep, column)
    assert ordinal.shape == (6, 1) and ordinal.ravel().tolist() == [1, 2, 3, 1, 2, 1]
    y = np.array([0, 1, 2, 0, 1, 2])
    target = _encode("category", {"type": "target", "cv": 2}, prep, column, y, "multiclass")
    assert target.shape == (6, 3)


def test_text_encoders_and_embedding_size():
    prep = _text([f"w{i} w{i + 1} w{i + 2}" for i in range(12)])
    column = prep.transform(pd.Series([f"w{i} w{i + 1}" for i in range(12)], dtype=object))
    tfidf = _encode("text", {"type": "tf_idf"}, prep, column)
    bag = _encode("text", {"type": "bag"}, prep, column)
    assert tfidf.shape == bag.shape == (12, prep.vocabulary_size)
    assert bag.max() == 1 and tfidf.max() < 1
    reduced = _encode("text", {"type": "tf_idf", "embedding_size": 3}, prep, column)
    assert reduced.shape == (12, 3)
    with pytest.raises(
        ValueError, match=r"embedding_size: 99 must be smaller than the vocabulary size \(14"
    ):
        _encode("text", {"type": "bag", "embedding_size": 99}, prep, column)


# --------------------------------------------------------------------------- ECD


def test_ecd_training_curves_best_epoch_and_predictor(prepared, tmp_path):
    info, stats, predictor = _train(BASE, prepared, tmp_path)
    run = info["epochs_run"]
    assert stats["evaluation_frequency"] == {"frequency": 1, "period": "epoch"}
    for split in ("training", "validation", "test"):
        assert set(stats[split]) == {"label", "combined"}
        assert set(stats[split]["label"]) == set(metrics.metrics_for("category"))
        assert all(len(values) == run for values in stats[split]["label"].values())
        assert stats[split]["combined"]["loss"] == stats[split]["label"]["loss"]
    accuracy = stats["validation"]["label"]["accuracy"]
    assert info["best_epoch"] == metrics.best_index(accuracy, "accuracy") + 1
    # the kept model is the best epoch's: it reproduces that epoch's validation accuracy
    validation = pd.read_parquet(prepared / "validation.parquet")
    predicted = predictor.predict(validation)
    assert np.mean(predicted == validation["label"].to_numpy()) == pytest.approx(
        accuracy[info["best_epoch"] - 1]
    )
    assert predictor.model.hidden_layer_sizes == (8,)


def test_ecd_early_stop(prepared, tmp_path):
    config = _config(trainer={"epochs": 40, "learning_rate": 0.05, "early_stop": 2})
    info, stats, _ = _train(config, prepared, tmp_path, metric="loss")
    assert info["epochs_run"] < 40
    assert info["epochs_run"] - info["best_epoch"] == 2
    assert len(stats["test"]["combined"]["loss"]) == info["epochs_run"]
    config["trainer"]["early_stop"] = -1
    config["trainer"]["epochs"] = 6
    assert _train(config, prepared, tmp_path / "b", metric="loss")[0]["epochs_run"] == 6


def test_ecd_is_deterministic(prepared, tmp_path):
    first = _train(BASE, prepared, tmp_path / "a", seed=11)
    second = _train(BASE, prepared, tmp_path / "b", seed=11)
    other = _train(BASE, prepared, tmp_path / "c", seed=12)
    assert first[0] == second[0]
    assert first[1] == second[1]
    frame = _dataset(20, seed=5)
    np.testing.assert_array_equal(first[2].predict_proba(frame), second[2].predict_proba(frame))
    assert first[1] != other[1]


@pytest.mark.parametrize(
    ("combiner", "decoder", "hidden"),
    [
        ({"num_fc_layers": 0}, {}, ()),
        ({"num_fc_layers": 2, "output_size": 5}, {}, (5, 5)),
        ({"fc_layers": [{"output_size": 6}, {"output_size": 3}]}, {}, (6, 3)),
        ({"num_fc_layers": 1, "output_size": 4}, {"num_fc_layers": 1, "fc_output_size": 2}, (4, 2)),
    ],
)
def test_hidden_layers_follow_the_config(prepared, tmp_path, combiner, decoder, hidden):
    config = _config(combiner=combiner, trainer={"epochs": 2})
    config["output_features"][0]["decoder"] = decoder
    predictor = _train(config, prepared, tmp_path)[2]
    assert predictor.model.hidden_layer_sizes == hidden
    assert [w.shape[1] for w in predictor.model.coefs_] == [*hidden, 3]


def test_encoders_change_the_model_input(prepared, tmp_path):
    widths = {}
    for name, encoder in {
        "onehot": {"type": "onehot"},
        "ordinal": {"type": "ordinal"},
        "svd": {"type": "onehot"},
    }.items():
        config = _config(trainer={"epochs": 1})
        config["input_features"][1]["encoder"] = encoder
        if name == "svd":
            config["input_features"][3]["encoder"] = {"type": "tf_idf", "embedding_size": 2}
        widths[name] = _train(config, prepared, tmp_path / name)[2].model.coefs_[0].shape[0]
    # age 1 + colour (onehot 5 incl. <UNK> | ordinal 1) + member 1 + review (7 words | svd 2)
    assert widths == {"onehot": 14, "ordinal": 10, "svd": 9}


def test_predictor_round_trip_on_raw_frame(prepared, tmp_path):
    _train(BASE, prepared, tmp_path)
    predictor = joblib.load(tmp_path / "model.joblib")
    assert isinstance(predictor, Predictor)
    raw = pd.DataFrame(
        {
            "age": [35.0, None],
            "color": ["purple", None],  # unseen and missing categories
            "member": [None, "yes"],
            "review": ["never seen words", None],
            "ignored": [1, 2],
        }
    )
    labels = predictor.predict(raw)
    assert set(labels) <= {"high", "mid", "low"}
    proba = predictor.predict_proba(raw)
    assert proba.shape == (2, 3) and np.allclose(proba.sum(axis=1), 1)
    assert predictor.classes_ == ["high", "mid", "low"] or sorted(predictor.classes_) == [
        "high",
        "low",
        "mid",
    ]
    with pytest.raises(DataError, match="lacks the input column"):
        predictor.predict(raw.drop(columns=["age"]))


def test_selection_falls_back_to_trainer_settings(prepared, tmp_path):
    config = _config(trainer={"epochs": 4, "validation_metric": "loss"})
    info = ENGINE.train(
        config, str(prepared), str(tmp_path), seed=1, output_feature=None, metric=None
    )
    stats = json.loads((tmp_path / "training_statistics.json").read_text())
    assert (
        info["best_epoch"] == metrics.best_index(stats["validation"]["label"]["loss"], "loss") + 1
    )


def test_train_refuses_prepared_data_of_another_key(prepared, tmp_path):
    config = _config()
    config["input_features"][3]["preprocessing"] = {"most_common": 3}
    with pytest.raises(ValueError, match="different preprocessing"):
        ENGINE.train(
            config, str(prepared), str(tmp_path), seed=1, output_feature="label", metric="loss"
        )


# --------------------------------------------------------------------------- GBM


def test_gbm_training_curves_per_step(prepared, tmp_path):
    config = _config(
        model_type="gbm", trainer={"num_boost_round": 40, "boosting_rounds_per_checkpoint": 10}
    )
    del config["combiner"]
    info, stats, predictor = _train(config, prepared, tmp_path, metric="loss")
    assert stats["evaluation_frequency"] == {"frequency": 10, "period": "step"}
    assert info["epochs_run"] <= 4
    assert len(stats["validation"]["label"]["loss"]) == info["epochs_run"]
    assert (
        info["best_epoch"] == metrics.best_index(stats["validation"]["label"]["loss"], "loss") + 1
    )
    assert predictor.model.n_iter_ == 10 * info["best_epoch"]
    assert predictor.predict(_dataset(5, seed=3)).shape == (5,)


# --------------------------------------------------------------------------- other outputs


def _regression(n=160, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    return pd.DataFrame(
        {"x": x, "z": rng.choice(["a", "b"], n), "y": 1000 + 300 * x + rng.normal(scale=10, size=n)}
    )


def test_number_output_normalized_internally_metrics_in_original_units(tmp_path):
    config = {
        "input_features": [{"name": "x", "type": "number"}, {"name": "z", "type": "category"}],
        "output_features": [
            {"name": "y", "type": "number", "preprocessing": {"normalization": "zscore"}}
        ],
        "trainer": {"epochs": 30, "learning_rate": 0.05, "batch_size": 16},
    }
    prepared = _prepare(tmp_path, _regression(), config)
    info, stats, predictor = _train(
        config, prepared, tmp_path / "t", output_feature="y", metric="mean_absolute_error"
    )
    validation = pd.read_parquet(prepared / "validation.parquet")
    predicted = predictor.predict(validation)
    mae = np.mean(np.abs(predicted - validation["y"].to_numpy()))
    assert mae == pytest.approx(
        stats["validation"]["y"]["mean_absolute_error"][info["best_epoch"] - 1]
    )
    assert mae < 100  # learned in original units (y ~ 1000 +- 300)
    with pytest.raises(AttributeError):
        predictor.predict_proba(validation)


def test_gbm_absolute_error_loss(tmp_path):
    config = {
        "model_type": "gbm",
        "input_features": [{"name": "x", "type": "number"}],
        "output_features": [
            {"name": "y", "type": "number", "loss": {"type": "mean_absolute_error"}}
        ],
        "trainer": {
            "num_boost_round": 20,
            "boosting_rounds_per_checkpoint": 5,
            "learning_rate": 0.3,
        },
    }
    prepared = _prepare(tmp_path, _regression(), config)
    info, stats, predictor = _train(
        config, prepared, tmp_path / "t", output_feature="y", metric="loss"
    )
    assert predictor.model.loss == "absolute_error"
    assert stats["training"]["y"]["loss"] == stats["training"]["y"]["mean_absolute_error"]
    ecd = {**config, "model_type": "ecd", "trainer": {}}
    with pytest.raises(
        NotSupportedError, match="mean_absolute_error is not supported for model_type ecd"
    ):
        ENGINE.validate_config(ecd)


def test_binary_output_with_two_labels(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.normal(size=120)
    frame = pd.DataFrame(
        {"x": x, "mail": np.where(x + rng.normal(scale=0.3, size=120) > 0, "spam", "ham")}
    )
    config = {
        "input_features": [{"name": "x", "type": "number"}],
        "output_features": [{"name": "mail", "type": "binary"}],
        "trainer": {"epochs": 10, "learning_rate": 0.05},
    }
    prepared = _prepare(tmp_path, frame, config)
    info, stats, predictor = _train(
        config, prepared, tmp_path / "t", output_feature="mail", metric="roc_auc"
    )
    assert set(stats["validation"]["mail"]) == set(metrics.metrics_for("binary"))
    assert predictor.classes_ == ["ham", "spam"]
    assert set(predictor.predict(frame.head(10))) <= {"ham", "spam"}
    assert predictor.predict_proba(frame.head(3)).shape == (3, 2)


def test_unseen_validation_labels_are_left_out(tmp_path):
    frame = _dataset(60)
    frame["split"] = [0] * 40 + [1] * 20
    frame.loc[45:49, "label"] = "brand-new"
    prepared = _prepare(tmp_path, frame, _config(preprocessing=FIXED_SPLIT))
    info = json.loads((prepared / "metadata.json").read_text())["engine_info"]
    assert info["dropped_unseen_label"]["validation"] == 5
    assert info["rows"]["validation"] == 15
    config = _config(trainer={"epochs": 2}, preprocessing=FIXED_SPLIT)
    assert _train(config, prepared, tmp_path / "t")[0]["epochs_run"] == 2


def test_divergence_is_a_clear_error(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=60) * 1e4
    config = {
        "input_features": [
            {"name": "x", "type": "number", "preprocessing": {"normalization": None}}
        ],
        "output_features": [{"name": "y", "type": "number"}],
        "trainer": {
            "epochs": 40,
            "early_stop": -1,
            "learning_rate": 1.0,
            "optimizer": {"type": "sgd", "momentum": 0.9},
        },
    }
    prepared = _prepare(tmp_path, pd.DataFrame({"x": x, "y": x * 1e8}), config)
    with pytest.raises(TrainingDiverged, match=r"training diverged .*lower trainer\.learning_rate"):
        ENGINE.train(
            config, str(prepared), str(tmp_path / "t"), seed=0, output_feature="y", metric="loss"
        )
    assert not math.isnan(0.0)


def test_integer_category_labels_come_back_as_integers(tmp_path):
    rng = np.random.default_rng(2)
    x = rng.normal(size=90)
    frame = pd.DataFrame({"x": x, "grade": np.digitize(x, [-0.5, 0.5])})  # 0, 1, 2
    config = {
        "input_features": [{"name": "x", "type": "number"}],
        "output_features": [{"name": "grade", "type": "category"}],
        "trainer": {"epochs": 3},
    }
    prepared = _prepare(tmp_path, frame, config)
    predictor = _train(config, prepared, tmp_path / "t", output_feature="grade", metric="loss")[2]
    assert sorted(predictor.classes_) == [0, 1, 2]
    assert set(predictor.predict(frame.head(10)).tolist()) <= {0, 1, 2}


def test_without_validation_split_the_last_epoch_is_kept(tmp_path):
    frame = _dataset(60)
    frame["split"] = [0] * 45 + [2] * 15
    prepared = _prepare(tmp_path, frame, _config(preprocessing=FIXED_SPLIT))
    config = _config(trainer={"epochs": 3}, preprocessing=FIXED_SPLIT)
    info, stats, _ = _train(config, prepared, tmp_path / "t")
    assert info == {"best_epoch": 3, "epochs_run": 3}
    assert "validation" not in stats and len(stats["test"]["combined"]["loss"]) == 3
