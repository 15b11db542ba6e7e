"""The trained model as a self-contained predictor: fitted preprocessing + encoders + model.

    import joblib
    predictor = joblib.load("results/<study>/best/model.joblib")
    predictor.predict(df)          # labels (category), booleans or the two labels (binary), numbers
    predictor.predict_proba(df)    # classifiers: (n, len(predictor.classes_)) probabilities

`df` is a raw data frame with the input features' columns, as in the dataset.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from snaketune.backends.base import OutputLabels
from snaketune.backends.sklearn import features as feats
from snaketune.backends.sklearn import models
from snaketune.errors import DataError


class Predictor(OutputLabels):
    """Picklable; predicts on raw data frames in the label space of the dataset."""

    def __init__(
        self,
        *,
        config: dict[str, Any],
        preprocessors: dict[str, feats.Preprocessor],
        output: Any,
        encoder: feats.InputEncoder,
        model: Any,
        task: models.Task,
    ):
        self.config = config
        self.model_type = config["model_type"]
        self.input_features = [
            {"name": f["name"], "type": f["type"], "column": f["column"]}
            for f in config["input_features"]
        ]
        self.preprocessors = preprocessors
        self.output = output
        self.encoder = encoder
        self.model = model
        self.task = task

    def matrix(self, frame: pd.DataFrame) -> Any:
        """The model's input matrix for a raw data frame."""
        missing = [f["column"] for f in self.input_features if f["column"] not in frame.columns]
        if missing:
            raise DataError(
                f"predict: the data frame lacks the input column(s) {', '.join(missing)}; "
                f"it has: {', '.join(map(str, frame.columns))}."
            )
        frame = frame.reset_index(drop=True)
        columns = {
            f["name"]: self.preprocessors[f["name"]].transform(frame[f["column"]])
            for f in self.input_features
        }
        X = self.encoder.transform(columns)
        return feats.dense(X) if self.model_type == "gbm" else X

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        if not self.task.is_classifier:
            raise AttributeError("predict_proba: a number output has no probabilities; use predict")
        scores = models.predictions(self.model, self.matrix(frame), self.task)
        if self.task.output_type == "binary":
            return np.column_stack([1.0 - scores, scores])
        return scores

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        if not self.task.is_classifier:
            return models.predictions(self.model, self.matrix(frame), self.task)
        proba = self.predict_proba(frame)
        if self.task.output_type == "binary":
            chosen = proba[:, 1] >= 0.5
            labels = self.classes_
            if labels == [False, True]:
                return chosen
            return np.where(chosen, labels[1], labels[0]).astype(object)
        return np.asarray(self.classes_, dtype=object)[proba.argmax(axis=1)]
