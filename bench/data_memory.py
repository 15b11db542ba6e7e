"""Large data: the prepare step, what each trial spends loading it, and memory.

    .venv/bin/python bench/data_memory.py                  # 100,000 and 1,000,000 rows
    .venv/bin/python bench/data_memory.py --rows 1000000 --repo before=/tmp/before --repo after=.

For each row count, a CSV of 20 columns (10 number, 6 category, 4 binary) and a
category target is written, then a study of C trials of engine sklearn's `gbm` (a few
boosting rounds, so that training is short next to the data handling) is run with
`--cores C`: first `--until prepare` (the prepare job alone), then the trials. The
tables give the CSV and prepared sizes, the prepare job's wall time and peak memory,
each trial's load time (`timings_s.load` in train_summary.json) and peak resident
memory (`peak_rss_mb`), and the peak resident memory of the whole study while its C
trials train side by side. Resident memory of a process tree is summed over its
processes, so pages that forked trials share with the warm worker count once per
process: an upper bound.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

sys.path.insert(0, str(Path(__file__).parent))
from job_structure import parse_repos, snakemake, write_section  # noqa: E402


def write_data(path: Path, rows: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    columns: dict[str, np.ndarray] = {}
    for i in range(10):
        columns[f"n{i}"] = rng.normal(size=rows).round(4)
    for i in range(6):
        columns[f"c{i}"] = rng.integers(0, 20, size=rows).astype(str)
    for i in range(4):
        columns[f"b{i}"] = rng.integers(0, 2, size=rows).astype(bool)
    signal = columns["n0"] + columns["n1"] - (columns["c0"] == "3")
    columns["label"] = np.where(signal > 0.5, "high", np.where(signal < -0.5, "low", "mid"))
    pd.DataFrame(columns).to_csv(path, index=False)


def model(trials: int) -> dict:
    inputs = [{"name": f"n{i}", "type": "number"} for i in range(10)]
    inputs += [{"name": f"c{i}", "type": "category"} for i in range(6)]
    inputs += [{"name": f"b{i}", "type": "binary"} for i in range(4)]
    return {
        "model_type": "gbm",
        "input_features": inputs,
        "output_features": [{"name": "label", "type": "category"}],
        "trainer": {"num_boost_round": 10, "boosting_rounds_per_checkpoint": 5},
        "hyperopt": {
            "goal": "maximize",
            "metric": "accuracy",
            "output_feature": "label",
            "parameters": {
                "trainer.learning_rate": {"space": "uniform", "lower": 0.05, "upper": 0.3}
            },
            "executor": {"num_samples": trials},
        },
    }


def folder_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6


def measure(
    repos: dict[str, Path], rows_list: list[int], cores: int
) -> tuple[list[str], list[str]]:
    data_lines = [
        "| checkout | rows | CSV MB | prepared MB | prepare wall s | prepare peak MB "
        "| load per trial s |",
        "|---|---|---|---|---|---|---|",
    ]
    memory_lines = [
        f"| checkout | rows | prepared MB | trial peak RSS MB "
        f"| study peak MB, {cores} trials side by side |",
        "|---|---|---|---|---|",
    ]
    for rows, (label, repo) in ((r, item) for r in rows_list for item in repos.items()):
        with tempfile.TemporaryDirectory() as name:
            folder = Path(name)
            write_data(folder / "data.csv", rows)
            (folder / "model.yaml").write_text(yaml.safe_dump(model(cores)))
            config = [
                "--config",
                "dataset=data.csv",
                "model_config=model.yaml",
                "experiment_name=d",
            ]
            prep_wall, prep_peak = snakemake(
                repo, folder, "--cores", str(cores), "--until", "prepare", *config
            )
            _, peak = snakemake(repo, folder, "--cores", str(cores), *config)
            study = folder / "results" / "d"
            summaries = [
                json.loads(p.read_text()) for p in sorted(study.glob("trials/*/train_summary.json"))
            ]
            assert all(s["status"] == "ok" for s in summaries), summaries
            load = statistics.mean(s["timings_s"]["load"] for s in summaries)
            trial_peak = max(s["peak_rss_mb"] for s in summaries)
            prepared = folder_mb(study / "prepared")
            csv_mb = (folder / "data.csv").stat().st_size / 1e6
            data_lines.append(
                f"| {label} | {rows:,} | {csv_mb:.0f} | {prepared:.0f} | {prep_wall:.1f} "
                f"| {prep_peak / 1e6:.0f} | {load:.2f} |"
            )
            memory_lines.append(
                f"| {label} | {rows:,} | {prepared:.0f} | {trial_peak:.0f} | {peak / 1e6:.0f} |"
            )
            print(data_lines[-1], memory_lines[-1], sep="\n", flush=True)
    return data_lines, memory_lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", action="append", default=[], help="label=DIR (repeatable)")
    parser.add_argument("--rows", default="100000,1000000")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    repos = parse_repos(args.repo)
    rows = [int(n) for n in args.rows.split(",")]
    data_lines, memory_lines = measure(repos, rows, args.cores)
    print("\n".join(data_lines), "", "\n".join(memory_lines), sep="\n")
    if not args.no_write:
        command = "python bench/data_memory.py " + " ".join(sys.argv[1:])
        write_section("data", command, data_lines)
        write_section("memory", command, memory_lines)


if __name__ == "__main__":
    main()
