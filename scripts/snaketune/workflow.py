"""What the Snakefile calls at parse time and at the end of a run."""

from __future__ import annotations

from pathlib import Path

from snaketune import io
from snaketune.errors import ConfigError
from snaketune.study import Study, load_study

BUNDLED_CONFIG = Path("config") / "config.yaml"


def load_workflow_study(basedir: Path, user_config: dict, cwd: Path) -> Study:
    """The bundled config/config.yaml overlaid with the user's --config values."""
    bundled = io.read_yaml(basedir / BUNDLED_CONFIG) or {}
    study = load_study(bundled, basedir, dict(user_config), cwd)
    study.notices.extend(study.stale_notices())
    return study


def rule_path(path: Path, cwd: Path) -> str:
    """The path as rules should name it: relative when under the working directory.

    Snakemake matches targets to outputs as written, so `results/x/...` on the command
    line only finds a rule whose output pattern is relative too. Snakemake reads braces in
    a file pattern as wildcards, with no way to escape them, so a study folder whose path
    holds one is refused.
    """
    try:
        text = str(path.relative_to(cwd))
    except ValueError:
        text = str(path)
    if "{" in text or "}" in text:
        raise ConfigError(
            f"output_directory: the study folder {text!r} holds '{{' or '}}', which Snakemake "
            "reads as wildcards in every file name of the study (and cannot escape); choose "
            "an output_directory without braces."
        )
    return text


def summary_text(study: Study, top: int = 5) -> str:
    """The top of the leaderboard, printed when a run ends (empty if there is none yet)."""
    from snaketune import leaderboard

    path = study.study_dir / "leaderboard.tsv"
    if not path.exists():
        return ""
    return leaderboard.format_summary(
        leaderboard.read_leaderboard(path), study_dir=study.study_dir, top=top
    )
