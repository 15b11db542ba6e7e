"""What a trial costs beyond its training: the rows of issue 10's table, per checkout.

    .venv/bin/python bench/job_structure.py --repo before=/tmp/before --repo after=.
    .venv/bin/python bench/job_structure.py --only command,dryrun --dry-run-trials 100,10000

Every measurement runs for each checkout in turn in one invocation, so the ratios
compare like with like on one machine:

- command: N trials of a program that burns `--seconds` of CPU, as a study
  (`--cores C`) and as a bare pool of C worker threads each running the same program
  with subprocess (the floor: the same processes, no workflow);
- sklearn: the bundled study; per trial the train job's wall time minus its training;
- guide: the first Ludwig guide example (8 trials x 3 epochs, torch, 2 at a time);
- dryrun: `snakemake -n` for studies of 100 to 10,000 trials: wall time and peak memory;
- threads: a 1-CPU torch trial's training alone (`--cores 1`) and beside another one
  (`--cores 2`): with the thread pools pinned, side by side is as fast as alone.

A checkout's jobs import its own package (PYTHONPATH), not the installed one; a label
given to --cold runs that checkout with SNAKETUNE_NO_WARM=1 (every train job a fresh
process, no warm worker), so `--repo cold=. --cold cold --repo warm=.` compares both. Each
table goes to stdout and, unless --no-write, into docs/benchmarks.md between markers.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).parent))
from guide_example import tree_rss  # noqa: E402

BUSY = """import json, os, sys, time
end = time.process_time() + float(sys.argv[2])
while time.process_time() < end:
    pass
with open(os.path.join(sys.argv[1], "metrics.json"), "w") as handle:
    json.dump({"validation": {"topic": {"accuracy": 0.5, "loss": 0.5}}}, handle)
"""
MODEL = {
    "input_features": [{"name": "title", "type": "text"}],
    "output_features": [{"name": "topic", "type": "category"}],
    "hyperopt": {
        "goal": "maximize",
        "metric": "accuracy",
        "output_feature": "topic",
        "parameters": {"trainer.learning_rate": {"space": "uniform", "lower": 0.001, "upper": 0.1}},
        "executor": {"num_samples": 32},
    },
}


# Labels whose runs start every train job cold (--cold LABEL): no warm worker.
COLD: set[str] = set()


def snakemake(repo: Path, folder: Path, *args: str, label: str = "") -> tuple[float, int]:
    """Run snakemake on `repo`'s Snakefile in `folder`: (wall s, peak tree RSS bytes)."""
    command = [sys.executable, "-m", "snakemake", "-s", str(repo / "Snakefile"), "--quiet"]
    env = dict(os.environ, PYTHONPATH=str(repo / "scripts"))
    if label in COLD:
        env["SNAKETUNE_NO_WARM"] = "1"
    started, peak = time.perf_counter(), 0
    with open(folder / "snakemake.err", "w") as err:
        process = subprocess.Popen(
            [*command, *args], cwd=folder, env=env, stdout=subprocess.DEVNULL, stderr=err
        )
        while process.poll() is None:
            peak = max(peak, tree_rss(process.pid))
            time.sleep(0.05)
    wall = time.perf_counter() - started
    if process.returncode:
        sys.exit(f"snakemake failed in {folder}:\n{(folder / 'snakemake.err').read_text()[-3000:]}")
    return wall, peak


def command_study(folder: Path, trials: int, seconds: float) -> None:
    (folder / "busy.py").write_text(BUSY)
    model = json.loads(json.dumps(MODEL))
    model["hyperopt"]["executor"]["num_samples"] = trials
    (folder / "model.yaml").write_text(yaml.safe_dump(model))
    study = {
        "engine": "command",
        "command": [sys.executable, str(folder / "busy.py"), "{output}", str(seconds)],
        "dataset": str(REPO / "data" / "titles.csv"),
        "model_config": "model.yaml",
        "experiment_name": "cmd",
    }
    (folder / "study.yaml").write_text(yaml.safe_dump(study))


def bare_pool(folder: Path, trials: int, seconds: float, cores: int) -> float:
    (folder / "busy.py").write_text(BUSY)

    def one(index: int) -> None:
        out = folder / "bare" / str(index)
        out.mkdir(parents=True)
        subprocess.run(
            [sys.executable, str(folder / "busy.py"), str(out), str(seconds)], check=True
        )

    started = time.perf_counter()
    with ThreadPoolExecutor(cores) as pool:
        list(pool.map(one, range(trials)))
    return time.perf_counter() - started


def trial_rows(study: Path) -> list[dict[str, float]]:
    """Per train job: wall (benchmark), time inside the trial, training, phases."""
    rows = []
    for bench in sorted((study / "logs" / "benchmarks" / "train").glob("trials_*.tsv")):
        with open(bench) as handle:
            job = float(next(csv.DictReader(handle, delimiter="\t"))["s"])
        trial = bench.stem.removeprefix("trials_")
        summary = json.loads((study / "trials" / trial / "train_summary.json").read_text())
        rows.append(
            {
                "job": job,
                "inner": summary["duration_s"],
                "train": summary["train_time_s"],
                **{f"phase:{k}": v for k, v in summary.get("timings_s", {}).items()},
            }
        )
    return rows


PHASES = ("imports", "load", "build", "train", "evaluate", "write")


def breakdown(label: str, rows: list[dict[str, float]]) -> str:
    """One row of mean seconds per trial: job start-up, then the phases inside the trial."""
    startup = mean(rows, "job") - mean(rows, "inner")
    phases = [  # a checkout older than timings_s has none
        f"{mean(rows, f'phase:{p}'):.2f}" if f"phase:{p}" in rows[0] else "–" for p in PHASES
    ]
    return f"| {label} | {startup:.2f} | " + " | ".join(phases) + " |"


def in_process_loop(study: Path, cores: int) -> float:
    """The study's trials fitted again by `run_trial` in a joblib loop of `cores` workers.

    The floor a study could reach with no job and no process per trial.
    """
    scripts = str(REPO / "scripts")
    if scripts not in sys.path:
        sys.path.insert(0, scripts)
    from joblib import Parallel, delayed

    from snaketune.backends import get_engine
    from snaketune.trial import run_trial

    prepared = {
        json.dumps(json.loads((p / "metadata.json").read_text())["preprocessing_key"]): p
        for p in (study / "prepared").glob("prep_*")
    }
    jobs = []
    for trial in sorted((study / "trials").glob("trial_*")):
        score = json.loads((trial / "score.json").read_text())
        engine = json.loads((trial / "train_summary.json").read_text())["engine"]
        (sampled,) = (trial / "sampled").iterdir()
        config = yaml.safe_load((sampled / "config.yaml").read_text())
        key = json.dumps(get_engine(engine).preprocessing_key(config))
        jobs.append(
            delayed(run_trial)(
                config_path=str(sampled / "config.yaml"),
                parameters_path=str(sampled / "parameters.json"),
                prepared_dir=str(prepared[key]),
                summary_path=str(study / "loop" / trial.name / "train_summary.json"),
                engine_name=engine,
                threads=1,
                output_feature=score["output_feature"],
                metric=score["metric"],
            )
        )
    # joblib's workers inherit the environment: set it for them only, as long as they run.
    worker_env = {"PYTHONPATH": scripts, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    saved = {name: os.environ.get(name) for name in worker_env}
    os.environ.update(worker_env)
    try:
        started = time.perf_counter()
        Parallel(n_jobs=cores)(jobs)
        return time.perf_counter() - started
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def mean(rows: list[dict[str, float]], key: str) -> float:
    return statistics.mean(row[key] for row in rows)


def measure_command(repos: dict[str, Path], args: argparse.Namespace) -> list[str]:
    lines = [
        f"{args.trials} trials of a program burning {args.seconds} s of CPU, --cores {args.cores}",
        "",
        "| checkout | study wall s | bare pool s | ratio | per trial slot s | job wall s "
        "| job start-up s |",
        "|---|---|---|---|---|---|---|",
    ]
    with tempfile.TemporaryDirectory() as folder:
        bare = bare_pool(Path(folder), args.trials, args.seconds, args.cores)
    slots = args.trials / args.cores
    for label, repo in repos.items():
        with tempfile.TemporaryDirectory() as folder:
            command_study(Path(folder), args.trials, args.seconds)
            wall, _ = snakemake(
                repo,
                Path(folder),
                "--cores",
                str(args.cores),
                "--configfile",
                "study.yaml",
                label=label,
            )
            rows = trial_rows(Path(folder) / "results" / "cmd")
        lines.append(
            f"| {label} | {wall:.1f} | {bare:.1f} | {wall / bare:.2f} "
            f"| {(wall - bare) / slots:.2f} "
            f"| {mean(rows, 'job'):.2f} | {mean(rows, 'job') - mean(rows, 'inner'):.2f} |"
        )
    return lines


def measure_engine(repos: dict[str, Path], args: argparse.Namespace, which: str) -> list[str]:
    lines = [
        "| checkout | study wall s | job wall s | training s | overhead s (job − training) |",
        "|---|---|---|---|---|",
    ]
    phases = [
        "| checkout | job start-up | " + " | ".join(PHASES) + " |",
        "|---|---|" + "---|" * len(PHASES),
    ]
    loop = None
    for label, repo in repos.items():
        with tempfile.TemporaryDirectory() as folder:
            config = ["--config", "experiment_name=b"]
            if which == "guide":
                model = yaml.safe_load(
                    (repo / "config/examples/ludwig_guide_hyperopt.yaml").read_text()
                )
                model["hyperopt"]["executor"] = {"num_samples": 8, "max_concurrent_trials": 2}
                Path(folder, "guide8.yaml").write_text(yaml.safe_dump(model, sort_keys=False))
                config += ["engine=torch", "model_config=guide8.yaml"]
            wall, _ = snakemake(repo, Path(folder), "--cores", "2", *config, label=label)
            rows = trial_rows(Path(folder) / "results" / "b")
            if which == "sklearn" and loop is None and repo == REPO:
                loop = in_process_loop(Path(folder) / "results" / "b", args.cores)
        phases.append(breakdown(label, rows))
        lines.append(
            f"| {label} | {wall:.1f} | {mean(rows, 'job'):.2f} | {mean(rows, 'train'):.2f} "
            f"| {mean(rows, 'job') - mean(rows, 'train'):.2f} |"
        )
    if loop is not None:
        lines += ["", f"The same trials in-process, a joblib loop of {args.cores}: {loop:.1f} s."]
    if which == "guide":
        lines.append("")
        lines.append("The two-core limit is Σ training / 2; the guide target is ≤ 1.15 × that.")
    lines += ["", "Mean seconds per trial: job start-up (job wall − trial) and phases:", ""]
    return lines + phases


def measure_dry_run(repos: dict[str, Path], args: argparse.Namespace) -> list[str]:
    lines = [
        "| checkout | trials | `snakemake -n` s | peak MB | ms per trial |",
        "|---|---|---|---|---|",
    ]
    for count in args.dry_run_trials:
        for label, repo in repos.items():
            with tempfile.TemporaryDirectory() as folder:
                command_study(Path(folder), count, 0)
                wall, peak = snakemake(
                    repo, Path(folder), "-n", "--configfile", "study.yaml", label=label
                )
            lines.append(
                f"| {label} | {count} | {wall:.1f} | {peak / 1e6:.0f} | {1000 * wall / count:.1f} |"
            )
    return lines


def measure_threads(repos: dict[str, Path], args: argparse.Namespace) -> list[str]:
    """Trial 0 of the guide example (torch, 1 CPU) alone, then beside trial 1 on 2 cores."""
    lines = [
        "| checkout | trial_0000 training alone s | side by side s | ratio |",
        "|---|---|---|---|",
    ]
    for label, repo in repos.items():
        trained = []
        for trials in (1, 2):
            with tempfile.TemporaryDirectory() as folder:
                example = repo / "config" / "examples" / "ludwig_guide_hyperopt.yaml"
                model = yaml.safe_load(example.read_text())
                model["hyperopt"]["executor"] = {"num_samples": trials}
                Path(folder, "guide.yaml").write_text(yaml.safe_dump(model, sort_keys=False))
                config = [
                    "--config",
                    "experiment_name=t",
                    "engine=torch",
                    "model_config=guide.yaml",
                ]
                snakemake(repo, Path(folder), "--cores", str(trials), *config, label=label)
                summary = Path(folder, "results", "t", "trials", "trial_0000", "train_summary.json")
                trained.append(json.loads(summary.read_text())["train_time_s"])
        alone, beside = trained
        lines.append(f"| {label} | {alone:.2f} | {beside:.2f} | {beside / alone:.2f} |")
    return lines


def parse_repos(items: list[str]) -> dict[str, Path]:
    """--repo label=DIR items as {label: checkout}; none: this checkout as "current"."""
    return {
        label: Path(path).resolve()
        for label, path in (item.split("=", 1) for item in items or [f"current={REPO}"])
    }


def write_section(name: str, command: str, lines: list[str]) -> None:
    """Replace (or append) the section `name` of docs/benchmarks.md."""
    path = REPO / "docs" / "benchmarks.md"
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    stamp = time.strftime("%Y-%m-%d")
    body = "\n".join([start, f"`{command}` ({stamp}, {os.cpu_count()} CPUs)", "", *lines, end])
    if start in text:
        text = text[: text.index(start)] + body + text[text.index(end) + len(end) :]
    else:
        text = text.rstrip() + "\n\n" + body + "\n"
    path.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", action="append", default=[], help="label=DIR (repeatable)")
    parser.add_argument(
        "--cold", action="append", default=[], help="LABEL whose train jobs start cold"
    )
    parser.add_argument("--only", default="command,sklearn,guide,dryrun")
    parser.add_argument("--trials", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--dry-run-trials", default="100,1000,10000")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    args.dry_run_trials = [int(n) for n in args.dry_run_trials.split(",")]
    COLD.update(args.cold)
    repos = parse_repos(args.repo)
    measures = {
        "command": lambda: measure_command(repos, args),
        "sklearn": lambda: measure_engine(repos, args, "sklearn"),
        "guide": lambda: measure_engine(repos, args, "guide"),
        "dryrun": lambda: measure_dry_run(repos, args),
        "threads": lambda: measure_threads(repos, args),
    }
    command = "python bench/job_structure.py " + " ".join(sys.argv[1:])
    for name in args.only.split(","):
        lines = measures[name]()
        print(f"## {name}\n" + "\n".join(lines) + "\n", flush=True)
        if not args.no_write:
            cell = f":{args.trials}x{args.seconds:g}s" if name == "command" else ""
            write_section(f"job_structure:{name}{cell}", command, lines)


if __name__ == "__main__":
    main()
