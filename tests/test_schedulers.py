"""Schedulers as rungs (snaketune/search/schedulers.py): keys, brackets, promotion."""

from __future__ import annotations

import pytest

from snaketune.errors import ConfigError, NotSupportedError
from snaketune.search import schedulers


def normalized(raw):
    notices = []
    return schedulers.normalize_scheduler(raw, notices), notices


def test_fifo_is_no_scheduler():
    scheduler, notices = normalized({"type": "fifo"})
    assert scheduler is None and "fifo" in notices[0]
    assert normalized(None) == (None, [])


@pytest.mark.parametrize("kind", ["async_hyperband", "asha", "asynchyperband"])
def test_async_hyperband_takes_ludwigs_defaults(kind):
    scheduler, _ = normalized({"type": kind, "time_attr": "training_iteration"})
    assert {k: scheduler[k] for k in ("max_t", "grace_period", "reduction_factor", "brackets")} == {
        "max_t": 100,
        "grace_period": 1,
        "reduction_factor": 4,
        "brackets": 1,
    }


def test_rung_budgets_and_sizes():
    scheduler, _ = normalized({"type": "asha", "max_t": 27, "reduction_factor": 3})
    (bracket,) = schedulers.brackets(scheduler, 27, range(27))
    assert bracket.budgets == (1, 3, 9, 27) and bracket.sizes == (27, 9, 3, 1)
    # a budget that is no power of eta still ends at max_t; a rung keeps at least one trial
    scheduler, _ = normalized(
        {"type": "asha", "max_t": 10, "grace_period": 2, "reduction_factor": 3}
    )
    (bracket,) = schedulers.brackets(scheduler, 10, range(4))
    assert bracket.budgets == (2, 6, 10) and bracket.sizes == (4, 1, 1)


def test_brackets_split_the_trials_and_start_later():
    scheduler, _ = normalized({"type": "asha", "max_t": 9, "reduction_factor": 3, "brackets": 2})
    first, second = schedulers.brackets(scheduler, 9, range(10))
    assert first.budgets == (1, 3, 9) and second.budgets == (3, 9)
    assert first.sizes[0] == 5 and second.sizes[0] == 5


def test_hyperband_has_a_bracket_per_starting_budget_sized_as_li_et_al():
    scheduler, _ = normalized({"type": "hyperband", "max_t": 27})
    found = schedulers.brackets(scheduler, 27, range(49))
    assert [b.budgets for b in found] == [(1, 3, 9, 27), (3, 9, 27), (9, 27), (27,)]
    # per cycle of 49 trials: ceil(4/(s+1) * 3**s) for the bracket that halves s times
    assert [b.sizes[0] for b in found] == [27, 12, 6, 4]
    # the cycle spreads each bracket over it: a prefix is split in about those shares
    prefix = [b.sizes[0] for b in schedulers.brackets(scheduler, 27, range(10))]
    assert sum(prefix) == 10 and prefix[0] >= 5 and all(size >= 1 for size in prefix)
    pattern = schedulers.bracket_pattern(scheduler, 27)
    assert pattern == schedulers.bracket_pattern(scheduler, 27)  # the same in every process


def test_median_rule_keeps_the_better_half_while_enough_trials():
    scheduler, _ = normalized({"type": "median_stopping_rule", "grace_period": 2})
    (bracket,) = schedulers.brackets(scheduler, 16, range(10))
    assert bracket.budgets == (2, 4, 8, 16) and bracket.sizes == (10, 5, 3, 2)


def test_promote_takes_the_best_and_never_a_failure():
    scores = [("a", 0.5), ("b", None), ("c", 0.1), ("d", 0.1), ("e", float("nan"))]
    assert schedulers.promote(scores, "minimize", 2) == ["c", "d"]  # ties keep trial order
    assert schedulers.promote(scores, "maximize", 2) == ["a", "c"]
    assert schedulers.promote(scores, "minimize", 9) == ["c", "d", "a"]


def test_budget_is_trainer_epochs_as_in_ludwig():
    scheduler, _ = normalized({"type": "asha", "max_t": 5})
    assert schedulers.check_budget(scheduler, None) == 5
    assert schedulers.check_budget(scheduler, 5) == 5
    with pytest.raises(ConfigError, match="max_t: 5 differs from trainer.epochs 7"):
        schedulers.check_budget(scheduler, 7)
    median, _ = normalized({"type": "median_stopping_rule"})
    assert schedulers.check_budget(median, 12) == 12
    with pytest.raises(ConfigError, match="needs the full budget"):
        schedulers.check_budget(median, None)
    late, _ = normalized({"type": "asha", "max_t": 5, "grace_period": 6})
    with pytest.raises(ConfigError, match="grace_period: 6 is above the full budget 5"):
        schedulers.check_budget(late, None)


@pytest.mark.parametrize(
    ("raw", "error", "message"),
    [
        ({"type": "pbt"}, NotSupportedError, "'pbt' changes a trial's values"),
        ({"type": "asha", "time_attr": "time_total_s"}, NotSupportedError, "seconds"),
        ({"type": "asha", "stop_last_trials": False}, NotSupportedError, "stop_last_trials"),
        ({"type": "asha", "metric": "loss"}, ConfigError, "hyperopt.metric"),
        ({"type": "asha", "grace": 1}, ConfigError, "scheduler.grace: not an option"),
        ({"type": "asha", "reduction_factor": 1}, ConfigError, "reduction_factor: 1"),
        ({"type": "asha", "max_t": 0}, ConfigError, "max_t: 0"),
        ({"type": "hyperband", "brackets": 2}, ConfigError, "brackets: not an option"),
        ({"type": "nope"}, ConfigError, "'nope' is not a scheduler"),
    ],
)
def test_bad_schedulers(raw, error, message):
    with pytest.raises(error, match=message):
        normalized(raw)


def test_with_budget_copies():
    config = {"trainer": {"epochs": 9, "learning_rate": 0.1}, "combiner": {}}
    changed = schedulers.with_budget(config, ("trainer", "epochs"), 3)
    assert changed["trainer"] == {"epochs": 3, "learning_rate": 0.1}
    assert config["trainer"]["epochs"] == 9
