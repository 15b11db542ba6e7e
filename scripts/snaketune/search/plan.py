"""Which trials are known up front and which are suggested in rounds.

Round 0 holds every trial whose values need no scores: all of them for random, grid,
Sobol and Halton search; for an adaptive search, the known points
(`points_to_evaluate`) and the quasi-random start (`n_startup_trials`). Their values
are computed at parse time. Round r >= 1 holds the next `batch_size` trials, which an
adaptive sampler suggests from the scores of every trial before the round:

    trials:  0 .. fixed-1 | fixed .. fixed+B-1 | fixed+B .. fixed+2B-1 | ...
    round:        0       |         1          |          2            | ...

The rounds depend on num_samples, batch_size and the start only (never on --cores),
and raising num_samples only appends trials.
"""

from __future__ import annotations

import copy
import importlib.util
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from snaketune.errors import ConfigError
from snaketune.search import codec, qmc, variant
from snaketune.search.options import is_adaptive

Spaces = Mapping[str, Mapping[str, Any]]


@dataclass(frozen=True)
class SearchPlan:
    num_trials: int
    fixed: int  # trials in round 0
    batch_size: int  # trials per later round (0 when there are none)

    def round_of(self, index: int) -> int:
        if index < self.fixed:
            return 0
        return (index - self.fixed) // self.batch_size + 1

    def first_of(self, round_index: int) -> int:
        """The first trial of a round; every trial before it is the round's history."""
        if round_index == 0:
            return 0
        return self.fixed + (round_index - 1) * self.batch_size

    def trials_of(self, round_index: int) -> range:
        if round_index == 0:
            return range(self.fixed)
        first = self.first_of(round_index)
        return range(first, min(first + self.batch_size, self.num_trials))

    @property
    def rounds(self) -> int:
        return self.round_of(self.num_trials - 1) + 1 if self.num_trials else 0


def count_trials(hyperopt: Mapping[str, Any]) -> int:
    """num_samples, times the grid's points for random search (Ludwig's count)."""
    return variant.count_trials(hyperopt["parameters"], hyperopt["executor"]["num_samples"])


def make_plan(hyperopt: Mapping[str, Any]) -> SearchPlan:
    search = hyperopt["search_alg"]
    total = count_trials(hyperopt)
    if not is_adaptive(search):
        return SearchPlan(total, total, 0)
    fixed = min(total, max(search["n_startup_trials"], len(search["points_to_evaluate"])))
    return SearchPlan(total, fixed, search["batch_size"])


def check_search(hyperopt: Mapping[str, Any], notices: list[str]) -> None:
    """What a sampler other than random needs of the spaces and the known points."""
    search, parameters = hyperopt["search_alg"], hyperopt["parameters"]
    sampler = search["sampler"]
    if sampler != "variant":
        codec.dimensions(parameters)  # grid_search is refused, naming the parameter
    if sampler == "gp" and importlib.util.find_spec("torch") is None:
        raise ConfigError(
            f"hyperopt.search_alg.type: {search['type']!r} runs optuna's Gaussian-process "
            "sampler, which needs PyTorch, and it is not installed; install it (pip install "
            "'snaketune[torch]') or choose a TPE search (optuna, hyperopt) or cmaes."
        )
    if sampler == "cmaes":
        chosen = [name for name, spec in parameters.items() if spec["space"] == "choice"]
        if chosen:
            notices.append(
                f"hyperopt.search_alg 'cmaes': CMA-ES searches numbers only, so "
                f"{', '.join(chosen)} (choice) are drawn at random in every trial; TPE "
                "(optuna, hyperopt) learns choices too."
            )
    points = search["points_to_evaluate"]
    total = count_trials(hyperopt)
    if len(points) > total:
        raise ConfigError(
            f"hyperopt.search_alg.points_to_evaluate: {len(points)} points, more than the "
            f"{total} trials num_samples gives; raise num_samples or give fewer points."
        )
    if points and any(spec["space"] == "grid_search" for spec in parameters.values()):
        raise ConfigError(
            "hyperopt.search_alg.points_to_evaluate: cannot be combined with grid_search "
            "parameters, which enumerate their own values; write them as choice."
        )
    for i, point in enumerate(points):
        for name, value in point.items():
            where = f"hyperopt.search_alg.points_to_evaluate[{i}].{name}"
            if name not in parameters:
                raise ConfigError(
                    f"{where}: not a parameter of hyperopt.parameters; they are: "
                    f"{', '.join(parameters)}."
                )
            try:
                codec.dimension(name, parameters[name]).encode(value)
            except ConfigError as exc:
                raise ConfigError(f"{where}: {exc}.") from None
    plan = make_plan(hyperopt)
    if is_adaptive(search) and plan.fixed == total:
        notices.append(
            f"hyperopt.search_alg: all {total} trials are known points or the sampler's "
            f"start (n_startup_trials: {search['n_startup_trials']}), so {search['type']!r} "
            "never learns from a score; raise num_samples above them to search adaptively."
        )


def fixed_parameters(hyperopt: Mapping[str, Any], index: int) -> dict[str, Any]:
    """The values of a round-0 trial: a known point, filled from the design (or draws)."""
    search, parameters = hyperopt["search_alg"], hyperopt["parameters"]
    seed, points = search["random_state"], search["points_to_evaluate"]
    num_samples = hyperopt["executor"]["num_samples"]
    if search["sampler"] == "variant":
        values = variant.trial_parameters(parameters, index, num_samples, seed)
    else:
        kind = search["sampler"] if search["sampler"] in qmc.DESIGNS else "sobol"
        scramble = search.get("scramble", True)
        dims = codec.dimensions(parameters)
        unit = qmc.unit_point(kind, len(dims), index, count_trials(hyperopt), seed, scramble)
        values = {
            dim.name: dim.decode(dim.from_unit(float(u))) for dim, u in zip(dims, unit, strict=True)
        }
    if index < len(points):
        values.update(copy.deepcopy(points[index]))
    return {name: values[name] for name in parameters}


def internal_values(parameters: Spaces, values: Mapping[str, Any]) -> dict[str, Any]:
    """The sampler's view of a trial's values (codec.Dimension.encode, per parameter)."""
    return {dim.name: dim.encode(values[dim.name]) for dim in codec.dimensions(parameters)}
