"""Limits snaketune sets on a trial, enforced around the training so the trial can say why.

A time limit interrupts the training with a signal; a memory limit is watched by a thread
that reads the resident size of the trial's whole process tree (this job and every process
below it, e.g. a `command` program and its children) and interrupts the training when it
is exceeded. Both turn into a `failed` trial with the reason, instead of a job killed from
outside. The study-wide policy (time budget, max_failed_trials) decides whether a trial
starts.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

STARTED_VARIABLE = "SNAKETUNE_STUDY_STARTED"
MEMORY_SIGNAL = signal.SIGUSR1
# The watcher scans /proc; on a machine with thousands of processes a scan takes
# milliseconds, so it waits at least this many times as long as its last scan took,
# which keeps it under ~5% of one CPU whatever the poll interval.
WATCH_SLOWDOWN = 20
BUDGET_VARIABLE = "SNAKETUNE_TIME_BUDGET_S"
MAX_FAILED_VARIABLE = "SNAKETUNE_MAX_FAILED_TRIALS"
TRIALS_VARIABLE = "SNAKETUNE_TRIALS_DIR"


def study_policy_environment(
    time_budget_s: int | None,
    max_failed_trials: int | None,
    started: float,
    trials_dir: str | None = None,
) -> dict[str, str]:
    """Environment variables that carry the study-wide policy to every train job.

    The start time is kept when already set, so jobs that re-read the Snakefile (cluster
    executors) share the clock of the run that submitted them. `trials_dir` is where
    max_failed_trials counts the failed trials.
    """
    return {
        STARTED_VARIABLE: os.environ.get(STARTED_VARIABLE, repr(started)),
        BUDGET_VARIABLE: str(time_budget_s or ""),
        MAX_FAILED_VARIABLE: str(max_failed_trials or ""),
        TRIALS_VARIABLE: trials_dir or os.environ.get(TRIALS_VARIABLE, ""),
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


class Process(NamedTuple):
    """One line of /proc/<pid>/stat, the fields the limits need."""

    pid: int
    ppid: int
    group: int
    session: int
    start: int  # clock ticks after boot: tells this process from a later one with its pid
    state: str  # "Z" (zombie) and "X" (dead) have ended
    rss_pages: int

    @property
    def alive(self) -> bool:
        return self.state not in "ZX"


def read_process(pid: int | str) -> Process | None:
    """The process's /proc/<pid>/stat, or None when it is gone (or there is no /proc)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            data = handle.read()
        # The command name is in parentheses and may hold spaces and parentheses itself.
        fields = data[data.rindex(b")") + 2 :].split()
        return Process(
            pid=int(pid),
            ppid=int(fields[1]),
            group=int(fields[2]),
            session=int(fields[3]),
            start=int(fields[19]),
            state=fields[0].decode(),
            rss_pages=int(fields[21]),
        )
    except (OSError, ValueError, IndexError):
        return None


def process_table() -> dict[int, Process]:
    """Every process on the machine by pid (empty without /proc, e.g. on macOS)."""
    try:
        names = os.listdir("/proc")
    except OSError:
        return {}
    table = {}
    for name in names:
        if name.isdigit() and (process := read_process(name)) is not None:
            table[process.pid] = process
    return table


def descendants(table: dict[int, Process], roots: Iterable[int]) -> set[int]:
    """Pids of every process below the roots (children, their children, ...)."""
    children: dict[int, list[int]] = {}
    for process in table.values():
        children.setdefault(process.ppid, []).append(process.pid)
    found: set[int] = set()
    pending = list(roots)
    while pending:
        for child in children.get(pending.pop(), []):
            if child not in found:
                found.add(child)
                pending.append(child)
    return found


def resident_mb() -> float:
    """This process's resident set size (Linux /proc; 0 where unavailable)."""
    try:
        with open("/proc/self/statm") as handle:
            pages = int(handle.read().split()[1])
    except (OSError, IndexError, ValueError):
        return 0.0
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def tree_resident_mb(root: int | None = None) -> tuple[float, int]:
    """Resident MB summed over `root` (this process by default) and all its descendants,
    and how many processes that is.

    A trial's memory is its whole tree: a program it starts, and anything that program
    starts, counts against trial_memory_mb. Pages shared between processes count once
    per process, as in a sum of RSS. Falls back to this process alone without /proc.
    """
    root = os.getpid() if root is None else root
    table = process_table()
    if root not in table:
        return resident_mb(), 1
    tree = [table[pid] for pid in {root} | descendants(table, [root]) if table[pid].alive]
    pages = sum(process.rss_pages for process in tree)
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20, len(tree)


# Interruptions that arrived while the main thread held them (see `held`).
_HOLD = {"depth": 0, "pending": None}


@contextmanager
def held() -> Iterator[None]:
    """Defer a limit's interruption until the body is done, then raise it.

    For work that must not be cut in half, such as ending a trial's processes: an
    interruption in the middle of it would leave processes behind.
    """
    _HOLD["depth"] += 1
    try:
        yield
    finally:
        _HOLD["depth"] -= 1
        pending = _HOLD["pending"]
        if pending and not _HOLD["depth"]:
            _HOLD["pending"] = None
            raise TrialLimitExceeded(pending)


def _interrupt(reason: str) -> None:
    """Raise the limit's reason in the main thread, unless it is holding interruptions."""
    if _HOLD["depth"]:
        _HOLD["pending"] = _HOLD["pending"] or reason
        return
    raise TrialLimitExceeded(reason)


def _processes(count: int) -> str:
    return f"{count} process" if count == 1 else f"{count} processes"


@contextmanager
def enforce(limits: TrialLimits, poll_s: float = 0.05) -> Iterator[dict]:
    """Run the body under the limits; `state["peak_mb"]` records the process tree's peak."""
    state = {"peak_mb": tree_resident_mb()[0], "reason": None}
    stop = threading.Event()
    main_thread = threading.main_thread().ident

    def watch() -> None:
        wait_s = poll_s
        while not stop.wait(wait_s):
            started = time.perf_counter()
            size_mb, count = tree_resident_mb()
            wait_s = max(poll_s, WATCH_SLOWDOWN * (time.perf_counter() - started))
            state["peak_mb"] = max(state["peak_mb"], size_mb)
            if limits.memory_mb and size_mb > limits.memory_mb and not state["reason"]:
                state["reason"] = (
                    f"exceeded the memory limit: {size_mb:.0f} MB resident in the trial's "
                    f"{_processes(count)} > trial_memory_mb {limits.memory_mb}"
                )
                # A real signal to the main thread, so that a blocking call there (waiting
                # for a program) is interrupted too; our own signal: jobs may ignore SIGINT.
                signal.pthread_kill(main_thread, MEMORY_SIGNAL)

    def on_alarm(signum, frame) -> None:
        state["reason"] = f"exceeded the time limit: trial_timeout_s {limits.timeout_s}"
        _interrupt(state["reason"])

    def on_memory(signum, frame) -> None:
        _interrupt(state["reason"])

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
        with held():  # a last interruption must not skip restoring the handlers
            stop.set()
            watcher.join()
            if limits.timeout_s:
                signal.setitimer(signal.ITIMER_REAL, 0)
                signal.signal(signal.SIGALRM, previous_alarm)
            signal.signal(MEMORY_SIGNAL, previous_memory)


def skip_reason(trials_dir: Path | None, own_id: str) -> str | None:
    """Why this trial must not start now (per the study policy in the environment), or None.

    The time budget counts from the start of the current snakemake run; max_failed_trials
    counts failed trials in `trials_dir` (None: the study's, from the environment).
    """
    time_budget_s = _int_from_environment(BUDGET_VARIABLE)
    max_failed_trials = _int_from_environment(MAX_FAILED_VARIABLE)
    started = os.environ.get(STARTED_VARIABLE)
    if time_budget_s and started and time.time() - float(started) > time_budget_s:
        return (
            f"the study's time budget (hyperopt.executor.time_budget_s {time_budget_s}) was "
            "spent before this trial started"
        )
    if trials_dir is None and os.environ.get(TRIALS_VARIABLE):
        trials_dir = Path(os.environ[TRIALS_VARIABLE])
    if max_failed_trials and trials_dir is not None:
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
