"""Runs interrupted or contested: SIGKILL at many points then resume, two runs at once."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from base64 import urlsafe_b64encode
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from conftest import ENV, REPO, model_config
from snaketune.study_status import INTERRUPTED, RUNNING, read_status
from test_faults import numeric_config
from test_workflow import job_counts

pytestmark = pytest.mark.e2e


TRAINER = str(REPO / "tests" / "trainers" / "logistic.py")
ARGS = ["{config}", "{training_set}", "{validation_set}", "{test_set}", "{output}"]


def start(study, *targets: str, **config) -> subprocess.Popen:
    return subprocess.Popen(
        study.command(*targets, **config),
        cwd=study.root,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=ENV,
        start_new_session=True,  # its own process group: the kill takes its jobs too
    )


def unlock(study) -> None:
    subprocess.run(
        study.command("--unlock"), cwd=study.root, capture_output=True, check=True, env=ENV
    )


def remove_snakemake_locks(study) -> None:
    """What `snakemake --unlock` does (Snakemake's file persistence deletes .snakemake/locks),
    without starting Snakemake for it."""
    shutil.rmtree(study.root / ".snakemake" / "locks", ignore_errors=True)


def recorded(study, path: Path) -> bool:
    """Snakemake recorded the job that wrote `path` as finished (file persistence)."""
    key = urlsafe_b64encode(str(path.relative_to(study.root)).encode()).decode()
    folder = study.root / ".snakemake"
    return (folder / "metadata" / key).exists() and not (folder / "incomplete" / key).exists()


def stamps(study, pattern: str) -> dict[Path, int]:
    """Files matching the pattern in the study folder, with their modification times."""
    found = {}
    for path in (study.root / "results" / "exp").glob(pattern):
        try:
            found[path] = path.stat().st_mtime_ns
        except FileNotFoundError:  # renamed away between glob and stat
            continue
    return found


@pytest.fixture(scope="module")
def contested(shared_study_factory):
    """A study of 4 trials run once, with a second run on it started while it runs.

    test_a_second_run_on_the_same_study_fails_fast asserts on both runs; the kill test
    takes the first run's leaderboard as the one an unkilled run gives."""
    study = shared_study_factory(model_config(executor={"num_samples": 4}), name="contested")
    first = start(study)
    locks = study.root / ".snakemake" / "locks"
    deadline = time.monotonic() + 60
    while not (locks.is_dir() and any(locks.iterdir())) and time.monotonic() < deadline:
        time.sleep(0.05)
    # Held still while the second run starts, so that it always meets a run in progress
    # (a fast first run would otherwise end before the second one had parsed).
    os.killpg(first.pid, signal.SIGSTOP)
    try:
        second = study.run(check=False)
        status = read_status(study.path())  # `snaketune status` of a run in progress
    finally:
        os.killpg(first.pid, signal.SIGCONT)
    output = first.communicate(timeout=300)[0]
    return SimpleNamespace(
        study=study, second=second, returncode=first.returncode, output=output, status=status
    )


# Kill points in the order the pipeline reaches them: (name, kind, value). A run is killed
# (its whole process group, jobs included) at a time after its start, or when a file of the
# pattern is written.
KILL_POINTS = [
    ("parsing", "time", None),  # the time is drawn per test run
    ("sampling", "write", "trials/*/sampled/*/config.yaml"),
    ("preparing", "write", "prepared/*/metadata.json"),
    ("training 1", "write", "trials/*/train.log"),
    ("trained 1", "write", "trials/*/train_summary.json"),
    ("scored 1", "write", "trials/*/score.json"),
    ("training 2", "write", "trials/*/train.log"),
    ("scored 2", "write", "trials/*/score.json"),
    ("scored 3", "write", "trials/*/score.json"),
    ("aggregating", "write", "logs/leaderboard.log"),
    ("leaderboard", "write", "leaderboard.tsv"),
    ("statistics", "write", "hyperopt_statistics.json"),
]


def test_sigkill_at_many_points_then_resume_gives_the_same_leaderboard(study_factory, contested):
    config = model_config(executor={"num_samples": 4})
    study = study_factory(config, name="killed")
    rng = random.Random(7)
    # One run per kill point, each resuming what the runs before it left; a run whose
    # point does not come is killed after 30 s at the latest ("30 s") or ends by itself
    # ("ended"): either fails the test below.
    hits, planned, statuses = [], [], []
    for point, kind, value in KILL_POINTS:
        if kind == "time":
            value = 0.3 + rng.random()
        # A trial is finished once its train job (which scores it too) was recorded by
        # Snakemake; one killed between writing score.json and that record is redone.
        finished = {path for path in stamps(study, "trials/*/score.json") if recorded(study, path)}
        remove_snakemake_locks(study)  # the kill left them (the last resume unlocks by CLI)
        process = start(study)
        before = stamps(study, value) if kind == "write" else {}
        started = time.monotonic()
        hit = f"{point}: ended"
        while process.poll() is None:
            elapsed = time.monotonic() - started
            if kind == "time":
                due = elapsed > value
            else:
                now = stamps(study, value)
                due = any(before.get(path) != stamp for path, stamp in now.items())
            if due or elapsed > 30:
                os.killpg(process.pid, signal.SIGKILL)
                hit = point if due else f"{point}: 30 s"
                break
            time.sleep(0.01)
        output = process.communicate()[0]
        statuses.append(read_status(study.path()) if study.path("study.yaml").exists() else None)
        hits.append(hit)
        planned.append((4 - len(finished), job_counts(output).get("train", 0)))
    print(f"{len(hits)} kill points: {hits}")  # shown with pytest -s
    assert hits == [point for point, _, _ in KILL_POINTS], "a kill point was not hit"
    for unfinished, trains in planned:
        assert trains <= unfinished  # a resumed run never retrains a finished trial
    # `snaketune status` after each kill: no run is active, nothing is running, and the
    # trial killed while it trained is interrupted (the next run trains it).
    for status in filter(None, statuses):
        assert status.run is None and status.count(RUNNING) == 0
        assert len(status.trials) == 4
    by_point = dict(zip(hits, statuses, strict=True))
    assert by_point["training 1"].count(INTERRUPTED) >= 1
    assert by_point["scored 1"].count("ok") >= 1  # the score written as the run was killed
    unlock(study)
    study.run()
    assert contested.returncode == 0, contested.output  # the unkilled reference run
    got = pd.read_csv(study.path("leaderboard.tsv"), sep="\t")
    want = pd.read_csv(contested.study.path("leaderboard.tsv"), sep="\t")
    pd.testing.assert_frame_equal(
        got.drop(columns=["duration_s"]), want.drop(columns=["duration_s"])
    )
    assert len(got) == 4 and (got["status"] == "ok").all()  # no trial lost


def test_a_second_run_on_the_same_study_fails_fast(contested):
    second = contested.second
    assert second.returncode != 0
    # The study folder's own lock refuses it at parse time, before Snakemake's.
    assert "is in use by another snaketune run" in second.stdout + second.stderr
    # `snaketune status` meanwhile names the live run, without taking its lock.
    assert contested.status.run is not None and "pid" in contested.status.run
    assert contested.returncode == 0, contested.output
    assert len(pd.read_csv(contested.study.path("leaderboard.tsv"), sep="\t")) == 4


GATE = """
import os, sys, time
gate, deadline = sys.argv[1], time.monotonic() + 120
while not os.path.exists(gate) and time.monotonic() < deadline:
    time.sleep(0.05)
os.execv(sys.executable, [sys.executable, *sys.argv[2:]])
"""


def test_two_working_directories_cannot_run_one_study_folder_at_once(study_factory, tmp_path):
    # Regression (hardening 9): Snakemake's lock is per working directory, so two runs
    # from two folders into one absolute output_directory mixed their files.
    first = study_factory(numeric_config(), name="first")
    second = study_factory(numeric_config(), name="second")
    gate = tmp_path / "gate"  # the trainer waits until it exists
    (tmp_path / "gate.py").write_text(GATE)
    program = [sys.executable, str(tmp_path / "gate.py"), str(gate), TRAINER, *ARGS]
    shared = tmp_path / "shared"
    options = {
        "configfile": {"engine": "command", "command": program},
        "output_directory": str(shared),
    }
    lock = shared / "exp" / ".snaketune.lock"

    def wait_for_holder(process) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            try:
                if json.loads(lock.read_text())["pid"] == process.pid:
                    return
            except (OSError, ValueError, KeyError):
                pass
            time.sleep(0.02)
        raise AssertionError(f"{process.pid} never took {lock}")

    running = start(first, **options)
    wait_for_holder(running)
    began = time.monotonic()
    blocked = second.run(check=False, **options)
    took = time.monotonic() - began
    output = blocked.stdout + blocked.stderr
    assert blocked.returncode != 0 and took < 60
    assert f"study folder {shared / 'exp'} is in use by another snaketune run" in output
    assert f"(pid {running.pid} on host " in output
    assert f"working directory {first.root}" in output
    assert "clears itself when that run ends" in output
    assert "Job stats" not in output  # it stopped at parse time
    dry = second.run("-n", **options)  # a dry run only reads: it does not fail
    assert "this dry run only reads it" in dry.stderr
    gate.write_text("open")
    assert running.wait(timeout=300) == 0, running.communicate()[0]
    board = pd.read_csv(shared / "exp" / "leaderboard.tsv", sep="\t")
    assert len(board) == 2 and (board["status"] == "ok").all()

    gate.unlink()
    killed = start(first, "--forcerun", "train", **options)
    wait_for_holder(killed)
    os.killpg(killed.pid, signal.SIGKILL)  # its jobs too
    killed.wait()
    gate.write_text("open")
    after = second.run(**options)  # no --unlock, no file removed by hand
    assert "in use" not in after.stdout + after.stderr
    assert json.loads(lock.read_text())["cwd"] == str(second.root)
    board = pd.read_csv(shared / "exp" / "leaderboard.tsv", sep="\t")
    assert len(board) == 2 and (board["status"] == "ok").all()
