"""Rule score: the trial's metric on the hyperopt split -> score.json."""

import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)  # noqa: F821, SIM115

from snaketune.trial import score_trial_dir  # noqa: E402

score_trial_dir(
    summary_path=snakemake.input.summary,  # noqa: F821
    parameters_path=snakemake.input.parameters,  # noqa: F821
    score_path=snakemake.output[0],  # noqa: F821
    output_feature=snakemake.params.output_feature,  # noqa: F821
    metric=snakemake.params.metric,  # noqa: F821
    split=snakemake.params.split,  # noqa: F821
    original_path=snakemake.input.get("original"),  # noqa: F821
)
