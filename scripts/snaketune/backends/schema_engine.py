"""What the engines that check configs against tables (sklearn, torch) share.

`SchemaEngine` implements the config side and the prepare step from an engine's
schema module (its `TABLES`, `with_defaults`); an engine adds how its inputs are
prepared and how it trains. `PredictorBase` is the trained model's public face:
predict and predict_proba on raw data frames.
"""

from __future__ import annotations

import copy
from abc import abstractmethod
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd

from snaketune import io
from snaketune.backends import targets
from snaketune.backends.base import MODEL_FILE, STATISTICS_FILE, Engine
from snaketune.backends.preprocessing import Preprocessor
from snaketune.backends.tables import FEATURE_TYPES
from snaketune.errors import DataError


class SchemaEngine(Engine):
    """Defaults, validation, the preprocessing key and prepare, from the engine's `schema`.

    A subclass gives `input_preprocessor` and `prepared_input` (how a column becomes
    the engine's input), `describe_inputs` (what info.json says of them) and `train`.
    """

    schema: ModuleType
    feature_types = FEATURE_TYPES
    format_version = 1
    # A trial's imports outside the engine's own package (which the subclass adds).
    warm_modules = (
        "snaketune.trial",
        "snaketune.score",
        "snaketune.backends.curves",
        "numpy",
        "pandas",
        "pyarrow.parquet",
        "joblib",
        "threadpoolctl",
        "sklearn.metrics",
        "concurrent.futures.process",
    )

    @property
    def name(self) -> str:
        return self.schema.ENGINE_NAME

    def default_encoder(self, feature_type: str) -> str | None:
        return self.schema.TABLES.default_encoders.get(feature_type)

    def default_decoder(self, feature_type: str) -> str | None:
        return self.schema.TABLES.default_decoders.get(feature_type)

    def validate_config(self, config: dict[str, Any]) -> None:
        self.schema.with_defaults(config)

    def config_notices(self, config: dict[str, Any]) -> list[str]:
        """Only engines whose schema defines `ludwig_differences` have any."""
        differences = getattr(self.schema, "ludwig_differences", None)
        return differences(config) if differences is not None else []

    def check_trial(self, config: dict[str, Any]) -> dict[str, Any]:
        """Both with one pass of the checker (it is most of a large study's parse time)."""
        return self._key_of(self.schema.with_defaults(config))

    def preprocessing_key(self, config: dict[str, Any]) -> dict[str, Any]:
        """Split + each feature's name/type/column/preprocessing, defaults filled in.

        It is itself a valid config, so `prepare` can be given the key alone.
        """
        return self._key_of(self.schema.with_defaults(config))

    @staticmethod
    def _key_of(full: dict[str, Any]) -> dict[str, Any]:
        def strip(feature: dict[str, Any]) -> dict[str, Any]:
            return {
                k: copy.deepcopy(feature[k]) for k in ("name", "type", "column", "preprocessing")
            }

        return {
            "input_features": [strip(f) for f in full["input_features"]],
            "output_features": [strip(f) for f in full["output_features"]],
            "preprocessing": copy.deepcopy(full["preprocessing"]),
        }

    # ------------------------------------------------------------------ prepare

    @abstractmethod
    def input_preprocessor(self, feature: dict[str, Any]) -> Preprocessor:
        """An input feature's preprocessor, unfitted."""

    @abstractmethod
    def prepared_input(self, preprocessor: Preprocessor, series: pd.Series) -> Any:
        """A raw column as the engine stores it prepared."""

    def describe_inputs(self, preprocessors: dict[str, Preprocessor]) -> dict[str, Any]:
        """What info.json says of the fitted input preprocessors (vocabulary sizes, ...)."""
        return {}

    def prepare(
        self, config: dict[str, Any], splits: dict[str, pd.DataFrame], out_dir: str, seed: int
    ) -> dict[str, Any]:
        key = self.preprocessing_key(config)
        full = self.schema.with_defaults(key)
        rows = targets.prepare_rows(
            full, splits, self.input_preprocessor, self.prepared_input, log=io.log
        )
        output = full["output_features"][0]
        info = {
            "format": self.format_version,
            **rows.info,
            **self.describe_inputs(rows.preprocessors),
            "classes": list(rows.target.classes_) if output["type"] == "category" else None,
        }
        folder = Path(out_dir) / self.name
        io.dump_joblib(
            folder / "preprocessors.joblib",
            {"key": key, "inputs": rows.preprocessors, "output": rows.target},
        )
        io.dump_joblib(folder / "splits.joblib", _packed(rows.splits))
        io.write_json(folder / "info.json", info)
        return info

    def load_prepared(
        self, prepared_dir: str | Path, config: dict[str, Any]
    ) -> tuple[Any, Any, Any]:
        """(input preprocessors, target, prepared splits), refused if made for another key."""
        import joblib

        folder = Path(prepared_dir) / self.name
        stored = joblib.load(folder / "preprocessors.joblib")
        if stored["key"] != self.preprocessing_key(config):
            raise ValueError(
                f"the prepared data in {prepared_dir} was made for a different preprocessing "
                "block than this trial's config; re-run the prepare step."
            )
        splits = joblib.load(folder / "splits.joblib", mmap_mode="c")
        return stored["inputs"], stored["output"], _unpacked(splits)

    def save_trained(self, out_dir: Path, predictor: PredictorBase, statistics: dict) -> None:
        io.dump_joblib(out_dir / MODEL_FILE, predictor)
        io.write_json(out_dir / STATISTICS_FILE, statistics)

    def load_predictor(self, model_dir: str | Path) -> PredictorBase:
        import joblib

        return joblib.load(Path(model_dir) / MODEL_FILE)


# Prepared splits are read by every trial. Label columns (object arrays of strings) are
# stored as int32 codes into their distinct labels: unpickling a million Python strings
# per column was most of a trial's load time, and the codes, like every numeric array,
# are memory-mapped (copy-on-write), so parallel trials share one copy in the page cache.
_PACKED_LABELS = "snaketune.packed_labels"


def _packed(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _packed(v) for k, v in value.items()}
    if (
        isinstance(value, np.ndarray)
        and value.dtype == object
        and value.size
        and pd.api.types.infer_dtype(value.ravel(), skipna=False) == "string"
    ):  # strings only: no NA, no other types that hashing could merge with them
        codes, labels = pd.factorize(value.ravel())
        return {
            _PACKED_LABELS: np.asarray(labels, dtype=object),
            "codes": codes.astype(np.int32),
            "shape": value.shape,
        }
    return value


def _unpacked(value: Any) -> Any:
    """The splits as prepare made them (also reads folders written before packing)."""
    if isinstance(value, dict):
        if _PACKED_LABELS in value:
            return value[_PACKED_LABELS][value["codes"]].reshape(value["shape"])
        return {k: _unpacked(v) for k, v in value.items()}
    return value


class PredictorBase:
    """Predicts on raw data frames in the label space of the dataset; picklable.

    A subclass sets `task`, `output` (the fitted target), `input_features` and
    `preprocessors`, and gives `scores`: what metrics score, for a raw frame.
    """

    task: targets.Task
    output: Any
    input_features: list[dict[str, Any]]

    def scores(self, frame: pd.DataFrame) -> np.ndarray:
        raise NotImplementedError

    def columns(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The frame, checked to hold every input column, with a fresh index."""
        missing = [f["column"] for f in self.input_features if f["column"] not in frame.columns]
        if missing:
            raise DataError(
                f"predict: the data frame lacks the input column(s) {', '.join(missing)}; "
                f"it has: {', '.join(map(str, frame.columns))}."
            )
        return frame.reset_index(drop=True)

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        if not self.task.is_classifier:
            raise AttributeError("predict_proba: a number output has no probabilities; use predict")
        scores = self.scores(frame)
        if self.task.output_type == "binary":
            return np.column_stack([1.0 - scores, scores])
        return scores

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        if not self.task.is_classifier:
            return self.scores(frame)
        proba = self.predict_proba(frame)
        if self.task.output_type == "binary":
            chosen = proba[:, 1] >= 0.5
            labels = self.classes_
            if labels == [False, True]:
                return chosen
            return np.where(chosen, labels[1], labels[0]).astype(object)
        return np.asarray(self.classes_, dtype=object)[proba.argmax(axis=1)]

    @property
    def output_feature(self) -> str:
        return self.task.output_name

    @property
    def output_type(self) -> str:
        return self.task.output_type

    @property
    def classes_(self) -> list[Any]:
        if self.task.output_type == "category":
            return list(self.output.labels_)
        if self.task.output_type == "binary":
            true_label = self.output.true_label_
            if true_label is not None and len(self.output.labels_) == 2:
                return [next(v for v in self.output.labels_ if v != true_label), true_label]
            return [False, True]
        raise AttributeError("a number output has no classes")
