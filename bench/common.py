"""What the bench/ scripts share: checkouts, study folders, snakemake runs, results, docs.

Each script measures one thing on one or more checkouts (`--repo label=DIR`) in one
run, so that the ratios it prints compare like with like on one machine. The helpers
here keep the scripts to their measurement: running snakemake with the process tree's
peak memory sampled from /proc, writing study configs, reading what a finished study
left (train summaries, Snakemake benchmarks and job metadata) and replacing the
script's section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import base64
import csv
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
DOCS = REPO / "docs" / "benchmarks.md"
BUSY_TRIAL = BENCH / "busy_trial.py"
TITLES = REPO / "data" / "titles.csv"
# The phases of train_summary.json's timings_s, in the order a trial runs them.
PHASES = ("imports", "load", "build", "train", "evaluate", "write")
SAMPLE_S = 0.05  # how often the process tree's memory is read
PAGE = os.sysconf("SC_PAGE_SIZE")
MB = 1e6


# --- memory -----------------------------------------------------------------------------


def _processes() -> tuple[dict[int, int], dict[int, list[int]]]:
    """Resident bytes per pid, and each pid's children, from /proc/<pid>/stat."""
    rss: dict[int, int] = {}
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        pid = int(entry)
        rss[pid] = int(fields[21]) * PAGE
        children.setdefault(int(fields[1]), []).append(pid)
    return rss, children


def _subtree(root: int, children: dict[int, list[int]]) -> Iterator[int]:
    stack = [root]
    while stack:
        pid = stack.pop()
        yield pid
        stack.extend(children.get(pid, []))


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return handle.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def tree_rss(root: int, match: Sequence[str] = ()) -> int | tuple[int, int]:
    """Resident bytes of `root` and all its descendants (Linux /proc), RSS summed.

    With `match`, also the bytes of the subtrees whose top process's command line holds
    one of those strings (to tell one job's memory from the whole run's): a pair then.
    """
    rss, children = _processes()
    total = sum(rss.get(pid, 0) for pid in _subtree(root, children))
    if not match:
        return total
    matched, stack = 0, [root]
    while stack:
        pid = stack.pop()
        if any(text in _cmdline(pid) for text in match):
            matched += sum(rss.get(p, 0) for p in _subtree(pid, children))
        else:
            stack.extend(children.get(pid, []))
    return total, matched


def du(path: Path) -> int:
    """Bytes of the files under `path` (what a study folder costs on disk)."""
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file())


# --- running snakemake ------------------------------------------------------------------


@dataclass
class Run:
    """One snakemake run: wall time, peak memory of its tree, and of matched jobs."""

    wall_s: float
    peak_mb: float
    folder: Path
    matched_peak_mb: float = 0.0


def watch(process: subprocess.Popen, match: Sequence[str] = ()) -> tuple[float, float]:
    """Wait for `process`, reading its tree's RSS every SAMPLE_S: peak bytes (total, matched)."""
    peak = matched = 0
    while True:
        sample = tree_rss(process.pid, match)
        total, part = sample if isinstance(sample, tuple) else (sample, 0)
        peak, matched = max(peak, total), max(matched, part)
        try:
            process.wait(timeout=SAMPLE_S)  # returns as soon as it ends: no sleep in the wall
            return peak, matched
        except subprocess.TimeoutExpired:
            continue


def run_snakemake(
    repo: Path, folder: Path, *args: str, cores: int = 2, match: Sequence[str] = ()
) -> Run:
    """Run `repo`'s Snakefile in `folder` with this interpreter; exit with its stderr on failure.

    The checkout's jobs import its own package (PYTHONPATH), not the installed one.
    """
    command = [sys.executable, "-m", "snakemake", "-s", f"{repo}/Snakefile"]
    command += ["--cores", str(cores), "--quiet", "all", *args]
    env = dict(os.environ, PYTHONPATH=str(Path(repo) / "scripts"))
    err_path = folder / "snakemake.err"
    started = time.perf_counter()
    with open(folder / "snakemake.out", "w") as out, open(err_path, "w") as err:
        process = subprocess.Popen(command, cwd=folder, env=env, stdout=out, stderr=err)
        peak, matched = watch(process, match)
    wall = time.perf_counter() - started
    if process.returncode:
        tail = err_path.read_text(errors="replace")[-3000:]
        sys.exit(f"snakemake failed ({shlex.join(command)}) in {folder}:\n{tail}")
    return Run(wall, peak / MB, folder, matched / MB)


@contextmanager
def scratch(keep: bool = False, prefix: str = "snaketune-bench-") -> Iterator[Path]:
    """A fresh temporary folder for one study (left on disk with --keep, for a look)."""
    if keep:
        path = Path(tempfile.mkdtemp(prefix=prefix))
        print(f"keeping {path}", file=sys.stderr)
        yield path
        return
    with tempfile.TemporaryDirectory(prefix=prefix) as path:
        yield Path(path)


def cached_file(name: str, make: Callable[[Path], None]) -> Path:
    """A generated input (a large csv) kept in the temp folder between runs of a script."""
    path = Path(tempfile.gettempdir()) / "snaketune-bench" / name
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{name}.{os.getpid()}")
        make(partial)
        partial.replace(path)
    return path


# --- study configs ----------------------------------------------------------------------


def write_yaml(path: Path, data: Any) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def model_config(
    inputs: list[dict[str, Any]],
    output: str,
    num_samples: int,
    concurrent: int,
    trainer: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A Ludwig-style model config whose trials differ in their learning rate only.

    One preprocessing for all trials: one prepared folder, so trials are alike.
    """
    config: dict[str, Any] = {
        "input_features": inputs,
        "output_features": [{"name": output, "type": "category"}],
    }
    if trainer:
        config["trainer"] = trainer
    config["hyperopt"] = {
        "goal": "maximize",
        "metric": "accuracy",
        "output_feature": output,
        "parameters": {"trainer.learning_rate": {"space": "uniform", "lower": 0.001, "upper": 0.1}},
        "executor": {"num_samples": num_samples, "max_concurrent_trials": concurrent},
    }
    return config


def busy_command(seconds: float) -> list[str]:
    """The command-engine program of the overhead benchmarks: burn CPU, write metrics."""
    return [sys.executable, str(BUSY_TRIAL), "--output", "{output}", "--seconds", str(seconds)]


def write_study(
    folder: Path,
    model: dict[str, Any],
    *,
    engine: str,
    experiment: str,
    dataset: Path = TITLES,
    command: list[str] | None = None,
) -> list[str]:
    """Write model.yaml and study.yaml into `folder`; the snakemake arguments that use them."""
    study: dict[str, Any] = {"engine": engine}
    if command is not None:
        study["command"] = command
    study |= {
        "dataset": str(dataset),
        "model_config": str(write_yaml(folder / "model.yaml", model)),
        "experiment_name": experiment,
    }
    return ["--configfile", str(write_yaml(folder / "study.yaml", study))]


def command_study(folder: Path, trials: int, seconds: float, cores: int) -> list[str]:
    """N busy_trial.py trials on the bundled titles.csv, `cores` at a time (engine command)."""
    model = model_config([{"name": "title", "type": "text"}], "topic", trials, cores)
    return write_study(
        folder, model, engine="command", experiment="bench", command=busy_command(seconds)
    )


# --- reading results --------------------------------------------------------------------


@dataclass
class TrialRow:
    """One train job: its Snakemake benchmark and its train_summary.json."""

    trial: str
    job_s: float
    max_rss_mb: float | None
    duration_s: float | None
    train_time_s: float | None
    peak_rss_mb: float | None
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def startup_s(self) -> float | None:
        """The job's time outside the trial function: process start, imports before it."""
        return None if self.duration_s is None else self.job_s - self.duration_s


def _number(text: str | None) -> float | None:
    try:
        return float(text)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None  # "NA" when Snakemake could not read the value


def read_benchmark(path: Path) -> dict[str, float | None]:
    """A Snakemake benchmark file's first row: s (wall), max_rss (MB), ..."""
    with open(path) as handle:
        row = next(csv.DictReader(handle, delimiter="\t"))
    return {key: _number(value) for key, value in row.items()}


def read_trials(study: Path) -> list[TrialRow]:
    """The train jobs of a finished study folder (`results/<experiment>`)."""
    rows = []
    for bench in sorted((study / "logs" / "benchmarks" / "train").glob("trials_*.tsv")):
        trial = bench.stem.removeprefix("trials_")
        job = read_benchmark(bench)
        summary = json.loads((study / "trials" / trial / "train_summary.json").read_text())
        rows.append(
            TrialRow(
                trial=trial,
                job_s=job["s"] or 0.0,
                max_rss_mb=job.get("max_rss"),
                duration_s=summary.get("duration_s"),
                train_time_s=summary.get("train_time_s"),
                peak_rss_mb=summary.get("peak_rss_mb"),
                timings=summary.get("timings_s") or {},  # absent before timings_s landed
            )
        )
    return rows


def mean(values: Iterable[float | None]) -> float | None:
    """The mean of the values that are there (None when none is)."""
    present = [v for v in values if v is not None]
    return statistics.mean(present) if present else None


def phase_names(rows: Iterable[TrialRow]) -> list[str]:
    """The timings_s phases present in any row: known ones in run order, others after."""
    seen = {name for row in rows for name in row.timings}
    return [p for p in PHASES if p in seen] + sorted(seen - set(PHASES))


def phase_means(rows: list[TrialRow], names: Iterable[str]) -> dict[str, float | None]:
    return {name: mean(row.timings.get(name) for row in rows) for name in names}


def job_metadata(folder: Path) -> dict[str, dict[str, Any]]:
    """Snakemake's record of each output (.snakemake/metadata): rule, inputs, start/end."""
    records = {}
    for path in (folder / ".snakemake" / "metadata").glob("*"):
        try:
            output = base64.b64decode(path.name.replace("@", "/")).decode()
            records[output] = json.loads(path.read_text())
        except (ValueError, OSError):
            continue
    return records


def job_seconds(record: dict[str, Any]) -> float | None:
    start, end = record.get("starttime"), record.get("endtime")
    return None if start is None or end is None else end - start


def trial_prepared(folder: Path) -> dict[str, Path]:
    """trial id -> the prepared folder its train job read (from Snakemake's metadata)."""
    found = {}
    for output, record in job_metadata(folder).items():
        parts = Path(output).parts
        prepared = [i for i in record.get("input") or [] if "/prepared/" in f"/{i}"]
        if "trials" in parts and prepared:
            found[parts[parts.index("trials") + 1]] = folder / prepared[0]
    return found


# --- tables and docs/benchmarks.md ------------------------------------------------------


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--repo",
        action="append",
        default=[],
        metavar="LABEL=DIR",
        help=f"a checkout whose Snakefile to measure (repeatable; default current={REPO})",
    )
    parser.add_argument("--cores", type=int, default=2, help="snakemake --cores (default 2)")
    parser.add_argument("--no-write", action="store_true", help="print only, leave the docs")
    parser.add_argument("--keep", action="store_true", help="keep the temporary study folders")


def parse_repos(values: Sequence[str]) -> dict[str, Path]:
    """--repo label=DIR values, in order (the first is the reference of the ratios)."""
    repos = {}
    for value in values or [f"current={REPO}"]:
        label, sep, path = value.partition("=")
        if not sep:
            label, path = Path(value).name, value
        repo = Path(path).resolve()
        if not (repo / "Snakefile").is_file():
            sys.exit(f"--repo {value}: no Snakefile in {repo}")
        repos[label] = repo
    return repos


def checkout(repo: Path) -> str:
    """`git rev-parse --short HEAD` of a checkout, + "+changes" if its tracked files differ."""
    git = ["git", "--no-optional-locks", "-C", str(repo)]  # read-only: never takes the index lock
    head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    if head.returncode:
        return "not a git checkout"
    status = subprocess.run(
        [*git, "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True
    )
    return head.stdout.strip() + ("+changes" if status.stdout.strip() else "")


def fmt(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def ratio(value: float | None, reference: float | None) -> str:
    return "–" if value is None or not reference else f"{value / reference:.2f}"


def table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def invocation() -> str:
    """The command line of this run, with paths inside the repository made relative."""

    def short(path: str) -> str:
        try:
            return str(Path(path).absolute().relative_to(REPO))
        except ValueError:
            return path

    return shlex.join([short(sys.executable), short(sys.argv[0]), *sys.argv[1:]])


def publish(name: str, lines: list[str], repos: dict[str, Path], write: bool) -> None:
    """Print a section and, if `write`, put it into docs/benchmarks.md between its markers.

    An existing section of that name is replaced, else it is appended; the rest of the
    file stays as it is.
    """
    checkouts = ", ".join(f"{label} = `{checkout(path)}`" for label, path in repos.items())
    stamp = time.strftime("%Y-%m-%d")
    cpus = len(os.sched_getaffinity(0))
    head = f"`{invocation()}` ({stamp}, nproc {cpus}; checkouts: {checkouts})"
    start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    body = "\n".join([start, head, "", *lines, end])
    print(body, flush=True)
    if not write:
        return
    text = DOCS.read_text() if DOCS.exists() else "# Benchmarks\n"
    if start in text and end in text:
        text = text[: text.index(start)] + body + text[text.index(end) + len(end) :]
    else:
        text = text.rstrip() + "\n\n" + body + "\n"
    partial = DOCS.with_name(f".{DOCS.name}.{os.getpid()}")
    partial.write_text(text)
    partial.replace(DOCS)
