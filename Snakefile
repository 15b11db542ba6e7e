# snaketune: Ludwig-style declarative hyperparameter optimization.
# The DAG: prepare -> sample -> train -> score -> leaderboard (rules/*.smk).
from snakemake.utils import min_version

min_version("9.19")


include: "rules/common.smk"
include: "rules/trials.smk"
include: "rules/aggregate.smk"


rule all:
    default_target: True
    input:
        get_final_outputs(),


onsuccess:
    print_summary()
