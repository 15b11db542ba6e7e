"""Ludwig metric names: direction, which output types produce them, and how to compute them.

The registry holds every name Ludwig's hyperopt accepts for `hyperopt.metric`, so a
name Ludwig knows but our output type does not produce gets a different message from
a typo. Only metrics with a compute function and output types are ever produced.

Edge cases (decided here, relied on by score.py):

- `roc_auc` is NaN when it is undefined: a binary split with one class only, or a
  category split where no class has both positive and negative rows (category
  `roc_auc` is the macro average of one-vs-rest AUCs over the classes for which the
  AUC is defined). NaN keeps every curve the same length and the same keys on every
  split; a NaN chosen as `metric_score` makes the trial fail with a clear error.
- precision, recall and specificity with an empty denominator are 0 (sklearn's
  `zero_division=0`), never NaN.
- category labels in `y_true` that are not among `classes` (unseen at training time)
  count as wrong predictions, get probability 0 in the loss (clipped by sklearn),
  and are negatives for every class in the one-vs-rest AUC.
- an empty split gives NaN for every metric.
"""

from __future__ import annotations

import difflib
import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from snaketune.errors import ConfigError, NotSupportedError


def _sklearn_metrics():
    """scikit-learn's metrics, imported on first use: score and leaderboard jobs, which
    only rank recorded values, then start without importing scikit-learn (about 2 s)."""
    from sklearn import metrics

    return metrics


OUTPUT_TYPES = ("binary", "category", "number")
MINIMIZE = "min"
MAXIMIZE = "max"
COMBINED = "combined"
DEFAULT_TOP_K = 3
# Ludwig's default decision threshold for a binary output.
BINARY_THRESHOLD = 0.5
# Guards the percentage errors against y_true == 0, as sklearn's MAPE does.
_PERCENTAGE_EPS = np.finfo(np.float64).eps


@dataclass(frozen=True)
class Metric:
    name: str
    direction: str  # "min" | "max"
    output_types: tuple[str, ...] = ()  # types snaketune computes it for
    ludwig_types: tuple[str, ...] = ()  # where Ludwig has it and we do not (for hints)


_LUDWIG_ONLY: dict[str, tuple[str, tuple[str, ...]]] = {
    "mean_absolute_scaled_error": (MINIMIZE, ("number",)),
    "symmetric_mean_absolute_percentage_error": (MINIMIZE, ("number",)),
    "huber": (MINIMIZE, ("number",)),
    "jaccard": (MAXIMIZE, ("set",)),
    "token_accuracy": (MAXIMIZE, ("sequence", "text")),
    "sequence_accuracy": (MAXIMIZE, ("sequence", "text")),
    "perplexity": (MINIMIZE, ("sequence", "text")),
    "next_token_perplexity": (MINIMIZE, ("text",)),
    "binary_weighted_cross_entropy": (MINIMIZE, ("binary",)),
    "softmax_cross_entropy": (MINIMIZE, ("category",)),
    "sequence_softmax_cross_entropy": (MINIMIZE, ("sequence", "text")),
    "next_token_softmax_cross_entropy": (MINIMIZE, ("text",)),
    "sigmoid_cross_entropy": (MINIMIZE, ("set",)),
    "corn": (MINIMIZE, ("category",)),
    "anomaly_auroc": (MAXIMIZE, ("anomaly",)),
    "f1_max": (MAXIMIZE, ()),
}

# Loss names Ludwig lists as metrics: for our outputs they are what `loss` already is.
_USE_LOSS_HINT = {
    "binary_weighted_cross_entropy": "binary",
    "softmax_cross_entropy": "category",
}

_B, _C, _N = "binary", "category", "number"

REGISTRY: dict[str, Metric] = {
    m.name: m
    for m in [
        Metric("loss", MINIMIZE, (_B, _C, _N)),
        Metric("accuracy", MAXIMIZE, (_B, _C)),
        Metric("accuracy_micro", MAXIMIZE, (_C,)),
        Metric("hits_at_k", MAXIMIZE, (_C,)),
        Metric("precision", MAXIMIZE, (_B, _C)),
        Metric("recall", MAXIMIZE, (_B, _C)),
        Metric("specificity", MAXIMIZE, (_B, _C)),
        Metric("roc_auc", MAXIMIZE, (_B, _C)),
        Metric("mean_squared_error", MINIMIZE, (_N,)),
        Metric("mean_absolute_error", MINIMIZE, (_N,)),
        Metric("root_mean_squared_error", MINIMIZE, (_N,)),
        Metric("r2", MAXIMIZE, (_N,)),
        Metric("mean_absolute_percentage_error", MINIMIZE, (_N,)),
        Metric("root_mean_squared_percentage_error", MINIMIZE, (_N,)),
        *(
            Metric(name, direction, (), ludwig_types)
            for name, (direction, ludwig_types) in _LUDWIG_ONLY.items()
        ),
    ]
}


# --------------------------------------------------------------------------- lookup


def _unknown_metric(metric: str, valid: list[str] | None = None, where: str = "") -> ConfigError:
    candidates = valid or list(REGISTRY)
    prefixed = [name for name in candidates if name.startswith(str(metric))]
    close = prefixed[:1] or difflib.get_close_matches(str(metric), candidates, n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    if valid:
        allowed = f"valid{where}: {', '.join(valid)}"
    else:
        allowed = f"Ludwig's metric names are: {', '.join(REGISTRY)}"
    return ConfigError(f"hyperopt.metric: unknown metric '{metric}'{hint}; {allowed}")


def direction(name: str) -> str:
    """'min' or 'max': which way the metric improves."""
    try:
        return REGISTRY[name].direction
    except KeyError:
        raise _unknown_metric(name) from None


def metrics_for(output_type: str) -> list[str]:
    """Names of the metrics snaketune computes for an output type, `loss` first."""
    if output_type not in OUTPUT_TYPES:
        raise NotSupportedError(
            f"output features of type '{output_type}' are not supported for metrics yet; "
            f"supported types: {', '.join(OUTPUT_TYPES)}"
        )
    return [m.name for m in REGISTRY.values() if output_type in m.output_types]


def check_metric(metric: str, output_feature_name: str, output_type: str | None) -> None:
    """Raise ConfigError unless `metric` is produced for that output feature.

    For the pseudo-feature `combined` (the sum of the output losses) only `loss` exists;
    `output_type` is then ignored and may be None.
    """
    if metric not in REGISTRY:
        if output_feature_name == COMBINED:
            raise _unknown_metric(metric, ["loss"], " for output_feature 'combined'")
        valid = metrics_for(output_type) if output_type in OUTPUT_TYPES else None
        where = f" for output feature '{output_feature_name}' of type {output_type}"
        raise _unknown_metric(metric, valid, where)
    if output_feature_name == COMBINED:
        if metric != "loss":
            raise ConfigError(
                f"hyperopt.metric: '{metric}' cannot be used with output_feature 'combined', "
                "which only has 'loss' (the sum of the output features' losses); to optimize "
                f"'{metric}', set hyperopt.output_feature to the name of an output feature"
            )
        return
    valid = metrics_for(output_type)
    if metric in valid:
        return
    message = (
        f"hyperopt.metric: metric '{metric}' does not apply to output feature "
        f"'{output_feature_name}' of type {output_type}; valid: {', '.join(valid)}"
    )
    if _USE_LOSS_HINT.get(metric) == output_type:
        message += f" ('loss' is the {output_type} output's {metric})"
    raise ConfigError(message)


# --------------------------------------------------------------------------- comparison


def _is_nan(x: float | None) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def is_better(a: float | None, b: float | None, name: str) -> bool:
    """True when `a` is strictly better than `b` for metric `name`. NaN/None is never better."""
    if _is_nan(a):
        return False
    if _is_nan(b):
        return True
    return a < b if direction(name) == MINIMIZE else a > b


def best_index(values: Sequence[float | None], name: str) -> int:
    """Index of the best value (the first one on ties); NaN/None is never chosen.

    Raises ValueError when there is no value that is not NaN.
    """
    best = -1
    for i, value in enumerate(values):
        if _is_nan(value):
            continue
        if best < 0 or is_better(value, values[best], name):
            best = i
    if best < 0:
        raise ValueError(f"no value of '{name}' to choose from (empty or all NaN)")
    return best


# --------------------------------------------------------------------------- computation


def _nan_dict(names: list[str]) -> dict[str, float]:
    return {name: math.nan for name in names}


def _specificity(cm: np.ndarray) -> np.ndarray:
    """Per-class TN / (TN + FP) from a confusion matrix; 0 where there are no negatives."""
    total = cm.sum()
    tp = np.diag(cm)
    fp = cm.sum(axis=0) - tp
    fn = cm.sum(axis=1) - tp
    tn = total - tp - fp - fn
    denom = tn + fp
    return np.divide(tn, denom, out=np.zeros(len(tp), dtype=float), where=denom > 0)


def _binary(y_true: np.ndarray, proba: np.ndarray) -> dict[str, float]:
    y = y_true.astype(int)
    if not np.isin(y, (0, 1)).all():
        raise ValueError("binary y_true must contain only 0/1 (or booleans)")
    p = np.clip(proba.astype(float), 0.0, 1.0)
    pred = (p >= BINARY_THRESHOLD).astype(int)
    cm = _sklearn_metrics().confusion_matrix(y, pred, labels=[0, 1])
    tn, fp = cm[0]
    out = {
        "loss": _sklearn_metrics().log_loss(y, p, labels=[0, 1]),
        "accuracy": _sklearn_metrics().accuracy_score(y, pred),
        "precision": _sklearn_metrics().precision_score(y, pred, zero_division=0),
        "recall": _sklearn_metrics().recall_score(y, pred, zero_division=0),
        "specificity": tn / (tn + fp) if tn + fp else 0.0,
        "roc_auc": _sklearn_metrics().roc_auc_score(y, p) if len(np.unique(y)) == 2 else math.nan,
    }
    return out


def _category(
    y_true: np.ndarray, proba: np.ndarray, classes: Sequence | None, top_k: int
) -> dict[str, float]:
    proba = np.asarray(proba, dtype=float)
    if proba.ndim != 2:
        raise ValueError(f"category predictions must be a (n, n_classes) matrix, got {proba.shape}")
    n_classes = proba.shape[1]
    classes = list(range(n_classes)) if classes is None else list(classes)
    if len(classes) != n_classes:
        raise ValueError(f"{len(classes)} classes for a probability matrix of {n_classes} columns")
    index = {label: i for i, label in enumerate(classes)}
    # Labels unseen in training get the extra index n_classes: never predicted, prob 0.
    y = np.array([index.get(label, n_classes) for label in y_true.tolist()], dtype=int)
    known = list(range(n_classes))
    pred = proba.argmax(axis=1)

    accuracy = _sklearn_metrics().accuracy_score(y, pred)
    padded = np.hstack([proba, np.zeros((len(y), 1))]) if (y == n_classes).any() else proba
    loss = _sklearn_metrics().log_loss(y, padded, labels=list(range(padded.shape[1])))

    k = min(top_k, n_classes)
    top = np.argsort(-proba, axis=1, kind="stable")[:, :k]
    hits = float((top == y[:, None]).any(axis=1).mean())

    aucs = []
    for c in known:
        positives = y == c
        if 0 < positives.sum() < len(y):
            aucs.append(_sklearn_metrics().roc_auc_score(positives, proba[:, c]))
    cm = _sklearn_metrics().confusion_matrix(y, pred, labels=known)
    return {
        "loss": loss,
        "accuracy": accuracy,
        "accuracy_micro": accuracy,
        "hits_at_k": hits,
        "precision": _sklearn_metrics().precision_score(
            y, pred, labels=known, average="macro", zero_division=0
        ),
        "recall": _sklearn_metrics().recall_score(
            y, pred, labels=known, average="macro", zero_division=0
        ),
        "specificity": float(_specificity(cm).mean()),
        "roc_auc": float(np.mean(aucs)) if aucs else math.nan,
    }


def _number(y_true: np.ndarray, values: np.ndarray) -> dict[str, float]:
    y = y_true.astype(float)
    v = values.astype(float)
    mse = _sklearn_metrics().mean_squared_error(y, v)
    relative = (y - v) / np.maximum(np.abs(y), _PERCENTAGE_EPS)
    return {
        "loss": mse,
        "mean_squared_error": mse,
        "mean_absolute_error": _sklearn_metrics().mean_absolute_error(y, v),
        "root_mean_squared_error": math.sqrt(mse),
        # r2 needs two rows; sklearn returns NaN (with a warning) for one.
        "r2": _sklearn_metrics().r2_score(y, v),
        "mean_absolute_percentage_error": _sklearn_metrics().mean_absolute_percentage_error(y, v),
        "root_mean_squared_percentage_error": math.sqrt(float(np.mean(relative**2))),
    }


_COMPUTE: dict[str, Callable[..., dict[str, float]]] = {
    "binary": lambda y, p, classes, top_k: _binary(y, p),
    "category": _category,
    "number": lambda y, p, classes, top_k: _number(y, p),
}


def compute(
    output_type: str,
    y_true,
    proba_or_values,
    classes: Sequence | None = None,
    *,
    top_k: int = DEFAULT_TOP_K,
) -> dict[str, float]:
    """Every metric of `metrics_for(output_type)` as plain floats.

    - binary: `y_true` in {0, 1}; predictions = probability of the positive class.
    - category: `y_true` labels; predictions = (n, len(classes)) probabilities, whose
      columns follow `classes` (default: 0..n_classes-1).
    - number: predicted values.
    """
    names = metrics_for(output_type)
    y = np.asarray(y_true).ravel()
    pred = np.asarray(proba_or_values)
    if output_type != "category":
        pred = pred.ravel()
    if len(y) != len(pred):
        raise ValueError(f"{len(y)} targets but {len(pred)} predictions")
    if len(y) == 0:
        return _nan_dict(names)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        values = _COMPUTE[output_type](y, pred, classes, top_k)
    return {name: float(values[name]) for name in names}
