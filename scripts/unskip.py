"""Rule unskip: mark a trial that an earlier run skipped, so this run trains it."""

import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)  # noqa: F821, SIM115

from snaketune import io  # noqa: E402

io.write_text(snakemake.output[0], "trained after being skipped by an earlier run\n")  # noqa: F821
