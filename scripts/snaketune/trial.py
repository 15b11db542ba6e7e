"""One trial's jobs: train (failures recorded, not raised), score, and the study aggregate."""

from __future__ import annotations

import os
import time
import traceback
from pathlib import Path
from typing import Any

from snaketune import io
from snaketune.limits import TrialLimits, enforce, skip_reason

THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)
ARTIFACTS = ("model.joblib", "training_statistics.json")
UNSKIP_FLAG = "unskipped.flag"


def pin_threads(threads: int) -> None:
    """Limit BLAS/OpenMP pools to the CPUs the trial was given (before numpy loads)."""
    for name in THREAD_VARIABLES:
        os.environ[name] = str(threads)


def run_trial(
    *,
    config_path: str,
    parameters_path: str,
    prepared_dir: str,
    summary_path: str,
    engine_name: str,
    threads: int,
    output_feature: str,
    metric: str,
    gpus: int = 0,
    command: list[str] | None = None,
    limits: TrialLimits | None = None,
) -> dict[str, Any]:
    """Train one trial and write train_summary.json, whatever happens inside the engine.

    A trial that must not start (time budget spent, too many failures) is `skipped`;
    its `unskipped.flag` goes, so the next run writes it anew and trains the trial.
    """
    from threadpoolctl import threadpool_limits

    from snaketune.backends import get_engine

    started = time.perf_counter()
    out_dir = Path(summary_path).parent
    for name in ARTIFACTS:  # never leave a stale model beside a new result
        (out_dir / name).unlink(missing_ok=True)
    config = io.read_yaml(config_path)
    record = io.read_json(parameters_path)
    # The trial folder's own copies: what this result was trained from.
    io.write_json(out_dir / "parameters.json", record)
    io.write_yaml(out_dir / "config.yaml", config)
    config_path = str(out_dir / "config.yaml")
    summary: dict[str, Any] = {
        "status": "ok",
        "error": None,
        "engine": engine_name,
        "threads": threads,
        "best_epoch": None,
        "epochs_run": None,
        "train_time_s": None,
        "peak_rss_mb": None,
    }
    trials_dir = Path(parameters_path).parents[3]  # <study>/trials/<id>/sampled/<digest>/
    reason = skip_reason(trials_dir, record["trial_id"])
    if reason is not None:
        summary.update(status="skipped", error=reason, duration_s=0.0)
        io.write_json(summary_path, summary)
        (out_dir / UNSKIP_FLAG).unlink(missing_ok=True)
        return summary
    try:
        engine = get_engine(engine_name, command=command)
        with threadpool_limits(limits=threads), enforce(limits or TrialLimits()) as watched:
            train_started = time.perf_counter()
            info = engine.train(
                config,
                prepared_dir,
                str(out_dir),
                seed=record["trial_seed"],
                threads=threads,
                output_feature=output_feature,
                metric=metric,
                gpus=gpus,
                config_path=config_path,
            )
            summary["train_time_s"] = round(time.perf_counter() - train_started, 4)
        summary.update(best_epoch=info.get("best_epoch"), epochs_run=info.get("epochs_run"))
        summary["peak_rss_mb"] = round(watched["peak_mb"], 1)
    except Exception as exc:  # a failed trial is a result, not a crash
        traceback.print_exc()
        for name in ARTIFACTS:
            (out_dir / name).unlink(missing_ok=True)
        summary.update(status="failed", error=f"{type(exc).__name__}: {exc}")
    summary["duration_s"] = round(time.perf_counter() - started, 4)
    io.write_json(summary_path, summary)
    return summary


def score_trial_dir(
    *,
    summary_path: str,
    parameters_path: str,
    score_path: str,
    output_feature: str,
    metric: str,
    split: str,
    original_path: str | None = None,
) -> dict[str, Any]:
    """score.json from a trial folder; a re-run also records whether it matches the original."""
    from snaketune import score

    summary = io.read_json(summary_path)
    record = io.read_json(parameters_path)
    stats_path = Path(summary_path).parent / "training_statistics.json"
    stats = io.read_json(stats_path) if summary["status"] == "ok" and stats_path.exists() else None
    result = score.score_trial(
        summary,
        stats,
        output_feature=output_feature,
        metric=metric,
        split=split,
        trial_id=record["trial_id"],
        parameters=record["parameters"],
    )
    if original_path:
        result.update(score.compare_rerun(io.read_json(original_path), result))
    score.write_score(score_path, result)
    return result


def aggregate_study(
    *, score_paths: list[str], goal: str, hyperopt_config: dict[str, Any], out_dir: str
) -> list[dict[str, Any]]:
    """leaderboard.tsv/.md, hyperopt_statistics.json and best/ from every trial's score."""
    from snaketune import leaderboard

    scores, trial_dirs, training_stats = [], {}, {}
    for path in score_paths:
        trial_dir = Path(path).parent
        result = io.read_json(path)
        scores.append(result)
        trial_dirs[result["trial_id"]] = str(trial_dir)
        stats_path = trial_dir / "training_statistics.json"
        training_stats[result["trial_id"]] = (
            io.read_json(stats_path) if stats_path.exists() else None
        )
    return leaderboard.build_leaderboard(
        scores,
        goal=goal,
        hyperopt_config=hyperopt_config,
        trial_dirs=trial_dirs,
        training_stats=training_stats,
        out_dir=out_dir,
    )
