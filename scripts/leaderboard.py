"""Rule leaderboard: rank the trials; write the leaderboard, Ludwig's statistics and best/."""

import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)  # noqa: F821, SIM115

from snaketune.trial import aggregate_study  # noqa: E402

aggregate_study(
    score_paths=list(snakemake.input),  # noqa: F821
    goal=snakemake.params.goal,  # noqa: F821
    hyperopt_config=snakemake.params.hyperopt_config,  # noqa: F821
    out_dir=snakemake.params.study_dir,  # noqa: F821
)
