"""A trainer for engine `command` search tests: a known function of the trial's values.

Usage: objective.py CONFIG OUTPUT [--fail-trial TRIAL_ID]
Reads trainer.learning_rate, combiner.output_size and combiner.num_fc_layers from the
trial's config and writes metrics.json with a validation loss that is smallest near
learning_rate 0.01, output_size 8 and 2 layers. Only json and yaml are imported, so a
trial costs a process start. --fail-trial makes that trial fail (exit 3).
"""

import json
import math
import sys
from pathlib import Path

import yaml


def main() -> None:
    config_path, output = sys.argv[1:3]
    if "--fail-trial" in sys.argv and Path(output).parent.name == sys.argv[-1]:
        print("this trial was asked to fail", file=sys.stderr)
        sys.exit(3)
    config = yaml.safe_load(Path(config_path).read_text())
    lr = config["trainer"]["learning_rate"]
    combiner = config["combiner"]
    loss = (
        (math.log10(lr) + 2) ** 2
        + (combiner["output_size"] - 8) ** 2 / 16
        + (combiner.get("num_fc_layers", 1) - 2) ** 2 / 4
    )
    metrics = {split: {"label": {"loss": loss}} for split in ("training", "validation", "test")}
    (Path(output) / "metrics.json").write_text(json.dumps(metrics))


if __name__ == "__main__":
    main()
