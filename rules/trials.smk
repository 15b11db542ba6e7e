rule prepare:
    output:
        directory(f"{STUDY_DIR}/prepared/{{prep_id}}"),
    log:
        f"{STUDY_DIR}/logs/prepare/{{prep_id}}.log",
    conda:
        "../envs/snaketune.yaml"
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
        f"{STUDY_DIR}/trials/{{trial}}/unskipped.flag",
    log:
        f"{STUDY_DIR}/logs/unskip/{{trial}}.log",
    localrule: True
    conda:
        "../envs/snaketune.yaml"
    script:
        "../scripts/unskip.py"


rule sample:
    output:
        parameters=f"{STUDY_DIR}/trials/{{trial}}/sampled/{{digest}}/parameters.json",
        config=f"{STUDY_DIR}/trials/{{trial}}/sampled/{{digest}}/config.yaml",
    log:
        f"{STUDY_DIR}/logs/sample/{{trial}}_{{digest}}.log",
    localrule: True
    conda:
        "../envs/snaketune.yaml"
    params:
        record=get_trial_record,
        config=get_trial_config,
    script:
        "../scripts/sample.py"


rule train:
    input:
        unpack(get_sampled),
        prepared=get_prepared_dir,
    output:
        summary=f"{STUDY_DIR}/{{stage}}/{{trial}}/train_summary.json",
        parameters=f"{STUDY_DIR}/{{stage}}/{{trial}}/parameters.json",
        config=f"{STUDY_DIR}/{{stage}}/{{trial}}/config.yaml",
    log:
        f"{STUDY_DIR}/{{stage}}/{{trial}}/train.log",
    benchmark:
        f"{STUDY_DIR}/logs/benchmarks/train/{{stage}}_{{trial}}.tsv"
    retries: STUDY.settings.retries
    conda:
        "../envs/snaketune.yaml"
    threads: EXECUTOR["cpu_resources_per_trial"]
    resources:
        **get_train_resources(),
    params:
        engine=STUDY.settings.engine,
        command=get_command,
        output_feature=get_output_feature,
        metric=HYPEROPT["metric"],
    script:
        "../scripts/train.py"


rule score:
    input:
        unpack(get_original_score),
        summary=f"{STUDY_DIR}/{{stage}}/{{trial}}/train_summary.json",
        parameters=f"{STUDY_DIR}/{{stage}}/{{trial}}/parameters.json",
    output:
        f"{STUDY_DIR}/{{stage}}/{{trial}}/score.json",
    log:
        f"{STUDY_DIR}/logs/score/{{stage}}_{{trial}}.log",
    localrule: True
    conda:
        "../envs/snaketune.yaml"
    params:
        output_feature=get_output_feature,
        metric=HYPEROPT["metric"],
        split=HYPEROPT["split"],
    script:
        "../scripts/score.py"
