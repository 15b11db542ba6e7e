"""`snaketune status`: a study folder's state, read from its files while a run may be busy.

Nothing here takes, probes or writes the study lock: whether a run is alive comes from
the process the lock file names (its pid on this host), so a status check can never
make a starting run fail to take the lock. A trial is done when its score.json is
current (progress.trial_state); running when a live run has started its log since the
run began; interrupted when its log is there but no live run is training it; pending
otherwise.
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from snaketune import io
from snaketune.errors import ConfigError
from snaketune.progress import OK, SKIPPED, format_score, trial_state
from snaketune.study import trial_id
from snaketune.study_lock import lock_path

RUNNING = "running"
PENDING = "pending"
INTERRUPTED = "interrupted"


@dataclass
class TrialStatus:
    trial_id: str
    state: str  # ok, failed, timeout, skipped, ... or running, pending, interrupted
    score: float | None = None


@dataclass
class StudyStatus:
    study_dir: Path
    goal: str
    metric: str
    trials: list[TrialStatus]
    run: str | None  # the live run, in words, or None

    def count(self, state: str) -> int:
        return sum(1 for t in self.trials if t.state == state)

    @property
    def failed(self) -> int:
        waiting = (OK, SKIPPED, RUNNING, PENDING, INTERRUPTED)
        return sum(1 for t in self.trials if t.state not in waiting)

    def ranked(self) -> list[TrialStatus]:
        sign = -1.0 if self.goal == "maximize" else 1.0
        scored = [t for t in self.trials if t.score is not None]
        return sorted(scored, key=lambda t: (sign * t.score, t.trial_id))


def live_run(study_dir: Path) -> tuple[str, float] | None:
    """The run named by the lock file if its process lives on this host: (words, start)."""
    try:
        info = json.loads(lock_path(study_dir).read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        return None
    if not isinstance(info, dict) or not isinstance(info.get("pid"), int):
        return None
    if info.get("host") != socket.gethostname() or not os.path.exists(f"/proc/{info['pid']}"):
        return None
    try:
        started = datetime.strptime(str(info.get("started")), "%Y-%m-%d %H:%M:%S %z")
    except ValueError:
        return None
    words = f"pid {info['pid']}, started {info.get('started')}"
    # A pid reused by another process since: it started after the run's lock record.
    try:
        begun = os.stat(f"/proc/{info['pid']}").st_mtime
    except OSError:
        return None
    if begun > started.timestamp() + 60:
        return None
    return words, started.timestamp()


def read_status(study_dir: str | os.PathLike) -> StudyStatus:
    """The state of every trial of the study in `study_dir` (one with a study.yaml)."""
    study_dir = Path(study_dir)
    frozen = study_dir / "study.yaml"
    run = live_run(study_dir)
    try:
        study = io.read_yaml(frozen) or {}
    except FileNotFoundError:
        if run is None:
            raise ConfigError(
                f"{study_dir}: not a snaketune study folder (it has no study.yaml, and no "
                "run is starting it); give the folder a run writes, "
                "<output_directory>/<experiment_name>."
            ) from None
        # A run that has parsed the study but not written study.yaml yet: starting.
        return StudyStatus(study_dir, "minimize", "", [], run[0])
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"{study_dir}: not a snaketune study folder (cannot read {frozen.name}: {exc}); "
            "give the folder a run writes, <output_directory>/<experiment_name>."
        ) from exc
    hyperopt = study.get("hyperopt") or {}
    total = study.get("num_trials")
    if not isinstance(total, int) or total < 0:
        raise ConfigError(f"{frozen}: num_trials is missing; the file is not a study's.")
    trials = []
    for index in range(total):
        tid = trial_id(index)
        folder = study_dir / "trials" / tid
        state = trial_state(folder)
        if state is not None:
            trials.append(TrialStatus(tid, state[0], state[1]))
            continue
        try:
            log_time = (folder / "train.log").stat().st_mtime
        except OSError:
            log_time = None
        if log_time is None:
            trials.append(TrialStatus(tid, PENDING))
        elif run is not None and log_time >= run[1] - 1:
            trials.append(TrialStatus(tid, RUNNING))
        else:
            trials.append(TrialStatus(tid, INTERRUPTED))
    return StudyStatus(
        study_dir=study_dir,
        goal=str(hyperopt.get("goal") or "minimize"),
        metric=str(hyperopt.get("metric") or ""),
        trials=trials,
        run=run[0] if run else None,
    )


def format_status(status: StudyStatus, top: int = 5) -> str:
    """The text `snaketune status` prints."""
    done = sum(1 for t in status.trials if t.state not in (RUNNING, PENDING, INTERRUPTED))
    lines = [
        f"Study {status.study_dir}: "
        + (f"a run is active ({status.run})." if status.run else "no run is active.")
    ]
    if not status.trials:
        lines.append("The run is starting: it has not written study.yaml yet.")
        return "\n".join(lines)
    lines.append(
        f"{len(status.trials)} trials: {done} done ({status.count(OK)} ok, "
        f"{status.failed} failed, {status.count(SKIPPED)} skipped), "
        f"{status.count(RUNNING)} running, {status.count(PENDING)} pending"
        + (
            f", {status.count(INTERRUPTED)} interrupted (the next run trains them)"
            if status.count(INTERRUPTED)
            else ""
        )
        + "."
    )
    ranked = status.ranked()
    if ranked:
        lines.append(f"Best so far ({status.metric}, goal {status.goal}):")
        for rank, trial in enumerate(ranked[:top], start=1):
            lines.append(f"  {rank:>3}. {trial.trial_id}  score {format_score(trial.score)}")
    running = [t.trial_id for t in status.trials if t.state == RUNNING]
    if running:
        shown = ", ".join(running[:10]) + (", …" if len(running) > 10 else "")
        lines.append(f"Running: {shown}")
    return "\n".join(lines)
