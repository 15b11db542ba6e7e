"""A study's trials as an Optuna study: for optuna-dashboard, Optuna's plots and importances.

The sampler codec (snaketune.search.codec) gives Optuna *internal* values (a choice's
index, a quantized space's multiplier). Here the distributions are over the values the
trials really got, so a user reads learning_rate=0.004 and output_size=32 in the
dashboard. A statistics file may come from `ludwig hyperopt` and hold anything, so no
readable file makes the export fail: bounds widen to the values observed, a space that
cannot hold them becomes a categorical over the observed values, and a value Optuna
cannot store as a category (a list, a dict; or every value, when two would be confused,
such as 1 and True) is written as its compact JSON text.

Trial states: an ok trial is COMPLETE with its score; any other trial that ran (failed,
timeout, ...) is FAIL with the parameters it had. Skipped trials are left out: they were
never trained (the next run trains them), and Optuna has no state for that; their ids
are in the study's user attribute `skipped_trials`.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import secrets
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from numbers import Real
from pathlib import Path
from typing import Any

import optuna
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend
from optuna.trial import FrozenTrial, TrialState

from snaketune import spaces
from snaketune.errors import ConfigError, show
from snaketune.report.table import CHOICE_SPACES, StudyTable, TrialRow

# Marks a study this module wrote: only such a journal file is replaced by a new export.
EXPORTER = "snaketune"
FLOAT_SPACES = frozenset({"uniform", "quniform", "loguniform", "qloguniform", "randn", "qrandn"})
INT_SPACES = frozenset({"randint", "qrandint", "lograndint", "qlograndint"})
EVALUATORS = ("fanova", "ped_anova")


def json_text(value: Any) -> str:
    """The compact JSON of a value, keys sorted: how a category Optuna cannot hold is shown."""
    try:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), default=repr)
    except (TypeError, ValueError):  # keys of mixed types, or a cycle
        try:
            return json.dumps(value, separators=(",", ":"), default=repr)
        except (TypeError, ValueError):
            return repr(value)


def _plain(value: Any) -> bool:
    """Whether Optuna holds `value` as a category as it is: not NaN (never equal to itself),
    nor an int too large for a float (Optuna compares categories through float)."""
    if value is None or isinstance(value, str):
        return True
    try:
        return isinstance(value, bool | int | float) and not math.isnan(float(value))
    except OverflowError:
        return False


def _number(value: Any) -> bool:
    """A finite real number that is not a bool (an int too large for a float is not)."""
    if not isinstance(value, Real) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def _encode(value: Any, mode: str) -> Any:
    if mode == "json" or (mode == "mixed" and not _plain(value)):
        return json_text(value)
    return value


@dataclass(frozen=True)
class _Column:
    """One parameter's distribution, and whether its values are shown as JSON text."""

    distribution: BaseDistribution
    mode: str = "plain"  # plain: as is; mixed: lists and dicts as JSON; json: all as JSON

    def encode(self, value: Any) -> Any:
        return _encode(value, self.mode)


def _fits(distribution: BaseDistribution, value: Any) -> bool:
    """Whether Optuna accepts `value` for `distribution` and gives the same value back."""
    try:
        internal = distribution.to_internal_repr(value)
        return bool(distribution._contains(internal)) and (
            distribution.to_external_repr(internal) == value
        )
    except (TypeError, ValueError, OverflowError, IndexError):
        return False


def _categorical(values: list[Any]) -> _Column | None:
    """A categorical over `values` (in order, each once); None when there are none."""
    unique: dict[str, Any] = {}
    for value in values:
        unique.setdefault(json_text(value), value)
    if not unique:
        return None
    plain = [v for v in unique.values() if _plain(v)]
    shown = {key for key, v in unique.items() if not _plain(v)}
    # 1, 1.0 and True are one category to Optuna (it compares with ==), and the string
    # '[1,2]' would read as the list [1, 2]: then every category is shown as JSON.
    confused = len({v: None for v in plain}) < len(plain) or any(
        isinstance(v, str) and v in shown for v in plain
    )
    mode = "json" if confused else ("mixed" if shown else "plain")
    return _Column(CategoricalDistribution([_encode(v, mode) for v in unique.values()]), mode)


def _bound(value: Any) -> float:
    if not _number(value):
        raise ValueError(f"not a finite number: {value!r}")
    return value


def _space_bounds(space: str, spec: Mapping[str, Any], values: list[Any]) -> tuple:
    """(kind, low, high, log, step) of a known space as written; ValueError if it is not."""
    spec = {**spaces.SPACES[space].optional, **spec}
    log = spaces.SPACES[space].log
    q = _bound(spec.get("q", 1))
    if q <= 0:
        raise ValueError("q must be positive")
    if space in ("randn", "qrandn"):
        low = min(values, default=_bound(spec.get("mean", 0.0)))
        high = max(values, default=low)
        if low == high:  # one value: a range of one sd around it
            sd = spec.get("sd", 1.0)
            sd = sd if _number(sd) and sd > 0 else 1.0
            low, high = low - sd, high + sd
        return "float", low, high, False, q if space == "qrandn" else None
    lower, upper = _bound(spec["lower"]), _bound(spec["upper"])
    quantized = space in ("quniform", "qloguniform") or (space in INT_SPACES and q != 1)
    if quantized:  # the multiples of q inside [lower, upper], both ends included
        k_lo, k_hi = spaces.multiples_in(lower, upper, q)
        if space in INT_SPACES:
            low, high = k_lo * q, k_hi * q
        else:
            low, high = spaces.times_q(k_lo, q), spaces.times_q(k_hi, q)
    elif space in INT_SPACES:  # upper exclusive
        low, high = math.ceil(lower), math.ceil(upper) - 1
    else:
        low, high = lower, upper
    kind = "int" if space in INT_SPACES else "float"
    return kind, low, high, log, q if quantized and not log else None


def _numeric(kind: str, low: float, high: float, log: bool, step: float | None) -> Any:
    """The distribution, or None where Optuna refuses it (or would move `high`)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Optuna warns when it adjusts high to the step
        try:
            if kind == "int":
                dist = IntDistribution(int(low), int(high), log=log, step=int(step or 1))
            else:
                dist = FloatDistribution(low, high, log=log, step=step)
        except (TypeError, ValueError, OverflowError):
            return None
    return dist if dist.high == high else None


def _column(spec: Mapping[str, Any], values: list[Any]) -> _Column | None:
    """The column of one parameter from its space and every value the trials had."""
    space = spec.get("space")
    if space in CHOICE_SPACES:
        written = spec.get("categories" if space == "choice" else "values")
        return _categorical([*(written if isinstance(written, list | tuple) else []), *values])
    if not all(_number(v) for v in values):
        return _categorical(values)
    try:
        if space not in FLOAT_SPACES | INT_SPACES:
            raise ValueError("unknown space")
        kind, low, high, log, step = _space_bounds(space, spec, values)
    except (KeyError, TypeError, ValueError, OverflowError, ZeroDivisionError):
        if not values:
            return None
        # No usable space: the range of the values seen, integers if they all are.
        kind = "int" if all(isinstance(v, int) for v in values) else "float"
        low, high, log, step = min(values), max(values), False, None
    if kind == "int" and not all(float(v).is_integer() for v in values):
        kind, step = "float", None
    low, high = min([low, *values]), max([high, *values])
    log = log and (low >= 1 if kind == "int" else low > 0)  # widened below the log scale
    for candidate in (step, None) if step else (None,):
        dist = _numeric(kind, low, high, log, candidate)
        if dist is not None and all(_fits(dist, v) for v in values):
            return _Column(dist)
    return _categorical(values)


def _columns(table: StudyTable) -> dict[str, _Column]:
    """Every parameter's column: the study's in the order written, then any others seen."""
    specs: dict[str, Mapping[str, Any]] = {p.name: p.spec for p in table.parameters}
    observed: dict[str, list[Any]] = {name: [] for name in specs}
    for trial in table.trials:
        for name, value in trial.parameters.items():
            observed.setdefault(str(name), []).append(value)
    columns = {}
    for name, values in observed.items():
        column = _column(specs.get(name, {}), values)
        if column is not None:  # a parameter no trial has and no category names is left out
            columns[name] = column
    return columns


def optuna_distributions(table: StudyTable) -> dict[str, BaseDistribution]:
    """Each parameter's Optuna distribution over the values the trials really got."""
    return {name: column.distribution for name, column in _columns(table).items()}


def _curve(table: StudyTable, trial: TrialRow) -> dict[int, float]:
    """The metric per evaluation on the study's split: the trial's intermediate values."""
    split = str(table.hyperopt_config.get("split") or "validation")
    stats = trial.training_stats.get(split)
    feature = stats.get(table.output_feature) if isinstance(stats, Mapping) else None
    series = feature.get(table.metric) if isinstance(feature, Mapping) else None
    if not isinstance(series, list):
        return {}
    return {step: float(v) for step, v in enumerate(series) if _number(v)}


def frozen_trials(table: StudyTable) -> list[FrozenTrial]:
    """The trials that ran, in trial order, as Optuna trials (skipped ones are left out)."""
    columns = _columns(table)
    trials = []
    for row in sorted(table.trials, key=lambda r: (r.order, r.trial_id)):
        if row.status == "skipped":
            continue
        params, distributions = {}, {}
        for name, value in row.parameters.items():
            column = columns.get(str(name))
            encoded = column.encode(value) if column else None
            if column and _fits(column.distribution, encoded):
                params[str(name)], distributions[str(name)] = encoded, column.distribution
        attrs: dict[str, Any] = {"trial_id": row.trial_id, "status": row.status}
        if row.round is not None:
            attrs["round"] = row.round
        if row.error:
            attrs["error"] = row.error
        complete = row.status == "ok" and row.score is not None
        state = TrialState.COMPLETE if complete else TrialState.FAIL
        value, curve = (row.score if complete else None), _curve(table, row)
        try:
            trial = optuna.trial.create_trial(
                state=state, value=value, params=params, distributions=distributions,
                user_attrs=attrs, intermediate_values=curve,
            )  # fmt: skip
        except (TypeError, ValueError, OverflowError):  # a safety net: values Optuna refuses
            attrs["parameters"] = json_text(row.parameters)  # kept, as text
            trial = optuna.trial.create_trial(state=state, value=value, user_attrs=attrs)
        trials.append(trial)
    return trials


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Optuna without its INFO lines and experimental warnings, restored afterwards."""
    level = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            yield
    finally:
        optuna.logging.set_verbosity(level)


def to_optuna_study(
    table: StudyTable, storage: Any = None, study_name: str = "snaketune"
) -> optuna.Study:
    """The study in `storage` (in memory by default); Optuna refuses an existing name."""
    attrs: dict[str, Any] = dict(
        metric=table.metric, output_feature=table.output_feature, goal=table.goal,
        source=table.source, exporter=EXPORTER,
    )  # fmt: skip
    skipped = [t.trial_id for t in table.trials if t.status == "skipped"]
    if skipped:
        attrs["skipped_trials"] = skipped
    with _quiet():
        study = optuna.create_study(storage=storage, study_name=study_name, direction=table.goal)
        for key, value in attrs.items():
            study.set_user_attr(key, value)
        study.add_trials(frozen_trials(table))
    return study


def _journal_studies(path: Path) -> list[Any]:
    """The studies in a journal file; ValueError if it is not one.

    Optuna's reader takes a last line it cannot parse for one still being written, so
    the first line is checked to be a journal operation first.
    """
    with open(path, "rb") as file:
        first = json.loads(file.readline())
    if not isinstance(first, dict) or "op_code" not in first:
        raise ValueError("its first line is not a journal operation")
    return JournalStorage(JournalFileBackend(str(path))).get_all_studies()


def _check_replaceable(path: Path, study_name: str) -> None:
    """Raise unless `path` is empty or holds only an earlier export of this study."""
    advice = "remove it or choose another path for the export"
    if path.is_dir():
        raise ConfigError(f"{path} is a folder, not an Optuna journal file; {advice}.")
    if path.stat().st_size == 0:
        return
    try:
        studies = _journal_studies(path)
    except Exception as exc:  # anything the journal reader trips on: not a journal
        raise ConfigError(
            f"{path} exists and is not an Optuna journal file ({show(str(exc))}); nothing "
            f"was written: {advice}."
        ) from exc
    if [(s.study_name, s.user_attrs.get("exporter")) for s in studies] != [(study_name, EXPORTER)]:
        held = ", ".join(show(s.study_name) for s in studies)
        held = f"the Optuna study {held}" if held else "an Optuna journal with no study left"
        raise ConfigError(
            f"{path} already holds {held}, which is not an earlier snaketune export named "
            f"{study_name!r}; writing there would add a second study to the file or destroy "
            f"what it holds, so nothing was written: {advice}."
        )


def write_journal(table: StudyTable, path: Path, study_name: str) -> int:
    """Write the study as an Optuna journal file; the number of trials written.

    An existing file is replaced only when it holds just an earlier export of the same
    study (a re-export after more trials ran); anything else raises ConfigError. The
    journal is written next to `path` under a temporary name and then moved into place,
    so a reader never sees half a study.
    """
    path = Path(path)
    if path.exists():
        _check_replaceable(path, study_name)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        storage = JournalStorage(JournalFileBackend(str(temporary)))
        study = to_optuna_study(table, storage, study_name)
        written = len(study.get_trials(deepcopy=False))
        os.replace(temporary, path)
    finally:
        for leftover in (temporary, temporary.with_name(temporary.name + ".lock")):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()
    return written


def parameter_importances(
    table: StudyTable, evaluator: str = "fanova"
) -> tuple[dict[str, float], str]:
    """Each parameter's share of the score's variation, most important first, and a note.

    The importances are {} when they cannot be computed, and the note then says why in
    one sentence. fANOVA is seeded, so a report shows the same numbers on every run.
    """
    if evaluator not in EVALUATORS:
        raise ConfigError(f"importance evaluator {evaluator!r} is not one of {EVALUATORS}")
    finished = len(table.finished)
    if finished < 2:
        return {}, (
            f"Parameter importances need at least 2 finished trials; this study has {finished}."
        )
    if len({t.score for t in table.finished}) == 1:
        return {}, "Every finished trial has the same score, so no parameter explains a change."
    study = to_optuna_study(table)
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    shared = set.intersection(*(set(t.params) for t in complete))
    names = [name for name in complete[0].params if name in shared]
    if not names:
        return {}, "No parameter is recorded in every finished trial, so none can be ranked."
    if all(len({json_text(t.params[n]) for t in complete}) == 1 for n in names):
        return {}, (
            "Every parameter has a single value across the finished trials, so none can "
            "explain the differences in score."
        )
    with _quiet():
        fanova = evaluator == "fanova"  # named: Optuna's default changed between releases
        chosen = (
            optuna.importance.FanovaImportanceEvaluator(seed=0)
            if fanova
            else optuna.importance.PedAnovaImportanceEvaluator()
        )
        try:
            importances = optuna.importance.get_param_importances(
                study, evaluator=chosen, params=names
            )
        except Exception as exc:  # Optuna's own limits (too few distinct values, ...)
            return {}, f"Optuna could not compute the importances: {show(str(exc))}."
    if not all(math.isfinite(v) for v in importances.values()):
        return {}, "Optuna returned importances that are not finite numbers."
    label = "fANOVA (seed 0)" if fanova else "PED-ANOVA"
    left_out = len(set().union(*(t.params for t in complete)) - shared)
    extra = f"; {left_out} not in every finished trial left out" if left_out > 0 else ""
    ranked = {name: float(value) for name, value in importances.items()}
    return ranked, f"{label} importances over {len(complete)} finished trials{extra}."
