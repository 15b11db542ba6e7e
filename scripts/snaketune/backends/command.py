"""Engine `command`: any trainer, run as an external program once per trial.

The program gets the resolved trial config, the raw split files and an output
folder through placeholders in its argument list (never through a shell), and
leaves Ludwig-shaped statistics behind; the workflow scores them like any other
trial.

Under a scheduler, `{resume}` is the program's output folder of the trial's rung before
(empty at rung 0, or when that folder is gone), for a program that continues its own
checkpoint; a program that ignores it trains each rung anew for the rung's budget.

The program runs supervised (`backends/processes.py`): in a session of its own, its
output capped into train.log, and every process it leaves running ended and named.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from pathlib import Path
from typing import Any

from snaketune import io
from snaketune.backends import processes
from snaketune.backends.base import STATISTICS_FILE, Engine, TrainJob
from snaketune.backends.curves import best_evaluation, selection_split
from snaketune.errors import ConfigError

PLACEHOLDERS = (
    "config",
    "training_set",
    "validation_set",
    "test_set",
    "prepared",
    "output",
    "seed",
    "threads",
    "output_feature",
    "metric",
    "resume",
)
SPLITS = ("training", "validation", "test")
# Ludwig's default encoder/decoder per feature type: the program is expected to be
# Ludwig-like, so defaults expansion uses Ludwig's notion of "the default encoder".
LUDWIG_ENCODERS = {
    "text": "parallel_cnn",
    "category": "dense",
    "number": "passthrough",
    "binary": "passthrough",
}
LUDWIG_DECODERS = {"category": "classifier", "binary": "regressor", "number": "regressor"}
STATISTICS = STATISTICS_FILE
MINIMAL_METRICS = "metrics.json"
OUTPUT_FOLDER = "output"  # the program's own folder in the trial folder


class CommandFailed(RuntimeError):
    """The trainer program exited non-zero or left no statistics."""


def check_command(command: Any) -> list[str]:
    """The study config's `command`: a non-empty list of strings, known placeholders only."""
    if (
        not isinstance(command, list)
        or not command
        or not all(isinstance(arg, str) and arg for arg in command)
    ):
        raise ConfigError(
            f"command: {command!r} must be a non-empty list of strings, e.g. "
            "[python, train.py, '{config}', '{output}'] (engine: command)."
        )
    for arg in command:
        for name in re.findall(r"\{([^{}]*)\}", arg):
            if name not in PLACEHOLDERS:
                raise ConfigError(
                    f"command: unknown placeholder {{{name}}} in {arg!r}; allowed: "
                    + ", ".join(f"{{{p}}}" for p in PLACEHOLDERS)
                    + "."
                )
    program = command[0]
    if shutil.which(program) is None and not Path(program).is_file():
        raise ConfigError(
            f"command: program {program!r} is not on PATH and is not a file; give a program "
            "name on PATH or a path to an executable."
        )
    return list(command)


def expand_arguments(command: list[str], values: dict[str, str]) -> list[str]:
    """Replace {placeholders} textually in each argument; nothing is evaluated."""
    expanded = []
    for arg in command:
        for name, value in values.items():
            arg = arg.replace(f"{{{name}}}", value)
        expanded.append(arg)
    return expanded


def _as_curves(minimal: dict) -> dict:
    """metrics.json (one value per metric) -> Ludwig's statistics with one evaluation."""
    stats: dict[str, Any] = {"evaluation_frequency": {"frequency": 1, "period": "epoch"}}
    for split in SPLITS:
        if split in minimal:
            stats[split] = {
                feature: {
                    name: value if isinstance(value, list) else [value]
                    for name, value in values.items()
                }
                for feature, values in minimal[split].items()
            }
    return stats


def _find_statistics(output: Path) -> tuple[dict, Path]:
    """The program's statistics and the file they came from, which messages name."""
    direct = output / STATISTICS
    found = [direct] if direct.is_file() else sorted(output.rglob(STATISTICS))
    if found:
        return io.read_json(found[0]), found[0]
    if (output / MINIMAL_METRICS).is_file():
        return _as_curves(io.read_json(output / MINIMAL_METRICS)), output / MINIMAL_METRICS
    raise CommandFailed(
        f"the command finished but wrote neither {STATISTICS} (Ludwig's shape, anywhere under "
        f"the output folder) nor {MINIMAL_METRICS} into {output}."
    )


def _has_values(split_stats: Any) -> bool:
    """Whether a split's statistics hold at least one evaluated value for any metric."""
    if not isinstance(split_stats, dict):
        return False
    return any(
        (bool(value) if isinstance(value, list) else isinstance(value, int | float))
        for curves in split_stats.values()
        if isinstance(curves, dict)
        for value in curves.values()
    )


def _validation_rows(prepared: Path) -> int:
    """Rows the program was handed as {validation_set}; 0 when the study has none.

    From the prepare step's metadata.json: reading the parquet file's footer would load
    pyarrow, a third of a second in a job that only runs a program.
    """
    path = prepared / "validation.parquet"
    if not path.is_file():
        return 0
    if (prepared / "metadata.json").is_file():
        return int(io.read_json(prepared / "metadata.json")["rows"].get("validation", 0))
    import pyarrow.parquet as pq  # a prepared folder not written by the prepare step

    return pq.read_metadata(path).num_rows


def check_validation(stats: dict, source: Path, trial_dir: Path, feature: str, metric: str) -> None:
    """Fail a trial whose program was given validation rows but reported nothing on them.

    Scoring would otherwise pick the best epoch on the training curve, or blame the split
    for having no rows. The usual cause is `ludwig train` running on a Ray cluster.
    """
    if _has_values(stats.get("validation")):
        return
    splits = ", ".join(s for s in SPLITS if _has_values(stats.get(s))) or "none"
    raise CommandFailed(
        f"the program's {source.name} ({source.relative_to(trial_dir)}) has no validation "
        f"values for {feature}.{metric}; its splits: {splits}. If the program is `ludwig "
        "train`, pin the local backend (--backend local): on Ray (RAY_ADDRESS set, or a "
        "cluster running on this machine) its statistics hold no validation curve."
    )


class CommandEngine(Engine):
    """Runs the study's `command` per trial; the program owns the model config."""

    name = "command"
    feature_types = None  # the program decides which feature types it knows
    trains_in_process = False

    def __init__(self, command: list[str] | None = None) -> None:
        self.command = command

    def default_encoder(self, feature_type: str) -> str | None:
        return LUDWIG_ENCODERS.get(feature_type)

    def default_decoder(self, feature_type: str) -> str | None:
        return LUDWIG_DECODERS.get(feature_type)

    def validate_config(self, config: dict[str, Any]) -> None:
        """The program owns the model config; only the parts snaketune reads are checked."""
        outputs = config.get("output_features") or []
        if len(outputs) != 1:
            raise ConfigError(
                f"output_features: {len(outputs)} output features; snaketune scores exactly "
                "one for now."
            )

    def config_notices(self, config: dict[str, Any]) -> list[str]:
        """None: the program fills in its own defaults."""
        return []

    def preprocessing_key(self, config: dict[str, Any]) -> dict[str, Any]:
        def columns(section: str) -> list[dict]:
            return [
                {k: f[k] for k in ("name", "type", "column") if k in f}
                for f in config.get(section) or []
            ]

        preprocessing = config.get("preprocessing") or {}
        return {
            "preprocessing": {k: v for k, v in preprocessing.items() if k == "split"},
            "input_features": columns("input_features"),
            "output_features": columns("output_features"),
        }

    def prepare(self, config, splits, out_dir, seed) -> dict[str, Any]:
        return {}  # the program reads the raw split files that prepare already wrote

    def train_job(self, job: TrainJob) -> dict[str, Any]:
        if not self.command:
            raise CommandFailed("engine command needs the study config key 'command'.")
        out = job.out_dir
        output = out / OUTPUT_FOLDER
        shutil.rmtree(output, ignore_errors=True)
        output.mkdir(parents=True)
        config_path = job.config_path
        if config_path is None:
            config_path = str(out / "config.yaml")
            io.write_yaml(config_path, job.config)
        prepared = job.prepared_dir
        feature, metric = job.output_feature or "combined", job.metric or "loss"
        values = {
            "config": str(Path(config_path).resolve()),
            "prepared": str(prepared.resolve()),
            "output": str(output.resolve()),
            "seed": str(job.seed),
            "threads": str(job.threads),
            "output_feature": feature,
            "metric": metric,
            "resume": _previous_output(job.resume_from),
        }
        for split in SPLITS:
            values[f"{split}_set"] = str((prepared / f"{split}.parquet").resolve())
        ended = self._run(expand_arguments(self.command, values), out, job.seed)
        stats, source = _find_statistics(output)
        if _validation_rows(prepared) > 0:
            check_validation(stats, source, out, feature, metric)
        io.write_json(out / STATISTICS, stats)
        return {**_epochs(stats, feature, metric), "stragglers_killed": len(ended)}

    def _run(self, arguments: list[str], cwd: Path, seed: int) -> list[tuple[int, str]]:
        """Run the program with the user's environment untouched (plus the seed).

        Returns the processes it left running, which were ended (processes.run_program).
        """
        print("running:", arguments, file=sys.stderr, flush=True)
        env = dict(os.environ, SNAKETUNE_SEED=str(seed))
        returncode, ended = processes.run_program(arguments, cwd, env)
        if returncode != 0:
            also = (
                f"; snaketune {processes.ended_text(ended, named=processes.NAMED_IN_REASON)}"
                if ended
                else ""
            )
            raise CommandFailed(
                f"the command {arguments[0]!r} exited with code {returncode} (its output "
                f"is in the trial's train.log){also}."
            )
        if ended:
            print(
                "snaketune: the command exited with code 0 but left those processes running; "
                "the trial counts, but a program should wait for the processes it starts (or "
                "end them) before it exits.",
                file=sys.stderr,
                flush=True,
            )
        return ended


def _previous_output(folder: Path | None) -> str:
    """The program output folder of the trial's rung before, or "" when there is none."""
    if folder is None or not (folder / OUTPUT_FOLDER).is_dir():
        return ""
    return str((folder / OUTPUT_FOLDER).resolve())


def _epochs(stats: dict, feature: str, metric: str) -> dict[str, Any]:
    """best_epoch/epochs_run for train_summary.json; scoring decides the trial's score."""
    curves = stats.get(selection_split(stats)) or {}
    curve = curves.get(feature, {}).get(metric) or []
    try:
        best = best_evaluation(curve, metric)
    except ValueError:  # no finite value: scoring reports it
        best = None
    return {"best_epoch": best, "epochs_run": len(curve) or None}


ENGINE = CommandEngine()
