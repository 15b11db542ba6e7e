"""A study's progress while it runs: one line per finished trial, and what a bar needs.

The run's start (onstart) writes `logs/progress.jsonl` anew with one record: every
trial's state at that moment. Each train job appends one record when its trial is
scored. A trial's line and the command line's progress bar read that file instead of
every trial's score.json; it holds the current run only, so a trial's line costs one
read of the start record and this run's records, not of every earlier run's. The file
only feeds the display: `snaketune status` and the leaderboard read the trials' own
files. Appended records are single `write` calls on a file opened for appending, so
jobs that finish at once do not interleave on a local disk.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from snaketune.io import write_text
from snaketune.score import finite_score

PROGRESS_FILE = "logs/progress.jsonl"
OK = "ok"
SKIPPED = "skipped"


def progress_path(study_dir: str | os.PathLike) -> Path:
    return Path(study_dir) / PROGRESS_FILE


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def trial_state(trial_dir: Path) -> tuple[str, float | None] | None:
    """(status, score) of a trial whose score.json is current, else None (not scored).

    A score older than the trial's sampled values belongs to values that changed since,
    so the next run trains the trial again: it counts as not scored.
    """
    score_path = trial_dir / "score.json"
    try:
        scored = score_path.stat().st_mtime
    except OSError:
        return None
    sampled = trial_dir / "sampled"
    try:
        newest = max(
            (entry.stat().st_mtime for entry in os.scandir(sampled) if entry.is_dir()),
            default=0.0,
        )
    except OSError:
        newest = 0.0
    if newest > scored:
        return None
    record = _read_json(score_path)
    if not isinstance(record, dict):
        return None
    status = str(record.get("status") or "failed")
    return status, finite_score(record.get("metric_score")) if status == OK else None


def _append(path: Path, record: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    line = (json.dumps(record, separators=(",", ":")) + "\n").encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o666)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


def record_start(
    study_dir: str | os.PathLike, trial_ids: list[str], goal: str, metric: str, total: int
) -> None:
    """onstart: the number of trials and the state of `trial_ids` (those this run does
    not train), the baseline of the run's progress. It replaces the file (atomically):
    records of earlier runs count for nothing once a run starts."""
    trials = Path(study_dir) / "trials"
    states = {}
    for tid in trial_ids:
        state = trial_state(trials / tid)
        if state is not None:
            states[tid] = list(state)
    record = {
        "event": "start",
        "time": time.time(),
        "pid": os.getpid(),
        "goal": goal,
        "metric": metric,
        "trials": total,
        "states": states,
    }
    write_text(progress_path(study_dir), json.dumps(record, separators=(",", ":")) + "\n")


@dataclass
class Progress:
    """The study as of the last start record and the trial records after it."""

    total: int = 0
    goal: str = "minimize"
    metric: str = ""
    started: float = 0.0
    states: dict[str, tuple[str, float | None]] = field(default_factory=dict)
    finished_this_run: int = 0

    def count(self, status: str) -> int:
        return sum(1 for s, _ in self.states.values() if s == status)

    @property
    def done(self) -> int:
        """Trials with a result, ok or not (skipped ones are trained by the next run)."""
        return sum(1 for s, _ in self.states.values() if s != SKIPPED)

    @property
    def failed(self) -> int:
        return sum(1 for s, _ in self.states.values() if s not in (OK, SKIPPED))

    def best(self) -> tuple[str, float] | None:
        scored = [(tid, score) for tid, (s, score) in self.states.items() if score is not None]
        if not scored:
            return None
        sign = -1.0 if self.goal == "maximize" else 1.0
        return min(scored, key=lambda item: (sign * item[1], item[0]))

    def apply(self, record: dict) -> None:
        if record.get("event") == "start":
            self.total = int(record.get("trials") or 0)
            self.goal = str(record.get("goal") or "minimize")
            self.metric = str(record.get("metric") or "")
            self.started = float(record.get("time") or 0.0)
            self.states = {
                tid: (str(state[0]), finite_score(state[1]))
                for tid, state in (record.get("states") or {}).items()
                if isinstance(state, list) and len(state) == 2
            }
            self.finished_this_run = 0
        elif record.get("event") == "trial" and record.get("trial_id"):
            self.states[str(record["trial_id"])] = (
                str(record.get("status") or "failed"),
                finite_score(record.get("score")),
            )
            self.finished_this_run += 1


def read_progress(
    path: str | os.PathLike, progress: Progress | None = None, offset: int = 0
) -> tuple[Progress, int]:
    """Apply the records from byte `offset` on; returns the progress and the new offset.

    A partial last line (a record being written) is left for the next read.
    """
    progress = progress or Progress()
    try:
        with open(path, "rb") as handle:
            handle.seek(offset)
            data = handle.read()
    except OSError:
        return progress, offset
    end = data.rfind(b"\n") + 1
    for line in data[:end].splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            progress.apply(record)
    return progress, offset + end


def format_score(score: float | None) -> str:
    return "-" if score is None else f"{score:.6g}"


def trial_line(progress: Progress, trial_id: str) -> str:
    """One line after a trial: its result, the study's counts and the best so far."""
    status, score = progress.states.get(trial_id, ("failed", None))
    result = f"{progress.metric} {format_score(score)}" if status == OK else status
    best = progress.best()
    best_text = f"best {format_score(best[1])} ({best[0]})" if best else "no score yet"
    return (
        f"snaketune: {trial_id} {result} | {progress.done}/{progress.total} done, "
        f"{progress.failed} failed | {best_text}"
    )


def record_trial(study_dir: str | os.PathLike, score_path: str | os.PathLike) -> str | None:
    """A train job's trial is scored: append its record, return the line to print.

    None when the score is not a trial's (a rung slot no trial reached) or the study
    has no start record (a job run by hand).
    """
    score = _read_json(Path(score_path))
    if not isinstance(score, dict) or not score.get("trial_id"):
        return None
    status = str(score.get("status") or "failed")
    path = progress_path(study_dir)
    _append(
        path,
        {
            "event": "trial",
            "time": time.time(),
            "trial_id": score["trial_id"],
            "status": status,
            "score": finite_score(score.get("metric_score")) if status == OK else None,
        },
    )
    progress, _ = read_progress(path)
    if not progress.total:
        return None
    return trial_line(progress, str(score["trial_id"]))
