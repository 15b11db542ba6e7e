"""A warm worker: one process that imports an engine once and forks a trial per request.

A train job is a new Python process, and for sklearn and torch most of a short trial's
cost outside training is importing them (about 2 s and 4 s on a 2-core machine). In a
local run, the run that holds the study lock starts one worker for the study's engine
(rules/common.smk, `onstart`); each train job's program (scripts/train.py) then hands
its command line, working directory, environment and standard streams to the worker
over a Unix socket and waits. The worker forks a child that runs the same `main` the
job would have run, with everything already imported, and reports the child's exit
code back. The job is still one Snakemake job per trial, with its own files, log,
retries and limits: the fork only replaces the job's start-up.

What keeps a forked trial equal to a fresh process: the worker imports modules and does
nothing else (no thread pool is started: its BLAS/OpenMP pools are held to one thread,
the trial sets its own, and torch's pools are set by the trial before any work), and
every trial seeds its own generators. The result is bit-identical to a cold job (tests).

Lifetimes: the worker ends when the snakemake process that started it ends (it checks
its parent twice a second), or when told to (`onsuccess`/`onerror`). A child ends when
its job's program ends (its connection closes: the worker kills the child), and when
the worker ends (PR_SET_PDEATHSIG on Linux). The socket lives in a directory only its
user can enter, and the worker serves only connections of its own user.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import importlib
import json
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

WARM_VARIABLE = "SNAKETUNE_WARM"  # the worker's socket path, for train jobs
OFF_VARIABLE = "SNAKETUNE_NO_WARM"  # set to 1: every train job starts cold
HEADER = struct.Struct("!Q")  # length of the request that follows
STREAMS = 3  # stdin, stdout, stderr of the job
READY_WAIT_S = 120.0  # how long a job waits for a worker that is still importing
FORWARDED_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGUSR2)
_STARTED: list[subprocess.Popen] = []  # the workers this process started (kept: no warning)


def socket_path(study_dir: str, engine: str, run_id: int) -> str:
    """A short, private path for the worker of one snakemake run (AF_UNIX paths are short)."""
    import hashlib
    import tempfile

    key = hashlib.sha256(f"{os.path.abspath(study_dir)}\0{engine}\0{run_id}".encode())
    folder = Path(tempfile.gettempdir()) / f"snaketune-{os.getuid()}"
    return str(folder / f"{key.hexdigest()[:16]}.sock")


def private_folder(path: str) -> None:
    """Create the socket's folder for this user only; refuse one that is not ours."""
    folder = Path(path).parent
    folder.mkdir(mode=0o700, exist_ok=True)
    info = folder.lstat()
    if folder.is_symlink() or info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise PermissionError(f"{folder} is not a private folder of this user")


# ---------------------------------------------------------------------------- worker


def _die_with_parent() -> None:
    """Linux: the kernel kills this process when the worker that forked it ends."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _receive(conn: socket.socket) -> tuple[dict, list[int]]:
    header, fds, _flags, _address = socket.recv_fds(conn, HEADER.size, STREAMS)
    if len(header) != HEADER.size or len(fds) != STREAMS:
        for fd in fds:
            os.close(fd)
        raise ConnectionError("incomplete request")
    (length,) = HEADER.unpack(header)
    body = bytearray()
    while len(body) < length:
        chunk = conn.recv(min(length - len(body), 1 << 16))
        if not chunk:
            raise ConnectionError("incomplete request")
        body += chunk
    return json.loads(body), fds


def _run_child(request: dict, fds: list[int], main: Callable[[list[str]], None]) -> int:
    """In the forked child: become the job's process, run its main, return the exit code."""
    _die_with_parent()
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGCHLD, signal.SIGHUP):
        signal.signal(signum, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    sys.stdin = open(0, closefd=False)  # noqa: SIM115 (the child's whole life)
    sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    sys.argv = list(request["argv"])
    try:
        main(sys.argv[1:])
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:  # noqa: BLE001 (the job's program would have printed it too)
        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    return code


def _exit_code(status: int) -> int:
    code = os.waitstatus_to_exitcode(status)
    return 128 - code if code < 0 else code  # killed by signal N: 128 + N, as a shell says


class Worker:
    """The serving loop: accept a job, fork its trial, report the trial's exit code."""

    def __init__(self, path: str, engine: str, parent: int, main: Callable) -> None:
        self.path, self.engine, self.parent, self.main = path, engine, parent, main
        self.children: dict[int, socket.socket] = {}
        self.killed: set[int] = set()  # children whose job ended: not watched again
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)

    def serve(self) -> None:
        ready = self.path + ".ready"
        self.listener.bind(ready)  # appears under its own name once bound and listening
        self.listener.listen(64)
        os.replace(ready, self.path)
        try:
            while os.getppid() == self.parent and os.path.exists(self.path):
                conns = [c for pid, c in self.children.items() if pid not in self.killed]
                readable, _, _ = select.select([self.listener, *conns], [], [], 0.5)
                for conn in readable:
                    if conn is self.listener:
                        self._accept()
                    else:  # a job's program ended or was killed: its trial goes with it
                        self._kill(conn)
                self._reap()
        finally:
            self.listener.close()
            for pid in self.children:
                _signal(pid, signal.SIGKILL)
            if os.path.exists(self.path):
                os.unlink(self.path)

    def _accept(self) -> None:
        conn, _ = self.listener.accept()
        try:
            uid = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))[1]
            if uid != os.getuid():
                raise PermissionError("a connection of another user")
            request, fds = _receive(conn)
        except (OSError, ValueError, ConnectionError):
            conn.close()
            return
        if request.get("engine") != self.engine:
            conn.sendall(b"cold\n")
            conn.close()
            for fd in fds:
                os.close(fd)
            return
        pid = os.fork()
        if pid == 0:
            self.listener.close()
            for other in (conn, *self.children.values()):
                other.close()
            os._exit(_run_child(request, fds, self.main))
        for fd in fds:
            os.close(fd)
        self.children[pid] = conn
        conn.sendall(f"pid {pid}\n".encode())

    def _kill(self, conn: socket.socket) -> None:
        for pid, held in self.children.items():
            if held is conn:
                _signal(pid, signal.SIGKILL)
                self.killed.add(pid)

    def _reap(self) -> None:
        while self.children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            conn = self.children.pop(pid, None)
            self.killed.discard(pid)
            if conn is not None:
                with contextlib.suppress(OSError):  # the job is gone already
                    conn.sendall(f"exit {_exit_code(status)}\n".encode())
                conn.close()


def _signal(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signum)


def serve(path: str, engine: str, parent: int, modules: list[str]) -> None:
    """Import the engine and what its trials import, then serve until the run ends."""
    from snaketune.trial import THREAD_VARIABLES

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the trials, not this
    for name in THREAD_VARIABLES:  # no thread pool in the process every trial forks from
        os.environ[name] = "1"
    import train  # scripts/train.py: the main a job runs

    for name in modules:
        importlib.import_module(name)
    Worker(path, engine, parent, train.main).serve()


def start(path: str, engine: str, modules: tuple[str, ...], log_path: str) -> None:
    """Start the worker for this snakemake process (the parent it outlives by < 1 s)."""
    private_folder(path)
    for stale in (path, path + ".ready"):
        Path(stale).unlink(missing_ok=True)
    scripts = str(Path(__file__).resolve().parent.parent)
    bootstrap = (  # sys.path[0] is the package's folder, not the working directory
        f"import sys; sys.path[0] = {scripts!r}; "
        "from snaketune.warm import main; main(sys.argv[1:])"
    )
    Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "w") as log:
        worker = subprocess.Popen(
            [
                sys.executable,
                "-c",
                bootstrap,
                "--socket",
                path,
                "--engine",
                engine,
                "--parent",
                str(os.getpid()),
                "--modules",
                ",".join(modules),
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            close_fds=True,
        )
    _STARTED.append(worker)
    Path(path + ".pid").write_text(str(worker.pid))


def stop(path: str) -> None:
    """Tell the worker to end (it ends when its socket is gone) and forget it."""
    for name in (path, path + ".pid"):
        Path(name).unlink(missing_ok=True)


# ---------------------------------------------------------------------------- job side


def _alive(pid_file: str) -> bool:
    try:
        pid = int(Path(pid_file).read_text())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return False
    return True


def _connect(path: str) -> socket.socket | None:
    """The worker's socket; wait while the worker is still importing; None: run cold."""
    deadline = time.monotonic() + READY_WAIT_S
    while True:
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            conn.connect(path)
            return conn
        except OSError as exc:
            conn.close()
            starting = exc.errno == errno.ENOENT and _alive(path + ".pid")
            if not starting or time.monotonic() > deadline:
                return None
        time.sleep(0.05)


def _read_line(conn: socket.socket, buffer: bytearray) -> str | None:
    while b"\n" not in buffer:
        try:
            chunk = conn.recv(64)
        except InterruptedError:
            continue
        if not chunk:
            return None
        buffer += chunk
    line, _, rest = bytes(buffer).partition(b"\n")
    buffer[:] = rest
    return line.decode()


def run_warm(argv: list[str], engine: str) -> int | None:
    """Run this job's trial in the warm worker; its exit code, or None to run it here.

    None when there is no worker for this job (cold start, a cluster node, another
    engine): the caller then runs the trial itself.
    """
    path = os.environ.get(WARM_VARIABLE, "")
    if not path or os.environ.get(OFF_VARIABLE) == "1":
        return None
    conn = _connect(path)
    if conn is None:
        return None
    with conn:
        request = json.dumps(
            {
                "engine": engine,
                "argv": [sys.argv[0], *argv],
                "cwd": os.getcwd(),
                "env": dict(os.environ),
            }
        ).encode()
        try:
            socket.send_fds(conn, [HEADER.pack(len(request))], [0, 1, 2])
            conn.sendall(request)
        except OSError:
            return None
        buffer = bytearray()
        first = _read_line(conn, buffer)
        if first is None or first == "cold":
            return None
        child = int(first.split()[1])
        for signum in FORWARDED_SIGNALS:  # Snakemake stops a job by signalling it
            signal.signal(signum, lambda s, _f: _signal(child, s))
        last = _read_line(conn, buffer)
    if last is None:
        sys.stderr.write("snaketune: the warm worker ended before this trial did\n")
        return 1
    return int(last.split()[1])


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description="snaketune's warm worker (internal)")
    parser.add_argument("--socket", required=True)
    parser.add_argument("--engine", required=True)
    parser.add_argument("--parent", type=int, required=True)
    parser.add_argument("--modules", default="", help="comma-separated modules to import")
    args = parser.parse_args(argv)
    serve(args.socket, args.engine, args.parent, [m for m in args.modules.split(",") if m])


if __name__ == "__main__":
    main(sys.argv[1:])
