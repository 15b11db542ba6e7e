"""Nothing lost, nothing wrong: kills, changed inputs, failing trials, limits, two runs at once."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from conftest import ENV, REPO, model_config
from test_workflow import job_counts

pytestmark = pytest.mark.e2e
TRAINER = str(REPO / "tests" / "trainers" / "logistic.py")
ARGS = ["{config}", "{training_set}", "{validation_set}", "{test_set}", "{output}"]


def start(study) -> subprocess.Popen:
    return subprocess.Popen(
        study.command(),
        cwd=study.root,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=ENV,
        start_new_session=True,  # its own process group: the kill takes its jobs too
    )


def unlock(study) -> None:
    subprocess.run(study.command("--unlock"), cwd=study.root, capture_output=True, check=True)


def stamps(study, pattern: str) -> dict[Path, int]:
    """Files matching the pattern in the study folder, with their modification times."""
    found = {}
    for path in (study.root / "results" / "exp").glob(pattern):
        try:
            found[path] = path.stat().st_mtime_ns
        except FileNotFoundError:  # renamed away between glob and stat
            continue
    return found


def test_sigkill_at_many_points_then_resume_gives_the_same_leaderboard(study_factory):
    config = model_config(executor={"num_samples": 4})
    reference = study_factory(config, name="reference")
    reference.run()
    study = study_factory(config, name="killed")
    rng = random.Random(7)
    # Each run is killed (its whole process group, jobs included) when a file of the
    # pattern is written, or at a time, in the order the pipeline reaches them; a run
    # whose event does not come is killed after 30 s at the latest.
    triggers = [
        ("time", 0.3 + rng.random()),  # parsing
        ("write", "trials/*/sampled/*/config.yaml"),  # sampling
        ("write", "prepared/*/metadata.json"),  # preparing
        ("write", "trials/*/train.log"),  # training
        ("write", "trials/*/train_summary.json"),
        ("write", "trials/*/score.json"),  # scoring
        ("write", "trials/*/train.log"),
        ("write", "trials/*/score.json"),
        ("write", "trials/*/score.json"),
        ("write", "logs/leaderboard.log"),  # aggregating
        ("write", "leaderboard.tsv"),
        ("write", "hyperopt_statistics.json"),
    ]
    kills, planned = [], []
    for kind, value in triggers:
        # A trial is finished once scored: its train job completed and was recorded.
        # (One killed between writing its summary and Snakemake's record is redone.)
        finished = set(stamps(study, "trials/*/score.json"))
        unlock(study)
        process = start(study)
        before = stamps(study, value) if kind == "write" else {}
        started = time.monotonic()
        while process.poll() is None:
            elapsed = time.monotonic() - started
            if kind == "time":
                due = elapsed > value
            else:
                now = stamps(study, value)
                due = any(before.get(path) != stamp for path, stamp in now.items())
            if due or elapsed > 30:
                os.killpg(process.pid, signal.SIGKILL)
                kills.append(value if due else "30 s")
                break
            time.sleep(0.01)
        output = process.communicate()[0]
        planned.append((4 - len(finished), job_counts(output).get("train", 0)))
    print(f"{len(kills)} kill points: {kills}")  # shown with pytest -s
    assert len(kills) >= 10, f"only {len(kills)} kill points were reached: {kills}"
    for unfinished, trains in planned:
        assert trains <= unfinished  # a resumed run never retrains a finished trial
    unlock(study)
    study.run()
    got = pd.read_csv(study.path("leaderboard.tsv"), sep="\t")
    want = pd.read_csv(reference.path("leaderboard.tsv"), sep="\t")
    pd.testing.assert_frame_equal(
        got.drop(columns=["duration_s"]), want.drop(columns=["duration_s"])
    )
    assert len(got) == 4 and (got["status"] == "ok").all()  # no trial lost


def test_changed_inputs_are_never_reused_and_more_samples_reuse_all(study_factory):
    config = model_config()
    study = study_factory(config)
    study.run()

    def trains(result) -> int:
        return job_counts(result.stdout + result.stderr).get("train", 0)

    changed = model_config(
        parameters={
            "trainer.learning_rate": {"space": "loguniform", "lower": 0.002, "upper": 0.03},
            "combiner.output_size": {"space": "choice", "categories": [4, 8]},
        }
    )
    study.write_config(changed)
    result = study.run()
    assert trains(result) == 3
    assert "holds results of a different study" in result.stderr
    # Without Snakemake's own records of earlier runs, a changed trial is still retrained.
    subprocess.run(["rm", "-rf", str(study.root / ".snakemake")], check=True)
    study.write_config(config)
    assert trains(study.run()) == 3
    frame = pd.read_csv(study.root / "data.csv")
    frame.loc[0, "x"] = 123.0
    frame.to_csv(study.root / "data.csv", index=False)
    result = study.run()
    assert trains(result) == 3 and job_counts(result.stdout + result.stderr)["prepare"] == 1
    assert trains(study.run(random_seed=7)) == 3
    more = model_config(executor={"num_samples": 4})
    study.write_config(more)
    assert trains(study.run(random_seed=7)) == 1
    assert trains(study.run(random_seed=7)) == 0


def test_failing_trials_are_results_with_their_reason(study_factory):
    base = model_config()
    long_text = dict(base["input_features"][0], encoder={"embedding_size": 5000})
    config = model_config(
        parameters={
            ".": {
                "space": "grid_search",
                "values": [
                    {},
                    {"trainer": {"epochs": 100000, "early_stop": -1}},
                    {"input_features": [long_text, *base["input_features"][1:]]},
                ],
            }
        },
        executor={},
    )
    study = study_factory(config)
    result = study.run(trial_timeout_s=4)
    board = pd.read_csv(study.path("leaderboard.tsv"), sep="\t").set_index("trial_id")
    assert board.loc["trial_0000", "status"] == "ok"
    assert "exceeded the time limit" in board.loc["trial_0001", "error"]
    assert "embedding_size" in board.loc["trial_0002", "error"]
    assert "2 failed" in result.stdout + result.stderr


def test_memory_limit_fails_the_trial_with_the_reason(study_factory):
    study = study_factory(model_config(executor={"num_samples": 1}))
    study.run(trial_memory_mb=1)
    score = json.loads(study.path("trials", "trial_0000", "score.json").read_text())
    assert score["status"] == "failed" and "exceeded the memory limit" in score["error"]


def numeric_config(**hyperopt) -> dict:
    config = model_config(
        parameters={"trainer.learning_rate": {"space": "grid_search", "values": [0.1, 1.0]}},
        executor={},
        **hyperopt,
    )
    config["input_features"] = [{"name": "x", "type": "number"}]
    return config


def test_nan_metrics_fail_the_trial(study_factory):
    study = study_factory(numeric_config())
    study.run(
        configfile={"engine": "command", "command": [sys.executable, TRAINER, *ARGS, "--nan"]}
    )
    score = json.loads(study.path("trials", "trial_0000", "score.json").read_text())
    assert score["status"] == "failed" and "nan" in score["error"].lower()


def test_a_job_killed_from_outside_is_retried(study_factory):
    study = study_factory(numeric_config())
    marker = str(study.root / "killed-once")
    command = [sys.executable, TRAINER, *ARGS, "--kill-parent-once", marker]
    study.run(configfile={"engine": "command", "command": command}, retries=1)
    board = pd.read_csv(study.path("leaderboard.tsv"), sep="\t")
    assert (board["status"] == "ok").all() and Path(marker).exists()


def test_max_failed_trials_stops_the_study_early(study_factory):
    config = model_config(
        parameters={"title.encoder.embedding_size": {"space": "grid_search", "values": [5000]}},
        executor={"num_samples": 4},
    )
    study = study_factory(config)
    result = study.run("--cores", "1", max_failed_trials=1)
    board = pd.read_csv(study.path("leaderboard.tsv"), sep="\t")
    assert (board["status"] == "skipped").sum() >= 2
    assert "max_failed_trials (1) reached" in result.stdout + result.stderr


def test_time_budget_skips_trials_and_a_later_run_trains_them(study_factory):
    config = model_config(executor={"num_samples": 3, "time_budget_s": 1})
    study = study_factory(config)
    result = study.run()
    board = pd.read_csv(study.path("leaderboard.tsv"), sep="\t")
    skipped = set(board.loc[board["status"] == "skipped", "trial_id"])
    assert skipped and "Skipped" in result.stdout + result.stderr
    study.write_config(model_config(executor={"num_samples": 3}))
    result = study.run()
    board = pd.read_csv(study.path("leaderboard.tsv"), sep="\t")
    assert (board["status"] == "ok").all()
    assert job_counts(result.stdout + result.stderr)["train"] == len(skipped)


def test_a_second_run_on_the_same_study_fails_fast(study_factory):
    study = study_factory(model_config(executor={"num_samples": 4}))
    first = start(study)
    locks = study.root / ".snakemake" / "locks"
    deadline = time.monotonic() + 60
    while not (locks.is_dir() and any(locks.iterdir())) and time.monotonic() < deadline:
        time.sleep(0.05)
    second = study.run(check=False)
    assert second.returncode != 0
    assert "cannot be locked" in second.stdout + second.stderr
    assert first.wait(timeout=300) == 0
    assert len(pd.read_csv(study.path("leaderboard.tsv"), sep="\t")) == 4
