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

from typing import Any

import pandas as pd
import torch

from snaketune import io
from snaketune.backends import targets
from snaketune.backends.base import TrainJob
from snaketune.backends.preprocessing import Preprocessor
from snaketune.backends.schema_engine import SchemaEngine
from snaketune.backends.torch_engine import preprocessing, schema, training
from snaketune.backends.torch_engine.predictor import TorchPredictor


def device_for(gpus: int) -> torch.device:
    """A CUDA device when a GPU is requested and present, else the CPU."""
    if gpus and gpus >= 1 and torch.cuda.is_available():
        return torch.device("cuda")
    return torch.device("cpu")


class TorchEngine(SchemaEngine):
    schema = schema
    warm_modules = (*SchemaEngine.warm_modules, "snaketune.backends.torch_engine")

    # ------------------------------------------------------------------ prepare

    def input_preprocessor(self, feature: dict[str, Any]) -> Preprocessor:
        return preprocessing.make_preprocessor(feature)

    def prepared_input(self, preprocessor: Preprocessor, series: pd.Series) -> Any:
        return preprocessing.to_array(preprocessor, series)

    def describe_inputs(self, preprocessors: dict[str, Preprocessor]) -> dict[str, Any]:
        return {
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
        }

    # ------------------------------------------------------------------ train

    def train_job(self, job: TrainJob) -> dict[str, int]:
        timed = job.phases
        with timed("load"):
            full = schema.with_defaults(job.config)
            preprocessors, target, prepared = self.load_prepared(job.prepared_dir, job.config)
        output = full["output_features"][0]
        task = targets.task_for(output, target)
        field, metric = targets.selection(full, job.output_feature, job.metric)
        spec = {
            "config": full,
            "inputs": {name: preprocessing.input_info(p) for name, p in preprocessors.items()},
            "output": {"type": output["type"], "n_classes": task.n_classes},
        }
        data = {
            split: {
                "X": part["X"],
                "y": part["y"],
                "y_fit": targets.fit_target(output, target, part["y"]),
            }
            for split, part in prepared.items()
        }
        device = device_for(job.gpus)
        io.log(f"torch engine: training on {device} with {job.threads} thread(s), seed {job.seed}")
        classes = list(target.classes_) if output["type"] == "category" else None
        warm = job.warm_start(self.budget_key(job.config), io.log)
        with training.torch_settings(job.threads, deterministic=device.type == "cpu"):
            result = training.train(
                full, spec, data, task, seed=job.seed, device=device, field=field, metric=metric,
                classes=classes, log=io.log, phases=timed, warm=warm,
            )  # fmt: skip
        predictor = TorchPredictor(
            spec=spec, preprocessors=preprocessors, output=target,
            state_dict=result.state_dict, task=task,
        )  # fmt: skip
        with timed("write"):
            self.save_trained(job.out_dir, predictor, result.statistics)
        return {
            "best_epoch": int(result.best_epoch),
            "epochs_run": int(result.epochs_run),
            **warm.summary(result.epochs_run),
        }
