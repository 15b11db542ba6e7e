"""End-to-end: the real snakemake on small files, run from outside the clone."""

from __future__ import annotations

import copy
import hashlib
import json
import re
from pathlib import Path

import joblib
import pandas as pd
import pytest
import yaml

from conftest import make_frame, model_config, run_studies

pytestmark = pytest.mark.e2e


def job_counts(stdout_and_err: str) -> dict[str, int]:
    """Snakemake's 'Job stats' table: rule -> number of jobs it ran."""
    counts = {}
    for line in stdout_and_err.splitlines():
        match = re.fullmatch(r"(\w+)\s+(\d+)", line.strip())
        if match and match.group(1) not in ("total", "count"):
            counts[match.group(1)] = int(match.group(2))
    return counts


def grid_config() -> dict:
    return model_config(
        parameters={
            "combiner.output_size": {"space": "grid_search", "values": [4, 8]},
            "trainer.learning_rate": {"space": "uniform", "lower": 0.005, "upper": 0.05},
        },
        executor={},
    )


def braces_study(factory):
    # Braces in a feature name, the metric's output feature and the data file's name are
    # data, never Snakemake wildcards (issue 8.3).
    config = model_config()
    config["input_features"][1]["name"] = "{training_set}"
    config["output_features"][0]["name"] = "{trial}"
    config["hyperopt"]["output_feature"] = "{trial}"
    study = factory(config, name="braces")
    frame = make_frame().rename(columns={"x": "{training_set}", "label": "{trial}"})
    frame.to_csv(study.root / "d{x}.csv", index=False)
    return study, (), {"dataset": "d{x}.csv"}


def failing_trial_config() -> dict:
    # The title vocabulary has about a dozen words: an SVD to 5000 dimensions cannot fit.
    return model_config(
        parameters={
            "title.encoder.embedding_size": {"space": "grid_search", "values": [2, 5000]},
        },
        executor={},
    )


# The first (or only) snakemake run of each test below, each in a study folder of its
# own: name -> function of a study factory giving (study, targets, options of Study.run).
FIRST_RUNS = {
    "default": lambda factory: (factory(name="default"), (), {}),
    "grid": lambda factory: (factory(grid_config(), name="grid"), (), {}),
    "raising": lambda factory: (
        factory(model_config(executor={"num_samples": 2}), name="raising"),
        (),
        {},
    ),
    "braces": braces_study,
    "bad_config": lambda factory: (
        factory(
            model_config(
                parameters={
                    "trainer.learning_rate": {"space": "uniform", "lower": 0.1, "upper": 0.01}
                }
            ),
            name="bad_config",
        ),
        (),
        {"check": False},
    ),
    "failing": lambda factory: (factory(failing_trial_config(), name="failing"), (), {}),
}


@pytest.fixture(scope="module")
def first_runs(shared_study_factory):
    """The runs of FIRST_RUNS, three at a time: name -> (study, CompletedProcess). A test
    that runs its study again has it to itself (test_two_runs_are_identical adds an
    output directory of its own to the default study)."""
    return run_studies({name: spec(shared_study_factory) for name, spec in FIRST_RUNS.items()})


def test_random_study_layout_and_outputs(first_runs):
    study, result = first_runs["default"]
    for i in range(3):
        trial = study.path("trials", f"trial_{i:04d}")
        for name in (
            "parameters.json",
            "config.yaml",
            "model.joblib",
            "training_statistics.json",
            "score.json",
            "train.log",
        ):
            assert (trial / name).is_file(), f"{trial / name} missing"
        record = json.loads((trial / "parameters.json").read_text())
        config = yaml.safe_load((trial / "config.yaml").read_text())
        params = record["parameters"]
        assert config["trainer"]["learning_rate"] == params["trainer.learning_rate"]
        assert config["combiner"]["output_size"] == params["combiner.output_size"]
        assert "hyperopt" not in config
        score = json.loads((trial / "score.json").read_text())
        assert score["status"] == "ok" and 0 <= score["metric_score"] <= 1

    board = pd.read_csv(study.path("leaderboard.tsv"), sep="\t")
    assert len(board) == 3
    assert list(board["metric_score"]) == sorted(board["metric_score"], reverse=True)
    assert study.path("leaderboard.md").is_file()

    stats = json.loads(study.path("hyperopt_statistics.json").read_text())
    names = set(stats["hyperopt_config"]["parameters"])
    assert len(stats["hyperopt_results"]) == 3
    for entry in stats["hyperopt_results"]:
        assert set(entry["parameters"]) == names
        assert isinstance(entry["metric_score"], float)
        assert {"trial_id", "trial_dir", "status", "training_stats", "eval_stats"} <= set(entry)

    predictor = joblib.load(study.path("best", "model.joblib"))
    raw = make_frame(20, seed=5).drop(columns=["label"])
    predictions = predictor.predict(raw)
    assert len(predictions) == 20 and set(predictions) <= {"a", "b", "c"}

    assert "trial_" in result.stdout + result.stderr  # the top of the leaderboard is printed
    assert yaml.safe_load(study.path("study.yaml").read_text())["num_trials"] == 3


def test_grid_search_expands_values(first_runs):
    study, _ = first_runs["grid"]
    sizes = [
        json.loads(study.path("trials", f"trial_{i:04d}", "parameters.json").read_text())[
            "parameters"
        ]["combiner.output_size"]
        for i in range(2)
    ]
    assert sorted(sizes) == [4, 8]
    assert not study.path("trials", "trial_0002").exists()


def test_two_runs_are_identical(first_runs):
    study, _ = first_runs["default"]  # its first run: into results/
    study.run(output_directory="two")
    for i in range(3):
        trial = f"trial_{i:04d}"
        one = study.path("trials", trial)
        two = study.path("trials", trial, output_directory="two")
        assert (one / "parameters.json").read_bytes() == (two / "parameters.json").read_bytes()
        assert (one / "config.yaml").read_bytes() == (two / "config.yaml").read_bytes()
        score_one = json.loads((one / "score.json").read_text())
        score_two = json.loads((two / "score.json").read_text())
        assert score_one["metric_score"] == score_two["metric_score"]


# What the first run of the "raising" study gives, recorded at commit b293c0f (before the
# job structure of issue 10: one job per trial, sampled values written at parse time):
# every change to how trials run must leave these files bit for bit the same.
RAISING_RESULTS = {
    "trial_0000": ("acc51b0421cd416b", "7116fad2f1fdd3e2", 0.1875),
    "trial_0001": ("57ce6e5606066186", "4e1a2820109bdc22", 0.75),
}


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def test_raising_num_samples_trains_only_new_trials(first_runs):
    config = model_config(executor={"num_samples": 2})
    study, _ = first_runs["raising"]  # its first run: of this config
    for trial, (parameters, statistics, score) in RAISING_RESULTS.items():
        folder = study.path("trials", trial)
        assert _sha(folder / "parameters.json") == parameters
        assert _sha(folder / "training_statistics.json") == statistics
        assert json.loads((folder / "score.json").read_text())["metric_score"] == score
    before = {
        i: study.path("trials", f"trial_{i:04d}", "train_summary.json").stat().st_mtime_ns
        for i in range(2)
    }
    bigger = copy.deepcopy(config)
    bigger["hyperopt"]["executor"]["num_samples"] = 4
    study.write_config(bigger, name="copy.yaml")  # another file: its path must not matter
    result = study.run(model_config="copy.yaml")
    assert job_counts(result.stdout + result.stderr).get("train") == 2
    for i, mtime in before.items():
        assert (
            study.path("trials", f"trial_{i:04d}", "train_summary.json").stat().st_mtime_ns == mtime
        )
    assert len(pd.read_csv(study.path("leaderboard.tsv"), sep="\t")) == 4


def test_rerun_one_trial_matches_with_braces_in_names_and_paths(first_runs):
    # Braces in a feature name, the metric's output feature and the data file's name are
    # data, never Snakemake wildcards (issue 8.3); a study folder with braces is refused.
    study, _ = first_runs["braces"]  # its first run: on d{x}.csv (braces_study)
    original = json.loads(study.path("trials", "trial_0001", "score.json").read_text())
    assert original["status"] == "ok" and original["output_feature"] == "{trial}"
    target = "results/exp/reruns/trial_0001/score.json"
    result = study.run(target, dataset="d{x}.csv")
    counts = job_counts(result.stdout + result.stderr)
    assert counts.get("train") == 1
    rerun = json.loads(study.path("reruns", "trial_0001", "score.json").read_text())
    assert rerun["matches_original"] is True
    assert rerun["metric_score"] == original["metric_score"]
    refused = study.run(check=False, dataset="d{x}.csv", output_directory="res{trial}")
    assert refused.returncode != 0 and "Traceback" not in refused.stderr
    assert "snaketune: output_directory: the study folder 'res{trial}/exp' holds" in refused.stderr
    assert not (study.root / "res{trial}").exists()


def test_bad_config_stops_before_any_job(first_runs):
    study, result = first_runs["bad_config"]  # lower 0.1 > upper 0.01
    assert result.returncode != 0
    assert "hyperopt.parameters.trainer.learning_rate" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (study.root / "results").exists()


def test_failing_trial_is_recorded_and_the_study_completes(first_runs):
    study, result = first_runs["failing"]  # embedding_size 5000 for trial_0001
    failed = json.loads(study.path("trials", "trial_0001", "score.json").read_text())
    assert failed["status"] == "failed" and failed["metric_score"] is None
    assert "embedding_size" in failed["error"]
    board = pd.read_csv(study.path("leaderboard.tsv"), sep="\t")
    assert list(board["status"]) == ["ok", "failed"]
    assert "embedding_size" in board["error"].iloc[1]
    stats = json.loads(study.path("hyperopt_statistics.json").read_text())
    assert [r["trial_id"] for r in stats["hyperopt_results"]] == ["trial_0000"]
    assert [r["trial_id"] for r in stats["failed_trials"]] == ["trial_0001"]
    assert "1 failed" in result.stdout + result.stderr
