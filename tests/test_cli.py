"""The snaketune command line, progress records and status, without running a study."""

from __future__ import annotations

import io
import json
import os
import socket
import sys
import time
from pathlib import Path

import pytest
import yaml

from snaketune import cli, run_study
from snaketune.progress import (
    Progress,
    progress_path,
    read_progress,
    record_start,
    record_trial,
    trial_state,
)
from snaketune.study_status import format_status, read_status


def command_of(monkeypatch, argv: list[str]) -> list[str]:
    """The snakemake command line `snaketune <argv>` would run (nothing is run), from a
    working directory holding the files the study config names."""
    seen = {}
    for name in ("m.yaml", "d.csv"):
        Path(name).write_text("")

    def fake_run(command, study_dir):
        seen["command"], seen["study_dir"] = command, study_dir
        return 1  # no final text

    monkeypatch.setattr(run_study, "run_with_progress", fake_run)
    monkeypatch.setattr(run_study, "run_plain", lambda command: fake_run(command, None))
    assert cli.main(argv) == 1
    return seen["command"]


def config_of(command: list[str]) -> dict[str, str]:
    values = command[command.index("--config") + 1 :]
    return dict(value.split("=", 1) for value in values)


@pytest.fixture(autouse=True)
def in_tmp_path(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)


def test_hyperopt_builds_snakemake_command_from_ludwig_flags(monkeypatch):
    command = command_of(
        monkeypatch,
        ["hyperopt", "--dataset", "d.csv", "-c", "m.yaml", "--output_directory", "out",
         "--experiment-name", "exp1", "-rs", "7", "--engine", "torch", "--cores", "3",
         "--profile", "profiles/slurm", "--keep-going", "--forcerun", "train"],
    )  # fmt: skip
    assert command[:3] == [sys.executable, "-m", "snakemake"]
    assert command[command.index("--snakefile") + 1] == str(run_study.SNAKEFILE)
    assert command[command.index("--cores") + 1] == "3"
    assert command[command.index("--profile") + 1] == "profiles/slurm"
    # Options snaketune does not know go to Snakemake, before --config (which takes the rest).
    assert command.index("--keep-going") < command.index("--config")
    assert command[command.index("--forcerun") + 1] == "train"
    assert config_of(command) == {
        "model_config": "m.yaml",
        "dataset": "d.csv",
        "output_directory": "out",
        "experiment_name": "exp1",
        "random_seed": "7",
        "engine": "torch",
    }


def test_hyperopt_defaults_follow_ludwig(monkeypatch):
    command = command_of(monkeypatch, ["hyperopt", "--config", "m.yaml", "--dry-run"])
    assert "--dry-run" in command
    assert command[command.index("--cores") + 1] == str(os.cpu_count())
    config = config_of(command)
    assert config["experiment_name"] == "hyperopt" and config["output_directory"] == "results"
    assert "random_seed" not in config  # the study config's default (42, as Ludwig's)


def test_config_str_is_written_as_the_model_config(monkeypatch):
    text = '{"input_features": [], "hyperopt": {}}'
    command = command_of(monkeypatch, ["hyperopt", "-cs", text])
    path = Path(config_of(command)["model_config"])
    assert path == Path("results/hyperopt.config.yaml")
    assert path.read_text() == text  # as written: the model config's loader reads it


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["--experiment_name", "../up"], "experiment_name"),
        (["--output_directory", "re{s}"], "output_directory"),
    ],
)
def test_a_bad_study_folder_is_refused_before_anything_is_written(capsys, tmp_path, argv, named):
    Path("m.yaml").write_text("")
    assert cli.main(["hyperopt", "--config", "m.yaml", *argv]) == 2
    assert cli.main(["hyperopt", "-cs", "{}", *argv]) == 2
    err = capsys.readouterr().err
    assert err.count(f"snaketune: {named}") == 2 and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.yaml"]


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["-sshs"], "--skip_save_hyperopt_statistics"),
        (["--gpus", "1"], "--gpus"),
        (["--backend", "ray"], "--backend"),
        (["--model-name", "run"], "--model_name"),
    ],
)
def test_ludwig_flags_without_meaning_here_are_refused(capsys, argv, named):
    assert cli.main(["hyperopt", "--config", "m.yaml", *argv]) == 2
    err = capsys.readouterr().err
    assert named in err and "does not take" in err and "Traceback" not in err


def test_a_missing_model_config_is_one_paragraph(capsys):
    assert cli.main(["hyperopt", "--dataset", "d.csv"]) == 2
    assert "--config FILE" in capsys.readouterr().err


def test_other_commands_refuse_unknown_options():
    with pytest.raises(SystemExit):
        cli.main(["status", "x", "--keep-going"])


# ---------------------------------------------------------------------------- progress


def write_score(folder: Path, status: str, score: float | None) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    record = {"trial_id": folder.name, "status": status, "metric_score": score}
    (folder / "score.json").write_text(json.dumps(record))


def test_trial_state_ignores_a_score_older_than_the_sampled_values(tmp_path):
    trial = tmp_path / "trial_0000"
    write_score(trial, "ok", 0.5)
    assert trial_state(trial) == ("ok", 0.5)
    sampled = trial / "sampled" / "abc"
    sampled.mkdir(parents=True)
    later = time.time() + 10
    os.utime(sampled, (later, later))
    assert trial_state(trial) is None  # values changed since: the trial trains again
    assert trial_state(tmp_path / "trial_0001") is None


def test_progress_lines_count_from_the_runs_start(tmp_path):
    trials = tmp_path / "trials"
    write_score(trials / "trial_0000", "ok", 0.7)
    write_score(trials / "trial_0001", "ok", 0.9)  # trained again by this run
    record_start(tmp_path, ["trial_0000"], "maximize", "accuracy", total=4)
    write_score(trials / "trial_0001", "failed", None)
    line = record_trial(tmp_path, trials / "trial_0001" / "score.json")
    assert line == ("snaketune: trial_0001 failed | 2/4 done, 1 failed | best 0.7 (trial_0000)")
    write_score(trials / "trial_0002", "ok", 0.8)
    line = record_trial(tmp_path, trials / "trial_0002" / "score.json")
    assert line.endswith("trial_0002 accuracy 0.8 | 3/4 done, 1 failed | best 0.8 (trial_0002)")
    progress, offset = read_progress(progress_path(tmp_path))
    assert (progress.done, progress.failed, progress.best()) == (3, 1, ("trial_0002", 0.8))
    # Read on from the offset: a partial record (being written) waits for its newline.
    with open(progress_path(tmp_path), "a") as handle:
        handle.write('{"event": "trial", "trial_id": "trial_0003", "status": "ok"')
    progress, offset2 = read_progress(progress_path(tmp_path), progress, offset)
    assert offset2 == offset and progress.done == 3


def test_a_runs_start_replaces_the_records_of_earlier_runs(tmp_path):
    trials = tmp_path / "trials"
    record_start(tmp_path, [], "maximize", "accuracy", total=2)
    write_score(trials / "trial_0000", "ok", 0.7)
    record_trial(tmp_path, trials / "trial_0000" / "score.json")
    record_start(tmp_path, ["trial_0000"], "maximize", "accuracy", total=2)
    lines = progress_path(tmp_path).read_text().splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["states"] == {"trial_0000": ["ok", 0.7]}


def test_the_bar_reads_a_replaced_file_from_its_start(tmp_path):
    bar = run_study.ProgressBar(io.StringIO())
    path = progress_path(tmp_path)
    since = time.time()
    record_start(tmp_path, [], "maximize", "accuracy", total=3)
    write_score(tmp_path / "trials" / "trial_0000", "ok", 0.5)
    record_trial(tmp_path, tmp_path / "trials" / "trial_0000" / "score.json")
    bar.refresh(path, since)
    assert (bar.progress.total, bar.progress.done) == (3, 1)
    record_start(tmp_path, [], "maximize", "accuracy", total=5)  # a new run, a new file
    bar.refresh(path, since)
    assert (bar.progress.total, bar.progress.done, bar.bar.n, bar.bar.total) == (5, 0, 0, 5)
    bar.close()


def test_a_minimize_study_ranks_low_scores_first():
    progress = Progress(total=2, goal="minimize")
    progress.apply({"event": "trial", "trial_id": "trial_0000", "status": "ok", "score": 2.0})
    progress.apply({"event": "trial", "trial_id": "trial_0001", "status": "ok", "score": 1.0})
    assert progress.best() == ("trial_0001", 1.0)


def test_a_score_without_a_trial_prints_nothing(tmp_path):
    (tmp_path / "score.json").write_text(json.dumps({"trial_id": None, "status": "unused"}))
    assert record_trial(tmp_path, tmp_path / "score.json") is None


# ------------------------------------------------------------------------------ status


def make_study(tmp_path: Path, trials: int = 4) -> Path:
    study = tmp_path / "exp"
    study.mkdir()
    hyperopt = {"goal": "minimize", "metric": "loss"}
    (study / "study.yaml").write_text(yaml.safe_dump({"num_trials": trials, "hyperopt": hyperopt}))
    return study


def test_status_of_an_interrupted_study(tmp_path, capsys):
    study = make_study(tmp_path)
    write_score(study / "trials" / "trial_0000", "ok", 0.3)
    write_score(study / "trials" / "trial_0001", "timeout", None)
    (study / "trials" / "trial_0002").mkdir(parents=True)
    (study / "trials" / "trial_0002" / "train.log").write_text("")  # killed while training
    # A lock file naming a process that is gone: no run is active.
    (study / ".snaketune.lock").write_text(json.dumps({"pid": 2**22 + 7, "host": "x"}))
    status = read_status(study)
    assert [t.state for t in status.trials] == ["ok", "timeout", "interrupted", "pending"]
    assert status.run is None and status.failed == 1
    assert cli.main(["status", str(study)]) == 0
    out = capsys.readouterr().out
    assert "no run is active" in out
    assert "4 trials: 2 done (1 ok, 1 failed, 0 skipped), 0 running, 1 pending" in out
    assert "1 interrupted" in out and "1. trial_0000  score 0.3" in out


def test_status_names_the_live_run_and_its_running_trials(tmp_path):
    study = make_study(tmp_path)
    record = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "started": time.strftime("%Y-%m-%d %H:%M:%S %z"),
    }
    lock = study / ".snaketune.lock"
    lock.write_text(json.dumps(record))
    before = lock.stat()
    (study / "trials" / "trial_0001").mkdir(parents=True)
    (study / "trials" / "trial_0001" / "train.log").write_text("")
    status = read_status(study)
    assert status.run is not None and str(os.getpid()) in status.run
    assert [t.state for t in status.trials] == ["pending", "running", "pending", "pending"]
    assert "Running: trial_0001" in format_status(status)
    after = lock.stat()  # the lock file was only read
    assert (after.st_mtime_ns, after.st_size) == (before.st_mtime_ns, before.st_size)


def test_status_of_a_folder_that_is_not_a_study(tmp_path, capsys):
    assert cli.main(["status", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "not a snaketune study folder" in err and "Traceback" not in err


def test_status_of_a_run_that_has_not_written_its_study_yet(tmp_path):
    study = tmp_path / "exp"
    study.mkdir()
    record = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "started": time.strftime("%Y-%m-%d %H:%M:%S %z"),
    }
    (study / ".snaketune.lock").write_text(json.dumps(record))
    status = read_status(study)
    assert status.run is not None and status.trials == []
    assert "has not written study.yaml yet" in format_status(status)
