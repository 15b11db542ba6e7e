"""The scikit-learn engine: the Engine contract of docs/internals.md.

prepare writes into `<prepared_dir>/sklearn/`:

- `preprocessors.joblib`: {"key", "inputs": {name: fitted preprocessor}, "output": fitted target}
- `splits.joblib`: {split: {"X": {name: prepared column}, "y": targets}} for non-empty splits
- `info.json`: rows kept and dropped per split, vocabulary and class sizes

train fits the encoders (one-hot, tf-idf, SVD, ...) and the model per trial, and
writes `model.joblib` (a `predictor.Predictor`) and `training_statistics.json`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from snaketune import io
from snaketune.backends import targets
from snaketune.backends.base import TrainJob
from snaketune.backends.preprocessing import Preprocessor
from snaketune.backends.schema_engine import SchemaEngine
from snaketune.backends.sklearn import features as feats
from snaketune.backends.sklearn import models, schema
from snaketune.backends.sklearn.predictor import Predictor


class SklearnEngine(SchemaEngine):
    schema = schema
    warm_modules = (
        *SchemaEngine.warm_modules,
        "snaketune.backends.sklearn",
        "sklearn.decomposition",
        "sklearn.ensemble",
        "sklearn.model_selection",
        "sklearn.neural_network",
    )

    # ------------------------------------------------------------------ prepare

    def input_preprocessor(self, feature: dict[str, Any]) -> Preprocessor:
        return feats.make_preprocessor(feature)

    def prepared_input(self, preprocessor: Preprocessor, series: pd.Series) -> Any:
        return preprocessor.transform(series)

    def describe_inputs(self, preprocessors: dict[str, Preprocessor]) -> dict[str, Any]:
        sizes = {
            name: p.vocabulary_size if isinstance(p, feats.TextPreprocessor) else len(p.vocabulary_)
            for name, p in preprocessors.items()
            if isinstance(p, feats.TextPreprocessor | feats.CategoryPreprocessor)
        }
        return {"vocabulary_sizes": sizes}

    # ------------------------------------------------------------------ train

    def train_job(self, job: TrainJob) -> dict[str, int]:
        # scikit-learn trains on the CPU only (job.gpus is not used).
        config, timed = job.config, job.phases
        with timed("load"):
            full = schema.with_defaults(config)
            preprocessors, target, prepared = self.load_prepared(job.prepared_dir, config)
        output = full["output_features"][0]
        task = targets.task_for(output, target)
        field, metric = targets.selection(full, job.output_feature, job.metric)

        with timed("build"):  # the input encoding, fitted on the training split
            encoder = feats.InputEncoder(full["input_features"], preprocessors, job.seed)
            y_train = prepared["training"]["y"]
            y_fit = targets.fit_target(output, target, y_train)
            X_train = encoder.fit_transform(prepared["training"]["X"], y_fit, _target_type(task))
            data = {"training": (X_train, y_train)}
            for split in ("validation", "test"):
                if split in prepared:
                    data[split] = (encoder.transform(prepared[split]["X"]), prepared[split]["y"])
            if full["model_type"] == "gbm":
                data = {split: (_dense_for_gbm(X), y) for split, (X, y) in data.items()}
        trainer = models.train_gbm if full["model_type"] == "gbm" else models.train_ecd
        warm = job.warm_start(self.budget_key(config), io.log)
        select: dict[str, Any] = {"field": field, "metric": metric, "log": io.log, "warm": warm}
        if not task.is_classifier:
            select["y_fit"] = y_fit
        with timed("train"):  # fitting, and evaluating each split per epoch
            result = trainer(full, task, data, job.seed, **select)

        predictor = Predictor(
            config=full, preprocessors=preprocessors, output=target, encoder=encoder,
            model=result.model, task=task,
        )  # fmt: skip
        with timed("write"):
            self.save_trained(job.out_dir, predictor, result.statistics)
        return {
            "best_epoch": int(result.best_epoch),
            "epochs_run": int(result.epochs_run),
            **warm.summary(result.trained_to),
        }


# --------------------------------------------------------------------------- helpers


def _target_type(task: targets.Task) -> str:
    if task.output_type == "number":
        return "continuous"
    return "binary" if task.n_classes == 2 else "multiclass"


def _dense_for_gbm(X: Any) -> np.ndarray:
    rows, cols = X.shape
    if rows * cols > models.MAX_DENSE_CELLS:
        raise ValueError(
            f"the gbm model needs a dense matrix of {rows} x {cols} values, too large for memory; "
            "lower preprocessing.most_common of text/category features or set the text "
            "encoder's embedding_size."
        )
    return feats.dense(X)
