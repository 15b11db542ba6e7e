"""A trainer for engine `command` tests that reports no validation values.

Usage: no_validation.py OUTPUT FEATURE METRIC [--empty-validation]
Writes OUTPUT/experiment_run/training_statistics.json in Ludwig's shape with curves
for training and test only, as `ludwig train` leaves it when it trained on Ray.
With --empty-validation the validation split is there but every curve in it is empty.
"""

import json
import sys
from pathlib import Path


def main() -> None:
    output, feature, metric = sys.argv[1:4]
    curves = {feature: {metric: [0.5, 0.6], "loss": [0.9, 0.8]}, "combined": {"loss": [0.9, 0.8]}}
    stats = {
        "evaluation_frequency": {"frequency": 1, "period": "epoch"},
        "training": curves,
        "test": curves,
    }
    if "--empty-validation" in sys.argv:
        stats["validation"] = {name: {key: [] for key in c} for name, c in curves.items()}
    run = Path(output) / "experiment_run"
    run.mkdir()
    (run / "training_statistics.json").write_text(json.dumps(stats))


if __name__ == "__main__":
    main()
