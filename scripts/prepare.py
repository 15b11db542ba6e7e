"""Rule prepare: split and preprocess the data once per distinct preprocessing block."""

import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)  # noqa: F821, SIM115

from snaketune.backends import get_engine  # noqa: E402
from snaketune.errors import ConfigError, DataError  # noqa: E402
from snaketune.prepare import run_prepare  # noqa: E402

try:
    run_prepare(
        data_files=snakemake.params.data_files,  # noqa: F821
        data_format=snakemake.params.data_format,  # noqa: F821
        config=snakemake.params.key,  # noqa: F821
        engine=get_engine(snakemake.params.engine),  # noqa: F821
        seed=snakemake.params.seed,  # noqa: F821
        out_dir=snakemake.output[0],  # noqa: F821
        hyperopt_split=snakemake.params.hyperopt_split,  # noqa: F821
    )
except (ConfigError, DataError) as exc:
    # Data the study cannot use: the message alone, no traceback; no trial starts.
    for stream in (sys.stderr, sys.__stderr__):
        print(f"snaketune: {exc}", file=stream, flush=True)
    sys.exit(1)
