# snaketune: Ludwig-style declarative hyperparameter optimization.
# The DAG: prepare -> train (one job per trial, scored in it) -> leaderboard -> report
# (rules/*.smk); each trial's sampled values are written at parse time
# (rules/common.smk), or, in an adaptive search, by its round's suggest job
# (rules/search.smk).
from snakemake.utils import min_version

min_version("9.19")


include: "rules/common.smk"
include: "rules/search.smk"
include: "rules/rungs.smk"
include: "rules/trials.smk"
include: "rules/aggregate.smk"
include: "rules/report.smk"


report: "rules/report/workflow.rst"


rule all:
    default_target: True
    input:
        get_final_outputs(),


onstart:
    start_warm_worker()
    record_progress_start()


onsuccess:
    stop_warm_worker()
    print_summary()


onerror:
    stop_warm_worker()
