import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(workflow.basedir) / "scripts"))

from snaketune.errors import ConfigError, DataError
from snaketune.limits import study_policy_environment
from snaketune.workflow import load_workflow_study, rule_path, summary_text

# The bundled config/config.yaml is read by the package, not by `configfile:`, so that
# its relative paths resolve against this clone while --config paths resolve against
# the working directory (the workflow also runs from outside the clone).
try:
    STUDY = load_workflow_study(
        Path(workflow.basedir),
        config,
        Path.cwd(),
        main_process=workflow.is_main_process,  # a job re-parsing the Snakefile: no lock
        dry_run=workflow.output_settings.dryrun,  # a dry run only reads: no lock
    )
    STUDY_DIR = rule_path(STUDY.study_dir, Path.cwd())
except (ConfigError, DataError) as exc:
    sys.stderr.write(f"snaketune: {exc}\n")
    sys.exit(1)
for notice in STUDY.notices:
    sys.stderr.write(f"snaketune: note: {notice}\n")

SKIPPED = STUDY.skipped_trials()
HYPEROPT = STUDY.hyperopt
EXECUTOR = HYPEROPT["executor"]

# Study-wide policy reaches the train jobs through the environment, not params: params
# are a rerun trigger, and changing a budget must not retrain finished trials. The clock
# for hyperopt.executor.time_budget_s starts with this snakemake run.
os.environ.update(
    study_policy_environment(
        EXECUTOR["time_budget_s"], STUDY.settings.max_failed_trials, time.time()
    )
)

if EXECUTOR["max_concurrent_trials"]:
    # A resource that every train job takes one unit of; --resources trial_slots=N overrides.
    workflow.global_resources.setdefault(
        "trial_slots", EXECUTOR["max_concurrent_trials"]
    )


wildcard_constraints:
    trial=r"trial_\d\d\d\d+",
    stage=r"trials|reruns",
    prep_id=r"prep_[0-9a-f]+",
    digest=r"[0-9a-f]+",


def get_final_outputs():
    """The study's outputs, and each trial's sampled/<digest>/ files as targets.

    As targets, a trial's current values are produced even where its older results
    exist; being newer than those, they make Snakemake retrain the trial by mtime alone,
    with or without its records of earlier runs.
    """
    sampled = [sampled_files(trial)["parameters"] for trial in STUDY.trials]
    unskip = [unskip_flag(tid) for tid in sorted(SKIPPED)]
    return [
        f"{STUDY_DIR}/study.yaml",
        f"{STUDY_DIR}/leaderboard.tsv",
        f"{STUDY_DIR}/hyperopt_statistics.json",
        f"{STUDY_DIR}/best",
        *sampled,
        *unskip,
    ]


def get_data_files(wildcards):
    """Data, not inputs: Snakemake reads braces in input paths as wildcards (x{y}.csv).

    The prepared folder's id hashes the data's content, so changed data still gets a
    prepare job of its own.
    """
    return {key: str(path) for key, path in STUDY.settings.data_files.items()}


def get_prep_key(wildcards):
    return STUDY.preps[wildcards.prep_id]


def get_sampled_trial(wildcards):
    """The trial a sampled/<digest>/ folder is for; an outdated digest has no rule."""
    trial = STUDY.trial(wildcards.trial)
    if wildcards.digest != trial.digest:
        raise ValueError(
            f"{wildcards.trial}: sampled/{wildcards.digest} is not this study's"
        )
    return trial


def get_trial_record(wildcards):
    return get_sampled_trial(wildcards).record


def get_trial_config(wildcards):
    return get_sampled_trial(wildcards).config


def sampled_files(trial):
    """The trial's values, in a folder named by everything its result depends on.

    A trial whose values, config, data or metric changed gets a new folder; the folder
    is a target of the run (get_final_outputs), so it is written anew and the trial is
    retrained, with or without Snakemake's own records of the last run.
    """
    folder = f"{STUDY_DIR}/trials/{trial.trial_id}/sampled/{trial.digest}"
    return {
        "config": f"{folder}/config.yaml",
        "parameters": f"{folder}/parameters.json",
    }


def unskip_flag(trial_id):
    return f"{STUDY_DIR}/trials/{trial_id}/unskipped.flag"


def get_sampled(wildcards):
    """The trial's values; for a trial a run once skipped, also its unskip flag.

    A skipped trial's job removed the flag, so the next run (which has it as a target)
    writes it anew, newer than the skipped summary: the trial is trained then. The flag
    stays an input afterwards, so the set of inputs does not change again.
    """
    files = sampled_files(STUDY.trial(wildcards.trial))
    flag = unskip_flag(wildcards.trial)
    if wildcards.stage == "trials" and (
        wildcards.trial in SKIPPED or os.path.exists(flag)
    ):
        files["unskip"] = flag
    return files


def get_command(wildcards):
    """A function, so Snakemake does not read the {placeholders} as wildcards."""
    return STUDY.settings.command


def get_output_feature(wildcards):
    """A function: Snakemake formats plain string params, and a name may hold braces."""
    return HYPEROPT["output_feature"]


def get_prepared_dir(wildcards):
    return f"{STUDY_DIR}/prepared/{STUDY.trial(wildcards.trial).prep_id}"


def get_original_score(wildcards):
    """A re-run trial is compared with the study's own result for it."""
    if wildcards.stage == "reruns":
        return {"original": f"{STUDY_DIR}/trials/{wildcards.trial}/score.json"}
    return {}


def get_train_resources():
    """Resources, not params: changing a limit must not retrain finished trials."""
    settings = STUDY.settings
    resources = {"trial_slots": 1}
    if EXECUTOR["gpu_resources_per_trial"]:
        resources["gpu"] = EXECUTOR["gpu_resources_per_trial"]
    if settings.trial_timeout_s:
        resources["trial_timeout_s"] = settings.trial_timeout_s
        resources["runtime"] = (
            settings.trial_timeout_s // 60 + 5
        )  # minutes, for clusters
    if settings.trial_memory_mb:
        resources["trial_memory_mb"] = settings.trial_memory_mb
        resources["mem_mb"] = settings.trial_memory_mb + 512
    return resources


def get_all_scores():
    return [f"{STUDY_DIR}/trials/{t.trial_id}/score.json" for t in STUDY.trials]


def print_summary():
    text = summary_text(STUDY)
    if text:
        print(text)
