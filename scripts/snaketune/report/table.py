"""A study's trials as the report, `snaketune visualize` and the Optuna export read them.

One reader for both kinds of hyperopt_statistics.json: the one the leaderboard writes
(trial_id, trial_dir, status and failed_trials beside Ludwig's keys) and the one
`ludwig hyperopt` writes (hyperopt_config and hyperopt_results only). A Ludwig file's
trials get ids in file order; its results are all finished trials.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from snaketune import spaces
from snaketune.errors import ConfigError
from snaketune.score import finite_score

LOG_SPACES = frozenset(name for name, space in spaces.SPACES.items() if space.log)
CHOICE_SPACES = frozenset({"choice", "grid_search"})


@dataclass(frozen=True)
class Parameter:
    """One tuned parameter: its name, its space, and how to draw it."""

    name: str
    spec: Mapping[str, Any]

    @property
    def space(self) -> str | None:
        return self.spec.get("space")

    @property
    def log(self) -> bool:
        return self.space in LOG_SPACES

    @property
    def categorical(self) -> bool:
        return self.space in CHOICE_SPACES

    @property
    def categories(self) -> list | None:
        """The choices in the order written (grid_search's values), or None."""
        if self.space == "choice":
            return list(self.spec.get("categories") or [])
        if self.space == "grid_search":
            return list(self.spec.get("values") or [])
        return None


@dataclass
class TrialRow:
    """One trial: `status` is ok, failed, skipped, timeout, ...; `score` is None unless ok."""

    trial_id: str
    status: str
    score: float | None
    parameters: dict[str, Any]
    order: int  # position in the study (trial number), for the history
    round: int | None = None
    training_stats: dict[str, Any] = field(default_factory=dict)
    error: str = ""


@dataclass
class StudyTable:
    """Everything the report draws: goal, metric, parameters, and every trial."""

    goal: str
    metric: str
    output_feature: str
    parameters: list[Parameter]
    trials: list[TrialRow]
    hyperopt_config: dict[str, Any]
    source: str = "snaketune"  # or "ludwig": a statistics file without trial ids

    @property
    def finished(self) -> list[TrialRow]:
        """The trials with a score, in trial order."""
        return [t for t in self.trials if t.status == "ok" and t.score is not None]

    def ranked(self) -> list[TrialRow]:
        """The finished trials, best first (ties in trial order)."""
        sign = -1.0 if self.goal == "maximize" else 1.0
        return sorted(self.finished, key=lambda t: (sign * t.score, t.order))


def _trial_number(trial_id: str, fallback: int) -> int:
    digits = trial_id.rsplit("_", 1)[-1]
    return int(digits) if digits.isdigit() else fallback


def _round_of(trial_id: str, trial_dir: str | None, base: Path) -> int | None:
    """The round recorded in the trial's parameters.json, if its folder is there.

    `trial_dir` is relative to the working directory of the run that wrote it, so the
    trial's folder next to the statistics file is tried too.
    """
    candidates = [Path(trial_dir)] if trial_dir else []
    for candidate in [*candidates, base / "trials" / trial_id]:
        try:
            record = json.loads((candidate / "parameters.json").read_text())
        except (OSError, ValueError):
            continue
        value = record.get("round") if isinstance(record, dict) else None
        return value if isinstance(value, int) else None
    return None


def plain_number(value: Any) -> float | None:
    """The value as a finite float, or None (booleans are categories, not numbers)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def _problem(path: Path, what: str) -> ConfigError:
    return ConfigError(
        f"{path}: {what}; a hyperopt statistics file is a JSON object with hyperopt_config "
        "(goal, metric, parameters) and hyperopt_results (a list of trials with parameters "
        "and metric_score), as `ludwig hyperopt` and snaketune write it."
    )


def table_from_statistics(statistics: Mapping[str, Any], path: Path) -> StudyTable:
    """The table of a parsed statistics file; `path` names it in errors and finds trials."""
    if not isinstance(statistics, Mapping):
        raise _problem(path, "the file does not hold a JSON object")
    config = statistics.get("hyperopt_config")
    results = statistics.get("hyperopt_results")
    if not isinstance(config, Mapping) or not isinstance(results, list):
        raise _problem(path, "hyperopt_config or hyperopt_results is missing")
    specs = config.get("parameters") or {}
    if not isinstance(specs, Mapping):
        raise _problem(path, "hyperopt_config.parameters is not a mapping")
    goal = config.get("goal", "minimize")
    if goal not in ("minimize", "maximize"):
        raise _problem(path, f"hyperopt_config.goal is {goal!r}, not minimize or maximize")
    parameters = [
        Parameter(str(name), spec if isinstance(spec, Mapping) else {})
        for name, spec in specs.items()
    ]
    ludwig = not any(isinstance(r, Mapping) and "trial_id" in r for r in results)
    base = path.parent
    rows = []
    entries = [(r, "ok") for r in results] + [
        (r, None) for r in statistics.get("failed_trials") or []
    ]
    for position, (entry, status) in enumerate(entries):
        if not isinstance(entry, Mapping):
            raise _problem(path, f"trial {position} is not a JSON object")
        trial_id = str(entry.get("trial_id") or f"trial_{position:04d}")
        row_status = status or str(entry.get("status") or "failed")
        score = finite_score(entry.get("metric_score")) if row_status == "ok" else None
        if row_status == "ok" and score is None:
            row_status = "failed"  # Ludwig writes a failed trial's score as NaN or null
        params = entry.get("parameters") or {}
        rows.append(
            TrialRow(
                trial_id=trial_id,
                status=row_status,
                score=score,
                parameters=dict(params) if isinstance(params, Mapping) else {},
                order=_trial_number(trial_id, position),
                round=_round_of(trial_id, entry.get("trial_dir"), base),
                training_stats=dict(entry.get("training_stats") or {}),
                error=str(entry.get("error") or ""),
            )
        )
    rows.sort(key=lambda r: (r.order, r.trial_id))
    return StudyTable(
        goal=goal,
        metric=str(config.get("metric") or "loss"),
        output_feature=str(config.get("output_feature") or "combined"),
        parameters=parameters,
        trials=rows,
        hyperopt_config=dict(config),
        source="ludwig" if ludwig else "snaketune",
    )


def load_statistics(path: str | os.PathLike) -> StudyTable:
    """Read a hyperopt_statistics.json (or a study folder holding one)."""
    path = Path(path)
    if path.is_dir():
        path = path / "hyperopt_statistics.json"
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the hyperopt statistics: {exc.strerror}") from exc
    try:
        statistics = json.loads(text)
    except ValueError as exc:
        raise _problem(path, f"it is not JSON ({exc})") from exc
    return table_from_statistics(statistics, path)
