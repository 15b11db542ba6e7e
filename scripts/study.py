"""Rule study: freeze the validated, upgraded study config as it was run."""

import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)  # noqa: F821, SIM115

from snaketune import io  # noqa: E402

io.write_yaml(snakemake.output[0], snakemake.params.study)  # noqa: F821
