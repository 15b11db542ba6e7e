"""The study as the Snakefile sees it: every trial, and the values known at parse time.

Random, grid and quasi-random search know each trial's parameters up front, so they
are computed here from (seed, trial index, space) and handed to each trial's own
jobs; so are an adaptive search's known points and start (round 0, search/plan.py).
The trials an adaptive sampler suggests later have an id, a round and a seed here;
their values come from their round's job (search/rounds.py). Nothing in this module
writes a file.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from snaketune import config as study_config
from snaketune import data, io, resolve
from snaketune.backends import get_engine
from snaketune.errors import ConfigError, NotSupportedError, clip
from snaketune.layout import StudyLayout
from snaketune.prepare import used_columns
from snaketune.search import variant
from snaketune.search.options import is_adaptive
from snaketune.search.plan import SearchPlan, fixed_parameters, internal_values, make_plan
from snaketune.search.schedulers import (
    check_budget,
    first_budget,
    keeps_state,
    rung_plan,
    with_budget,
)

TRIAL_PREFIX = "trial_"
# Data files up to this size are identified by their content; larger ones by size and
# modification time, to keep parse time short.
HASH_LIMIT_BYTES = 256 * 2**20


def trial_id(index: int) -> str:
    return f"{TRIAL_PREFIX}{index:04d}"


def digest(value: Any, length: int = 10) -> str:
    """A short, stable hash of JSON-able data (key order does not matter)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def data_fingerprint(path: Path) -> str:
    """What identifies a data file's content, independent of its path."""
    stat = path.stat()
    if stat.st_size > HASH_LIMIT_BYTES:
        return f"size={stat.st_size},mtime_ns={stat.st_mtime_ns}"
    sha = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(2**20), b""):
            sha.update(block)
    return f"sha256={sha.hexdigest()}"


@dataclass
class Trial:
    trial_id: str
    index: int
    parameters: dict[str, Any] | None  # None: suggested by its round's job
    seed: int
    config: dict[str, Any] | None
    prep_id: str
    digest: str = ""
    round: int = 0
    sampler: dict[str, Any] | None = None  # an adaptive search's view of the values
    budget: int | None = None  # a scheduler's rung 0: epochs (or boosting rounds)
    keep_state: bool = False  # a scheduler's rung above continues this training

    @property
    def suggested(self) -> bool:
        """Whether the values come from an adaptive round (not known at parse time)."""
        return self.parameters is None

    @property
    def record(self) -> dict[str, Any]:
        """What parameters.json holds: sampled values, seeds and round only."""
        record = {
            "trial_id": self.trial_id,
            "index": self.index,
            "round": self.round,
            "trial_seed": self.seed,
            "parameters": self.parameters,
        }
        if self.sampler is not None:
            record["sampler"] = self.sampler
        if self.budget is not None:
            record.update(rung=0, budget=self.budget, keep_state=self.keep_state)
        return record


@dataclass
class Study:
    settings: study_config.StudyConfig
    model: study_config.ModelConfig
    trials: list[Trial]
    preps: dict[str, dict[str, Any]]
    notices: list[str] = field(default_factory=list)
    data: dict[str, str] = field(default_factory=dict)
    # Finished trials whose model or statistics are gone, which this run trains again
    # (set by workflow.load_workflow_study with retrain_missing).
    retrain: set[str] = field(default_factory=set)
    # An adaptive search: what its round jobs read (search/<search_digest>.json).
    search: dict[str, Any] | None = None
    search_digest: str = ""
    # A scheduler's rungs (search/schedulers.py rung_plan), or None: trials train to the end.
    rungs: dict[str, Any] | None = None

    @property
    def plan(self) -> SearchPlan:
        return make_plan(self.hyperopt)

    @property
    def study_dir(self) -> Path:
        return self.settings.study_dir

    @property
    def layout(self) -> StudyLayout:
        """The paths inside the study folder (layout.py)."""
        return StudyLayout(str(self.study_dir))

    @property
    def hyperopt(self) -> dict[str, Any]:
        return self.model.hyperopt

    @cached_property
    def by_id(self) -> dict[str, Trial]:
        return {trial.trial_id: trial for trial in self.trials}

    def trial(self, tid: str) -> Trial:
        if tid not in self.by_id:
            raise ConfigError(
                f"trial {tid!r} is not part of study {self.settings.experiment_name!r}; it has "
                f"{len(self.trials)} trials, {self.trials[0].trial_id} to "
                f"{self.trials[-1].trial_id}."
            )
        return self.by_id[tid]

    def hyperopt_config(self) -> dict[str, Any]:
        """The hyperopt section as run, for hyperopt_statistics.json and study.yaml."""
        return self.hyperopt

    def fingerprint(self) -> str:
        """What makes two runs the same study (num_samples aside: raising it extends one)."""
        hyperopt = {**self.hyperopt, "executor": {**self.hyperopt["executor"], "num_samples": 0}}
        settings = self.settings
        return digest(
            {
                "data": self.data,
                "model": self.model.model,
                "hyperopt": hyperopt,
                "engine": settings.engine,
                "command": settings.command,
                "random_seed": settings.random_seed,
            },
            length=16,
        )

    def skipped_trials(self) -> set[str]:
        """Trials a previous run skipped (time budget, max_failed_trials): train them now."""
        skipped = set()
        for trial in self.trials:
            summary = Path(self.layout.trial_file(trial.trial_id, "train_summary.json"))
            try:
                if json.loads(summary.read_text()).get("status") == "skipped":
                    skipped.add(trial.trial_id)
            except (OSError, ValueError):
                continue
        return skipped

    def stale_notices(self) -> list[str]:
        """Name what in an existing study folder does not belong to this study."""
        notices = []
        frozen = Path(self.layout.study_yaml)
        if frozen.is_file():
            old = (io.read_yaml(frozen) or {}).get("fingerprint")
            if old != self.fingerprint():
                notices.append(
                    f"{self.study_dir} holds results of a different study (its study.yaml "
                    "differs in data, model config, search space, seed or engine); trials "
                    "whose values or inputs changed are sampled and trained again, none is "
                    "reused."
                )
        folder = Path(self.layout.trials)
        extra = (
            sorted(p.name for p in folder.glob(f"{TRIAL_PREFIX}*") if p.name not in self.by_id)
            if folder.is_dir()
            else []
        )
        if extra:
            shown = ", ".join(extra[:5]) + (", …" if len(extra) > 5 else "")
            notices.append(
                f"{folder} has {len(extra)} trial folder(s) that are not part of this study "
                f"({shown}); they are left alone and not in the leaderboard."
            )
        return notices

    def frozen(self) -> dict[str, Any]:
        """study.yaml: the validated, upgraded study as run (no trial job depends on it)."""
        settings = self.settings
        return {
            "experiment_name": settings.experiment_name,
            "engine": settings.engine,
            "random_seed": settings.random_seed,
            "data": {key: str(path) for key, path in settings.data_files.items()},
            "data_format": settings.data_format,
            "model_config": str(settings.model_config_path),
            "num_trials": len(self.trials),
            "fingerprint": self.fingerprint(),
            "model": self.model.model,
            "hyperopt": self.hyperopt,
            "notices": self.notices,
        }


def _check_columns(settings: study_config.StudyConfig, model: dict[str, Any]) -> None:
    """Compare the features' columns with each data file's header."""
    for key, path in settings.data_files.items():
        header = set(data.read_header(path, settings.data_format, key=key))
        nested = data.nested_columns(path, settings.data_format, key=key)
        for section in ("input_features", "output_features"):
            for feature in model[section]:
                column = feature.get("column", feature["name"])
                if column not in header:
                    raise ConfigError(
                        f"{section}.{feature['name']}: column {column!r} is not in {key} "
                        f"{str(path)!r}; its columns are: {', '.join(sorted(header))}."
                    )
                if column in nested:
                    raise ConfigError(
                        f"{section}.{feature['name']}: column {column!r} of {key} "
                        f"{str(path)!r} holds a nested parquet type ({clip(nested[column], 80)}),"
                        f" which a {feature.get('type')} feature cannot read; give it a flat "
                        "column of numbers, strings or booleans."
                    )


def _check_split(
    settings: study_config.StudyConfig, model: dict, split: str, notices: list[str]
) -> None:
    """The hyperopt split must receive rows: a zero probability or a missing file is an error.

    A `split` column that the configured (or default random) split does not use is named
    in a notice: older Ludwig releases used it on their own, Ludwig 0.17 does not.
    """
    files = settings.data_files
    if "dataset" not in files:
        key = f"{split}_set"
        if key not in files:
            raise ConfigError(
                f"hyperopt.split: {split!r} has no data: the study gives training_set but no "
                f"{key}; add {key} or choose another split."
            )
        return
    header = data.read_header(files["dataset"], settings.data_format)
    chosen = data.effective_split((model.get("preprocessing") or {}).get("split"), header)
    notice = data.unused_split_column_notice(chosen, header, used_columns(model))
    if notice:
        notices.append(notice)
    probabilities = chosen.get("probabilities")
    if probabilities is None:
        return
    if not probabilities[0] > 0:
        raise ConfigError(
            f"preprocessing.split.probabilities: {list(probabilities)} gives the training split "
            "no rows; give it a share above 0."
        )
    position = ("training", "validation", "test").index(split)
    if not probabilities[position] > 0:
        raise ConfigError(
            f"hyperopt.split: {split!r} has no data: preprocessing.split.probabilities "
            f"{list(probabilities)} gives it 0; give it a share above 0 or choose another split."
        )


PROBE = "defaults_probe"


def _check_defaults(engine: Any, model: dict) -> None:
    """Check `defaults.<type>` on its own, also for types no feature uses.

    Each block is validated on a probe feature of that type, so an error names the
    defaults key the user wrote rather than a feature it happens to reach.
    """
    defaults = model.get("defaults") or {}
    if not isinstance(defaults, dict) or engine.feature_types is None:
        return
    for ftype, block in defaults.items():
        if ftype not in engine.feature_types:
            raise ConfigError(
                f"model_config: defaults.{ftype}: {ftype!r} is not a feature type; allowed: "
                f"{', '.join(engine.feature_types)}."
            )
        if not isinstance(block, dict):
            continue
        probes = {
            "input_features": {k: block[k] for k in ("preprocessing", "encoder") if k in block},
            "output_features": {k: block[k] for k in ("decoder", "loss") if k in block},
        }
        for section, keys in probes.items():
            if not keys:
                continue
            probe = {**model, section: [{"name": PROBE, "type": ftype, **keys}]}
            probe.pop("defaults", None)
            try:
                engine.validate_config(probe)
            except ConfigError as exc:
                message = str(exc)
                marker = f"{section}.{PROBE}."
                if marker in message:
                    raise type(exc)(
                        f"model_config: {message.replace(marker, f'defaults.{ftype}.')}"
                    ) from None
                # anything else (e.g. an output type the engine does not predict) is not
                # about this defaults block: the feature checks report it.


def _resolve(engine: Any, model: dict, parameters: dict) -> dict:
    return resolve.resolve_trial(model, parameters, engine.default_encoder, engine.default_decoder)


def _check_parameter_paths(engine: Any, model: dict, hyperopt: dict, seed: int) -> None:
    """Each parameter alone on the base config, so an error names its parameter."""
    first = variant.trial_parameters(hyperopt["parameters"], 0, 1, seed)
    for name, value in first.items():
        try:
            engine.validate_config(_resolve(engine, model, {name: value}))
        except ConfigError as exc:
            prefix = f"hyperopt.parameters.{name}"
            message = str(exc)
            raise type(exc)(
                message if message.startswith(prefix) else f"{prefix}: {message}"
            ) from None


def load_study(bundled: dict, bundled_dir: Path, user: dict, cwd: Path) -> Study:
    """Everything the Snakefile needs, validated; raises ConfigError on any problem."""
    merged = study_config.merge_study_layers(bundled, bundled_dir, user, cwd)
    settings = study_config.load_study_config(merged)
    model = study_config.load_model_config(settings.model_config_path, settings.random_seed)
    engine = get_engine(settings.engine, command=settings.command)
    _check_defaults(engine, model.model)
    try:
        engine.validate_config(_resolve(engine, model.model, {}))
    except ConfigError as exc:
        raise type(exc)(f"model_config: {exc}") from None
    _check_columns(settings, model.model)
    hyperopt = model.hyperopt
    _check_split(settings, model.model, hyperopt["split"], model.notices)
    seed = hyperopt["search_alg"]["random_state"]
    _check_parameter_paths(engine, model.model, hyperopt, seed)
    data_prints = {key: data_fingerprint(path) for key, path in settings.data_files.items()}
    selection = [hyperopt["output_feature"], hyperopt["metric"], hyperopt["split"]]
    preps: dict[str, dict] = {}

    def prepared_for(tid: str, parameters: dict) -> tuple[dict, Any, str]:
        """The trial's config, its preprocessing key and its prepared folder's id."""
        resolved = _resolve(engine, model.model, parameters)
        try:
            key = engine.check_trial(resolved)
        except ConfigError as exc:
            raise type(exc)(
                f"hyperopt.parameters: {tid} (parameters {json.dumps(parameters)}) gives an "
                f"invalid config: {exc}"
            ) from None
        # The prepared folder's name changes with the data's content and the split seed,
        # so changed data is never read from an old folder.
        identity = {"key": key, "data": data_prints, "seed": settings.random_seed}
        prep_id = f"prep_{digest(identity)}"
        preps.setdefault(prep_id, key)
        for notice in engine.config_notices(resolved):
            if notice not in model.notices:
                model.notices.append(notice)
        return resolved, key, prep_id

    plan = make_plan(hyperopt)
    rungs = _rung_plan(engine, model, hyperopt, plan.num_trials)
    adaptive = is_adaptive(hyperopt["search_alg"])
    trials = []
    for index in range(plan.fixed):
        parameters = fixed_parameters(hyperopt, index)
        tid = trial_id(index)
        resolved, _, prep_id = prepared_for(tid, parameters)
        budget = None if rungs is None else first_budget(rungs, index)
        if budget is not None:  # rung 0 trains for its bracket's smallest budget
            resolved = with_budget(resolved, rungs["budget_key"], budget)
        trial = Trial(
            trial_id=tid,
            index=index,
            parameters=parameters,
            seed=variant.trial_seed(settings.random_seed, index),
            config=resolved,
            prep_id=prep_id,
            sampler={"internal": internal_values(hyperopt["parameters"], parameters)}
            if adaptive
            else None,
            budget=budget,
            keep_state=budget is not None and keeps_state(rungs, budget),
        )
        # Everything a trial's result depends on; it names the trial's sampled/ folder.
        trial.digest = digest(
            {
                "record": trial.record,
                "config": resolved,
                "prep_id": prep_id,
                "engine": settings.engine,
                "command": settings.command,
                "selection": selection,
            },
            length=16,
        )
        trials.append(trial)
    search, search_digest = None, ""
    if plan.fixed < plan.num_trials:
        key, prep_id = _shared_preparation(hyperopt, plan, prepared_for)
        search = {
            "parameters": hyperopt["parameters"],
            "search_alg": hyperopt["search_alg"],
            "goal": hyperopt["goal"],
            "model": model.model,
            "engine": settings.engine,
            "command": settings.command,
            "random_seed": settings.random_seed,
            "prep_key": key,
            "plan": {"fixed": plan.fixed, "batch_size": plan.batch_size},
            # rung 0's budgets only: the rungs above depend on num_samples, the rounds not
            "rungs": None
            if rungs is None
            else {
                "budget_key": rungs["budget_key"],
                "max_t": rungs["max_t"],
                "pattern": rungs["pattern"],
                "brackets": [{"budgets": b["budgets"][:1]} for b in rungs["brackets"]],
            },
        }
        search_digest = digest(search, length=16)
        for index in range(plan.fixed, plan.num_trials):
            trial = Trial(
                trial_id=trial_id(index),
                index=index,
                parameters=None,
                seed=variant.trial_seed(settings.random_seed, index),
                config=None,
                prep_id=prep_id,
                round=plan.round_of(index),
            )
            # "s" + hex: a suggested trial's sampled/ folder, never a parse-time one's.
            trial.digest = "s" + digest(
                {
                    "search": search_digest,
                    "index": index,
                    "round": trial.round,
                    "prep_id": prep_id,
                    "selection": selection,
                },
                length=16,
            )
            trials.append(trial)
    return Study(
        settings=settings,
        model=model,
        trials=trials,
        preps=preps,
        notices=model.notices,
        data=data_prints,
        search=search,
        search_digest=search_digest,
        rungs=rungs,
    )


def _rung_plan(engine: Any, model: Any, hyperopt: dict, num_trials: int) -> dict | None:
    """A scheduler's rungs; the model config then trains for max_t, without early stop.

    As in Ludwig, trainer.early_stop is turned off (a notice says so when it was set):
    the rungs decide when a trial stops.
    """
    scheduler = hyperopt["executor"]["scheduler"]
    if scheduler is None:
        return None
    key = engine.budget_key(model.model)
    name = ".".join(key)
    if name in hyperopt["parameters"]:
        raise ConfigError(
            f"hyperopt.parameters.{name}: the scheduler {scheduler['type']!r} sets each "
            f"rung's {name} itself (its budget, up to max_t); remove the parameter."
        )
    trainer = model.model.setdefault(key[0], {})
    max_t = check_budget(scheduler, trainer.get(key[1]))
    trainer[key[1]] = max_t
    if trainer.get("early_stop", -1) != -1:
        model.notices.append(
            f"{key[0]}.early_stop ({trainer['early_stop']}) is turned off (-1), as Ludwig "
            f"does with a scheduler: the rungs of {scheduler['type']!r} stop trials early."
        )
    trainer["early_stop"] = -1
    return rung_plan(scheduler, max_t, key, num_trials)


# Random draws whose preprocessing an adaptive study checks at parse time.
PREPARATION_PROBES = 64


def _shared_preparation(hyperopt: dict, plan: SearchPlan, prepared_for) -> tuple[Any, str]:
    """The one preprocessing every trial of an adaptive search shares, checked up front.

    Suggested values are not known at parse time, so their data cannot get prepare jobs
    of their own: the round-0 trials and random draws from the spaces must all prepare
    the data alike (a suggestion that does not is refused by its round's job).
    """
    space = hyperopt["parameters"]
    count = min(plan.num_trials, PREPARATION_PROBES)
    seed = hyperopt["search_alg"]["random_state"]
    found: dict[str, Any] = {}
    for index in range(count):
        parameters = variant.trial_parameters(space, index, plan.num_trials, seed)
        _, key, prep_id = prepared_for(f"a random draw from the spaces ({index})", parameters)
        found.setdefault(prep_id, key)
    for index in range(plan.fixed):
        _, key, prep_id = prepared_for(trial_id(index), fixed_parameters(hyperopt, index))
        found.setdefault(prep_id, key)
    if len(found) > 1:
        raise NotSupportedError(
            f"hyperopt.parameters: with search_alg {hyperopt['search_alg']['type']!r}, the "
            "tuned values change how the data is prepared (preprocessing parameters, or "
            "ones that decide it), which an adaptive search cannot do yet: its trials are "
            "suggested after the data is prepared once. Tune preprocessing with search_alg "
            "random, sobol or halton, or fix it in the model config."
        )
    prep_id, key = next(iter(found.items()))
    return key, prep_id
