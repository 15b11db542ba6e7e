"""A small external trainer for engine `command` tests.

Usage: logistic.py CONFIG TRAINING VALIDATION TEST OUTPUT [--minimal] [--fail] [--nan]
                   [--kill-parent-once MARKER] [--attempts FILE]
Fits a logistic regression on the numeric inputs for a few "epochs" (max_iter steps)
and writes training_statistics.json in Ludwig's shape (or metrics.json with --minimal).
--attempts appends a line per start: the trial folder of OUTPUT.
--kill-parent-once: the first start of all (the one that creates MARKER) kills its parent,
the train job, and exits.
"""

import json
import os
import signal
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, log_loss


def main() -> None:
    config_path, training, validation, test, output = sys.argv[1:6]
    if "--attempts" in sys.argv:  # one line per start, appended whole
        with open(sys.argv[sys.argv.index("--attempts") + 1], "a") as attempts:
            attempts.write(f"{Path(output).parent.name}\n")
    if "--fail" in sys.argv:
        print("this trainer was asked to fail", file=sys.stderr)
        sys.exit(3)
    if "--kill-parent-once" in sys.argv:  # the train job dies from outside, once
        marker = sys.argv[sys.argv.index("--kill-parent-once") + 1]
        try:  # created or not in one step: of two trials started at once, one kills
            descriptor = os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
        except FileExistsError:
            pass
        else:
            os.write(descriptor, b"killed once")
            os.close(descriptor)
            os.kill(os.getppid(), signal.SIGKILL)
            sys.exit(137)  # no orphan left writing into the output the retry starts anew
    config = yaml.safe_load(Path(config_path).read_text())
    inputs = [f["name"] for f in config["input_features"] if f["type"] == "number"]
    target = config["output_features"][0]["name"]
    lr = float(config.get("trainer", {}).get("learning_rate", 0.1))
    frames = {
        "training": pd.read_parquet(training),
        "validation": pd.read_parquet(validation),
        "test": pd.read_parquet(test),
    }
    curves = {split: {target: {"loss": [], "accuracy": []}} for split in frames}
    train = frames["training"]
    x = train[inputs].fillna(0).to_numpy()
    for epoch in range(1, 4):
        model = LogisticRegression(C=lr, max_iter=epoch * 5).fit(x, train[target])
        for split, frame in frames.items():
            if frame.empty:
                continue
            proba = model.predict_proba(frame[inputs].fillna(0).to_numpy())
            truth = frame[target]
            curves[split][target]["loss"].append(log_loss(truth, proba, labels=model.classes_))
            predicted = model.classes_[np.argmax(proba, axis=1)]
            curves[split][target]["accuracy"].append(accuracy_score(truth, predicted))
            if "--nan" in sys.argv:  # a diverged training: every value is NaN
                curves[split][target] = {
                    k: [float("nan")] * len(v) for k, v in curves[split][target].items()
                }
    out = Path(output)
    if "--minimal" in sys.argv:
        minimal = {s: {target: {k: v[-1] for k, v in c[target].items()}} for s, c in curves.items()}
        (out / "metrics.json").write_text(json.dumps(minimal))
    else:
        stats = {"evaluation_frequency": {"frequency": 1, "period": "epoch"}, **curves}
        (out / "run").mkdir()
        (out / "run" / "training_statistics.json").write_text(json.dumps(stats))


if __name__ == "__main__":
    main()
