"""The output side every engine shares: what a model predicts and the rows it learns from.

`Task` says what the model predicts and how predictions are scored; `prepare_rows`
is the prepare step's template (drop rows, fit the input preprocessors and the
target on training, encode every split); `selection` picks the field and metric
that choose the best evaluation, the same way for every engine.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from snaketune import metrics
from snaketune.backends.preprocessing import (
    CategoryTarget,
    Preprocessor,
    make_preprocessor,
    missing_mask,
)
from snaketune.errors import DataError

# Ludwig's default validation metric per output type (used when nothing selects one).
DEFAULT_VALIDATION_METRIC = {
    "binary": "roc_auc",
    "category": "accuracy",
    "number": "mean_squared_error",
}


@dataclass
class Task:
    """What the model predicts and how its predictions are scored."""

    output_name: str
    output_type: str  # binary | category | number
    n_classes: int
    loss_type: str
    top_k: int = metrics.DEFAULT_TOP_K
    clip: list[float] | None = None
    inverse: Callable[[np.ndarray], np.ndarray] | None = None  # number: back to original units

    @property
    def is_classifier(self) -> bool:
        return self.output_type != "number"

    def outputs(self, values: np.ndarray) -> np.ndarray:
        """A number output's predictions in the output's own units: de-normalized, clipped."""
        if self.inverse is not None:
            values = self.inverse(values)
        if self.clip is not None:
            values = np.clip(values, self.clip[0], self.clip[1])
        return values

    def score(self, y: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
        """Every metric of the output type, `loss` being the value the trainer minimizes."""
        values = metrics.compute(self.output_type, y, predicted, top_k=self.top_k)
        if self.loss_type in ("mean_absolute_error", "root_mean_squared_error"):
            values["loss"] = values[self.loss_type]
        return values


def task_for(output: dict[str, Any], target: Any) -> Task:
    """The Task of a checked output feature and its fitted target."""
    kind = output["type"]
    n_classes = len(target.classes_) if kind == "category" else (2 if kind == "binary" else 0)
    inverse = target.inverse if kind == "number" and target.scaler_ is not None else None
    return Task(
        output_name=output["name"],
        output_type=kind,
        n_classes=n_classes,
        loss_type=output["loss"]["type"],
        top_k=output.get("top_k", metrics.DEFAULT_TOP_K),
        clip=output.get("clip"),
        inverse=inverse,
    )


# --------------------------------------------------------------------------- targets


def make_target(output: dict[str, Any]) -> Any:
    """The output's target, unfitted: class indices for a category, else its preprocessor."""
    preprocessor = make_preprocessor(output, text=Preprocessor)
    if output["type"] == "category":
        return CategoryTarget(preprocessor)
    return preprocessor


def encode_target(target: Any, output: dict[str, Any], series: pd.Series) -> np.ndarray:
    """What metrics score: class indices (-1 unseen), 0/1, or the number itself."""
    if output["type"] == "category":
        return target.encode(series)
    if output["type"] == "binary":
        return target.transform(series).ravel().astype(int)
    return target.values(series)


def fit_target(output: dict[str, Any], target: Any, y: np.ndarray) -> np.ndarray:
    """What the model is fitted on: class indices, 0/1, or the normalized number."""
    if output["type"] != "number" or target.scaler_ is None:
        return y
    return target.scaler_.transform(np.asarray(y, dtype=float).reshape(-1, 1)).ravel()


def selection(
    full: dict[str, Any], output_feature: str | None, metric: str | None
) -> tuple[str, str]:
    """(field, metric) that picks the best evaluation: the hyperopt metric, else the trainer's.

    The hyperopt output_feature and metric were checked at parse time (config.py), the
    trainer's validation_field and validation_metric by the engine's checker.
    """
    output = full["output_features"][0]
    trainer = full["trainer"]
    field = output_feature or trainer.get("validation_field") or output["name"]
    if metric is None:
        metric = trainer.get("validation_metric")
        if metric is None:
            metric = "loss" if field == "combined" else DEFAULT_VALIDATION_METRIC[output["type"]]
    return field, metric


# --------------------------------------------------------------------------- prepare


def drop_rows(
    features: list[dict[str, Any]], splits: dict[str, pd.DataFrame]
) -> tuple[dict[str, pd.DataFrame], dict[str, int]]:
    """Rows with a missing value in a feature whose strategy is drop_row (Ludwig's semantics)."""
    dropping = [f for f in features if f["preprocessing"]["missing_value_strategy"] == "drop_row"]
    frames, dropped = {}, {}
    for split in ("training", "validation", "test"):
        frame = splits.get(split)
        if frame is None:
            frame = pd.DataFrame(columns=[f["column"] for f in features])
        mask = np.zeros(len(frame), dtype=bool)
        for feature in dropping:
            mask |= missing_mask(frame[feature["column"]])
        dropped[split] = int(mask.sum())
        frames[split] = frame[~mask].reset_index(drop=True)
    return frames, dropped


@dataclass
class PreparedRows:
    """The prepare step's result, before the engine writes it."""

    preprocessors: dict[str, Preprocessor]
    target: Any
    splits: dict[str, dict[str, Any]]  # split -> {"X": {name: prepared column}, "y": targets}
    info: dict[str, Any]


def prepare_rows(
    full: dict[str, Any],
    splits: dict[str, pd.DataFrame],
    make_input: Callable[[dict[str, Any]], Preprocessor],
    transform: Callable[[Preprocessor, pd.Series], Any],
    log: Callable[[str], None],
) -> PreparedRows:
    """Fit on training and encode every split; rows with unseen output labels are left out.

    `make_input` builds an input feature's preprocessor and `transform` turns a column
    into the engine's prepared form: the only two things engines do differently here.
    """
    inputs, output = full["input_features"], full["output_features"][0]
    frames, dropped = drop_rows(inputs + [output], splits)
    training = frames["training"]
    if training.empty:
        raise DataError(
            "prepare: no training rows are left after dropping rows with missing values "
            "(missing_value_strategy: drop_row); check the data or choose another strategy."
        )
    preprocessors = {f["name"]: make_input(f).fit(training[f["column"]]) for f in inputs}
    target = make_target(output).fit(training[output["column"]])
    prepared: dict[str, Any] = {}
    unseen: dict[str, int] = {}
    for split, frame in frames.items():
        if frame.empty:
            continue
        y = encode_target(target, output, frame[output["column"]])
        if output["type"] == "category":
            keep = y >= 0
            unseen[split] = int((~keep).sum())
            if unseen[split]:
                log(
                    f"notice: {unseen[split]} {split} rows have {output['name']} labels never "
                    "seen in training; they are left out of that split's metrics."
                )
            frame, y = frame[keep].reset_index(drop=True), y[keep]
        if frame.empty:
            continue
        X = {f["name"]: transform(preprocessors[f["name"]], frame[f["column"]]) for f in inputs}
        prepared[split] = {"X": X, "y": y}
    info = {
        "rows": {split: int(len(part["y"])) for split, part in prepared.items()},
        "dropped_missing": dropped,
        "dropped_unseen_label": unseen,
    }
    return PreparedRows(preprocessors, target, prepared, info)
