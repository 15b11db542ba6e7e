"""Engines: the trainers that run a trial. One registry entry per engine name."""

from __future__ import annotations

import importlib
import importlib.util
from typing import TYPE_CHECKING

from snaketune.errors import ConfigError

if TYPE_CHECKING:
    from snaketune.backends.base import Engine

ENGINE_MODULES = {
    "sklearn": "snaketune.backends.sklearn",
    "torch": "snaketune.backends.torch_engine",
    "command": "snaketune.backends.command",
}


def get_engine(name: str, *, command: list[str] | None = None) -> Engine:
    """The engine registered under the name a user writes in `engine:` (see base.Engine)."""
    if name not in ENGINE_MODULES:
        raise ConfigError(
            f"engine: {name!r} is not an engine; allowed: {', '.join(ENGINE_MODULES)}."
        )
    if name == "torch" and importlib.util.find_spec("torch") is None:
        raise ConfigError(
            "engine: 'torch' needs PyTorch, which is not installed; install it with "
            "`pip install 'snaketune[torch]'` (or `pip install torch`) in the environment "
            "that runs snakemake."
        )
    module = importlib.import_module(ENGINE_MODULES[name])
    if name == "command":  # the prepare step runs no program and needs no command
        return module.CommandEngine(None if command is None else module.check_command(command))
    return module.ENGINE
