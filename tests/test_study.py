"""Parse-time study loading: everything checked before any job, nothing written."""

from __future__ import annotations

import pytest
import yaml

from conftest import make_frame, model_config
from snaketune.errors import ConfigError
from snaketune.study import load_study


@pytest.fixture
def folder(tmp_path):
    make_frame(60).to_csv(tmp_path / "data.csv", index=False)
    return tmp_path


def load(folder, config, **study):
    (folder / "model.yaml").write_text(yaml.safe_dump(config))
    values = {"dataset": "data.csv", "model_config": "model.yaml", **study}
    values = {key: value for key, value in values.items() if value is not None}
    return load_study({}, folder, values, folder)


def test_trials_are_resolved_and_share_preprocessing(folder):
    study = load(folder, model_config())
    assert [t.trial_id for t in study.trials] == ["trial_0000", "trial_0001", "trial_0002"]
    assert len(study.preps) == 1
    trial = study.trials[1]
    assert trial.config["trainer"]["learning_rate"] == trial.parameters["trainer.learning_rate"]
    assert trial.record == {
        "trial_id": "trial_0001",
        "index": 1,
        "round": 0,
        "trial_seed": trial.seed,
        "parameters": trial.parameters,
    }
    assert not (folder / "results").exists()


def test_tuned_preprocessing_gives_one_prepared_folder_per_value(folder):
    config = model_config(
        parameters={"title.preprocessing.most_common": {"space": "grid_search", "values": [5, 50]}},
        executor={},
    )
    study = load(folder, config)
    assert len(study.preps) == 2
    assert study.trials[0].prep_id != study.trials[1].prep_id


def test_legacy_parameter_names_are_upgraded_with_a_notice(folder):
    config = model_config(
        parameters={"training.learning_rate": {"space": "uniform", "lower": 0.01, "upper": 0.1}}
    )
    study = load(folder, config)
    assert "trainer.learning_rate" in study.hyperopt["parameters"]
    assert any("training.learning_rate" in notice for notice in study.notices)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"parameters": {"title.encoder.nope": {"space": "choice", "categories": [1]}}},
            r"^hyperopt\.parameters\.title\.encoder\.nope: .*nope",
        ),
        (
            {"parameters": {"input_features.0.encoder.x": {"space": "choice", "categories": [1]}}},
            r"hyperopt\.parameters\.input_features\.0\.encoder\.x",
        ),
        ({"split": "test", "output_feature": "nope"}, "hyperopt.output_feature: 'nope'"),
    ],
)
def test_parameter_errors_name_the_parameter(folder, change, message):
    with pytest.raises(ConfigError, match=message):
        load(folder, model_config(**change))


def test_missing_column_is_caught_from_the_header(folder):
    config = model_config()
    config["input_features"].append({"name": "absent", "type": "number"})
    with pytest.raises(ConfigError, match="input_features.absent: column 'absent' is not in"):
        load(folder, config)


def test_split_without_data_is_an_error(folder):
    config = model_config(split="test")
    config["preprocessing"] = {"split": {"type": "random", "probabilities": [0.8, 0.2, 0.0]}}
    with pytest.raises(ConfigError, match=r"hyperopt.split: 'test' has no data"):
        load(folder, config)
    with pytest.raises(ConfigError, match="no test_set"):
        load(folder, model_config(split="test"), dataset=None, training_set="data.csv")


def test_a_trial_whose_values_clash_is_named(folder):
    config = model_config(
        parameters={
            "title.encoder.type": {"space": "grid_search", "values": ["tf_idf", "bag"]},
            "title.encoder.sublinear_tf": {"space": "choice", "categories": [True]},
        },
        executor={},
    )
    with pytest.raises(ConfigError, match="trial_0001"):
        load(folder, config)


def test_nested_parquet_columns_are_refused_by_name(folder):
    # Regression (issue 8.15): list<string> and struct columns were read as text/category.
    frame = make_frame(60)
    frame["title"] = [title.split() for title in frame["title"]]
    frame.to_parquet(folder / "data.parquet")
    with pytest.raises(ConfigError) as info:
        load(folder, model_config(), dataset="data.parquet")
    message = str(info.value)
    assert message.startswith("input_features.title: column 'title' of dataset '")
    assert "holds a nested parquet type (list<element: string>), which a text feature" in message
    frame["title"] = make_frame(60)["title"]
    frame["color"] = [{"r": 1, "g": 2}] * 60
    frame.to_parquet(folder / "data.parquet")
    with pytest.raises(ConfigError, match=r"input_features\.color: .*struct<"):
        load(folder, model_config(), dataset="data.parquet")
    frame.drop(columns=["color"]).assign(color="red").to_parquet(folder / "data.parquet")
    assert len(load(folder, model_config(), dataset="data.parquet").trials) == 3
