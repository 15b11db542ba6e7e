"""A trainer for engine `command` search tests: a known function of the trial's values.

Usage: objective.py CONFIG OUTPUT [--fail-trial TRIAL_ID] [--fail-slot RUNG/SLOT]
                    [--resume FOLDER] [--sleep-trial TRIAL_ID SECONDS]
Reads trainer.learning_rate, combiner.output_size, combiner.num_fc_layers and
trainer.epochs from the trial's config and writes metrics.json with a validation loss
that is smallest near learning_rate 0.01, output_size 8 and 2 layers, and falls with
the epochs (more for some values than others, so short and long training rank trials
differently). Only json and yaml are imported, so a trial costs a process start.
--fail-trial makes that trial fail (exit 3); --fail-slot r1/slot_0 the trial a
scheduler's rung trains in that slot. --resume (the `{resume}` placeholder) must name
the output folder of the rung before, or be empty; it is kept in resumed_from.txt.
--sleep-trial makes that trial's first attempt sleep (it leaves `slept` in the trial
folder), for tests that cancel a running job.
"""

import json
import math
import sys
import time
from pathlib import Path

import yaml


def main() -> None:
    config_path, output = sys.argv[1:3]
    folder = Path(output).parent
    failing = {
        sys.argv[i + 1] for i, arg in enumerate(sys.argv) if arg in ("--fail-trial", "--fail-slot")
    }
    if folder.name in failing or f"{folder.parent.name}/{folder.name}" in failing:
        print("this trial was asked to fail", file=sys.stderr)
        sys.exit(3)
    if "--sleep-trial" in sys.argv:
        at = sys.argv.index("--sleep-trial")
        marker = folder / "slept"
        if folder.name == sys.argv[at + 1] and not marker.exists():
            marker.write_text("")
            time.sleep(float(sys.argv[at + 2]))
    resume = sys.argv[sys.argv.index("--resume") + 1] if "--resume" in sys.argv else ""
    if resume:
        if not (Path(resume) / "metrics.json").is_file():
            print(f"--resume {resume}: no metrics.json there", file=sys.stderr)
            sys.exit(4)
        (Path(output) / "resumed_from.txt").write_text(resume)
    config = yaml.safe_load(Path(config_path).read_text())
    lr = config["trainer"]["learning_rate"]
    combiner = config["combiner"]
    epochs = config["trainer"].get("epochs", 1)
    loss = (
        (math.log10(lr) + 2) ** 2
        + (combiner["output_size"] - 8) ** 2 / 16
        + (combiner.get("num_fc_layers", 1) - 2) ** 2 / 4
        + (1 + abs(math.log10(lr) + 3)) / epochs
    )
    metrics = {split: {"label": {"loss": loss}} for split in ("training", "validation", "test")}
    (Path(output) / "metrics.json").write_text(json.dumps(metrics))


if __name__ == "__main__":
    main()
