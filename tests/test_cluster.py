"""Studies submitted to a real SLURM cluster through each profile, against a local run.

One small study (engine command: a trial costs a process start; one trial fails on
purpose) runs three times: locally, through profiles/slurm (a job per trial), and
through profiles/slurm-generic with trials_per_job 3 (group jobs), where the job of a
slow trial is cancelled with scancel while it runs (Snakemake submits it again,
`retries` 1). The leaderboards must match trial for trial, the failing trial is a
failed trial everywhere, and the trials really ran inside SLURM jobs.

Needs a cluster: `make cluster-test` starts one on loopback (tests/cluster/
start-slurm.sh, root), runs these tests and stops it. Without a cluster they are
skipped by the `cluster` marker selection (make test runs `-m "not cluster"`).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time

import pytest

from conftest import REPO, Study, model_config, run_together
from test_adaptive_workflow import OBJECTIVE, leaderboard

pytestmark = [pytest.mark.e2e, pytest.mark.cluster]

FAILING = "trial_0002"
SLOW = "trial_0004"  # its first attempt sleeps: time to cancel its job
COMMAND = {
    "engine": "command",
    "command": [
        *(sys.executable, OBJECTIVE, "{config}", "{output}"),
        *("--fail-trial", FAILING, "--sleep-trial", SLOW, "6"),
    ],
}
# A cluster job that hangs must not hang the test run (the plugin ignores SIGTERM).
TIMEOUT = ["timeout", "-k", "20", "400"]


def study_config() -> dict:
    config = model_config(
        goal="minimize",
        metric="loss",
        parameters={
            "trainer.learning_rate": {"space": "loguniform", "lower": 1e-4, "upper": 1.0},
            "combiner.output_size": {"space": "choice", "categories": [2, 4, 8, 16, 32]},
        },
        executor={"num_samples": 6, "max_concurrent_trials": 2},
    )
    return config


@pytest.fixture(scope="module")
def cluster():
    if shutil.which("sinfo") is None:
        pytest.fail("no SLURM here: run these tests with `make cluster-test`")
    state = subprocess.run(["sinfo", "-h", "-o", "%t"], capture_output=True, text=True)
    if state.returncode != 0 or "idle" not in state.stdout and "mix" not in state.stdout:
        pytest.fail(f"SLURM does not answer or has no idle node: {state.stdout}{state.stderr}")


def submit(study: Study, profile: str, *options: str, **config) -> subprocess.CompletedProcess:
    command = study.command(configfile=COMMAND, **config)
    command[command.index("--cores") : command.index("--cores") + 2] = [
        "--profile",
        str(REPO / "profiles" / profile),
        *options,
    ]
    result = subprocess.run(
        [*TIMEOUT, *command], cwd=study.root, capture_output=True, text=True, timeout=500
    )
    assert result.returncode == 0, f"{profile}:\n{result.stdout}\n{result.stderr}"
    return result


def cancel_when_slow_trial_runs(study: Study) -> list[str]:
    """scancel the SLURM jobs running in `study`'s folder once SLOW is sleeping."""
    marker = study.path("trials", SLOW, "slept")
    deadline = time.monotonic() + 300
    while not marker.exists():
        assert time.monotonic() < deadline, "the slow trial never started"
        time.sleep(0.2)
    listed = subprocess.run(
        ["squeue", "-h", "-t", "running", "-o", "%i %Z"], capture_output=True, text=True
    ).stdout.split("\n")
    jobs = [line.split()[0] for line in listed if line.endswith(str(study.root))]
    subprocess.run(["scancel", *jobs], check=True)
    return jobs


@pytest.fixture(scope="module")
def runs(cluster, tmp_path_factory):
    local = Study(tmp_path_factory.mktemp("local"), study_config())
    plugin = Study(tmp_path_factory.mktemp("slurm"), study_config())
    generic = Study(tmp_path_factory.mktemp("generic"), study_config())
    results = run_together(
        lambda: local.run(configfile=COMMAND),
        lambda: submit(plugin, "slurm", "--slurm-init-seconds-before-status-checks", "2"),
        lambda: submit(generic, "slurm-generic", trials_per_job=3),
        lambda: cancel_when_slow_trial_runs(generic),
    )
    assert len(results[3]) == 1, f"cancelled {results[3]}"
    return {
        "local": (local, results[0]),
        "slurm": (plugin, results[1]),
        "generic": (generic, results[2]),
    }


def test_each_profile_gives_the_local_leaderboard(runs):
    local = leaderboard(runs["local"][0])
    assert len(local) == 7
    for name in ("slurm", "generic"):
        assert leaderboard(runs[name][0]) == local, name
    header, *rows = local
    status = {row[header.index("trial_id")]: row[header.index("status")] for row in rows}
    assert status[FAILING] == "failed"
    assert sum(s == "ok" for s in status.values()) == 5


def snakemake_log(study: Study) -> str:
    return "".join(p.read_text() for p in (study.root / ".snakemake" / "log").glob("*.log"))


def test_trials_ran_inside_slurm_jobs(runs):
    plugin, generic = runs["slurm"][0], runs["generic"][0]
    # a submission per job (prepare and 6 trials) through the plugin
    assert snakemake_log(plugin).count("has been submitted with SLURM jobid") == 7
    # cluster-generic with trials_per_job 3: the prepare job and 2 group jobs of 3
    # trials, and the cancelled group job once more
    log = snakemake_log(generic)
    assert log.count("Submitted group job") == 3, log
    assert log.count("with external jobid") == 4
    assert len(list((generic.root / ".snakemake" / "slurm-generic").glob("*.log"))) == 4
    assert "Error in group trials" in log
    # the status script names the scheduler's state (on snakemake's stderr)
    assert "CANCELLED" in runs["generic"][1].stderr
