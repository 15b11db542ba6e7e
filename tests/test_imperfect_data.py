"""Imperfect data is not an error: it is handled as Ludwig does.

Validation and test rows hold categories, words and labels never seen in training, and
every column has missing values. The inputs' missing values take each feature's
missing-value strategy, unseen categories the `<UNK>` bucket, unseen words are ignored;
rows without a label are dropped (the output's default `drop_row`) and rows whose label
never occurs in training are left out of that split's metrics. The study completes with
every trial ok.
"""

from __future__ import annotations

import json
import math

import joblib
import numpy as np
import pandas as pd
import pytest

from conftest import Study, model_config
from snaketune import data, io
from snaketune.backends import get_engine
from snaketune.prepare import run_prepare

TRAIN, VALID, TEST = 120, 40, 40
WORDS = {"a": ["alpha", "apple"], "b": ["beta", "brick"], "c": ["gamma", "crane"]}
X_STRATEGIES = ["fill_with_mean", "fill_with_const", "drop_row"]


def imperfect_frame(seed: int = 0) -> pd.DataFrame:
    """A fixed split (column `split`) whose validation and test rows differ from training."""
    rng = np.random.default_rng(seed)
    n = TRAIN + VALID + TEST
    split = np.array([0] * TRAIN + [1] * VALID + [2] * TEST)
    labels = rng.choice(list(WORDS), size=n)
    held_out = split > 0
    titles = []
    for label, unseen in zip(labels, held_out, strict=True):
        words = list(rng.choice(WORDS[label] + ["the", "of"], size=3))
        if unseen:
            words.append(str(rng.choice(["zeta", "omega", "kappa"])))  # never in training
        titles.append(" ".join(words))
    x = rng.normal(size=n) + (labels == "a") * 2.0
    color = np.where(labels == "b", "red", "blue").astype(object)
    color[held_out & (rng.random(n) < 0.4)] = "purple"  # a category only validation/test have
    flag = np.where(labels == "c", "yes", "no").astype(object)
    frame = pd.DataFrame(
        {"title": titles, "x": x, "color": color, "flag": flag, "label": labels, "split": split}
    )
    # Missing values in every column, in every split.
    for offset, column in enumerate(("title", "x", "color", "flag", "label")):
        frame.loc[offset::9, column] = None
    # Two test rows (with every input present) whose label never occurs in training.
    frame.loc[[TRAIN + VALID + 1, TRAIN + VALID + 7], "label"] = "d"
    return frame


def imperfect_config() -> dict:
    config = model_config(
        parameters={
            "combiner.output_size": {"space": "grid_search", "values": [4, 8]},
            "color.preprocessing.missing_value_strategy": {
                "space": "choice",
                "categories": ["fill_with_const", "fill_with_mode"],
            },
        },
        executor={"num_samples": 1},
    )
    config["input_features"].append({"name": "flag", "type": "binary"})
    config["preprocessing"] = {"split": {"type": "fixed", "column": "split"}}
    return config


def test_frame_is_as_imperfect_as_intended():
    frame = imperfect_frame()
    training, held_out = frame[frame["split"] == 0], frame[frame["split"] > 0]
    for column in ("title", "x", "color", "flag", "label"):
        for part in (training, held_out):
            assert part[column].isna().any(), column
    assert "purple" not in set(training["color"]) and "purple" in set(held_out["color"])
    assert "d" not in set(training["label"]) and "d" in set(held_out["label"])


@pytest.mark.e2e
def test_a_study_on_imperfect_data_completes_with_every_trial_ok(tmp_path):
    study = Study(tmp_path / "study", imperfect_config())
    imperfect_frame().to_csv(study.root / "data.csv", index=False)
    result = study.run()
    assert "Traceback" not in result.stdout + result.stderr

    board = pd.read_csv(study.path("leaderboard.tsv"), sep="\t")
    assert len(board) == 2
    assert list(board["status"]) == ["ok", "ok"]
    for i in range(2):
        score = json.loads(study.path("trials", f"trial_{i:04d}", "score.json").read_text())
        assert score["status"] == "ok", score
        assert math.isfinite(score["metric_score"]) and 0 <= score["metric_score"] <= 1

    prepared = sorted(study.path("prepared").glob("prep_*/metadata.json"))
    assert prepared
    for path in prepared:
        info = json.loads(path.read_text())["engine_info"]
        assert info["dropped_unseen_label"]["test"] == 2
        assert all(count > 0 for count in info["dropped_missing"].values())  # no label
        assert set(info["classes"]) == {"a", "b", "c"}

    # The best model predicts rows it has never seen the like of.
    predictor = joblib.load(study.path("best", "model.joblib"))
    rows = pd.DataFrame(
        {
            "title": ["omega zeta", None, "alpha of the"],
            "x": [None, 0.5, np.nan],
            "color": ["purple", None, "teal"],
            "flag": [None, "yes", "no"],
        }
    )
    predictions = predictor.predict(rows)
    assert len(predictions) == 3 and set(predictions) <= {"a", "b", "c"}


@pytest.mark.parametrize("strategy", X_STRATEGIES)
def test_prepare_maps_unseen_and_missing_values(tmp_path, strategy):
    """Through the engine: the prepare step accepts the data and fits on training only."""
    path = tmp_path / "data.csv"
    imperfect_frame().to_csv(path, index=False)
    engine = get_engine("sklearn")
    config = imperfect_config()
    config["input_features"][1]["preprocessing"] = {"missing_value_strategy": strategy}
    config = {k: v for k, v in config.items() if k != "hyperopt"}
    metadata = run_prepare(
        data_files={"dataset": str(path)},
        data_format=None,
        config=engine.preprocessing_key(config),
        engine=engine,
        seed=1,
        out_dir=str(tmp_path / "prepared"),
    )
    assert metadata["rows"] == {"training": TRAIN, "validation": VALID, "test": TEST}
    info = metadata["engine_info"]
    assert info["dropped_unseen_label"] == {"training": 0, "validation": 0, "test": 2}
    assert info["classes"] is not None and "d" not in info["classes"]
    saved = joblib.load(tmp_path / "prepared" / "sklearn" / "preprocessors.joblib")
    color = saved["inputs"]["color"]
    assert "purple" not in color.vocabulary_
    unseen = color.transform(pd.Series(["purple", "teal"], dtype=object)).ravel().tolist()
    assert unseen == [color.vocabulary_[0]] * 2  # both go to the <UNK> bucket
    x = saved["inputs"]["x"].transform(pd.Series([np.nan, 1.0]))
    assert np.isfinite(np.asarray(x, dtype=float)).all()
    splits = joblib.load(tmp_path / "prepared" / "sklearn" / "splits.joblib")
    dropped_x = strategy == "drop_row"
    for name, expected in (("validation", VALID), ("test", TEST)):
        rows = len(splits[name]["y"])
        assert 0 < rows < expected  # rows without a label (and with an unseen one) are out
        if not dropped_x:
            assert rows == expected - info["dropped_missing"][name] - (2 if name == "test" else 0)


# A column that mixes types pandas hashes alike (True == 1 == 1.0), floats that equal
# each other in float32 and float64, blanks and every kind of missing value.
MIXED = [True, 1, 1.0, "1", None, np.nan, pd.NA, " ", "", "A", "a", np.float32(0.1),
         float(np.float32(0.1)), 2, np.int64(2), "b", False, 0, 0.0, "no", "yes"]  # fmt: skip


def _row_by_row_labels(values: list) -> list:
    """as_strings' rule applied to one value at a time: the reference for the fast path."""
    out = []
    for v in values:
        blank = isinstance(v, str) and not v.strip()
        if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)) or blank:
            out.append(None)
        elif isinstance(v, float | np.floating) and float(v).is_integer():
            out.append(str(int(v)))
        elif isinstance(v, bool | np.bool_):
            out.append(str(bool(v)))
        else:
            out.append(str(v))
    return out


@pytest.mark.parametrize(
    "values",
    [
        MIXED,
        ["x", None, "y", " ", "x"],  # one type: labels computed once per distinct value
        [1.0, 2.5, np.nan, 3.0],
        [3, 1, 3],
        [True, False, True],
    ],
)
def test_labels_of_any_column_match_the_row_by_row_rule(values):
    from snaketune.backends.preprocessing import as_strings, missing_mask

    series = pd.Series(values) if values is not MIXED else pd.Series(values, dtype=object)
    expected = _row_by_row_labels(series.astype(object).tolist())
    assert as_strings(series).tolist() == expected
    assert missing_mask(series).tolist() == [v is None for v in expected]


def test_binary_codes_of_mixed_spellings_and_the_first_bad_value_named():
    from snaketune.backends.preprocessing import BinaryPreprocessor
    from snaketune.errors import DataError

    params = {"missing_value_strategy": "fill_with_false", "fill_value": None}
    spellings = pd.Series([True, 1, 1.0, "yes", 0, 0.0, "off", None, np.int64(3)], dtype=object)
    prep = BinaryPreprocessor("b", "b", {**params, "fallback_true_label": None}).fit(spellings)
    assert prep.transform(spellings).ravel().tolist() == [1, 1, 1, 1, 0, 0, 0, 0, 1]
    with pytest.raises(DataError, match="'maybe' is not a boolean value"):
        prep._codes(pd.Series(["yes", 1, "maybe", "perhaps", "maybe"], dtype=object))
    # with a fallback label, a value means true exactly when its string is that label
    labelled = BinaryPreprocessor("b", "b", {**params, "fallback_true_label": "1"})
    labelled.fit(pd.Series(["1", "2"], dtype=object))
    assert labelled.transform(pd.Series([1, True, "1", 1.0], dtype=object)).ravel().tolist() == [
        1, 0, 1, 0,
    ]  # fmt: skip


def test_prepared_label_columns_are_stored_as_codes_and_load_unchanged(tmp_path):
    engine = get_engine("sklearn")
    path = tmp_path / "data.csv"
    imperfect_frame().drop(columns="split").to_csv(path, index=False)
    config = {k: v for k, v in model_config().items() if k != "hyperopt"}
    run_prepare(
        data_files={"dataset": str(path)}, data_format=None,
        config=engine.preprocessing_key(config), engine=engine, seed=1,
        out_dir=str(tmp_path / "prepared"),
    )  # fmt: skip
    stored = joblib.load(tmp_path / "prepared" / "sklearn" / "splits.joblib")
    packed = stored["training"]["X"]["color"]
    assert packed["codes"].dtype == np.int32 and packed["shape"][1] == 1
    _, _, splits = engine.load_prepared(tmp_path / "prepared", config)
    color = splits["training"]["X"]["color"]
    assert color.dtype == object and color.shape == tuple(packed["shape"])
    assert all(type(v) is str for v in color.ravel())
    assert isinstance(splits["training"]["X"]["x"], np.memmap)  # numbers are mapped, not read
    # a folder written before label columns were packed still loads, to the same arrays
    plain = {s: {"X": {n: np.array(a) for n, a in p["X"].items()}, "y": np.array(p["y"])}
             for s, p in splits.items()}  # fmt: skip
    # replaced by rename, as prepare writes it: the mapped file stays whole under `splits`
    io.dump_joblib(tmp_path / "prepared" / "sklearn" / "splits.joblib", plain)
    _, _, old = engine.load_prepared(tmp_path / "prepared", config)
    assert old["training"]["X"]["color"].tolist() == color.tolist()


def test_trailing_delimiters_do_not_shift_columns(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("title,x,label\nthe a,1,a,\nthe b,2,b,\n")
    frame = data.read_table(path)
    assert list(frame.columns) == ["title", "x", "label"]
    assert frame["title"].tolist() == ["the a", "the b"]
    assert frame["label"].tolist() == ["a", "b"]
