"""The trained network as a self-contained predictor: fitted preprocessing + weights + spec.

    import joblib
    predictor = joblib.load("results/<study>/best/model.joblib")
    predictor.predict(df)          # labels (category), booleans or the two labels (binary), numbers
    predictor.predict_proba(df)    # classifiers: (n, len(predictor.classes_)) probabilities

`df` is a raw data frame with the input features' columns, as in the dataset. The
weights are stored as numpy arrays and the network is rebuilt on the CPU from its spec
at the first prediction, so a model trained on a GPU loads anywhere torch is installed.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import torch

from snaketune.backends.schema_engine import PredictorBase
from snaketune.backends.targets import Task
from snaketune.backends.torch_engine import model as ecd
from snaketune.backends.torch_engine import preprocessing, training


class TorchPredictor(PredictorBase):
    """Picklable; predicts on raw data frames in the label space of the dataset."""

    def __init__(
        self,
        *,
        spec: dict[str, Any],
        preprocessors: dict[str, Any],
        output: Any,
        state_dict: dict[str, torch.Tensor],
        task: Task,
    ):
        self.spec = spec
        self.config = spec["config"]
        self.input_features = [
            {"name": f["name"], "type": f["type"], "column": f["column"]}
            for f in self.config["input_features"]
        ]
        self.preprocessors = preprocessors
        self.output = output
        self.weights = {k: v.detach().cpu().numpy().copy() for k, v in state_dict.items()}
        self.task = task
        self.batch_size = training.eval_batch_size(self.config["trainer"])
        self._network: ecd.ECD | None = None

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_network"] = None
        return state

    def network(self) -> ecd.ECD:
        """The network with the trained weights, on the CPU, in evaluation mode."""
        if self._network is None:
            network = ecd.build_model(self.spec)
            network.load_state_dict({k: torch.from_numpy(v) for k, v in self.weights.items()})
            self._network = network.eval()
        return self._network

    def inputs(self, frame: pd.DataFrame) -> dict[str, np.ndarray]:
        """The network's input arrays for a raw data frame."""
        frame = self.columns(frame)
        return {
            f["name"]: preprocessing.to_array(self.preprocessors[f["name"]], frame[f["column"]])
            for f in self.input_features
        }

    def scores(self, frame: pd.DataFrame) -> np.ndarray:
        types = {f["name"]: f["type"] for f in self.input_features}
        logits = ecd.predict_logits(
            self.network(), self.inputs(frame), types, self.batch_size, torch.device("cpu")
        )
        return training.predictions(logits, self.task)
