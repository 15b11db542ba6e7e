"""Ludwig's hyperopt guide examples, shipped unchanged, run end to end with the torch engine."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest
import yaml

from conftest import REPO

pytest.importorskip("torch")
pytestmark = pytest.mark.e2e

GUIDE = REPO.parent / "shared" / "seed" / "ludwig-hyperopt-guide.md"
EXAMPLES = REPO / "config" / "examples"


def hyperopt_blocks(markdown: str) -> list[dict]:
    blocks = re.findall(r"```yaml[^\n]*\n(.*?)```", markdown, flags=re.S)
    return [yaml.safe_load(block)["hyperopt"] for block in blocks]


@pytest.mark.skipif(not GUIDE.exists(), reason="the guide lives in ../shared beside the clone")
def test_examples_carry_the_guide_hyperopt_sections_verbatim():
    guide = hyperopt_blocks(GUIDE.read_text())
    shipped = [
        yaml.safe_load((EXAMPLES / name).read_text())["hyperopt"]
        for name in ("ludwig_guide_hyperopt.yaml", "ludwig_guide_feature_level.yaml")
    ]
    assert shipped == guide


def features(config: dict) -> dict[str, dict]:
    return {f["name"]: f for f in config["input_features"] + config["output_features"]}


def run_example(study_factory, name: str, experiment: str):
    study = study_factory(name=experiment)
    rows = pd.read_csv(REPO / "data" / "titles.csv").head(150)
    rows.to_csv(study.root / "titles.csv", index=False)
    study.run(
        dataset="titles.csv",
        model_config=str(EXAMPLES / name),
        engine="torch",
        experiment_name=experiment,
    )
    trials = sorted(study.path("trials", name=experiment).iterdir())
    assert len(trials) == 10  # Ludwig's default num_samples
    board = pd.read_csv(study.path("leaderboard.tsv", name=experiment), sep="\t")
    assert (board["status"] == "ok").all()
    for trial in trials:
        parameters = json.loads((trial / "parameters.json").read_text())["parameters"]
        config = yaml.safe_load((trial / "config.yaml").read_text())
        yield parameters, features(config), config


def test_per_feature_example(study_factory):
    for parameters, by_name, config in run_example(
        study_factory, "ludwig_guide_hyperopt.yaml", "guide"
    ):
        assert set(parameters) == {
            "title.encoder.num_filters",
            "trainer.learning_rate",
            "combiner.num_fc_layers",
        }
        assert by_name["title"]["encoder"]["num_filters"] == parameters["title.encoder.num_filters"]
        assert config["trainer"]["learning_rate"] == parameters["trainer.learning_rate"]
        assert config["combiner"]["num_fc_layers"] == parameters["combiner.num_fc_layers"]
        assert 2 <= config["combiner"]["num_fc_layers"] < 6


def test_feature_level_example(study_factory):
    for parameters, by_name, _ in run_example(
        study_factory, "ludwig_guide_feature_level.yaml", "guide_defaults"
    ):
        title = parameters["title.encoder.num_filters"]
        shared = parameters["defaults.text.encoder.num_filters"]
        embedding = parameters["defaults.category.encoder.embedding_size"]
        assert by_name["title"]["encoder"]["num_filters"] == title  # the feature wins
        assert by_name["title_words"]["encoder"]["num_filters"] == shared
        assert by_name["source"]["encoder"]["embedding_size"] == embedding
        assert "encoder" not in by_name["topic"]  # outputs never take encoder defaults


def small_torch_config(output: dict) -> dict:
    from conftest import model_config

    config = model_config(
        parameters={
            "trainer.learning_rate": {"space": "loguniform", "lower": 0.001, "upper": 0.05}
        },
        executor={"num_samples": 2},
        metric="loss",
        goal="minimize",
        output_feature=output["name"],
    )
    config["input_features"] = [
        {"name": "title", "type": "text", "encoder": {"type": "embed", "embedding_size": 8}},
        {"name": "x", "type": "number"},
        {"name": "color", "type": "category", "encoder": {"embedding_size": 4}},
    ]
    config["output_features"] = [output]
    config["combiner"] = {"type": "concat", "output_size": 8}
    config["trainer"] = {"epochs": 2, "batch_size": 16}
    return config


@pytest.mark.parametrize(
    "output", [{"name": "flag", "type": "binary"}, {"name": "x", "type": "number"}]
)
def test_tiny_torch_study_per_output_type_and_rerun(study_factory, output):
    config = small_torch_config(output)
    if output["type"] == "number":  # x is the target here: predict it from the others
        config["input_features"] = [f for f in config["input_features"] if f["name"] != "x"]
    study = study_factory(config, rows=80)
    study.run(engine="torch")
    board = pd.read_csv(study.path("leaderboard.tsv"), sep="\t")
    assert list(board["status"]) == ["ok", "ok"]
    study.run("results/exp/reruns/trial_0001/score.json", engine="torch")
    rerun = json.loads(study.path("reruns", "trial_0001", "score.json").read_text())
    assert rerun["matches_original"] is True
