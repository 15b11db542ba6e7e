"""The models: an MLP for `model_type: ecd`, HistGradientBoosting for `gbm`.

Both are trained one evaluation unit at a time (an epoch = one `partial_fit` pass of
shuffled mini-batches; a boosting checkpoint = `boosting_rounds_per_checkpoint` more
trees with `warm_start`). After each unit every split is evaluated with
`snaketune.metrics`, the curves grow by one value, and a deep copy of the model is
kept whenever the validation value of the selection metric is the best so far.
"""

from __future__ import annotations

import copy
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from snaketune.backends.curves import DIVERGED_HINT, BestSoFar, Curves, TrainingDiverged
from snaketune.backends.sklearn import schema
from snaketune.backends.targets import Task
from snaketune.backends.warm_start import WarmStart, evaluation_points

# Above this many cells a dense matrix for HistGradientBoosting is refused (8 bytes each).
MAX_DENSE_CELLS = 200_000_000


# --------------------------------------------------------------------------- builders


def build_ecd(config: dict[str, Any], task: Task, seed: int) -> Any:
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    trainer = config["trainer"]
    optimizer = trainer["optimizer"]
    batch_size = trainer["batch_size"]
    kwargs: dict[str, Any] = {
        "hidden_layer_sizes": schema.hidden_layer_sizes(config),
        "activation": schema.SKLEARN_ACTIVATION[config["combiner"]["activation"]],
        "solver": optimizer["type"],
        "alpha": trainer["regularization_lambda"],
        # Ludwig's batch_size 'auto' is capped at 128 on CPU.
        "batch_size": 128 if batch_size == "auto" else batch_size,
        "learning_rate": "constant",
        "learning_rate_init": trainer["learning_rate"],
        "shuffle": trainer["should_shuffle"],
        # A RandomState object (not an int): partial_fit re-reads random_state on every
        # call, so an int would shuffle every epoch in the same order.
        "random_state": np.random.RandomState(seed),
        "max_iter": 1,
        "early_stopping": False,
    }
    if optimizer["type"] == "adam":
        kwargs.update(
            beta_1=optimizer["betas"][0], beta_2=optimizer["betas"][1], epsilon=optimizer["eps"]
        )
    else:
        kwargs.update(momentum=optimizer["momentum"], nesterovs_momentum=optimizer["nesterov"])
    return (MLPClassifier if task.is_classifier else MLPRegressor)(**kwargs)


def build_gbm(config: dict[str, Any], task: Task, seed: int) -> Any:
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    trainer = config["trainer"]
    kwargs: dict[str, Any] = {
        "learning_rate": trainer["learning_rate"],
        "max_iter": 0,  # grown by `advance`
        "max_leaf_nodes": trainer["num_leaves"],
        "max_depth": trainer["max_depth"] if trainer["max_depth"] > 0 else None,
        "min_samples_leaf": trainer["min_data_in_leaf"],
        "l2_regularization": trainer["lambda_l2"],
        # scikit-learn samples features per split node; LightGBM's per-tree fraction and
        # per-node fraction compose into the per-node fraction.
        "max_features": trainer["feature_fraction"] * trainer["feature_fraction_bynode"],
        "max_bins": trainer["max_bin"],
        "categorical_features": None,
        "warm_start": True,
        "early_stopping": False,
        "random_state": seed,
    }
    if task.is_classifier:
        return HistGradientBoostingClassifier(loss="log_loss", **kwargs)
    loss = "absolute_error" if task.loss_type == "mean_absolute_error" else "squared_error"
    return HistGradientBoostingRegressor(loss=loss, **kwargs)


# --------------------------------------------------------------------------- predictions


def predictions(model: Any, X: Any, task: Task) -> np.ndarray:
    """What metrics.compute takes: P(positive), a (n, n_classes) matrix, or values."""
    if not task.is_classifier:
        return task.outputs(np.asarray(model.predict(X), dtype=float))
    proba = np.asarray(model.predict_proba(X), dtype=float)
    full = np.zeros((proba.shape[0], task.n_classes))
    full[:, np.asarray(model.classes_, dtype=int)] = proba
    return full[:, 1] if task.output_type == "binary" else full


# --------------------------------------------------------------------------- training loop


@dataclass
class Result:
    model: Any
    statistics: dict[str, Any]
    best_epoch: int
    epochs_run: int  # evaluations
    trained_to: int  # budget units (epochs, boosting rounds) the model has had


def fit_with_selection(
    model: Any,
    advance: Callable[[Any, int], None],
    points: list[int],
    data: dict[str, tuple[Any, np.ndarray]],
    task: Task,
    *,
    field: str,
    metric: str,
    early_stop: int,
    frequency: dict[str, Any],
    warm: WarmStart | None = None,
    log: Callable[[str], None] = lambda message: None,
) -> Result:
    """Train to each of `points` (the budget after each evaluation); keep the model of the
    best validation value. With a saved state (`warm`) the first points are skipped: the
    state holds the live model after them, the best one and the curves."""
    curves = Curves(data, task.output_name)
    best = BestSoFar(field, metric, early_stop, unit="evaluation", log=log)
    best_model, run = None, 0
    state = warm.load(points) if warm is not None else None
    if state is not None:
        model, best_model, run = state["model"], state["best_model"], len(state["points"])
        curves.restore(state["curves"])
        best.restore(state["best"])
    for r in range(run + 1, len(points) + 1):
        if best.stop:
            break
        advance(model, r)
        run = r
        for split, (X, y) in data.items():
            curves.add(split, task.score(y, predictions(model, X, task)), f"at evaluation {r}")
        if best.observe(curves, r):
            best_model = copy.deepcopy(model)
    if warm is not None:
        warm.save(
            points[:run], model=model, best_model=best_model, curves=curves.values,
            best=best.state(),
        )  # fmt: skip
    best_round = best.best
    if best_model is None:  # no validation split (or only NaN): keep the last model
        best_model, best_round = copy.deepcopy(model), run
    statistics = curves.statistics(frequency["frequency"], frequency["period"])
    return Result(best_model, statistics, best_round, run, points[run - 1] if run else 0)


def train_ecd(config: dict[str, Any], task: Task, data: dict, seed: int, **select: Any) -> Result:
    model = build_ecd(config, task, seed)
    X_train, y_train = data["training"]
    y_fit = y_train if task.is_classifier else select.pop("y_fit")
    classes = np.arange(task.n_classes) if task.is_classifier else None

    def advance(mlp: Any, epoch: int) -> None:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if classes is not None:
                    mlp.partial_fit(X_train, y_fit, classes=classes)
                else:
                    mlp.partial_fit(X_train, y_fit)
        except ValueError as exc:
            if "non-finite" in str(exc):
                raise TrainingDiverged(
                    f"training diverged in epoch {epoch}: the MLP weights became NaN or infinite; "
                    f"{DIVERGED_HINT}."
                ) from None
            raise
        if not math.isfinite(mlp.loss_):
            raise TrainingDiverged(
                f"training diverged in epoch {epoch}: the training loss is {mlp.loss_}; "
                f"{DIVERGED_HINT}."
            )

    return fit_with_selection(
        model,
        advance,
        evaluation_points(config["trainer"]["epochs"]),
        data,
        task,
        early_stop=config["trainer"]["early_stop"],
        frequency={"frequency": 1, "period": "epoch"},
        **select,
    )


def train_gbm(config: dict[str, Any], task: Task, data: dict, seed: int, **select: Any) -> Result:
    trainer = config["trainer"]
    model = build_gbm(config, task, seed)
    X_train, y_train = data["training"]
    y_fit = y_train if task.is_classifier else select.pop("y_fit")
    total, step = trainer["num_boost_round"], trainer["boosting_rounds_per_checkpoint"]
    points = evaluation_points(total, step)

    def advance(gbm: Any, checkpoint: int) -> None:
        gbm.max_iter = points[checkpoint - 1]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            gbm.fit(X_train, y_fit)

    return fit_with_selection(
        model,
        advance,
        points,
        data,
        task,
        early_stop=trainer["early_stop"],
        frequency={"frequency": step, "period": "step"},
        **select,
    )
