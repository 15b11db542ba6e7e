"""Search algorithms: how each trial's parameters are chosen.

``variant`` is Ludwig's default (``random`` / ``variant_generator``): grid points
enumerated, everything else drawn per trial from (seed, trial index, name).
"""

from snaketune.search.variant import (
    count_trials,
    generate_trials,
    resolve_num_samples,
    trial_parameters,
    trial_seed,
)

__all__ = [
    "count_trials",
    "generate_trials",
    "resolve_num_samples",
    "trial_parameters",
    "trial_seed",
]
