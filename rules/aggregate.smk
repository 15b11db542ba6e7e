rule study:
    output:
        LAYOUT.study_yaml,
    log:
        LAYOUT.file("logs/study.log"),
    localrule: True
    conda:
        SKLEARN_ENV
    params:
        study=STUDY.frozen(),
    script:
        "../scripts/study.py"


rule leaderboard:
    input:
        get_all_scores(),
    output:
        tsv=report(
            LAYOUT.leaderboard_tsv,
            caption="report/leaderboard.rst",
            category="Leaderboard",
        ),
        md=LAYOUT.leaderboard_md,
        statistics=LAYOUT.hyperopt_statistics,
        best=directory(LAYOUT.best),
    log:
        LAYOUT.file("logs/leaderboard.log"),
    localrule: True
    conda:
        SKLEARN_ENV
    params:
        study_dir=lambda wildcards, output: os.path.dirname(output.tsv),
        goal=HYPEROPT["goal"],
        hyperopt_config=STUDY.hyperopt_config(),
    script:
        "../scripts/leaderboard.py"
