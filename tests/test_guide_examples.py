"""Ludwig's hyperopt guide examples, shipped unchanged, run end to end with the torch engine."""

from __future__ import annotations

import hashlib
import json

import pandas as pd
import pytest
import yaml

from conftest import REPO, run_together

pytest.importorskip("torch")
pytestmark = pytest.mark.e2e

EXAMPLES = REPO / "config" / "examples"
# config/examples/ carry the two hyperopt sections of Ludwig's hyperopt guide verbatim
# (seed/ludwig-hyperopt-guide.md, which is not part of this repository): from the line
# `hyperopt:` to the end, each example file is the text of one ```yaml block of the guide.
# These are the SHA-256 digests of those two blocks, taken from the guide, so the shipped
# examples stay the reference without the guide at hand.
GUIDE_HYPEROPT_SHA256 = {
    "ludwig_guide_hyperopt.yaml": (
        "fad27a0c5c42d2628692ee95412d18b3f8ac57569af622152d44f2ae610f1499"
    ),
    "ludwig_guide_feature_level.yaml": (
        "9fee4b2b47de246f1889d2dc9d532730947dcc4d4d7d323afdd054ea8f760c63"
    ),
}


def test_examples_carry_the_guide_hyperopt_sections_verbatim():
    for name, digest in GUIDE_HYPEROPT_SHA256.items():
        text = (EXAMPLES / name).read_text(encoding="utf-8")
        section = text[text.index("\nhyperopt:\n") + 1 :]
        assert hashlib.sha256(section.encode("utf-8")).hexdigest() == digest, name
        assert list(yaml.safe_load(section)) == ["hyperopt"], name  # the whole section


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


OUTPUTS = {"binary": {"name": "flag", "type": "binary"}, "number": {"name": "x", "type": "number"}}


@pytest.fixture(scope="module")
def tiny_torch_runs(shared_study_factory):
    """A tiny torch study per output type, the two run side by side. One snakemake run
    each builds the leaderboard and trains trial_0001 again under reruns/: the rerun's
    score job waits for the original trial's score, which it is compared with."""

    def run(output: dict):
        config = small_torch_config(output)
        if output["type"] == "number":  # x is the target here: predict it from the others
            config["input_features"] = [f for f in config["input_features"] if f["name"] != "x"]
        study = shared_study_factory(config, name=f"tiny_{output['type']}", rows=80)
        study.run("all", "results/exp/reruns/trial_0001/score.json", engine="torch")
        return study

    studies = run_together(*(lambda o=o: run(o) for o in OUTPUTS.values()))
    return dict(zip(OUTPUTS, studies, strict=True))


@pytest.mark.parametrize("output", list(OUTPUTS))
def test_tiny_torch_study_per_output_type_and_rerun(tiny_torch_runs, output):
    study = tiny_torch_runs[output]
    board = pd.read_csv(study.path("leaderboard.tsv"), sep="\t")
    assert list(board["status"]) == ["ok", "ok"]
    rerun = json.loads(study.path("reruns", "trial_0001", "score.json").read_text())
    assert rerun["matches_original"] is True
