import json
import math

import pytest

from snaketune.score import SCORE_FIELDS, compare_rerun, score_trial, write_score

OK = {"status": "ok", "error": None, "duration_s": 3.5, "train_time_s": 3.0, "best_epoch": 2}
PARAMS = {"trainer.learning_rate": 0.01}


def stats():
    return {
        "evaluation_frequency": {"frequency": 1, "period": "epoch"},
        "training": {
            "label": {"loss": [0.9, 0.5, 0.3, 0.2], "accuracy": [0.5, 0.7, 0.8, 0.9]},
            "combined": {"loss": [0.9, 0.5, 0.3, 0.2]},
        },
        "validation": {
            "label": {"loss": [0.8, 0.6, 0.7, 0.9], "accuracy": [0.6, 0.8, 0.8, 0.7]},
            "combined": {"loss": [0.8, 0.6, 0.7, 0.9]},
        },
        "test": {
            "label": {"loss": [0.7, 0.65, 0.4, 0.5], "accuracy": [0.6, 0.75, 0.95, 0.9]},
            "combined": {"loss": [0.7, 0.65, 0.4, 0.5]},
        },
    }


def run(summary=OK, training_statistics=None, **kw):
    args = {"output_feature": "label", "metric": "accuracy", "split": "validation"}
    args.update(kw)
    st = stats() if training_statistics is None else training_statistics
    return score_trial(summary, st, trial_id="trial_0001", parameters=PARAMS, **args)


def test_validation_score_is_ludwig_best_of_curve():
    score = run()
    assert set(score) == set(SCORE_FIELDS)
    assert score["status"] == "ok"
    assert score["metric_score"] == 0.8  # max of validation accuracy
    assert score["best_epoch"] == 2  # first of the tie, 1-based
    assert score["selected_on"] == "validation"
    assert score["eval_stats"] == {
        "label": {"loss": 0.6, "accuracy": 0.8},
        "combined": {"loss": 0.6},
    }
    assert score["duration_s"] == 3.5
    assert score["train_time_s"] == 3.0
    assert score["error"] is None
    assert score["parameters"] == PARAMS


def test_minimized_metric_on_combined():
    score = run(output_feature="combined", metric="loss")
    assert score["metric_score"] == 0.6
    assert score["best_epoch"] == 2


def test_test_split_uses_epoch_chosen_on_validation():
    # test accuracy peaks at epoch 3 (0.95) but validation chose epoch 2
    score = run(split="test")
    assert score["split"] == "test"
    assert score["best_epoch"] == 2
    assert score["metric_score"] == 0.75
    assert score["eval_stats"]["label"] == {"loss": 0.65, "accuracy": 0.75}


def test_training_split():
    # config.py turns the alias train into training at parse time; scoring trusts it.
    score = run(split="training")
    assert score["split"] == "training"
    assert score["metric_score"] == 0.7
    assert score["best_epoch"] == 2


def test_no_validation_split_falls_back_to_training():
    st = stats()
    del st["validation"]
    score = run(training_statistics=st, split="test")
    assert score["selected_on"] == "training"
    assert score["best_epoch"] == 4
    assert score["metric_score"] == 0.9


def test_failed_training_passes_through():
    summary = {"status": "failed", "error": "MemoryError: too big", "duration_s": 1.0}
    score = score_trial(
        summary,
        None,
        output_feature="label",
        metric="loss",
        split="validation",
        trial_id="trial_0002",
        parameters=PARAMS,
    )
    assert score["status"] == "failed"
    assert score["metric_score"] is None
    assert score["best_epoch"] is None
    assert score["error"] == "MemoryError: too big"
    assert score["duration_s"] == 1.0
    assert score["trial_id"] == "trial_0002"


def test_missing_metric_or_feature_or_split_fails():
    score = run(metric="roc_auc")
    assert score["status"] == "failed"
    assert "metric 'roc_auc' of 'label' is missing from training_statistics.json" in score["error"]
    score = run(output_feature="other")
    assert "output feature 'other' is missing" in score["error"]
    st = stats()
    del st["test"]
    score = run(training_statistics=st, split="test")
    assert "split 'test' is missing" in score["error"]
    score = run(summary=OK, training_statistics={})
    assert score["status"] == "failed"


def test_missing_statistics_file_fails():
    score = score_trial(
        OK,
        None,
        output_feature="label",
        metric="loss",
        split="validation",
        trial_id="t",
        parameters={},
    )
    assert score["status"] == "failed"
    assert "training_statistics.json is missing" in score["error"]


def test_nan_score_fails():
    st = stats()
    st["test"]["label"]["accuracy"][1] = math.nan
    score = run(training_statistics=st, split="test")
    assert score["status"] == "failed"
    assert score["metric_score"] is None
    assert "is nan on split 'test' at the best epoch 2" in score["error"]
    st = stats()
    st["validation"]["label"]["accuracy"] = [math.nan] * 4
    score = run(training_statistics=st)
    assert score["status"] == "failed"
    assert "NaN at every evaluation" in score["error"]


def test_nan_in_selection_curve_is_skipped():
    st = stats()
    st["validation"]["label"]["accuracy"] = [math.nan, 0.5, 0.9, math.inf * 0]
    score = run(training_statistics=st)
    assert score["best_epoch"] == 3
    assert score["metric_score"] == 0.9


def test_write_score_is_standard_json(tmp_path):
    st = stats()
    st["validation"]["label"]["roc_auc"] = [math.nan] * 4
    score = run(training_statistics=st)
    assert score["eval_stats"]["label"]["roc_auc"] is None
    score["duration_s"] = math.inf
    path = tmp_path / "trial" / "score.json"
    write_score(path, score)
    text = path.read_text()
    loaded = json.loads(text, parse_constant=lambda c: pytest.fail(f"non-standard {c}"))
    assert loaded["metric_score"] == 0.8
    assert loaded["duration_s"] is None


def test_compare_rerun():
    a = {"status": "ok", "metric_score": 0.8}
    result = compare_rerun(a, {"status": "ok", "metric_score": 0.8 + 1e-12})
    assert result == {
        "original_metric_score": 0.8,
        "original_status": "ok",
        "matches_original": True,
    }
    assert not compare_rerun(a, {"status": "ok", "metric_score": 0.81})["matches_original"]
    assert not compare_rerun(a, {"status": "failed", "metric_score": None})["matches_original"]
    failed = {"status": "failed", "metric_score": None}
    assert compare_rerun(failed, dict(failed))["matches_original"]
