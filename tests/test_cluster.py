"""Studies submitted to a real SLURM cluster through each profile, against a local run.

One small study (engine command: a trial costs a process start; one trial fails on
purpose) runs three times: locally; through profiles/slurm (a job per trial), where
the submitting snakemake is interrupted (SIGINT, as Ctrl-C) while a slow trial runs and
then run again; and through profiles/slurm-generic with trials_per_job 3 (group jobs),
where the job of the slow trial is cancelled with scancel while it runs (Snakemake
submits it again, `retries` 1). The leaderboards must match trial for trial, the failing
trial is a failed trial everywhere, the trials really ran inside SLURM jobs, the
interrupted run left no job behind and its rerun trained only what was not done.

Needs a cluster: `make cluster-test` starts one on loopback (tests/cluster/
start-slurm.sh, root), runs these tests and stops it. Without a cluster they are
skipped by the `cluster` marker selection (make test runs `-m "not cluster"`).
"""

from __future__ import annotations

import re
import shutil
import signal
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


def submission(study: Study, profile: str, *options: str, **config) -> list[str]:
    command = study.command(configfile=COMMAND, **config)
    command[command.index("--cores") : command.index("--cores") + 2] = [
        "--profile",
        str(REPO / "profiles" / profile),
        *options,
    ]
    return command


def submit(study: Study, profile: str, *options: str, **config) -> subprocess.CompletedProcess:
    command = submission(study, profile, *options, **config)
    result = subprocess.run(
        [*TIMEOUT, *command], cwd=study.root, capture_output=True, text=True, timeout=500
    )
    assert result.returncode == 0, f"{profile}:\n{result.stdout}\n{result.stderr}"
    return result


def wait_for_slow_trial(study: Study) -> None:
    marker = study.path("trials", SLOW, "slept")
    deadline = time.monotonic() + 300
    while not marker.exists():
        assert time.monotonic() < deadline, "the slow trial never started"
        time.sleep(0.2)


def jobs_in(study: Study, *states: str) -> list[str]:
    """The ids of the SLURM jobs whose working directory is `study`'s folder (by default
    those pending, running or completing)."""
    selection = ["-t", ",".join(states)] if states else []
    listed = subprocess.run(
        ["squeue", "-h", *selection, "-o", "%i %Z"], capture_output=True, text=True
    ).stdout.split("\n")
    return [line.split()[0] for line in listed if line.endswith(str(study.root))]


def cancel_when_slow_trial_runs(study: Study) -> list[str]:
    """scancel the SLURM jobs running in `study`'s folder once SLOW is sleeping."""
    wait_for_slow_trial(study)
    jobs = jobs_in(study, "running")
    subprocess.run(["scancel", *jobs], check=True)
    return jobs


def interrupt_then_resume(study: Study, *options: str) -> dict:
    """Ctrl-C the submitting snakemake once SLOW runs, then run it again to the end."""
    command = submission(study, "slurm", *options)
    with open(study.root / "interrupted.log", "w") as log:
        first = subprocess.Popen(command, cwd=study.root, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_for_slow_trial(study)
            first.send_signal(signal.SIGINT)
            first.wait(timeout=120)
        finally:
            first.kill()
    left = jobs_in(study)
    done = {p.parent.name for p in study.path("trials").glob("trial_*/score.json")}
    return {"left": left, "done": done, "rerun": submit(study, "slurm", *options)}


@pytest.fixture(scope="module")
def runs(cluster, tmp_path_factory):
    local = Study(tmp_path_factory.mktemp("local"), study_config())
    plugin = Study(tmp_path_factory.mktemp("slurm"), study_config())
    generic = Study(tmp_path_factory.mktemp("generic"), study_config())
    results = run_together(
        lambda: local.run(configfile=COMMAND),
        lambda: interrupt_then_resume(plugin, "--slurm-init-seconds-before-status-checks", "2"),
        lambda: submit(generic, "slurm-generic", trials_per_job=3),
        lambda: cancel_when_slow_trial_runs(generic),
    )
    assert len(results[3]) == 1, f"cancelled {results[3]}"
    return {
        "local": (local, results[0]),
        "slurm": (plugin, results[1]["rerun"]),
        "interrupted": results[1],
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
    # through the plugin over two runs: the prepare job once, every trial, and nothing
    # else (the trials the interrupted run submitted again are counted in the rerun test)
    log = snakemake_log(plugin)
    trials = submitted_trials(log)
    assert set(trials) == {path.name for path in plugin.path("trials").glob("trial_*")}
    assert log.count("has been submitted with SLURM jobid") == 1 + len(trials)
    assert log.count("/rule_prepare/") == 1
    # cluster-generic with trials_per_job 3: the prepare job and 2 group jobs of 3
    # trials, and the cancelled group job once more
    log = snakemake_log(generic)
    assert log.count("Submitted group job") == 3, log
    assert log.count("with external jobid") == 4
    assert len(list((generic.root / ".snakemake" / "slurm-generic").glob("*.log"))) == 4
    assert "Error in group trials" in log
    # the status script names the scheduler's state (on snakemake's stderr)
    assert "CANCELLED" in runs["generic"][1].stderr


def submitted_trials(log: str) -> list[str]:
    return re.findall(r"submitted with SLURM jobid \d+ .*?/rule_train/trials_(trial_\d+)/", log)


def test_an_interrupted_study_cancels_its_jobs_and_resumes(runs):
    interrupted, plugin = runs["interrupted"], runs["slurm"][0]
    # Ctrl-C cancelled the jobs in flight: none was left on the cluster
    assert interrupted["left"] == []
    first = submitted_trials((plugin.root / "interrupted.log").read_text())
    assert SLOW in first and SLOW not in interrupted["done"]
    # the rerun submitted exactly the trials without a result, each once
    rerun = submitted_trials(interrupted["rerun"].stderr)
    every = {path.name for path in plugin.path("trials").glob("trial_*")}
    assert len(every) == 6
    assert sorted(rerun) == sorted(every - interrupted["done"]), (rerun, interrupted)
