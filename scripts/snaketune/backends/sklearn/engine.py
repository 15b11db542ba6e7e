"""The scikit-learn engine: the Engine contract of docs/internals.md.

prepare writes into `<prepared_dir>/sklearn/`:

- `preprocessors.joblib`: {"key", "inputs": {name: fitted preprocessor}, "output": fitted target}
- `splits.joblib`: {split: {"X": {name: prepared column}, "y": targets}} for non-empty splits
- `info.json`: rows kept and dropped per split, vocabulary and class sizes

train fits the encoders (one-hot, tf-idf, SVD, ...) and the model per trial, and
writes `model.joblib` (a `predictor.Predictor`) and `training_statistics.json`.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from snaketune import io
from snaketune.backends.base import SchemaEngine
from snaketune.backends.sklearn import features as feats
from snaketune.backends.sklearn import models, schema
from snaketune.backends.sklearn.predictor import Predictor
from snaketune.errors import DataError

FORMAT_VERSION = 1


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class SklearnEngine(SchemaEngine):
    schema = schema

    # ------------------------------------------------------------------ prepare

    def prepare(
        self, config: dict[str, Any], splits: dict[str, pd.DataFrame], out_dir: str, seed: int
    ) -> dict[str, Any]:
        key = self.preprocessing_key(config)
        full = schema.with_defaults(key)
        inputs = full["input_features"]
        output = full["output_features"][0]
        frames, dropped = _drop_rows(inputs + [output], splits)
        training = frames["training"]
        if training.empty:
            raise DataError(
                "prepare: no training rows are left after dropping rows with missing values "
                "(missing_value_strategy: drop_row); check the data or choose another strategy."
            )
        preprocessors = {
            f["name"]: feats.make_preprocessor(f).fit(training[f["column"]]) for f in inputs
        }
        target = _make_target(output).fit(training[output["column"]])
        prepared: dict[str, Any] = {}
        unseen: dict[str, int] = {}
        for split, frame in frames.items():
            if frame.empty:
                continue
            y = _encode_target(target, output, frame[output["column"]])
            keep = np.ones(len(frame), dtype=bool)
            if output["type"] == "category":
                keep = y >= 0
                unseen[split] = int((~keep).sum())
                if unseen[split]:
                    _log(
                        f"notice: {unseen[split]} {split} rows have {output['name']} labels never "
                        "seen"
                        " in training; they are left out of that split's metrics."
                    )
                frame, y = frame[keep].reset_index(drop=True), y[keep]
            if frame.empty:
                continue
            X = {f["name"]: preprocessors[f["name"]].transform(frame[f["column"]]) for f in inputs}
            prepared[split] = {"X": X, "y": y}
        info = {
            "format": FORMAT_VERSION,
            "rows": {split: int(len(part["y"])) for split, part in prepared.items()},
            "dropped_missing": dropped,
            "dropped_unseen_label": unseen,
            "vocabulary_sizes": {
                name: (
                    p.vocabulary_size
                    if isinstance(p, feats.TextPreprocessor)
                    else len(p.vocabulary_)
                )
                for name, p in preprocessors.items()
                if isinstance(p, feats.TextPreprocessor | feats.CategoryPreprocessor)
            },
            "classes": list(target.classes_) if output["type"] == "category" else None,
        }
        self.save_prepared(out_dir, key, preprocessors, target, prepared, info)
        return info

    # ------------------------------------------------------------------ train

    def train(
        self,
        config: dict[str, Any],
        prepared_dir: str,
        out_dir: str,
        *,
        seed: int,
        threads: int = 1,
        output_feature: str | None = None,
        metric: str | None = None,
        gpus: int = 0,
        config_path: str | None = None,
    ) -> dict[str, int]:
        # `gpus` and `config_path` are part of the engine contract; scikit-learn trains
        # on the CPU only, from the config it is given.
        full = schema.with_defaults(config)
        preprocessors, target, prepared = self.load_prepared(prepared_dir, config)
        output = full["output_features"][0]
        task = _task(output, target)
        field, metric = _selection(full, output, output_feature, metric)

        encoder = feats.InputEncoder(full["input_features"], preprocessors, seed)
        y_train = prepared["training"]["y"]
        y_fit = _fit_target(output, target, y_train)
        X_train = encoder.fit_transform(prepared["training"]["X"], y_fit, _target_type(task))
        data = {"training": (X_train, y_train)}
        for split in ("validation", "test"):
            if split in prepared:
                data[split] = (encoder.transform(prepared[split]["X"]), prepared[split]["y"])
        if full["model_type"] == "gbm":
            data = {split: (_dense_for_gbm(X), y) for split, (X, y) in data.items()}
        trainer = models.train_gbm if full["model_type"] == "gbm" else models.train_ecd
        select: dict[str, Any] = {"field": field, "metric": metric, "log": _log}
        if not task.is_classifier:
            select["y_fit"] = y_fit
        result = trainer(full, task, data, seed, **select)

        predictor = Predictor(
            config=full, preprocessors=preprocessors, output=target, encoder=encoder,
            model=result.model, task=task,
        )  # fmt: skip
        io.dump_joblib(Path(out_dir) / "model.joblib", predictor)
        io.write_json(Path(out_dir) / "training_statistics.json", result.statistics)
        return {"best_epoch": int(result.best_epoch), "epochs_run": int(result.epochs_run)}


# --------------------------------------------------------------------------- helpers


def _drop_rows(
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
            mask |= feats.missing_mask(frame[feature["column"]])
        dropped[split] = int(mask.sum())
        frames[split] = frame[~mask].reset_index(drop=True)
    return frames, dropped


def _make_target(output: dict[str, Any]) -> Any:
    preprocessor = feats.make_preprocessor(output)
    if output["type"] == "category":
        return feats.CategoryTarget(preprocessor)
    return preprocessor


def _encode_target(target: Any, output: dict[str, Any], series: pd.Series) -> np.ndarray:
    if output["type"] == "category":
        return target.encode(series)
    if output["type"] == "binary":
        return target.transform(series).ravel().astype(int)
    return target.values(series)


def _fit_target(output: dict[str, Any], target: Any, y: np.ndarray) -> np.ndarray:
    """What the model is fitted on: class indices, 0/1, or the normalized number."""
    if output["type"] != "number" or target.scaler_ is None:
        return y
    return target.scaler_.transform(np.asarray(y, dtype=float).reshape(-1, 1)).ravel()


def _task(output: dict[str, Any], target: Any) -> models.Task:
    kind = output["type"]
    n_classes = len(target.classes_) if kind == "category" else (2 if kind == "binary" else 0)
    inverse = target.inverse if kind == "number" and target.scaler_ is not None else None
    return models.Task(
        output_name=output["name"],
        output_type=kind,
        n_classes=n_classes,
        loss_type=output["loss"]["type"],
        top_k=output.get("top_k", 3),
        clip=output["decoder"].get("clip"),
        inverse=inverse,
    )


def _target_type(task: models.Task) -> str:
    if task.output_type == "number":
        return "continuous"
    return "binary" if task.n_classes == 2 else "multiclass"


def _selection(
    full: dict[str, Any], output: dict[str, Any], output_feature: str | None, metric: str | None
) -> tuple[str, str]:
    """(field, metric) that picks the best epoch: the hyperopt metric, else the trainer's."""
    from snaketune import metrics

    trainer = full["trainer"]
    field = output_feature or trainer.get("validation_field") or output["name"]
    if metric is None:
        metric = trainer.get("validation_metric")
        if metric is None:
            metric = (
                "loss" if field == "combined" else models.DEFAULT_VALIDATION_METRIC[output["type"]]
            )
    if field not in ("combined", output["name"]):
        raise ValueError(
            f"output feature {field!r} is not in this config; it has {output['name']!r}."
        )
    metrics.check_metric(metric, field, output["type"])
    return field, metric


def _dense_for_gbm(X: Any) -> np.ndarray:
    rows, cols = X.shape
    if rows * cols > models.MAX_DENSE_CELLS:
        raise ValueError(
            f"the gbm model needs a dense matrix of {rows} x {cols} values, too large for memory; "
            "lower preprocessing.most_common of text/category features or set the text "
            "encoder's embedding_size."
        )
    return feats.dense(X)
