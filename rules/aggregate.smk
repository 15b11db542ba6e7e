rule study:
    output:
        f"{STUDY_DIR}/study.yaml",
    log:
        f"{STUDY_DIR}/logs/study.log",
    localrule: True
    conda:
        "../envs/snaketune.yaml"
    params:
        study=STUDY.frozen(),
    script:
        "../scripts/study.py"


rule leaderboard:
    input:
        get_all_scores(),
    output:
        tsv=f"{STUDY_DIR}/leaderboard.tsv",
        md=f"{STUDY_DIR}/leaderboard.md",
        statistics=f"{STUDY_DIR}/hyperopt_statistics.json",
        best=directory(f"{STUDY_DIR}/best"),
    log:
        f"{STUDY_DIR}/logs/leaderboard.log",
    localrule: True
    conda:
        "../envs/snaketune.yaml"
    params:
        goal=HYPEROPT["goal"],
        hyperopt_config=STUDY.hyperopt_config(),
    script:
        "../scripts/leaderboard.py"
