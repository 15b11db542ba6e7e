"""Engine `command`: an external program trains each trial."""

from __future__ import annotations

import json
import sys

import pandas as pd
import pytest

from conftest import REPO
from snaketune.backends import command
from snaketune.errors import ConfigError

TRAINER = str(REPO / "tests" / "trainers" / "logistic.py")
ARGS = ["{config}", "{training_set}", "{validation_set}", "{test_set}", "{output}"]


def test_placeholders_are_replaced_textually_and_never_evaluated():
    expanded = command.expand_arguments(
        ["prog", "--cfg={config}", "{output}", "{__class__}", "$(rm -rf /)"],
        {"config": "/a b/c.yaml", "output": "/o"},
    )
    assert expanded == ["prog", "--cfg=/a b/c.yaml", "/o", "{__class__}", "$(rm -rf /)"]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ([], "must be a non-empty list of strings"),
        ("python train.py", "must be a non-empty list of strings"),
        ([sys.executable, "{nope}"], r"unknown placeholder \{nope\}"),
        (["no-such-program-xyz"], "is not on PATH and is not a file"),
    ],
)
def test_bad_commands_are_rejected(value, message):
    with pytest.raises(ConfigError, match=message):
        command.check_command(value)


def test_minimal_metrics_become_single_evaluation_curves():
    stats = command._as_curves({"validation": {"y": {"accuracy": 0.5}}})
    assert stats["validation"] == {"y": {"accuracy": [0.5]}}


def numeric_config():
    from conftest import model_config

    config = model_config(
        parameters={"trainer.learning_rate": {"space": "grid_search", "values": [0.1, 1.0]}},
        executor={},
    )
    config["input_features"] = [{"name": "x", "type": "number"}]
    return config


@pytest.mark.e2e
def test_command_engine_study(study_factory):
    study = study_factory(numeric_config())
    study.run(configfile={"engine": "command", "command": [sys.executable, TRAINER, *ARGS]})
    board = pd.read_csv(study.path("leaderboard.tsv"), sep="\t")
    assert list(board["status"]) == ["ok", "ok"]
    score = json.loads(study.path("trials", "trial_0001", "score.json").read_text())
    assert 0 <= score["metric_score"] <= 1 and score["best_epoch"] in (1, 2, 3)
    stats = json.loads(study.path("trials", "trial_0001", "training_statistics.json").read_text())
    assert len(stats["validation"]["label"]["accuracy"]) == 3
    assert study.path("best", "output", "run", "training_statistics.json").is_file()


@pytest.mark.e2e
def test_command_engine_failing_and_minimal_programs(study_factory):
    study = study_factory(numeric_config())
    study.run(
        configfile={
            "engine": "command",
            "command": [sys.executable, TRAINER, *ARGS, "--minimal"],
        },
        experiment_name="minimal",
    )
    score = json.loads(study.path("trials", "trial_0000", "score.json", name="minimal").read_text())
    assert score["status"] == "ok" and score["best_epoch"] == 1
    study.run(
        configfile={"engine": "command", "command": [sys.executable, TRAINER, *ARGS, "--fail"]},
        experiment_name="failing",
    )
    failed = json.loads(
        study.path("trials", "trial_0000", "score.json", name="failing").read_text()
    )
    assert failed["status"] == "failed" and "exited with code 3" in failed["error"]
    log = study.path("trials", "trial_0000", "train.log", name="failing").read_text()
    assert "this trainer was asked to fail" in log
