"""The engine contract: what the workflow asks of an engine.

`Engine` is in the spirit of Optuna's `BaseSampler`: the registry in
`backends/__init__.py` returns one, the rules call nothing else. This module imports
nothing heavy, so that a job that only supervises a program (engine command) starts
in milliseconds; the table-driven engines build on `schema_engine.SchemaEngine`.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from snaketune.errors import NotSupportedError

if TYPE_CHECKING:  # a train job of engine command never loads numpy, pandas or sklearn
    import pandas as pd

    from snaketune.backends.schema_engine import PredictorBase

MODEL_FILE = "model.joblib"
STATISTICS_FILE = "training_statistics.json"


class Phases:
    """Seconds spent per phase of a trial (load, build, train, evaluate, write, ...).

    train_summary.json keeps them as `timings_s`, so a benchmark can say where a
    trial's time outside training goes. A phase timed again adds up.
    """

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.add(name, time.perf_counter() - started)

    def add(self, name: str, seconds: float) -> None:
        self.seconds[name] = self.seconds.get(name, 0.0) + seconds

    def rounded(self) -> dict[str, float]:
        return {name: round(value, 4) for name, value in self.seconds.items()}


@dataclass(frozen=True)
class TrainJob:
    """One trial's training, as the workflow asks for it."""

    config: dict[str, Any]
    prepared_dir: Path
    out_dir: Path
    seed: int
    threads: int = 1
    output_feature: str | None = None
    metric: str | None = None
    gpus: int = 0  # GPUs the job was given; engines without GPU support train on the CPU
    config_path: str | None = None
    phases: Phases = field(default_factory=Phases)
    # A scheduler's rungs (backends/warm_start.py): the folder of the trial's rung
    # before, whose saved state this job may continue; whether to save this job's own.
    resume_from: Path | None = None
    keep_state: bool = False

    def warm_start(self, budget_key: tuple[str, str], log: Any) -> Any:
        """This job's WarmStart (imported here: a program's job never needs it)."""
        from snaketune.backends.warm_start import WarmStart

        return WarmStart(
            self.config, self.seed, budget_key, self.out_dir,
            resume_from=self.resume_from, keep=self.keep_state, log=log,
        )  # fmt: skip


class Engine(ABC):
    """What the workflow asks of an engine; one instance per name in the registry."""

    name: str
    # The feature types the engine can train, or None when the trained program decides.
    feature_types: tuple[str, ...] | None
    # Whether training runs in the job's own process (its BLAS/OpenMP pools are then held
    # to the trial's threads with threadpoolctl); a program gets them from the environment.
    trains_in_process: bool = True
    # What a trial of this engine imports, for the warm worker to import once per run
    # (snaketune/warm.py); empty: every trial job starts cold (a program's own start-up
    # is not ours to save).
    warm_modules: tuple[str, ...] = ()

    @abstractmethod
    def default_encoder(self, feature_type: str) -> str | None:
        """The encoder a feature of this type gets when it names none (defaults expansion)."""

    @abstractmethod
    def default_decoder(self, feature_type: str) -> str | None:
        """The decoder an output of this type gets when it names none."""

    @abstractmethod
    def validate_config(self, config: dict[str, Any]) -> None:
        """Raise ConfigError (one paragraph) when a resolved trial config cannot train."""

    def config_notices(self, config: dict[str, Any]) -> list[str]:
        """Lines to print at parse time where the engine differs from Ludwig's defaults."""
        return []

    @abstractmethod
    def preprocessing_key(self, config: dict[str, Any]) -> dict[str, Any]:
        """The part of a config that decides the prepared data: trials sharing it share it."""

    def budget_key(self, config: dict[str, Any]) -> tuple[str, str]:
        """Where a config holds its training budget, which a scheduler's rungs set.

        Epochs, or boosting rounds for a GBM; a program of engine command reads it too.
        """
        if config.get("model_type") == "gbm":
            return ("trainer", "num_boost_round")
        return ("trainer", "epochs")

    def check_trial(self, config: dict[str, Any]) -> dict[str, Any]:
        """validate_config, then the preprocessing key: what parse time asks of each trial."""
        self.validate_config(config)
        return self.preprocessing_key(config)

    @abstractmethod
    def prepare(
        self, config: dict[str, Any], splits: dict[str, pd.DataFrame], out_dir: str, seed: int
    ) -> dict[str, Any]:
        """Fit the preprocessing on the training split, write it under `out_dir`, return info."""

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
        phases: Phases | None = None,
        resume_from: str | Path | None = None,
        keep_state: bool = False,
    ) -> dict[str, Any]:
        """Train one trial: write MODEL_FILE (if any) and STATISTICS_FILE into `out_dir`.

        Returns best_epoch and epochs_run (and what else the engine reports) for the
        trial's summary. The hyperopt `output_feature` and `metric` choose the best
        evaluation; `config_path` is the trial's config file, for engines that pass it on;
        `phases` collects where the time went. Under a scheduler, `resume_from` is the
        folder of the trial's rung before (a warm start, where the engine has one) and
        `keep_state` asks for this job's state to be saved for the rung after.
        """
        job = TrainJob(
            config, Path(prepared_dir), Path(out_dir), seed=seed, threads=threads,
            output_feature=output_feature, metric=metric, gpus=gpus, config_path=config_path,
            phases=phases or Phases(), keep_state=keep_state,
            resume_from=None if resume_from is None else Path(resume_from),
        )  # fmt: skip
        return self.train_job(job)

    @abstractmethod
    def train_job(self, job: TrainJob) -> dict[str, Any]:
        """`train`, with its arguments as one TrainJob."""

    def load_predictor(self, model_dir: str | Path) -> PredictorBase:
        """The trained model of a trial (or of best/), ready to predict on raw data."""
        raise NotSupportedError(
            f"engine {self.name} keeps no predictor of its own; its program's output folder "
            "holds what it trained."
        )
