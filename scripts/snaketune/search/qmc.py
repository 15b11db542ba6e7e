"""Scrambled, seeded Sobol and Halton designs (scipy.stats.qmc).

Point i of a design is the i-th point of one sequence, so raising num_samples only
appends points. The whole prefix is generated once per process and cached: it is a
few floats per trial.
"""

from __future__ import annotations

import warnings
from functools import lru_cache

import numpy as np
from scipy.stats import qmc

from snaketune.search.seeds import seed_words

_QMC_STREAM = 3
DESIGNS = ("sobol", "halton")


@lru_cache(maxsize=8)
def _design(kind: str, dimensions: int, count: int, seed: int, scramble: bool) -> np.ndarray:
    rng = np.random.default_rng(np.random.SeedSequence([_QMC_STREAM, *seed_words(seed)]))
    engine = (qmc.Sobol if kind == "sobol" else qmc.Halton)(
        d=dimensions, scramble=scramble, rng=rng
    )
    with warnings.catch_warnings():
        # Sobol's balance needs a power-of-2 count; a prefix of any length is still a
        # low-discrepancy design, and the prefix is what makes num_samples extendable.
        warnings.simplefilter("ignore", UserWarning)
        points = engine.random(count)
    return np.clip(points, 0.0, np.nextafter(1.0, 0.0))


def unit_point(kind: str, dimensions: int, index: int, count: int, seed: int, scramble: bool):
    """Point `index` (of a design of `count` points) in [0, 1)^dimensions."""
    if kind not in DESIGNS:
        raise ValueError(f"unknown design {kind!r}")
    # Round the cached prefix up to a power of two, so that neighbouring counts share it.
    size = 1 << max(count - 1, 0).bit_length()
    return _design(kind, dimensions, size, seed, scramble)[index]
