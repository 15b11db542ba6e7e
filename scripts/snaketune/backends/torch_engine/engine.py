"""The torch engine: Ludwig's ECD networks, with the Engine contract of docs/internals.md.

prepare writes into `<prepared_dir>/torch/`:

- `preprocessors.joblib`: {"key", "inputs": {name: fitted preprocessor}, "output": fitted target}
- `splits.joblib`: {split: {"X": {name: network input array}, "y": targets}} for non-empty splits
- `info.json`: rows kept and dropped per split, vocabulary sizes, sequence lengths, classes

train builds the network from the trial's config (encoders, combiner, decoder), trains
it epoch by epoch and writes `model.joblib` (a `predictor.TorchPredictor`) and
`training_statistics.json`.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from snaketune import io
from snaketune.backends.base import SchemaEngine
from snaketune.backends.sklearn import engine as sk_engine
from snaketune.backends.sklearn.models import Task
from snaketune.backends.torch_engine import preprocessing, schema, training
from snaketune.backends.torch_engine.predictor import TorchPredictor
from snaketune.errors import DataError

FORMAT_VERSION = 1


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def device_for(gpus: int) -> torch.device:
    """A CUDA device when a GPU is requested and present, else the CPU."""
    if gpus and gpus >= 1 and torch.cuda.is_available():
        return torch.device("cuda")
    return torch.device("cpu")


class TorchEngine(SchemaEngine):
    schema = schema

    # ------------------------------------------------------------------ prepare

    def prepare(
        self, config: dict[str, Any], splits: dict[str, pd.DataFrame], out_dir: str, seed: int
    ) -> dict[str, Any]:
        key = self.preprocessing_key(config)
        full = schema.with_defaults(key)
        inputs = full["input_features"]
        output = full["output_features"][0]
        frames, dropped = sk_engine._drop_rows(inputs + [output], splits)
        training_frame = frames["training"]
        if training_frame.empty:
            raise DataError(
                "prepare: no training rows are left after dropping rows with missing values "
                "(missing_value_strategy: drop_row); check the data or choose another strategy."
            )
        preprocessors = {
            f["name"]: preprocessing.make_preprocessor(f).fit(training_frame[f["column"]])
            for f in inputs
        }
        target = sk_engine._make_target(output).fit(training_frame[output["column"]])
        prepared: dict[str, Any] = {}
        unseen: dict[str, int] = {}
        for split, frame in frames.items():
            if frame.empty:
                continue
            y = sk_engine._encode_target(target, output, frame[output["column"]])
            if output["type"] == "category":
                keep = y >= 0
                unseen[split] = int((~keep).sum())
                if unseen[split]:
                    _log(
                        f"notice: {unseen[split]} {split} rows have {output['name']} labels never "
                        "seen in training; they are left out of that split's metrics."
                    )
                frame, y = frame[keep].reset_index(drop=True), y[keep]
            if frame.empty:
                continue
            X = {
                f["name"]: preprocessing.to_array(preprocessors[f["name"]], frame[f["column"]])
                for f in inputs
            }
            prepared[split] = {"X": X, "y": y}
        info = {
            "format": FORMAT_VERSION,
            "rows": {split: int(len(part["y"])) for split, part in prepared.items()},
            "dropped_missing": dropped,
            "dropped_unseen_label": unseen,
            "vocabulary_sizes": {
                name: described["vocab_size"]
                for name, p in preprocessors.items()
                if "vocab_size" in (described := preprocessing.input_info(p))
            },
            "sequence_lengths": {
                name: int(p.length_)
                for name, p in preprocessors.items()
                if isinstance(p, preprocessing.TextPreprocessor)
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
        # `config_path` is part of the engine contract; the network is built from `config`.
        full = schema.with_defaults(config)
        preprocessors, target, prepared = self.load_prepared(prepared_dir, config)
        output = full["output_features"][0]
        task = _task(output, target)
        field, metric = sk_engine._selection(full, output, output_feature, metric)
        spec = {
            "config": full,
            "inputs": {name: preprocessing.input_info(p) for name, p in preprocessors.items()},
            "output": {"type": output["type"], "n_classes": task.n_classes},
        }
        data = {
            split: {
                "X": part["X"],
                "y": part["y"],
                "y_fit": sk_engine._fit_target(output, target, part["y"]),
            }
            for split, part in prepared.items()
        }
        device = device_for(gpus)
        _log(f"torch engine: training on {device} with {threads} thread(s), seed {seed}")
        classes = list(target.classes_) if output["type"] == "category" else None
        with training.torch_settings(threads, deterministic=device.type == "cpu"):
            result = training.train(
                full, spec, data, task, seed=seed, device=device, field=field, metric=metric,
                classes=classes, log=_log,
            )  # fmt: skip
        predictor = TorchPredictor(
            spec=spec, preprocessors=preprocessors, output=target,
            state_dict=result.state_dict, task=task,
        )  # fmt: skip
        io.dump_joblib(Path(out_dir) / "model.joblib", predictor)
        io.write_json(Path(out_dir) / "training_statistics.json", result.statistics)
        return {"best_epoch": int(result.best_epoch), "epochs_run": int(result.epochs_run)}


def _task(output: dict[str, Any], target: Any) -> Task:
    kind = output["type"]
    n_classes = len(target.classes_) if kind == "category" else (2 if kind == "binary" else 0)
    inverse = target.inverse if kind == "number" and target.scaler_ is not None else None
    return Task(
        output_name=output["name"],
        output_type=kind,
        n_classes=n_classes,
        loss_type=output["loss"]["type"],
        top_k=output.get("top_k", 3),
        clip=output.get("clip"),
        inverse=inverse,
    )
