"""Run four reference studies and write what they produced, to compare two commits.

    python tests/tools/same_results.py snapshot OUT.json   # run the studies here
    python tests/tools/same_results.py compare A.json B.json

The studies: the bundled one (sklearn), both Ludwig guide examples (torch, the first
300 rows of the bundled data) and a gbm study. For every trial it records
parameters.json, the trial's config.yaml and the metric_score in score.json; `compare`
says per study whether the two snapshots are identical and lists what differs. A
refactor that claims "behaviour unchanged" quotes its output.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd
import yaml

REPO = Path(__file__).resolve().parents[2]
GBM_CONFIG = {
    "model_type": "gbm",
    "input_features": [
        {"name": "source", "type": "category"},
        {"name": "word_count", "type": "number"},
        {"name": "has_image", "type": "binary"},
    ],
    "output_features": [{"name": "topic", "type": "category"}],
    "trainer": {"num_boost_round": 30},
    "hyperopt": {
        "goal": "maximize",
        "metric": "accuracy",
        "output_feature": "topic",
        "parameters": {
            "trainer.learning_rate": {"space": "loguniform", "lower": 0.01, "upper": 0.3},
            "trainer.num_leaves": {"space": "randint", "lower": 4, "upper": 32},
        },
        "executor": {"num_samples": 4},
    },
}


def studies(work: Path) -> dict[str, dict[str, str]]:
    rows = pd.read_csv(REPO / "data" / "titles.csv")
    rows.head(300).to_csv(work / "titles300.csv", index=False)
    (work / "gbm.yaml").write_text(yaml.safe_dump(GBM_CONFIG, sort_keys=False))
    examples = REPO / "config" / "examples"
    return {
        "bundled": {},  # no dataset given: the workflow runs config/config.yaml
        "guide_hyperopt": {
            "dataset": "titles300.csv",
            "model_config": str(examples / "ludwig_guide_hyperopt.yaml"),
            "engine": "torch",
        },
        "guide_feature_level": {
            "dataset": "titles300.csv",
            "model_config": str(examples / "ludwig_guide_feature_level.yaml"),
            "engine": "torch",
        },
        "gbm": {"dataset": str(REPO / "data" / "titles.csv"), "model_config": "gbm.yaml"},
    }


def run(work: Path, name: str, settings: dict[str, str]) -> dict:
    command = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile")]
    command += ["--cores", "2", "--directory", str(work), "--quiet", "all"]
    config = {"experiment_name": name, "output_directory": "results", **settings}
    command += ["--config", *(f"{k}={v}" for k, v in config.items())]
    subprocess.run(command, check=True, cwd=work)
    trials = {}
    for trial in sorted((work / "results" / name / "trials").iterdir()):
        score = json.loads((trial / "score.json").read_text())
        trials[trial.name] = {
            "parameters": json.loads((trial / "parameters.json").read_text()),
            "config": yaml.safe_load((trial / "config.yaml").read_text()),
            "metric_score": score.get("metric_score"),
        }
    return trials


def snapshot(out: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        result = {name: run(work, name, s) for name, s in studies(work).items()}
    out.write_text(json.dumps(result, indent=1, sort_keys=True))


def compare(a: Path, b: Path) -> int:
    left, right = json.loads(a.read_text()), json.loads(b.read_text())
    failures = 0
    for study in sorted(set(left) | set(right)):
        x, y = left.get(study, {}), right.get(study, {})
        differ = [t for t in sorted(set(x) | set(y)) if x.get(t) != y.get(t)]
        print(
            f"{study}: {len(x)} trials vs {len(y)}; "
            + (
                "identical parameters.json, config.yaml and metric_score"
                if not differ
                else f"{len(differ)} trials differ: {', '.join(differ)}"
            )
        )
        failures += bool(differ)
    return 1 if failures else 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["snapshot"]:
        snapshot(Path(sys.argv[2]))
    elif sys.argv[1:2] == ["compare"]:
        sys.exit(compare(Path(sys.argv[2]), Path(sys.argv[3])))
    else:
        sys.exit(__doc__)
