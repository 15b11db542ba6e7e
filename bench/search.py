"""Search quality: the best score after n trials, per search algorithm, over seeds.

    .venv/bin/python bench/search.py                   # both sections, 10 seeds
    .venv/bin/python bench/search.py --methods random,tpe,cmaes,optuna_sequential --no-write
    .venv/bin/python bench/search.py --trials 64 --seeds 20 --tasks digits,surrogate,cancer
    .venv/bin/python bench/search.py --sections hyperband --configs 81 --max-t 81 --no-write

Two sections, chosen with --sections (default both; the run writes the docs section
`search` of docs/benchmarks.md with the tables of the sections it ran, in this order):
`search` compares search algorithms (described below); `hyperband` compares early stopping
by rungs with full training (bench/search_rungs.py): per seed, --configs random
configurations (27) of each --rung-tasks task (cancer: HistGradientBoosting rounds;
mlp: MLPClassifier epochs), each trained for --max-t (27), against the package's
successive halving (`async_hyperband`, eta 3, grace 1, one bracket) and `hyperband`
(eta 3, one bracket per starting budget) simulated from the learning curves with
`schedulers.brackets` and `schedulers.promote`. Its table gives the median best score
(each trial at its last rung), the full-budget score of the trial each method picks,
how often that is full training's best, and the epochs spent with warm starts (as the
workflow trains) and retraining each rung anew. Each scheduler runs on the same configs
as full training, and again on as many more (up to twice as many) as fit in half of
full training's epochs; the claims check whether that reaches full training's median
best.

Each study runs the package's own search code in-process, round by round as the
workflow does (round 0 from `fixed_parameters`, each later round from one
`adaptive.suggest` over every trial before it), with no Snakemake and no files. Every
method gets the same trial budget: random and Sobol search (all trials known up front);
TPE, GP (optuna's GPSampler) and CMA-ES in rounds of 4 with their default starts (10
Sobol points for TPE and GP, none for CMA-ES), plus `tpe8`, TPE with 8 starts; and, as
the reference, optuna's own sequential multivariate TPE (10 random starts, one trial at
a time). The claims compare `tpe` (the default 10 starts, as the reference has). Each
task minimizes a deterministic score:

- digits: an SVC on sklearn's digits (600 rows train, the other 1197 validate), the
  validation error over C, gamma (log), kernel (choice) and degree (integer, poly only);
- surrogate: Branin plus a log-scale term whose optimum moves with an integer, and a
  categorical offset;
- cancer (optional): HistGradientBoosting on breast_cancer, validation log loss over
  learning rate, leaves, min leaf size, quantized iterations and L2.

Per task, a row gives the median over seeds of the best score after 1/4, 1/2, 3/4 and
all of the trials, the 25th-75th percentiles at the end, the trials it took to reach
random search's median best (the lower median over seeds: half of them got there by
then; ">N" when half never do) and the median seconds a study spent choosing its
trials (scoring excluded; scores are cached, so a configuration is trained once). The
claim checks under each table are computed from the same numbers.
"""

from __future__ import annotations

import os

os.environ["OMP_NUM_THREADS"] = "1"  # one thread for sklearn, numpy's BLAS and torch
os.environ["OPENBLAS_NUM_THREADS"] = "1"

import argparse
import json
import math
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from job_structure import REPO, write_section  # noqa: E402

sys.path.insert(0, str(REPO / "scripts"))
from search_rungs import CURVE_TASKS, measure_rungs

from snaketune import spaces
from snaketune.search import adaptive, codec, options
from snaketune.search import plan as plan_module

METHODS = {
    "random": ("random", {"type": "random"}),
    "sobol": ("sobol", {"type": "sobol"}),
    "tpe": ("tpe, rounds of 4", {"type": "optuna", "batch_size": 4}),
    "tpe8": (
        "tpe (8 starts), rounds of 4",
        {"type": "optuna", "batch_size": 4, "n_startup_trials": 8},
    ),
    "gp": ("gp, rounds of 4", {"type": "bayesopt", "batch_size": 4}),
    "cmaes": ("cmaes, rounds of 4", {"type": "cmaes", "batch_size": 4}),
    "optuna_sequential": ("optuna TPE, sequential", None),
}


@dataclass
class Task:
    name: str
    title: str
    parameters: dict
    score: Callable[[dict], float]
    cache: dict = field(default_factory=dict)
    seconds: float = 0.0  # spent scoring (cache misses)

    def __post_init__(self) -> None:
        self.parameters = {n: spaces.validate_space(n, s) for n, s in self.parameters.items()}

    def __call__(self, values: dict) -> float:
        key = json.dumps(values, sort_keys=True)
        if key not in self.cache:
            start = time.perf_counter()
            self.cache[key] = float(self.score(values))
            self.seconds += time.perf_counter() - start
        return self.cache[key]


def _split(loader, train: int):
    from sklearn.model_selection import train_test_split

    X, y = loader(return_X_y=True)
    return train_test_split(X, y, train_size=train, stratify=y, random_state=0)


def digits_task() -> Task:
    from sklearn.datasets import load_digits
    from sklearn.svm import SVC

    Xtr, Xva, ytr, yva = _split(load_digits, 600)

    def score(v: dict) -> float:
        model = SVC(C=v["C"], gamma=v["gamma"], kernel=v["kernel"], degree=v["degree"])
        return 1.0 - model.fit(Xtr, ytr).score(Xva, yva)

    space = {
        "C": {"space": "loguniform", "lower": 1e-2, "upper": 1e3},
        "gamma": {"space": "loguniform", "lower": 1e-6, "upper": 1.0},
        "kernel": {"space": "choice", "categories": ["rbf", "poly", "sigmoid"]},
        "degree": {"space": "randint", "lower": 2, "upper": 6},
    }
    return Task("digits", "SVC on load_digits, validation error", space, score)


def cancer_task() -> Task:
    from sklearn.datasets import load_breast_cancer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import log_loss

    Xtr, Xva, ytr, yva = _split(load_breast_cancer, 284)

    def score(v: dict) -> float:
        model = HistGradientBoostingClassifier(early_stopping=False, random_state=0, **v)
        return log_loss(yva, model.fit(Xtr, ytr).predict_proba(Xva))

    space = {
        "learning_rate": {"space": "loguniform", "lower": 1e-3, "upper": 1.0},
        "max_leaf_nodes": {"space": "lograndint", "lower": 2, "upper": 64},
        "min_samples_leaf": {"space": "randint", "lower": 1, "upper": 60},
        "max_iter": {"space": "qrandint", "lower": 20, "upper": 160, "q": 20},
        "l2_regularization": {"space": "loguniform", "lower": 1e-4, "upper": 10.0},
    }
    return Task(
        "cancer", "HistGradientBoosting on breast_cancer, validation log loss", space, score
    )


OFFSETS = {"a": 3.0, "b": 0.0, "c": 1.0, "d": 6.0}


def surrogate(v: dict) -> float:
    x, y = v["x"], v["y"]
    branin = (y - 5.1 / (4 * math.pi**2) * x**2 + 5 / math.pi * x - 6) ** 2
    branin += 10 * (1 - 1 / (8 * math.pi)) * math.cos(x) + 10
    # The best lr moves with n (10**-4 at n = 4 ... 10**-1 at n = 16): a real interaction.
    lr_term = 2 * (math.log10(v["lr"]) + 5 - v["n"] / 4) ** 2
    return branin + lr_term + 0.25 * (v["n"] - 9) ** 2 + OFFSETS[v["c"]]


def surrogate_task() -> Task:
    space = {
        "x": {"space": "uniform", "lower": -5, "upper": 10},
        "y": {"space": "uniform", "lower": 0, "upper": 15},
        "lr": {"space": "loguniform", "lower": 1e-6, "upper": 1.0},
        "n": {"space": "randint", "lower": 1, "upper": 17},
        "c": {"space": "choice", "categories": list(OFFSETS)},
    }
    return Task(
        "surrogate",
        "Branin + log-scale lr × integer n + category offset (minimum 0.398)",
        space,
        surrogate,
    )


TASKS = {"digits": digits_task, "surrogate": surrogate_task, "cancer": cancer_task}


def run_rounds(task: Task, alg: dict, trials: int, seed: int) -> tuple[list[float], float]:
    """The scores of one study, in trial order, and the seconds its search took."""
    notices: list[str] = []
    hyperopt = {
        "parameters": task.parameters,
        "search_alg": options.normalize_search_alg(dict(alg), seed, {}, notices),
        "executor": {"num_samples": trials},
        "goal": "minimize",
    }
    plan_module.check_search(hyperopt, notices)
    plan = plan_module.make_plan(hyperopt)
    history: list[adaptive.PastTrial] = []
    search = 0.0
    for r in range(plan.rounds):
        indices = plan.trials_of(r)
        start = time.perf_counter()
        if r == 0:
            fixed = [plan_module.fixed_parameters(hyperopt, i) for i in indices]
            rows = [(v, plan_module.internal_values(task.parameters, v), {}) for v in fixed]
        else:
            suggestions = adaptive.suggest(hyperopt, plan, indices[-1], history)
            rows = [(s.parameters, s.internal, s.system_attrs) for s in suggestions]
        search += time.perf_counter() - start
        for i, (values, internal, attrs) in zip(indices, rows, strict=True):
            history.append(adaptive.PastTrial(i, values, internal, task(values), attrs))
    return [past.value for past in history], search


def run_sequential(task: Task, trials: int, seed: int) -> tuple[list[float], float]:
    """optuna's own TPE, one trial after another, on the same spaces (decoded as here)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    dims = codec.dimensions(task.parameters)
    scores: list[float] = []
    scoring = 0.0

    def objective(trial) -> float:
        nonlocal scoring
        values = {d.name: d.decode(trial._suggest(d.name, d.distribution())) for d in dims}
        start = time.perf_counter()
        scores.append(task(values))
        scoring += time.perf_counter() - start
        return scores[-1]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=10, multivariate=True)
        study = optuna.create_study(sampler=sampler)
        start = time.perf_counter()
        study.optimize(objective, n_trials=trials)
    return scores, time.perf_counter() - start - scoring


def reach(best: np.ndarray, target: float) -> float:
    """Trials (1-based) until the running best is at most target; inf if never."""
    hits = np.flatnonzero(best <= target)
    return float(hits[0] + 1) if hits.size else math.inf


def fmt(x: float) -> str:
    return f"{x:.4g}"


def measure(task: Task, methods: list[str], trials: int, seeds: int) -> list[str]:
    checkpoints = sorted({max(1, round(trials * k / 4)) for k in range(1, 5)})
    curves: dict[str, np.ndarray] = {}
    search: dict[str, list[float]] = {}
    for method in methods:
        start, rows, search[method] = time.perf_counter(), [], []
        for seed in range(seeds):
            alg = METHODS[method][1]
            scores, seconds = (
                run_sequential(task, trials, seed)
                if alg is None
                else run_rounds(task, alg, trials, seed)
            )
            rows.append(np.minimum.accumulate(scores))
            search[method].append(seconds)
        curves[method] = np.array(rows)
        print(
            f"{task.name} {method}: {time.perf_counter() - start:.1f} s wall, "
            f"{sum(search[method]):.1f} s search, {len(task.cache)} configs scored "
            f"so far ({task.seconds:.1f} s)",
            flush=True,
        )
    end = trials - 1
    median_end = {m: float(np.median(c[:, end])) for m, c in curves.items()}
    target = median_end.get("random")
    head = " | ".join(f"@{n}" for n in checkpoints)
    lines = [
        f"**{task.name}**: {task.title}; {trials} trials, {seeds} seeds, median over seeds",
        "",
        f"| method | {head} | 25th-75th % @{trials} | trials to random's median "
        f"@{trials} | search s / study |",
        "|---|" + "---|" * (len(checkpoints) + 3),
    ]
    to_reach: dict[str, float] = {}
    for method, c in curves.items():
        at = " | ".join(fmt(float(np.median(c[:, n - 1]))) for n in checkpoints)
        q25, q75 = np.percentile(c[:, end], [25, 75])
        cell = "-"
        if target is not None:
            to_reach[method] = statistics.median_low(reach(row, target) for row in c)
            cell = f">{trials}" if math.isinf(to_reach[method]) else f"{to_reach[method]:g}"
        lines.append(
            f"| {METHODS[method][0]} | {at} | {fmt(q25)}-{fmt(q75)} | {cell} "
            f"| {statistics.median(search[method]):.2f} |"
        )
    lines.append("")
    if "tpe" in curves and target is not None:
        x = to_reach["tpe"]
        ok = "yes" if x <= trials / 2 else "no"
        lines.append(
            f"- batched TPE reaches random search's median best at {trials} trials "
            f"({fmt(target)}) with at most {trials // 2} trials: {ok} (median trials "
            f"{f'>{trials}' if math.isinf(x) else f'{x:g}'})"
        )
    if "tpe" in curves and "optuna_sequential" in curves:
        d = median_end["tpe"] - median_end["optuna_sequential"]
        spread = max(
            float(np.subtract(*np.percentile(curves[m][:, end], [75, 25])))
            for m in ("tpe", "optuna_sequential")
        )
        inside = "within" if abs(d) <= spread else "outside"
        lines.append(
            f"- batched TPE vs sequential optuna TPE at {trials} trials: difference "
            f"{d:+.3g} (median best, batched minus sequential), spread between seeds "
            f"{spread:.3g} (the larger interquartile range of the two): {inside}"
        )
    return lines + [""]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=32)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--methods", default="random,sobol,tpe,tpe8,gp,cmaes,optuna_sequential")
    parser.add_argument("--tasks", default="digits,surrogate")
    parser.add_argument("--sections", default="search,hyperband")
    parser.add_argument("--rung-tasks", default="cancer,mlp", help="of the hyperband section")
    parser.add_argument("--configs", type=int, default=27, help="per seed, hyperband section")
    parser.add_argument("--max-t", type=int, default=27, help="full budget, hyperband section")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    methods, tasks = args.methods.split(","), args.tasks.split(",")
    sections, rung_tasks = args.sections.split(","), args.rung_tasks.split(",")
    for chosen, known in (
        (methods, METHODS),
        (tasks, TASKS),
        (sections, ("search", "hyperband")),
        (rung_tasks, CURVE_TASKS),
    ):
        unknown = [n for n in chosen if n not in known]
        if unknown:
            parser.error(f"unknown {', '.join(unknown)}; choose from {', '.join(known)}")
    lines: list[str] = []
    for name in tasks if "search" in sections else []:
        start = time.perf_counter()
        lines += measure(TASKS[name](), methods, args.trials, args.seeds)
        print(f"{name}: {time.perf_counter() - start:.1f} s", flush=True)
    for name in rung_tasks if "hyperband" in sections else []:
        start = time.perf_counter()
        lines += measure_rungs(CURVE_TASKS[name](), args.configs, args.max_t, args.seeds)
        print(f"{name} rungs: {time.perf_counter() - start:.1f} s", flush=True)
    print("\n".join(lines))
    if not args.no_write:
        command = " ".join(["python bench/search.py", *sys.argv[1:]])
        write_section("search", command, lines[:-1])


if __name__ == "__main__":
    main()
