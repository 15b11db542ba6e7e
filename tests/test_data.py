"""Reading every format, headers, splits, sampling, and the prepare step."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from snaketune import data
from snaketune.backends.sklearn import ENGINE
from snaketune.errors import ConfigError, DataError, NotSupportedError
from snaketune.prepare import run_prepare, used_columns

FRAME = pd.DataFrame({"x": [1.5, 2.0, None], "c": ["a", "b", "a"], "y": [0, 1, 1]})


def _write(frame: pd.DataFrame, path, fmt: str) -> None:
    if fmt == "csv":
        frame.to_csv(path, index=False)
    elif fmt == "tsv":
        frame.to_csv(path, sep="\t", index=False)
    elif fmt == "parquet":
        frame.to_parquet(path, index=False)
    elif fmt == "jsonl":
        frame.to_json(path, orient="records", lines=True)
    else:
        frame.to_json(path, orient="records")


# --------------------------------------------------------------------------- reading


@pytest.mark.parametrize("fmt", data.FORMATS)
def test_read_every_format(tmp_path, fmt):
    path = tmp_path / f"d.{fmt}"
    _write(FRAME, path, fmt)
    frame = data.read_table(path)
    assert list(frame.columns) == ["x", "c", "y"]
    assert frame["c"].tolist() == ["a", "b", "a"]
    assert frame["y"].tolist() == [0, 1, 1]
    assert np.isnan(frame["x"].iloc[2])
    assert data.read_header(path) == ["x", "c", "y"]


def test_json_in_pandas_default_orient(tmp_path):
    path = tmp_path / "cols.json"
    FRAME.to_json(path)  # pandas' default orient: {column: {index: value}}
    assert data.read_table(path)["c"].tolist() == ["a", "b", "a"]


def test_extension_is_case_insensitive_and_format_overrides(tmp_path):
    upper = tmp_path / "D.CSV"
    _write(FRAME, upper, "csv")
    assert len(data.read_table(upper)) == 3
    odd = tmp_path / "data.txt"
    _write(FRAME, odd, "tsv")
    assert list(data.read_table(odd, "tsv").columns) == ["x", "c", "y"]
    assert data.read_header(odd, "tsv") == ["x", "c", "y"]


def test_unknown_format_lists_formats(tmp_path):
    path = tmp_path / "d.xlsx"
    path.write_text("x")
    with pytest.raises(
        ConfigError, match=r"dataset: .*\.xlsx.*\.csv, \.tsv, \.parquet, \.json, \.jsonl"
    ):
        data.read_table(path)
    with pytest.raises(ConfigError, match="data_format: 'xml' .*csv, tsv, parquet, json, jsonl"):
        data.read_table(path, "xml")


def test_missing_file_names_key_and_path(tmp_path):
    path = tmp_path / "nope.csv"
    with pytest.raises(ConfigError, match=r"training_set: file '.*nope\.csv' does not exist"):
        data.read_table(path, key="training_set")
    with pytest.raises(ConfigError, match="dataset: file"):
        data.read_header(path)


def test_non_utf8_is_a_data_error(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes("name,v\ncaf\xe9,1\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"latin\.csv.*not valid UTF-8"):
        data.read_table(path)


def test_empty_file_is_a_data_error(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("")
    with pytest.raises(DataError, match="empty"):
        data.read_table(path)


# --------------------------------------------------------------------------- splits


def _frame(n=100):
    return pd.DataFrame({"i": range(n), "label": ["a"] * (n // 2) + ["b"] * (n - n // 2)})


def test_random_split_default_proportions_and_determinism():
    frame = _frame(100)
    first = data.split_dataset(frame, None, seed=3)
    assert {k: len(v) for k, v in first.items()} == {"training": 70, "validation": 10, "test": 20}
    again = data.split_dataset(frame, None, seed=3)
    for name in data.SPLITS:
        pd.testing.assert_frame_equal(first[name], again[name])
    other = data.split_dataset(frame, None, seed=4)
    assert first["test"]["i"].tolist() != other["test"]["i"].tolist()
    together = sorted(sum((part["i"].tolist() for part in first.values()), []))
    assert together == list(range(100))
    # rows keep the file order inside a split
    assert first["training"]["i"].is_monotonic_increasing


def test_random_split_probabilities_and_empty_split():
    parts = data.split_dataset(_frame(10), {"type": "random", "probabilities": [0.8, 0.0, 0.2]}, 0)
    assert [len(parts[s]) for s in data.SPLITS] == [8, 0, 2]


def test_fixed_split():
    frame = pd.DataFrame({"v": range(6), "fold": [0, 1, 2, 0, "2", 1.0]})
    parts = data.split_dataset(frame, {"type": "fixed", "column": "fold"}, 0)
    assert parts["training"]["v"].tolist() == [0, 3]
    assert parts["validation"]["v"].tolist() == [1, 5]
    assert parts["test"]["v"].tolist() == [2, 4]


def test_fixed_split_rejects_other_values():
    frame = pd.DataFrame({"v": range(3), "split": [0, 3, "train"]})
    with pytest.raises(DataError, match=r"column 'split' must hold 0 .*3, 'train'"):
        data.split_dataset(frame, {"type": "fixed"}, 0)


def test_split_column_is_used_only_when_the_config_says_fixed():
    # Regression (issue 7.8): Ludwig 0.17 splits at random unless told `type: fixed`.
    frame = pd.DataFrame({"v": range(40), "split": [0, 2] * 20})
    parts = data.split_dataset(frame, None, 0)
    assert [len(parts[s]) for s in data.SPLITS] == [28, 4, 8]
    assert len(parts["validation"]) > 0  # the column has no validation rows at all
    fixed = data.split_dataset(frame, {"type": "fixed"}, 0)
    assert [len(fixed[s]) for s in data.SPLITS] == [20, 0, 20]
    default = data.effective_split(None, ["v", "split"])
    assert default == {"type": "random", "probabilities": [0.7, 0.1, 0.2]}
    notice = data.unused_split_column_notice(default, ["v", "split"], ["v"])
    assert notice == (
        "the dataset has a 'split' column, which is not used: the split is random "
        "(probabilities 0.7/0.1/0.2), Ludwig 0.17's default when the config names none. To "
        "split by the column (0 training, 1 validation, 2 test), set preprocessing.split: "
        "{type: fixed, column: split}."
    )
    assert (
        data.unused_split_column_notice({"type": "fixed", "column": "split"}, ["split"], []) is None
    )
    assert data.unused_split_column_notice(default, ["v", "split"], ["v", "split"]) is None
    assert data.unused_split_column_notice(default, ["v"], ["v"]) is None


def test_stratified_split_keeps_class_ratios():
    frame = pd.DataFrame({"i": range(200), "label": ["a"] * 150 + ["b"] * 50})
    parts = data.split_dataset(frame, {"type": "stratify", "column": "label"}, seed=1)
    counts = {s: parts[s]["label"].value_counts().to_dict() for s in data.SPLITS}
    assert counts["training"] == {"a": 105, "b": 35}
    assert counts["validation"] == {"a": 15, "b": 5}
    assert counts["test"] == {"a": 30, "b": 10}
    again = data.split_dataset(frame, {"type": "stratify", "column": "label"}, seed=1)
    assert parts["test"]["i"].tolist() == again["test"]["i"].tolist()


@pytest.mark.parametrize(
    ("split", "error", "pattern"),
    [
        (
            {"type": "kfold"},
            ConfigError,
            r"preprocessing\.split\.type: 'kfold' .*random, fixed, stratify",
        ),
        ({"type": "hash"}, NotSupportedError, r"preprocessing\.split\.type: .*'hash'"),
        (
            {"probabilities": [0.5, 0.5]},
            ConfigError,
            r"preprocessing\.split\.probabilities: .*three",
        ),
        ({"probabilities": [0.5, 0.4, 0.2]}, ConfigError, r"sums to 1\.1"),
        ({"probabilities": [1.2, -0.1, -0.1]}, ConfigError, r"non-negative"),
        (
            {"type": "random", "column": "x"},
            ConfigError,
            r"preprocessing\.split\.column: unknown .*type, probabilities",
        ),
        ({"type": "stratify"}, ConfigError, r"preprocessing\.split\.column: None"),
        (
            {"type": "fixed", "column": "nope"},
            ConfigError,
            r"preprocessing\.split\.column: column 'nope' is not in",
        ),
        ("random", ConfigError, r"preprocessing\.split: 'random' is not allowed"),
    ],
)
def test_split_config_errors(split, error, pattern):
    with pytest.raises(error, match=pattern):
        data.validate_split_config(split, columns=["i", "label"])


def test_sample_rows_is_seeded_and_ordered():
    frame = _frame(100)
    half = data.sample_rows(frame, 0.5, None, seed=2)
    assert len(half) == 50 and half.index.is_monotonic_increasing
    assert half.equals(data.sample_rows(frame, 0.5, None, seed=2))
    assert len(data.sample_rows(frame, 1.0, 7, seed=2)) == 7
    assert data.sample_rows(frame, 1.0, None, seed=2) is frame


# --------------------------------------------------------------------------- prepare

CONFIG = {
    "input_features": [
        {"name": "x", "type": "number"},
        {"name": "colour", "type": "category", "column": "c"},
    ],
    "output_features": [{"name": "y", "type": "binary"}],
}


def _dataset(tmp_path, n=40, **extra):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "c": rng.choice(["a", "b", "c"], n),
            "unused": range(n),
            "y": rng.choice([True, False], n),
            **extra,
        }
    )
    path = tmp_path / "d.csv"
    frame.to_csv(path, index=False)
    return path


def _prepare(tmp_path, data_files, config=CONFIG, seed=0):
    key = ENGINE.preprocessing_key(config)
    return run_prepare(
        data_files={k: str(v) for k, v in data_files.items()},
        data_format=None,
        config=key,
        engine=ENGINE,
        seed=seed,
        out_dir=str(tmp_path / "prep"),
    )


def test_used_columns():
    assert used_columns(CONFIG) == ["x", "c", "y"]


def test_prepare_writes_raw_splits_and_metadata(tmp_path):
    meta = _prepare(tmp_path, {"dataset": _dataset(tmp_path)})
    assert meta["rows"] == {"training": 28, "validation": 4, "test": 8}
    assert meta["columns"] == ["x", "c", "y"]
    assert meta["split"] == {"type": "random", "probabilities": [0.7, 0.1, 0.2]}
    prep = tmp_path / "prep"
    for split, rows in meta["rows"].items():
        frame = pd.read_parquet(prep / f"{split}.parquet")
        assert list(frame.columns) == ["x", "c", "y"] and len(frame) == rows
    on_disk = json.loads((prep / "metadata.json").read_text())
    assert on_disk["preprocessing_key"] == ENGINE.preprocessing_key(CONFIG)
    assert (prep / "sklearn" / "preprocessors.joblib").exists()
    assert (prep / "sklearn" / "splits.joblib").exists()


def test_prepare_with_separate_files(tmp_path):
    full = pd.read_csv(_dataset(tmp_path))
    full.iloc[:30].to_csv(tmp_path / "train.csv", index=False)
    full.iloc[30:].to_parquet(tmp_path / "test.parquet", index=False)
    meta = _prepare(
        tmp_path, {"training_set": tmp_path / "train.csv", "test_set": tmp_path / "test.parquet"}
    )
    assert meta["rows"] == {"training": 30, "validation": 0, "test": 10}
    assert meta["split"] == {"type": "files"}


def test_prepare_data_errors(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("x,c,y\n")
    with pytest.raises(DataError, match="no rows"):
        _prepare(tmp_path, {"dataset": empty})
    with pytest.raises(DataError, match=r"input_features\.x: column 'x' is missing in every row"):
        _prepare(tmp_path, {"dataset": _dataset(tmp_path, x=[None] * 40)})
    with pytest.raises(
        DataError, match=r"output_features\.y: the training split has a single class"
    ):
        _prepare(tmp_path, {"dataset": _dataset(tmp_path, y=[True] * 40)})
    fixed = {**CONFIG, "preprocessing": {"split": {"type": "fixed"}}}
    with pytest.raises(DataError, match="training split is empty"):
        _prepare(tmp_path, {"dataset": _dataset(tmp_path, split=[2] * 40)}, fixed)
    with pytest.raises(ConfigError, match=r"dataset: column\(s\) 'x'"):
        frame = pd.read_csv(_dataset(tmp_path)).drop(columns=["x"])
        frame.to_csv(tmp_path / "nox.csv", index=False)
        _prepare(tmp_path, {"dataset": tmp_path / "nox.csv"})


def test_prepare_is_deterministic(tmp_path):
    path = _dataset(tmp_path)
    _prepare(tmp_path, {"dataset": path}, seed=5)
    first = pd.read_parquet(tmp_path / "prep" / "test.parquet")
    _prepare(tmp_path, {"dataset": path}, seed=5)
    pd.testing.assert_frame_equal(first, pd.read_parquet(tmp_path / "prep" / "test.parquet"))
