"""Rule train: train one trial; a failing trial is recorded, not raised."""

import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)  # noqa: F821, SIM115

from snaketune.trial import pin_threads  # noqa: E402

pin_threads(snakemake.threads)  # noqa: F821

from snaketune.limits import TrialLimits  # noqa: E402
from snaketune.trial import run_trial  # noqa: E402

resources = snakemake.resources  # noqa: F821

run_trial(
    config_path=snakemake.input.config,  # noqa: F821
    parameters_path=snakemake.input.parameters,  # noqa: F821
    prepared_dir=snakemake.input.prepared,  # noqa: F821
    summary_path=snakemake.output.summary,  # noqa: F821
    engine_name=snakemake.params.engine,  # noqa: F821
    threads=snakemake.threads,  # noqa: F821
    output_feature=snakemake.params.output_feature,  # noqa: F821
    metric=snakemake.params.metric,  # noqa: F821
    gpus=resources.get("gpu", 0),
    command=snakemake.params.command,  # noqa: F821
    limits=TrialLimits(
        timeout_s=resources.get("trial_timeout_s"), memory_mb=resources.get("trial_memory_mb")
    ),
)
