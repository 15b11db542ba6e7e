"""Ludwig's default search: trial count, grid order and deterministic per-trial draws."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from snaketune.errors import ConfigError
from snaketune.search import (
    count_trials,
    generate_trials,
    resolve_num_samples,
    trial_parameters,
    trial_seed,
)
from snaketune.spaces import validate_space


def study(**raw_spaces) -> dict:
    """Validated spaces keyed by dotted name (use __ for the dots), in the order given."""
    return {
        name.replace("__", "."): validate_space(name.replace("__", "."), raw)
        for name, raw in raw_spaces.items()
    }


LR = {"space": "loguniform", "lower": 1e-4, "upper": 0.1}
LAYERS = {"space": "randint", "lower": 0, "upper": 3}
BATCH = {"space": "grid_search", "values": [16, 32]}
OPTIMIZER = {"space": "grid_search", "values": ["adam", "sgd", "rmsprop"]}
FC = {"space": "choice", "categories": [[{"output_size": 8}], [{"output_size": 4}]]}


# --------------------------------------------------------------------------- #
# num_samples and the trial count
# --------------------------------------------------------------------------- #


def test_num_samples_defaults_to_10_without_grid_and_1_with_grid():
    assert resolve_num_samples(None, study(trainer__learning_rate=LR)) == 10
    assert resolve_num_samples(None, study(trainer__learning_rate=LR, batch=BATCH)) == 1
    assert resolve_num_samples(None, {}) == 10
    assert resolve_num_samples(3, study(batch=BATCH)) == 3


@pytest.mark.parametrize("bad", [0, -2, True, 2.5, "3"])
def test_num_samples_must_be_a_positive_integer(bad):
    with pytest.raises(ConfigError, match=r"hyperopt\.executor\.num_samples: .* at least 1"):
        resolve_num_samples(bad, study(lr=LR))


def test_count_is_num_samples_times_the_grid_size():
    assert count_trials(study(lr=LR), 7) == 7
    assert count_trials(study(lr=LR), None) == 10
    assert count_trials(study(lr=LR, batch=BATCH), 2) == 4  # Ludwig run R01
    assert count_trials(study(batch=BATCH, opt=OPTIMIZER), None) == 6
    assert count_trials(study(batch=BATCH, lr=LR, opt=OPTIMIZER), 2) == 12


# --------------------------------------------------------------------------- #
# Grid order
# --------------------------------------------------------------------------- #


def test_grid_is_repeat_major_with_the_first_parameter_slowest():
    spaces = study(batch=BATCH, lr=LR, opt=OPTIMIZER)
    trials = generate_trials(spaces, 2, seed=42)
    assert len(trials) == 12
    points = [(t["batch"], t["opt"]) for t in trials]
    one_pass = [(b, o) for b in (16, 32) for o in ("adam", "sgd", "rmsprop")]
    assert points == one_pass + one_pass
    # Random parameters are drawn fresh in every trial, repeats included.
    assert len({t["lr"] for t in trials}) == 12
    assert all(1e-4 <= t["lr"] < 0.1 for t in trials)


def test_each_grid_point_appears_num_samples_times():
    trials = generate_trials(study(opt=OPTIMIZER, layers=LAYERS), 4, seed=0)
    assert Counter(t["opt"] for t in trials) == {"adam": 4, "sgd": 4, "rmsprop": 4}


def test_only_grid_parameters_enumerates_the_grid_once_by_default():
    trials = generate_trials(study(opt=OPTIMIZER, batch=BATCH), None, seed=0)
    assert trials == [{"opt": o, "batch": b} for o in ("adam", "sgd", "rmsprop") for b in (16, 32)]


def test_parameters_come_in_the_order_they_were_written():
    spaces = study(z=LR, batch=BATCH, a=LAYERS, m__fc_layers=FC)
    assert list(trial_parameters(spaces, 0, 1, seed=1)) == ["z", "batch", "a", "m.fc_layers"]


def test_grid_values_are_copies():
    spaces = study(fc=({"space": "grid_search", "values": [{"size": 8}, {"size": 4}]}))
    trial = trial_parameters(spaces, 0, 1, seed=0)
    trial["fc"]["size"] = 1
    assert spaces["fc"]["values"][0] == {"size": 8}
    assert trial_parameters(spaces, 0, 1, seed=0) == {"fc": {"size": 8}}


# --------------------------------------------------------------------------- #
# Determinism
# --------------------------------------------------------------------------- #


def test_same_seed_and_index_give_the_same_values():
    spaces = study(lr=LR, layers=LAYERS, fc=FC, batch=BATCH)
    assert generate_trials(spaces, 5, seed=42) == generate_trials(spaces, 5, seed=42)


def test_different_index_or_seed_gives_different_values():
    spaces = study(lr=LR)
    values = [trial_parameters(spaces, i, 50, seed=42)["lr"] for i in range(50)]
    assert len(set(values)) == 50
    other = [trial_parameters(spaces, i, 50, seed=43)["lr"] for i in range(50)]
    assert not set(values) & set(other)


def test_values_do_not_depend_on_num_samples():
    spaces = study(lr=LR, batch=BATCH, layers=LAYERS)
    short = generate_trials(spaces, 3, seed=7)
    long = generate_trials(spaces, 8, seed=7)
    assert len(short) == 6 and len(long) == 16
    assert long[: len(short)] == short


def test_adding_or_reordering_parameters_keeps_the_others_values():
    before = generate_trials(study(lr=LR, layers=LAYERS, fc=FC), 6, seed=3)
    after = generate_trials(
        study(fc=FC, dropout={"space": "uniform", "lower": 0, "upper": 0.5}, layers=LAYERS, lr=LR),
        6,
        seed=3,
    )
    for old, new in zip(before, after, strict=True):
        assert {k: new[k] for k in old} == old


def test_parameter_streams_are_independent_of_each_other():
    # Two parameters with the same space but different names get different draws.
    trials = generate_trials(study(a=LR, b=LR), 20, seed=0)
    assert all(t["a"] != t["b"] for t in trials)


def test_values_are_plain_json_types():
    spaces = study(
        lr=LR,
        layers=LAYERS,
        fc=FC,
        batch=BATCH,
        q={"space": "quniform", "lower": 0, "upper": 1, "q": 0.1},
    )
    for trial in generate_trials(spaces, 3, seed=0):
        assert not any(isinstance(v, np.generic) for v in trial.values())
        assert json.loads(json.dumps(trial)) == trial


def test_draws_are_the_same_in_another_process():
    """Names are hashed with sha256, never with Python's per-process salted hash()."""
    spaces = study(trainer__learning_rate=LR, combiner__num_fc_layers=LAYERS, fc=FC)
    code = (
        "import json, sys\n"
        "from snaketune.search import generate_trials, trial_seed\n"
        "spaces = json.loads(sys.stdin.read())\n"
        "print(json.dumps([generate_trials(spaces, 3, 11), trial_seed(11, 2)]))\n"
    )
    scripts = Path(__file__).resolve().parents[1] / "scripts"
    env = {**os.environ, "PYTHONPATH": str(scripts), "PYTHONHASHSEED": "12345"}
    result = subprocess.run(
        [sys.executable, "-c", code],
        input=json.dumps(spaces),
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    assert json.loads(result.stdout) == [generate_trials(spaces, 3, 11), trial_seed(11, 2)]


def test_index_outside_the_study_is_an_error():
    spaces = study(lr=LR, batch=BATCH)
    with pytest.raises(IndexError):
        trial_parameters(spaces, 4, 2, seed=0)
    with pytest.raises(IndexError):
        trial_parameters(spaces, -1, 2, seed=0)


# --------------------------------------------------------------------------- #
# Training seeds
# --------------------------------------------------------------------------- #


def test_trial_seed_is_deterministic_and_in_range():
    seeds = [trial_seed(42, i) for i in range(200)]
    assert seeds == [trial_seed(42, i) for i in range(200)]
    assert all(type(s) is int and 0 <= s < 2**31 - 1 for s in seeds)
    assert len(set(seeds)) == 200
    assert trial_seed(42, 0) != trial_seed(43, 0)


def test_trial_seed_accepts_any_integer_seed():
    assert 0 <= trial_seed(-1, 0) < 2**31 - 1
    assert trial_seed(-1, 0) != trial_seed(1, 0)
    assert 0 <= trial_seed(2**70, 3) < 2**31 - 1
    assert trial_seed(2**70, 3) != trial_seed(0, 3)
    spaces = study(lr=LR)
    assert trial_parameters(spaces, 0, 1, seed=-5) != trial_parameters(spaces, 0, 1, seed=5)
