"""Study config and hyperopt section: defaults, path resolution and messages."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from snaketune import config
from snaketune.errors import ConfigError, NotSupportedError


@pytest.fixture
def files(tmp_path):
    (tmp_path / "data.csv").write_text("a,b\n1,2\n")
    (tmp_path / "model.yaml").write_text("input_features: []\n")
    return tmp_path


def study(files: Path, **values) -> config.StudyConfig:
    base = {"dataset": "data.csv", "model_config": "model.yaml"}
    base.update(values)
    return config.load_study_config(config.merge_study_layers({}, files, base, files))


def test_defaults_and_absolute_paths(files):
    settings = study(files)
    assert settings.experiment_name == "hyperopt"
    assert settings.random_seed == 42 and settings.engine == "sklearn"
    assert settings.data_files == {"dataset": files / "data.csv"}
    assert settings.study_dir == files / "results" / "hyperopt"


def test_bundled_paths_resolve_against_the_clone_and_outputs_against_cwd(tmp_path, files):
    clone, cwd = files, tmp_path / "elsewhere"
    bundled = {"dataset": "data.csv", "model_config": "model.yaml", "output_directory": "out"}
    merged = config.merge_study_layers(bundled, clone, {}, cwd)
    assert merged["dataset"] == str(clone / "data.csv")
    assert merged["output_directory"] == str(cwd / "out")


def test_user_data_keys_replace_the_bundled_group(files):
    bundled = {"dataset": "data.csv", "model_config": "model.yaml"}
    merged = config.merge_study_layers(bundled, files, {"training_set": "data.csv"}, files)
    assert "dataset" not in merged and merged["training_set"] == str(files / "data.csv")


@pytest.mark.parametrize("name", ["../x", "a/b", "/abs", ".", ".."])
def test_experiment_name_must_be_one_segment(files, name):
    with pytest.raises(ConfigError, match="experiment_name: .* one plain path segment"):
        study(files, experiment_name=name)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"random_sed": 1}, "unknown key 'random_sed'; allowed keys: .*random_seed"),
        ({"random_seed": "x"}, "random_seed: 'x' must be of type integer"),
        ({"retries": -1}, "retries: -1 must be at least 0"),
        ({"trial_timeout_s": "1h"}, "trial_timeout_s: '1h' must be of type integer or null"),
        ({"data_format": "xlsx"}, "data_format: 'xlsx' is not allowed; allowed: csv, tsv"),
        ({"dataset": "missing.csv"}, "dataset: file .*missing.csv' does not exist"),
        ({"engine": "keras"}, "engine: 'keras' is not an engine; allowed: sklearn, torch"),
        ({"engine": "command"}, "give a command exactly when engine is 'command'"),
        ({"command": ["python"]}, "give a command exactly when engine is 'command'"),
        ({"engine": "command", "command": "python"}, "command: 'python' must be of type array"),
        ({"training_set": "data.csv"}, "either 'dataset' or 'training_set'"),
    ],
)
def test_study_config_errors(files, values, message):
    with pytest.raises(ConfigError, match=message):
        study(files, **values)


def test_missing_model_config_is_named(files):
    with pytest.raises(ConfigError, match="model_config.* is required"):
        config.load_study_config({"dataset": str(files / "data.csv")})


def test_malformed_yaml_names_the_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("input_features:\n  - name: a\n   type: number\n")
    with pytest.raises(ConfigError, match=r"not valid YAML at line 3"):
        config.read_model_config(path)


MODEL = {
    "input_features": [{"name": "x", "type": "number"}],
    "output_features": [{"name": "y", "type": "category"}],
}
PARAMS = {"trainer.learning_rate": {"space": "uniform", "lower": 0.001, "upper": 0.1}}


def hyperopt(**values):
    raw = {"parameters": PARAMS, **values}
    return config.normalize_hyperopt(raw, MODEL, seed=42, notices=[])


def test_hyperopt_defaults():
    section = hyperopt()
    assert section["goal"] == "minimize" and section["metric"] == "loss"
    assert section["output_feature"] == "combined" and section["split"] == "validation"
    assert section["search_alg"] == {
        "type": "variant_generator",
        "sampler": "variant",
        "random_state": 42,
        "points_to_evaluate": [],
    }
    assert section["executor"]["num_samples"] == 10
    assert section["executor"]["cpu_resources_per_trial"] == 1


def test_split_train_is_training():
    assert hyperopt(split="train")["split"] == "training"


def test_runtime_keys_give_notices():
    notices = []
    config.normalize_hyperopt(
        {"parameters": PARAMS, "executor": {"type": "ray", "kubernetes_namespace": None}},
        MODEL,
        seed=1,
        notices=notices,
    )
    assert any("executor.type" in n and "does not apply" in n for n in notices)


@pytest.mark.parametrize(
    ("values", "error", "message"),
    [
        ({"goal": "minimise"}, ConfigError, "hyperopt.goal: 'minimise' is not allowed"),
        ({"split": "dev"}, ConfigError, "hyperopt.split: 'dev' is not a split"),
        ({"output_feature": "nope"}, ConfigError, "'nope' is not an output feature; allowed: y"),
        ({"metric": "accuracy"}, ConfigError, "combined"),
        ({"output_feature": "y", "metric": "r2"}, ConfigError, "r2"),
        ({"validation_metric": 1}, ConfigError, "hyperopt.validation_metric: unknown key"),
        ({"search_alg": {"type": "hebo"}}, NotSupportedError, "'hebo' .*has no equivalent"),
        ({"search_alg": {"type": "nope"}}, ConfigError, "'nope' is not a search algorithm"),
        (
            {"search_alg": {"type": "random", "points_to_evaluate": [{"nope": 1}]}},
            ConfigError,
            r"points_to_evaluate\[0\]\.nope: not a parameter",
        ),
        ({"executor": {"num_samples": 0}}, ConfigError, "num_samples"),
        ({"executor": {"gpu_resources_per_trial": 0.5}}, ConfigError, "gpu_resources_per_trial"),
        ({"executor": {"max_concurrent_trials": 0}}, ConfigError, "max_concurrent_trials"),
        ({"executor": {"sampler": "tpe"}}, ConfigError, "executor.sampler: unknown key"),
        ({"executor": {"type": "dask"}}, ConfigError, "'dask' is not an executor; allowed: ray"),
        ({"executor": {"scheduler": {"type": "pbt"}}}, NotSupportedError, "'pbt' changes"),
        ({"executor": {"scheduler": {"type": "asha", "brackets": 0}}}, ConfigError, "brackets"),
        ({"executor": {"time_budget_s": 0}}, ConfigError, "time_budget_s: 0 must be an integer"),
    ],
)
def test_hyperopt_errors(values, error, message):
    with pytest.raises(error, match=message):
        hyperopt(**values)


def test_optuna_executor_chooses_the_sampler_and_its_pruner_the_scheduler():
    # Regression (issue 7.5): it was a Ray key that "does not apply", then random search ran.
    section = hyperopt(executor={"num_samples": 4, "type": "optuna", "sampler": "cmaes"})
    assert section["search_alg"]["sampler"] == "cmaes"
    pruned = hyperopt(executor={"num_samples": 4, "type": "optuna", "pruner": "median"})
    assert pruned["executor"]["scheduler"]["type"] == "median_stopping_rule"
    with pytest.raises(ConfigError, match="executor.pruner: 'lazy' is not a pruner"):
        hyperopt(executor={"num_samples": 4, "type": "optuna", "pruner": "lazy"})
    with pytest.raises(ConfigError, match="search_alg: .* together with executor.type optuna"):
        hyperopt(executor={"type": "optuna"}, search_alg={"type": "random"})


@pytest.mark.parametrize("kind", ["serial", "parallel", "fiber"])
def test_legacy_executor_types_are_upgraded_to_ray(kind):
    notices = []
    config.normalize_hyperopt(
        {"parameters": PARAMS, "executor": {"type": kind}}, MODEL, seed=1, notices=notices
    )
    assert notices == [
        f"upgraded legacy hyperopt.executor.type '{kind}' to 'ray', as Ludwig does; "
        "trials run as Snakemake jobs."
    ]


def test_keys_ludwig_drops_are_accepted_with_a_notice():
    notices = []
    params = {
        "trainer.learning_rate": {"space": "loguniform", "lower": 0.001, "upper": 0.1, "q": 0.01},
        "combiner.output_size": {"space": "randint", "lower": 8, "upper": 64, "type": "int"},
        "trainer.epochs": {"space": "qrandint", "lower": 2, "upper": 8, "q": 2},
    }
    section = config.normalize_hyperopt(
        {"parameters": params, "validation_metrics": "loss"}, MODEL, seed=1, notices=notices
    )
    assert notices == [
        "hyperopt.validation_metrics ('loss'): Ludwig ignores this deprecated key, and so does "
        "snaketune; trials are scored by hyperopt.metric.",
        "hyperopt.parameters.trainer.learning_rate.q (0.01): Ludwig ignores 'q' for space "
        "'loguniform', and so does snaketune.",
        "hyperopt.parameters.combiner.output_size.type ('int'): Ludwig ignores 'type' for space "
        "'randint', and so does snaketune.",
    ]
    assert "q" not in section["parameters"]["trainer.learning_rate"]
    assert "type" not in section["parameters"]["combiner.output_size"]
    assert section["parameters"]["trainer.epochs"]["q"] == 2  # qrandint uses its q
    with pytest.raises(ConfigError, match="unknown key"):
        hyperopt(
            parameters={"trainer.epochs": {"space": "randint", "lower": 1, "upper": 3, "x": 1}}
        )


def test_missing_hyperopt_and_parameters():
    with pytest.raises(ConfigError, match="no hyperopt section"):
        config.normalize_hyperopt(None, MODEL, seed=1, notices=[])
    with pytest.raises(ConfigError, match="hyperopt.parameters: .*non-empty mapping"):
        config.normalize_hyperopt({"goal": "minimize"}, MODEL, seed=1, notices=[])


def test_model_config_runtime_keys_and_unknown_sections(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text(
        yaml.safe_dump({**MODEL, "ludwig_version": "0.17", "hyperopt": {"parameters": PARAMS}})
    )
    loaded = config.load_model_config(path, seed=1)
    assert "ludwig_version" not in loaded.model
    assert any("ludwig_version" in n for n in loaded.notices)
    path.write_text(yaml.safe_dump({**MODEL, "trainers": {}, "hyperopt": {"parameters": PARAMS}}))
    with pytest.raises(ConfigError, match="unknown top-level key 'trainers'"):
        config.load_model_config(path, seed=1)


# --------------------------------------------------------------------------- hostile input


def test_exponent_floats_without_a_dot_are_numbers(tmp_path):
    # YAML 1.1 (PyYAML) reads 1e-4 as a string; Ludwig's docs write bounds that way.
    path = tmp_path / "m.yaml"
    text = yaml.safe_dump({**MODEL, "trainer": {"learning_rate": 0.5}})
    text = text.replace("learning_rate: 0.5", "learning_rate: 1e-3")
    text += (
        "hyperopt:\n  parameters:\n    trainer.learning_rate:\n"
        "      {space: loguniform, lower: 1e-4, upper: 1E-1}\n"
    )
    loaded = config.load_model_config(path_with(path, text), seed=1)
    assert loaded.model["trainer"]["learning_rate"] == 0.001
    space = loaded.hyperopt["parameters"]["trainer.learning_rate"]
    assert (space["lower"], space["upper"]) == (0.0001, 0.1)
    assert config.read_model_config(path_with(path, "a: 1e5\nb: '1e5'\nc: 1_000\n")) == {
        "a": 100000.0,
        "b": "1e5",
        "c": 1000,
    }


def path_with(path, text):
    path.write_text(text)
    return path


def test_shared_values_are_measured_once_and_bounded():
    part = list(range(10))
    for _ in range(4):
        part = [part] * 10  # 10**5 leaves, 5 distinct lists
    with pytest.raises(ConfigError, match="expands to more than 100000 values"):
        config.check_bounded({"x": part}, "study config")
    config.check_bounded({"x": [[1, 2]] * 1000}, "study config")  # shared, but small
    loop = []
    loop.append(loop)
    with pytest.raises(ConfigError, match="refers to the mapping or list that contains it"):
        config.check_bounded({"x": loop}, "study config")
    with pytest.raises(ConfigError, match=r"^study config: the config expands"):
        config.merge_study_layers({}, Path("/"), {"command": part}, Path("/"))


def test_messages_never_echo_a_value_whole():
    from snaketune.errors import MAX_MESSAGE_CHARS, show

    huge = [list(range(1000))] * 1000
    assert len(show(huge)) <= 200
    assert show([1, 2, 3]) == "[1, 2, 3]" and show("x" * 500).endswith("(502 characters)")
    message = str(ConfigError("a" * 10_000 + " allowed: b, c."))
    assert len(message) < MAX_MESSAGE_CHARS + 100 and message.endswith("allowed: b, c.")
    assert "characters left out" in message


def test_a_named_pipe_is_not_a_data_file(tmp_path):
    fifo = tmp_path / "data.csv"
    os.mkfifo(fifo)
    with pytest.raises(ConfigError, match=r"^dataset: '.*data\.csv' is a named pipe \(FIFO\)"):
        config.check_path_kind(fifo, "dataset", "a data file")
