"""Rule train: train one trial; a failing trial is recorded, not raised."""

import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)  # noqa: F821, SIM115

from snaketune.trial import pin_threads  # noqa: E402

pin_threads(snakemake.threads)  # noqa: F821

from snaketune.trial import run_trial  # noqa: E402

run_trial(
    config_path=snakemake.input.config,  # noqa: F821
    parameters_path=snakemake.input.parameters,  # noqa: F821
    prepared_dir=snakemake.input.prepared,  # noqa: F821
    summary_path=snakemake.output[0],  # noqa: F821
    engine_name=snakemake.params.engine,  # noqa: F821
    threads=snakemake.threads,  # noqa: F821
    output_feature=snakemake.params.output_feature,  # noqa: F821
    metric=snakemake.params.metric,  # noqa: F821
    gpus=snakemake.resources.get("gpu", 0),  # noqa: F821
    command=snakemake.params.command,  # noqa: F821
)
