"""Supervising an external program: its process tree, its output, its end.

The program runs in a session of its own. However it ends (it exits, fails, or a
limit interrupts it), every process it started that is still running is ended, also
those that left its session (a daemon that setsid()s). Its output reaches the job's
log capped: see LOG_HEAD_BYTES. The command engine runs each trial's program here.
"""

from __future__ import annotations

import codecs
import ctypes
import os
import select
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

from snaketune import limits

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


def run_program(arguments: list[str], cwd: Path, env: dict[str, str]) -> tuple[int, list]:
    """Run a program in a session of its own, its output capped into this job's stderr.

    Whatever way it ends, every process it left running is ended before this returns
    or raises; returns (exit code, those processes as (pid, command line)), which a
    limit's reason names too.
    """
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
                        env=env,
                        start_new_session=True,
                    )
                    trial = _TrialProcesses(child, before)
                returncode = _follow(trial, log)
        except limits.TrialLimitExceeded as exc:
            ended = _finish(trial, log)
            if not ended:
                raise
            raise limits.TrialLimitExceeded(
                f"{exc}; snaketune {ended_text(ended, named=NAMED_IN_REASON)}"
            ) from exc
        except BaseException:
            _finish(trial, log)
            raise
        ended = _finish(trial, log)
    return returncode, ended


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


def ended_text(ended: list[tuple[int, str]], named: int | None = None) -> str:
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
            with suppress(subprocess.TimeoutExpired):  # returns the moment it exits
                child.wait(timeout=_POLL_S)
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
            print(f"snaketune: {ended_text(ended)}.", file=sys.stderr, flush=True)
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
