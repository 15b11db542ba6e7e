"""Rule prepare: split and preprocess the data once per distinct preprocessing block."""

import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)  # noqa: F821, SIM115

from snaketune.prepare import run_prepare  # noqa: E402

from snaketune.backends import get_engine  # noqa: E402

run_prepare(
    data_files=dict(snakemake.input),  # noqa: F821
    data_format=snakemake.params.data_format,  # noqa: F821
    config=snakemake.params.key,  # noqa: F821
    engine=get_engine(snakemake.params.engine),  # noqa: F821
    seed=snakemake.params.seed,  # noqa: F821
    out_dir=snakemake.output[0],  # noqa: F821
)
