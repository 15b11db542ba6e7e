"""The errors a user sees, and how a message shows a value from the user's files.

Every message is meant to be printed alone, as one paragraph, without a
traceback: it names the key path, the value and what is allowed. Values come from
files a user (or an attacker) wrote, so a message never grows without bound: large
values are shown as a bounded preview, and a message over MAX_MESSAGE_CHARS keeps its
head and tail.
"""

from __future__ import annotations

import json
import reprlib
from collections.abc import Callable
from typing import Any

MAX_VALUE_CHARS = 200
MAX_MESSAGE_CHARS = 2000
# A value with more parts than this is previewed rather than rendered whole.
PREVIEW_PARTS = 60

_preview = reprlib.Repr()
_preview.maxlevel, _preview.maxdict, _preview.maxlist = 3, 6, 6
_preview.maxstring, _preview.maxother = 60, 60


def clip(text: str, limit: int = MAX_VALUE_CHARS) -> str:
    """`text` cut to `limit` characters, the cut marked with how long the whole was."""
    if len(text) <= limit:
        return text
    return f"{text[: max(limit - 30, 10)]}... ({len(text)} characters)"


def _has_more_parts(value: Any, limit: int) -> bool:
    """Whether `value` holds more than `limit` containers, items and keys (stops early)."""
    count, stack = 0, [value]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            count += 2 * len(node)
            stack.extend(node.values())
        elif isinstance(node, list | tuple | set):
            count += len(node)
            stack.extend(node)
        if count > limit:
            return True
    return False


def show(value: Any, render: Callable[[Any], str] = repr) -> str:
    """How a message shows `value`: `render(value)`, clipped; a bounded preview when large.

    Rendering a large value whole could take minutes (YAML aliases repeat what they point
    to) and fill a screen, so it is summarized by reprlib instead.
    """
    if _has_more_parts(value, PREVIEW_PARTS):
        return clip(_preview.repr(value))
    return clip(render(value))


def _json(value: Any) -> str:
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)


def show_json(value: Any) -> str:
    """`show` with JSON rendering, the spelling config paths and values use in messages."""
    return show(value, _json)


def _bounded(message: Any) -> str:
    text = str(message)
    if len(text) <= MAX_MESSAGE_CHARS:
        return text
    head, tail = MAX_MESSAGE_CHARS * 2 // 3, MAX_MESSAGE_CHARS // 4
    return f"{text[:head]} ... ({len(text) - head - tail} characters left out) ... {text[-tail:]}"


class ConfigError(ValueError):
    """A study or model config (or a dataset header) that cannot run as written."""

    def __init__(self, message: Any = "") -> None:
        super().__init__(_bounded(message))


class DataError(ValueError):
    """A dataset whose content cannot be used (found by the prepare step)."""

    def __init__(self, message: Any = "") -> None:
        super().__init__(_bounded(message))


class NotSupportedError(ConfigError):
    """A valid Ludwig setting that snaketune does not implement yet."""
