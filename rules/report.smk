# The study's report (scripts/snaketune/report/): report.html, one self-contained file,
# and the plots it shows, drawn from hyperopt_statistics.json. Marked for Snakemake's own
# report too: `snakemake --report report.zip` includes the leaderboard and the plots.


rule report:
    input:
        statistics=LAYOUT.hyperopt_statistics,
    output:
        report(
            directory(LAYOUT.report),
            patterns=[f"{{name}}.{STUDY.settings.report}"],
            caption="report/plots.rst",
            category="Plots",
        ),
    log:
        LAYOUT.file("logs/report.log"),
    localrule: True
    conda:
        SKLEARN_ENV
    params:
        fmt=STUDY.settings.report,
        title=STUDY.settings.experiment_name,
    shell:
        '"$SNAKETUNE_PYTHON" "$SNAKETUNE_REPORT" --statistics {input.statistics:q}'
        " --out {output:q} --format {params.fmt} --title {params.title:q} 2> {log:q}"
