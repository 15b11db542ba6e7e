"""Load and validate the study config and the model config.

Everything here runs at parse time: a bad config stops the workflow before any
job starts and before anything is written. Each check raises a ConfigError whose
message names the key path, the value and what is allowed.
"""

from __future__ import annotations

import copy
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from snaketune import legacy, metrics, spaces
from snaketune.backends import ENGINE_MODULES
from snaketune.backends.tables import TRAINED_SECTIONS
from snaketune.errors import ConfigError, show
from snaketune.search import variant
from snaketune.search.options import OPTUNA_EXECUTOR_KEYS, normalize_search_alg
from snaketune.search.plan import check_search
from snaketune.search.schedulers import normalize_scheduler

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "config" / "schema.yaml"
DATA_KEYS = ("dataset", "training_set", "validation_set", "test_set")
PATH_KEYS = (*DATA_KEYS, "model_config", "output_directory")
ENGINES = tuple(ENGINE_MODULES)

MODEL_SECTIONS = (*TRAINED_SECTIONS, "defaults", "hyperopt")
# Keys of Ludwig configs that concern Ray or Ludwig's own runtime: accepted, with a notice.
RUNTIME_KEYS = ("ludwig_version", "backend")

HYPEROPT_KEYS = (
    "parameters",
    "goal",
    "metric",
    "output_feature",
    "split",
    "eval_split",
    "search_alg",
    "executor",
)
SPLITS = {"training": "training", "train": "training", "validation": "validation", "test": "test"}
EXECUTOR_DEFAULTS = {
    "num_samples": None,
    "max_concurrent_trials": None,
    "cpu_resources_per_trial": 1,
    "gpu_resources_per_trial": 0,
    "time_budget_s": None,
}
EXECUTOR_RUNTIME_KEYS = ("type", "kubernetes_namespace", "trial_driver_resources")
# Bounds on what a config may hold: far above any config a person writes, far below what
# hangs parsing (YAML aliases repeat what they point to: ten nested lists of ten aliases
# are 10**10 values).
MAX_CONFIG_VALUES = 100_000
MAX_CONFIG_DEPTH = 64
# Trials per study: each is a folder of files and a few Snakemake jobs.
MAX_TRIALS = 100_000
# The longest name a file system takes for one path component, and for a whole path.
NAME_MAX = 255
PATH_MAX = 4096
# What the study folder adds below itself at most (e.g. logs/sample/<trial>_<digest>.log,
# trials/<trial>/sampled/<digest>/parameters.json, and temp-file suffixes).
STUDY_PATH_SUFFIX = 120
# Executor types of older Ludwig configs, which Ludwig's upgrade turns into its Ray executor.
LEGACY_EXECUTOR_TYPES = ("serial", "parallel", "fiber")
# Keys Ludwig drops from the hyperopt section with a deprecation warning (its own tests and
# examples still write them): accepted with a notice, since they change nothing there either.
LUDWIG_IGNORED_HYPEROPT_KEYS = ("validation_metrics",)


@dataclass
class StudyConfig:
    """The validated study config, with every path made absolute."""

    experiment_name: str
    output_directory: Path
    data_files: dict[str, Path]
    data_format: str | None
    model_config_path: Path
    random_seed: int
    engine: str
    command: list[str] | None = None
    trial_timeout_s: int | None = None
    trial_memory_mb: int | None = None
    retries: int = 1
    max_failed_trials: int | None = None
    trials_per_job: int = 1
    report: str = "png"

    @property
    def study_dir(self) -> Path:
        return self.output_directory / self.experiment_name


@dataclass
class ModelConfig:
    """The upgraded model config and its normalized hyperopt section."""

    model: dict[str, Any]
    hyperopt: dict[str, Any]
    notices: list[str] = field(default_factory=list)


def _flow_yaml(value: Any) -> str:
    if isinstance(value, str):
        return repr(value)
    return yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("...").strip()


def _fmt(value: Any) -> str:
    return show(value, _flow_yaml)


def _containers(node: Any) -> list:
    children = node.values() if isinstance(node, dict) else node
    return [c for c in children if isinstance(c, dict | list)]


def check_bounded(value: Any, where: str) -> None:
    """Refuse a value that expands to more than MAX_CONFIG_VALUES values, nests deeper
    than MAX_CONFIG_DEPTH, or contains itself (a YAML alias inside its own anchor).

    Shared parts (aliases) are measured once, so the check is linear in what the file
    holds, not in what it expands to.
    """
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[Any, bool]] = [(value, False)]
    while stack:
        node, finished = stack.pop()
        if not isinstance(node, dict | list):
            continue
        key = id(node)
        if finished:
            on_path.discard(key)
            children = _containers(node)
            parts = len(node) * (2 if isinstance(node, dict) else 1)
            size[key] = 1 + parts + sum(size[id(c)] for c in children)
            depth[key] = 1 + max((depth[id(c)] for c in children), default=0)
            if size[key] > MAX_CONFIG_VALUES:
                raise ConfigError(
                    f"{where}: the config expands to more than {MAX_CONFIG_VALUES} values "
                    "(YAML aliases such as *name repeat what their anchor holds); write the "
                    "values out, or use fewer aliases."
                )
            if depth[key] > MAX_CONFIG_DEPTH:
                raise ConfigError(
                    f"{where}: values are nested more than {MAX_CONFIG_DEPTH} levels deep; a "
                    "Ludwig config needs a handful."
                )
            continue
        if key in size:
            continue
        if key in on_path:
            raise ConfigError(
                f"{where}: a YAML alias refers to the mapping or list that contains it, so "
                "the config would be infinite; remove that alias."
            )
        on_path.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in _containers(node) if id(child) not in size)


def check_path_kind(path: Path, key: str, expected: str) -> None:
    """A path the study reads must be a regular file; say what it is otherwise."""
    if path.is_file():
        return
    if not path.exists():
        raise ConfigError(f"{key}: file {str(path)!r} does not exist.")
    if path.is_dir():
        kind = "a directory"
    elif path.is_fifo():
        kind = "a named pipe (FIFO)"
    elif path.is_char_device() or path.is_block_device():
        kind = "a device"
    elif path.is_socket():
        kind = "a socket"
    else:
        kind = "not a regular file"
    raise ConfigError(f"{key}: {str(path)!r} is {kind}; give {expected}.")


def _check_name_lengths(name: str, output_directory: Path) -> None:
    """File names the study will create must fit the file system's limits."""
    size = len(name.encode())
    if size > NAME_MAX - 30:  # room for temp-file prefixes and suffixes
        raise ConfigError(
            f"experiment_name: the name ({name[:24]!r}...) is {size} bytes long; it may have "
            f"at most {NAME_MAX - 30} (file systems allow {NAME_MAX} per folder name, and "
            "temporary files add to it)."
        )
    longest = len(str(output_directory / name).encode()) + STUDY_PATH_SUFFIX
    if longest > PATH_MAX:
        raise ConfigError(
            f"output_directory: the study folder's path is {longest - STUDY_PATH_SUFFIX} bytes "
            f"long, and files below it would exceed the {PATH_MAX}-byte limit of a path; "
            "choose a shorter output_directory or experiment_name."
        )


def _schema() -> dict:
    with open(SCHEMA_PATH, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def _schema_message(error: jsonschema.ValidationError, schema: dict) -> str:
    allowed = sorted(schema["properties"])
    if error.validator == "additionalProperties":
        extra = sorted(set(error.instance) - set(schema["properties"]))
        return f"study config: unknown key {extra[0]!r}; allowed keys: {', '.join(allowed)}."
    key = ".".join(str(p) for p in error.absolute_path) or "study config"
    spec = schema["properties"].get(key, {})
    if error.validator == "required":
        return (
            f"study config: {error.message.split(' is a')[0]} is required "
            "(the Ludwig model config with its hyperopt section)."
        )
    if error.validator == "pattern" and key == "experiment_name":
        return (
            f"experiment_name: {error.instance!r} is not one plain path segment; use letters, "
            "digits, '.', '_' and '-' only (no '/', not '.' or '..')."
        )
    if error.validator == "enum":
        allowed_values = ", ".join("null" if v is None else str(v) for v in spec["enum"])
        return f"{key}: {_fmt(error.instance)} is not allowed; allowed: {allowed_values}."
    if error.validator == "type":
        kinds = error.validator_value
        kinds = " or ".join(kinds) if isinstance(kinds, list) else kinds
        return f"{key}: {_fmt(error.instance)} must be of type {kinds}."
    if error.validator == "minimum":
        return f"{key}: {_fmt(error.instance)} must be at least {error.validator_value}."
    return f"{key}: {error.message}."


def _validate_against_schema(values: dict) -> dict:
    schema = _schema()
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(values), key=lambda e: list(e.absolute_path))
    if errors:
        raise ConfigError(_schema_message(errors[0], schema))
    filled = dict(values)
    for key, spec in schema["properties"].items():
        if key not in filled and "default" in spec:
            filled[key] = spec["default"]
    return filled


def merge_study_layers(bundled: dict, bundled_dir: Path, user: dict, cwd: Path) -> dict:
    """Overlay the user's --config/--configfile values on the bundled study config.

    Relative input paths resolve against the folder of the layer that set them: the
    clone for the bundled config, the working directory for the user's values.
    output_directory always resolves against the working directory, so results land
    where snakemake runs. The data keys form one group: a user who names any of them
    replaces all bundled ones.
    """
    layers = []
    for values, base in ((bundled or {}), bundled_dir), ((user or {}), cwd):
        check_bounded(values, "study config")
        if not isinstance(values, dict):
            raise ConfigError(
                f"study config: expected a mapping of keys to values, got {_fmt(values)}."
            )
        resolved = {}
        for key, value in values.items():
            if key in PATH_KEYS and isinstance(value, str) and value:
                root = cwd if key == "output_directory" else base
                value = os.path.expanduser(value)
                value = value if os.path.isabs(value) else str((root / value).resolve())
            resolved[key] = value
        layers.append(resolved)
    merged = dict(layers[0])
    if any(key in layers[1] for key in DATA_KEYS):
        for key in DATA_KEYS:
            merged.pop(key, None)
    merged.update(layers[1])
    if "output_directory" not in merged:
        merged["output_directory"] = str(
            cwd / _schema()["properties"]["output_directory"]["default"]
        )
    return merged


def load_study_config(values: dict) -> StudyConfig:
    """Validate the merged study config (paths already absolute)."""
    values = _validate_against_schema(values)
    name = values["experiment_name"]
    if name in (".", ".."):
        raise ConfigError(
            f"experiment_name: {name!r} is not one plain path segment; use letters, digits, "
            "'.', '_' and '-' only (no '/', not '.' or '..')."
        )
    engine = values["engine"]
    if engine not in ENGINES:
        raise ConfigError(f"engine: {engine!r} is not an engine; allowed: {', '.join(ENGINES)}.")
    command = values.get("command")
    if (command is not None) != (engine == "command"):
        raise ConfigError(
            "command: give a command exactly when engine is 'command' (the program that "
            f"trains one trial); got engine {engine!r} and command {_fmt(command)}."
        )
    if "dataset" in values:
        split_keys = [k for k in DATA_KEYS[1:] if k in values]
        if split_keys:
            raise ConfigError(
                f"study config: give either 'dataset' or 'training_set' (with optional "
                f"'validation_set' and 'test_set'), not both; found dataset and "
                f"{', '.join(split_keys)}."
            )
        data_files = {"dataset": Path(values["dataset"])}
    elif "training_set" in values:
        data_files = {k: Path(values[k]) for k in DATA_KEYS[1:] if k in values}
    else:
        raise ConfigError(
            "study config: no data given; set 'dataset' (one file, split per "
            "preprocessing.split) or 'training_set' with optional 'validation_set' and 'test_set'."
        )
    for key, path in data_files.items():
        check_path_kind(path, key, "a data file (csv, tsv, parquet, json or jsonl)")
    model_config_path = Path(values["model_config"])
    check_path_kind(model_config_path, "model_config", "a YAML file with the model config")
    _check_name_lengths(name, Path(values["output_directory"]))
    return StudyConfig(
        experiment_name=name,
        output_directory=Path(values["output_directory"]),
        data_files=data_files,
        data_format=values["data_format"],
        model_config_path=model_config_path,
        random_seed=values["random_seed"],
        engine=engine,
        command=command,
        trial_timeout_s=values["trial_timeout_s"],
        trial_memory_mb=values["trial_memory_mb"],
        retries=values["retries"],
        max_failed_trials=values["max_failed_trials"],
        trials_per_job=values["trials_per_job"],
        report=values["report"],
    )


class _UniqueKeyLoader(yaml.SafeLoader):
    """Safe YAML that refuses a key given twice in one mapping (YAML lets the last win),
    and reads `1e-4` as a number.

    PyYAML follows YAML 1.1, where a float needs a dot (`1.0e-4`), so `1e-4` (as Ludwig's
    docs write bounds) would be the string '1e-4'; YAML 1.2, JSON and Python read it as a
    number, and so does this loader.
    """

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} appears twice in one mapping", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


def read_model_config(path: Path) -> dict:
    """Read YAML safely; a syntax error names the file and the line.

    The result is bounded (`check_bounded`), so nothing later can hang on it.
    """
    try:
        with open(path, encoding="utf-8") as handle:
            raw = yaml.load(handle, Loader=_UniqueKeyLoader)  # noqa: S506 (a SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(
            f"model_config: {str(path)!r} is not valid YAML{where}: {problem}."
        ) from None
    except UnicodeDecodeError:
        raise ConfigError(f"model_config: {str(path)!r} is not UTF-8 text.") from None
    except RecursionError:
        raise ConfigError(
            f"model_config: {str(path)!r} nests values more than {MAX_CONFIG_DEPTH} levels "
            "deep; a Ludwig config needs a handful."
        ) from None
    check_bounded(raw, "model_config")
    if not isinstance(raw, dict):
        raise ConfigError(
            f"model_config: {str(path)!r} must hold a mapping with input_features, "
            f"output_features and hyperopt; got {_fmt(raw)}."
        )
    return raw


def _check_int(path: str, value: Any, minimum: int, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        extra = " or null" if allow_none else ""
        raise ConfigError(f"{path}: {_fmt(value)} must be an integer >= {minimum}{extra}.")


def _check_executor_type(kind: Any, notices: list[str]) -> None:
    """Ludwig's Ray executor (and the legacy names it upgrades) run here as Snakemake jobs.

    Ludwig's Optuna executor names a sampler, which search/options.py reads as the
    study's search_alg; its trials run as Snakemake jobs too.
    """
    if kind is None or kind in ("ray", "optuna"):
        return
    if kind in LEGACY_EXECUTOR_TYPES:
        notices.append(
            f"upgraded legacy hyperopt.executor.type {kind!r} to 'ray', as Ludwig does; "
            "trials run as Snakemake jobs."
        )
        return
    raise ConfigError(
        f"hyperopt.executor.type: {_fmt(kind)} is not an executor; allowed: ray (trials run as "
        f"Snakemake jobs), optuna (its sampler chooses the trials), or the legacy "
        f"{', '.join(LEGACY_EXECUTOR_TYPES)}."
    )


def _normalize_executor(executor: Any, notices: list[str]) -> dict:
    if executor is None:
        executor = {}
    if not isinstance(executor, dict):
        raise ConfigError(f"hyperopt.executor: {_fmt(executor)} must be a mapping.")
    _check_executor_type(executor.get("type"), notices)
    allowed = (*EXECUTOR_DEFAULTS, *EXECUTOR_RUNTIME_KEYS, "scheduler")
    if executor.get("type") == "optuna":  # read by search/options.py
        allowed = (*allowed, *OPTUNA_EXECUTOR_KEYS)
    for key in executor:
        if key not in allowed:
            raise ConfigError(
                f"hyperopt.executor.{key}: unknown key; allowed: {', '.join(allowed)}."
            )
    out = {**EXECUTOR_DEFAULTS, **{k: v for k, v in executor.items() if k in EXECUTOR_DEFAULTS}}
    for key in EXECUTOR_RUNTIME_KEYS:
        if key in executor and not (
            key == "type" and executor[key] in (*LEGACY_EXECUTOR_TYPES, "optuna")
        ):
            notices.append(
                f"hyperopt.executor.{key} ({_fmt(executor[key])}) concerns Ray and does not apply "
                "to snaketune; trials run as Snakemake jobs."
            )
    scheduler = executor.get("scheduler")
    if executor.get("type") == "optuna" and executor.get("pruner") is not None:
        if scheduler is not None:
            raise ConfigError(
                "hyperopt.executor.pruner: given together with executor.scheduler; give one."
            )
        # optuna's pruners take the full budget from the trial (trainer.epochs)
        scheduler = {"type": _pruner_scheduler(executor["pruner"]), "max_t": None}
    out["scheduler"] = normalize_scheduler(scheduler, notices)
    _check_int("hyperopt.executor.num_samples", out["num_samples"], 1, allow_none=True)
    _check_int("hyperopt.executor.cpu_resources_per_trial", out["cpu_resources_per_trial"], 1)
    _check_int("hyperopt.executor.gpu_resources_per_trial", out["gpu_resources_per_trial"], 0)
    mct = out["max_concurrent_trials"]
    if mct == "auto":
        out["max_concurrent_trials"] = None
    else:
        _check_int("hyperopt.executor.max_concurrent_trials", mct, 1, allow_none=True)
    _check_int("hyperopt.executor.time_budget_s", out["time_budget_s"], 1, allow_none=True)
    return out


# Optuna's pruners (Ludwig's Optuna executor) as the schedulers that do the same here.
OPTUNA_PRUNERS = {
    "median": "median_stopping_rule",
    "hyperband": "hyperband",
    "sha": "async_hyperband",
    "successive_halving": "async_hyperband",
}


def _pruner_scheduler(pruner: Any) -> str:
    if pruner not in OPTUNA_PRUNERS:
        raise ConfigError(
            f"hyperopt.executor.pruner: {_fmt(pruner)} is not a pruner here; allowed: "
            f"{', '.join(OPTUNA_PRUNERS)}."
        )
    return OPTUNA_PRUNERS[pruner]


def _check_trial_count(parameters: dict, num_samples: int) -> None:
    trials = variant.count_trials(parameters, num_samples)
    if trials > MAX_TRIALS:
        points = trials // num_samples
        raise ConfigError(
            f"hyperopt.executor.num_samples: {num_samples} x {points} grid point(s) gives "
            f"{trials} trials, more than the {MAX_TRIALS} a study may have (each trial is "
            "a folder of files and a few Snakemake jobs); lower num_samples, narrow the "
            "grid, or split the search into several studies."
        )


def normalize_hyperopt(raw: Any, model: dict, seed: int, notices: list[str]) -> dict:
    """Fill defaults and check every key of the hyperopt section except parameter paths."""
    if raw is None:
        raise ConfigError(
            "hyperopt: the model config has no hyperopt section; add one with at least "
            "'parameters' (dotted names mapped to search spaces)."
        )
    if not isinstance(raw, dict):
        raise ConfigError(f"hyperopt: {_fmt(raw)} must be a mapping.")
    for key in raw:
        if key in LUDWIG_IGNORED_HYPEROPT_KEYS:
            notices.append(
                f"hyperopt.{key} ({_fmt(raw[key])}): Ludwig ignores this deprecated key, and so "
                "does snaketune; trials are scored by hyperopt.metric."
            )
        elif key not in HYPEROPT_KEYS:
            raise ConfigError(f"hyperopt.{key}: unknown key; allowed: {', '.join(HYPEROPT_KEYS)}.")
    parameters = raw.get("parameters")
    if not isinstance(parameters, dict) or not parameters:
        raise ConfigError(
            f"hyperopt.parameters: {_fmt(parameters)} must be a non-empty mapping of dotted "
            "parameter names to search spaces (e.g. trainer.learning_rate: {space: loguniform, "
            "lower: 0.0001, upper: 0.1})."
        )
    goal = raw.get("goal", "minimize")
    if goal not in ("minimize", "maximize"):
        raise ConfigError(
            f"hyperopt.goal: {_fmt(goal)} is not allowed; allowed: minimize, maximize."
        )
    split = raw.get("split", "validation")
    if split not in SPLITS:
        raise ConfigError(
            f"hyperopt.split: {_fmt(split)} is not a split; allowed: training (or train), "
            "validation, test."
        )
    if "eval_split" in raw:
        notices.append(
            "hyperopt.eval_split has no effect (as in Ludwig); scores use hyperopt.split."
        )
    outputs = {
        f.get("name"): f.get("type")
        for f in model.get("output_features") or []
        if isinstance(f, dict)
    }
    output_feature = raw.get("output_feature", "combined")
    if output_feature != "combined" and output_feature not in outputs:
        raise ConfigError(
            f"hyperopt.output_feature: {_fmt(output_feature)} is not an output feature; allowed: "
            f"{', '.join([*map(str, outputs), 'combined'])}."
        )
    metric = raw.get("metric", "loss")
    if not isinstance(metric, str):
        raise ConfigError(
            f"hyperopt.metric: {_fmt(metric)} must be a metric name such as loss or accuracy."
        )
    output_type = outputs.get(output_feature)
    if output_feature == "combined" or output_type in metrics.OUTPUT_TYPES:
        # other output types are reported by the engine's validation, with their path
        metrics.check_metric(metric, output_feature, output_type)
    checked = {}
    for name, spec in parameters.items():
        ignored = spaces.ludwig_ignored_keys(spec)
        for key in ignored:
            notices.append(
                f"hyperopt.parameters.{name}.{key} ({_fmt(spec[key])}): Ludwig ignores {key!r} "
                f"for space {spec['space']!r}, and so does snaketune."
            )
        kept = {k: v for k, v in spec.items() if k not in ignored} if ignored else spec
        checked[name] = spaces.validate_space(name, kept)
    executor = _normalize_executor(raw.get("executor"), notices)
    executor["num_samples"] = variant.resolve_num_samples(executor["num_samples"], checked)
    _check_trial_count(checked, executor["num_samples"])
    search_alg = normalize_search_alg(
        raw.get("search_alg"), seed, raw.get("executor") or {}, notices
    )
    hyperopt = {
        "parameters": checked,
        "goal": goal,
        "metric": metric,
        "output_feature": output_feature,
        "split": SPLITS[split],
        "search_alg": search_alg,
        "executor": executor,
    }
    check_search(hyperopt, notices)
    return hyperopt


def load_model_config(path: Path, seed: int) -> ModelConfig:
    """Read, upgrade legacy names and check the sections; parameter paths are checked later."""
    raw = read_model_config(path)
    upgraded, notices = legacy.upgrade_model_config(raw)
    model = copy.deepcopy(upgraded)
    for key in RUNTIME_KEYS:
        if key in model:
            notices.append(
                f"{key} ({_fmt(model.pop(key))}) concerns Ludwig's runtime and does not apply "
                "to snaketune."
            )
    for key in model:
        if key not in MODEL_SECTIONS:
            raise ConfigError(
                f"model_config: unknown top-level key {key!r}; allowed: "
                f"{', '.join(MODEL_SECTIONS + RUNTIME_KEYS)}."
            )
    for key in ("input_features", "output_features"):
        features = model.get(key)
        if not isinstance(features, list) or not features:
            raise ConfigError(f"{key}: {_fmt(features)} must be a non-empty list of features.")
        for i, feature in enumerate(features):
            if (
                not isinstance(feature, dict)
                or not isinstance(feature.get("name"), str)
                or not feature["name"]
            ):
                raise ConfigError(
                    f"{key}[{i}]: {_fmt(feature)} must be a mapping with a 'name' and a 'type'."
                )
            if "type" not in feature:
                raise ConfigError(f"{key}.{feature['name']}: the feature has no 'type'.")
    hyperopt = normalize_hyperopt(model.pop("hyperopt", None), model, seed, notices)
    return ModelConfig(model=model, hyperopt=hyperopt, notices=notices)
