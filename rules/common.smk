import json
import os
import sys
import time
from pathlib import Path

TRIAL_GROUP = "trials"


def start_study():
    """Parse time: everything this workflow does besides defining rules, in one place.

    It puts the package on sys.path, loads and checks the study (the bundled
    config/config.yaml is read by the package, not by `configfile:`, so that its
    relative paths resolve against this clone while --config paths resolve against the
    working directory), prints its notices, hands the study-wide policy to the train
    jobs through the environment (not params: params are a rerun trigger, and changing
    a budget must not retrain finished trials; the clock for time_budget_s starts with
    this snakemake run) and declares the trial_slots resource. A bad study ends the run
    here with one paragraph, before any job.
    """
    sys.path.insert(0, str(Path(workflow.basedir) / "scripts"))
    from snaketune.errors import ConfigError, DataError
    from snaketune.layout import StudyLayout
    from snaketune.limits import study_policy_environment
    from snaketune.workflow import load_workflow_study, rule_path

    try:
        study = load_workflow_study(
            Path(workflow.basedir),
            config,
            Path.cwd(),
            main_process=workflow.is_main_process,  # a job re-parsing the Snakefile: no lock
            dry_run=workflow.output_settings.dryrun,  # a dry run only reads: no lock
            retrain_missing=True,  # finished trials whose files are gone: STUDY.retrain
        )
        layout = StudyLayout(rule_path(study.study_dir, Path.cwd()))
    except (ConfigError, DataError) as exc:
        sys.stderr.write(f"snaketune: {exc}\n")
        sys.exit(1)
    for notice in study.notices:
        sys.stderr.write(f"snaketune: note: {notice}\n")
    executor = study.hyperopt["executor"]
    os.environ.update(
        study_policy_environment(
            executor["time_budget_s"],
            study.settings.max_failed_trials,
            time.time(),
            trials_dir=study.layout.trials,
        )
    )
    if executor["max_concurrent_trials"]:
        # A resource that every train job takes one unit of; --resources trial_slots=N overrides.
        workflow.global_resources.setdefault(
            "trial_slots", executor["max_concurrent_trials"]
        )
    return study, layout


def sample_trials(study):
    """Write each trial's sampled values at parse time; in a dry run, name the missing.

    Parse time, not a job per trial: the values are known here, and a job would cost a
    process per trial. Only the run that holds the study lock writes; a dry run writes
    nothing and returns a regex of the trials whose values are not on disk yet, for
    rule sample to show as jobs ("" when there are none or it is not a dry run).
    """
    from snaketune.workflow import missing_samplings, sampling_regex, write_samplings

    missing = missing_samplings(study)
    if workflow.output_settings.dryrun:
        return sampling_regex(study, missing)
    if workflow.is_main_process:
        try:
            write_samplings(study, missing)
        except OSError as exc:
            sys.stderr.write(
                f"snaketune: cannot write the trials' sampled values: {exc}\n"
            )
            sys.exit(1)
    return ""


STUDY, LAYOUT = start_study()
# Trials whose sampled values a dry run did not find on disk (a regex for rule sample).
DRY_RUN_SAMPLINGS = sample_trials(STUDY)
# Trials whose unskip flag is a target: skipped ones, and finished ones that lost files.
UNSKIP = STUDY.skipped_trials() | STUDY.retrain
HYPEROPT = STUDY.hyperopt
EXECUTOR = HYPEROPT["executor"]
# The conda env of the jobs that run the engine: torch needs PyTorch; sklearn and command
# get envs/sklearn.yaml (engine command runs the user's program, which brings its own
# software: the env only holds snaketune's dependencies).
SKLEARN_ENV = "../envs/sklearn.yaml"
TORCH_ENV = "../envs/torch.yaml"
ENGINE_ENV = TORCH_ENV if STUDY.settings.engine == "torch" else SKLEARN_ENV
# A round's job checks its suggestions with the engine; optuna's GP sampler needs torch.
SEARCH_ENV = TORCH_ENV if HYPEROPT["search_alg"]["sampler"] == "gp" else ENGINE_ENV
# A train job runs scripts/train.py as a program (no Snakemake import): under
# --sdm conda with the env's python, otherwise with the python running snakemake. What
# its command line needs besides the job's own files reaches it through the environment
# (like the study policy; a cluster job sets it again when it reads this file): the
# command and the split are rerun triggers already, through the sampled/<digest>/ name.
JOB_PYTHON = (
    "python"
    if "conda"
    in {str(m).lower() for m in workflow.deployment_settings.deployment_method}
    else sys.executable
)
os.environ.update(
    SNAKETUNE_PYTHON=JOB_PYTHON,
    SNAKETUNE_TRAIN=str(Path(workflow.basedir) / "scripts" / "train.py"),
    SNAKETUNE_ROUNDS=str(Path(workflow.basedir) / "scripts" / "rounds.py"),
    SNAKETUNE_REPORT=str(Path(workflow.basedir) / "scripts" / "report.py"),
    SNAKETUNE_COMMAND=json.dumps(STUDY.settings.command),
    SNAKETUNE_SPLIT=HYPEROPT["split"],
)
TRAIN_COMMAND = (
    '"$SNAKETUNE_PYTHON" "$SNAKETUNE_TRAIN" --log {log:q}'
    " --config {input.config:q} --parameters {input.parameters:q}"
    " --prepared {input.prepared:q} --summary {output.summary:q} --score {output.score:q}"
    ' --engine {params.engine:q} --command "$SNAKETUNE_COMMAND"'
    " --output-feature {params.output_feature:q} --metric {params.metric:q}"
    ' --split "$SNAKETUNE_SPLIT" --stage {wildcards.stage}'
    " --threads {threads} --gpus {resources.gpu}"
    " --timeout-s {resources.trial_timeout_s} --memory-mb {resources.trial_memory_mb}"
)


wildcard_constraints:
    trial=r"trial_\d\d\d\d+",
    stage=r"trials|reruns",
    prep_id=r"prep_[0-9a-f]+",
    round=r"\d\d\d\d+",
    bracket=r"\d+",
    rung=r"\d+",
    slot=r"\d+",
    digest=r"[0-9a-f]+",


def get_final_outputs():
    """The study's outputs, and the unskip flags of trials this run must train again."""
    unskip = [LAYOUT.unskip_flag(tid) for tid in sorted(UNSKIP)]
    report_dirs = [] if STUDY.settings.report == "none" else [LAYOUT.report]
    return [
        LAYOUT.study_yaml,
        LAYOUT.leaderboard_tsv,
        LAYOUT.hyperopt_statistics,
        LAYOUT.best,
        *report_dirs,
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


def get_sampled(wildcards):
    """The trial's values; for a trial a run once skipped, also its unskip flag.

    The values are in a folder named by everything the trial's result depends on
    (sampled/<digest>/), written at parse time: a trial whose values, config, data or
    metric changed gets a new folder, newer than its results, so Snakemake retrains it
    by mtime alone, with or without its own records of the last run.

    A skipped trial's job removed the flag, so the next run (which has it as a target)
    writes it anew, newer than the skipped summary: the trial is trained then. The flag
    stays an input afterwards, so the set of inputs does not change again.
    """
    trial = STUDY.trial(wildcards.trial)
    files = {
        name: LAYOUT.sampled(trial.trial_id, trial.digest, f"{name}.{ext}")
        for name, ext in (("config", "yaml"), ("parameters", "json"))
    }
    flag = LAYOUT.unskip_flag(wildcards.trial)
    if wildcards.stage == "trials" and (
        wildcards.trial in UNSKIP or os.path.exists(flag)
    ):
        files["unskip"] = flag
    return files


def round_name(round_index):
    return f"{round_index:04d}"


def get_round_inputs(wildcards):
    """The scores of the round before; its history holds every trial before that."""
    before = int(wildcards.round) - 1
    trials = STUDY.plan.trials_of(before)
    scores = [LAYOUT.trial_file(STUDY.trials[i].trial_id, "score.json") for i in trials]
    files = {"scores": scores}
    if before >= 1:
        files["previous"] = LAYOUT.round_history(round_name(before))
    return files


def get_previous_history(wildcards):
    """The history file of the round before, or "" for round 1 (its history is round 0)."""
    return get_round_inputs(wildcards).get("previous", "")


def get_trial_round(wildcards):
    return LAYOUT.round_file(round_name(STUDY.trial(wildcards.trial).round))


def get_command(wildcards):
    """A function, so Snakemake does not read the {placeholders} as wildcards."""
    return STUDY.settings.command


def get_output_feature(wildcards):
    """A function: Snakemake formats plain string params, and a name may hold braces."""
    return HYPEROPT["output_feature"]


def get_prepared_dir(wildcards):
    pack_trials()
    return LAYOUT.prepared(STUDY.trial(wildcards.trial).prep_id)


def get_original_score(wildcards):
    """A re-run trial is compared with the study's own result for it."""
    if wildcards.stage == "reruns":
        return {"original": LAYOUT.trial_file(wildcards.trial, "score.json")}
    return {}


def get_trial_group():
    """The group of train jobs when trials_per_job > 1, else none."""
    return TRIAL_GROUP if STUDY.settings.trials_per_job > 1 else None


def pack_trials():
    """trials_per_job: that many train jobs (group trials) per submission.

    Snakemake takes the count from --group-components, and installs the command line's
    group settings after the Snakefile is parsed; the train rules' input functions run
    later, while the DAG is built and before its groups are formed, so they set it
    here. A --group-components trials=M on the command line wins.
    """
    per_job = STUDY.settings.trials_per_job
    settings = getattr(workflow, "group_settings", None)
    if per_job <= 1 or settings is None:
        return
    components = settings.group_components
    if TRIAL_GROUP not in components:
        settings.group_components = {**components, TRIAL_GROUP: per_job}


def get_train_resources():
    """Resources, not params: changing a limit must not retrain finished trials."""
    settings = STUDY.settings
    # trial_timeout_s and trial_memory_mb reach the job's command line; 0 means no limit.
    resources = {
        "trial_slots": 1,
        "gpu": EXECUTOR["gpu_resources_per_trial"],
        "trial_timeout_s": settings.trial_timeout_s or 0,
        "trial_memory_mb": settings.trial_memory_mb or 0,
    }
    if settings.trial_timeout_s:
        resources["runtime"] = (
            settings.trial_timeout_s // 60 + 5
        )  # minutes, for clusters
    if settings.trial_memory_mb:
        resources["mem_mb"] = settings.trial_memory_mb + 512
    return resources


def rung_slots():
    """(bracket, rung, slot) of every slot of a scheduler's rungs above rung 0."""
    brackets = (STUDY.rungs or {}).get("brackets", [])
    return [
        (s, k, j)
        for s, bracket in enumerate(brackets)
        for k, size in enumerate(bracket["sizes"])
        if k >= 1
        for j in range(size)
    ]


def get_all_scores():
    """Every trial's score, then every rung's (the leaderboard keeps each trial's last)."""
    scores = [LAYOUT.trial_file(t.trial_id, "score.json") for t in STUDY.trials]
    return scores + [
        LAYOUT.slot_file(s, k, j, "score.json") for s, k, j in rung_slots()
    ]


def get_rung_scores(wildcards):
    """The scores of the rung before, in trial (or slot) order."""
    bracket, rung = int(wildcards.bracket), int(wildcards.rung)
    if rung == 1:
        from snaketune.search.schedulers import bracket_of

        members = [
            t for t in STUDY.trials if bracket_of(STUDY.rungs, t.index) == bracket
        ]
        return [LAYOUT.trial_file(t.trial_id, "score.json") for t in members]
    size = STUDY.rungs["brackets"][bracket]["sizes"][rung - 1]
    return [LAYOUT.slot_file(bracket, rung - 1, j, "score.json") for j in range(size)]


def get_rung_size(wildcards):
    return STUDY.rungs["brackets"][int(wildcards.bracket)]["sizes"][int(wildcards.rung)]


def get_rung_budget(wildcards):
    return STUDY.rungs["brackets"][int(wildcards.bracket)]["budgets"][
        int(wildcards.rung)
    ]


def get_all_prepared(wildcards):
    """Every prepared folder: a slot's trial, and so its data, is chosen at run time."""
    pack_trials()
    return [LAYOUT.prepared(prep_id) for prep_id in sorted(STUDY.preps)]


def print_summary():
    from snaketune.workflow import summary_text

    text = summary_text(STUDY)
    if text:
        print(text)


def warm_worker_path():
    """The socket of this run's warm worker (snaketune/warm.py), or "" for none.

    Only a local run that executes jobs with the python running snakemake gets one (a
    cluster job runs on another machine; a conda env has another python), and only for
    an engine that trains in the job's process. SNAKETUNE_NO_WARM=1 turns it off.
    """
    from snaketune.backends import get_engine
    from snaketune.warm import OFF_VARIABLE, WARM_VARIABLE, socket_path

    cold = (
        workflow.output_settings.dryrun
        or not workflow.is_main_process
        or not workflow.local_exec
        or JOB_PYTHON != sys.executable
        or os.environ.get(OFF_VARIABLE) == "1"
    )
    if cold or not get_engine(STUDY.settings.engine).warm_modules:
        os.environ.pop(WARM_VARIABLE, None)
        return ""
    path = socket_path(STUDY.study_dir, STUDY.settings.engine, os.getpid())
    os.environ[WARM_VARIABLE] = path
    return path


WARM_WORKER = warm_worker_path()


def start_warm_worker():
    """onstart: the worker imports while the first jobs start; they wait for it."""
    from snaketune.backends import get_engine
    from snaketune.warm import start

    if WARM_WORKER:
        engine = get_engine(STUDY.settings.engine)
        start(
            WARM_WORKER,
            engine.name,
            engine.warm_modules,
            LAYOUT.file("logs/warm_worker.log"),
        )


def record_progress_start():
    """onstart: the baseline of the run's progress lines (snaketune/progress.py).

    The trials this run trains count as not done yet, whatever their old files say.
    """
    from snaketune.progress import record_start

    try:
        to_train = {
            job.wildcards.trial
            for job in workflow.dag.needrun_jobs()
            if job.rule.name == "train" and job.wildcards.get("stage") == "trials"
        }
    except Exception:  # a Snakemake without these internals: old files count
        to_train = set()
    record_start(
        STUDY.study_dir,
        [t.trial_id for t in STUDY.trials if t.trial_id not in to_train],
        HYPEROPT["goal"],
        HYPEROPT["metric"],
        total=len(STUDY.trials),
    )


def stop_warm_worker():
    from snaketune.warm import stop

    if WARM_WORKER:
        stop(WARM_WORKER)
