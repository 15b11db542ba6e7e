"""One run per study folder: an flock on `<study>/.snaketune.lock`, held while the run lives.

Snakemake's own lock lives in the working directory's `.snakemake/`, so two runs from two
working directories into one absolute output_directory would not see each other. This
lock lives in the study folder itself. The kernel drops an flock when its process exits
in any way, SIGKILL included, so on a local disk it never outlives its run; the file left
behind only names the last holder. Nothing here imports snakemake.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import socket
import time
from pathlib import Path

from snaketune.errors import ConfigError

LOCK_NAME = ".snaketune.lock"
_BUSY = (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK)
# Study folders this process holds, by real path -> the open descriptor holding the lock.
# Kept open for the life of the process: closing it would release the lock.
_HELD: dict[str, int] = {}


def lock_path(study_dir: Path) -> Path:
    return Path(study_dir) / LOCK_NAME


def _open(path: Path, create: bool) -> int:
    """The lock file's descriptor; never through a symlink, never inherited by jobs.

    Only a run creates (and writes) it; a dry run's probe opens it read-only.
    """
    flags = os.O_RDWR | os.O_CREAT if create else os.O_RDONLY
    return os.open(path, flags | os.O_NOFOLLOW | os.O_CLOEXEC, 0o666)


def _holder(fd: int) -> str:
    """Who holds the lock, as recorded in the file by the holder, in words."""
    try:
        info = json.loads(os.pread(fd, 4096, 0).decode("utf-8") or "{}")
    except (OSError, ValueError):
        info = {}
    if not isinstance(info, dict) or "pid" not in info:
        return "another run (it has not recorded its process yet)"
    return (
        f"pid {info.get('pid')} on host {info.get('host')}, working directory "
        f"{info.get('cwd')}, started {info.get('started')}"
    )


def _record(fd: int, cwd: Path) -> None:
    """Write this process's identity into the lock file, for the message a second run shows."""
    info = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "cwd": str(cwd),
        "started": time.strftime("%Y-%m-%d %H:%M:%S %z"),
    }
    os.ftruncate(fd, 0)
    os.pwrite(fd, (json.dumps(info, indent=2) + "\n").encode("utf-8"), 0)


def _busy_message(study_dir: Path, holder: str) -> str:
    path = lock_path(study_dir)
    return (
        f"study folder {study_dir} is in use by another snaketune run ({holder}); two runs "
        "writing one study folder would mix their results, so this run stops before doing "
        "anything. The lock clears itself when that run ends (the system releases it on "
        "any exit, a kill included): run this again then. Only if no run uses the folder "
        "any more and this message persists (a network file system can keep the lock of a "
        f"machine that crashed), delete {path}."
    )


def _unsupported_notice(study_dir: Path, exc: OSError) -> str:
    return (
        f"the file system of {study_dir} does not support file locks ({exc.strerror}), so "
        "snaketune cannot stop a second run on this study folder from another working "
        "directory; make sure only one run uses it at a time."
    )


def hold_study_lock(study_dir: Path, cwd: Path) -> list[str]:
    """Lock the study folder for the rest of this process; notices to show, if any.

    Raises ConfigError, naming the holder, when another run holds it. Taking it again in
    the same process (the Snakefile parsed twice) is a no-op.
    """
    study_dir = Path(study_dir)
    try:
        study_dir.mkdir(parents=True, exist_ok=True)
        key = os.path.realpath(study_dir)
        if key in _HELD:
            return []
        fd = _open(lock_path(study_dir), create=True)
    except OSError as exc:
        raise ConfigError(
            f"output_directory: cannot create the study folder or its lock file "
            f"{lock_path(study_dir)}: {exc.strerror}; choose an output_directory this user "
            "can write to."
        ) from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        holder = _holder(fd) if exc.errno in _BUSY else ""
        os.close(fd)
        if exc.errno in _BUSY:
            raise ConfigError(_busy_message(study_dir, holder)) from None
        return [_unsupported_notice(study_dir, exc)]
    _record(fd, cwd)
    _HELD[key] = fd
    return []


def study_lock_notice(study_dir: Path) -> str | None:
    """For a dry run, which only reads: a notice if another run holds the lock, else None.

    The probe takes a shared lock for an instant and never creates the file.
    """
    path = lock_path(study_dir)
    if os.path.realpath(study_dir) in _HELD:
        return None
    try:
        fd = _open(path, create=False)
    except OSError:  # no lock file (no run yet) or not openable: nothing to report
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    except OSError as exc:
        if exc.errno not in _BUSY:
            return None
        return (
            f"study folder {study_dir} is in use by another snaketune run ({_holder(fd)}); "
            "this dry run only reads it, so what it plans can change while that run works."
        )
    finally:
        os.close(fd)


def release_study_lock(study_dir: Path) -> None:
    """Give the lock up before the process ends (tests; a run just exits)."""
    fd = _HELD.pop(os.path.realpath(study_dir), None)
    if fd is not None:
        os.close(fd)
