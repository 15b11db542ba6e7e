"""Per-trial overhead of the workflow: a train job's wall time minus the training inside it.

Runs a study with the real snakemake into a fresh folder, then reads each train job's
Snakemake benchmark (`s`, the job's wall time) and its train_summary.json
(`train_time_s`, the engine's fit alone; `duration_s`, the whole trial function).

    .venv/bin/python bench/trial_overhead.py            # the bundled study, --cores 2
    .venv/bin/python bench/trial_overhead.py --cores 1

Prints the study's wall time and, per trial and on average: job wall time, time in
run_trial, training time, and the overhead split into Snakemake's script start-up
(job - run_trial) and imports + I/O inside run_trial (run_trial - training).
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--config", nargs="*", default=[], help="extra --config key=value")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        command = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile")]
        command += ["--cores", str(args.cores), "--quiet", "all"]
        command += ["--config", "output_directory=out", *args.config]
        started = time.perf_counter()
        subprocess.run(command, cwd=folder, check=True, capture_output=True)
        wall = time.perf_counter() - started
        study = next((Path(folder) / "out").iterdir())
        rows = []
        for bench in sorted((study / "logs" / "benchmarks" / "train").glob("trials_*.tsv")):
            trial = bench.stem.removeprefix("trials_")
            with open(bench) as handle:
                job = float(next(csv.DictReader(handle, delimiter="\t"))["s"])
            summary = json.loads((study / "trials" / trial / "train_summary.json").read_text())
            rows.append((trial, job, summary["duration_s"], summary["train_time_s"] or 0.0))
    print(f"study wall time: {wall:.1f} s with --cores {args.cores}, {len(rows)} trials")
    print(f"{'trial':<12}{'job s':>8}{'run_trial s':>13}{'training s':>12}{'overhead s':>12}")
    for trial, job, inner, train in rows:
        print(f"{trial:<12}{job:>8.2f}{inner:>13.2f}{train:>12.2f}{job - train:>12.2f}")
    mean = statistics.mean
    print(
        f"mean overhead per trial: {mean(r[1] - r[3] for r in rows):.2f} s "
        f"(script start-up {mean(r[1] - r[2] for r in rows):.2f} s, "
        f"imports and I/O in the trial {mean(r[2] - r[3] for r in rows):.2f} s)"
    )


if __name__ == "__main__":
    main()
