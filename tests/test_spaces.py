"""The 12 search spaces: validation messages, normalization and sampled support."""

from __future__ import annotations

import json
import math
import statistics
from collections import Counter

import numpy as np
import pytest

from snaketune.errors import ConfigError
from snaketune.spaces import (
    SPACE_NAMES,
    grid_values,
    is_grid,
    sample,
    validate_space,
    value_kind,
)

N = 4000


def draws(raw: dict, n: int = N, seed: int = 0) -> list:
    spec = validate_space("p", raw)
    rng = np.random.default_rng(seed)
    return [sample(spec, rng) for _ in range(n)]


def frequencies(values: list) -> dict:
    return {value: count / len(values) for value, count in Counter(values).items()}


# One valid example of every space, used by the checks that apply to all of them.
EXAMPLES = {
    "choice": {"space": "choice", "categories": ["a", "b", "c"]},
    "grid_search": {"space": "grid_search", "values": [1, 2]},
    "uniform": {"space": "uniform", "lower": 0, "upper": 1},
    "quniform": {"space": "quniform", "lower": 0, "upper": 1, "q": 0.1},
    "loguniform": {"space": "loguniform", "lower": 1e-4, "upper": 1},
    "qloguniform": {"space": "qloguniform", "lower": 1, "upper": 100, "q": 1},
    "randn": {"space": "randn"},
    "qrandn": {"space": "qrandn", "mean": 0, "sd": 1, "q": 0.1},
    "randint": {"space": "randint", "lower": 1, "upper": 4},
    "qrandint": {"space": "qrandint", "lower": 0, "upper": 10, "q": 4},
    "lograndint": {"space": "lograndint", "lower": 1, "upper": 8},
    "qlograndint": {"space": "qlograndint", "lower": 2, "upper": 16, "q": 2},
}


def test_space_names_are_the_twelve_ludwig_names_in_order():
    assert SPACE_NAMES == (
        "choice",
        "grid_search",
        "uniform",
        "quniform",
        "loguniform",
        "qloguniform",
        "randn",
        "qrandn",
        "randint",
        "qrandint",
        "lograndint",
        "qlograndint",
    )
    assert set(EXAMPLES) == set(SPACE_NAMES)


# --------------------------------------------------------------------------- #
# Support and distribution of each space
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(
    ("raw", "support"),
    [
        ({"space": "randint", "lower": 1, "upper": 4}, {1, 2, 3}),
        ({"space": "qrandint", "lower": 1, "upper": 4}, {1, 2, 3}),  # q defaults to 1
        ({"space": "qrandint", "lower": 1, "upper": 4, "q": 1}, {1, 2, 3}),
        ({"space": "qrandint", "lower": 3, "upper": 6, "q": 3}, {3, 6}),
        ({"space": "qrandint", "lower": 0, "upper": 10, "q": 4}, {0, 4, 8}),
        ({"space": "qrandint", "lower": -10, "upper": 10, "q": 5}, {-10, -5, 0, 5, 10}),
        ({"space": "qrandint", "lower": 1, "upper": 11, "q": 5}, {5, 10}),
        ({"space": "lograndint", "lower": 1, "upper": 8}, set(range(1, 8))),
        ({"space": "qlograndint", "lower": 1, "upper": 8, "q": 1}, set(range(1, 8))),
        ({"space": "qlograndint", "lower": 2, "upper": 16, "q": 2}, set(range(2, 17, 2))),
        ({"space": "qlograndint", "lower": 3, "upper": 17, "q": 4}, {4, 8, 12, 16}),
        ({"space": "choice", "categories": ["a", 2, None, True]}, {"a", 2, None, True}),
        ({"space": "grid_search", "values": ["x", "y"]}, {"x", "y"}),
    ],
)
def test_discrete_support_is_exactly_as_documented(raw, support):
    assert set(draws(raw)) == support


def test_qrandint_with_q_above_one_is_uniform_over_the_multiples():
    freq = frequencies(draws({"space": "qrandint", "lower": 3, "upper": 6, "q": 3}))
    assert 0.45 < freq[3] < 0.55
    assert 0.45 < freq[6] < 0.55


def test_quniform_gives_eleven_clean_values_with_half_weight_end_points():
    values = draws({"space": "quniform", "lower": 0, "upper": 1, "q": 0.1})
    assert sorted(set(values)) == [k / 10 for k in range(11)]
    assert all(type(v) is float for v in values)
    # JSON shows 0.3, not 0.30000000000000004.
    assert {json.dumps(v) for v in values} == {f"{k / 10:.1f}" for k in range(11)}
    freq = frequencies(values)
    inner = statistics.mean(freq[k / 10] for k in range(1, 10))  # about 0.1
    for end in (0.0, 1.0):
        assert 0.3 < freq[end] / inner < 0.7  # about 0.5


def test_quniform_accepts_bounds_that_are_multiples_up_to_float_noise():
    # 0.9 / 0.3 == 3.0000000000000004: still a multiple.
    assert set(draws({"space": "quniform", "lower": 0.3, "upper": 0.9, "q": 0.3})) == {
        0.3,
        0.6,
        0.9,
    }


def test_uniform_stays_in_lower_upper_with_the_right_mean():
    values = draws({"space": "uniform", "lower": 2, "upper": 5})
    assert all(2 <= v < 5 for v in values)
    assert abs(statistics.mean(values) - 3.5) < 0.06  # standard error about 0.014
    assert 0.22 < sum(v < 2.75 for v in values) / N < 0.28  # flat, not skewed


def test_loguniform_is_uniform_in_log_space():
    values = draws({"space": "loguniform", "lower": 1e-4, "upper": 1})
    assert all(1e-4 <= v < 1 for v in values)
    # The median is near the geometric mean (1e-2); a linear uniform would give 0.5.
    assert abs(math.log10(statistics.median(values)) + 2) < 0.15
    assert 0.22 < sum(v < 1e-3 for v in values) / N < 0.28  # one decade in four


def test_qloguniform_rounds_to_q_and_includes_upper():
    values = draws({"space": "qloguniform", "lower": 1, "upper": 10, "q": 1})
    assert sorted(set(values)) == [float(k) for k in range(1, 11)]
    assert all(type(v) is float for v in values)
    freq = frequencies(values)
    assert freq[2.0] > freq[5.0] > freq[9.0]  # skewed to small values


def test_qloguniform_with_fractional_q_gives_clean_multiples():
    values = draws({"space": "qloguniform", "lower": 0.1, "upper": 1, "q": 0.1})
    assert sorted(set(values)) == [k / 10 for k in range(1, 11)]


def test_randn_has_the_requested_mean_and_sd():
    values = draws({"space": "randn", "mean": 3, "sd": 2})
    assert abs(statistics.mean(values) - 3) < 0.12  # standard error about 0.03
    assert abs(statistics.stdev(values) - 2) < 0.1


def test_randn_defaults_to_standard_normal():
    values = draws({"space": "randn"})
    assert abs(statistics.mean(values)) < 0.06
    assert abs(statistics.stdev(values) - 1) < 0.05


def test_qrandn_is_normal_rounded_to_q():
    values = draws({"space": "qrandn", "mean": 1, "sd": 2, "q": 0.5})
    assert all(v * 2 == round(v * 2) for v in values)
    assert abs(statistics.mean(values) - 1) < 0.12
    assert abs(statistics.stdev(values) - 2) < 0.12
    clean = draws({"space": "qrandn", "mean": 0, "sd": 1, "q": 0.1})
    assert all(len(json.dumps(abs(v))) <= 4 for v in clean)  # e.g. "0.3", "2.1"


def test_randint_is_uniform():
    freq = frequencies(draws({"space": "randint", "lower": 1, "upper": 4}))
    assert all(0.3 < freq[v] < 0.37 for v in (1, 2, 3))


def test_lograndint_is_skewed_to_the_lower_bound():
    freq = frequencies(draws({"space": "lograndint", "lower": 1, "upper": 8}))
    # P(v) = ln((v+1)/v) / ln 8, so P(1) = 1/3 and P(7) is about 0.064.
    assert abs(freq[1] - 1 / 3) < 0.03
    assert abs(freq[7] - math.log(8 / 7) / math.log(8)) < 0.02
    assert freq[1] > freq[2] > freq[4] > freq[7]


def test_qlograndint_is_skewed_to_the_smallest_multiple_and_includes_upper():
    freq = frequencies(draws({"space": "qlograndint", "lower": 2, "upper": 16, "q": 2}))
    assert freq[2] > freq[4] > freq[8] > freq[16] > 0.02


def test_choice_is_uniform_over_categories():
    freq = frequencies(draws({"space": "choice", "categories": ["a", "b", "c", "d"]}))
    assert all(0.21 < freq[c] < 0.29 for c in "abcd")


def test_choice_returns_copies_of_dict_and_list_categories():
    spec = validate_space(
        "combiner.fc_layers",
        {"space": "choice", "categories": [[{"output_size": 8}], {"type": "concat"}]},
    )
    rng = np.random.default_rng(1)
    picked = [sample(spec, rng) for _ in range(20)]
    assert [{"output_size": 8}] in picked and {"type": "concat"} in picked
    for value in picked:
        if isinstance(value, list):
            value[0]["output_size"] = 999
        else:
            value["type"] = "changed"
    assert spec["categories"] == [[{"output_size": 8}], {"type": "concat"}]


@pytest.mark.parametrize("name", SPACE_NAMES)
def test_every_space_returns_plain_python_values(name):
    spec = validate_space("p", EXAMPLES[name])
    rng = np.random.default_rng(2)
    expected = {"float": float, "int": int}.get(value_kind(spec))
    for _ in range(50):
        value = sample(spec, rng)
        assert not isinstance(value, np.generic)
        if expected is not None:
            assert type(value) is expected
    json.dumps(value)


def test_base_does_not_change_the_distribution():
    first = draws({"space": "loguniform", "lower": 1e-3, "upper": 1, "base": 2}, n=50)
    second = draws({"space": "loguniform", "lower": 1e-3, "upper": 1}, n=50)
    assert first == second


def test_sampling_is_deterministic_for_a_given_generator():
    for raw in EXAMPLES.values():
        assert draws(raw, n=20, seed=5) == draws(raw, n=20, seed=5)


# --------------------------------------------------------------------------- #
# Normalization
# --------------------------------------------------------------------------- #


def test_defaults_are_filled_in():
    assert validate_space("p", {"space": "randn"}) == {"space": "randn", "mean": 0.0, "sd": 1.0}
    assert validate_space("p", {"space": "loguniform", "lower": 0.1, "upper": 1})["base"] == 10
    assert validate_space("p", {"space": "lograndint", "lower": 1, "upper": 9})["base"] == 10
    assert validate_space("p", {"space": "qrandint", "lower": 1, "upper": 9})["q"] == 1


def test_numbers_get_the_type_of_their_space():
    uniform = validate_space("p", {"space": "uniform", "lower": 0, "upper": 1})
    assert uniform == {"space": "uniform", "lower": 0.0, "upper": 1.0}
    assert all(type(uniform[k]) is float for k in ("lower", "upper"))
    randint = validate_space("p", {"space": "randint", "lower": 1.0, "upper": 8})
    assert randint == {"space": "randint", "lower": 1, "upper": 8}
    assert type(randint["lower"]) is int


def test_validation_copies_and_does_not_touch_the_input():
    raw = {"categories": [{"a": [1]}], "space": "choice"}
    spec = validate_space("p", raw)
    assert list(spec) == ["space", "categories"]
    spec["categories"][0]["a"].append(2)
    assert raw == {"categories": [{"a": [1]}], "space": "choice"}


def test_is_grid_grid_values_and_value_kind():
    grid = validate_space("p", {"space": "grid_search", "values": [{"x": 1}, 2]})
    assert is_grid(grid)
    assert not is_grid(validate_space("p", EXAMPLES["choice"]))
    values = grid_values(grid)
    assert values == [{"x": 1}, 2]
    values[0]["x"] = 5
    assert grid["values"][0] == {"x": 1}
    with pytest.raises(ValueError):
        grid_values(validate_space("p", EXAMPLES["uniform"]))
    kinds = {name: value_kind(validate_space("p", raw)) for name, raw in EXAMPLES.items()}
    assert kinds == {
        "choice": "categorical",
        "grid_search": "categorical",
        "uniform": "float",
        "quniform": "float",
        "loguniform": "float",
        "qloguniform": "float",
        "randn": "float",
        "qrandn": "float",
        "randint": "int",
        "qrandint": "int",
        "lograndint": "int",
        "qlograndint": "int",
    }


# --------------------------------------------------------------------------- #
# Validation errors: every message names the key path, the value and what is allowed
# --------------------------------------------------------------------------- #

ALL_NAMES = ", ".join(SPACE_NAMES)


def error_for(raw, name: str = "trainer.learning_rate") -> str:
    with pytest.raises(ConfigError) as info:
        validate_space(name, raw)
    message = str(info.value)
    assert message.startswith(f"hyperopt.parameters.{name}: ")
    assert "\n" not in message
    return message


def test_the_style_guide_example_message():
    message = error_for({"space": "uniform", "lower": 0.1, "upper": 0.01})
    assert message == (
        "hyperopt.parameters.trainer.learning_rate: 'lower' (0.1) must be below "
        "'upper' (0.01) for space 'uniform'"
    )


@pytest.mark.parametrize(
    ("raw", "fragments"),
    [
        # the spec itself
        (0.1, ["0.1", "mapping", "'space'"]),
        (["uniform"], ["['uniform']", "mapping"]),
        ({"lower": 0, "upper": 1}, ["missing 'space'", ALL_NAMES]),
        ({"space": "fake_space"}, ["'fake_space'", "not a known search space", ALL_NAMES]),
        ({"space": "Uniform", "lower": 0, "upper": 1}, ["'Uniform'", "did you mean 'uniform'"]),
        ({"space": "QRANDINT"}, ["'QRANDINT'", "did you mean 'qrandint'", ALL_NAMES]),
        ({"space": 3}, ["(3)", ALL_NAMES]),
        # unknown keys are never dropped
        (
            {"space": "uniform", "lower": 0, "upper": 1, "foo": 2},
            ["'foo' (2)", "'uniform'", "allowed keys are 'space', 'lower', 'upper'"],
        ),
        (
            {"space": "uniform", "lower": 0, "upper": 1, "base": 10},
            ["'base' (10)", "allowed keys are 'space', 'lower', 'upper'"],
        ),
        (
            {"space": "randn", "q": 0.1},
            ["'q' (0.1)", "'randn'", "allowed keys are 'space', 'mean', 'sd'"],
        ),
        (
            {"space": "choice", "values": ["rnn", "cnnrnn"]},
            ["'choice'", "'categories', not 'values'", "['rnn', 'cnnrnn']"],
        ),
        (
            {"space": "grid_search", "categories": [1, 2]},
            ["'grid_search'", "'values', not 'categories'", "[1, 2]"],
        ),
        # required keys
        ({"space": "choice"}, ["'choice' needs 'categories'", "missing"]),
        ({"space": "grid_search"}, ["'grid_search' needs 'values'", "missing"]),
        ({"space": "uniform", "lower": 0}, ["'uniform' needs 'upper'"]),
        ({"space": "randint"}, ["'randint' needs 'lower', 'upper'"]),
        ({"space": "quniform", "lower": 0, "upper": 1}, ["'quniform' needs 'q'"]),
        (
            {"space": "qrandn", "sd": 1, "q": 0.1},
            ["'qrandn' needs 'mean'", "'mean', 'sd', 'q'"],
        ),
        ({"space": "qrandn", "q": 0.1}, ["'qrandn' needs 'mean', 'sd'"]),
        ({"space": "qlograndint", "lower": 1, "upper": 8}, ["'qlograndint' needs 'q'"]),
        # option lists
        ({"space": "choice", "categories": []}, ["'categories' ([])", "non-empty list"]),
        ({"space": "grid_search", "values": []}, ["'values' ([])", "non-empty list"]),
        ({"space": "choice", "categories": "abc"}, ["'categories' ('abc')", "non-empty list"]),
        ({"space": "grid_search", "values": None}, ["'values' (None)", "non-empty list"]),
        # types
        ({"space": "uniform", "lower": "a", "upper": 1}, ["'lower' ('a')", "must be a number"]),
        ({"space": "uniform", "lower": True, "upper": 2}, ["'lower' (True)", "must be a number"]),
        ({"space": "randn", "sd": False}, ["'sd' (False)", "must be a number"]),
        (
            {"space": "uniform", "lower": 0, "upper": float("inf")},
            ["'upper' (inf)", "finite"],
        ),
        (
            {"space": "randint", "lower": 1.5, "upper": 4},
            ["'lower' (1.5)", "must be an integer", "'randint'"],
        ),
        ({"space": "randint", "lower": 1, "upper": "4"}, ["'upper' ('4')", "an integer"]),
        ({"space": "randint", "lower": True, "upper": 4}, ["'lower' (True)", "an integer"]),
        (
            {"space": "qrandint", "lower": 0, "upper": 4, "q": 0.5},
            ["'q' (0.5)", "an integer", "'qrandint'"],
        ),
        (
            {"space": "loguniform", "lower": 0.1, "upper": 1, "base": "e"},
            ["'base' ('e')", "a number"],
        ),
        # bounds
        (
            {"space": "uniform", "lower": 1, "upper": 1},
            ["'lower' (1.0) must be below 'upper' (1.0)", "'uniform'"],
        ),
        (
            {"space": "quniform", "lower": 1, "upper": 0, "q": 0.1},
            ["'lower' (1.0) must be below 'upper' (0.0)", "'quniform'"],
        ),
        (
            {"space": "loguniform", "lower": 1, "upper": 0.5},
            ["'lower' (1.0) must be below 'upper' (0.5)", "'loguniform'"],
        ),
        (
            {"space": "randint", "lower": 3, "upper": 3},
            ["'lower' (3) must be below 'upper' (3)", "'randint'", "upper is exclusive"],
        ),
        (
            {"space": "lograndint", "lower": 8, "upper": 2},
            ["'lower' (8) must be below 'upper' (2)", "upper is exclusive"],
        ),
        # log scales
        (
            {"space": "loguniform", "lower": 0, "upper": 1},
            ["'lower' (0.0)", "greater than 0", "'loguniform'"],
        ),
        (
            {"space": "loguniform", "lower": -1, "upper": 1},
            ["'lower' (-1.0)", "greater than 0"],
        ),
        (
            {"space": "qloguniform", "lower": 0, "upper": 1, "q": 0.1},
            ["'lower' (0.0)", "greater than 0", "'qloguniform'"],
        ),
        (
            {"space": "lograndint", "lower": 0, "upper": 8},
            ["'lower' (0)", "greater than 0", "'lograndint'"],
        ),
        (
            {"space": "qlograndint", "lower": -4, "upper": 8, "q": 2},
            ["'lower' (-4)", "greater than 0", "'qlograndint'"],
        ),
        (
            {"space": "loguniform", "lower": 0.1, "upper": 1, "base": 1},
            ["'base' (1.0)", "other than 1"],
        ),
        (
            {"space": "lograndint", "lower": 1, "upper": 8, "base": -2},
            ["'base' (-2.0)", "positive"],
        ),
        # sd and q
        ({"space": "randn", "sd": 0}, ["'sd' (0.0)", "greater than 0", "'randn'"]),
        ({"space": "qrandn", "mean": 0, "sd": -1, "q": 1}, ["'sd' (-1.0)", "greater than 0"]),
        ({"space": "quniform", "lower": 0, "upper": 1, "q": 0}, ["'q' (0.0)", "greater than 0"]),
        ({"space": "qrandn", "mean": 0, "sd": 1, "q": -0.1}, ["'q' (-0.1)", "greater than 0"]),
        ({"space": "qrandint", "lower": 0, "upper": 8, "q": 0}, ["'q' (0)", "greater than 0"]),
        # quantization
        (
            {"space": "quniform", "lower": 0.05, "upper": 1, "q": 0.1},
            ["'lower' (0.05) must be a multiple of 'q' (0.1)", "'quniform'"],
        ),
        (
            {"space": "quniform", "lower": 0, "upper": 1.05, "q": 0.1},
            ["'upper' (1.05) must be a multiple of 'q' (0.1)"],
        ),
        (
            {"space": "qloguniform", "lower": 0.15, "upper": 1, "q": 0.1},
            ["'lower' (0.15) must be a multiple of 'q' (0.1)", "'qloguniform'"],
        ),
        (
            {"space": "qrandint", "lower": 1, "upper": 2, "q": 3},
            ["no multiple of 'q' (3)", "'lower' (1)", "'upper' (2)", "'qrandint'"],
        ),
        (
            {"space": "qlograndint", "lower": 5, "upper": 7, "q": 4},
            ["no multiple of 'q' (4)", "'lower' (5)", "'upper' (7)", "'qlograndint'"],
        ),
    ],
)
def test_invalid_spaces_are_rejected_with_a_clear_message(raw, fragments):
    message = error_for(raw)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"


@pytest.mark.parametrize("name", SPACE_NAMES)
def test_every_example_space_is_valid(name):
    spec = validate_space("p", EXAMPLES[name])
    assert spec["space"] == name
    # A normalized spec validates to itself.
    assert validate_space("p", spec) == spec
