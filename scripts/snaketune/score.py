"""One trial's score: train_summary.json + training_statistics.json -> score.json.

The best epoch is chosen on the validation curve of `<output_feature>.<metric>` (by the
metric's own direction; the training curve when the study has no validation split,
as Ludwig does). `metric_score` is the value at that epoch on the requested `split`:
with `validation` it is exactly Ludwig's min/max over the validation curve, and with
`test` or `training` no choice is ever made on that split's data.
"""

from __future__ import annotations

import math
from typing import Any

from snaketune.backends.curves import best_evaluation, selection_split
from snaketune.io import write_json

SCORE_FIELDS = (
    "trial_id",
    "status",
    "metric_score",
    "best_epoch",
    "split",
    "metric",
    "output_feature",
    "selected_on",
    "eval_stats",
    "duration_s",
    "train_time_s",
    "error",
    "parameters",
    "round",
    "rung",
    "budget",
)


class _ScoreFailure(Exception):
    """A trial whose statistics cannot give a score (reported, never raised to the caller)."""


def finite_score(value: Any) -> float | None:
    """A score read back from a file as a finite float, or None for anything else (null,
    NaN written as a string, text): readers of finished trials never raise on one."""
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def _finite_or_none(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _curve(stats: dict, split: str, feature: str, metric: str) -> list:
    split_stats = stats.get(split)
    if not split_stats:
        raise _ScoreFailure(
            f"split '{split}' is missing from training_statistics.json (does it have any rows?)"
        )
    if feature not in split_stats:
        raise _ScoreFailure(
            f"output feature '{feature}' is missing from the {split} statistics in "
            f"training_statistics.json (present: {', '.join(split_stats) or 'none'})"
        )
    curve = split_stats[feature].get(metric)
    if curve is None:
        raise _ScoreFailure(
            f"metric '{metric}' of '{feature}' is missing from training_statistics.json "
            f"({split} has: {', '.join(split_stats[feature]) or 'nothing'})"
        )
    if not isinstance(curve, list) or not curve:
        raise _ScoreFailure(f"metric '{metric}' of '{feature}' has no values on split '{split}'")
    return curve


def _eval_stats(stats: dict, split: str, index: int) -> dict[str, dict[str, float | None]]:
    """Every metric of every feature on `split` at evaluation `index` (non-finite -> None)."""
    out: dict[str, dict[str, float | None]] = {}
    for feature, curves in (stats.get(split) or {}).items():
        if not isinstance(curves, dict):
            continue
        out[feature] = {
            name: _finite_or_none(curve[index])
            for name, curve in curves.items()
            if isinstance(curve, list) and index < len(curve)
        }
    return out


def _select(stats: dict, *, output_feature: str, metric: str, split: str) -> dict[str, Any]:
    selected_on = selection_split(stats)
    selection_curve = _curve(stats, selected_on, output_feature, metric)
    try:
        index = best_evaluation(selection_curve, metric) - 1
    except ValueError:
        raise _ScoreFailure(
            f"metric '{metric}' of '{output_feature}' is NaN at every evaluation on "
            f"split '{selected_on}'"
        ) from None
    curve = _curve(stats, split, output_feature, metric)
    if index >= len(curve):
        raise _ScoreFailure(
            f"split '{split}' has {len(curve)} evaluations of '{output_feature}.{metric}' but "
            f"'{selected_on}' chose evaluation {index + 1}"
        )
    value = curve[index]
    score = None if value is None else float(value)
    if score is None or not math.isfinite(score):
        raise _ScoreFailure(
            f"metric '{metric}' of '{output_feature}' is {value} on split '{split}' at the "
            f"best epoch {index + 1} (an undefined metric, e.g. roc_auc with a single class, "
            "or a diverged model)"
        )
    return {
        "metric_score": score,
        "best_epoch": index + 1,
        "selected_on": selected_on,
        "eval_stats": _eval_stats(stats, split, index),
    }


def score_trial(
    trial_dir_summary: dict,
    training_statistics: dict | None,
    *,
    output_feature: str,
    metric: str,
    split: str,
    trial_id: str,
    parameters: dict,
    round_index: int = 0,
    rung: int = 0,
    budget: int | None = None,
) -> dict:
    """The content of score.json for one trial (a failed trial is a result, not an error).

    `best_epoch` is 1-based, like the engine's. `selected_on` says which split chose it.
    `round` is the search round the values came from (0: known before any score);
    `rung` and `budget` the scheduler's rung the trial reached and its budget there.
    """
    summary = trial_dir_summary or {}
    score: dict[str, Any] = {
        "trial_id": trial_id,
        "status": "failed",
        "metric_score": None,
        "best_epoch": None,
        "split": split,
        "metric": metric,
        "output_feature": output_feature,
        "selected_on": None,
        "eval_stats": {},
        "duration_s": summary.get("duration_s"),
        "train_time_s": summary.get("train_time_s"),
        "error": None,
        "parameters": parameters,
        "round": round_index,
        "rung": rung,
        "budget": budget,
    }
    if summary.get("status") != "ok":
        score["error"] = summary.get("error") or "training failed (no error message recorded)"
        if summary.get("status") == "skipped":  # not trained in this run; a later run will
            score["status"] = "skipped"
        return score
    if training_statistics is None:
        score["error"] = "training_statistics.json is missing although training succeeded"
        return score
    try:
        score.update(
            _select(training_statistics, output_feature=output_feature, metric=metric, split=split)
        )
    except _ScoreFailure as failure:
        score["error"] = str(failure)
        return score
    score["status"] = "ok"
    return score


def strict_json(value: Any) -> Any:
    """Non-finite floats -> None, so files are standard JSON (and plots never see NaN)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): strict_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [strict_json(v) for v in value]
    return value


def write_score(path, score: dict) -> None:
    """Write score.json atomically (standard JSON: NaN/inf become null)."""
    write_json(path, strict_json(score))


def compare_rerun(original: dict, rerun: dict, rel_tol: float = 1e-9) -> dict:
    """How a re-run trial's score relates to the original run's.

    Matches when both failed, or both are ok with metric scores equal within `rel_tol`.
    """
    a, b = original.get("metric_score"), rerun.get("metric_score")
    same_status = original.get("status") == rerun.get("status")
    if not same_status:
        matches = False
    elif a is None or b is None:
        matches = a is None and b is None
    else:
        matches = math.isclose(float(a), float(b), rel_tol=rel_tol, abs_tol=0.0)
    return {
        "original_metric_score": a,
        "original_status": original.get("status"),
        "matches_original": matches,
    }
