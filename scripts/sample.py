"""Rule sample: write one trial's sampled values and resolved config (computed at parse time)."""

import shutil
import sys
from pathlib import Path

sys.stderr = open(snakemake.log[0], "w", buffering=1)  # noqa: F821, SIM115

from snaketune import io  # noqa: E402

folder = Path(snakemake.output.parameters).parent  # noqa: F821
# Older samplings of this trial go, so returning to them later samples and trains again.
for sibling in folder.parent.iterdir():
    if sibling != folder and sibling.is_dir():
        shutil.rmtree(sibling)
io.write_json(snakemake.output.parameters, snakemake.params.record)  # noqa: F821
io.write_yaml(snakemake.output.config, snakemake.params.config)  # noqa: F821
