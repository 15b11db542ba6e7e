"""Rule sample: write one trial's sampled values and resolved config (computed at parse time)."""

import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)  # noqa: F821, SIM115

from snaketune import io  # noqa: E402

io.write_json(snakemake.output.parameters, snakemake.params.record)  # noqa: F821
io.write_yaml(snakemake.output.config, snakemake.params.config)  # noqa: F821
