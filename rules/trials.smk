rule prepare:
    output:
        directory(LAYOUT.prepared("{prep_id}")),
    log:
        LAYOUT.log("prepare", "{prep_id}"),
    conda:
        ENGINE_ENV
    params:
        data_files=get_data_files,
        key=get_prep_key,
        data_format=STUDY.settings.data_format,
        engine=STUDY.settings.engine,
        seed=STUDY.settings.random_seed,
        hyperopt_split=HYPEROPT["split"],
    script:
        "../scripts/prepare.py"


rule unskip:
    output:
        LAYOUT.unskip_flag("{trial}"),
    log:
        LAYOUT.log("unskip", "{trial}"),
    localrule: True
    conda:
        SKLEARN_ENV
    script:
        "../scripts/unskip.py"


if DRY_RUN_SAMPLINGS:

    # A real run writes each trial's sampled values at parse time (write_samplings); a
    # dry run writes nothing, so the trials whose values are not on disk yet show as a
    # job here. It never runs: without -n, this rule does not exist.
    rule sample:
        output:
            parameters=LAYOUT.sampled("{trial}", "{digest}", "parameters.json"),
            config=LAYOUT.sampled("{trial}", "{digest}", "config.yaml"),
        wildcard_constraints:
            trial=DRY_RUN_SAMPLINGS,
        localrule: True
        shell:
            "exit 1"


rule train:
    input:
        unpack(get_sampled),
        unpack(get_original_score),
        prepared=get_prepared_dir,
    output:
        summary=LAYOUT.trial_file("{trial}", "train_summary.json", "{stage}"),
        parameters=LAYOUT.trial_file("{trial}", "parameters.json", "{stage}"),
        config=LAYOUT.trial_file("{trial}", "config.yaml", "{stage}"),
        score=LAYOUT.trial_file("{trial}", "score.json", "{stage}"),
    log:
        LAYOUT.trial_file("{trial}", "train.log", "{stage}"),
    benchmark:
        LAYOUT.benchmark("train", "{stage}_{trial}")
    retries: STUDY.settings.retries
    group:
        get_trial_group()
    conda:
        ENGINE_ENV
    threads: EXECUTOR["cpu_resources_per_trial"]
    resources:
        **get_train_resources(),
    # Kept as they were when this rule ran a script: params are rerun triggers, so
    # finished trials of existing studies stay finished (the command itself reaches
    # the job as SNAKETUNE_COMMAND).
    params:
        engine=STUDY.settings.engine,
        command=get_command,
        output_feature=get_output_feature,
        metric=HYPEROPT["metric"],
    shell:
        TRAIN_COMMAND
