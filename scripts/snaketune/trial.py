"""One trial's jobs: train (failures recorded, not raised), score, and the study aggregate."""

from __future__ import annotations

import errno
import os
import shutil
import sys
import time
import traceback
from contextlib import nullcontext
from pathlib import Path
from typing import Any

from snaketune import io
from snaketune.backends.warm_start import STATE_FILE
from snaketune.layout import UNSKIP_FLAG
from snaketune.limits import TrialLimits, enforce, skip_reason

THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)
ARTIFACTS = ("model.joblib", "training_statistics.json")
PROGRAM_OUTPUT = "output"  # engine `command`: the external trainer's own folder
# Errors of the machine, not of the trial: a rerun on a healthy machine would train it.
# ENOMEM stays a trial result, like MemoryError: a configuration too large to fit.
ENVIRONMENT_ERRNOS = frozenset(
    code
    for code in (
        errno.ENOSPC,
        errno.EIO,
        getattr(errno, "EDQUOT", None),
        errno.EROFS,
    )
    if code is not None
)


def result_artifacts(engine_name: str) -> tuple[str, ...]:
    """The files in a trial folder that an `ok` result needs (for scoring and best/).

    Engine `command` leaves no model.joblib: its model is the program's output folder.
    """
    if engine_name == "command":
        return ("training_statistics.json", PROGRAM_OUTPUT)
    return ARTIFACTS


def _killed_worker(exc: BaseException) -> bool:
    """A process pool whose worker died (OOM killer, a signal): joblib/loky or stdlib.

    loky's other BrokenProcessPool errors (a task that cannot be unpickled) are bugs of
    the trial's code, so they stay trial results.
    """
    from concurrent.futures.process import BrokenProcessPool

    if not isinstance(exc, BrokenProcessPool):
        return False
    if "loky" in type(exc).__module__:
        return type(exc).__name__ == "TerminatedWorkerError"
    return True


def environment_error(exc: BaseException) -> BaseException | None:
    """The error of the machine behind `exc` (itself, or its __cause__/__context__ chain).

    A full disk, an I/O error, a read-only file system or a killed worker says nothing
    about the trial's configuration; recording it as `failed` would keep the failure
    after the machine is fixed.
    """
    seen: set[int] = set()
    stack = [exc]
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in ENVIRONMENT_ERRNOS:
            return current
        if _killed_worker(current):
            return current
        stack += [current.__cause__, current.__context__]
    return None


def _remove_partial_results(out_dir: Path, summary_path: str) -> None:
    """What a trial that did not finish left: nothing may pass for done (and space is freed).

    The program's output folder goes too; the next attempt starts it afresh anyway.
    """
    for name in ARTIFACTS:
        (out_dir / name).unlink(missing_ok=True)
    Path(summary_path).unlink(missing_ok=True)
    shutil.rmtree(out_dir / PROGRAM_OUTPUT, ignore_errors=True)


def _raise_if_environment(exc: Exception, trial_id: str, out_dir: Path, summary_path: str) -> None:
    """Re-raise an error of the machine, so the job fails instead of recording a result."""
    cause = environment_error(exc)
    if cause is None:
        return
    _remove_partial_results(out_dir, summary_path)
    print(
        f"snaketune: {trial_id}: {type(cause).__name__}: {cause} is an error of the machine, "
        "not a result of the trial: no train_summary.json is written and this job fails. "
        "Snakemake starts it again (`retries`); otherwise the next run trains the trial, "
        "once the cause (disk space, quota, a failing disk, a killed worker) is fixed.",
        file=sys.stderr,
        flush=True,
    )
    raise exc


def pin_threads(threads: int) -> None:
    """Limit BLAS/OpenMP pools to the CPUs the trial was given (before numpy loads).

    torch's intra- and inter-op pools are set by the torch engine (torch_settings);
    Hugging Face tokenizers would start a pool of their own per trial.
    """
    for name in THREAD_VARIABLES:
        os.environ[name] = str(threads)
    os.environ["TOKENIZERS_PARALLELISM"] = "false"


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
    from snaketune.backends import get_engine
    from snaketune.backends.base import Phases

    started = time.perf_counter()
    out_dir = Path(summary_path).parent
    for name in (*ARTIFACTS, STATE_FILE):  # never leave a stale model beside a new result
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
    reason = skip_reason(None, record["trial_id"])  # the study's trials, from the environment
    if reason is not None:
        summary.update(status="skipped", error=reason, duration_s=0.0)
        io.write_json(summary_path, summary)
        (out_dir / UNSKIP_FLAG).unlink(missing_ok=True)
        return summary
    phases = Phases()
    # A scheduler's rung: the trial's folder at the rung before, and whether to save state.
    warm = {}
    if record.get("keep_state"):
        warm["keep_state"] = True
    if record.get("continues"):
        warm["resume_from"] = record["continues"]
    try:
        with phases("imports"):  # the engine's modules (sklearn, torch, ...)
            engine = get_engine(engine_name, command=command)
        pools = nullcontext()
        if getattr(engine, "trains_in_process", True):  # duck-typed engines: in process
            from threadpoolctl import threadpool_limits

            pools = threadpool_limits(limits=threads)
        with pools, enforce(limits or TrialLimits()) as watched:
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
                phases=phases,
                **warm,
            )
            summary["train_time_s"] = round(time.perf_counter() - train_started, 4)
        summary.update(best_epoch=info.get("best_epoch"), epochs_run=info.get("epochs_run"))
        summary["stragglers_killed"] = info.get("stragglers_killed")
        if "units_trained" in info:  # where a warm start began, and what this job trained
            summary.update(resumed_at=info["resumed_at"], units_trained=info["units_trained"])
        summary["peak_rss_mb"] = round(watched["peak_mb"], 1)
    except Exception as exc:  # a failed trial is a result, not a crash
        traceback.print_exc()
        _raise_if_environment(exc, record["trial_id"], out_dir, summary_path)
        for name in (*ARTIFACTS, STATE_FILE):
            (out_dir / name).unlink(missing_ok=True)
        summary.update(status="failed", error=f"{type(exc).__name__}: {exc}")
    summary["duration_s"] = round(time.perf_counter() - started, 4)
    summary["timings_s"] = phases.rounded()  # where duration_s went (benchmarks read it)
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
        round_index=record.get("round", 0),
        rung=record.get("rung", 0),
        budget=record.get("budget"),
    )
    if original_path:
        result.update(score.compare_rerun(io.read_json(original_path), result))
    score.write_score(score_path, result)
    return result


def aggregate_study(
    *, score_paths: list[str], goal: str, hyperopt_config: dict[str, Any], out_dir: str
) -> list[dict[str, Any]]:
    """leaderboard.tsv/.md, hyperopt_statistics.json and best/ from every trial's score.

    With a scheduler, a trial has a score per rung it reached: its last one counts (a
    rung's slot that no trial reached is `unused` and left out).
    """
    from snaketune import leaderboard

    latest: dict[str, tuple[dict, Path]] = {}
    for path in score_paths:
        result = io.read_json(path)
        if result.get("status") == "unused":
            continue
        known = latest.get(result["trial_id"])
        if known is None or result.get("rung", 0) >= known[0].get("rung", 0):
            latest[result["trial_id"]] = (result, Path(path).parent)
    scores, trial_dirs, training_stats = [], {}, {}
    for result, trial_dir in latest.values():
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
