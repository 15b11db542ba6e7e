"""Learning curves, the best evaluation and early stopping: one implementation for all.

Every engine records its evaluations as Ludwig's training statistics (split ->
feature -> metric -> one value per evaluation) through `Curves`, and picks the
model to keep with `BestSoFar`; scoring (`snaketune.score`) and the command engine
read the finished curves with `selection_split` and `best_evaluation`, so the epoch
a model was kept at and the epoch its score comes from are chosen the same way.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterable
from typing import Any


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite."""


DIVERGED_HINT = "lower trainer.learning_rate or normalize the inputs and the number output"


def selection_split(statistics: dict[str, Any]) -> str:
    """The split whose curve chooses the best evaluation: validation when it has values."""
    return "validation" if statistics.get("validation") else "training"


def best_evaluation(curve: list[Any], metric: str) -> int:
    """The 1-based evaluation with the best value; ValueError when no value is finite."""
    from snaketune import metrics  # numpy: not loaded by a job that only runs a program

    return metrics.best_index(curve, metric) + 1


class Curves:
    """One trial's statistics as it trains, one value per metric per evaluation."""

    def __init__(self, splits: Iterable[str], output_name: str) -> None:
        self.output_name = output_name
        self.values: dict[str, dict[str, dict[str, list[float]]]] = {
            split: {output_name: {}, "combined": {"loss": []}} for split in splits
        }

    def add(self, split: str, values: dict[str, float], where: str) -> None:
        """Append one evaluation of `split`; a non-finite loss ends training as diverged."""
        if not math.isfinite(values["loss"]):
            raise TrainingDiverged(
                f"training diverged {where}: the {split} loss is {values['loss']}; {DIVERGED_HINT}."
            )
        feature = self.values[split][self.output_name]
        for name, value in values.items():
            feature.setdefault(name, []).append(value)
        self.values[split]["combined"]["loss"].append(values["loss"])

    def last(self, split: str, field: str, metric: str) -> float:
        return self.values[split][field][metric][-1]

    def restore(self, values: dict[str, Any]) -> None:
        """Continue the curves of a saved state (a warm start): its values come first."""
        if set(values) != set(self.values):
            raise ValueError(
                f"the saved curves have splits {sorted(values)}, not {sorted(self.values)}"
            )
        self.values = copy.deepcopy(values)

    def statistics(self, frequency: int, period: str) -> dict[str, Any]:
        """Ludwig's training_statistics.json content."""
        return {"evaluation_frequency": {"frequency": frequency, "period": period}, **self.values}


class BestSoFar:
    """The best validation evaluation so far of the selection metric, and early stopping.

    `early_stop` is Ludwig's: stop after that many evaluations without improvement
    (-1 never stops). Without a validation split nothing is chosen here: the engine
    keeps its last model.
    """

    def __init__(
        self,
        field: str,
        metric: str,
        early_stop: int,
        unit: str = "epoch",
        log: Callable[[str], None] = lambda message: None,
    ) -> None:
        self.field, self.metric, self.early_stop = field, metric, early_stop
        self.unit, self.log = unit, log
        self.selection: list[float] = []
        self.best = 0  # the best evaluation, 1-based; 0 before the first
        self.stop = False

    def state(self) -> dict[str, Any]:
        """What a warm start needs to go on choosing as if it had never stopped."""
        return {"selection": list(self.selection), "best": self.best, "stop": self.stop}

    def restore(self, state: dict[str, Any]) -> None:
        self.selection, self.best = list(state["selection"]), int(state["best"])
        self.stop = bool(state["stop"])

    def observe(self, curves: Curves, evaluation: int) -> bool:
        """Whether `evaluation` is the best so far; sets `stop` once patience is spent."""
        if "validation" not in curves.values:
            return False
        self.selection.append(curves.last("validation", self.field, self.metric))
        try:
            best = best_evaluation(self.selection, self.metric)
        except ValueError:  # every value so far is NaN
            return False
        improved = best == evaluation
        if improved:
            self.best = evaluation
            self.log(
                f"{self.unit} {evaluation}: validation {self.field}.{self.metric} = "
                f"{self.selection[-1]:.6g} (best so far)"
            )
        since_best = evaluation - self.best
        if self.early_stop >= 0 and 0 < since_best >= self.early_stop:
            self.log(
                f"early stop after {self.unit} {evaluation}: no improvement for {since_best} "
                f"{self.unit}s"
            )
            self.stop = True
        return improved
