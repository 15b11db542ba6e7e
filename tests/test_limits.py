"""Trial limits enforced around the training, and the study policy."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from snaketune import limits


def test_time_limit_interrupts_the_training():
    with (
        pytest.raises(limits.TrialLimitExceeded, match="trial_timeout_s 1"),
        limits.enforce(limits.TrialLimits(timeout_s=1)),
    ):
        time.sleep(5)


def test_memory_limit_interrupts_the_training():
    with (
        pytest.raises(limits.TrialLimitExceeded, match="memory limit"),
        limits.enforce(limits.TrialLimits(memory_mb=1)),
    ):
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            sum(range(1000))


def test_within_limits_nothing_happens_and_the_peak_is_recorded():
    with limits.enforce(limits.TrialLimits(timeout_s=5, memory_mb=10**6)) as state:
        time.sleep(0.1)
    assert state["peak_mb"] > 0 and state["reason"] is None


def test_memory_limit_counts_child_processes_and_interrupts_a_blocking_wait():
    limit = round(limits.resident_mb()) + 100  # this process is part of the tree
    child = subprocess.Popen(
        [sys.executable, "-c", "import time; kept = b'1' * (250 * 2**20); time.sleep(10)"]
    )
    try:
        started = time.monotonic()
        with (
            pytest.raises(limits.TrialLimitExceeded) as failure,
            limits.enforce(limits.TrialLimits(memory_mb=limit)) as state,
        ):
            child.wait()  # blocked in a system call, as while waiting for a program
        assert time.monotonic() - started < 5
    finally:
        child.kill()
        child.wait()
    assert f"resident in the trial's 2 processes > trial_memory_mb {limit}" in str(failure.value)
    assert state["peak_mb"] > limit


def test_a_held_section_finishes_before_the_time_limit_interrupts():
    finished = []
    with (
        pytest.raises(limits.TrialLimitExceeded, match="trial_timeout_s 1"),
        limits.enforce(limits.TrialLimits(timeout_s=1)),
        limits.held(),
    ):
        time.sleep(1.5)
        finished.append("the section")
    assert finished == ["the section"]


def test_policy_skips_after_budget_and_failures(tmp_path, monkeypatch):
    for name, status in (("trial_0000", "failed"), ("trial_0001", "ok")):
        (tmp_path / name).mkdir()
        (tmp_path / name / "train_summary.json").write_text(json.dumps({"status": status}))
    env = limits.study_policy_environment(None, 1, time.time())
    monkeypatch.delenv(limits.STARTED_VARIABLE, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert "max_failed_trials (1) reached" in limits.skip_reason(tmp_path, "trial_0002")
    assert limits.skip_reason(tmp_path, "trial_0000") is None  # its own failure not counted
    monkeypatch.setenv(limits.BUDGET_VARIABLE, "1")
    monkeypatch.setenv(limits.STARTED_VARIABLE, str(time.time() - 10))
    assert "time budget" in limits.skip_reason(tmp_path, "trial_0002")
