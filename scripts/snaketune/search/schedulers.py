"""`executor.scheduler`: early stopping as rungs of the DAG (successive halving).

Every trial trains first for its bracket's smallest budget (rung 0, the trial's own
folder); then, once all of a bracket's trials have a score, the best 1/eta of them
train with eta times the budget (rung 1), and so on up to `max_t`. The budget is the
engine's unit of training (epochs, or boosting rounds for a GBM). Promotion waits for
the whole rung, so it is deterministic: the same trials are promoted whatever order
their jobs finished in. Ray's ASHA promotes a trial as soon as it is in the top 1/eta
of the trials seen so far, which depends on timing.

    async_hyperband, asha, asynchyperband   grace_period, reduction_factor, brackets, max_t
    hyperband, hb_bohb                      brackets from max_t (grace 1), reduction_factor
    median_stopping_rule, medianstoppingrule  rungs at grace_period * 2**k; the better
                                            half (ceil(n/2)) goes on while a rung has at
                                            least min_samples_required trials

Bracket s starts at grace_period * eta**s; which bracket a trial is in follows a fixed
cycle (bracket_pattern): turns for async hyperband, Li et al.'s sizes for hyperband.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from snaketune.errors import ConfigError, NotSupportedError, show

HALVING = ("async_hyperband", "asha", "asynchyperband")
HYPERBAND = ("hyperband", "hb_bohb")
MEDIAN = ("median_stopping_rule", "medianstoppingrule")
UNSUPPORTED = ("pbt", "pbt_replay", "pb2", "resource_changing")
BASE_KEYS = ("type", "time_attr", "metric", "mode")
_KEYS = {
    HALVING: {"max_t": 100, "grace_period": 1, "reduction_factor": 4, "brackets": 1},
    HYPERBAND: {"max_t": 81, "reduction_factor": 3},
    MEDIAN: {"max_t": None, "grace_period": 1, "min_samples_required": 3},
}
# Keys of Ray's schedulers that only say what snaketune always does.
_ALWAYS = {"stop_last_trials": True, "hard_stop": True}
# The most rungs a bracket may have: far above what any max_t and eta give.
MAX_RUNGS = 64


def _fmt(value: Any) -> str:
    return show(value)


def _family(kind: str) -> tuple[str, ...] | None:
    return next((names for names in _KEYS if kind in names), None)


def _positive_int(path: str, value: Any, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{path}: {_fmt(value)} must be an integer >= {minimum}.")
    return value


def normalize_scheduler(raw: Any, notices: list[str]) -> dict[str, Any] | None:
    """The scheduler as rungs, or None for fifo (every trial trains to the end)."""
    if raw is None:
        return None
    kind = raw.get("type") if isinstance(raw, dict) else raw
    path = "hyperopt.executor.scheduler"
    if kind == "fifo":
        notices.append(f"{path} 'fifo' is the default: every trial trains to the end.")
        return None
    names = ", ".join(["fifo", *HALVING, *HYPERBAND, *MEDIAN])
    if kind in UNSUPPORTED:
        raise NotSupportedError(
            f"{path}.type: {kind!r} changes a trial's values while it trains, which a study "
            f"of fixed trials cannot do; supported: {names}."
        )
    family = _family(kind) if isinstance(kind, str) else None
    if family is None:
        raise ConfigError(f"{path}.type: {_fmt(kind)} is not a scheduler; allowed: {names}.")
    raw = raw if isinstance(raw, dict) else {"type": kind}
    defaults = _KEYS[family]
    out: dict[str, Any] = {"type": kind, **defaults}
    for key, value in raw.items():
        if key == "max_t" and value is None and family is not MEDIAN:
            out["max_t"] = None  # the full budget is trainer.epochs (check_budget)
            continue
        if key in ("type", "metric", "mode") and (key == "type" or value is None):
            continue
        if key in ("metric", "mode"):
            raise ConfigError(
                f"{path}.{key}: {_fmt(value)}; the scheduler uses hyperopt.metric and "
                "hyperopt.goal (Ludwig sets them too): leave it out or null."
            )
        if key == "time_attr":
            if value != "training_iteration":
                raise NotSupportedError(
                    f"{path}.time_attr: {_fmt(value)} is not supported: rungs measured in "
                    "seconds would depend on the machine's speed and load, so a study would "
                    "not be reproducible; use training_iteration (epochs, or boosting rounds)."
                )
            continue
        if key in _ALWAYS:
            if value is not _ALWAYS[key]:
                raise NotSupportedError(
                    f"{path}.{key}: {_fmt(value)} is not supported; a trial stopped at a rung "
                    "stays stopped."
                )
            continue
        if key not in defaults:
            allowed = sorted({*defaults, *BASE_KEYS, *_ALWAYS})
            raise ConfigError(
                f"{path}.{key}: not an option of scheduler {kind!r}; allowed: {', '.join(allowed)}."
            )
        out[key] = value
    for key in ("max_t", "grace_period", "brackets", "min_samples_required"):
        if out.get(key) is not None:
            _positive_int(f"{path}.{key}", out[key])
    if "reduction_factor" in out:
        _positive_int(f"{path}.reduction_factor", out["reduction_factor"], 2)
    if family is HYPERBAND:  # brackets from max_t, once it is known (check_budget)
        out["grace_period"], out["brackets"] = 1, None
    if family is MEDIAN:
        out["reduction_factor"] = 2
        out["brackets"] = 1
    out["family"] = "median" if family is MEDIAN else "halving"
    return out


def check_budget(scheduler: Mapping[str, Any], configured: Any) -> int:
    """The full budget (max_t) against trainer.epochs as the model config gives it.

    As in Ludwig, a trainer.epochs that differs from max_t is an error; unset, it is
    max_t. The median rule has no default max_t: it takes trainer.epochs.
    """
    max_t = scheduler.get("max_t")
    if max_t is None:
        if configured is None:
            raise ConfigError(
                f"hyperopt.executor.scheduler: {scheduler['type']!r} needs the full budget: "
                "set trainer.epochs (or the scheduler's max_t)."
            )
        max_t = configured
    elif configured is not None and configured != max_t:
        raise ConfigError(
            f"hyperopt.executor.scheduler.max_t: {max_t} differs from trainer.epochs "
            f"{configured}; the last rung trains for max_t epochs, so set them equal or leave "
            "one of them out (as Ludwig requires)."
        )
    grace = scheduler.get("grace_period", 1)
    if grace > max_t:
        raise ConfigError(
            f"hyperopt.executor.scheduler.grace_period: {grace} is above the full budget "
            f"{max_t}; the first rung must be shorter."
        )
    return max_t


@dataclass(frozen=True)
class Bracket:
    budgets: tuple[int, ...]  # per rung
    sizes: tuple[int, ...]  # trials per rung


def bracket_count(scheduler: Mapping[str, Any], max_t: int) -> int:
    if scheduler["brackets"] is None:  # hyperband: starting budgets 1, eta, eta**2, ... <= max_t
        eta = scheduler["reduction_factor"]
        return int(math.floor(math.log(max_t) / math.log(eta) + 1e-9)) + 1
    return scheduler["brackets"]


def bracket_pattern(scheduler: Mapping[str, Any], max_t: int) -> list[int]:
    """The bracket of trial i is pattern[i % len(pattern)]: stable as trials are added.

    Async hyperband's brackets take turns. Hyperband's are sized as in Li et al.: the
    bracket that halves s times gets ceil(B / (s + 1) * eta**s) trials per B+1 of its
    cycle, so every bracket spends about the same budget; the pattern spreads each
    bracket's share evenly over the cycle (smooth weighted round robin).
    """
    count = bracket_count(scheduler, max_t)
    if scheduler["type"] not in HYPERBAND:
        return list(range(count))
    eta = scheduler["reduction_factor"]
    weights = [math.ceil(count / (count - s) * eta ** (count - 1 - s)) for s in range(count)]
    credit, pattern = [0] * count, []
    for _ in range(sum(weights)):
        credit = [c + w for c, w in zip(credit, weights, strict=True)]
        chosen = max(range(count), key=lambda s: (credit[s], -s))
        credit[chosen] -= sum(weights)
        pattern.append(chosen)
    return pattern


def brackets(scheduler: Mapping[str, Any], max_t: int, trials: Sequence[int]) -> list[Bracket]:
    """Each bracket's rung budgets and sizes, for the trials given (by index)."""
    eta, grace = scheduler["reduction_factor"], scheduler["grace_period"]
    pattern = bracket_pattern(scheduler, max_t)
    out = []
    for s in range(bracket_count(scheduler, max_t)):
        members = [i for i in trials if pattern[i % len(pattern)] == s]
        start = grace * eta**s
        budgets = []
        budget = start
        while budget < max_t and len(budgets) < MAX_RUNGS - 1:
            budgets.append(budget)
            budget *= eta
        budgets.append(max_t)
        sizes = [len(members)]
        for _ in budgets[1:]:
            sizes.append(next_size(scheduler, sizes[-1]))
        out.append(Bracket(tuple(budgets), tuple(sizes)))
    return out


def next_size(scheduler: Mapping[str, Any], size: int) -> int:
    """How many of a rung's trials go on to the next one."""
    if size == 0:
        return 0
    if scheduler["family"] == "median":
        return math.ceil(size / 2) if size >= scheduler["min_samples_required"] else size
    return max(1, size // scheduler["reduction_factor"])


def promote(scores: Sequence[tuple[str, float | None]], goal: str, keep: int) -> list[str]:
    """The (at most `keep`) trial ids that go on to the next rung, best first.

    `scores` are (trial_id, value or None for a failed trial) in trial order; a failed
    trial never goes on, and ties keep trial order.
    """
    ok = [(tid, v) for tid, v in scores if v is not None and math.isfinite(v)]
    sign = -1.0 if goal == "maximize" else 1.0
    ranked = sorted(ok, key=lambda item: sign * item[1])  # sorted() is stable
    return [tid for tid, _ in ranked[:keep]]


def with_budget(config: dict[str, Any], key: Sequence[str], budget: int) -> dict[str, Any]:
    """A copy of `config` that trains for `budget` (epochs or boosting rounds)."""
    section, name = key
    return {**config, section: {**(config.get(section) or {}), name: budget}}


def rung_plan(
    scheduler: Mapping[str, Any], max_t: int, key: Sequence[str], num_trials: int
) -> dict[str, Any]:
    """What the Snakefile and the round jobs need of the rungs, as plain data."""
    return {
        "family": scheduler["family"],
        "budget_key": list(key),
        "max_t": max_t,
        "pattern": bracket_pattern(scheduler, max_t),
        "brackets": [
            {"budgets": list(b.budgets), "sizes": list(b.sizes)}
            for b in brackets(scheduler, max_t, range(num_trials))
        ],
    }


def bracket_of(plan: Mapping[str, Any], index: int) -> int:
    """The bracket of trial `index`, from a rung_plan."""
    return plan["pattern"][index % len(plan["pattern"])]


def first_budget(plan: Mapping[str, Any], index: int) -> int:
    """The budget of trial `index` in rung 0 (its bracket's smallest)."""
    return plan["brackets"][bracket_of(plan, index)]["budgets"][0]


def keeps_state(plan: Mapping[str, Any], budget: int) -> bool:
    """Whether a job training for `budget` saves its state: a rung above may continue it."""
    return budget < plan["max_t"]
