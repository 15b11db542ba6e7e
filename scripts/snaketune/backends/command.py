"""Engine `command`: any trainer, run as an external program once per trial.

The program gets the resolved trial config, the raw split files and an output
folder through placeholders in its argument list (never through a shell), and
leaves Ludwig-shaped statistics behind; the workflow scores them like any other
trial.

The program runs in a session of its own. However the trial ends (the program exits,
fails, or a limit interrupts it), every process it started that is still running is
ended, also those that left its session (a daemon that setsid()s), and named in
train.log. Its output reaches train.log capped: see LOG_HEAD_BYTES.
"""

from __future__ import annotations

import codecs
import ctypes
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, TextIO

from snaketune import io, limits
from snaketune.backends.base import STATISTICS_FILE, Engine, TrainJob
from snaketune.backends.curves import best_evaluation, selection_split
from snaketune.errors import ConfigError

PLACEHOLDERS = (
    "config",
    "training_set",
    "validation_set",
    "test_set",
    "prepared",
    "output",
    "seed",
    "threads",
    "output_feature",
    "metric",
)
SPLITS = ("training", "validation", "test")
# Ludwig's default encoder/decoder per feature type: the program is expected to be
# Ludwig-like, so defaults expansion uses Ludwig's notion of "the default encoder".
LUDWIG_ENCODERS = {
    "text": "parallel_cnn",
    "category": "dense",
    "number": "passthrough",
    "binary": "passthrough",
}
LUDWIG_DECODERS = {"category": "classifier", "binary": "regressor", "number": "regressor"}
STATISTICS = STATISTICS_FILE
MINIMAL_METRICS = "metrics.json"
# train.log keeps the first LOG_HEAD_BYTES of the program's output (stdout and stderr
# together), written as it comes, and the last LOG_TAIL_BYTES, kept in memory and written
# when the program ends, with one line in between saying how many bytes were left out:
# a program that prints without end cannot fill the disk.
LOG_HEAD_BYTES = 2**20
LOG_TAIL_BYTES = 2**20
# Processes of the trial still running when it ends get SIGTERM, then SIGKILL this much
# later; after SIGKILL, snaketune waits up to KILL_WAIT_S for them to go.
END_GRACE_S = 2.0
KILL_WAIT_S = 2.0
TRACK_EVERY_S = 0.5  # how often the running program's process tree is recorded
NAMED_IN_REASON = 5  # ended processes a failed trial's reason names; train.log has all
_POLL_S = 0.1
_READ_BYTES = 2**16
PR_SET_CHILD_SUBREAPER = 36
PR_GET_CHILD_SUBREAPER = 37


class CommandFailed(RuntimeError):
    """The trainer program exited non-zero or left no statistics."""


def check_command(command: Any) -> list[str]:
    """The study config's `command`: a non-empty list of strings, known placeholders only."""
    if (
        not isinstance(command, list)
        or not command
        or not all(isinstance(arg, str) and arg for arg in command)
    ):
        raise ConfigError(
            f"command: {command!r} must be a non-empty list of strings, e.g. "
            "[python, train.py, '{config}', '{output}'] (engine: command)."
        )
    for arg in command:
        for name in re.findall(r"\{([^{}]*)\}", arg):
            if name not in PLACEHOLDERS:
                raise ConfigError(
                    f"command: unknown placeholder {{{name}}} in {arg!r}; allowed: "
                    + ", ".join(f"{{{p}}}" for p in PLACEHOLDERS)
                    + "."
                )
    program = command[0]
    if shutil.which(program) is None and not Path(program).is_file():
        raise ConfigError(
            f"command: program {program!r} is not on PATH and is not a file; give a program "
            "name on PATH or a path to an executable."
        )
    return list(command)


def expand_arguments(command: list[str], values: dict[str, str]) -> list[str]:
    """Replace {placeholders} textually in each argument; nothing is evaluated."""
    expanded = []
    for arg in command:
        for name, value in values.items():
            arg = arg.replace(f"{{{name}}}", value)
        expanded.append(arg)
    return expanded


def _as_curves(minimal: dict) -> dict:
    """metrics.json (one value per metric) -> Ludwig's statistics with one evaluation."""
    stats: dict[str, Any] = {"evaluation_frequency": {"frequency": 1, "period": "epoch"}}
    for split in SPLITS:
        if split in minimal:
            stats[split] = {
                feature: {
                    name: value if isinstance(value, list) else [value]
                    for name, value in values.items()
                }
                for feature, values in minimal[split].items()
            }
    return stats


def _find_statistics(output: Path) -> tuple[dict, Path]:
    """The program's statistics and the file they came from, which messages name."""
    direct = output / STATISTICS
    found = [direct] if direct.is_file() else sorted(output.rglob(STATISTICS))
    if found:
        return io.read_json(found[0]), found[0]
    if (output / MINIMAL_METRICS).is_file():
        return _as_curves(io.read_json(output / MINIMAL_METRICS)), output / MINIMAL_METRICS
    raise CommandFailed(
        f"the command finished but wrote neither {STATISTICS} (Ludwig's shape, anywhere under "
        f"the output folder) nor {MINIMAL_METRICS} into {output}."
    )


def _has_values(split_stats: Any) -> bool:
    """Whether a split's statistics hold at least one evaluated value for any metric."""
    if not isinstance(split_stats, dict):
        return False
    return any(
        (bool(value) if isinstance(value, list) else isinstance(value, int | float))
        for curves in split_stats.values()
        if isinstance(curves, dict)
        for value in curves.values()
    )


def _validation_rows(prepared: Path) -> int:
    """Rows the program was handed as {validation_set}; 0 when the study has none."""
    import pyarrow.parquet as pq  # only a training job reads it

    path = prepared / "validation.parquet"
    return pq.read_metadata(path).num_rows if path.is_file() else 0


def check_validation(stats: dict, source: Path, trial_dir: Path, feature: str, metric: str) -> None:
    """Fail a trial whose program was given validation rows but reported nothing on them.

    Scoring would otherwise pick the best epoch on the training curve, or blame the split
    for having no rows. The usual cause is `ludwig train` running on a Ray cluster.
    """
    if _has_values(stats.get("validation")):
        return
    splits = ", ".join(s for s in SPLITS if _has_values(stats.get(s))) or "none"
    raise CommandFailed(
        f"the program's {source.name} ({source.relative_to(trial_dir)}) has no validation "
        f"values for {feature}.{metric}; its splits: {splits}. If the program is `ludwig "
        "train`, pin the local backend (--backend local): on Ray (RAY_ADDRESS set, or a "
        "cluster running on this machine) its statistics hold no validation curve."
    )


class CommandEngine(Engine):
    """Runs the study's `command` per trial; the program owns the model config."""

    name = "command"
    feature_types = None  # the program decides which feature types it knows

    def __init__(self, command: list[str] | None = None) -> None:
        self.command = command

    def default_encoder(self, feature_type: str) -> str | None:
        return LUDWIG_ENCODERS.get(feature_type)

    def default_decoder(self, feature_type: str) -> str | None:
        return LUDWIG_DECODERS.get(feature_type)

    def validate_config(self, config: dict[str, Any]) -> None:
        """The program owns the model config; only the parts snaketune reads are checked."""
        outputs = config.get("output_features") or []
        if len(outputs) != 1:
            raise ConfigError(
                f"output_features: {len(outputs)} output features; snaketune scores exactly "
                "one for now."
            )

    def config_notices(self, config: dict[str, Any]) -> list[str]:
        """None: the program fills in its own defaults."""
        return []

    def preprocessing_key(self, config: dict[str, Any]) -> dict[str, Any]:
        def columns(section: str) -> list[dict]:
            return [
                {k: f[k] for k in ("name", "type", "column") if k in f}
                for f in config.get(section) or []
            ]

        preprocessing = config.get("preprocessing") or {}
        return {
            "preprocessing": {k: v for k, v in preprocessing.items() if k == "split"},
            "input_features": columns("input_features"),
            "output_features": columns("output_features"),
        }

    def prepare(self, config, splits, out_dir, seed) -> dict[str, Any]:
        return {}  # the program reads the raw split files that prepare already wrote

    def train_job(self, job: TrainJob) -> dict[str, Any]:
        if not self.command:
            raise CommandFailed("engine command needs the study config key 'command'.")
        out = job.out_dir
        output = out / "output"
        shutil.rmtree(output, ignore_errors=True)
        output.mkdir(parents=True)
        config_path = job.config_path
        if config_path is None:
            config_path = str(out / "config.yaml")
            io.write_yaml(config_path, job.config)
        prepared = job.prepared_dir
        feature, metric = job.output_feature or "combined", job.metric or "loss"
        values = {
            "config": str(Path(config_path).resolve()),
            "prepared": str(prepared.resolve()),
            "output": str(output.resolve()),
            "seed": str(job.seed),
            "threads": str(job.threads),
            "output_feature": feature,
            "metric": metric,
        }
        for split in SPLITS:
            values[f"{split}_set"] = str((prepared / f"{split}.parquet").resolve())
        ended = self._run(expand_arguments(self.command, values), out, job.seed)
        stats, source = _find_statistics(output)
        if _validation_rows(prepared) > 0:
            check_validation(stats, source, out, feature, metric)
        io.write_json(out / STATISTICS, stats)
        return {**_epochs(stats, feature, metric), "stragglers_killed": len(ended)}

    def _run(self, arguments: list[str], cwd: Path, seed: int) -> list[tuple[int, str]]:
        """Run the program with the user's environment untouched (plus the seed).

        Whatever way it ends, every process it left running is ended before this returns
        or raises; returns those (pid, command line), which a limit's reason names too.
        """
        print("running:", arguments, file=sys.stderr, flush=True)
        log = CappedLog(sys.stderr)
        trial = None
        with _adopting_orphans():
            before = _own_children()
            try:
                with _stops_raising():
                    with limits.held():  # no interruption between starting it and holding it
                        child = subprocess.Popen(
                            arguments,
                            cwd=cwd,
                            stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT,
                            env=dict(os.environ, SNAKETUNE_SEED=str(seed)),
                            start_new_session=True,
                        )
                        trial = _TrialProcesses(child, before)
                    returncode = _follow(trial, log)
            except limits.TrialLimitExceeded as exc:
                ended = _finish(trial, log)
                if not ended:
                    raise
                raise limits.TrialLimitExceeded(
                    f"{exc}; snaketune {_ended_text(ended, named=NAMED_IN_REASON)}"
                ) from exc
            except BaseException:
                _finish(trial, log)
                raise
            ended = _finish(trial, log)
        if returncode != 0:
            also = f"; snaketune {_ended_text(ended, named=NAMED_IN_REASON)}" if ended else ""
            raise CommandFailed(
                f"the command {arguments[0]!r} exited with code {returncode} (its output "
                f"is in the trial's train.log){also}."
            )
        if ended:
            print(
                "snaketune: the command exited with code 0 but left those processes running; "
                "the trial counts, but a program should wait for the processes it starts (or "
                "end them) before it exits.",
                file=sys.stderr,
                flush=True,
            )
        return ended


class CappedLog:
    """The program's output on its way to train.log, at most LOG_HEAD_BYTES + LOG_TAIL_BYTES.

    The head is written as it comes, so the log shows progress while the program runs;
    the tail waits in memory (whole chunks, trimmed at the end) until `close`.
    """

    def __init__(
        self, sink: TextIO, head_bytes: int = LOG_HEAD_BYTES, tail_bytes: int = LOG_TAIL_BYTES
    ) -> None:
        self.sink = sink
        self.head_left = head_bytes
        self.tail_bytes = tail_bytes
        self.tail: deque[bytes] = deque()
        self.tail_size = 0
        self.left_out = 0
        self.decoder = codecs.getincrementaldecoder("utf-8")("backslashreplace")
        self.line_ended = True

    def write(self, chunk: bytes) -> None:
        """Pass the head on now; keep the rest as tail, dropping what falls out of it."""
        if self.head_left > 0:
            head, chunk = chunk[: self.head_left], chunk[self.head_left :]
            self.head_left -= len(head)
            self._emit(self.decoder.decode(head))
        if not chunk:
            return
        self.tail.append(chunk)
        self.tail_size += len(chunk)
        while self.tail_size - len(self.tail[0]) >= self.tail_bytes:
            self.left_out += len(self.tail[0])
            self.tail_size -= len(self.tail.popleft())

    def close(self) -> None:
        """Write the tail, after a line naming what was left out (if anything was)."""
        tail = b"".join(self.tail)
        self.tail.clear()
        cut = max(0, len(tail) - self.tail_bytes)
        self.left_out += cut
        if not self.left_out:
            self._emit(self.decoder.decode(tail, final=True))
            return
        self._emit(self.decoder.decode(b"", final=True))
        self._emit(
            ("" if self.line_ended else "\n")
            + f"[snaketune: {self.left_out} bytes of the program's output left out here; "
            f"train.log keeps the first {LOG_HEAD_BYTES} and the last {LOG_TAIL_BYTES} bytes "
            "(LOG_HEAD_BYTES, LOG_TAIL_BYTES in snaketune/backends/command.py)]\n"
        )
        self._emit(tail[cut:].decode("utf-8", "backslashreplace"))

    def _emit(self, text: str) -> None:
        if text:
            self.sink.write(text)
            self.sink.flush()
            self.line_ended = text.endswith("\n")


class _TrialProcesses:
    """The processes of one program run, found through /proc, so that all can be ended.

    They are: the program's session (it is its leader), everything below the program or
    a process seen in the session (also what left it with setsid), orphans this process
    adopted as their subreaper, and what was recorded while the program ran.
    """

    def __init__(self, child: subprocess.Popen, before: set[tuple[int, int]]) -> None:
        self.child = child
        self.before = before
        # Still there to read: the program is not reaped before we wait for it.
        self.program = limits.read_process(child.pid)
        self.seen: dict[int, int] = {}  # pid -> start, recorded by `track`
        self.ended: dict[int, str] = {}  # pid -> command line

    def running(self) -> dict[int, limits.Process | None]:
        """The trial's processes alive now (reaping adopted orphans that have ended)."""
        self.child.poll()
        table = limits.process_table()
        if not table or self.program is None:  # no /proc: the process group is all we see
            return {self.child.pid: None} if _group_exists(self.child.pid) else {}
        me, leader = os.getpid(), self.program
        roots = {pid for pid, start in self.seen.items() if _same(table, pid, start)}
        for process in table.values():
            adopted = process.ppid == me and (process.pid, process.start) not in self.before
            if adopted and not process.alive and process.pid != leader.pid:
                with suppress(ChildProcessError):
                    os.waitpid(process.pid, os.WNOHANG)
            in_session = process.session == leader.pid and process.start >= leader.start
            if adopted or in_session:
                roots.add(process.pid)
        found = roots | limits.descendants(table, roots)
        return {pid: table[pid] for pid in found if pid in table and table[pid].alive}

    def track(self) -> None:
        """Record the processes running now, to find them at the end wherever they went."""
        for pid, process in self.running().items():
            if process is not None:
                self.seen[pid] = process.start

    def signal_all(self, signum: int) -> bool:
        """Send the signal to every process of the trial still running; False if none is."""
        running = self.running()
        for pid in running:
            self.ended.setdefault(pid, _command_line(pid))
            with suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signum)
        with suppress(ProcessLookupError, PermissionError):
            os.killpg(self.child.pid, signum)
        return bool(running)

    def end(self) -> list[tuple[int, str]]:
        """SIGTERM, up to END_GRACE_S to go, then SIGKILL; the (pid, command) ended."""
        for signum, wait_s in ((signal.SIGTERM, END_GRACE_S), (signal.SIGKILL, KILL_WAIT_S)):
            if not self.signal_all(signum):
                break
            deadline = time.monotonic() + wait_s
            while self.running() and time.monotonic() < deadline:
                time.sleep(0.05)
        return list(self.ended.items())


def _same(table: dict[int, limits.Process], pid: int, start: int) -> bool:
    """Whether the pid is still the process recorded, not a later one given its number."""
    return pid in table and table[pid].start == start


def _group_exists(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def _own_children() -> set[tuple[int, int]]:
    """(pid, start) of this process's children before the program starts: not the trial's."""
    me = os.getpid()
    return {(p.pid, p.start) for p in limits.process_table().values() if p.ppid == me}


def _command_line(pid: int) -> str:
    """A process's command line for the log, shortened; its name when that is empty."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
        text = raw.rstrip(b"\0").replace(b"\0", b" ").decode("utf-8", "replace")
        text = text or Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return "?"
    return text if len(text) <= 200 else text[:197] + "..."


def _ended_text(ended: list[tuple[int, str]], named: int | None = None) -> str:
    """ "ended N processes ...: pid P (command), ..."; the first `named` of them, if given."""
    count = f"{len(ended)} process" + ("" if len(ended) == 1 else "es")
    shown = ended if named is None else ended[:named]
    listed = ", ".join(f"pid {pid} ({command})" for pid, command in shown)
    more = f" and {len(ended) - len(shown)} more (see train.log)" if len(shown) < len(ended) else ""
    return f"ended {count} of the trial still running: {listed}{more}"


@contextmanager
def _adopting_orphans() -> Iterator[None]:
    """Make this process the subreaper of what it starts, for the body (Linux only).

    A process whose parent ends (a daemon that forks twice) is then re-parented to this
    process instead of to init, so it stays in the trial's tree, where the end finds it.
    """
    libc, previous = None, ctypes.c_int()
    if sys.platform.startswith("linux"):
        with suppress(OSError, AttributeError):
            candidate = ctypes.CDLL(None, use_errno=True)
            zero = ctypes.c_ulong(0)
            if (
                candidate.prctl(PR_GET_CHILD_SUBREAPER, ctypes.byref(previous), zero, zero, zero)
                == 0
                and candidate.prctl(PR_SET_CHILD_SUBREAPER, ctypes.c_ulong(1), zero, zero, zero)
                == 0
            ):
                libc = candidate
    try:
        yield
    finally:
        if libc is not None:
            zero = ctypes.c_ulong(0)
            libc.prctl(PR_SET_CHILD_SUBREAPER, ctypes.c_ulong(previous.value), zero, zero, zero)


@contextmanager
def _stops_raising() -> Iterator[None]:
    """While the program runs, SIGTERM and SIGHUP to this job raise SystemExit (128 + signal).

    In a session of its own, the program no longer gets what is sent to the job's group or
    terminal; by default the job would die at once and leave it running. Raised, the stop
    ends the program's processes on its way out. Handlers someone else set stay.
    """
    replaced = {}
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGHUP):
            if signal.getsignal(signum) is signal.SIG_DFL:
                replaced[signum] = signal.signal(signum, _raise_exit)
    try:
        yield
    finally:
        for signum, previous in replaced.items():
            signal.signal(signum, previous)


def _raise_exit(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)


def _follow(trial: _TrialProcesses, log: CappedLog) -> int:
    """Copy the program's output to the log as it comes, until the program exits.

    A process it leaves behind may hold the pipe open, so the program's exit ends this,
    not the end of its output.
    """
    child, fd = trial.child, trial.child.stdout.fileno()
    next_track = time.monotonic()
    while child.poll() is None:
        if time.monotonic() >= next_track:
            trial.track()
            next_track = time.monotonic() + TRACK_EVERY_S
        if fd is None:  # every writer closed the pipe; the program still runs
            time.sleep(_POLL_S)
        elif select.select([fd], [], [], _POLL_S)[0]:
            chunk = os.read(fd, _READ_BYTES)
            if chunk:
                log.write(chunk)
            else:
                fd = None
    return child.returncode


def _finish(trial: _TrialProcesses | None, log: CappedLog) -> list[tuple[int, str]]:
    """End the trial's processes, then take the rest of the output and close the log."""
    with limits.held():
        ended = []
        if trial is not None:
            ended = trial.end()
            with suppress(subprocess.TimeoutExpired):
                trial.child.wait(timeout=KILL_WAIT_S)
            _drain(trial.child.stdout.fileno(), log)
            trial.child.stdout.close()
        log.close()
        if ended:
            print(f"snaketune: {_ended_text(ended)}.", file=sys.stderr, flush=True)
    return ended


def _drain(fd: int, log: CappedLog, wait_s: float = 1.0) -> None:
    """The output still in the pipe; gives up after wait_s if a process that could not be
    ended holds it open."""
    deadline = time.monotonic() + wait_s
    while (left := deadline - time.monotonic()) > 0 and select.select([fd], [], [], left)[0]:
        chunk = os.read(fd, _READ_BYTES)
        if not chunk:
            return
        log.write(chunk)


def _epochs(stats: dict, feature: str, metric: str) -> dict[str, Any]:
    """best_epoch/epochs_run for train_summary.json; scoring decides the trial's score."""
    curves = stats.get(selection_split(stats)) or {}
    curve = curves.get(feature, {}).get(metric) or []
    try:
        best = best_evaluation(curve, metric)
    except ValueError:  # no finite value: scoring reports it
        best = None
    return {"best_epoch": best, "epochs_run": len(curve) or None}


ENGINE = CommandEngine()
