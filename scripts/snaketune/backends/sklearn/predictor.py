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

from snaketune.backends.schema_engine import PredictorBase
from snaketune.backends.sklearn import features as feats
from snaketune.backends.sklearn import models
from snaketune.backends.targets import Task


class Predictor(PredictorBase):
    """Picklable; predicts on raw data frames in the label space of the dataset."""

    def __init__(
        self,
        *,
        config: dict[str, Any],
        preprocessors: dict[str, feats.Preprocessor],
        output: Any,
        encoder: feats.InputEncoder,
        model: Any,
        task: Task,
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
        frame = self.columns(frame)
        columns = {
            f["name"]: self.preprocessors[f["name"]].transform(frame[f["column"]])
            for f in self.input_features
        }
        X = self.encoder.transform(columns)
        return feats.dense(X) if self.model_type == "gbm" else X

    def scores(self, frame: pd.DataFrame) -> np.ndarray:
        return models.predictions(self.model, self.matrix(frame), self.task)
