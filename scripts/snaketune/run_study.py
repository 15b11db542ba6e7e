"""`snaketune hyperopt`: run the workflow through Snakemake, with one progress bar.

The command line is Snakemake's (this module builds it and starts `python -m snakemake`;
it never imports Snakemake). Snakemake's job records go to the study's
`logs/snakemake.log`; the terminal gets the bar, the workflow's own notices and errors
(lines starting with "snaketune:"), and at the end the leaderboard and the report's
path. The bar counts from `logs/progress.jsonl` (progress.py), which the run's start
and every scored trial append to.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from snaketune.progress import Progress, format_score, progress_path, read_progress

REPO = Path(__file__).resolve().parents[2]
SNAKEFILE = REPO / "Snakefile"
LOG_NAME = "logs/snakemake.log"
# The workflow's own lines ("snaketune: ...") are shown above the bar, but for the one
# line per trial, which the bar replaces.
TRIAL_PREFIX = "snaketune: trial_"


def snakemake_command(
    config: dict[str, str],
    *,
    cores: str,
    profile: str | None = None,
    dry_run: bool = False,
    extra: Sequence[str] = (),
    snakefile: Path = SNAKEFILE,
) -> list[str]:
    """The snakemake command line; --config last (it takes every argument after it)."""
    command = [sys.executable, "-m", "snakemake", "--snakefile", str(snakefile)]
    command += ["--cores", cores]
    if profile:
        command += ["--profile", profile]
    if dry_run:
        command.append("--dry-run")
    command += list(extra)
    return [*command, "--config", *(f"{key}={value}" for key, value in config.items())]


class ProgressBar:
    """The study's bar: trials done of total, failed, best so far, elapsed and left."""

    def __init__(self, stream: IO[str]) -> None:
        from tqdm import tqdm

        self._tqdm = tqdm
        self.stream = stream
        self.bar = None
        self.progress = Progress()
        self.offset = 0
        self.inode: int | None = None

    def refresh(self, path: Path, since: float) -> None:
        try:
            inode = os.stat(path).st_ino
        except OSError:  # the run has not started yet
            return
        if inode != self.inode:  # a run's start replaced the file: read it from the top
            self.inode, self.progress, self.offset = inode, Progress(), 0
        self.progress, self.offset = read_progress(path, self.progress, self.offset)
        progress = self.progress
        if progress.started < since - 1:  # the last run's records: this run has not begun
            return
        if self.bar is None:
            self.bar = self._tqdm(
                total=progress.total,
                initial=progress.done,
                unit="trial",
                file=self.stream,
                dynamic_ncols=True,
                bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} trials [{elapsed}<{remaining}]"
                "{postfix}",
                desc="hyperopt",
            )
        self.bar.total = progress.total
        best = progress.best()
        self.bar.set_postfix_str(
            f"failed {progress.failed}, best {progress.metric} "
            f"{format_score(best[1]) if best else '-'}",
            refresh=False,
        )
        if progress.done != self.bar.n:
            self.bar.update(progress.done - self.bar.n)
        else:
            self.bar.refresh()  # the clock moves on between trials

    def write(self, line: str) -> None:
        if self.bar is None:
            self.stream.write(line + "\n")
        else:
            self.bar.write(line, file=self.stream)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _pump(source: IO[bytes], log: IO[bytes], lines: list[str], lock: threading.Lock) -> None:
    """Copy Snakemake's output into the log; keep the lines the terminal should show."""
    for raw in iter(source.readline, b""):
        log.write(raw)
        log.flush()
        text = raw.decode("utf-8", "replace").rstrip("\n")
        if text.startswith("snaketune:") and not text.startswith(TRIAL_PREFIX):
            with lock:
                lines.append(text)


def run_with_progress(command: list[str], study_dir: Path, stream: IO[str] = sys.stderr) -> int:
    """Run snakemake with its output in the study's log and a bar on `stream`."""
    log_path = study_dir / LOG_NAME
    log_path.parent.mkdir(parents=True, exist_ok=True)
    started = time.time()
    bar = ProgressBar(stream)
    shown: list[str] = []
    lock = threading.Lock()
    with open(log_path, "ab") as log:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        pump = threading.Thread(target=_pump, args=(process.stdout, log, shown, lock))
        pump.start()
        interrupted = False
        workflow_lines = 0  # the workflow's own lines shown (its errors among them)
        while True:
            try:
                code = process.wait(timeout=0.5)
                break
            except subprocess.TimeoutExpired:
                pass
            except KeyboardInterrupt:  # Snakemake got the Ctrl-C too: it cancels its jobs
                interrupted = True
                signal.signal(signal.SIGINT, signal.SIG_IGN)
            workflow_lines += _show(bar, shown, lock)
            bar.refresh(progress_path(study_dir), started)
        pump.join()
    bar.refresh(progress_path(study_dir), started)
    bar.close()
    workflow_lines += _show(bar, shown, lock)
    if interrupted:
        stream.write(
            "snaketune: interrupted; Snakemake stopped the study's jobs, and the same "
            f"command resumes it. Snakemake's output: {log_path}\n"
        )
        return 130
    if code != 0 and not workflow_lines:  # a failure that is not the workflow's own
        stream.write(_tail(log_path))
    if code != 0:
        stream.write(f"Snakemake's full output: {log_path}\n")
    return code


def _show(bar: ProgressBar, shown: list[str], lock: threading.Lock) -> int:
    """Write the workflow lines collected so far above the bar; how many there were."""
    with lock:
        pending, shown[:] = list(shown), []
    for line in pending:
        bar.write(line)
    return len(pending)


def _tail(path: Path, lines: int = 25) -> str:
    """The end of Snakemake's output, for a failure that is not the workflow's own."""
    try:
        text = path.read_bytes()[-20000:].decode("utf-8", "replace")
    except OSError:
        return ""
    return "".join(line + "\n" for line in text.splitlines()[-lines:])


def run_plain(command: list[str]) -> int:
    """Snakemake's own output on the terminal (--show_snakemake_output, dry runs)."""
    try:
        return subprocess.call(command)
    except KeyboardInterrupt:
        return 130


def final_text(study_dir: Path) -> str:
    """The leaderboard's top and where the report is, printed when the run ends."""
    from snaketune import leaderboard

    tsv = study_dir / "leaderboard.tsv"
    if not tsv.exists():
        return ""
    text = leaderboard.format_summary(leaderboard.read_leaderboard(tsv), study_dir=study_dir)
    report = study_dir / "report" / "report.html"
    if report.exists():
        text += f"\nReport: {report}"
    return text + "\n"
