"""Ludwig's default search (``random`` / ``variant_generator``), computed up front.

Every trial's parameters are known before any job runs, so the Snakefile can
hand each trial its own values at parse time (DESIGN §2). Trial ``i`` depends
only on ``(seed, i, the space of each parameter)``:

- grid_search parameters are enumerated, the cartesian product taken in the
  order the parameters are written, **first parameter varying slowest**
  (like nested for-loops, and like ``itertools.product``);
- the grid is repeat-major: trial ``i`` takes grid point ``i % n_grid`` in
  repetition ``i // n_grid``, so raising ``num_samples`` only appends trials;
- every other parameter is drawn fresh per trial from its own numpy
  Generator, seeded by
  ``SeedSequence([stream, sign(seed), |seed|, i, first 8 bytes of sha256(name)])``.
  Adding, removing or reordering a parameter therefore never changes another
  parameter's draws (Python's ``hash()`` is salted per process, so it is not
  used).

Adding a grid_search parameter (or a value to one) does change which grid point
each trial index gets: the grid is indexed densely.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from snaketune.errors import ConfigError
from snaketune.search.seeds import derived_seed, seed_words
from snaketune.spaces import grid_values, is_grid, sample

Spaces = Mapping[str, Mapping[str, Any]]

# First entropy word of each seed stream, so that a parameter's draws and a
# trial's training seed can never share a SeedSequence.
_PARAMETER_STREAM = 1
_TRIAL_SEED_STREAM = 2


def _name_key(name: str) -> int:
    """A stable 64-bit number for a parameter name, the same in every process."""
    return int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:8], "big")


def _grid(spaces: Spaces) -> list[tuple[str, list]]:
    return [(name, grid_values(spec)) for name, spec in spaces.items() if is_grid(spec)]


def resolve_num_samples(num_samples: int | None, spaces: Spaces) -> int:
    """``num_samples`` as Ludwig resolves it: unset means 1 with a grid, else 10.

    With a grid, each point is already one trial, so one repetition is the
    natural default; a purely random search gets 10 draws.
    """
    if num_samples is None:
        return 1 if any(is_grid(spec) for spec in spaces.values()) else 10
    if isinstance(num_samples, bool) or not isinstance(num_samples, int) or num_samples < 1:
        raise ConfigError(
            f"hyperopt.executor.num_samples: {num_samples!r} must be an integer of at least 1 "
            "(or left unset: 10, or 1 when a parameter uses grid_search)"
        )
    return num_samples


def count_trials(spaces: Spaces, num_samples: int | None) -> int:
    """``num_samples`` × the number of grid points (the product of the grid sizes)."""
    n_grid = math.prod(len(values) for _, values in _grid(spaces))
    return resolve_num_samples(num_samples, spaces) * n_grid


def trial_parameters(
    spaces: Spaces, index: int, num_samples: int | None, seed: int
) -> dict[str, Any]:
    """The parameters of trial ``index``, in the order of ``spaces``.

    ``spaces`` maps each dotted name to a space from
    :func:`snaketune.spaces.validate_space`, in the order the user wrote them.
    ``num_samples`` only bounds ``index``: the values do not depend on it.
    """
    total = count_trials(spaces, num_samples)
    if not 0 <= index < total:
        raise IndexError(f"trial index {index} is outside 0..{total - 1}")

    grid = _grid(spaces)
    n_grid = math.prod(len(values) for _, values in grid)
    point = index % n_grid
    chosen: dict[str, Any] = {}
    for name, values in reversed(grid):  # the last parameter varies fastest
        point, digit = divmod(point, len(values))
        chosen[name] = values[digit]

    parameters: dict[str, Any] = {}
    for name, spec in spaces.items():
        if is_grid(spec):
            parameters[name] = chosen[name]
        else:
            entropy = [_PARAMETER_STREAM, *seed_words(seed), index, _name_key(name)]
            rng = np.random.default_rng(np.random.SeedSequence(entropy))
            parameters[name] = sample(spec, rng)
    return parameters


def generate_trials(spaces: Spaces, num_samples: int | None, seed: int) -> list[dict[str, Any]]:
    """Every trial's parameters, trial 0 first."""
    return [
        trial_parameters(spaces, index, num_samples, seed)
        for index in range(count_trials(spaces, num_samples))
    ]


def trial_seed(seed: int, index: int) -> int:
    """The training seed of trial ``index``, in [0, 2**31 - 1).

    Derived from ``(seed, index)`` only, through its own SeedSequence stream,
    so it is independent of the sampled parameters and of the search space:
    re-running trial 7 alone trains it exactly as the study did. The range
    fits every library's seed (numpy, torch, sklearn's ``random_state``).
    """
    return derived_seed(_TRIAL_SEED_STREAM, seed, index)
