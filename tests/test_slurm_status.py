"""profiles/slurm-generic/status.py against fake squeue, scontrol and sacct.

Each state SLURM can give a job maps to what cluster-generic expects (running, success
or failed), and a failed job's state and reason reach standard error, whichever of the
three commands still knows it: a job leaves squeue after it ends, scontrol forgets it
after MinJobAge, and only clusters with accounting have sacct.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO

STATUS = REPO / "profiles" / "slurm-generic" / "status.py"


def fake(folder: Path, name: str, output: str, code: int = 0) -> None:
    script = folder / name
    script.write_text(f"#!/bin/sh\ncat <<'END'\n{output}\nEND\nexit {code}\n")
    script.chmod(0o755)


def status(tmp_path: Path, squeue="", scontrol="", sacct="", missing=()) -> tuple[str, str]:
    for name, output in (("squeue", squeue), ("scontrol", scontrol), ("sacct", sacct)):
        if name not in missing:
            fake(tmp_path, name, output, 0 if output else 1)
    env = {**os.environ, "PATH": f"{tmp_path}:/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, str(STATUS), "42;cluster"], capture_output=True, text=True, env=env
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip(), done.stderr.strip()


@pytest.mark.parametrize("state", ["PENDING", "RUNNING", "COMPLETING", "REQUEUED", "SUSPENDED"])
def test_a_job_in_flight_is_running(tmp_path, state):
    assert status(tmp_path, squeue=f"{state}|None") == ("running", "")


def test_a_completed_job_is_a_success(tmp_path):
    assert status(tmp_path, squeue="COMPLETED|None") == ("success", "")


@pytest.mark.parametrize(
    "state, reason",
    [
        ("TIMEOUT", "TimeLimit"),
        ("CANCELLED", "None"),
        ("OUT_OF_MEMORY", "OutOfMemory"),
        ("NODE_FAIL", "NodeDown"),
        ("PREEMPTED", "None"),
        ("FAILED", "NonZeroExitCode"),
        ("BOOT_FAIL", ""),
    ],
)
def test_a_job_the_scheduler_ended_is_failed_with_its_reason(tmp_path, state, reason):
    out, err = status(tmp_path, squeue=f"{state}|{reason}")
    assert out == "failed"
    assert err == f"SLURM job 42: {state} ({reason or 'no reason given'})"


def test_a_job_squeue_forgot_is_asked_of_scontrol(tmp_path):
    line = "JobId=42 JobName=snaketune-train JobState=TIMEOUT Reason=TimeLimit Dependency=(null)"
    out, err = status(tmp_path, scontrol=line)
    assert (out, err) == ("failed", "SLURM job 42: TIMEOUT (TimeLimit)")


def test_a_job_only_accounting_knows_is_asked_of_sacct(tmp_path):
    assert status(tmp_path, sacct="COMPLETED|None") == ("success", "")
    out, err = status(tmp_path, sacct="CANCELLED by 1000|None")
    assert (out, err) == ("failed", "SLURM job 42: CANCELLED (None)")


def test_a_job_nobody_knows_is_failed_and_says_so(tmp_path):
    out, err = status(tmp_path, missing=("sacct",))
    assert out == "failed"
    assert "no longer known to squeue, scontrol or sacct" in err
