"""The `snaketune` command: Ludwig's `hyperopt` and `visualize`, plus `status` and `export`.

Flags take Ludwig's names (`--output_directory`) and the dashed forms
(`--output-directory`). `hyperopt` turns them into a Snakemake command line and passes
every option it does not know on to Snakemake. Ludwig flags that have no meaning here
are refused with the reason, never accepted and ignored.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from snaketune.errors import ConfigError, DataError

# Ludwig's `hyperopt` flags snaketune does not take: short form, and why (one sentence).
UNSUPPORTED_HYPEROPT_FLAGS = {
    "training_set_metadata": (None, "preprocessing runs once per study from the data itself"),
    "model_name": (None, "each trial's model is trials/<trial>/model.joblib, best/ the best"),
    "skip_save_hyperopt_statistics": ("-sshs", "hyperopt_statistics.json is always written"),
    "skip_save_processed_input": ("-sspi", "the prepared data is the study's prepared/"),
    "skip_save_training_description": ("-sstd", "trials always keep their files"),
    "skip_save_training_statistics": ("-ssts", "trials always keep their files"),
    "skip_save_model": ("-ssm", "trials always keep their files"),
    "skip_save_progress": ("-ssp", "trials always keep their files"),
    "skip_save_log": ("-ssl", "trials always keep their files"),
    "model_load_path": ("-mlp", "Ludwig ignores it too"),
    "model_resume_path": ("-mrp", "a study resumes by running the command again"),
    "hyperopt_log_verbosity": ("-hlv", "--show_snakemake_output shows Snakemake's records"),
    "gpus": ("-g", "GPUs per trial are the executor's gpu_resources_per_trial"),
    "gpu_memory_limit": ("-gml", "GPU memory is not limited per trial"),
    "backend": ("-b", "the backend is Snakemake: --profile submits to a cluster"),
    "logging_level": ("-l", "--show_snakemake_output shows Snakemake's records"),
}
VISUALIZATIONS = ("hyperopt_report", "hyperopt_hiplot")


def _flag(parser: argparse.ArgumentParser, name: str, *short: str, **options) -> None:
    """Add --name_with_underscores and its --dashed-form (and short forms)."""
    names = [*short, name]
    if "_" in name:
        names.append(name.replace("_", "-"))
    parser.add_argument(*names, **options)


def _hyperopt_parser(commands) -> None:
    parser = commands.add_parser(
        "hyperopt",
        help="run a study (Snakemake runs the workflow)",
        description="Run a hyperparameter search; unknown options go to Snakemake.",
    )
    _flag(parser, "--config", "-c", help="the Ludwig model config with its hyperopt section")
    _flag(parser, "--config_str", "-cs", help="the model config as a YAML or JSON string")
    for name in ("dataset", "training_set", "validation_set", "test_set", "data_format"):
        _flag(parser, f"--{name}")
    _flag(parser, "--output_directory", default="results")
    _flag(parser, "--experiment_name", default="hyperopt")
    _flag(parser, "--random_seed", "-rs", type=int)
    _flag(parser, "--engine", help="sklearn, torch or command")
    _flag(parser, "--cores", default="all", help="CPUs for trials (default: all)")
    _flag(parser, "--profile", help="a Snakemake profile, e.g. profiles/slurm")
    _flag(parser, "--dry_run", "-n", action="store_true", help="show the jobs, run none")
    _flag(
        parser,
        "--show_snakemake_output",
        "-v",
        action="store_true",
        help="Snakemake's job records on the terminal (no progress bar)",
    )
    for name, (short, _) in UNSUPPORTED_HYPEROPT_FLAGS.items():
        shorts = (short,) if short else ()
        _flag(parser, f"--{name}", *shorts, nargs="?", const=True, help=argparse.SUPPRESS)


def _visualize_parser(commands) -> None:
    parser = commands.add_parser("visualize", help="draw a hyperopt_statistics.json")
    _flag(parser, "--visualization", "-vis", required=True, choices=VISUALIZATIONS)
    _flag(parser, "--hyperopt_stats_path", "-hyp", required=True)
    _flag(parser, "--output_directory", "-od", help="default: report/ next to the file")
    _flag(parser, "--file_format", "-ff", default="png", choices=("png", "pdf"))


def _status_parser(commands) -> None:
    parser = commands.add_parser("status", help="the state of a study, running or not")
    parser.add_argument("study", help="the study folder, <output_directory>/<experiment_name>")
    _flag(parser, "--top", type=int, default=5)


def _export_parser(commands) -> None:
    parser = commands.add_parser("export", help="write a study for Optuna's tools")
    _flag(parser, "--optuna", required=True, metavar="JOURNAL", help="the journal file to write")
    parser.add_argument(
        "study", nargs="?", default=".", help="a study folder or hyperopt_statistics.json"
    )
    _flag(parser, "--study_name", help="default: the study folder's name")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="snaketune", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for add in (_hyperopt_parser, _visualize_parser, _status_parser, _export_parser):
        add(commands)
    return parser


def _refuse_unsupported(args: argparse.Namespace) -> None:
    used = [name for name in UNSUPPORTED_HYPEROPT_FLAGS if getattr(args, name) is not None]
    if used:
        reasons = "; ".join(f"--{name}: {UNSUPPORTED_HYPEROPT_FLAGS[name][1]}" for name in used)
        raise ConfigError(
            f"snaketune hyperopt does not take Ludwig's {reasons}. `snaketune hyperopt --help` "
            "lists the flags it takes; any other option goes to Snakemake."
        )


def _study_config(args: argparse.Namespace, model_config: str) -> dict[str, str]:
    config = {"model_config": model_config}
    for key in ("dataset", "training_set", "validation_set", "test_set", "data_format"):
        if getattr(args, key):
            config[key] = getattr(args, key)
    config["output_directory"] = args.output_directory
    config["experiment_name"] = args.experiment_name
    if args.random_seed is not None:
        config["random_seed"] = str(args.random_seed)
    if args.engine:
        config["engine"] = args.engine
    return config


def _check_study_config(config: dict[str, str], snakefile: Path) -> None:
    """The study config's own checks, before anything is written (the log folder, a
    --config_str file): a bad experiment_name or output_directory never makes a folder.
    Snakemake's run checks the rest (model config, data) as it always does."""
    from snaketune import config as study_config
    from snaketune import io
    from snaketune.workflow import BUNDLED_CONFIG, rule_path

    user = {k: int(v) if k == "random_seed" else v for k, v in config.items()}
    basedir = snakefile.parent
    bundled = io.read_yaml(basedir / BUNDLED_CONFIG) or {}
    merged = study_config.merge_study_layers(bundled, basedir, user, Path.cwd())
    rule_path(study_config.load_study_config(merged).study_dir, Path.cwd())


def _config_str_file(args: argparse.Namespace) -> Path:
    """--config_str as it will be stored: beside the study folder, as written."""
    return Path(args.output_directory) / f"{args.experiment_name}.config.yaml"


def _model_config(args: argparse.Namespace, snakefile: Path) -> dict[str, str]:
    """The study config, checked; --config_str is written once the check passed."""
    if args.config and args.config_str:
        raise ConfigError("give --config or --config_str, not both.")
    if args.config:
        config = _study_config(args, args.config)
        _check_study_config(config, snakefile)
        return config
    if not args.config_str:
        raise ConfigError(
            "snaketune hyperopt needs the model config: --config FILE (a Ludwig config with "
            "a hyperopt section) or --config_str 'YAML'."
        )
    # Checked as a file first: the model config's loader reads it as it reads any file
    # (alias bombs, huge counts), and the study config is checked before the copy.
    with tempfile.TemporaryDirectory() as tmp:
        draft = Path(tmp) / "config.yaml"
        draft.write_text(args.config_str)
        _check_study_config(_study_config(args, str(draft)), snakefile)
    target = _config_str_file(args)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(args.config_str)
    return _study_config(args, str(target))


def hyperopt(args: argparse.Namespace, extra: list[str]) -> int:
    from snaketune import run_study

    _refuse_unsupported(args)
    if not run_study.SNAKEFILE.is_file():
        raise ConfigError(
            f"snaketune hyperopt runs the workflow of the clone it is installed from "
            f"(pip install -e <clone>), and {run_study.SNAKEFILE} is not there."
        )
    cores = str(os.cpu_count() or 1) if args.cores == "all" else args.cores
    command = run_study.snakemake_command(
        _model_config(args, run_study.SNAKEFILE),
        cores=cores,
        profile=args.profile,
        dry_run=args.dry_run,
        extra=extra,
    )
    study_dir = Path(args.output_directory) / args.experiment_name
    if args.dry_run or args.show_snakemake_output:
        code = run_study.run_plain(command)
    else:
        code = run_study.run_with_progress(command, study_dir)
    if code == 0 and not args.dry_run:
        sys.stdout.write(run_study.final_text(study_dir))
    return code


def _study_folder(source: str) -> Path:
    """The folder a statistics file (or a study folder) names: the study's name, and
    where visualize writes by default."""
    path = Path(source)
    return path if path.is_dir() else path.parent


def visualize(args: argparse.Namespace) -> int:
    from snaketune.report.build import build_report, write_hiplot
    from snaketune.report.table import load_statistics

    table = load_statistics(args.hyperopt_stats_path)
    stats_dir = _study_folder(args.hyperopt_stats_path)
    out_dir = Path(args.output_directory) if args.output_directory else stats_dir / "report"
    title = stats_dir.resolve().name
    if args.visualization == "hyperopt_hiplot":
        path = write_hiplot(table, out_dir, title=title)
    else:
        path = build_report(table, out_dir, fmt=args.file_format, title=title)
    print(f"Wrote {path}")
    return 0


def status(args: argparse.Namespace) -> int:
    from snaketune.study_status import format_status, read_status

    print(format_status(read_status(args.study), top=args.top))
    return 0


def export(args: argparse.Namespace) -> int:
    from snaketune.report.optuna_export import write_journal
    from snaketune.report.table import load_statistics

    table = load_statistics(args.study)
    name = args.study_name or _study_folder(args.study).resolve().name
    count = write_journal(table, Path(args.optuna), study_name=name)
    print(
        f"Wrote {count} trials of study {name!r} to {args.optuna}; open it with "
        f"`optuna-dashboard {args.optuna}` or optuna.load_study(study_name={name!r}, "
        "storage=JournalStorage(JournalFileBackend(path)))."
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and args.command != "hyperopt":
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        if args.command == "hyperopt":
            return hyperopt(args, extra)
        return {"visualize": visualize, "status": status, "export": export}[args.command](args)
    except (ConfigError, DataError) as exc:
        sys.stderr.write(f"snaketune: {exc}\n")
        return 2


if __name__ == "__main__":
    sys.exit(main())
