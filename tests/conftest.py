"""Shared fixtures: small data and a way to run the real workflow."""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
ENV = dict(os.environ, PYTHONPATH=str(REPO / "scripts"))


def make_frame(rows: int = 160, seed: int = 0) -> pd.DataFrame:
    """Small mixed-type data whose label depends on the inputs (so models learn something)."""
    rng = np.random.default_rng(seed)
    words = {
        "a": ["alpha", "apple", "arch"],
        "b": ["beta", "bold", "brick"],
        "c": ["gamma", "cold", "crane"],
    }
    labels = rng.choice(list(words), size=rows)
    titles = [" ".join(rng.choice(words[label] + ["the", "of", "new"], size=4)) for label in labels]
    x = rng.normal(size=rows) + (labels == "a") * 1.5
    color = np.where(rng.random(rows) < 0.7, np.where(labels == "b", "red", "blue"), "green")
    flag = np.where(labels == "c", "yes", "no")
    frame = pd.DataFrame({"title": titles, "x": x, "color": color, "flag": flag, "label": labels})
    frame.loc[::17, "x"] = np.nan
    frame.loc[::23, "color"] = None
    return frame


def model_config(**hyperopt) -> dict:
    """A small Ludwig config for the sklearn engine with a hyperopt section."""
    config = {
        "input_features": [
            {"name": "title", "type": "text"},
            {"name": "x", "type": "number"},
            {"name": "color", "type": "category"},
        ],
        "output_features": [{"name": "label", "type": "category"}],
        "combiner": {"type": "concat", "num_fc_layers": 1, "output_size": 8},
        "trainer": {"epochs": 3, "batch_size": 32, "learning_rate": 0.01},
        "hyperopt": {
            "goal": "maximize",
            "metric": "accuracy",
            "output_feature": "label",
            "parameters": {
                "trainer.learning_rate": {"space": "loguniform", "lower": 0.001, "upper": 0.05},
                "combiner.output_size": {"space": "choice", "categories": [4, 8]},
            },
            "executor": {"num_samples": 3},
        },
    }
    config["hyperopt"].update(hyperopt)
    return config


class Study:
    """A study folder in tmp_path: data, model config, and snakemake runs from that folder."""

    def __init__(self, root: Path, config: dict, rows: int = 160) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        make_frame(rows).to_csv(root / "data.csv", index=False)
        self.write_config(config)

    def write_config(self, config: dict, name: str = "model.yaml") -> None:
        (self.root / name).write_text(yaml.safe_dump(config, sort_keys=False))

    def command(self, *targets: str, configfile: dict | None = None, **config) -> list[str]:
        """The snakemake command line for this study (targets before --config)."""
        values = {
            "dataset": "data.csv",
            "model_config": "model.yaml",
            "experiment_name": "exp",
            "output_directory": "results",
            # The report costs a job of ~3 s (matplotlib, fANOVA) per run; the studies of
            # tests/test_report_workflow.py draw it, the others leave it out.
            "report": "none",
        }
        values.update(config)
        command = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile")]
        command += ["--cores", "2", *targets]
        if configfile is not None:  # values that do not fit on a command line (lists)
            (self.root / "study.yaml").write_text(yaml.safe_dump(configfile))
            command += ["--configfile", "study.yaml"]
        return [*command, "--config", *(f"{key}={value}" for key, value in values.items())]

    def run(
        self,
        *targets: str,
        check: bool = True,
        configfile: dict | None = None,
        env: dict | None = None,
        **config,
    ) -> subprocess.CompletedProcess:
        result = subprocess.run(
            self.command(*targets, configfile=configfile, **config),
            cwd=self.root,
            capture_output=True,
            text=True,
            env=ENV if env is None else env,
            timeout=600,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"snakemake failed:\n{result.stdout}\n{result.stderr}")
        return result

    def path(self, *parts: str, output_directory: str = "results", name: str = "exp") -> Path:
        return self.root / output_directory / name / Path(*parts)


def run_together(*calls, at_once: int | None = None) -> list:
    """Call independent no-argument functions side by side (`at_once` at a time, all by
    default), each in a thread of its own; their results in order. The first exception
    is raised once all calls have ended.

    For end-to-end runs that share nothing (each its own study folder): a small study's
    snakemake run leaves a core idle much of the time (its jobs are short processes
    started one after another): two runs at once took 12-14 s of wall time where one
    took 10 s and the two one after the other 20 s."""
    with ThreadPoolExecutor(max_workers=at_once or len(calls)) as pool:
        futures = [pool.submit(call) for call in calls]
    return [future.result() for future in futures]


class StudyRuns(dict):
    """name -> (study, result) of run_studies; a run that failed raises its error in the
    test that takes it (and only there)."""

    def __getitem__(self, name: str):
        value = super().__getitem__(name)
        if isinstance(value, BaseException):
            raise value
        return value


def run_studies(runs: dict, at_once: int = 3) -> StudyRuns:
    """One snakemake run of each study, `at_once` at a time (see run_together).

    runs: name -> (study, targets, options of Study.run); returns name -> (study, result)."""

    def run(study: Study, targets: tuple, options: dict):
        try:
            return study, study.run(*targets, **options)
        except Exception as error:  # snakemake failed (with check, the default), timed out
            return error

    results = run_together(*(lambda r=r: run(*r) for r in runs.values()), at_once=at_once)
    return StudyRuns(zip(runs, results, strict=True))


def corpus_params(corpus: Path, predicate) -> list:
    """One pytest param per case folder of a corpus whose expected.yaml passes `predicate`;
    a case with `xfail: reason` is a strict xfail."""
    params = []
    for folder in sorted(path for path in corpus.iterdir() if path.is_dir()):
        expected = yaml.safe_load((folder / "expected.yaml").read_text(encoding="utf-8"))
        if not predicate(expected):
            continue
        marks = []
        if expected.get("xfail"):
            marks.append(pytest.mark.xfail(strict=True, reason=expected["xfail"]))
        params.append(pytest.param(folder.name, marks=marks, id=folder.name))
    return params


def prepare_study_data(study, prep_id: str, out_dir: Path) -> Path:
    """Run the prepare step of a parse-time study (what rule prepare does) into out_dir."""
    from snaketune.backends import get_engine
    from snaketune.prepare import run_prepare

    settings = study.settings
    run_prepare(
        data_files={key: str(path) for key, path in settings.data_files.items()},
        data_format=settings.data_format,
        config=study.preps[prep_id],
        engine=get_engine(settings.engine),
        seed=settings.random_seed,
        out_dir=str(out_dir),
        hyperopt_split=study.hyperopt["split"],
    )
    return out_dir


@pytest.fixture
def study_factory(tmp_path):
    def factory(config: dict | None = None, name: str = "study", rows: int = 160) -> Study:
        return Study(tmp_path / name, config or model_config(), rows=rows)

    return factory


@pytest.fixture(scope="session")
def shared_study_factory(tmp_path_factory):
    """As study_factory, for module- and session-scoped fixtures: a study run once whose
    results several tests read (each folder is new, under the session's temp folder)."""

    def factory(config: dict | None = None, name: str = "study", rows: int = 160) -> Study:
        return Study(tmp_path_factory.mktemp(name) / "study", config or model_config(), rows=rows)

    return factory
