"""Rule train: train one trial and score it; a failing trial is recorded, not raised.

A plain program (`python scripts/train.py ...`), not a Snakemake `script:`: it imports
no Snakemake, so a trial job costs its engine's imports and its training only. In a
local run it hands the trial to the study's warm worker (snaketune/warm.py), which has
those imports done already, and runs it here when there is none. Its directory is
sys.path[0], so the package next to it is imported.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path


def parse_arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name in ("config", "parameters", "prepared", "summary", "score", "log"):
        parser.add_argument(f"--{name}", required=True)
    parser.add_argument("--engine", required=True)
    parser.add_argument("--command", default="null", help="engine command's argv, as JSON")
    parser.add_argument("--output-feature", required=True)
    parser.add_argument("--metric", required=True)
    parser.add_argument("--split", required=True)
    parser.add_argument("--stage", default="trials", choices=("trials", "reruns"))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--gpus", type=int, default=0)
    parser.add_argument("--timeout-s", type=int, default=0, help="0: no limit")
    parser.add_argument("--memory-mb", type=int, default=0, help="0: no limit")
    return parser.parse_args(argv)


def original_score(args: argparse.Namespace) -> str | None:
    """A re-run trial is compared with the study's own result for it (a rule input)."""
    if args.stage != "reruns":
        return None
    from snaketune.limits import TRIALS_VARIABLE  # the study's trials folder

    trial_id = json.loads(Path(args.parameters).read_text(encoding="utf-8"))["trial_id"]
    return str(Path(os.environ[TRIALS_VARIABLE]) / trial_id / "score.json")


def unused_slot(args: argparse.Namespace) -> bool:
    """A rung's slot that no trial reached (failed trials never go on): files say so."""
    record = json.loads(Path(args.parameters).read_text(encoding="utf-8"))
    if not record.get("unused"):
        return False
    from snaketune import io

    out_dir = Path(args.summary).parent
    io.write_json(out_dir / "parameters.json", record)
    io.write_yaml(out_dir / "config.yaml", {})
    io.write_json(args.summary, {"status": "unused", "error": None})
    io.write_json(args.score, {"trial_id": None, "status": "unused"})
    return True


def prepared_dir(path: str) -> str:
    """A rung's slot names its prepared folder in a file (which trial it trains is known
    only once the rung before is scored); a trial names the folder itself."""
    if Path(path).is_file():
        return Path(path).read_text(encoding="utf-8").strip()
    return path


def announce(args: argparse.Namespace) -> None:
    """One line on the job's stdout (the terminal of a plain snakemake run) per trial.

    Never fails the job: the trial's files are written, and the line is only a display.
    """
    from snaketune.limits import TRIALS_VARIABLE

    trials_dir = os.environ.get(TRIALS_VARIABLE)
    if args.stage != "trials" or not trials_dir:
        return
    try:
        from snaketune.progress import record_trial

        line = record_trial(Path(trials_dir).parent, args.score)
    except OSError:
        return
    if line:
        print(line, flush=True)


def main(argv: list[str]) -> None:
    args = parse_arguments(argv)
    sys.stderr = open(args.log, "w", buffering=1)  # noqa: SIM115 (the job's whole life)
    if unused_slot(args):
        return

    from snaketune.trial import pin_threads

    pin_threads(args.threads)  # before numpy, BLAS or torch load

    from snaketune.limits import TrialLimits
    from snaketune.trial import run_trial, score_trial_dir

    run_trial(
        config_path=args.config,
        parameters_path=args.parameters,
        prepared_dir=prepared_dir(args.prepared),
        summary_path=args.summary,
        engine_name=args.engine,
        threads=args.threads,
        output_feature=args.output_feature,
        metric=args.metric,
        gpus=args.gpus,
        command=json.loads(args.command),
        limits=TrialLimits(timeout_s=args.timeout_s or None, memory_mb=args.memory_mb or None),
    )
    score_trial_dir(
        summary_path=args.summary,
        parameters_path=args.parameters,
        score_path=args.score,
        output_feature=args.output_feature,
        metric=args.metric,
        split=args.split,
        original_path=original_score(args),
    )
    announce(args)


if __name__ == "__main__":
    from snaketune.warm import run_warm

    code = run_warm(sys.argv[1:], parse_arguments(sys.argv[1:]).engine)
    if code is not None:
        sys.exit(code)
    main(sys.argv[1:])
    # Every result is on disk (written atomically, synced): skip the interpreter's
    # teardown, which for torch and sklearn takes about a second per trial.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
