"""Warm starts of a scheduler's rungs: continuing a saved state equals training anew.

Each engine trains a config for a short budget keeping its state, then for a longer one
from that state; the files must be identical to a fresh run of the longer budget. Where
continuing would differ (a GBM evaluated off the saved point, a learning rate schedule
that spans the whole budget, another config) the rung trains anew, and says so.
"""

from __future__ import annotations

import copy
import json

import joblib
import numpy as np
import pytest

import test_sklearn_engine as sk
from snaketune.backends.warm_start import STATE_FILE, WarmStart, evaluation_points

torch = pytest.importorskip("torch")
import test_torch_engine as tt  # noqa: E402


def _ecd(base, budget, **trainer):
    config = copy.deepcopy(base)
    config["trainer"].update(epochs=budget, early_stop=-1, **trainer)
    return config


def _gbm(budget, step=1):
    config = {k: copy.deepcopy(v) for k, v in sk.BASE.items() if k != "combiner"}
    config["model_type"] = "gbm"
    config["trainer"] = {
        "num_boost_round": budget,
        "boosting_rounds_per_checkpoint": step,
        "feature_fraction": 0.7,
        "early_stop": -1,
    }
    return config


def _run(engine, config, prepared, out, metric="loss", **warm):
    out.mkdir()
    info = engine.train(
        config, str(prepared), str(out), seed=7, threads=1, output_feature="label",
        metric=metric, **warm,
    )  # fmt: skip
    return info, json.loads((out / "training_statistics.json").read_text())


def _probabilities(out, frame):
    return joblib.load(out / "model.joblib").predict_proba(frame)


@pytest.fixture(scope="module")
def sk_prepared(tmp_path_factory):
    return sk._prepare(tmp_path_factory.mktemp("sk"), sk._dataset(), sk.BASE)


@pytest.fixture(scope="module")
def torch_prepared(tmp_path_factory):
    return tt._prepare(tmp_path_factory.mktemp("torch"), tt.BASE)


CASES = {
    "sklearn ecd": (sk.ENGINE, lambda b: _ecd(sk.BASE, b), "sk", sk._dataset),
    "sklearn gbm": (sk.ENGINE, lambda b: _gbm(b), "sk", sk._dataset),
    "torch ecd": (tt.ENGINE, lambda b: _ecd(tt.BASE, b, learning_rate=0.05), "torch", tt._dataset),
}


@pytest.mark.parametrize("case", CASES)
def test_continuing_a_rung_equals_training_anew(case, sk_prepared, torch_prepared, tmp_path):
    engine, config, prep, dataset = CASES[case]
    prepared = sk_prepared if prep == "sk" else torch_prepared
    short, short_stats = _run(engine, config(3), prepared, tmp_path / "r0", keep_state=True)
    assert (tmp_path / "r0" / STATE_FILE).is_file()
    assert short["resumed_at"] is None and short["units_trained"] == 3
    warm, warm_stats = _run(
        engine, config(9), prepared, tmp_path / "r1", resume_from=tmp_path / "r0"
    )
    fresh, fresh_stats = _run(engine, config(9), prepared, tmp_path / "fresh")
    assert warm["resumed_at"] == 3 and warm["units_trained"] == 6
    assert "units_trained" not in fresh  # a job outside the rungs reports none
    assert warm_stats == fresh_stats
    assert len(warm_stats["validation"]["label"]["loss"]) == 9
    assert (
        warm_stats["validation"]["label"]["loss"][:3] == short_stats["validation"]["label"]["loss"]
    )
    assert warm["best_epoch"] == fresh["best_epoch"]
    frame = dataset(20, seed=5)
    np.testing.assert_array_equal(
        _probabilities(tmp_path / "r1", frame), _probabilities(tmp_path / "fresh", frame)
    )
    # Without keep_state (the last rung) nothing is saved.
    assert not (tmp_path / "r1" / STATE_FILE).exists()


def _trains_anew(engine, short, long, prepared, tmp_path, capsys, reason):
    _run(engine, short, prepared, tmp_path / "r0", keep_state=True)
    capsys.readouterr()
    info, stats = _run(engine, long, prepared, tmp_path / "r1", resume_from=tmp_path / "r0")
    assert info["resumed_at"] is None
    assert reason in capsys.readouterr().err
    _, fresh = _run(engine, long, prepared, tmp_path / "fresh")
    assert stats == fresh
    return info


def test_gbm_off_its_checkpoints_trains_anew(sk_prepared, tmp_path, capsys):
    # Evaluated every 4 rounds, a run of 10 passes 4, 8, 10: not the 6 a run of 6 ended at.
    info = _trains_anew(
        sk.ENGINE, _gbm(6, step=4), _gbm(10, step=4), sk_prepared, tmp_path, capsys,
        "not a point of this run",
    )  # fmt: skip
    assert info["units_trained"] == 10


def test_a_schedule_over_the_whole_budget_trains_anew(torch_prepared, tmp_path, capsys):
    schedule = {"learning_rate_scheduler": {"decay": "linear"}}
    _trains_anew(
        tt.ENGINE, _ecd(tt.BASE, 2, **schedule), _ecd(tt.BASE, 4, **schedule), torch_prepared,
        tmp_path, capsys, "linear learning rate decay",
    )  # fmt: skip


def test_a_state_of_another_config_or_a_missing_one_trains_anew(sk_prepared, tmp_path, capsys):
    other = _ecd(sk.BASE, 3, learning_rate=0.05)
    _trains_anew(
        sk.ENGINE, other, _ecd(sk.BASE, 6), sk_prepared, tmp_path, capsys,
        "saved for another config or seed",
    )  # fmt: skip
    (tmp_path / "gone").mkdir()
    info, _ = _run(
        sk.ENGINE, _ecd(sk.BASE, 4), sk_prepared, tmp_path / "r2", resume_from=tmp_path / "gone"
    )
    assert info["resumed_at"] is None and "is not there" in capsys.readouterr().err


def test_evaluation_points_and_fingerprint(tmp_path):
    assert evaluation_points(9) == list(range(1, 10))
    assert evaluation_points(10, 4) == [4, 8, 10]
    assert evaluation_points(0) == []
    a = WarmStart({"trainer": {"epochs": 3, "lr": 1}}, 1, ("trainer", "epochs"), tmp_path)
    b = WarmStart({"trainer": {"epochs": 9, "lr": 1}}, 1, ("trainer", "epochs"), tmp_path)
    c = WarmStart({"trainer": {"epochs": 9, "lr": 1}}, 2, ("trainer", "epochs"), tmp_path)
    assert a.fingerprint == b.fingerprint != c.fingerprint
