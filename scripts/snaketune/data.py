"""Reading datasets and splitting them into training / validation / test.

Formats are chosen by file extension (case-insensitive) unless a format is given:
csv, tsv, parquet, json (records or pandas' default orient) and jsonl.

Splits follow Ludwig's `preprocessing.split`:

- `{type: random, probabilities: [0.7, 0.1, 0.2]}` (the default),
- `{type: fixed, column: split}` with values 0 (training), 1 (validation), 2 (test),
- `{type: stratify, column: label, probabilities: [...]}`.

As in Ludwig 0.17, the default is the random split even when the dataset has a column
named `split` (Ludwig's dataset files often carry one with only training and test rows):
that column is used only when the config says `{type: fixed}`, and a parse-time notice
says it was seen and not used (`unused_split_column_notice`).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from snaketune.errors import ConfigError, DataError, NotSupportedError, clip

FORMATS = ("csv", "tsv", "parquet", "json", "jsonl")
SPLITS = ("training", "validation", "test")
SPLIT_COLUMN = "split"
DEFAULT_PROBABILITIES = (0.7, 0.1, 0.2)
SPLIT_TYPES = ("random", "fixed", "stratify")
# Ludwig split types that need something this reader does not have yet.
_LUDWIG_ONLY_SPLITS = ("datetime", "hash")
_SPLIT_KEYS = {
    "random": ("type", "probabilities"),
    "fixed": ("type", "column"),
    "stratify": ("type", "column", "probabilities"),
}
_FIXED_CODES = {0: "training", 1: "validation", 2: "test"}


# --------------------------------------------------------------------------- reading


def detect_format(
    path: str | os.PathLike, data_format: str | None = None, key: str = "dataset"
) -> str:
    """The format name for a file: `data_format` if given, else from the extension."""
    if data_format is not None:
        fmt = str(data_format).lower().lstrip(".")
        if fmt not in FORMATS:
            raise ConfigError(
                f"data_format: {data_format!r} is not a supported format; "
                f"allowed: {', '.join(FORMATS)}."
            )
        return fmt
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix not in FORMATS:
        raise ConfigError(
            f"{key}: cannot tell the format of {str(path)!r} from its extension "
            f"{('.' + suffix) if suffix else '(none)'}; supported extensions: "
            f"{', '.join('.' + f for f in FORMATS)} (or set data_format to one of "
            f"{', '.join(FORMATS)})."
        )
    return suffix


def _check_exists(path: str | os.PathLike, key: str) -> None:
    if not Path(path).is_file():
        raise ConfigError(f"{key}: file {str(path)!r} does not exist.")


def read_table(
    path: str | os.PathLike, data_format: str | None = None, *, key: str = "dataset"
) -> pd.DataFrame:
    """The whole file as a DataFrame; ConfigError for a missing file or unknown format."""
    fmt = detect_format(path, data_format, key)
    _check_exists(path, key)
    try:
        if fmt == "csv":
            # index_col=False: rows ending in a delimiter must not shift the columns
            frame = pd.read_csv(path, encoding="utf-8", index_col=False)
        elif fmt == "tsv":
            frame = pd.read_csv(path, sep="\t", encoding="utf-8", index_col=False)
        elif fmt == "parquet":
            frame = pd.read_parquet(path)
        elif fmt == "jsonl":
            frame = pd.read_json(path, lines=True, encoding="utf-8")
        else:
            frame = _read_json(path)
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{key}: {str(path)!r} is not valid UTF-8 text (byte {exc.start}); "
            "save it as UTF-8 and try again."
        ) from None
    except pd.errors.EmptyDataError:
        raise DataError(f"{key}: {str(path)!r} is empty (no header, no rows).") from None
    except (ValueError, pd.errors.ParserError, OSError) as exc:
        reason = " ".join(str(exc).split())  # one paragraph, whatever pandas printed
        raise DataError(f"{key}: cannot read {str(path)!r} as {fmt}: {reason}") from None
    if fmt in ("csv", "tsv"):
        frame.columns = _csv_header(path, fmt, key)
    frame.columns = _check_unique([str(c) for c in frame.columns], key, path)
    return frame


def _read_json(path: str | os.PathLike) -> pd.DataFrame:
    """A JSON array of records, or any orient pandas reads by default."""
    import json

    with open(path, encoding="utf-8") as handle:
        payload = json.load(handle)
    if isinstance(payload, list):
        return pd.DataFrame.from_records(payload)
    if isinstance(payload, dict):
        return pd.DataFrame(payload)
    raise ValueError("expected a JSON array of records or an object of columns")


def _check_unique(names: list[str], key: str, path: str | os.PathLike) -> list[str]:
    """A column named twice would be renamed by pandas (`topic.1`) and read by that name."""
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise DataError(
                f"{key}: {str(path)!r} has two columns named {clip(repr(name), 80)}; give every "
                "column its own name."
            )
        seen.add(name)
    return names


def _csv_header(path: str | os.PathLike, fmt: str, key: str) -> list[str]:
    """The header row as written (pandas would rename repeated names)."""
    try:
        head = pd.read_csv(
            path, sep="," if fmt == "csv" else "\t", header=None, nrows=1, dtype=str,
            keep_default_na=False, encoding="utf-8",
        )  # fmt: skip
    except UnicodeDecodeError:
        raise DataError(f"{key}: {str(path)!r} is not valid UTF-8 text.") from None
    except pd.errors.EmptyDataError:
        raise DataError(f"{key}: {str(path)!r} is empty (no header, no rows).") from None
    return _check_unique([str(c) for c in head.iloc[0]] if len(head) else [], key, path)


def _parquet_schema(path: str | os.PathLike, key: str) -> Any:
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(path)
    except Exception as exc:  # pyarrow raises several types for a broken file
        raise DataError(f"{key}: cannot read {str(path)!r} as parquet: {exc}") from None
    _check_unique([str(n) for n in schema.names], key, path)
    return schema


def read_header(
    path: str | os.PathLike, data_format: str | None = None, key: str = "dataset"
) -> list[str]:
    """Column names without reading the whole file (json/jsonl are read: they are small)."""
    fmt = detect_format(path, data_format, key)
    _check_exists(path, key)
    if fmt in ("csv", "tsv"):
        return _csv_header(path, fmt, key)
    if fmt == "parquet":
        names = _parquet_schema(path, key).names
        return [str(n) for n in names if not n.startswith("__index_level")]
    return list(read_table(path, fmt, key=key).columns)


def nested_columns(
    path: str | os.PathLike, data_format: str | None = None, key: str = "dataset"
) -> dict[str, str]:
    """Parquet columns of nested types (lists, structs, maps), with their type as text.

    No feature type snaketune reads takes them; pandas would turn them into arrays or
    dicts, which then read as text or categories without a word.
    """
    if detect_format(path, data_format, key) != "parquet":
        return {}
    import pyarrow.types as pat

    schema = _parquet_schema(path, key)
    return {str(field.name): str(field.type) for field in schema if pat.is_nested(field.type)}


# --------------------------------------------------------------------------- sampling


def sample_rows(
    frame: pd.DataFrame, sample_ratio: float = 1.0, sample_size: int | None = None, seed: int = 0
) -> pd.DataFrame:
    """Ludwig's `preprocessing.sample_ratio` / `sample_size`: a seeded subset, in file order."""
    if sample_size is not None and sample_size < len(frame):
        picked = frame.sample(n=int(sample_size), random_state=seed)
    elif sample_ratio < 1.0:
        picked = frame.sample(frac=float(sample_ratio), random_state=seed)
    else:
        return frame
    return picked.sort_index()


# --------------------------------------------------------------------------- splitting


def _probabilities(value: Any, key: str) -> tuple[float, float, float]:
    ok = (
        isinstance(value, list | tuple)
        and len(value) == 3
        and all(isinstance(p, int | float) and not isinstance(p, bool) for p in value)
    )
    if not ok or any(p < 0 or not math.isfinite(p) for p in value):
        raise ConfigError(
            f"{key}: {value!r} is not allowed; give three non-negative numbers for training, "
            "validation and test that sum to 1, e.g. [0.7, 0.1, 0.2]."
        )
    if not math.isclose(sum(value), 1.0, abs_tol=1e-6):
        raise ConfigError(
            f"{key}: {list(value)!r} sums to {sum(value):g}; the three probabilities "
            "(training, validation, test) must sum to 1."
        )
    return tuple(float(p) for p in value)  # type: ignore[return-value]


def validate_split_config(
    split: dict | None, columns: Iterable[str] | None = None, prefix: str = "preprocessing.split"
) -> dict | None:
    """The split config with defaults filled in, or None (no split configured).

    `columns`, when given, are the dataset's columns: a named column must be one of them.
    """
    if split is None:
        return None
    if not isinstance(split, dict):
        raise ConfigError(
            f"{prefix}: {split!r} is not allowed; give a mapping such as "
            "{type: random, probabilities: [0.7, 0.1, 0.2]}."
        )
    kind = split.get("type", "random")
    if kind in _LUDWIG_ONLY_SPLITS:
        raise NotSupportedError(
            f"{prefix}.type: Ludwig's '{kind}' split is not supported yet; "
            f"allowed: {', '.join(SPLIT_TYPES)}."
        )
    if kind not in SPLIT_TYPES:
        raise ConfigError(
            f"{prefix}.type: {kind!r} is not a split type; allowed: {', '.join(SPLIT_TYPES)}."
        )
    for name in split:
        if name not in _SPLIT_KEYS[kind]:
            raise ConfigError(
                f"{prefix}.{name}: unknown parameter for split type '{kind}'; "
                f"valid: {', '.join(_SPLIT_KEYS[kind])}."
            )
    out: dict[str, Any] = {"type": kind}
    if kind in ("random", "stratify"):
        out["probabilities"] = list(
            _probabilities(
                split.get("probabilities", list(DEFAULT_PROBABILITIES)), f"{prefix}.probabilities"
            )
        )
    if kind in ("fixed", "stratify"):
        default = SPLIT_COLUMN if kind == "fixed" else None
        column = split.get("column", default)
        if not isinstance(column, str) or not column:
            raise ConfigError(
                f"{prefix}.column: {column!r} is not allowed; name the dataset column that "
                + (
                    "holds 0/1/2 for training/validation/test."
                    if kind == "fixed"
                    else "to stratify on."
                )
            )
        if columns is not None and column not in set(columns):
            raise ConfigError(
                f"{prefix}.column: column {column!r} is not in the dataset; its columns are: "
                f"{', '.join(sorted(map(str, columns)))}."
            )
        out["column"] = column
    return out


def effective_split(split: dict | None, columns: Iterable[str]) -> dict:
    """The split that will be used: the configured one, else Ludwig 0.17's random default."""
    checked = validate_split_config(split, list(columns))
    if checked is not None:
        return checked
    return {"type": "random", "probabilities": list(DEFAULT_PROBABILITIES)}


def unused_split_column_notice(
    split: dict, columns: Iterable[str], used: Iterable[str]
) -> str | None:
    """A notice when the dataset has a `split` column that neither the split nor a feature uses.

    Older Ludwig releases split by such a column on their own; 0.17 does not, and neither
    do we, so a user who expected it learns how to ask for it.
    """
    if SPLIT_COLUMN not in set(columns) or SPLIT_COLUMN in set(used):
        return None
    if split.get("column") == SPLIT_COLUMN:
        return None
    return (
        f"the dataset has a {SPLIT_COLUMN!r} column, which is not used: the split is "
        f"{split['type']} ({_describe_split(split)}), Ludwig 0.17's default when the config "
        "names none. To split by the column (0 training, 1 validation, 2 test), set "
        "preprocessing.split: {type: fixed, column: split}."
    )


def _describe_split(split: dict) -> str:
    if "probabilities" in split:
        return "probabilities " + "/".join(f"{p:g}" for p in split["probabilities"])
    return f"column {split['column']!r}"


def _cut(indices: np.ndarray, probabilities: tuple[float, ...]) -> list[np.ndarray]:
    """Exact proportions: the first round(p0*n) rows, the next round((p0+p1)*n) - ... ."""
    n = len(indices)
    bounds = np.rint(np.cumsum(probabilities) * n).astype(int)
    bounds[-1] = n
    return [indices[a:b] for a, b in zip([0, *bounds[:-1]], bounds, strict=True)]


def _fixed_codes(column: pd.Series, name: str) -> np.ndarray:
    codes = np.full(len(column), -1, dtype=int)
    bad: list[Any] = []
    for i, value in enumerate(column.tolist()):
        code = None
        if isinstance(value, bool):
            code = None
        elif isinstance(value, int | np.integer) or (
            isinstance(value, float | np.floating)
            and math.isfinite(value)
            and float(value).is_integer()
        ):
            code = int(value)
        elif isinstance(value, str) and value.strip() in ("0", "1", "2"):
            code = int(value.strip())
        if code in _FIXED_CODES:
            codes[i] = code
        elif len(bad) < 5 and value not in bad:
            bad.append(value)
    if bad:
        raise DataError(
            f"preprocessing.split.column: column {name!r} must hold 0 (training), 1 (validation) "
            f"or 2 (test) in every row; found {', '.join(repr(b) for b in bad)}."
        )
    return codes


def split_dataset(
    frame: pd.DataFrame, split_config: dict | None, seed: int
) -> dict[str, pd.DataFrame]:
    """{'training', 'validation', 'test'} frames (any may be empty); deterministic in `seed`."""
    split = effective_split(split_config, frame.columns)
    n = len(frame)
    rng = np.random.default_rng(seed)
    if split["type"] == "fixed":
        codes = _fixed_codes(frame[split["column"]], split["column"])
        parts = [np.flatnonzero(codes == code) for code in sorted(_FIXED_CODES)]
    elif split["type"] == "random":
        parts = _cut(rng.permutation(n), split["probabilities"])
    else:
        strata = frame[split["column"]].astype("object").where(frame[split["column"]].notna(), None)
        keys = strata.map(lambda v: "\x00missing" if v is None else f"{type(v).__name__}:{v}")
        parts = [[], [], []]
        for key in sorted(set(keys.tolist())):
            members = np.flatnonzero((keys == key).to_numpy())
            for i, chunk in enumerate(_cut(rng.permutation(members), split["probabilities"])):
                parts[i].append(chunk)
        parts = [np.concatenate(p) if p else np.array([], dtype=int) for p in parts]
    return {
        name: frame.iloc[np.sort(part)].reset_index(drop=True)
        for name, part in zip(SPLITS, parts, strict=True)
    }
