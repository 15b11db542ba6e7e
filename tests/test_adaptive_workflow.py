"""An adaptive study with rungs end to end: determinism under --cores, kill and resume.

One study of 12 trials: TPE in rounds of 4 (round 0 is a known point and the
quasi-random start), then async hyperband rungs of 1, 3 and 9 epochs (eta 3), trained
by a program that computes a known function of the values and the epochs (engine
command, a process start per trial). One trial of round 1 fails, and so does the best
trial of rung 0 when rung 1 trains it. The study runs twice: with --cores 2 in one go,
and with --cores 1 killed in the middle of round 1 and then resumed. Both give the
same leaderboard.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import yaml

from conftest import ENV, REPO, Study, model_config, run_together
from test_interrupted_runs import remove_snakemake_locks
from test_workflow import job_counts

pytestmark = pytest.mark.e2e

OBJECTIVE = str(REPO / "tests" / "trainers" / "objective.py")
FAILING = "trial_0005"
FAILING_SLOT = "r1/slot_0"
POINT = {"trainer.learning_rate": 0.01, "combiner.output_size": 8}
COMMAND = {
    "engine": "command",
    "command": [
        *(sys.executable, OBJECTIVE, "{config}", "{output}"),
        *("--fail-trial", FAILING, "--fail-slot", FAILING_SLOT),
        *("--resume", "{resume}"),
    ],
}


def tpe_config(num_samples: int = 12) -> dict:
    config = model_config(
        goal="minimize",
        metric="loss",
        output_feature="label",
        parameters={
            "trainer.learning_rate": {"space": "loguniform", "lower": 1e-4, "upper": 1.0},
            "combiner.output_size": {"space": "choice", "categories": [2, 4, 8, 16, 32]},
            "combiner.num_fc_layers": {"space": "randint", "lower": 1, "upper": 4},
        },
        search_alg={
            "type": "optuna",
            "n_startup_trials": 4,
            "batch_size": 4,
            "points_to_evaluate": [POINT],
        },
        executor={
            "num_samples": num_samples,
            "scheduler": {"type": "async_hyperband", "max_t": 9, "reduction_factor": 3},
        },
    )
    config["trainer"]["epochs"] = 9
    return config


def run_killed_in_round_one(study: Study) -> subprocess.CompletedProcess:
    """--cores 1, killed (SIGKILL, its whole process group) once the first trial of
    round 1 is scored and before the round is done; then run again to the end."""
    process = subprocess.Popen(
        study.command("--cores", "1", configfile=COMMAND),
        cwd=study.root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=ENV,
        start_new_session=True,
    )
    round_one = [study.path("trials", f"trial_{i:04d}", "score.json") for i in range(4, 8)]
    deadline = time.monotonic() + 300
    while not any(path.exists() for path in round_one):
        assert process.poll() is None and time.monotonic() < deadline, "ended before the kill"
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    remove_snakemake_locks(study)
    assert not all(path.exists() for path in round_one), "round 1 was done"
    return study.run("--cores", "1", configfile=COMMAND)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    whole = Study(tmp_path_factory.mktemp("tpe_cores2"), tpe_config())
    resumed = Study(tmp_path_factory.mktemp("tpe_cores1_killed"), tpe_config())
    run_together(
        lambda: whole.run("--cores", "2", configfile=COMMAND),
        lambda: run_killed_in_round_one(resumed),
    )
    return whole, resumed


def leaderboard(study: Study) -> list[list[str]]:
    """The leaderboard without its duration column (the only one that may differ)."""
    lines = study.path("leaderboard.tsv").read_text().splitlines()
    header = lines[0].split("\t")
    keep = [i for i, name in enumerate(header) if name != "duration_s"]
    return [[row.split("\t")[i] for i in keep] for row in lines]


def records(study: Study) -> dict[str, dict]:
    folder = study.path("trials")
    return {
        path.parent.name: json.loads(path.read_text())
        for path in sorted(folder.glob("trial_*/parameters.json"))
    }


def test_same_leaderboard_with_cores_2_and_killed_cores_1(runs):
    whole, resumed = runs
    assert leaderboard(whole) == leaderboard(resumed)
    assert len(leaderboard(whole)) == 13  # header and 12 trials


def test_rounds_values_and_failure(runs):
    whole, _ = runs
    found = records(whole)
    assert [found[t]["round"] for t in sorted(found)] == [0] * 4 + [1] * 4 + [2] * 4
    # the known point comes first, filled from the quasi-random start
    assert {k: found["trial_0000"]["parameters"][k] for k in POINT} == POINT
    # no parameter set is trained twice
    values = [json.dumps(r["parameters"], sort_keys=True) for r in found.values()]
    assert len(set(values)) == 12
    # round 0 is written at parse time (hex folder), later rounds by their jobs ("s...")
    for tid, record in found.items():
        (sampled,) = whole.path("trials", tid, "sampled").iterdir()
        assert sampled.name.startswith("s") == (record["round"] > 0), tid
    # round r learns from every trial before it and nothing else; the failed trial
    # of round 1 is told as failed, and the search goes on
    histories = {
        r: json.loads(whole.path("rounds", f"history_{r:04d}.json").read_text()) for r in (1, 2)
    }
    assert [entry["index"] for entry in histories[1]] == [0, 1, 2, 3]
    assert [entry["index"] for entry in histories[2]] == list(range(8))
    assert histories[2][5]["trial_id"] == FAILING and histories[2][5]["value"] is None
    rows = {row[1]: row for row in leaderboard(whole)[1:]}
    header = leaderboard(whole)[0]
    assert rows[FAILING][header.index("status")] == "failed"
    assert [rows[t][header.index("round")] for t in ("trial_0003", "trial_0004", "trial_0011")] == [
        "0",
        "1",
        "2",
    ]
    statistics = json.loads(whole.path("hyperopt_statistics.json").read_text())
    assert statistics["hyperopt_config"]["search_alg"]["sampler"] == "tpe"


def test_more_samples_append_a_round_and_keep_the_rest(runs):
    whole, _ = runs
    whole.write_config(tpe_config(num_samples=14))
    result = whole.run("-n", configfile=COMMAND)
    counts = job_counts(result.stdout + result.stderr)
    # the new trials' round and rung 0; the rungs above choose again among 14 trials
    assert counts.get("train") == 2 and counts.get("suggest") == 1, counts
    assert counts.get("promote") == 2, counts
    whole.write_config(tpe_config())
    result = whole.run("-n", configfile=COMMAND)
    assert "Nothing to be done" in result.stdout + result.stderr


def scores_of(paths) -> list[tuple[str, float | None]]:
    found = []
    for path in paths:
        score = json.loads(path.read_text())
        found.append((score["trial_id"], score["metric_score"]))
    return found


def test_rungs_promote_the_best_third(runs):
    whole, _ = runs
    rung0 = scores_of(sorted(whole.path("trials").glob("trial_*/score.json")))
    ranked = sorted((v, tid) for tid, v in rung0 if v is not None)
    rung1 = json.loads(whole.path("rungs", "b0", "rung_1.json").read_text())
    assert [s["record"]["trial_id"] for s in rung1["slots"]] == [t for _, t in ranked[:4]]
    assert rung1["budget"] == 3
    slot = whole.path("rungs", "b0", "r1", "slot_1")
    config = yaml.safe_load((slot / "config.yaml").read_text())
    assert config["trainer"]["epochs"] == 3 and config["trainer"]["early_stop"] == -1
    assert (
        json.loads((slot / "parameters.json").read_text())["trial_seed"]
        == json.loads(whole.path("trials", ranked[1][1], "parameters.json").read_text())[
            "trial_seed"
        ]
    )
    # the best of rung 0 fails in rung 1 (its slot): rung 2 takes the best of the rest
    rung1_scores = scores_of(
        whole.path("rungs", "b0", "r1", f"slot_{j}", "score.json") for j in range(4)
    )
    assert rung1_scores[0][1] is None
    best = min((v, tid) for tid, v in rung1_scores if v is not None)[1]
    rung2 = json.loads(whole.path("rungs", "b0", "rung_2.json").read_text())
    assert [s["record"]["trial_id"] for s in rung2["slots"]] == [best]
    # the leaderboard has each trial at its last rung
    header, *rows = leaderboard(whole)
    at = {row[1]: dict(zip(header, row, strict=True)) for row in rows}
    assert (at[best]["rung"], at[best]["budget"], at[best]["rank"]) == ("2", "9", "1")
    assert (at[ranked[0][1]]["status"], at[ranked[0][1]]["rung"]) == ("failed", "1")
    assert {at[t]["budget"] for _, t in ranked[4:]} == {"1"}
    # each rung is handed the trial's folder of the rung before ({resume}), rung 0 none
    for j, (tid, _) in enumerate(rung1_scores[1:], start=1):
        output = whole.path("rungs", "b0", "r1", f"slot_{j}", "output")
        previous = whole.path("trials", tid, "output").resolve()
        assert (output / "resumed_from.txt").read_text() == str(previous), tid
    assert not whole.path("trials", best, "output", "resumed_from.txt").exists()
    record = json.loads(whole.path("rungs", "b0", "r2", "slot_0", "parameters.json").read_text())
    assert record["keep_state"] is False and record["budget"] == 9
    assert json.loads(whole.path("trials", best, "parameters.json").read_text())["keep_state"]
