"""Atomic file writes, so a killed job never leaves a half-written result.

Temp files and folders are created with the modes a plain open()/mkdir() would give
(0666/0777 less the umask): the rename keeps the temp file's mode, and the result files
are meant to be read by whoever may read the study folder.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

_ATTEMPTS = 100


def _temp_name(path: Path, suffix: str) -> Path:
    return path.parent / f".{path.name}.{secrets.token_hex(4)}{suffix}"


def _create_temp_file(path: Path) -> tuple[int, Path]:
    """A new, empty temp file beside `path`: (its open descriptor, its path).

    Not tempfile.mkstemp: that creates the file with mode 0600 whatever the umask.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    for _ in range(_ATTEMPTS):
        tmp = _temp_name(path, ".tmp")
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name beside {path} after {_ATTEMPTS} attempts")


def make_temp_dir(parent: str | os.PathLike, prefix: str, suffix: str) -> Path:
    """A new, empty folder in `parent`, with the mode mkdir() gives (not mkdtemp's 0700)."""
    parent = Path(parent)
    parent.mkdir(parents=True, exist_ok=True)
    for _ in range(_ATTEMPTS):
        folder = parent / f"{prefix}{secrets.token_hex(4)}{suffix}"
        try:
            folder.mkdir(mode=0o777)
            return folder
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary folder name in {parent} after {_ATTEMPTS} attempts")


def build_folder(target: str | os.PathLike, fill: Callable[[Path], None]) -> Path:
    """Fill a temp folder beside `target`, then swap it in (replacing an old one).

    A reader never sees a half-written folder, and a failure leaves the old one as it was.
    """
    target = Path(target)
    tmp = make_temp_dir(target.parent, f".{target.name}.", ".tmp")
    try:
        fill(tmp)
        old = None
        if target.exists() or target.is_symlink():
            old = make_temp_dir(target.parent, f".{target.name}.", ".old")
            os.replace(target, old / target.name)
        os.replace(tmp, target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def _atomic_write_text(path: str | os.PathLike, text: str) -> None:
    path = Path(path)
    fd, tmp = _create_temp_file(path)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text(path: str | os.PathLike, text: str) -> None:
    _atomic_write_text(path, text)


def write_json(
    path: str | os.PathLike, data: Any, *, sort_keys: bool = False, indent: int = 2
) -> None:
    _atomic_write_text(path, json_text(data, sort_keys=sort_keys, indent=indent))


def yaml_text(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False)


def write_yaml(path: str | os.PathLike, data: Any) -> None:
    _atomic_write_text(path, yaml_text(data))


def json_text(data: Any, *, sort_keys: bool = False, indent: int = 2) -> str:
    return json.dumps(data, indent=indent, sort_keys=sort_keys, allow_nan=True) + "\n"


def write_texts(files: dict[Path, str]) -> None:
    """Many files atomically, with one sync for all instead of one fsync per file.

    Every temp file is written, then the file systems are synced once (os.sync), then
    each is renamed into place: after a crash a file is either absent or complete, as
    with write_text, at a fraction of the cost for thousands of small files.
    """
    if not files:
        return
    temps: list[tuple[Path, Path]] = []
    try:
        for path, text in files.items():
            fd, tmp = _create_temp_file(Path(path))
            temps.append((tmp, Path(path)))
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
        os.sync()
        for tmp, path in temps:
            os.replace(tmp, path)
    except BaseException:
        for tmp, _ in temps:
            tmp.unlink(missing_ok=True)
        raise


def read_json(path: str | os.PathLike) -> Any:
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def read_yaml(path: str | os.PathLike) -> Any:
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def dump_joblib(path: str | os.PathLike, obj: Any) -> None:
    """Pickle with joblib into a temp file, then rename into place."""
    import joblib

    path = Path(path)
    fd, tmp = _create_temp_file(path)
    try:
        with os.fdopen(fd, "wb") as handle:
            joblib.dump(obj, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def log(message: str) -> None:
    """A line for the job's log (stderr, which the rules send to the trial's train.log)."""
    print(message, file=sys.stderr, flush=True)


def remove_siblings(folder: Path) -> None:
    """Delete the other folders beside `folder` (never following a link): older samplings."""
    folder = Path(folder)
    if folder.parent.is_dir():
        for sibling in folder.parent.iterdir():
            if sibling != folder and sibling.is_dir() and not sibling.is_symlink():
                shutil.rmtree(sibling)
