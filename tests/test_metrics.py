import math

import numpy as np
import pytest
from sklearn.metrics import log_loss, roc_auc_score

from snaketune import metrics
from snaketune.errors import ConfigError


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("loss", "min"),
        ("accuracy", "max"),
        ("hits_at_k", "max"),
        ("roc_auc", "max"),
        ("mean_squared_error", "min"),
        ("root_mean_squared_percentage_error", "min"),
        ("r2", "max"),
        ("jaccard", "max"),
        ("perplexity", "min"),
    ],
)
def test_direction(name, expected):
    assert metrics.direction(name) == expected


def test_direction_unknown():
    with pytest.raises(ConfigError, match="unknown metric 'acc'.*did you mean 'accuracy'"):
        metrics.direction("acc")


def test_metrics_for():
    assert metrics.metrics_for("binary") == [
        "loss",
        "accuracy",
        "precision",
        "recall",
        "specificity",
        "roc_auc",
    ]
    assert set(metrics.metrics_for("category")) == {
        "loss",
        "accuracy",
        "accuracy_micro",
        "hits_at_k",
        "precision",
        "recall",
        "specificity",
        "roc_auc",
    }
    assert "r2" in metrics.metrics_for("number")
    assert "accuracy" not in metrics.metrics_for("number")
    with pytest.raises(ConfigError, match="'text'"):
        metrics.metrics_for("text")


def test_check_metric_messages():
    metrics.check_metric("accuracy", "label", "category")
    metrics.check_metric("loss", "combined", None)
    with pytest.raises(ConfigError, match="'combined'.*only has 'loss'"):
        metrics.check_metric("accuracy", "combined", None)
    with pytest.raises(
        ConfigError,
        match=r"metric 'r2' does not apply to output feature 'label' of type category; "
        r"valid: loss, accuracy",
    ):
        metrics.check_metric("r2", "label", "category")
    with pytest.raises(
        ConfigError,
        match="unknown metric 'acuracy' \\(did you mean 'accuracy'\\?\\); valid for output "
        "feature 'label' of type category: loss, accuracy",
    ):
        metrics.check_metric("acuracy", "label", "category")
    with pytest.raises(ConfigError, match="unknown metric"):
        metrics.check_metric("acuracy", "combined", None)
    with pytest.raises(ConfigError, match="'loss' is the category output's"):
        metrics.check_metric("softmax_cross_entropy", "label", "category")


def test_is_better_and_best_index():
    assert metrics.is_better(0.1, 0.2, "loss")
    assert not metrics.is_better(0.1, 0.2, "accuracy")
    assert not metrics.is_better(0.2, 0.2, "accuracy")
    assert not metrics.is_better(math.nan, 0.2, "loss")
    assert metrics.is_better(0.2, math.nan, "loss")
    assert metrics.best_index([0.5, 0.3, 0.3, 0.4], "loss") == 1
    assert metrics.best_index([0.5, 0.9, 0.9, 0.4], "accuracy") == 1
    assert metrics.best_index([math.nan, 0.1, None, 0.2], "accuracy") == 3
    assert metrics.best_index([math.nan, 0.7], "loss") == 1
    with pytest.raises(ValueError):
        metrics.best_index([math.nan, None], "loss")
    with pytest.raises(ValueError):
        metrics.best_index([], "loss")


def test_compute_binary():
    y = [0, 0, 1, 1, 1]
    p = [0.1, 0.6, 0.8, 0.4, 0.9]
    out = metrics.compute("binary", y, p)
    assert list(out) == metrics.metrics_for("binary")
    assert all(type(v) is float for v in out.values())
    # predictions: 0 1 1 0 1 -> tp=2 fp=1 tn=1 fn=1
    assert out["accuracy"] == pytest.approx(3 / 5)
    assert out["precision"] == pytest.approx(2 / 3)
    assert out["recall"] == pytest.approx(2 / 3)
    assert out["specificity"] == pytest.approx(1 / 2)
    assert out["roc_auc"] == pytest.approx(roc_auc_score(y, p))
    assert out["loss"] == pytest.approx(log_loss(y, p))


def test_compute_binary_single_class_does_not_raise():
    out = metrics.compute("binary", [1, 1, 1], [0.2, 0.7, 0.9])
    assert math.isnan(out["roc_auc"])
    assert out["specificity"] == 0.0
    out = metrics.compute("binary", [0, 0], [0.2, 0.3])  # nothing predicted positive
    assert out["precision"] == 0.0
    assert out["recall"] == 0.0
    assert out["specificity"] == 1.0


def test_compute_category():
    classes = ["a", "b", "c", "d"]
    proba = np.array(
        [
            [0.7, 0.1, 0.1, 0.1],  # a, correct
            [0.1, 0.2, 0.6, 0.1],  # b, predicted c; b is 2nd
            [0.1, 0.05, 0.15, 0.7],  # c, predicted d; c is 2nd
            [0.05, 0.05, 0.1, 0.8],  # d, correct
        ]
    )
    y = ["a", "b", "c", "d"]
    out = metrics.compute("category", y, proba, classes=classes)
    assert set(out) == set(metrics.metrics_for("category"))
    assert out["accuracy"] == pytest.approx(0.5)
    assert out["accuracy_micro"] == out["accuracy"]
    assert out["loss"] == pytest.approx(log_loss(y, proba, labels=classes))
    assert out["hits_at_k"] == pytest.approx(1.0)  # every true class is in the top 3
    assert metrics.compute("category", y, proba, classes=classes, top_k=1)[
        "hits_at_k"
    ] == pytest.approx(0.5)
    assert out["roc_auc"] == pytest.approx(
        roc_auc_score(y, proba, multi_class="ovr", average="macro", labels=classes)
    )
    # per class precision: a 1, b 0 (never predicted), c 0, d 1/2 -> macro 0.375
    assert out["precision"] == pytest.approx(0.375)
    assert out["recall"] == pytest.approx(0.5)
    # specificity per class: a 3/3, b 3/3, c 2/3, d 2/3
    assert out["specificity"] == pytest.approx((1 + 1 + 2 / 3 + 2 / 3) / 4)


def test_compute_category_edge_cases():
    proba = np.array([[0.8, 0.2], [0.6, 0.4]])
    out = metrics.compute("category", [0, 0], proba)  # one class present
    assert math.isnan(out["roc_auc"])
    assert out["accuracy"] == 1.0
    # a label unseen in training counts as wrong and does not crash
    out = metrics.compute("category", ["x", "zzz"], proba, classes=["x", "y"])
    assert out["accuracy"] == 0.5
    assert math.isfinite(out["loss"]) and out["loss"] > 5


def test_compute_number():
    y = np.array([1.0, 2.0, 4.0])
    v = np.array([1.0, 3.0, 2.0])
    out = metrics.compute("number", y, v)
    assert out["mean_squared_error"] == pytest.approx(5 / 3)
    assert out["loss"] == out["mean_squared_error"]
    assert out["root_mean_squared_error"] == pytest.approx(math.sqrt(5 / 3))
    assert out["mean_absolute_error"] == pytest.approx(1.0)
    assert out["mean_absolute_percentage_error"] == pytest.approx((0 + 0.5 + 0.5) / 3)
    assert out["root_mean_squared_percentage_error"] == pytest.approx(math.sqrt(0.5 / 3))
    assert out["r2"] == pytest.approx(1 - 5 / (3 * np.var(y)))


def test_compute_empty_and_mismatch():
    out = metrics.compute("number", [], [])
    assert all(math.isnan(v) for v in out.values())
    with pytest.raises(ValueError, match="3 targets but 2"):
        metrics.compute("number", [1, 2, 3], [1, 2])
