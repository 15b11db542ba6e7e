"""Engine `command`: an external program trains each trial."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from contextlib import redirect_stderr
from pathlib import Path

import pandas as pd
import pytest
import yaml

from conftest import ENV, REPO, run_studies
from snaketune import limits
from snaketune.backends import command, processes
from snaketune.errors import ConfigError

TRAINER = str(REPO / "tests" / "trainers" / "logistic.py")
NO_VALIDATION = str(REPO / "tests" / "trainers" / "no_validation.py")
PROCESS_TREE = str(REPO / "tests" / "trainers" / "process_tree.py")
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
    # chosen on training, as Ludwig does
    assert info == {"best_epoch": 2, "epochs_run": 2, "stragglers_killed": 0}


@pytest.fixture
def trial_dir(tmp_path):
    """A trial folder; a failing test leaves no process of its program running."""
    folder = tmp_path / "trial"
    folder.mkdir()
    yield folder
    pids = folder / "output" / "pids.json"
    for pid in json.loads(pids.read_text()).values() if pids.is_file() else []:
        if alive(pid):
            os.kill(pid, signal.SIGKILL)


def alive(pid: int) -> bool:
    """Whether the process runs: a zombie has ended, only its exit status is left."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def train_program(trial: Path, *args: str) -> dict:
    """CommandEngine.train on tests/trainers/process_tree.py in one of its modes."""
    engine = command.CommandEngine([sys.executable, PROCESS_TREE, "{output}", *args])
    prepared = prepared_splits(trial.parent / "prepared", validation_rows=3)
    # stderr is the trial's train.log in a train job
    with open(trial / "train.log", "w", buffering=1) as log, redirect_stderr(log):
        return engine.train(
            {"output_features": [{"name": "label", "type": "category"}]},
            str(prepared),
            str(trial),
            seed=1,
            output_feature="label",
            metric="accuracy",
        )


def test_memory_of_the_programs_children_counts_against_the_limit(trial_dir):
    limit = round(limits.resident_mb()) + 150  # this test process is part of the tree
    started = time.monotonic()
    with (
        pytest.raises(limits.TrialLimitExceeded) as failure,
        limits.enforce(limits.TrialLimits(memory_mb=limit)) as state,
    ):
        train_program(trial_dir, "allocate", "300")
    assert re.search(
        rf"exceeded the memory limit: \d+ MB resident in the trial's [2-9] processes > "
        rf"trial_memory_mb {limit}; snaketune ended 2 processes",
        str(failure.value),
    )
    assert state["peak_mb"] > limit
    assert time.monotonic() - started < 4  # the holder would keep its memory for 5 s


def test_timeout_ends_grandchildren_and_a_daemon_that_left_the_session(trial_dir, monkeypatch):
    monkeypatch.setattr(processes, "END_GRACE_S", 0.5)  # the daemon ignores TERM
    started = time.monotonic()
    with (
        pytest.raises(limits.TrialLimitExceeded, match="trial_timeout_s 2") as failure,
        limits.enforce(limits.TrialLimits(timeout_s=2)),
    ):
        train_program(trial_dir, "sleepers")
    assert time.monotonic() - started < 5
    pids = json.loads((trial_dir / "output" / "pids.json").read_text())
    assert [name for name, pid in pids.items() if alive(pid)] == []
    assert "snaketune ended 4 processes of the trial still running: " in str(failure.value)
    assert f"pid {pids['grandchild']} (sleep 60)" in str(failure.value)
    log = (trial_dir / "train.log").read_text()
    assert all(f"pid {pid} (" in log for pid in pids.values())


def test_sigterm_to_the_train_job_ends_the_programs_processes(trial_dir):
    prepared = prepared_splits(trial_dir.parent / "prepared", validation_rows=3)
    job_code = f"""
import sys
from snaketune.backends import command, processes
processes.END_GRACE_S = 0.5  # the daemon ignores TERM
engine = command.CommandEngine([sys.executable, {PROCESS_TREE!r}, "{{output}}", "sleepers"])
engine.train({{"output_features": [{{"name": "label"}}]}}, {str(prepared)!r}, {str(trial_dir)!r},
             seed=1, output_feature="label", metric="accuracy")
"""
    job = subprocess.Popen([sys.executable, "-c", job_code], env=ENV, stderr=subprocess.DEVNULL)
    pids_file = trial_dir / "output" / "pids.json"
    deadline = time.monotonic() + 10
    while not pids_file.is_file() and time.monotonic() < deadline:
        time.sleep(0.05)
    job.send_signal(signal.SIGTERM)  # as a runner stopping the job would
    returncode = job.wait(timeout=10)
    pids = json.loads(pids_file.read_text())
    assert [name for name, pid in pids.items() if alive(pid)] == []
    assert returncode == 128 + signal.SIGTERM  # the job still stops, after ending them


def test_processes_left_after_a_normal_exit_are_ended_and_counted(trial_dir):
    info = train_program(trial_dir, "background")
    pid = json.loads((trial_dir / "output" / "pids.json").read_text())["background"]
    assert info["stragglers_killed"] == 1 and not alive(pid)
    log = (trial_dir / "train.log").read_text()
    assert f"snaketune: ended 1 process of the trial still running: pid {pid} (" in log
    assert "exited with code 0 but left those processes running" in log


@pytest.mark.parametrize("hang", [False, True])
def test_train_log_keeps_head_and_tail_of_a_flood(trial_dir, hang):
    if hang:  # killed by the time limit, the log still gets its tail
        with (
            pytest.raises(limits.TrialLimitExceeded, match="trial_timeout_s 2"),
            limits.enforce(limits.TrialLimits(timeout_s=2)),
        ):
            train_program(trial_dir, "flood", "20", "--hang")
    else:
        train_program(trial_dir, "flood", "20")
    log = trial_dir / "train.log"
    assert log.stat().st_size < 2.5 * 2**20
    text = log.read_text()
    head, left_out, tail = re.split(
        r"\[snaketune: (\d+) bytes of the program's output left out here.*\]\n", text
    )
    assert "first line of the flood" in head and "last line of the flood" in tail
    assert int(left_out) > 17 * 2**20


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


def command_options(program: list[str], config: dict) -> dict:
    return {"configfile": {"engine": "command", "command": program}, **config}


# The end-to-end tests below take one snakemake run each, of a study folder of its own:
# name -> (program, options of Study.run).
COMMAND_RUNS = {
    "plain": ([sys.executable, TRAINER, *ARGS], {}),
    "minimal": ([sys.executable, TRAINER, *ARGS, "--minimal"], {"experiment_name": "minimal"}),
    "failing": ([sys.executable, TRAINER, *ARGS, "--fail"], {"experiment_name": "failing"}),
    "no_validation": (
        [sys.executable, NO_VALIDATION, "{output}", "{output_feature}", "{metric}"],
        {},
    ),
}


@pytest.fixture(scope="module")
def command_runs(shared_study_factory):
    """The runs of COMMAND_RUNS, three at a time: name -> (study, CompletedProcess)."""
    return run_studies(
        {
            name: (shared_study_factory(numeric_config(), name=name), (), command_options(*run))
            for name, run in COMMAND_RUNS.items()
        }
    )


@pytest.mark.e2e
def test_command_engine_study(command_runs):
    study, _ = command_runs["plain"]
    board = pd.read_csv(study.path("leaderboard.tsv"), sep="\t")
    assert list(board["status"]) == ["ok", "ok"]
    score = json.loads(study.path("trials", "trial_0001", "score.json").read_text())
    assert 0 <= score["metric_score"] <= 1 and score["best_epoch"] in (1, 2, 3)
    stats = json.loads(study.path("trials", "trial_0001", "training_statistics.json").read_text())
    assert len(stats["validation"]["label"]["accuracy"]) == 3
    assert study.path("best", "output", "run", "training_statistics.json").is_file()


@pytest.mark.e2e
def test_command_engine_failing_and_minimal_programs(command_runs):
    study, _ = command_runs["minimal"]
    score = json.loads(study.path("trials", "trial_0000", "score.json", name="minimal").read_text())
    assert score["status"] == "ok" and score["best_epoch"] == 1
    study, _ = command_runs["failing"]
    failed = json.loads(
        study.path("trials", "trial_0000", "score.json", name="failing").read_text()
    )
    assert failed["status"] == "failed" and "exited with code 3" in failed["error"]
    log = study.path("trials", "trial_0000", "train.log", name="failing").read_text()
    assert "this trainer was asked to fail" in log


@pytest.mark.e2e
def test_command_engine_program_without_validation_values(command_runs):
    study, _ = command_runs["no_validation"]
    board = pd.read_csv(study.path("leaderboard.tsv"), sep="\t")
    assert list(board["status"]) == ["failed", "failed"]
    score = json.loads(study.path("trials", "trial_0000", "score.json").read_text())
    assert score["status"] == "failed" and NO_VALIDATION_MESSAGE in score["error"]
