#!/usr/bin/env python3
"""cluster-generic status command: print running, success or failed for a SLURM job id.

Asks squeue first (no accounting needed), then scontrol (jobs squeue no longer shows,
until MinJobAge), then sacct (clusters with accounting). A job none of them knows is
failed: its outputs decide, and Snakemake retries it per `retries`. A job that failed
gets the scheduler's reason on stderr, which Snakemake shows in the job's error.
"""

import subprocess
import sys

RUNNING = {
    "PENDING", "CONFIGURING", "RUNNING", "COMPLETING", "SUSPENDED", "REQUEUED",
    "REQUEUE_HOLD", "REQUEUE_FED", "RESIZING", "SIGNALING", "STAGE_OUT", "STOPPED",
}  # fmt: skip


def ask(command: list[str]) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


def state_of(job: str) -> tuple[str, str]:
    """(state, reason) from the first source that knows the job."""
    line = ask(["squeue", "-h", "-j", job, "-t", "all", "-o", "%T|%r"])
    if line:
        state, _, reason = line.splitlines()[0].partition("|")
        return state, reason
    fields = dict(
        item.split("=", 1)
        for item in ask(["scontrol", "show", "job", "-o", job]).split()
        if "=" in item
    )
    if "JobState" in fields:
        return fields["JobState"], fields.get("Reason", "")
    line = ask(["sacct", "-X", "-n", "-P", "-j", job, "-o", "State,Reason"])
    if line:
        state, _, reason = line.splitlines()[0].partition("|")
        return state.split()[0], reason
    return "UNKNOWN", "no longer known to squeue, scontrol or sacct"


def main() -> None:
    job = sys.argv[1].split(";")[0]
    state, reason = state_of(job)
    if state in RUNNING:
        print("running")
    elif state == "COMPLETED":
        print("success")
    else:
        print(f"SLURM job {job}: {state} ({reason or 'no reason given'})", file=sys.stderr)
        print("failed")


if __name__ == "__main__":
    main()
