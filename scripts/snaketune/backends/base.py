"""The config side shared by engines that check configs against a schema module."""

from __future__ import annotations

import copy
from pathlib import Path
from types import ModuleType
from typing import Any

from snaketune import io

FEATURE_TYPES = ("number", "binary", "category", "text")


class SchemaEngine:
    """Defaults, validation and the preprocessing key, from the engine's `schema` module.

    The module provides DEFAULT_ENCODERS, DEFAULT_DECODERS, validate(config) and
    with_defaults(config); a subclass adds prepare and train.
    """

    schema: ModuleType
    feature_types = FEATURE_TYPES

    @property
    def name(self) -> str:
        return self.schema.ENGINE_NAME

    def default_encoder(self, feature_type: str) -> str | None:
        return self.schema.DEFAULT_ENCODERS.get(feature_type)

    def default_decoder(self, feature_type: str) -> str | None:
        return self.schema.DEFAULT_DECODERS.get(feature_type)

    def validate_config(self, config: dict[str, Any]) -> None:
        self.schema.validate(config)

    def config_notices(self, config: dict[str, Any]) -> list[str]:
        """Where the config relies on a default that differs from Ludwig 0.17's, one line each.

        Only engines whose schema defines `ludwig_differences` have any.
        """
        differences = getattr(self.schema, "ludwig_differences", None)
        return differences(config) if differences is not None else []

    def preprocessing_key(self, config: dict[str, Any]) -> dict[str, Any]:
        """Split + each feature's name/type/column/preprocessing, defaults filled in.

        It is itself a valid config, so `prepare` can be given the key alone.
        """
        full = self.schema.with_defaults(config)

        def strip(feature: dict[str, Any]) -> dict[str, Any]:
            return {
                k: copy.deepcopy(feature[k]) for k in ("name", "type", "column", "preprocessing")
            }

        return {
            "input_features": [strip(f) for f in full["input_features"]],
            "output_features": [strip(f) for f in full["output_features"]],
            "preprocessing": copy.deepcopy(full["preprocessing"]),
        }

    def save_prepared(
        self, out_dir: str, key: dict, inputs: Any, target: Any, splits: Any, info: dict
    ) -> None:
        """Write the fitted preprocessing (tagged with its key) into prepared/<id>/<engine>/."""
        folder = Path(out_dir) / self.name
        io.dump_joblib(
            folder / "preprocessors.joblib", {"key": key, "inputs": inputs, "output": target}
        )
        io.dump_joblib(folder / "splits.joblib", splits)
        io.write_json(folder / "info.json", info)

    def load_prepared(self, prepared_dir: str, config: dict[str, Any]) -> tuple[Any, Any, Any]:
        """(input preprocessors, target, prepared splits), refused if made for another key."""
        import joblib

        folder = Path(prepared_dir) / self.name
        stored = joblib.load(folder / "preprocessors.joblib")
        if stored["key"] != self.preprocessing_key(config):
            raise ValueError(
                f"the prepared data in {prepared_dir} was made for a different preprocessing "
                "block than this trial's config; re-run the prepare step."
            )
        return stored["inputs"], stored["output"], joblib.load(folder / "splits.joblib")


class OutputLabels:
    """What a predictor tells about its output; needs `task` and the fitted `output`."""

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
