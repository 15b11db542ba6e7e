"""The hyperband section of bench/search.py: early stopping by rungs vs full training.

For each seed, N configurations are drawn at random and each one's whole learning
curve is computed once (the validation score after every budget unit 1..max_t; a
budget unit is a boosting round or an epoch). Training a configuration anew for b
units gives exactly the curve's value at b (checked in `check_curves`), so the rungs
can be simulated in-process from the curves with the package's own `brackets` and
`promote`, rung by rung as the workflow does: rung 0 in trial order, each later rung
from the slots the promotion filled (best first). Three methods see the same configs:

- full training: every config for max_t; epochs N * max_t;
- sha: `async_hyperband`, eta 3, grace 1, one bracket;
- hyperband: `hyperband`, eta 3, one bracket per starting budget (trial i in i mod count).

A method's best is the best score at each trial's last rung (trials at different rungs
compared by raw metric, as Ray does); "pick at max_t" is the full-budget score of the
trial it picks. Epochs "warm" count what the workflow trains with warm starts
(budget[k] - budget[k-1] per promoted trial, docs/search.md); "anew" count every rung
retrained from scratch (where a warm start is not exact: a GBM off its checkpoints, a
learning rate schedule over the whole budget).
"""

from __future__ import annotations

import json
import math
import statistics
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from snaketune import spaces
from snaketune.search import schedulers

SCHEDULERS = {
    "sha": ("sha (async_hyperband, η 3, 1 bracket)", {"type": "async_hyperband"}),
    "hyperband": ("hyperband (η 3, brackets from max_t)", {"type": "hyperband"}),
}


@dataclass
class CurveTask:
    name: str
    title: str
    parameters: dict
    curve: Callable[[dict, int], list[float]]  # values, max_t -> score after 1..max_t
    anew: Callable[[dict, int], float]  # values, budget -> score trained for budget only
    cache: dict = field(default_factory=dict)
    seconds: float = 0.0  # spent computing curves (cache misses)

    def __post_init__(self) -> None:
        self.parameters = {n: spaces.validate_space(n, s) for n, s in self.parameters.items()}

    def draw(self, seed: int, index: int) -> dict:
        rng = np.random.default_rng([seed, index])
        return {n: spaces.sample(s, rng) for n, s in sorted(self.parameters.items())}

    def __call__(self, values: dict, max_t: int) -> np.ndarray:
        key = (json.dumps(values, sort_keys=True), max_t)
        if key not in self.cache:
            start = time.perf_counter()
            self.cache[key] = np.asarray(self.curve(values, max_t), dtype=float)
            self.seconds += time.perf_counter() - start
        return self.cache[key]


def _split(loader, train: int, scale: float = 1.0):
    from sklearn.model_selection import train_test_split

    X, y = loader(return_X_y=True)
    return train_test_split(X / scale, y, train_size=train, stratify=y, random_state=0)


def hgb_task() -> CurveTask:
    from sklearn.datasets import load_breast_cancer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import log_loss

    Xtr, Xva, ytr, yva = _split(load_breast_cancer, 284)

    def model(v: dict, rounds: int):
        return HistGradientBoostingClassifier(
            max_iter=rounds, early_stopping=False, random_state=0, **v
        ).fit(Xtr, ytr)

    def curve(v: dict, max_t: int) -> list[float]:
        return [log_loss(yva, p) for p in model(v, max_t).staged_predict_proba(Xva)]

    def anew(v: dict, rounds: int) -> float:
        return log_loss(yva, model(v, rounds).predict_proba(Xva))

    space = {
        "learning_rate": {"space": "loguniform", "lower": 1e-2, "upper": 1.0},
        "max_leaf_nodes": {"space": "lograndint", "lower": 2, "upper": 64},
        "max_depth": {"space": "randint", "lower": 2, "upper": 9},
        "min_samples_leaf": {"space": "randint", "lower": 1, "upper": 60},
        "l2_regularization": {"space": "loguniform", "lower": 1e-4, "upper": 10.0},
    }
    title = "HistGradientBoosting on breast_cancer, validation log loss, budget = rounds"
    return CurveTask("cancer", title, space, curve, anew)


def mlp_task() -> CurveTask:
    from sklearn.datasets import load_digits
    from sklearn.metrics import log_loss
    from sklearn.neural_network import MLPClassifier

    Xtr, Xva, ytr, yva = _split(load_digits, 600, scale=16.0)
    classes = np.unique(ytr)

    def train(v: dict, epochs: int) -> list[float]:
        model = MLPClassifier(
            hidden_layer_sizes=(v["hidden"],),
            learning_rate_init=v["learning_rate_init"],
            alpha=v["alpha"],
            batch_size=v["batch_size"],
            random_state=0,
        )
        scores = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # overflow at a large learning rate
            for _ in range(epochs):
                model.partial_fit(Xtr, ytr, classes=classes)
                scores.append(log_loss(yva, model.predict_proba(Xva), labels=classes))
        return scores

    space = {
        "hidden": {"space": "lograndint", "lower": 8, "upper": 256},
        "learning_rate_init": {"space": "loguniform", "lower": 1e-4, "upper": 1e-1},
        "alpha": {"space": "loguniform", "lower": 1e-6, "upper": 1e-1},
        "batch_size": {"space": "choice", "categories": [32, 64, 128, 256]},
    }
    title = "MLPClassifier (adam, one partial_fit per epoch) on digits, validation log loss"
    return CurveTask("mlp", title, space, train, lambda v, epochs: train(v, epochs)[-1])


CURVE_TASKS = {"cancer": hgb_task, "mlp": mlp_task}


def check_curves(task: CurveTask, max_t: int) -> None:
    """Training anew for b units scores the curve's value at b (a few configs, budgets)."""
    for index in range(2):
        values = task.draw(0, index)  # seed 0's first configs: their curves are reused
        full = task(values, max_t)
        for budget in sorted({1, max(1, max_t // 3), max_t}):
            if not math.isclose(task.anew(values, budget), full[budget - 1], rel_tol=1e-9):
                raise AssertionError(f"{task.name}: {values} at {budget} differs from its curve")


@dataclass
class Outcome:
    best: float  # best score at each trial's last rung
    pick_full: float  # the full-budget score of the trial with that best
    pick: int
    anew: int  # epochs, every rung trained from scratch
    warm: int  # epochs, every rung continuing the rung before


def full_training(curves: list[np.ndarray], max_t: int) -> Outcome:
    finals = [float(c[max_t - 1]) for c in curves]
    pick = int(np.argmin(finals))
    n = len(curves) * max_t
    return Outcome(finals[pick], finals[pick], pick, n, n)


def halving(curves: list[np.ndarray], scheduler: dict, max_t: int) -> Outcome:
    """Synchronous successive halving with the package's brackets and promote."""
    plan = schedulers.brackets(scheduler, max_t, range(len(curves)))
    last: dict[str, float] = {}  # trial id -> score at its last rung
    anew = warm = 0
    for s, bracket in enumerate(plan):
        pattern = schedulers.bracket_pattern(scheduler, max_t)
        rung = [str(i) for i in range(len(curves)) if pattern[i % len(pattern)] == s]
        before = 0
        for k, budget in enumerate(bracket.budgets):
            if k:  # scores of the rung before: trial order at rung 0, slot order after
                rung = schedulers.promote(
                    [(t, last[t]) for t in rung], "minimize", bracket.sizes[k]
                )
            assert len(rung) == bracket.sizes[k], (bracket, k, rung)
            for t in rung:
                last[t] = float(curves[int(t)][budget - 1])
            anew += budget * len(rung)
            warm += (budget - before) * len(rung)
            before = budget
    pick = min(last, key=lambda t: (last[t], int(t)))
    return Outcome(last[pick], float(curves[int(pick)][max_t - 1]), int(pick), anew, warm)


def fmt(x: float) -> str:
    return f"{x:.4g}"


def configs_within(scheduler: dict, max_t: int, epochs: float, most: int) -> int:
    """The most configs (up to `most`) a scheduler runs within `epochs` (warm starts).

    A bracket's sizes do not depend on the scores, so neither do the epochs."""
    flat = [np.zeros(max_t)]
    fits = [n for n in range(1, most + 1) if halving(flat * n, scheduler, max_t).warm <= epochs]
    return max(fits, default=1)


def measure_rungs(task: CurveTask, configs: int, max_t: int, seeds: int) -> list[str]:
    """Full training of `configs` configs against each scheduler on the same configs, and
    on as many more (up to twice) as fit in half of full training's epochs."""
    start = time.perf_counter()
    check_curves(task, max_t)
    full_epochs = configs * max_t
    methods: dict[str, tuple[str, dict | None, int]] = {"full": ("full training", None, configs)}
    for name, (label, raw) in SCHEDULERS.items():
        notices: list[str] = []
        raw = {**raw, "max_t": max_t, "reduction_factor": 3}
        scheduler = schedulers.normalize_scheduler(raw, notices)
        methods[name] = (label, scheduler, configs)
        more = configs_within(scheduler, max_t, full_epochs / 2, 2 * configs)
        if more != configs:
            methods[f"{name}_half"] = (f"{label}, {more} configs", scheduler, more)
    outcomes: dict[str, list[Outcome]] = {m: [] for m in methods}
    for seed in range(seeds):
        most = max(n for _, _, n in methods.values())
        curves = [task(task.draw(seed, i), max_t) for i in range(most)]
        for name, (_, scheduler, n) in methods.items():
            outcomes[name].append(
                full_training(curves[:n], max_t)
                if scheduler is None
                else halving(curves[:n], scheduler, max_t)
            )
    print(
        f"{task.name} rungs: {time.perf_counter() - start:.1f} s wall, {len(task.cache)} "
        f"curves ({task.seconds:.1f} s)",
        flush=True,
    )
    lines = [
        f"**{task.name}, early stopping**: {task.title}; {configs} random configs per seed "
        f"(more where named: the first configs are the same), max_t {max_t}, {seeds} seeds, "
        "median over seeds",
        "",
        "| method | median best score | 25th-75th % | median pick at max_t | picks full's best "
        "| epochs (warm start, as the workflow) | epochs (anew) | epochs vs full (warm / anew) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    med: dict[str, dict[str, float]] = {}
    full_picks = [o.pick for o in outcomes["full"]]
    for name, rows in outcomes.items():
        best = [o.best for o in rows]
        med[name] = {
            "best": statistics.median(best),
            "pick_full": statistics.median(o.pick_full for o in rows),
            "anew": statistics.median(o.anew for o in rows),
            "warm": statistics.median(o.warm for o in rows),
        }
        m = med[name]
        q25, q75 = np.percentile(best, [25, 75])
        same = sum(o.pick == p for o, p in zip(rows, full_picks, strict=True))
        lines.append(
            f"| {methods[name][0]} | {fmt(m['best'])} | {fmt(q25)}-{fmt(q75)} "
            f"| {fmt(m['pick_full'])} | {same}/{seeds} | {m['warm']:g} | {m['anew']:g} "
            f"| {m['warm'] / full_epochs:.0%} / {m['anew'] / full_epochs:.0%} |"
        )
    lines.append("")
    target = med["full"]["best"]
    spread = float(np.subtract(*np.percentile([o.best for o in outcomes["full"]], [75, 25])))
    for name in methods:
        if name == "full":
            continue
        m = med[name]
        share = m["warm"] / full_epochs
        d = m["best"] - target
        ok = "yes" if m["best"] <= target and share <= 0.5 else "no"
        side = "within" if abs(d) <= spread else "outside"
        lines.append(
            f"- {methods[name][0]}: median best {fmt(m['best'])} against full training's "
            f"{fmt(target)} ({d:+.3g}, {side} full's IQR {spread:.3g}) for {share:.0%} of its "
            f"epochs; the same score or better with at most half the epochs: {ok}"
        )
    return lines + [""]
