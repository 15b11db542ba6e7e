"""What the Snakefile calls at parse time and at the end of a run."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from snaketune import io
from snaketune.errors import ConfigError
from snaketune.layout import StudyLayout
from snaketune.study import Study, Trial, load_study
from snaketune.study_lock import hold_study_lock, study_lock_notice
from snaketune.trial import PROGRAM_OUTPUT, result_artifacts

BUNDLED_CONFIG = Path("config") / "config.yaml"
SAMPLED_FILES = ("parameters.json", "config.yaml")


def load_workflow_study(
    basedir: Path,
    user_config: dict,
    cwd: Path,
    *,
    main_process: bool = False,
    dry_run: bool = False,
    retrain_missing: bool = False,
) -> Study:
    """The bundled config/config.yaml overlaid with the user's --config values.

    The main snakemake process (`main_process`, not a job that parses the Snakefile again
    on a cluster) locks the study folder for its lifetime; a dry run only reads, so it
    never takes the lock and only notes a run that holds it. `retrain_missing`: the
    Snakefile retrains, through unskip flags, the trials `retrain_trials` names; they
    are `study.retrain`.
    """
    bundled = io.read_yaml(basedir / BUNDLED_CONFIG) or {}
    study = load_study(bundled, basedir, dict(user_config), cwd)
    check_study_links(study.study_dir)
    if main_process and dry_run:
        study.notices.extend(filter(None, [study_lock_notice(study.study_dir)]))
    elif main_process:
        rule_path(study.study_dir, cwd)  # a folder the rules cannot name is never created
        study.notices.extend(hold_study_lock(study.study_dir, cwd))
    study.notices.extend(study.stale_notices())
    missing = missing_artifacts(study)
    if retrain_missing:
        study.retrain = retrain_trials(study, missing)
    study.notices.extend(artifact_notices(study, cwd, missing, study.retrain))
    return study


# --------------------------------------------------------------------------- study folder


def _is_program_output(parts: tuple[str, ...]) -> bool:
    """trials/<id>/output, reruns/<id>/output, best/output: engine command's own folders.

    Their links are the program's business: snaketune only deletes such a folder (which
    never follows a link) and copies it into best/ with its links as links.
    """
    if len(parts) == 3 and parts[0] in ("trials", "reruns"):
        return parts[2] == PROGRAM_OUTPUT
    return parts == ("best", PROGRAM_OUTPUT)


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _outside_link_message(link: str, target: str, study_dir: Path) -> str:
    return (
        f"{link} is a symbolic link to {target}, outside the study folder {study_dir}: "
        "snaketune would write results through it into that place. Replace the link by a "
        "real folder (move its content in) or delete it; to keep the results on another "
        "disk, set output_directory there, or make the study folder itself the link."
    )


def check_study_links(study_dir: Path) -> None:
    """Refuse a symbolic link inside an existing study folder that leads out of it.

    The study folder itself may be a link (the user's choice of disk). The walk uses
    os.scandir, never follows a link, and skips engine command's output folders.
    """
    study_dir = Path(study_dir)
    if not study_dir.is_dir():
        return
    root = os.path.realpath(study_dir)
    stack: list[tuple[str, tuple[str, ...]]] = [(str(study_dir), ())]
    while stack:
        folder, parts = stack.pop()
        try:
            with os.scandir(folder) as scan:
                entries = sorted(scan, key=lambda entry: entry.name)
        except OSError:  # unreadable: nothing is written into it either
            continue
        subfolders = []
        for entry in entries:
            if entry.is_symlink():
                target = os.path.realpath(entry.path)
                if not _inside(target, root):
                    raise ConfigError(_outside_link_message(entry.path, target, study_dir))
            elif entry.is_dir(follow_symlinks=False):
                child = (*parts, entry.name)
                if not _is_program_output(child):
                    subfolders.append((entry.path, child))
        stack.extend(reversed(subfolders))  # depth first, in name order


def _summary_status(path: Path) -> str | None:
    try:
        return json.loads(path.read_text(encoding="utf-8")).get("status")
    except (OSError, ValueError, AttributeError):
        return None


def missing_artifacts(study: Study) -> dict[str, list[str]]:
    """Trials whose train_summary.json says ok but whose folder lacks a file the result needs.

    Snakemake does not notice: those files are not outputs of the train rule (a failed
    trial has none). A trial whose current sampled/ folder is newer than its summary is
    trained again anyway and is left out.
    """
    needed = result_artifacts(study.settings.engine)
    found = {}
    for trial in study.trials:
        folder = Path(study.layout.trial(trial.trial_id))
        absent = [name for name in needed if not os.path.lexists(folder / name)]
        if not absent:
            continue
        summary = folder / "train_summary.json"
        sampled = Path(study.layout.sampled(trial.trial_id, trial.digest, "parameters.json"))
        try:
            current = summary.stat().st_mtime_ns >= sampled.stat().st_mtime_ns
        except OSError:
            continue
        if current and _summary_status(summary) == "ok":
            found[trial.trial_id] = absent
    return found


def retrain_trials(study: Study, missing: dict[str, list[str]]) -> set[str]:
    """The trials with missing files that an unskip flag can make Snakemake retrain.

    The flag works as for a skipped trial: as a target that is absent, it is written anew,
    newer than the summary. A trial that already has its flag (it was skipped once) would
    need the flag deleted, which parse time does not do, so it is left to --forcerun.
    """
    return {tid for tid in missing if not os.path.exists(study.layout.unskip_flag(tid))}


def _forcerun_command(study: Study, cwd: Path, trial_ids: list[str]) -> str:
    """The command that trains the trials again (parse time cannot see --forcerun)."""
    layout = StudyLayout(rule_path(study.study_dir, cwd))
    paths = " ".join(layout.trial_file(tid, "train_summary.json") for tid in trial_ids[:10])
    command = f"`snakemake --cores N --forcerun {paths} --config <the values of this run>`"
    if len(trial_ids) > 10:
        command += (
            f" ({len(trial_ids)} trials in all: name each one's train_summary.json after "
            "--forcerun, or use --forcerun train to train every trial again)"
        )
    return command


def artifact_notices(
    study: Study, cwd: Path, missing: dict[str, list[str]], retrained: set[str]
) -> list[str]:
    """One notice naming the finished trials whose files are gone, and how they are redone."""
    if not missing:
        return []
    listed = [f"{tid} ({', '.join(names)})" for tid, names in missing.items()]
    shown = "; ".join(listed[:10]) + ("; …" if len(listed) > 10 else "")
    notice = (
        f"{len(missing)} trial(s) whose train_summary.json says ok lack files their result "
        f"needs, in {study.layout.trials}: {shown}. Snakemake does not notice a "
        "deleted file that no rule names as an output; best/ gets no model from such a "
        "trial until it is trained again."
    )
    if retrained:
        notice += f" This run trains {', '.join(sorted(retrained))} again."
    rest = sorted(set(missing) - retrained)
    if rest:
        notice += f" To train {', '.join(rest[:10])}{', …' if len(rest) > 10 else ''} again: "
        notice += _forcerun_command(study, cwd, rest) + "."
    return [notice]


# --------------------------------------------------------------------------- sampled values


def missing_samplings(study: Study) -> list[Trial]:
    """The parse-time trials whose current sampled/<digest>/ folder lacks a file.

    A suggested trial's folder is written by a job (rule suggested), not here.
    """
    layout = study.layout
    return [
        trial
        for trial in study.trials
        if not trial.suggested
        and not all(
            os.path.exists(layout.sampled(trial.trial_id, trial.digest, name))
            for name in SAMPLED_FILES
        )
    ]


def write_samplings(study: Study, trials: list[Trial]) -> None:
    """Each trial's values into its sampled/<digest>/ folder; older samplings go.

    Written only when missing, so an unchanged trial keeps its folder's mtime (older
    than its results: not retrained). An older sampling is removed, so that returning
    to those values later writes them anew and trains the trial again.
    """
    files: dict[Path, str] = {}
    for trial in trials:
        parameters = Path(study.layout.sampled(trial.trial_id, trial.digest, "parameters.json"))
        folder = parameters.parent
        io.remove_siblings(folder)
        files[parameters] = io.json_text(trial.record)
        files[folder / "config.yaml"] = io.yaml_text(trial.config)
    if study.search is not None:
        search = Path(study.layout.search_file(study.search_digest))
        if not search.exists():
            files[search] = io.json_text(study.search)
    if study.rungs is not None:  # read by the promote jobs, as the rules name the folders
        layout = StudyLayout(rule_path(study.study_dir, Path.cwd()))
        text = io.json_text({t.trial_id: layout.prepared(t.prep_id) for t in study.trials})
        path = Path(study.layout.rung_preparations)
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            files[path] = text
    # parameters.json before config.yaml, in trial order: a kill midway leaves whole files
    io.write_texts(files)


def sampling_regex(study: Study, missing: list[Trial]) -> str:
    """A regex of the missing trials' ids ("" for none), for a dry run's rule sample."""
    if not missing:
        return ""
    if len(missing) == len(study.trials):  # (a suggested trial is never missing here)
        return r"trial_\d\d\d\d+"
    return "|".join(re.escape(trial.trial_id) for trial in missing)


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

    path = study.layout.leaderboard_tsv
    if not os.path.exists(path):
        return ""
    return leaderboard.format_summary(
        leaderboard.read_leaderboard(path), study_dir=study.study_dir, top=top
    )
