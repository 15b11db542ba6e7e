"""Seeds derived from the study's seed: one SeedSequence stream per use, never shared.

Every number here depends only on its arguments, never on the process, the order jobs
ran in or --cores, which is what makes a study reproducible under any parallelism.
"""

from __future__ import annotations

import numpy as np

# First entropy word of each stream (variant.py uses 1 and 2; qmc.py 3).
_ROUND_STREAM = 4
_RETRY_STREAM = 5
_SEED_LIMIT = 2**31 - 1


def seed_words(seed: int) -> list[int]:
    """Any int seed as the non-negative entropy SeedSequence needs: sign, then size.

    Distinct seeds (negative or beyond 64 bits too) stay distinct.
    """
    seed = int(seed)
    return [0, seed] if seed >= 0 else [1, -seed]


def derived_seed(stream: int, seed: int, *words: int) -> int:
    """A seed in [0, 2**31 - 1) from (stream, seed, words): fits every library's seed."""
    entropy = [stream, *seed_words(seed), *words]
    state = np.random.SeedSequence(entropy).generate_state(1, dtype=np.uint64)[0]
    return int(state % _SEED_LIMIT)


def round_seed(seed: int, round_index: int) -> int:
    """The sampler's seed in round r: a fresh seed per round (reusing one repeats draws)."""
    return derived_seed(_ROUND_STREAM, seed, round_index)


def retry_rng(seed: int, index: int, attempt: int) -> np.random.Generator:
    """The generator of a trial's fallback draws when the sampler keeps repeating itself."""
    return np.random.default_rng(
        np.random.SeedSequence([_RETRY_STREAM, *seed_words(seed), index, attempt])
    )
