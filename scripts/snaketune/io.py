"""Atomic file writes, so a killed job never leaves a half-written result."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import yaml


def _atomic_write_text(path: str | os.PathLike, text: str) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_text(path: str | os.PathLike, text: str) -> None:
    _atomic_write_text(path, text)


def write_json(
    path: str | os.PathLike, data: Any, *, sort_keys: bool = False, indent: int = 2
) -> None:
    _atomic_write_text(
        path, json.dumps(data, indent=indent, sort_keys=sort_keys, allow_nan=True) + "\n"
    )


def write_yaml(path: str | os.PathLike, data: Any) -> None:
    _atomic_write_text(path, yaml.safe_dump(data, sort_keys=False, default_flow_style=False))


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
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        joblib.dump(obj, tmp)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
