"""Cluster overhead: one 16-trial study locally and through each SLURM profile.

    sudo tests/cluster/start-slurm.sh
    .venv/bin/python bench/cluster.py    # writes the cluster section of docs/benchmarks.md
    .venv/bin/python bench/cluster.py --no-write
    sudo tests/cluster/stop-slurm.sh

The bundled titles study (sklearn) with num_samples 16 and max_concurrent_trials 2 runs
five ways, one after another, each in a fresh results folder: locally (--cores 2),
through profiles/slurm and profiles/slurm-generic, each once with a job per trial and
once with trials_per_job 4. A row gives the wall time of the whole `snakemake` run, the
median seconds a trial spent training (train_summary.json duration_s), the wall time
per trial, what a trial costs beyond the local run ((wall - local wall) / 16), and
whether the leaderboard equals the local one (duration column excluded). The plugin's
first status check is set to 2 s (--slurm-init-seconds-before-status-checks; the
profile's 20 s would add up to 20 s per wave of jobs).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from job_structure import REPO, write_section  # noqa: E402

TRIALS = 16
WAYS = {
    "local": ["--cores", "2"],
    "slurm": ["--profile", "profiles/slurm", "--slurm-init-seconds-before-status-checks", "2"],
    "slurm-generic": ["--profile", "profiles/slurm-generic"],
}


def leaderboard(study: Path) -> list[list[str]]:
    rows = [line.split("\t") for line in (study / "leaderboard.tsv").read_text().splitlines()]
    keep = [i for i, name in enumerate(rows[0]) if name != "duration_s"]
    return [[row[i] for i in keep] for row in rows]


def run(way: str, per_job: int, work: Path, model: Path) -> dict:
    out = work / f"{way}_{per_job}"
    command = [sys.executable, "-m", "snakemake", *WAYS[way], "--config"]
    command += [f"output_directory={out}", f"model_config={model}", f"trials_per_job={per_job}"]
    started = time.perf_counter()
    done = subprocess.run(
        ["timeout", "-k", "20", "1200", *command], cwd=REPO, capture_output=True, text=True
    )
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{way} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    study = out / "titles"
    durations = [
        json.loads(p.read_text())["duration_s"]
        for p in sorted((study / "trials").glob("trial_*/train_summary.json"))
    ]
    return {"wall": wall, "train": statistics.median(durations), "board": leaderboard(study)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    model = yaml.safe_load((REPO / "config/examples/titles.yaml").read_text())
    model["hyperopt"]["executor"].update(num_samples=TRIALS, max_concurrent_trials=2)
    with tempfile.TemporaryDirectory(prefix="bench-cluster-") as tmp:
        work = Path(tmp)
        model_path = work / "model.yaml"
        model_path.write_text(yaml.safe_dump(model, sort_keys=False))
        plan = [("local", 1)] + [(w, n) for w in ("slurm", "slurm-generic") for n in (1, 4)]
        results = {}
        for way, per_job in plan:
            results[(way, per_job)] = run(way, per_job, work, model_path)
            print(f"{way} trials_per_job={per_job}: {results[(way, per_job)]['wall']:.1f} s")
    local = results[("local", 1)]
    lines = [
        f"**{TRIALS} trials** (bundled titles study, sklearn, max_concurrent_trials 2; a "
        "single-node SLURM 22.05 on loopback, 2 CPUs)",
        "",
        "| run | trials_per_job | wall s | median train s / trial | wall s / trial "
        "| extra s / trial vs local | same leaderboard |",
        "|---|---|---|---|---|---|---|",
    ]
    for (way, per_job), r in results.items():
        extra = (r["wall"] - local["wall"]) / TRIALS
        lines.append(
            f"| {way} | {per_job} | {r['wall']:.1f} | {r['train']:.2f} | "
            f"{r['wall'] / TRIALS:.2f} | {extra:+.2f} | "
            f"{'yes' if r['board'] == local['board'] else 'NO'} |"
        )
    print("\n".join(lines))
    if not args.no_write:
        write_section("cluster", " ".join(["python bench/cluster.py", *sys.argv[1:]]), lines)


if __name__ == "__main__":
    main()
