"""Engine `command`: any trainer, run as an external program once per trial.

The program gets the resolved trial config, the raw split files and an output
folder through placeholders in its argument list (never through a shell), and
leaves Ludwig-shaped statistics behind; the workflow scores them like any other
trial.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from snaketune import io, metrics
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
STATISTICS = "training_statistics.json"
MINIMAL_METRICS = "metrics.json"


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
    """Rows the program was handed as {validation_set}; 0 when the study has none."""
    import pyarrow.parquet as pq  # only a training job reads it

    path = prepared / "validation.parquet"
    return pq.read_metadata(path).num_rows if path.is_file() else 0


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


class CommandEngine:
    name = "command"
    feature_types = None  # the program decides which feature types it knows

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

    def train(
        self,
        config: dict[str, Any],
        prepared_dir: str,
        out_dir: str,
        *,
        seed: int,
        threads: int = 1,
        output_feature: str | None = None,
        metric: str | None = None,
        gpus: int = 0,
        config_path: str | None = None,
    ) -> dict[str, Any]:
        if not self.command:
            raise CommandFailed("engine command needs the study config key 'command'.")
        out = Path(out_dir)
        output = out / "output"
        shutil.rmtree(output, ignore_errors=True)
        output.mkdir(parents=True)
        if config_path is None:
            config_path = str(out / "config.yaml")
            io.write_yaml(config_path, config)
        prepared = Path(prepared_dir)
        feature, metric = output_feature or "combined", metric or "loss"
        values = {
            "config": str(Path(config_path).resolve()),
            "prepared": str(prepared.resolve()),
            "output": str(output.resolve()),
            "seed": str(seed),
            "threads": str(threads),
            "output_feature": feature,
            "metric": metric,
        }
        for split in SPLITS:
            values[f"{split}_set"] = str((prepared / f"{split}.parquet").resolve())
        self._run(expand_arguments(self.command, values), out, seed)
        stats, source = _find_statistics(output)
        if _validation_rows(prepared) > 0:
            check_validation(stats, source, out, feature, metric)
        io.write_json(out / STATISTICS, stats)
        return _epochs(stats, feature, metric)

    def _run(self, arguments: list[str], cwd: Path, seed: int) -> None:
        """Run the program with the user's environment untouched (plus the seed)."""
        print("running:", arguments, file=sys.stderr, flush=True)
        completed = subprocess.run(
            arguments,
            cwd=cwd,
            stdout=sys.stderr,
            stderr=subprocess.STDOUT,
            env=dict(os.environ, SNAKETUNE_SEED=str(seed)),
            check=False,
        )
        if completed.returncode != 0:
            raise CommandFailed(
                f"the command {arguments[0]!r} exited with code {completed.returncode} "
                "(its output is in the trial's train.log)."
            )


def _epochs(stats: dict, feature: str, metric: str) -> dict[str, Any]:
    """best_epoch/epochs_run for train_summary.json; scoring decides the trial's score."""
    curves = stats.get("validation") or stats.get("training") or {}
    curve = curves.get(feature, {}).get(metric) or []
    try:
        best = metrics.best_index(curve, metric) + 1
    except ValueError:  # no finite value: scoring reports it
        best = None
    return {"best_epoch": best, "epochs_run": len(curve) or None}


ENGINE = CommandEngine()
