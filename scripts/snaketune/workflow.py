"""What the Snakefile calls at parse time and at the end of a run."""

from __future__ import annotations

from pathlib import Path

from snaketune import io
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
    line only finds a rule whose output pattern is relative too.
    """
    try:
        return str(path.relative_to(cwd))
    except ValueError:
        return str(path)


def summary_text(study: Study, top: int = 5) -> str:
    """The top of the leaderboard, printed when a run ends (empty if there is none yet)."""
    from snaketune import leaderboard

    path = study.study_dir / "leaderboard.tsv"
    if not path.exists():
        return ""
    return leaderboard.format_summary(
        leaderboard.read_leaderboard(path), study_dir=study.study_dir, top=top
    )
