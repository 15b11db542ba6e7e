"""The trials of an adaptive round, from optuna's samplers through ask-and-tell.

Nothing is stored between rounds but the trial files: each round builds an in-memory
optuna study from every trial before it (in trial order: values as the sampler saw
them, the score or a failure, and the sampler's own notes on the trial, which CMA-ES
keeps its state in), makes a sampler seeded from (random_state, round) and asks for
the round's trials one after another. An asked trial stays pending while the next is
asked, so TPE's constant liar and GP's handling of running trials spread a round
out. No database, no server, no lock: any job can compute any trial of a round and
gets the same values, whichever jobs finished first and however many ran at once.

A suggestion that repeats an earlier trial (or one asked before it in the round) is
discarded and asked again, up to MAX_ASKS times; then values are drawn at random
from the space, up to MAX_DRAWS times, and only a space with nothing left to try
gives a repeat (marked `duplicate_of`).
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from snaketune.search import codec
from snaketune.search.plan import SearchPlan
from snaketune.search.seeds import retry_rng, round_seed

MAX_ASKS = 20
MAX_DRAWS = 100


@dataclass(frozen=True)
class PastTrial:
    """An earlier trial as a sampler learns from it: `value` is None when it failed."""

    index: int
    parameters: dict[str, Any]
    internal: dict[str, Any]
    value: float | None
    system_attrs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Suggestion:
    index: int
    parameters: dict[str, Any]
    internal: dict[str, Any]
    system_attrs: dict[str, Any]
    asks: int  # asks it took (more than 1: the sampler repeated itself)
    duplicate_of: int | None = None  # the trial it repeats, when the space had nothing new

    def sampler_record(self) -> dict[str, Any]:
        """What parameters.json keeps of the sampler's view, to rebuild later rounds."""
        record: dict[str, Any] = {"internal": self.internal, "asks": self.asks}
        if self.system_attrs:
            record["system_attrs"] = self.system_attrs
        if self.duplicate_of is not None:
            record["duplicate_of"] = self.duplicate_of
        return record


def _hyperopt_gamma(gamma: float) -> Callable[[int], int]:
    # hyperopt's TPE: the ceil(gamma * sqrt(n)) best trials are "good", at most 25.
    return lambda n: min(math.ceil(gamma * math.sqrt(n)), 25)


def _fraction_gamma(gamma: float) -> Callable[[int], int]:
    return lambda n: min(math.ceil(gamma * n), 25)


def make_sampler(search_alg: Mapping[str, Any], seed: int) -> Any:
    """The optuna sampler of one round."""
    import optuna

    kind = search_alg["sampler"]
    startup = search_alg["n_startup_trials"]
    if kind == "tpe":
        options: dict[str, Any] = {
            "seed": seed,
            "n_startup_trials": startup,
            "multivariate": search_alg["multivariate"],
            "constant_liar": search_alg["constant_liar"],
        }
        gamma = search_alg.get("gamma")
        if gamma is not None:
            hyperopt = search_alg["type"] == "hyperopt"
            options["gamma"] = (_hyperopt_gamma if hyperopt else _fraction_gamma)(gamma)
        return optuna.samplers.TPESampler(**options)
    if kind == "gp":
        return optuna.samplers.GPSampler(seed=seed, n_startup_trials=startup)
    if kind == "cmaes":
        return optuna.samplers.CmaEsSampler(
            seed=seed,
            n_startup_trials=startup,
            sigma0=search_alg["sigma0"],
            popsize=search_alg["popsize"],
            warn_independent_sampling=False,
        )
    raise ValueError(f"{kind!r} is not an adaptive sampler")


def _key(values: Mapping[str, Any]) -> str:
    return json.dumps(values, sort_keys=True, default=str)


def _attrs(study: Any, number: int) -> dict[str, Any]:
    return dict(study.get_trials(deepcopy=False)[number].system_attrs)


class _Round:
    """One round's in-memory study: the history told, then the round's trials asked."""

    def __init__(self, setting: Mapping[str, Any], round_index: int, history: Sequence):
        import optuna
        from optuna.trial import TrialState, create_trial

        search = setting["search_alg"]
        self.seed = round_seed(search["random_state"], round_index)
        self.dims = codec.dimensions(setting["parameters"])
        self.distributions = {dim.name: dim.distribution() for dim in self.dims}
        direction = "maximize" if setting["goal"] == "maximize" else "minimize"
        self.study = optuna.create_study(
            direction=direction, sampler=make_sampler(search, self.seed)
        )
        self.study.add_trials(
            [
                create_trial(
                    params=past.internal,
                    distributions=self.distributions,
                    value=past.value,
                    state=TrialState.COMPLETE if past.value is not None else TrialState.FAIL,
                    system_attrs=past.system_attrs,
                )
                for past in history
            ]
        )
        self.seen = {_key(past.parameters): past.index for past in history}
        self.fail = TrialState.FAIL

    def _decode(self, internal: Mapping[str, Any]) -> dict[str, Any]:
        return {dim.name: dim.decode(internal[dim.name]) for dim in self.dims}

    def ask(self, index: int) -> Suggestion:
        """The next trial of the round, left pending for the asks after it."""
        for asks in range(1, MAX_ASKS + 1):
            trial = self.study.ask(self.distributions)
            values = self._decode(trial.params)
            if _key(values) not in self.seen:
                return self._keep(index, trial, values, asks)
            self.study.tell(trial, state=self.fail)
        duplicate_of = None
        for attempt in range(MAX_DRAWS):
            rng = retry_rng(self.seed, index, attempt)
            internal = {dim.name: dim.from_unit(float(rng.random())) for dim in self.dims}
            values = self._decode(internal)
            if _key(values) not in self.seen:
                break
        else:
            duplicate_of = self.seen[_key(values)]
        self.study.enqueue_trial(internal)
        trial = self.study.ask(self.distributions)
        return self._keep(index, trial, values, MAX_ASKS + 1, duplicate_of)

    def _keep(self, index, trial, values, asks, duplicate_of=None) -> Suggestion:
        self.seen.setdefault(_key(values), index)
        return Suggestion(
            index=index,
            parameters=values,
            internal=dict(trial.params),
            system_attrs=_attrs(self.study, trial.number),
            asks=asks,
            duplicate_of=duplicate_of,
        )


def suggest(
    setting: Mapping[str, Any], plan: SearchPlan, index: int, history: Sequence[PastTrial]
) -> list[Suggestion]:
    """The suggestions of trial `index`'s round, from its first trial up to `index`.

    `setting` holds the study's `parameters` (spaces), `search_alg` and `goal`;
    `history` must be every trial before the round, in trial order.
    """
    import optuna

    round_index = plan.round_of(index)
    first = plan.first_of(round_index)
    if round_index == 0:
        raise ValueError(f"trial {index} is in round 0, whose values are known up front")
    indices = [past.index for past in history]
    if indices != list(range(first)):
        raise ValueError(f"round {round_index} needs the trials 0..{first - 1}, got {indices}")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        warnings.simplefilter("ignore", UserWarning)
        warnings.simplefilter("ignore", FutureWarning)  # TPE's gamma, deprecated in 4.9
        warnings.simplefilter("ignore", RuntimeWarning)  # cmaes with a tiny population
        current = _Round(setting, round_index, history)
        return [current.ask(k) for k in range(first, index + 1)]
