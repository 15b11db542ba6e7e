"""Training an ECD network epoch by epoch, as Ludwig's trainer does.

Each epoch is one pass over the (shuffled) training split in mini-batches: forward,
the output feature's loss plus the regularization penalty, backward, gradient
clipping, an optimizer step with the scheduled learning rate. After every epoch each
split is evaluated with `snaketune.metrics` (the training split only with
`evaluate_training_set`; otherwise its curve is of the epoch's batches, as in Ludwig);
the curves grow by one value; the weights
of the epoch with the best validation value of the selection metric are kept;
training stops early after `early_stop` epochs without improvement.
"""

from __future__ import annotations

import contextlib
import math
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F

from snaketune import metrics
from snaketune.backends.base import Phases
from snaketune.backends.curves import DIVERGED_HINT, BestSoFar, Curves, TrainingDiverged
from snaketune.backends.params import AUTO_BATCH_SIZE
from snaketune.backends.targets import Task
from snaketune.backends.torch_engine import model as ecd
from snaketune.backends.warm_start import WarmStart, evaluation_points

OPTIMIZER_CLASSES = {
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "sgd": torch.optim.SGD,
    "rmsprop": torch.optim.RMSprop,
    "adagrad": torch.optim.Adagrad,
    "adadelta": torch.optim.Adadelta,
    "adamax": torch.optim.Adamax,
    "nadam": torch.optim.NAdam,
}


@dataclass
class Result:
    state_dict: dict[str, torch.Tensor]
    statistics: dict[str, Any]
    best_epoch: int
    epochs_run: int


@contextlib.contextmanager
def torch_settings(threads: int, deterministic: bool) -> Iterator[None]:
    """Threads and deterministic kernels for one training; restored afterwards."""
    previous = (
        torch.get_num_threads(),
        torch.are_deterministic_algorithms_enabled(),
        torch.is_deterministic_algorithms_warn_only_enabled(),
    )
    torch.set_num_threads(max(1, int(threads)))
    with contextlib.suppress(RuntimeError):  # settable once, before any inter-op work
        if torch.get_num_interop_threads() != max(1, int(threads)):
            torch.set_num_interop_threads(max(1, int(threads)))
    if deterministic:
        torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        yield
    finally:
        torch.set_num_threads(previous[0])
        torch.use_deterministic_algorithms(previous[1], warn_only=previous[2])


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def batch_size(trainer: dict[str, Any]) -> int:
    size = trainer["batch_size"]
    return AUTO_BATCH_SIZE if size == "auto" else int(size)


def eval_batch_size(trainer: dict[str, Any]) -> int:
    size = trainer["eval_batch_size"]
    if size in (None, 0, "auto"):
        return max(batch_size(trainer), 1024)
    return int(size)


# --------------------------------------------------------------------------- optimizer


def make_optimizer(trainer: dict[str, Any], params: list[torch.nn.Parameter]) -> Any:
    options = {k: v for k, v in trainer["optimizer"].items() if k != "type"}
    if "betas" in options:
        options["betas"] = tuple(options["betas"])
    cls = OPTIMIZER_CLASSES[trainer["optimizer"]["type"]]
    return cls(params, lr=trainer["learning_rate"], **options)


class Schedule:
    """The learning rate of every optimizer step: warmup, decay and reductions on plateau
    (Ludwig's `learning_rate_scheduler`; an evaluation is an epoch here)."""

    def __init__(self, config: dict[str, Any], base_lr: float, per_epoch: int, total: int):
        self.config = config
        self.base = base_lr
        self.total = max(1, total)
        if config["warmup_fraction"]:
            self.warmup = int(round(config["warmup_fraction"] * self.total))
        else:
            self.warmup = int(round(config["warmup_evaluations"] * per_epoch))
        self.cycle = config["t_0"] or per_epoch  # Ludwig: t_0 defaults to one evaluation
        self.factor = 1.0  # reductions on plateau
        self.reductions_left = config["reduce_on_plateau"]
        self.best: float | None = None
        self.waited = 0

    # What changes as training goes on (reductions on plateau), for a warm start.
    _STATE = ("factor", "reductions_left", "best", "waited")

    def state(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self._STATE}

    def restore(self, state: dict[str, Any]) -> None:
        for name in self._STATE:
            setattr(self, name, state[name])

    def depends_on_total(self) -> str | None:
        """Why the rates depend on the total number of steps (then a longer run is not
        a continuation of a shorter one), or None."""
        if self.config["decay"] == "linear":
            return "the linear learning rate decay runs to the last step of the budget"
        if self.config["warmup_fraction"]:
            return "the warmup_fraction is a share of the budget"
        return None

    def rate(self, step: int) -> float:
        """Learning rate of the optimizer step `step` (0-based)."""
        base = self.base * self.factor
        if step < self.warmup:
            return base * (step + 1) / self.warmup
        after = step - self.warmup
        decay = self.config["decay"]
        if decay == "linear":
            span = max(1, self.total - self.warmup)
            return base * max(0.0, (span - after) / span)
        if decay == "exponential":
            exponent = after / self.config["decay_steps"]
            if self.config["staircase"]:
                exponent = math.floor(exponent)
            return base * self.config["decay_rate"] ** exponent
        if decay == "cosine":
            position, period = after, self.cycle
            while position >= period:  # warm restarts, each period t_mult times longer
                position -= period
                period *= self.config["t_mult"]
            low = self.config["eta_min"]
            return low + (base - low) * (1 + math.cos(math.pi * position / period)) / 2
        return base

    def evaluated(self, value: float | None, metric: str) -> bool:
        """Record an evaluation of the plateau metric; True when the rate was just reduced."""
        if not self.reductions_left or value is None or math.isnan(value):
            return False
        if metrics.is_better(value, self.best, metric):
            self.best, self.waited = value, 0
            return False
        self.waited += 1
        if self.waited < self.config["reduce_on_plateau_patience"]:
            return False
        self.factor *= self.config["reduce_on_plateau_rate"]
        self.reductions_left -= 1
        self.waited = 0
        return True


# --------------------------------------------------------------------------- loss


def make_loss(
    output: dict[str, Any], task: Task, classes: list[str] | None, device: torch.device
) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """The training loss of the output feature (mean over the batch)."""
    config = output["loss"]
    kind = config["type"]
    if kind == "mean_squared_error":
        return F.mse_loss
    if kind == "mean_absolute_error":
        return F.l1_loss
    if kind == "root_mean_squared_error":
        return lambda pred, y: torch.sqrt(F.mse_loss(pred, y))
    robust, penalty = config["robust_lambda"], config["confidence_penalty"]
    n_classes = task.n_classes
    path = f"output_features.{output['name']}.loss"
    if kind == "softmax_cross_entropy":
        weight = _class_weights(config["class_weights"], classes or [], path)
        weight = None if weight is None else weight.to(device)

        def base(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            return F.cross_entropy(logits, y, weight=weight)

        def probabilities(logits: torch.Tensor) -> torch.Tensor:
            return torch.softmax(logits, dim=-1)
    else:  # binary_weighted_cross_entropy
        positive = config["positive_class_weight"]
        pos_weight = None if positive is None else torch.tensor(positive, device=device)

        def base(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            return F.binary_cross_entropy_with_logits(logits, y, pos_weight=pos_weight)

        def probabilities(logits: torch.Tensor) -> torch.Tensor:
            p = torch.sigmoid(logits)
            return torch.stack([1 - p, p], dim=-1)

    def loss(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        value = base(logits, y)
        if robust:
            value = (1 - robust) * value + robust / n_classes
        if penalty:
            p = probabilities(logits)
            entropy = -(p * torch.log(p.clamp(min=1e-10))).sum(dim=-1)
            most = math.log(n_classes)
            value = value + penalty * ((most - entropy) / most).mean()
        return value

    return loss


def _class_weights(value: Any, classes: list[str], path: str) -> torch.Tensor | None:
    if value is None:
        return None
    if isinstance(value, dict):
        unknown = [label for label in value if label not in classes]
        if unknown:
            raise ValueError(
                f"{path}.class_weights: {', '.join(map(repr, unknown))} are not classes of the "
                f"training split; the classes are: {', '.join(classes)}."
            )
        return torch.tensor([value.get(label, 1.0) for label in classes], dtype=torch.float32)
    if len(value) != len(classes):
        raise ValueError(
            f"{path}.class_weights: {len(value)} weights for {len(classes)} classes; give one "
            f"per class in this order: {', '.join(classes)} (or a mapping {{label: weight}})."
        )
    return torch.tensor(value, dtype=torch.float32)


def regularization(
    params: list[torch.nn.Parameter], kind: str | None, strength: float
) -> torch.Tensor | None:
    if not strength or kind is None:
        return None
    total = None
    for p in params:
        term = 0
        if kind in ("l1", "l1_l2"):
            term = term + p.abs().sum()
        if kind in ("l2", "l1_l2"):
            term = term + p.square().sum()
        total = term if total is None else total + term
    return None if total is None else strength * total


# --------------------------------------------------------------------------- evaluation


def predictions(logits: np.ndarray, task: Task) -> np.ndarray:
    """What metrics.compute takes, in the output's own units (numbers de-normalized, clipped)."""
    values = ecd.outputs_from_logits(logits, task.output_type)
    return task.outputs(values) if task.output_type == "number" else values


# --------------------------------------------------------------------------- the loop


def _batches(order: np.ndarray, size: int, merge_single: bool) -> list[np.ndarray]:
    parts = [order[i : i + size] for i in range(0, len(order), size)]
    # Batch normalization cannot train on one row: fold a trailing single row into the
    # previous batch.
    if merge_single and len(parts) > 1 and len(parts[-1]) == 1:
        parts[-2] = np.concatenate([parts[-2], parts.pop()])
    return parts


def train(
    full: dict[str, Any],
    spec: dict[str, Any],
    data: dict[str, dict[str, Any]],
    task: Task,
    *,
    seed: int,
    device: torch.device,
    field: str,
    metric: str,
    classes: list[str] | None = None,
    log: Callable[[str], None] = lambda message: None,
    phases: Phases | None = None,
    warm: WarmStart | None = None,
) -> Result:
    """Train; `data[split]` = {"X": {name: array}, "y": targets for metrics, "y_fit": targets
    for the loss}. The returned state dict is the best epoch's, on the CPU. With `warm`,
    the epochs a saved state has had are not trained again (backends/warm_start.py)."""
    timed = phases or Phases()
    trainer = full["trainer"]
    output = full["output_features"][0]
    types = {f["name"]: f["type"] for f in full["input_features"]}
    seed_everything(seed)
    with timed("build"):
        model = ecd.build_model(spec).to(device)
        params = [p for p in model.parameters() if p.requires_grad]
        optimizer = make_optimizer(trainer, params)
        loss_fn = make_loss(output, task, classes, device)
    clipping = trainer["gradient_clipping"]
    shuffler = np.random.default_rng(seed)

    training = data["training"]
    X_train = training["X"]
    y_dtype = torch.long if task.output_type == "category" else torch.float32
    y_train = torch.as_tensor(training["y_fit"], dtype=y_dtype)
    n = len(y_train)
    size = batch_size(trainer)
    merge_single = model.has_batch_norm()
    per_epoch = len(_batches(np.arange(n), size, merge_single))
    total = trainer["train_steps"] or trainer["epochs"] * per_epoch
    epochs = math.ceil(total / per_epoch)
    scheduler = trainer["learning_rate_scheduler"]
    schedule = Schedule(scheduler, trainer["learning_rate"], per_epoch, total)
    plateau_split, plateau_metric = scheduler["reduce_eval_split"], scheduler["reduce_eval_metric"]
    eval_size = eval_batch_size(trainer)

    curves = Curves(data, task.output_name)
    best = BestSoFar(field, metric, trainer["early_stop"], unit="epoch", log=log)
    best_state, run, step = None, 0, 0
    points = evaluation_points(epochs)
    inexact = "trainer.train_steps sets the budget" if trainer["train_steps"] else None
    state = warm.load(points, inexact or schedule.depends_on_total()) if warm else None
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        schedule.restore(state["schedule"])
        curves.restore(state["curves"])
        best.restore(state["best"])
        best_state, run, step = state["best_state"], len(state["points"]), state["step"]
        _set_generators(state["generators"], shuffler)
    full_training = trainer["evaluate_training_set"]
    evaluated = [split for split in data if full_training or split != "training"]
    for epoch in range(run + 1, epochs + 1):
        if best.stop:
            break
        model.train()
        order = shuffler.permutation(n) if trainer["should_shuffle"] else np.arange(n)
        seen = EpochOutputs()
        stepping = time.perf_counter()
        for rows in _batches(order, size, merge_single):
            if step >= total:
                break
            for group in optimizer.param_groups:
                group["lr"] = schedule.rate(step)
            logits = model(ecd.to_tensors(X_train, types, rows, device))
            if not full_training:
                seen.add(rows, logits)
            loss = loss_fn(logits, y_train[rows].to(device))
            penalty = regularization(
                params, trainer["regularization_type"], trainer["regularization_lambda"]
            )
            if penalty is not None:
                loss = loss + penalty
            if not torch.isfinite(loss):
                raise TrainingDiverged(
                    f"training diverged in epoch {epoch}: the training loss is {loss.item()}; "
                    f"{DIVERGED_HINT}."
                )
            optimizer.zero_grad()
            loss.backward()
            if clipping["clipglobalnorm"]:
                torch.nn.utils.clip_grad_norm_(params, clipping["clipglobalnorm"])
            if clipping["clipnorm"]:
                torch.nn.utils.clip_grad_norm_(params, clipping["clipnorm"])
            if clipping["clipvalue"]:
                torch.nn.utils.clip_grad_value_(params, clipping["clipvalue"])
            optimizer.step()
            step += 1
        run = epoch
        timed.add("train", time.perf_counter() - stepping)
        evaluating = time.perf_counter()
        if not full_training:
            rows, logits = seen.collected(epoch)
            values = task.score(training["y"][rows], predictions(logits, task))
            curves.add("training", values, f"in epoch {epoch}")
        for split in evaluated:
            part = data[split]
            logits = ecd.predict_logits(model, part["X"], types, eval_size, device)
            if not np.isfinite(logits).all():
                raise TrainingDiverged(
                    f"training diverged in epoch {epoch}: the {split} predictions are NaN or "
                    f"infinite; {DIVERGED_HINT}."
                )
            curves.add(split, task.score(part["y"], predictions(logits, task)), f"in epoch {epoch}")
        timed.add("evaluate", time.perf_counter() - evaluating)
        if plateau_split in curves.values and schedule.evaluated(
            curves.last(plateau_split, task.output_name, plateau_metric), plateau_metric
        ):
            rate = scheduler["reduce_on_plateau_rate"]
            log(f"epoch {epoch}: {plateau_split} {plateau_metric} on a plateau; lr x {rate:g}")
        if best.observe(curves, epoch):
            best_state = _cpu_copy(model)
        if step >= total or best.stop:
            break
    if warm is not None:
        warm.save(
            points[:run], model=_cpu_copy(model), optimizer=optimizer.state_dict(),
            schedule=schedule.state(), curves=curves.values, best=best.state(),
            best_state=best_state, step=step, generators=_generators(shuffler),
        )  # fmt: skip
    best_epoch = best.best
    if best_state is None:  # no validation split (or only NaN): keep the last epoch
        best_state, best_epoch = _cpu_copy(model), run
    return Result(best_state, curves.statistics(1, "epoch"), best_epoch, run)


class EpochOutputs:
    """The model's outputs on each training batch as it was trained on, for one epoch.

    With `evaluate_training_set: false` (Ludwig's default) they make the epoch's training
    curve as Ludwig's does: metrics accumulated over the batches during training, with
    no second pass over the training split; noisier than a full evaluation (dropout is
    on, the weights change from batch to batch).
    """

    def __init__(self) -> None:
        self.rows: list[np.ndarray] = []
        self.logits: list[np.ndarray] = []

    def add(self, rows: np.ndarray, logits: torch.Tensor) -> None:
        self.rows.append(rows)
        self.logits.append(logits.detach().to("cpu").numpy())

    def collected(self, epoch: int) -> tuple[np.ndarray, np.ndarray]:
        logits = np.concatenate(self.logits)
        if not np.isfinite(logits).all():
            raise TrainingDiverged(
                f"training diverged in epoch {epoch}: the training predictions are NaN or "
                f"infinite; {DIVERGED_HINT}."
            )
        return np.concatenate(self.rows), logits


def _generators(shuffler: np.random.Generator) -> dict[str, Any]:
    """Every generator training draws from: the batch order, dropout (torch), and the
    global ones of random and numpy."""
    return {
        "shuffler": shuffler.bit_generator.state,
        "torch": torch.get_rng_state(),
        "random": random.getstate(),
        "numpy": np.random.get_state(),
    }


def _set_generators(saved: dict[str, Any], shuffler: np.random.Generator) -> None:
    shuffler.bit_generator.state = saved["shuffler"]
    torch.set_rng_state(saved["torch"])
    random.setstate(saved["random"])
    np.random.set_state(saved["numpy"])


def _cpu_copy(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
