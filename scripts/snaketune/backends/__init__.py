"""Engines: the trainers that run a trial. One registry entry per engine name."""

from __future__ import annotations

import importlib
from typing import Any

from snaketune.errors import ConfigError

ENGINE_MODULES = {"sklearn": "snaketune.backends.sklearn"}


def get_engine(name: str) -> Any:
    """The engine object registered under the name a user writes in `engine:`."""
    if name not in ENGINE_MODULES:
        raise ConfigError(
            f"engine: {name!r} is not an engine; allowed: {', '.join(ENGINE_MODULES)}."
        )
    return importlib.import_module(ENGINE_MODULES[name]).ENGINE
