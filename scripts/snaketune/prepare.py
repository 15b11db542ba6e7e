"""The prepare step: read, check what needs the data, split, save raw splits, preprocess.

Writes into `out_dir`:

- `training.parquet`, `validation.parquet`, `test.parquet`: the raw rows of each split,
  only the columns the features use (also what external trainers are handed);
- whatever the engine's `prepare` writes (the sklearn engine: `sklearn/`);
- `metadata.json`: rows per split, columns, the split used, the preprocessing key.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from snaketune import data, io
from snaketune.errors import ConfigError, DataError, clip

SPLIT_FILES = {"training": "training_set", "validation": "validation_set", "test": "test_set"}
CLASS_TYPES = ("binary", "category")


def _features(config: dict[str, Any]) -> list[dict[str, Any]]:
    return list(config.get("input_features") or []) + list(config.get("output_features") or [])


def used_columns(config: dict[str, Any]) -> list[str]:
    """The dataset columns the features read, in feature order, without repeats."""
    columns: list[str] = []
    for feature in _features(config):
        column = feature.get("column", feature["name"])
        if column not in columns:
            columns.append(column)
    return columns


def _check_columns(frame: pd.DataFrame, columns: list[str], key: str, path: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ConfigError(
            f"{key}: column(s) {', '.join(repr(c) for c in missing)} used by the features are not "
            f"in {path!r}; its columns are: {', '.join(map(str, frame.columns))}."
        )


def _read(key: str, path: str, data_format: str | None, columns: list[str]) -> pd.DataFrame:
    frame = data.read_table(path, data_format, key=key)
    if frame.empty:
        raise DataError(f"{key}: {path!r} has a header but no rows.")
    _check_columns(frame, columns, key, path)
    return frame


def _parquet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """Object columns holding several Python types (e.g. 1 and 'a') become strings."""
    out = frame.copy()
    for column in out.columns:
        series = out[column]
        if series.dtype == object:
            kinds = {type(v) for v in series.dropna().tolist()}
            if len(kinds) > 1:
                out[column] = series.map(lambda v: v if v is None or v != v else str(v))
    return out


def _write_parquet(path: Path, frame: pd.DataFrame) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        _parquet_safe(frame).to_parquet(tmp, index=False)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _check_labels_seen(
    splits: dict[str, pd.DataFrame], config: dict[str, Any], hyperopt_split: str | None
) -> None:
    """The split that picks the best epoch, and the one trials are scored on, must hold
    labels the training split has; rows with unseen labels are left out of metrics, so a
    split of only such rows would leave every trial without a score."""
    for feature in config.get("output_features") or []:
        if feature.get("type") != "category":
            continue
        column = feature.get("column", feature["name"])
        seen = set(splits["training"][column].dropna().astype(str))
        for split in dict.fromkeys(("validation", hyperopt_split or "validation")):
            labels = splits.get(split, pd.DataFrame({column: []}))[column].dropna().astype(str)
            if labels.empty or labels.isin(seen).any():
                continue
            shown = ", ".join(clip(repr(v), 40) for v in sorted(set(labels))[:5])
            raise DataError(
                f"output_features.{feature['name']}: none of the {len(labels)} {split} rows has "
                f"a label the training split has (the {split} labels: {shown}); rows with "
                "unseen labels are left out of the metrics, so no trial could be scored. "
                "Check preprocessing.split (a stratify split on this column keeps every class "
                "in each split)."
            )


def _check_content(splits: dict[str, pd.DataFrame], config: dict[str, Any]) -> None:
    whole = pd.concat([f for f in splits.values() if not f.empty], ignore_index=True)
    for section in ("input_features", "output_features"):
        for feature in config.get(section) or []:
            column = feature.get("column", feature["name"])
            if whole[column].isna().all():
                raise DataError(
                    f"{section}.{feature['name']}: column {column!r} is missing in every row of "
                    "the dataset; remove the feature or fix the data."
                )
    if splits["training"].empty:
        raise DataError(
            "preprocessing.split: the training split is empty; give it a larger probability "
            "or rows with split value 0."
        )
    for feature in config.get("output_features") or []:
        if feature.get("type") in CLASS_TYPES:
            column = feature.get("column", feature["name"])
            distinct = splits["training"][column].dropna().astype(str).unique()
            if len(distinct) < 2:
                shown = repr(distinct[0]) if len(distinct) else "none"
                raise DataError(
                    f"output_features.{feature['name']}: the training split has a single class "
                    f"({shown}) in column {column!r}; a {feature['type']} output needs at least "
                    "two classes to learn from."
                )


def run_prepare(
    *,
    data_files: dict[str, str],
    data_format: str | None,
    config: dict[str, Any],
    engine: Any,
    seed: int,
    out_dir: str,
    hyperopt_split: str | None = None,
) -> dict[str, Any]:
    """Split and preprocess once; returns (and writes) the metadata.

    `hyperopt_split` (training, validation or test) must receive rows: the trials are
    scored on it, so an empty one stops the study here, before any trial trains.
    """
    columns = used_columns(config)
    preprocessing = config.get("preprocessing") or {}
    split_config = preprocessing.get("split")
    sample = {
        "sample_ratio": preprocessing.get("sample_ratio", 1.0),
        "sample_size": preprocessing.get("sample_size"),
    }
    if "dataset" in data_files:
        path = str(data_files["dataset"])
        frame = _read("dataset", path, data_format, columns)
        split_used = data.effective_split(split_config, frame.columns)
        frame = data.sample_rows(frame, seed=seed, **sample)
        splits = data.split_dataset(frame, split_config, seed)
        keep = [*columns, *([split_used["column"]] if "column" in split_used else [])]
        splits = {name: part[[c for c in dict.fromkeys(keep)]] for name, part in splits.items()}
    else:
        if "training_set" not in data_files:
            raise ConfigError(
                "dataset: give either dataset or training_set (with optional validation_set, "
                "test_set)."
            )
        if split_config is not None:
            print(
                "notice: preprocessing.split does not apply: the data comes as separate "
                "training/validation/test files.",
                file=sys.stderr,
            )
        split_used = {"type": "files"}
        splits = {}
        for split, key in SPLIT_FILES.items():
            if key in data_files:
                part = _read(key, str(data_files[key]), data_format, columns)
                splits[split] = data.sample_rows(part, seed=seed, **sample)[columns].reset_index(
                    drop=True
                )
            else:
                splits[split] = pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    _check_content(splits, config)
    _check_labels_seen(splits, config, hyperopt_split)
    if hyperopt_split and splits.get(hyperopt_split) is not None and splits[hyperopt_split].empty:
        raise DataError(
            f"hyperopt.split: {hyperopt_split!r} has no rows after splitting the data; give "
            "it rows (preprocessing.split, or the split column / file) or choose another split."
        )
    splits = {name: part[columns] for name, part in splits.items()}
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name, part in splits.items():
        _write_parquet(out / f"{name}.parquet", part)
    engine_info = engine.prepare(config, splits, str(out), seed)
    metadata = {
        "rows": {name: len(part) for name, part in splits.items()},
        "columns": columns,
        "split": split_used,
        "seed": seed,
        "engine": getattr(engine, "name", None),
        "engine_info": engine_info,
        "preprocessing_key": config,
    }
    io.write_json(out / "metadata.json", metadata)
    return metadata
