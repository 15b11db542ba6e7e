"""Regression tests for Ludwig configs that gave wrong results or were wrongly refused.

Each test is named after the defect it pins. The studies go through `load_study` (what
the Snakefile runs at parse time), so they test the trial configs the jobs receive;
where a defect was about what trains, the model the engine trained is inspected too.
"""

from __future__ import annotations

import json
from pathlib import Path

import joblib
import pytest
import yaml

from conftest import make_frame, prepare_study_data
from snaketune.backends import get_engine
from snaketune.study import load_study


def study_of(tmp_path: Path, model: dict, engine: str = "sklearn", frame=None, **values):
    """The parse-time study of `model` on small data (the conftest frame by default)."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    (frame if frame is not None else make_frame()).to_csv(tmp_path / "data.csv", index=False)
    (tmp_path / "model.yaml").write_text(yaml.safe_dump(model, sort_keys=False))
    overrides = {
        "dataset": "data.csv",
        "model_config": "model.yaml",
        "output_directory": "results",
        "engine": engine,
        **values,
    }
    return load_study({}, tmp_path, overrides, tmp_path)


def train_trial(study, index: int, out_dir: Path):
    """Prepare the trial's data and train it with the study's engine; the saved predictor."""
    trial = study.trials[index]
    engine = get_engine(study.settings.engine)
    prepared = out_dir / "prepared"
    if not prepared.exists():
        prepare_study_data(study, trial.prep_id, prepared)
    folder = out_dir / trial.trial_id
    folder.mkdir(parents=True)
    engine.train(
        trial.config,
        str(prepared),
        str(folder),
        seed=trial.seed,
        threads=1,
        output_feature=study.hyperopt["output_feature"],
        metric=study.hyperopt["metric"],
    )
    stats = json.loads((folder / "training_statistics.json").read_text())
    return joblib.load(folder / "model.joblib"), stats


def tiny_torch_model(parameters: dict, inputs: list[dict] | None = None) -> dict:
    return {
        "input_features": inputs
        or [
            {"name": "title", "type": "text"},
            {"name": "color", "type": "category"},
        ],
        "output_features": [{"name": "label", "type": "category"}],
        "trainer": {"epochs": 1, "batch_size": 32},
        "hyperopt": {
            "goal": "maximize",
            "metric": "accuracy",
            "output_feature": "label",
            "parameters": parameters,
        },
    }


# --------------------------------------------------------------------- 7.1 defaults.<type>


def test_defaults_encoder_type_is_used_by_features_that_name_no_encoder(tmp_path):
    pytest.importorskip("torch")
    from snaketune.backends.torch_engine import encoders

    model = tiny_torch_model(
        {
            "defaults.text.encoder.type": {
                "space": "grid_search",
                "values": ["parallel_cnn", "stacked_cnn"],
            },
            "defaults.category.encoder.type": {
                "space": "grid_search",
                "values": ["dense", "sparse"],
            },
        }
    )
    study = study_of(tmp_path, model, engine="torch")
    assert len(study.trials) == 4
    expected_classes = {
        "parallel_cnn": encoders.ParallelCNNEncoder,
        "stacked_cnn": encoders.StackedCNNEncoder,
        "dense": encoders.CategoryDenseEncoder,
        "sparse": encoders.CategorySparseEncoder,
    }
    seen = set()
    for trial in study.trials:
        text_kind = trial.parameters["defaults.text.encoder.type"]
        category_kind = trial.parameters["defaults.category.encoder.type"]
        title, color = trial.config["input_features"]
        assert title["encoder"]["type"] == text_kind
        assert color["encoder"]["type"] == category_kind
        assert "encoder" not in trial.config["output_features"][0]
        predictor, _ = train_trial(study, trial.index, tmp_path / "out")
        network = predictor.network()
        assert type(network.encoders[0]) is expected_classes[text_kind]
        assert type(network.encoders[1]) is expected_classes[category_kind]
        seen.add((text_kind, category_kind))
    assert len(seen) == 4


def test_defaults_encoder_type_is_used_by_the_sklearn_engine(tmp_path):
    model = tiny_torch_model(
        {"defaults.category.encoder.type": {"space": "grid_search", "values": ["onehot", "target"]}}
    )
    model["input_features"] = [
        {"name": "x", "type": "number"},
        {"name": "color", "type": "category"},
    ]
    study = study_of(tmp_path, model)
    kinds = []
    for trial in study.trials:
        predictor, _ = train_trial(study, trial.index, tmp_path / "out")
        color = next(e for e in predictor.encoder.encoders.values() if e.name == "color")
        assert color.config["type"] == trial.parameters["defaults.category.encoder.type"]
        kinds.append(type(color.steps[0]).__name__)
    assert kinds == ["OneHotEncoder", "TargetEncoder"]


# --------------------------------------------------------------- 7.2 names of module attributes


ATTRIBUTE_NAMES = ["type", "training", "forward", "parameters"]


@pytest.mark.parametrize("engine", ["torch", "sklearn"])
def test_features_named_like_module_attributes_train(tmp_path, engine):
    if engine == "torch":
        pytest.importorskip("torch")
    frame = make_frame()
    renamed = {"title": "type", "x": "training", "color": "forward", "flag": "parameters"}
    frame = frame.rename(columns=renamed)
    inputs = [
        {"name": "type", "type": "text"},
        {"name": "training", "type": "number"},
        {"name": "forward", "type": "category"},
        {"name": "parameters", "type": "binary"},
    ]
    model = tiny_torch_model(
        {"trainer.learning_rate": {"space": "choice", "categories": [0.01]}}, inputs
    )
    model["hyperopt"]["executor"] = {"num_samples": 1}
    study = study_of(tmp_path, model, engine=engine, frame=frame)
    predictor, stats = train_trial(study, 0, tmp_path / "out")
    assert [f["name"] for f in predictor.input_features] == ATTRIBUTE_NAMES
    assert len(predictor.predict(frame.head(5))) == 5
    assert stats["validation"]["label"]["accuracy"]


# ------------------------------------------------------------------------ 7.4 legacy names


def test_legacy_names_ludwig_still_maps_run_in_the_torch_engine(tmp_path):
    pytest.importorskip("torch")
    model = {
        "input_features": [
            {
                "name": "title",
                "type": "text",
                "encoder": "stacked_cnn",
                "fc_size": 16,
                "preprocessing": {"word_most_common": 50, "word_sequence_length_limit": 12},
            },
            {"name": "x", "type": "numerical"},
            {"name": "color", "type": "category", "representation": "sparse"},
        ],
        "output_features": [
            {"name": "label", "type": "category", "num_fc_layers": 1, "output_size": 8}
        ],
        "combiner": {"type": "concat", "num_fc_layers": 1, "fc_size": 12},
        "training": {"epochs": 1, "decay": True},
        "preprocessing": {"text": {"lowercase": True}},
        "hyperopt": {
            "parameters": {"training.learning_rate": {"space": "choice", "categories": [0.01]}},
            "output_feature": "label",
            "metric": "accuracy",
            "goal": "maximize",
            "executor": {"num_samples": 1},
        },
    }
    study = study_of(tmp_path, model, engine="torch")
    assert sum("legacy" in notice for notice in study.notices) >= 8
    config = study.trials[0].config
    title, x, color = config["input_features"]
    assert title["encoder"] == {"type": "stacked_cnn", "output_size": 16}
    assert title["preprocessing"] == {
        "most_common": 50,
        "max_sequence_length": 12,
        "lowercase": True,  # from defaults.text, where preprocessing.text was moved
    }
    assert x["type"] == "number" and color["encoder"] == {"type": "sparse"}
    assert config["output_features"][0]["decoder"] == {"num_fc_layers": 1, "fc_output_size": 8}
    assert config["combiner"]["output_size"] == 12
    assert config["trainer"]["learning_rate_scheduler"] == {"decay": "exponential"}
    assert config["defaults"] == {"text": {"preprocessing": {"lowercase": True}}}
    predictor, _ = train_trial(study, 0, tmp_path / "out")
    network = predictor.network()
    assert network.combiner.output_size == 12
    assert network.decoder.fc.output_size == 8
