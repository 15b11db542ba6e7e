"""Nothing lost, nothing wrong: changed inputs, failing trials, limits, full disks, lost files.

Runs killed or run twice at once are in test_interrupted_runs.py."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pytest

from conftest import ENV, REPO, model_config, run_studies, run_together
from test_workflow import job_counts

pytestmark = pytest.mark.e2e
TRAINER = str(REPO / "tests" / "trainers" / "logistic.py")
ARGS = ["{config}", "{training_set}", "{validation_set}", "{test_set}", "{output}"]


def numeric_config(**hyperopt) -> dict:
    config = model_config(
        parameters={"trainer.learning_rate": {"space": "grid_search", "values": [0.1, 1.0]}},
        executor={},
        **hyperopt,
    )
    config["input_features"] = [{"name": "x", "type": "number"}]
    return config


def failing_trials_config() -> dict:
    base = model_config()
    long_text = dict(base["input_features"][0], encoder={"embedding_size": 5000})
    return model_config(
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


def retry_options(study) -> dict:
    """The trainer kills its train job once; it counts its starts in attempts.txt."""
    command = [sys.executable, TRAINER, *ARGS, "--kill-parent-once", str(study.root / "killed")]
    command += ["--attempts", str(study.root / "attempts.txt")]
    return {"configfile": {"engine": "command", "command": command}, "retries": 1}


# The first (or only) snakemake run of the tests below: name -> (model config, the run's
# targets, its options or a function of the study giving them). Each is a study folder
# of its own; none times anything but its own trials' training.
FIRST_RUNS = {
    "changed": (model_config(), (), {}),
    "failing": (failing_trials_config(), (), {"trial_timeout_s": 4}),
    "memory": (model_config(executor={"num_samples": 1}), (), {"trial_memory_mb": 1}),
    "nan": (
        numeric_config(),
        (),
        {"configfile": {"engine": "command", "command": [sys.executable, TRAINER, *ARGS, "--nan"]}},
    ),
    "retried": (numeric_config(), (), retry_options),
    "max_failed": (
        model_config(
            parameters={"title.encoder.embedding_size": {"space": "grid_search", "values": [5000]}},
            executor={"num_samples": 4},
        ),
        ("--cores", "1"),
        {"max_failed_trials": 1, "report": "pdf"},  # the report of failed and skipped trials
    ),
    "budget": (model_config(executor={"num_samples": 3, "time_budget_s": 1}), (), {}),
    "deleted_model": (model_config(executor={"num_samples": 2}), (), {}),
}


@pytest.fixture(scope="module")
def first_runs(shared_study_factory):
    """The runs of FIRST_RUNS, three at a time: name -> (study, CompletedProcess). A test
    that runs its study again has it to itself."""
    runs = {}
    for name, (config, targets, options) in FIRST_RUNS.items():
        study = shared_study_factory(config, name=name)
        runs[name] = (study, targets, options(study) if callable(options) else options)
    return run_studies(runs)


@pytest.fixture(scope="module")
def sequences(first_runs, shared_study_factory, tmp_path_factory):
    """Three tests that run their studies several times, checking between runs, do so in
    two threads side by side (each in study folders of its own): name -> Future. A test
    takes its future's result, which raises what the checks of its sequence raised."""
    pool = ThreadPoolExecutor(max_workers=2)
    futures = {
        "changed": pool.submit(lambda: changed_inputs_sequence(first_runs["changed"][0])),
        "deleted_model": pool.submit(
            lambda: deleted_model_sequence(first_runs["deleted_model"][0])
        ),
        "full_disk": pool.submit(
            full_disk_sequence, shared_study_factory, tmp_path_factory.mktemp("full_disk")
        ),
    }
    yield futures
    pool.shutdown(wait=True)


def test_changed_inputs_are_never_reused_and_more_samples_reuse_all(sequences):
    sequences["changed"].result()  # raises what changed_inputs_sequence's checks raised


def changed_inputs_sequence(study) -> None:
    config = model_config()  # the study's first run (first_runs) was of this config

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


def test_failing_trials_are_results_with_their_reason(first_runs):
    study, result = first_runs["failing"]  # run with trial_timeout_s=4
    board = pd.read_csv(study.path("leaderboard.tsv"), sep="\t").set_index("trial_id")
    assert board.loc["trial_0000", "status"] == "ok"
    assert "exceeded the time limit" in board.loc["trial_0001", "error"]
    assert "embedding_size" in board.loc["trial_0002", "error"]
    assert "2 failed" in result.stdout + result.stderr


def test_memory_limit_fails_the_trial_with_the_reason(first_runs):
    study, _ = first_runs["memory"]  # run with trial_memory_mb=1
    score = json.loads(study.path("trials", "trial_0000", "score.json").read_text())
    assert score["status"] == "failed" and "exceeded the memory limit" in score["error"]


def test_nan_metrics_fail_the_trial(first_runs):
    study, _ = first_runs["nan"]  # the trainer's curves are all NaN
    score = json.loads(study.path("trials", "trial_0000", "score.json").read_text())
    assert score["status"] == "failed" and "nan" in score["error"].lower()


def test_a_job_killed_from_outside_is_retried(first_runs):
    study, result = first_runs["retried"]  # run with retries=1
    board = pd.read_csv(study.path("leaderboard.tsv"), sep="\t")
    assert (board["status"] == "ok").all() and (study.root / "killed").exists()
    # One trial's train job was killed once and started again, the other ran once.
    starts = Counter((study.root / "attempts.txt").read_text().split())
    assert set(starts) == {"trial_0000", "trial_0001"}
    assert sorted(starts.values()) == [1, 2], starts  # 3 starts: no more, no fewer
    assert (result.stdout + result.stderr).count("Trying to restart job") == 1


def test_max_failed_trials_stops_the_study_early(first_runs):
    study, result = first_runs["max_failed"]  # run with --cores 1, max_failed_trials=1
    board = pd.read_csv(study.path("leaderboard.tsv"), sep="\t")
    assert (board["status"] == "skipped").sum() >= 2
    assert "max_failed_trials (1) reached" in result.stdout + result.stderr
    # The report of a study without a finished trial (report: pdf): each parameter's
    # plot says so, report.html lists every trial with its error.
    report = study.path("report")
    assert (report / "hyperopt_title.encoder.embedding_size.pdf").read_bytes()[:4] == b"%PDF"
    assert not (report / "optimization_history.pdf").exists()  # no score to draw
    html = (report / "report.html").read_text()
    for row in board.itertuples():
        assert row.trial_id in html
    assert "skipped" in html and "failed" in html


def test_time_budget_skips_trials_and_a_later_run_trains_them(first_runs):
    study, result = first_runs["budget"]  # time_budget_s: 1
    board = pd.read_csv(study.path("leaderboard.tsv"), sep="\t")
    skipped = set(board.loc[board["status"] == "skipped", "trial_id"])
    assert skipped and "Skipped" in result.stdout + result.stderr
    study.write_config(model_config(executor={"num_samples": 3}))
    result = study.run()
    board = pd.read_csv(study.path("leaderboard.tsv"), sep="\t")
    assert (board["status"] == "ok").all()
    assert job_counts(result.stdout + result.stderr)["train"] == len(skipped)


FULL_DISK_ONCE = """
import errno, os
_replace = os.replace
def replace(src, dst, *args, **kwargs):
    marker = os.environ.get("SNAKETUNE_TEST_FULL_DISK")
    if (
        marker
        and os.fspath(dst).endswith("trial_0001/training_statistics.json")
        and not os.path.exists(marker)
    ):
        open(marker, "w").close()
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), os.fspath(dst))
    return _replace(src, dst, *args, **kwargs)
os.replace = replace
"""


def test_a_full_disk_fails_the_job_and_a_later_run_trains_the_trial(sequences):
    sequences["full_disk"].result()  # raises what full_disk_sequence's checks raised


def full_disk_sequence(study_factory, tmp_path: Path) -> None:
    # Regression (hardening 8): ENOSPC was recorded as the trial's permanent failure.
    hook = tmp_path / "hook"  # every Python process of the run imports it at start
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(FULL_DISK_ONCE)

    def run(study, marker: Path, **config) -> subprocess.CompletedProcess:
        env = dict(
            ENV,
            PYTHONPATH=f"{hook}{os.pathsep}{ENV['PYTHONPATH']}",
            SNAKETUNE_TEST_FULL_DISK=str(marker),
        )
        return study.run(check=False, env=env, **config)

    study = study_factory(model_config(executor={"num_samples": 2}))
    retried = study_factory(model_config(executor={"num_samples": 2}), name="retried")
    marker = tmp_path / "disk-was-full"
    marker_once = tmp_path / "disk-was-full-once"
    result, retried_result = run_together(  # two studies: their first runs side by side
        lambda: run(study, marker, retries=0),
        lambda: run(retried, marker_once, retries=1),  # Snakemake starts the job again
    )
    trial = study.path("trials", "trial_0001")
    assert marker.exists() and result.returncode != 0, result.stderr
    assert not (trial / "train_summary.json").exists()
    assert not (trial / "model.joblib").exists()  # the partial result is gone
    log = (trial / "train.log").read_text()
    assert "No space left on device" in log and "is an error of the machine" in log
    result = run(study, marker, retries=0)  # the space is free again
    assert result.returncode == 0, result.stderr
    board = pd.read_csv(study.path("leaderboard.tsv"), sep="\t")
    assert len(board) == 2 and (board["status"] == "ok").all()

    assert marker_once.exists() and retried_result.returncode == 0, retried_result.stderr
    board = pd.read_csv(retried.path("leaderboard.tsv"), sep="\t")
    assert len(board) == 2 and (board["status"] == "ok").all()


def test_a_deleted_model_is_retrained_or_named_with_the_command(sequences):
    sequences["deleted_model"].result()  # raises what deleted_model_sequence's checks raised


def deleted_model_sequence(study) -> None:
    # Regression (hardening 18): the rerun said "Nothing to be done", and a best/ rebuilt
    # without its model printed "Best model (…)". The study's first run (first_runs): 2 trials.
    best = pd.read_csv(study.path("leaderboard.tsv"), sep="\t").iloc[0]["trial_id"]
    study.path("trials", best, "model.joblib").unlink()
    result = study.run()  # the next run trains it again, through its unskip flag
    output = result.stdout + result.stderr
    assert f"{best} (model.joblib)" in output and f"This run trains {best} again." in output
    assert job_counts(output)["train"] == 1
    assert study.path("best", "model.joblib").is_file() and f"Best model ({best})" in output
    # Now it has a flag, which parse time cannot renew: the note names the command.
    study.path("trials", best, "model.joblib").unlink()
    result = study.run()
    output = result.stdout + result.stderr
    assert f"{best} (model.joblib)" in output
    forcerun = re.search(r"--forcerun (\S+) --config", output).group(1)
    assert forcerun == f"results/exp/trials/{best}/train_summary.json"
    rebuilt = study.run("--forcerun", "leaderboard")
    output = rebuilt.stdout + rebuilt.stderr
    assert "Best model (" not in output
    assert f"Best trial ({best}): " in output and "has no model" in output
    retrained = study.run("--forcerun", forcerun)  # the command the notice names
    output = retrained.stdout + retrained.stderr
    assert job_counts(output)["train"] == 1
    assert study.path("best", "model.joblib").is_file() and f"Best model ({best})" in output
    notes = [line for line in study.run().stderr.splitlines() if "snaketune: note:" in line]
    assert not [line for line in notes if "lack files" in line]
