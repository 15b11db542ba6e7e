"""Limits snaketune sets on a trial, enforced around the training so the trial can say why.

A time limit interrupts the training with a signal; a memory limit is watched by a thread
that reads the process's resident size and interrupts the training when it is exceeded.
Both turn into a `failed` trial with the reason, instead of a job killed from outside.
The study-wide policy (time budget, max_failed_trials) decides whether a trial starts.
"""

from __future__ import annotations

import _thread
import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

STARTED_VARIABLE = "SNAKETUNE_STUDY_STARTED"
MEMORY_SIGNAL = signal.SIGUSR1
BUDGET_VARIABLE = "SNAKETUNE_TIME_BUDGET_S"
MAX_FAILED_VARIABLE = "SNAKETUNE_MAX_FAILED_TRIALS"


def study_policy_environment(
    time_budget_s: int | None, max_failed_trials: int | None, started: float
) -> dict[str, str]:
    """Environment variables that carry the study-wide policy to every train job.

    The start time is kept when already set, so jobs that re-read the Snakefile (cluster
    executors) share the clock of the run that submitted them.
    """
    return {
        STARTED_VARIABLE: os.environ.get(STARTED_VARIABLE, repr(started)),
        BUDGET_VARIABLE: str(time_budget_s or ""),
        MAX_FAILED_VARIABLE: str(max_failed_trials or ""),
    }


def _int_from_environment(name: str) -> int | None:
    value = os.environ.get(name, "")
    return int(value) if value else None


class TrialLimitExceeded(RuntimeError):
    """The trial ran longer, or grew larger, than the study allows."""


@dataclass
class TrialLimits:
    timeout_s: int | None = None
    memory_mb: int | None = None


def resident_mb() -> float:
    """This process's resident set size (Linux /proc; 0 where unavailable)."""
    try:
        with open("/proc/self/statm") as handle:
            pages = int(handle.read().split()[1])
    except (OSError, IndexError, ValueError):
        return 0.0
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


@contextmanager
def enforce(limits: TrialLimits, poll_s: float = 0.05) -> Iterator[dict]:
    """Run the body under the limits; `state["peak_mb"]` records the resident peak."""
    state = {"peak_mb": resident_mb(), "reason": None}
    stop = threading.Event()

    def watch() -> None:
        while not stop.wait(poll_s):
            state["peak_mb"] = max(state["peak_mb"], resident_mb())
            if limits.memory_mb and state["peak_mb"] > limits.memory_mb and not state["reason"]:
                state["reason"] = (
                    f"exceeded the memory limit: {state['peak_mb']:.0f} MB resident > "
                    f"trial_memory_mb {limits.memory_mb}"
                )
                # A signal of our own: job processes may ignore SIGINT.
                _thread.interrupt_main(MEMORY_SIGNAL)

    def on_alarm(signum, frame) -> None:
        state["reason"] = f"exceeded the time limit: trial_timeout_s {limits.timeout_s}"
        raise TrialLimitExceeded(state["reason"])

    def on_memory(signum, frame) -> None:
        raise TrialLimitExceeded(state["reason"])

    previous_memory = signal.signal(MEMORY_SIGNAL, on_memory)
    previous_alarm = None
    if limits.timeout_s:
        previous_alarm = signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, limits.timeout_s)
    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        yield state
    finally:
        stop.set()
        watcher.join()
        if limits.timeout_s:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous_alarm)
        signal.signal(MEMORY_SIGNAL, previous_memory)


def skip_reason(trials_dir: Path, own_id: str) -> str | None:
    """Why this trial must not start now (per the study policy in the environment), or None.

    The time budget counts from the start of the current snakemake run; max_failed_trials
    counts failed trials in the study.
    """
    time_budget_s = _int_from_environment(BUDGET_VARIABLE)
    max_failed_trials = _int_from_environment(MAX_FAILED_VARIABLE)
    started = os.environ.get(STARTED_VARIABLE)
    if time_budget_s and started and time.time() - float(started) > time_budget_s:
        return (
            f"the study's time budget (hyperopt.executor.time_budget_s {time_budget_s}) was "
            "spent before this trial started"
        )
    if max_failed_trials:
        failed = 0
        for summary in trials_dir.glob("*/train_summary.json"):
            if summary.parent.name == own_id:
                continue
            try:
                failed += json.loads(summary.read_text()).get("status") == "failed"
            except (OSError, ValueError):
                continue
        if failed >= max_failed_trials:
            return f"max_failed_trials ({max_failed_trials}) reached: {failed} trials failed"
    return None
