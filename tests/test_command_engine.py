"""Engine `command`: an external program trains each trial."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from conftest import REPO
from snaketune.backends import command
from snaketune.errors import ConfigError

TRAINER = str(REPO / "tests" / "trainers" / "logistic.py")
NO_VALIDATION = str(REPO / "tests" / "trainers" / "no_validation.py")
NO_VALIDATION_MESSAGE = (
    "the program's training_statistics.json (output/experiment_run/training_statistics.json) "
    "has no validation values for label.accuracy; its splits: training, test. If the program "
    "is `ludwig train`, pin the local backend (--backend local)"
)
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


def prepared_splits(folder: Path, validation_rows: int) -> Path:
    """The raw split files a trial's program is handed."""
    folder.mkdir()
    frame = pd.DataFrame({"x": [0.1, 0.2, 0.3], "label": ["a", "b", "a"]})
    for split, rows in (("training", 3), ("validation", validation_rows), ("test", 3)):
        frame.head(rows).to_parquet(folder / f"{split}.parquet", index=False)
    return folder


def train_without_validation(tmp_path, *flags: str, validation_rows: int = 3) -> dict:
    engine = command.CommandEngine(
        [sys.executable, NO_VALIDATION, "{output}", "{output_feature}", "{metric}", *flags]
    )
    trial = tmp_path / "trial"
    trial.mkdir()
    return engine.train(
        {"output_features": [{"name": "label", "type": "category"}]},
        str(prepared_splits(tmp_path / "prepared", validation_rows)),
        str(trial),
        seed=1,
        output_feature="label",
        metric="accuracy",
    )


@pytest.mark.parametrize("flags", [(), ("--empty-validation",)])
def test_statistics_without_validation_values_fail_the_trial_saying_so(tmp_path, flags):
    with pytest.raises(command.CommandFailed) as failure:
        train_without_validation(tmp_path, *flags)
    assert str(failure.value).startswith(NO_VALIDATION_MESSAGE)
    assert "does it have any rows" not in str(failure.value)


def test_statistics_without_validation_are_fine_when_the_study_has_no_validation_rows(
    tmp_path,
):
    info = train_without_validation(tmp_path, validation_rows=0)
    assert info == {"best_epoch": 2, "epochs_run": 2}  # chosen on training, as Ludwig does


def documented_ludwig_command() -> list[str]:
    """The `command` list of docs/engines.md's "Real Ludwig per trial" recipe."""
    doc = (REPO / "docs" / "engines.md").read_text()
    section = doc.split("### Real Ludwig per trial", 1)[1]
    block = re.search(r"```yaml\n(.*?)```", section, re.DOTALL)
    assert block, "docs/engines.md: the Real Ludwig per trial section has no yaml block"
    return yaml.safe_load(block.group(1))["command"]


def test_documented_ludwig_recipe_pins_the_local_backend():
    arguments = documented_ludwig_command()
    assert arguments[:2] == ["ludwig", "train"]
    flag = arguments.index("--backend")
    assert arguments[flag + 1] == "local"
    names = {name for arg in arguments for name in re.findall(r"\{([^{}]*)\}", arg)}
    assert names <= set(command.PLACEHOLDERS)


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


@pytest.mark.e2e
def test_command_engine_program_without_validation_values(study_factory):
    study = study_factory(numeric_config())
    program = [sys.executable, NO_VALIDATION, "{output}", "{output_feature}", "{metric}"]
    study.run(configfile={"engine": "command", "command": program})
    board = pd.read_csv(study.path("leaderboard.tsv"), sep="\t")
    assert list(board["status"]) == ["failed", "failed"]
    score = json.loads(study.path("trials", "trial_0000", "score.json").read_text())
    assert score["status"] == "failed" and NO_VALIDATION_MESSAGE in score["error"]
