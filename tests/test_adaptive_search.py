"""Adaptive search: search_alg options, the codec of the spaces, designs, plans and rounds."""

from __future__ import annotations

import copy
import json
import math
import sys
from functools import cache
from pathlib import Path

import numpy as np
import pytest

import rounds as rounds_program
from conftest import model_config
from snaketune import io, resolve, spaces
from snaketune.errors import ConfigError, NotSupportedError
from snaketune.search import adaptive, codec, qmc, seeds
from snaketune.search import plan as search_plan
from snaketune.search import rounds as search_rounds
from snaketune.search.options import DEFAULT_BATCH_SIZE, normalize_search_alg
from snaketune.search.plan import SearchPlan, check_search, fixed_parameters, make_plan
from snaketune.search.variant import trial_seed


def study(**raw_spaces) -> dict:
    """Validated spaces keyed by dotted name (use __ for the dots), in the order given."""
    return {
        name.replace("__", "."): spaces.validate_space(name.replace("__", "."), raw)
        for name, raw in raw_spaces.items()
    }


def search(raw, seed: int = 42, executor: dict | None = None) -> dict:
    return normalize_search_alg(raw, seed, executor or {}, [])


def hyperopt(parameters: dict, alg, num_samples: int, goal: str = "minimize", seed: int = 42):
    """A normalized hyperopt section (parameters, search_alg, executor, goal), checked."""
    section = {
        "parameters": parameters,
        "search_alg": search(alg, seed),
        "executor": {"num_samples": num_samples},
        "goal": goal,
    }
    check_search(section, [])
    return section


def dim(raw: dict) -> codec.Dimension:
    return codec.dimension("p", spaces.validate_space("p", raw))


# --------------------------------------------------------------------------- #
# options: search_alg and Ludwig's Optuna executor
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(
    ("kind", "sampler"),
    [
        ("hyperopt", "tpe"),
        ("optuna", "tpe"),
        ("bohb", "tpe"),
        ("ax", "gp"),
        ("bayesopt", "gp"),
        ("skopt", "gp"),
        ("cmaes", "cmaes"),
        ("sobol", "sobol"),
        ("halton", "halton"),
        ("random", "variant"),
        ("variant_generator", "variant"),
    ],
)
def test_each_ludwig_search_alg_runs_its_sampler(kind, sampler):
    for raw in (kind, {"type": kind}):
        setting = search(raw, seed=7)
        assert setting["type"] == kind
        assert setting["sampler"] == sampler
        assert setting["random_state"] == 7  # the study's seed when none is given
        assert setting["points_to_evaluate"] == []


def test_no_search_alg_is_ludwigs_variant_generator():
    assert search(None)["sampler"] == "variant"


@pytest.mark.parametrize(
    ("kind", "alias", "key"),
    [
        ("hyperopt", "random_state_seed", "random_state"),
        ("hyperopt", "n_initial_points", "n_startup_trials"),
        ("bayesopt", "random_search_steps", "n_startup_trials"),
        ("skopt", "n_initial_points", "n_startup_trials"),
        ("optuna", "seed", "random_state"),
        ("cmaes", "seed", "random_state"),
    ],
)
def test_ludwig_spellings_of_an_option_land_on_one_key(kind, alias, key):
    setting = search({"type": kind, alias: 3})
    assert setting[key] == 3
    assert alias not in setting
    with pytest.raises(ConfigError, match=rf"search_alg\.{key}: .*another spelling"):
        search({"type": kind, alias: 3, key: 3})


def test_defaults_are_filled_in():
    setting = search("hyperopt")
    assert setting["n_startup_trials"] == 20  # hyperopt's own start
    assert setting["gamma"] == 0.25
    assert setting["multivariate"] is True and setting["constant_liar"] is True
    # CMA-ES learns from its own generations only: its start is one round of the design.
    assert search("cmaes")["n_startup_trials"] == search("cmaes")["batch_size"] == 4
    assert search({"type": "cmaes", "batch_size": 3})["n_startup_trials"] == 3
    assert search({"type": "cmaes", "n_startup_trials": 0})["n_startup_trials"] == 0
    assert search("sobol")["scramble"] is True


def test_unknown_option_names_the_key_and_lists_the_allowed_ones():
    with pytest.raises(ConfigError, match=r"search_alg\.nope: .*allowed: .*n_startup_trials"):
        search({"type": "optuna", "nope": 1})
    with pytest.raises(ConfigError, match=r"search_alg\.batch_size: .*allowed: .*scramble"):
        search({"type": "sobol", "batch_size": 2})  # designs have no rounds


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("n_startup_trials", -1),
        ("n_startup_trials", 2.5),
        ("batch_size", 0),
        ("gamma", 1.5),
        ("multivariate", "yes"),
        ("random_state", True),
    ],
)
def test_bad_option_values_are_errors(option, value):
    with pytest.raises(ConfigError, match=rf"search_alg\.{option}: "):
        search({"type": "optuna", option: value})


@pytest.mark.parametrize("kind", ["hebo", "zoopt", "nevergrad", "blendsearch", "cfo", "dragonfly"])
def test_ray_searchers_without_an_equivalent_are_not_supported(kind):
    with pytest.raises(NotSupportedError, match=rf"{kind}.*supported: .*hyperopt.*cmaes"):
        search({"type": kind})


def test_unknown_search_alg_is_a_config_error():
    with pytest.raises(ConfigError, match="allowed: .*bayesopt"):
        search({"type": "annealing"})


def test_batch_size_comes_from_max_concurrent_trials_else_the_default():
    assert search("optuna", executor={"max_concurrent_trials": 3})["batch_size"] == 3
    assert search("optuna")["batch_size"] == DEFAULT_BATCH_SIZE == 4
    assert search("optuna", executor={"max_concurrent_trials": "auto"})["batch_size"] == 4
    given = {"type": "optuna", "batch_size": 2}
    assert search(given, executor={"max_concurrent_trials": 3})["batch_size"] == 2
    assert "batch_size" not in search("random", executor={"max_concurrent_trials": 3})


@pytest.mark.parametrize(
    ("sampler", "expected"),
    [("tpe", "tpe"), ("auto", "tpe"), ("cmaes", "cmaes"), ("random", "variant"), ("qmc", "sobol")],
)
def test_optuna_executor_names_the_sampler(sampler, expected):
    notices: list[str] = []
    setting = normalize_search_alg(None, 5, {"type": "optuna", "sampler": sampler}, notices)
    assert setting["sampler"] == expected
    assert setting["random_state"] == 5
    assert any("'auto' runs TPE" in n for n in notices) == (sampler == "auto")


def test_optuna_executor_gp_sampler_runs_gp():
    setting = normalize_search_alg(None, 5, {"type": "optuna", "sampler": "gp"}, [])
    assert setting["sampler"] == "gp"


def test_optuna_executor_options_become_search_alg_options():
    executor = {
        "type": "optuna",
        "sampler": "tpe",
        "n_startup_trials": 3,
        "seed": 9,
        "max_concurrent_trials": 2,
    }
    setting = normalize_search_alg(None, 5, executor, [])
    assert setting["n_startup_trials"] == 3
    assert setting["random_state"] == 9
    assert setting["batch_size"] == 2
    with pytest.raises(ConfigError, match=r"executor\.n_startup_trials: .*no startup"):
        normalize_search_alg(
            None, 5, {"type": "optuna", "sampler": "qmc", "n_startup_trials": 2}, []
        )
    with pytest.raises(ConfigError, match=r"executor\.sampler: 'nsga2' .*allowed: .*cmaes"):
        normalize_search_alg(None, 5, {"type": "optuna", "sampler": "nsga2"}, [])


def test_optuna_executor_pruner_is_not_part_of_the_search_setting():
    """The pruner is read as the scheduler (config.py), never into search_alg."""
    executor = {"type": "optuna", "sampler": "cmaes", "seed": 3}
    plain = normalize_search_alg(None, 5, executor, [])
    pruned = normalize_search_alg(None, 5, {**executor, "pruner": {"type": "median"}}, [])
    assert pruned == plain
    assert "pruner" not in pruned


def test_optuna_executor_and_search_alg_together_are_an_error():
    with pytest.raises(ConfigError, match=r"search_alg: .*executor\.type optuna"):
        normalize_search_alg({"type": "optuna"}, 5, {"type": "optuna"}, [])


def test_optuna_study_name_and_storage_give_a_notice():
    notices: list[str] = []
    executor = {"type": "optuna", "study_name": "s", "storage": "sqlite:///s.db"}
    assert normalize_search_alg(None, 5, executor, notices)["sampler"] == "tpe"
    assert any("executor.study_name ('s')" in n for n in notices)
    assert any("executor.storage" in n and "sqlite:///s.db" in n for n in notices)


# --------------------------------------------------------------------------- #
# codec: the spaces as dimensions
# --------------------------------------------------------------------------- #

DISCRETE = {
    "randint": {"space": "randint", "lower": 2, "upper": 6},
    "qrandint_1": {"space": "qrandint", "lower": 2, "upper": 6},
    "qrandint_3": {"space": "qrandint", "lower": 0, "upper": 9, "q": 3},
    "lograndint": {"space": "lograndint", "lower": 1, "upper": 8},
    "qlograndint_1": {"space": "qlograndint", "lower": 1, "upper": 5, "q": 1},
    "qlograndint_2": {"space": "qlograndint", "lower": 2, "upper": 10, "q": 2},
    "quniform": {"space": "quniform", "lower": 0.2, "upper": 1.0, "q": 0.2},
    "qloguniform": {"space": "qloguniform", "lower": 0.1, "upper": 1.5, "q": 0.1},
    "choice": {"space": "choice", "categories": ["a", 2, {"k": [1]}, [3, 4], True]},
}
CONTINUOUS = {
    "uniform": {"space": "uniform", "lower": -2.0, "upper": 3.0},
    "loguniform": {"space": "loguniform", "lower": 1e-3, "upper": 0.1},
}
EXPECTED_SUPPORT = {  # Ray 2.60's bounds, as spaces.py documents them
    "randint": {2, 3, 4, 5},
    "qrandint_1": {2, 3, 4, 5},
    "qrandint_3": {0, 3, 6, 9},
    "lograndint": set(range(1, 8)),
    "qlograndint_1": {1, 2, 3, 4},
    "qlograndint_2": {2, 4, 6, 8, 10},
}
# Points of [0, 1) a design or a fallback draw can give.
UNIT = np.concatenate([np.linspace(0, 1, 4001, endpoint=False), [1 - 1e-12, 1e-12]])


def _canon(value) -> str:
    return json.dumps(value, sort_keys=True)


def _draws(spec: dict, count: int = 3000) -> list:
    rng = np.random.default_rng(0)
    return [spaces.sample(spec, rng) for _ in range(count)]


@pytest.mark.parametrize("name", DISCRETE)
def test_discrete_dimensions_decode_to_exactly_what_random_draws_give(name):
    spec = spaces.validate_space("p", DISCRETE[name])
    d = codec.dimension("p", spec)
    decoded = [d.decode(d.from_unit(float(u))) for u in UNIT]
    drawn = _draws(spec)
    assert {_canon(v) for v in decoded} == {_canon(v) for v in drawn}
    if name in EXPECTED_SUPPORT:
        assert set(decoded) == EXPECTED_SUPPORT[name]
    if spaces.value_kind(spec) == "int":
        assert all(type(v) is int for v in decoded)
    if "q" in spec and spec["space"] in ("quniform", "qloguniform"):
        q = spec["q"]
        assert all(type(v) is float for v in decoded)
        # Written as k*q in decimal, the way random draws write them (0.6, not 0.6000000000000001).
        assert all(v == spaces.times_q(round(v / q), q) for v in decoded)


@pytest.mark.parametrize("name", CONTINUOUS)
def test_continuous_dimensions_stay_in_the_bounds_of_random_draws(name):
    spec = spaces.validate_space("p", CONTINUOUS[name])
    d = codec.dimension("p", spec)
    decoded = [d.decode(d.from_unit(float(u))) for u in UNIT] + [d.decode(d.high)]
    drawn = _draws(spec)
    lower, upper = spec["lower"], spec["upper"]
    for values in (decoded, drawn):
        assert all(type(v) is float for v in values)
        assert lower <= min(values) and max(values) < upper  # upper excluded, as Ray does
    assert min(decoded) - lower < 0.01 * (upper - lower)
    assert upper - max(decoded) < 0.01 * (upper - lower)
    if name == "loguniform":  # uniform on the log scale: the median is the geometric mean
        assert math.isclose(float(np.median(decoded)), math.sqrt(lower * upper), rel_tol=0.01)


def test_randn_dimensions_follow_the_normal_of_random_draws():
    spec = spaces.validate_space("p", {"space": "randn", "mean": 1.0, "sd": 2.0})
    d = codec.dimension("p", spec)
    decoded = np.array([d.decode(d.from_unit(float(u))) for u in UNIT])
    drawn = np.array(_draws(spec))
    assert np.isfinite(decoded).all()
    assert abs(np.median(decoded) - 1.0) < 0.01
    for values in (decoded, drawn):
        within = np.mean(np.abs(values - 1.0) < 2.0)
        assert abs(within - 0.6827) < 0.03  # one sd either side
    qspec = spaces.validate_space("p", {"space": "qrandn", "mean": 0.0, "sd": 1.0, "q": 0.5})
    qd = codec.dimension("p", qspec)
    qdecoded = {qd.decode(qd.from_unit(float(u))) for u in UNIT}
    assert all(v == spaces.times_q(round(v / 0.5), 0.5) for v in qdecoded)
    assert {-1.0, -0.5, 0.0, 0.5, 1.0} <= qdecoded
    assert all(abs(v) <= 7 for v in qdecoded)  # quantiles near 0 and 1 stay finite


@pytest.mark.parametrize("name", [*DISCRETE, *CONTINUOUS])
def test_encode_inverts_decode_on_the_internal_values(name):
    d = dim({**DISCRETE, **CONTINUOUS}[name])
    if d.kind == "float":
        internals = [d.from_unit(float(u)) for u in UNIT[::50]]
    elif d.kind == "categorical":
        internals = list(range(d.size))
    else:
        internals = list(range(int(d.low), int(d.high) + 1))
    assert len(internals) > 1
    for internal in internals:
        assert d.encode(d.decode(internal)) == internal


@pytest.mark.parametrize("raw", [{"space": "randn"}, {"space": "randn", "mean": -3.0, "sd": 0.1}])
def test_encode_inverts_decode_for_randn_up_to_float_noise(raw):
    d = dim(raw)
    for u in UNIT[::50]:
        internal = d.from_unit(float(u))
        assert math.isclose(d.encode(d.decode(internal)), internal, rel_tol=1e-9, abs_tol=1e-12)


def test_qrandn_encode_gives_an_internal_value_that_decodes_back():
    d = dim({"space": "qrandn", "mean": 0.0, "sd": 1.0, "q": 0.1})
    for u in UNIT[::50]:
        value = d.decode(d.from_unit(float(u)))
        assert d.decode(d.encode(value)) == value


def test_distribution_spans_the_internal_values():
    for name, raw in {**DISCRETE, **CONTINUOUS}.items():
        d = dim(raw)
        dist = d.distribution()
        internals = [d.from_unit(float(u)) for u in UNIT[::100]]
        if d.kind == "categorical":
            assert list(dist.choices) == list(range(len(raw["categories"])))
            assert set(internals) == set(dist.choices)
            continue
        assert all(dist.low <= x <= dist.high for x in internals), name
        assert (dist.low, dist.high) == (d.low, d.high)
        assert dist.log == spaces.SPACES[raw["space"]].log
        assert type(internals[0]) is (int if d.kind == "int" else float)


@pytest.mark.parametrize(
    ("raw", "value", "message"),
    [
        ({"space": "randint", "lower": 2, "upper": 6}, 6, "outside"),  # upper excluded
        ({"space": "randint", "lower": 2, "upper": 6}, 1, "outside"),
        ({"space": "randint", "lower": 2, "upper": 6}, 2.5, "not an integer"),
        ({"space": "qrandint", "lower": 0, "upper": 9, "q": 3}, 12, "outside"),
        ({"space": "qrandint", "lower": 0, "upper": 9, "q": 3}, 4, "multiple of q"),
        ({"space": "quniform", "lower": 0.2, "upper": 1.0, "q": 0.2}, 0.3, "multiple of q"),
        ({"space": "quniform", "lower": 0.2, "upper": 1.0, "q": 0.2}, 1.2, "outside"),
        ({"space": "qloguniform", "lower": 0.1, "upper": 1.5, "q": 0.1}, 0.05, "multiple"),
        ({"space": "uniform", "lower": -2, "upper": 3}, 3.5, "outside"),
        ({"space": "uniform", "lower": -2, "upper": 3}, float("nan"), "finite"),
        ({"space": "loguniform", "lower": 1e-3, "upper": 0.1}, 0.5, "outside"),
        ({"space": "uniform", "lower": -2, "upper": 3}, "1", "not a number"),
        ({"space": "randint", "lower": 2, "upper": 6}, True, "not a number"),
        ({"space": "choice", "categories": ["a", 1]}, "b", "not one of the categories"),
        ({"space": "choice", "categories": ["a", 1]}, True, "not one of the categories"),
        ({"space": "choice", "categories": [{"k": 1}]}, {"k": 2}, "not one of"),
    ],
)
def test_encode_rejects_values_the_space_cannot_give(raw, value, message):
    with pytest.raises(ConfigError, match=message):
        dim(raw).encode(value)


def test_qrandn_encode_rejects_a_non_multiple_of_q():
    with pytest.raises(ConfigError, match="multiple of q"):
        dim({"space": "qrandn", "mean": 0.0, "sd": 1.0, "q": 0.1}).encode(0.35)


@pytest.mark.parametrize(
    "raw",
    [
        {"space": "randint", "lower": 2, "upper": 6},
        {"space": "quniform", "lower": 0.2, "upper": 1.0, "q": 0.2},
        {"space": "randn"},
    ],
)
@pytest.mark.parametrize("value", [float("inf"), float("nan")])
def test_encode_rejects_non_finite_values_with_a_config_error(raw, value):
    with pytest.raises(ConfigError):
        dim(raw).encode(value)


def test_grid_search_is_not_a_dimension_and_the_error_points_to_choice():
    spec = spaces.validate_space("batch", {"space": "grid_search", "values": [16, 32]})
    with pytest.raises(ConfigError, match=r"hyperopt\.parameters\.batch: .*space: choice"):
        codec.dimension("batch", spec)


def test_choice_categories_decode_as_deep_copies():
    spec = spaces.validate_space("p", {"space": "choice", "categories": [{"k": [1]}, [2, 3]]})
    d = codec.dimension("p", spec)
    first, second = d.decode(0), d.decode(1)
    assert (first, second) == (spec["categories"][0], spec["categories"][1])
    first["k"].append("x")
    second.append("x")
    assert spec["categories"] == [{"k": [1]}, [2, 3]]
    assert d.decode(0) == {"k": [1]}


@pytest.mark.parametrize(
    "raw",
    [
        {"space": "randint", "lower": -5, "upper": 5},
        {"space": "quniform", "lower": -1.0, "upper": 1.0, "q": 0.5},
    ],
)
def test_designs_cover_every_integer_evenly_with_negative_bounds(raw):
    d = dim(raw)
    grid = np.linspace(0, 1, 4000, endpoint=False)
    counts: dict = {}
    for u in grid:
        value = d.decode(d.from_unit(float(u)))
        counts[value] = counts.get(value, 0) + 1
    assert len(counts) == d.high - d.low + 1
    # Uniform on the searched scale: every internal value has the same share of [0, 1).
    assert max(counts.values()) - min(counts.values()) <= 1


@pytest.mark.parametrize(
    "raw",
    [
        {"space": "lograndint", "lower": 5, "upper": 9},
        {"space": "qlograndint", "lower": 5, "upper": 9, "q": 1},
        {"space": "qloguniform", "lower": 0.5, "upper": 2.0, "q": 0.1},
    ],
)
def test_unit_point_zero_decodes_inside_a_log_space(raw):
    d = dim(raw)
    d.encode(d.decode(d.from_unit(0.0)))  # ConfigError when outside the space


@pytest.mark.parametrize("kind", ["sobol", "halton"])
def test_unscrambled_designs_start_inside_the_spaces(kind):
    parameters = study(n={"space": "lograndint", "lower": 5, "upper": 9})
    section = hyperopt(parameters, {"type": kind, "scramble": False}, 4)
    assert all(5 <= fixed_parameters(section, i)["n"] <= 8 for i in range(4))


# --------------------------------------------------------------------------- #
# qmc designs and the plan of rounds
# --------------------------------------------------------------------------- #

SPACES3 = {
    "x": {"space": "uniform", "lower": -5.0, "upper": 10.0},
    "lr": {"space": "loguniform", "lower": 1e-4, "upper": 0.1},
    "c": {"space": "choice", "categories": ["a", "b", "c", "d"]},
}


@pytest.mark.parametrize("kind", ["sobol", "halton"])
def test_design_point_i_does_not_depend_on_num_samples(kind):
    parameters = study(**SPACES3)
    small = hyperopt(parameters, kind, 8)
    large = hyperopt(parameters, kind, 40)
    for i in range(8):
        assert fixed_parameters(small, i) == fixed_parameters(large, i)
        point = qmc.unit_point(kind, 3, i, 8, 42, True)
        assert np.array_equal(point, qmc.unit_point(kind, 3, i, 40, 42, True))
        assert ((point >= 0) & (point < 1)).all()
    assert len({json.dumps(fixed_parameters(large, i)) for i in range(40)}) == 40


def test_designs_differ_by_kind_and_by_seed():
    parameters = study(**SPACES3)

    def points(kind, seed):
        section = hyperopt(parameters, kind, 8, seed=seed)
        return [fixed_parameters(section, i) for i in range(8)]

    assert points("sobol", 42) == points("sobol", 42)
    assert points("sobol", 42) != points("halton", 42)
    assert points("sobol", 42) != points("sobol", 43)
    assert points("halton", 42) != points("halton", 43)
    with pytest.raises(ValueError, match="unknown design"):
        qmc.unit_point("lattice", 2, 0, 4, 0, True)


def test_sobol_stratifies_each_parameter():
    """16 points of a scrambled Sobol net: each choice of 4 is taken exactly 4 times."""
    section = hyperopt(study(**SPACES3), "sobol", 16)
    counts: dict = {}
    for i in range(16):
        value = fixed_parameters(section, i)["c"]
        counts[value] = counts.get(value, 0) + 1
    assert counts == {"a": 4, "b": 4, "c": 4, "d": 4}


def test_plan_rounds_partition_the_trials():
    plan = SearchPlan(num_trials=23, fixed=10, batch_size=4)
    assert plan.rounds == 5
    covered = []
    for r in range(plan.rounds):
        trials = plan.trials_of(r)
        assert trials[0] == plan.first_of(r)
        assert all(plan.round_of(i) == r for i in trials)
        assert len(trials) == (10 if r == 0 else 4 if r < 4 else 1)
        covered += list(trials)
    assert covered == list(range(23))
    # Every trial before a round is its history; the round before ends just before it.
    for r in range(1, plan.rounds):
        assert plan.first_of(r) == plan.trials_of(r - 1)[-1] + 1


def test_plan_without_a_start_begins_with_round_one():
    plan = SearchPlan(num_trials=7, fixed=0, batch_size=3)
    assert list(plan.trials_of(0)) == []
    assert [plan.round_of(i) for i in range(7)] == [1, 1, 1, 2, 2, 2, 3]
    assert plan.first_of(1) == 0 and plan.rounds == 4


def test_make_plan_from_the_search_setting():
    parameters = study(**SPACES3)
    alg = {"type": "optuna", "n_startup_trials": 10, "batch_size": 4}
    assert make_plan(hyperopt(parameters, alg, 23)) == SearchPlan(23, 10, 4)
    assert make_plan(hyperopt(parameters, "sobol", 23)) == SearchPlan(23, 23, 0)
    assert make_plan(hyperopt(parameters, "random", 5)).rounds == 1
    points = [{"x": 0.0}] * 6
    alg = {"type": "optuna", "n_startup_trials": 2, "batch_size": 4, "points_to_evaluate": points}
    assert make_plan(hyperopt(parameters, alg, 23)).fixed == 6  # points outnumber the start


def test_known_points_come_first_and_are_filled_from_the_design():
    parameters = study(**SPACES3)
    points = [{"x": 1.5, "c": "b", "lr": 0.01}, {"c": "d"}]
    alg = {"type": "optuna", "n_startup_trials": 4, "points_to_evaluate": points}
    with_points = hyperopt(parameters, alg, 12)
    without = hyperopt(parameters, {"type": "optuna", "n_startup_trials": 4}, 12)
    assert fixed_parameters(with_points, 0) == {"x": 1.5, "lr": 0.01, "c": "b"}
    second = fixed_parameters(with_points, 1)
    assert list(second) == ["x", "lr", "c"]  # the order of hyperopt.parameters
    assert second == {**fixed_parameters(without, 1), "c": "d"}
    for i in (2, 3):
        assert fixed_parameters(with_points, i) == fixed_parameters(without, i)
    # A point's values are copies: a trial cannot change the study's setting.
    fixed_parameters(with_points, 0)["x"] = 99
    assert points[0]["x"] == 1.5


def test_point_values_are_checked_against_the_spaces():
    parameters = study(**SPACES3)

    def check(points, num_samples=4, params=parameters, kind="optuna"):
        check_search(
            {
                "parameters": params,
                "search_alg": search({"type": kind, "points_to_evaluate": points}),
                "executor": {"num_samples": num_samples},
            },
            [],
        )

    check([{"x": 1.0}, {"c": "a"}])
    with pytest.raises(ConfigError, match=r"points_to_evaluate: 3 points, more than the 2"):
        check([{"x": 1.0}] * 3, num_samples=2)
    with pytest.raises(ConfigError, match=r"points_to_evaluate\[1\]\.nope: .*x, lr, c"):
        check([{"x": 1.0}, {"nope": 1}])
    with pytest.raises(ConfigError, match=r"points_to_evaluate\[0\]\.x: .*outside"):
        check([{"x": 11.0}])
    with pytest.raises(ConfigError, match=r"points_to_evaluate\[2\]\.c: .*categories"):
        check([{}, {}, {"c": "e"}])
    grid = {**parameters, **study(batch={"space": "grid_search", "values": [16, 32]})}
    with pytest.raises(ConfigError, match=r"points_to_evaluate: cannot be combined with grid"):
        check([{"x": 1.0}], params=grid, kind="random")
    with pytest.raises(ConfigError, match=r"parameters\.batch: grid_search .*choice"):
        check([], params=grid, kind="optuna")


def test_a_search_that_never_learns_gets_a_notice():
    parameters = study(**SPACES3)

    def notices(num_samples):
        found: list[str] = []
        section = {
            "parameters": parameters,
            "search_alg": search("optuna"),  # n_startup_trials 10
            "executor": {"num_samples": num_samples},
        }
        check_search(section, found)
        return found

    assert any("never learns" in notice for notice in notices(10))
    assert not any("never learns" in notice for notice in notices(11))


def test_cmaes_says_that_choices_are_drawn_at_random():
    def notices(parameters):
        found: list[str] = []
        section = {
            "parameters": parameters,
            "search_alg": search("cmaes"),
            "executor": {"num_samples": 20},
        }
        check_search(section, found)
        return found

    assert any("cmaes" in n and " c (choice)" in n for n in notices(study(**SPACES3)))
    numbers = {k: v for k, v in SPACES3.items() if k != "c"}
    assert not any("choice" in n for n in notices(study(**numbers)))


# --------------------------------------------------------------------------- #
# adaptive: rounds through optuna's ask-and-tell
# --------------------------------------------------------------------------- #

SPACES4 = {
    "x": {"space": "uniform", "lower": -5.0, "upper": 10.0},
    "lr": {"space": "loguniform", "lower": 1e-3, "upper": 1.0},
    "c": {"space": "choice", "categories": ["a", "b", {"k": 1}]},
    "n": {"space": "randint", "lower": 1, "upper": 6},
}
ALGS = {
    "tpe": {"type": "optuna", "n_startup_trials": 4, "batch_size": 3},
    "cmaes": {"type": "cmaes", "batch_size": 3, "popsize": 4},
}


def objective(values: dict) -> float:
    penalty = {"a": 0.0, "b": 1.0}.get(values["c"], 2.0) if isinstance(values["c"], str) else 2.0
    return (values["x"] - 1) ** 2 + math.log10(values["lr"]) ** 2 + abs(values["n"] - 3) + penalty


def simulate(section: dict, score=None) -> list[adaptive.PastTrial]:
    """A whole study in-process: round 0 from the plan, each later trial from suggest().

    `score(index, values)` gives a trial's value (None: failed); `objective` by default.
    """
    score = score or (lambda index, values: objective(values))
    plan = make_plan(section)
    history: list[adaptive.PastTrial] = []
    for i in range(plan.num_trials):
        r = plan.round_of(i)
        if r == 0:
            values = fixed_parameters(section, i)
            internal, attrs = search_plan.internal_values(section["parameters"], values), {}
        else:
            s = adaptive.suggest(section, plan, i, history[: plan.first_of(r)])[-1]
            assert s.index == i
            values, internal, attrs = s.parameters, s.internal, s.system_attrs
        history.append(adaptive.PastTrial(i, values, internal, score(i, values), attrs))
    return history


@cache
def _section(kind: str, num_samples: int = 16) -> str:
    return json.dumps(hyperopt(study(**SPACES4), ALGS[kind], num_samples))


def section_of(kind: str, num_samples: int = 16) -> dict:
    return json.loads(_section(kind, num_samples))


@cache
def _baseline(kind: str) -> list[adaptive.PastTrial]:
    return simulate(section_of(kind))


def baseline(kind: str) -> list[adaptive.PastTrial]:
    return copy.deepcopy(_baseline(kind))


def notes(past) -> dict:
    return {k: v for k, v in past.system_attrs.items() if not k.startswith("cma:optimizer")}


def values_of(history) -> list[dict]:
    return [past.parameters for past in history]


@pytest.mark.parametrize("kind", ALGS)
def test_a_study_is_the_same_every_time(kind):
    first = baseline(kind)
    again = simulate(section_of(kind))
    assert values_of(first) == values_of(again)
    assert [p.internal for p in first] == [p.internal for p in again]
    # The sampler's notes too, but for CMA-ES's pickled optimizer: its bytes differ from run
    # to run (cmaes keeps np.empty memory in it), while every value it gives is the same.
    assert [notes(p) for p in first] == [notes(p) for p in again]
    parameters = section_of(kind)["parameters"]
    for past in first:  # every suggestion lies in the spaces, and its internal values match
        assert search_plan.internal_values(parameters, past.parameters) == pytest.approx(
            past.internal
        )
    assert len({json.dumps(v, sort_keys=True) for v in values_of(first)}) == len(first)


def test_cmaes_carries_its_state_from_round_to_round():
    history = baseline("cmaes")
    generations = [int(p.system_attrs.get("cma:generation", -1)) for p in history]
    # popsize 4: a generation ends every 4 told trials, and the sampler sees it next round.
    assert generations == sorted(generations) and generations[-1] >= 2
    assert any(key.startswith("cma:optimizer") for key in history[-1].system_attrs)


@pytest.mark.parametrize("kind", ALGS)
def test_any_job_of_a_round_computes_the_same_values(kind):
    section, history = section_of(kind), baseline(kind)
    plan = make_plan(section)
    for r in (1, 3):
        trials = plan.trials_of(r)
        past = history[: plan.first_of(r)]
        whole = adaptive.suggest(section, plan, trials[-1], past)
        assert [s.index for s in whole] == list(trials)
        assert [s.parameters for s in whole] == values_of(history[trials[0] : trials[-1] + 1])
        for k, index in enumerate(trials):
            alone = adaptive.suggest(section, plan, index, past)
            assert [s.parameters for s in alone] == [s.parameters for s in whole[: k + 1]]
            assert [s.internal for s in alone] == [s.internal for s in whole[: k + 1]]
            assert notes(alone[-1]) == notes(whole[k])


def test_a_round_needs_exactly_the_trials_before_it():
    section, history = section_of("tpe"), baseline("tpe")
    plan = make_plan(section)  # fixed 4, batch 3: round 2 is trials 7..9
    first = plan.first_of(2)
    adaptive.suggest(section, plan, first, history[:first])
    for wrong in (
        history[: first - 1],
        history[: first + 1],
        history[1:first],
        [*history[: first - 2], history[first - 1], history[first - 2]],
    ):
        with pytest.raises(ValueError, match="round 2 needs the trials 0..6"):
            adaptive.suggest(section, plan, first, wrong)
    with pytest.raises(ValueError, match="round 0"):
        adaptive.suggest(section, plan, 0, [])


@pytest.mark.parametrize("kind", ALGS)
def test_a_round_sees_only_the_scores_of_earlier_rounds(kind):
    section, history = section_of(kind), baseline(kind)
    plan = make_plan(section)
    # A trial the sampler learns from (CMA-ES learns from its own generations only).
    changed = next(
        p.index
        for p in history
        if plan.round_of(p.index) >= 1 and (kind != "cmaes" or "cma:generation" in p.system_attrs)
    )
    r = plan.round_of(changed)

    def score(index, values):
        return -100.0 if index == changed else objective(values)

    other = simulate(section, score)
    until = plan.trials_of(r)[-1] + 1
    assert values_of(other)[:until] == values_of(history)[:until]  # round r and before
    assert until < plan.num_trials - 3
    assert values_of(other)[until:] != values_of(history)[until:]  # some later round learned


def test_the_goal_decides_what_is_good():
    plan_section = section_of("tpe")
    maximize = {**plan_section, "goal": "maximize"}
    minimized, maximized = baseline("tpe"), simulate(maximize)
    fixed = make_plan(plan_section).fixed
    assert values_of(minimized)[:fixed] == values_of(maximized)[:fixed]
    assert values_of(minimized)[fixed:] != values_of(maximized)[fixed:]


SMALL = {
    "c": {"space": "choice", "categories": ["a", "b", "c"]},
    "n": {"space": "randint", "lower": 0, "upper": 2},
}


def small_score(index, values) -> float:
    return "abc".index(values["c"]) + values["n"]


@pytest.mark.parametrize("kind", ALGS)
def test_a_small_space_is_covered_before_anything_repeats(kind):
    alg = {**ALGS[kind], "batch_size": 2}
    if kind == "tpe":
        alg["n_startup_trials"] = 2
    six = simulate(hyperopt(study(**SMALL), alg, 6), small_score)
    keys = [json.dumps(v, sort_keys=True) for v in values_of(six)]
    assert len(set(keys)) == 6  # all 3 x 2 combinations

    section = hyperopt(study(**SMALL), alg, 8)
    plan = make_plan(section)
    eight = simulate(section, small_score)
    assert values_of(eight)[:6] == values_of(six)  # raising num_samples appends trials
    last = adaptive.suggest(section, plan, 7, eight[:6])  # the round of trials 6 and 7
    # The same values as simulate() got from its own calls: still deterministic.
    assert [s.parameters for s in last] == values_of(eight)[6:]
    for s in last:
        assert s.duplicate_of is not None and s.duplicate_of < 6
        assert eight[s.duplicate_of].parameters == s.parameters
        assert s.asks == adaptive.MAX_ASKS + 1
        assert s.sampler_record()["duplicate_of"] == s.duplicate_of


@pytest.mark.parametrize("kind", ALGS)
def test_failed_trials_are_told_and_the_study_goes_on(kind):
    section = section_of(kind)
    plan = make_plan(section)
    failed = {plan.trials_of(1)[0], plan.trials_of(2)[2]}
    if plan.fixed:
        failed.add(1)

    def score(index, values):
        return None if index in failed else objective(values)

    history = simulate(section, score)
    assert len(history) == plan.num_trials
    assert [p.index for p in history if p.value is None] == sorted(failed)
    assert len({json.dumps(v, sort_keys=True) for v in values_of(history)}) == len(history)
    assert values_of(simulate(section, score)) == values_of(history)


def test_each_round_has_its_own_sampler_seed(monkeypatch):
    section = section_of("tpe")
    plan = make_plan(section)
    used: list[int] = []
    real = adaptive.make_sampler

    def recording(search_alg, seed):
        used.append(seed)
        return real(search_alg, seed)

    history = baseline("tpe")
    monkeypatch.setattr(adaptive, "make_sampler", recording)
    for r in range(1, plan.rounds):
        adaptive.suggest(section, plan, plan.first_of(r), history[: plan.first_of(r)])
    assert used == [seeds.round_seed(42, r) for r in range(1, plan.rounds)]
    assert len(set(used)) == len(used)


def test_round_seeds_depend_on_the_seed_and_the_round():
    values = {(s, r): seeds.round_seed(s, r) for s in (-1, 0, 1, 2**70) for r in range(30)}
    assert len(set(values.values())) == len(values)
    assert all(0 <= v < 2**31 - 1 for v in values.values())
    assert seeds.round_seed(5, 3) == seeds.round_seed(5, 3)
    assert seeds.seed_words(-1) != seeds.seed_words(1)


# --------------------------------------------------------------------------- #
# rounds.py: the files of a round job
# --------------------------------------------------------------------------- #

TUNED = {
    "trainer.learning_rate": {"space": "loguniform", "lower": 0.001, "upper": 0.05},
    "combiner.output_size": {"space": "choice", "categories": [4, 8, 16]},
}


def write_trial(folder: Path, record: dict, score: dict) -> Path:
    trial = folder / "trials" / record["trial_id"]
    trial.mkdir(parents=True, exist_ok=True)
    io.write_json(trial / "parameters.json", record)
    io.write_json(trial / "score.json", score)
    return trial / "score.json"


def record_of(index: int, parameters: dict, internal: dict | None = None, **extra) -> dict:
    record = {
        "trial_id": f"trial_{index:04d}",
        "index": index,
        "round": 0,
        "trial_seed": trial_seed(42, index),
        "parameters": parameters,
        **extra,
    }
    if internal is not None:
        record["sampler"] = {"internal": internal, "asks": 1}
    return record


OK = {"status": "ok", "metric_score": 0.75}


@pytest.mark.parametrize(
    ("score", "value"),
    [
        (OK, 0.75),
        ({"status": "ok", "metric_score": 1}, 1.0),
        ({"status": "failed", "metric_score": None}, None),
        ({"status": "skipped", "metric_score": 0.5}, None),
        ({"status": "ok", "metric_score": float("nan")}, None),
        ({"status": "ok", "metric_score": float("inf")}, None),
        ({"status": "ok", "metric_score": None}, None),
    ],
)
def test_history_entry_tells_only_finite_ok_scores(tmp_path, score, value):
    parameters = study(**TUNED)
    values = {"trainer.learning_rate": 0.01, "combiner.output_size": 16}
    path = write_trial(tmp_path, record_of(3, values), score)
    entry = search_rounds.history_entry(parameters, path)
    assert entry["value"] == value
    assert entry["index"] == 3 and entry["trial_id"] == "trial_0003"
    assert entry["parameters"] == values
    assert entry["system_attrs"] == {}


def test_history_entry_takes_the_samplers_view_from_the_record(tmp_path):
    parameters = study(**TUNED)
    values = {"trainer.learning_rate": 0.01, "combiner.output_size": 16}
    # A record without the sampler's notes (a known point): its values are encoded.
    plain = search_rounds.history_entry(parameters, write_trial(tmp_path, record_of(0, values), OK))
    assert plain["internal"] == {"trainer.learning_rate": 0.01, "combiner.output_size": 2}
    # A suggested trial's record: the internal values and notes it was asked with.
    internal = {"trainer.learning_rate": 0.02, "combiner.output_size": 0}
    record = record_of(1, values, internal)
    record["sampler"]["system_attrs"] = {"cma:generation": 3}
    entry = search_rounds.history_entry(parameters, write_trial(tmp_path, record, OK))
    assert entry["internal"] == internal
    assert entry["system_attrs"] == {"cma:generation": 3}
    bad = record_of(2, {"trainer.learning_rate": 0.5, "combiner.output_size": 16})
    with pytest.raises(ConfigError, match="outside"):
        search_rounds.history_entry(parameters, write_trial(tmp_path, bad, OK))


@pytest.fixture(scope="module")
def engine():
    from snaketune.backends import get_engine

    return get_engine("sklearn")


def setting_of(engine, alg: dict, tuned: dict = TUNED, num_samples: int = 5) -> dict:
    """The search setting load_study writes to search/<digest>.json."""
    model = model_config()
    model.pop("hyperopt")
    section = hyperopt(study(**tuned), alg, num_samples, goal="maximize")
    base = resolve.resolve_trial(model, {}, engine.default_encoder, engine.default_decoder)
    plan = make_plan(section)
    return {
        "parameters": section["parameters"],
        "search_alg": section["search_alg"],
        "goal": section["goal"],
        "model": model,
        "engine": "sklearn",
        "command": None,
        "random_seed": 42,
        "prep_key": engine.check_trial(base),
        "plan": {"fixed": plan.fixed, "batch_size": plan.batch_size},
    }


def round_zero(folder: Path, setting: dict) -> list[Path]:
    """Round 0's trial folders as parse time and the train jobs leave them."""
    section = {**setting, "executor": {"num_samples": 5}}
    paths = []
    for i in range(setting["plan"]["fixed"]):
        values = fixed_parameters(section, i)
        internal = search_plan.internal_values(setting["parameters"], values)
        score = {"status": "ok", "metric_score": 0.5 + 0.1 * i}
        paths.append(write_trial(folder, record_of(i, values, internal), score))
    return paths


ROUND_ALGS = {
    "tpe": {"type": "optuna", "n_startup_trials": 3, "batch_size": 4},
    "cmaes": {"type": "cmaes", "n_startup_trials": 3, "batch_size": 4, "popsize": 4},
}


@pytest.mark.parametrize("kind", ROUND_ALGS)
def test_round_files_hold_a_whole_batch_with_records_and_configs(tmp_path, engine, kind):
    setting = setting_of(engine, ROUND_ALGS[kind])  # num_samples 5: trials 3 and 4 in round 1
    scores = round_zero(tmp_path, setting)
    history, round_file = search_rounds.suggest_round(
        setting, 1, None, list(reversed(scores)), engine
    )
    assert [entry["index"] for entry in history] == [0, 1, 2]
    assert [entry["value"] for entry in history] == pytest.approx([0.5, 0.6, 0.7])
    assert round_file["round"] == 1 and round_file["first"] == 3
    entries = round_file["trials"]
    assert [e["record"]["index"] for e in entries] == [3, 4, 5, 6]  # past num_samples: kept
    plan = SearchPlan(7, 3, 4)
    expected = adaptive.suggest(setting, plan, 6, search_rounds.past_trials(history))
    for entry, suggestion in zip(entries, expected, strict=True):
        record, config = entry["record"], entry["config"]
        index = record["index"]
        assert record["trial_id"] == f"trial_{index:04d}"
        assert record["round"] == 1
        assert record["trial_seed"] == trial_seed(42, index)
        assert record["parameters"] == suggestion.parameters
        assert record["sampler"] == suggestion.sampler_record()
        assert config == resolve.resolve_trial(
            setting["model"], record["parameters"], engine.default_encoder, engine.default_decoder
        )
        assert config["trainer"]["learning_rate"] == record["parameters"]["trainer.learning_rate"]
        assert config["combiner"]["output_size"] == record["parameters"]["combiner.output_size"]

    # Round 2 from the files of round 1 (one of its trials failed) and history_1.json.
    io.write_json(tmp_path / "history_1.json", history)
    round_scores = []
    for entry in entries[:4]:
        failed = entry["record"]["index"] == 4
        score = {"status": "failed", "metric_score": None} if failed else OK
        round_scores.append(write_trial(tmp_path, entry["record"], score))
    history2, round2 = search_rounds.suggest_round(
        setting, 2, tmp_path / "history_1.json", round_scores, engine
    )
    assert [entry["index"] for entry in history2] == list(range(7))
    assert history2[4]["value"] is None
    assert [e["record"]["index"] for e in round2["trials"]] == [7, 8, 9, 10]
    # Through JSON or in memory, the sampler is told the same history.
    in_memory = [
        *search_rounds.past_trials(history),
        *(
            adaptive.PastTrial(
                s.index, s.parameters, s.internal, None if s.index == 4 else 0.75, s.system_attrs
            )
            for s in expected
        ),
    ]
    direct = adaptive.suggest(setting, SearchPlan(11, 3, 4), 10, in_memory)
    assert [e["record"]["parameters"] for e in round2["trials"]] == [s.parameters for s in direct]


def run_program(monkeypatch, argv: list[str]) -> tuple[int, list[int]]:
    """scripts/rounds.py's main in-process: (exit code, the threads it pinned)."""
    pinned: list[int] = []
    monkeypatch.setattr("snaketune.trial.pin_threads", pinned.append)
    before = sys.stderr
    monkeypatch.setattr(sys, "stderr", before)  # suggest points it at its log: restored after
    code = rounds_program.main(argv)
    if sys.stderr is not before:
        sys.stderr.close()
    return code, pinned


def suggest_argv(folder: Path, setting: dict, scores: list[Path]) -> list[str]:
    search_file = folder / "search.json"
    io.write_json(search_file, setting)
    argv = ["suggest", "--search", str(search_file), "--round", "1"]
    argv += ["--log", str(folder / "suggest.log"), "--round-file", str(folder / "round_1.json")]
    return [*argv, "--history", str(folder / "history_1.json"), *map(str, scores)]


def test_the_suggest_program_writes_the_round_and_its_history(tmp_path, engine, monkeypatch):
    setting = setting_of(engine, ROUND_ALGS["tpe"])
    scores = round_zero(tmp_path, setting)
    history, round_file = search_rounds.suggest_round(setting, 1, None, scores, engine)
    code, pinned = run_program(monkeypatch, suggest_argv(tmp_path, setting, scores))
    assert code == 0 and pinned == [1]
    assert io.read_json(tmp_path / "history_1.json") == history
    assert io.read_json(tmp_path / "round_1.json") == round_file
    assert "round 1: 4 suggestions from 3 earlier trials" in (tmp_path / "suggest.log").read_text()


def test_extract_trial_finds_its_entry(tmp_path, engine):
    setting = setting_of(engine, ROUND_ALGS["tpe"])
    _, round_file = search_rounds.suggest_round(
        setting, 1, None, round_zero(tmp_path, setting), engine
    )
    path = tmp_path / "round_1.json"
    io.write_json(path, round_file)
    record, config = search_rounds.extract_trial(path, "trial_0005")
    assert record == round_file["trials"][2]["record"] and record["index"] == 5
    assert config == round_file["trials"][2]["config"]
    with pytest.raises(ValueError, match="trial_0099 is not in"):
        search_rounds.extract_trial(path, "trial_0099")

    # The extract command writes them into the trial's sampled/ folder, older ones removed.
    sampled = tmp_path / "sampled"
    (sampled / "older").mkdir(parents=True)
    target = sampled / "snew"
    target.mkdir()
    argv = ["extract", "--round-file", str(path), "--trial", "trial_0005"]
    argv += ["--parameters", str(target / "parameters.json"), "--config", str(target / "c.yaml")]
    assert rounds_program.main(argv) == 0
    assert io.read_json(target / "parameters.json") == record
    assert io.read_yaml(target / "c.yaml") == config
    assert [p.name for p in sampled.iterdir()] == ["snew"]


def test_a_suggestion_that_changes_preprocessing_is_refused(tmp_path, engine, monkeypatch):
    tuned = {
        **TUNED,
        "title.preprocessing.most_common": {"space": "randint", "lower": 5, "upper": 50},
    }
    setting = setting_of(engine, ROUND_ALGS["tpe"], tuned)
    scores = round_zero(tmp_path, setting)
    with pytest.raises(ConfigError, match=r"trial_0003 .*change the data's preprocessing"):
        search_rounds.suggest_round(setting, 1, None, scores, engine)

    # The suggest program ends with one paragraph, no traceback, and writes nothing.
    code, _ = run_program(monkeypatch, suggest_argv(tmp_path, setting, scores))
    assert code == 1
    text = (tmp_path / "suggest.log").read_text()
    assert text.startswith("snaketune: hyperopt.parameters: ") and "Traceback" not in text
    assert "trial_0003" in text and text.count("\n") == 1
    assert not (tmp_path / "round_1.json").exists()
    assert not (tmp_path / "history_1.json").exists()


def test_a_suggestion_the_engine_refuses_names_the_trial(tmp_path, engine):
    tuned = {**TUNED, "combiner.output_size": {"space": "choice", "categories": [-1, -2]}}
    setting = setting_of(engine, ROUND_ALGS["tpe"], tuned)
    scores = []
    for i in range(3):
        values = {"trainer.learning_rate": 0.01 + 0.01 * i, "combiner.output_size": -1 - i % 2}
        internal = search_plan.internal_values(setting["parameters"], values)
        scores.append(write_trial(tmp_path, record_of(i, values, internal), OK))
    with pytest.raises(ConfigError, match=r"suggested values for trial_0003 .*invalid config"):
        search_rounds.suggest_round(setting, 1, None, scores, engine)
