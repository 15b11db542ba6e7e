"""`hyperopt.search_alg` (and Ludwig's Optuna executor) as one normalized search setting.

Each name a Ludwig user writes maps to one sampler that runs here, with the options
that sampler really has; a name with no honest equivalent, or an option that would
change nothing, is an error that lists what is supported:

    random, variant_generator   random draws, grid_search expanded (parse time)
    sobol, halton               scrambled quasi-random designs (scipy.stats.qmc, parse time)
    hyperopt, optuna, bohb      TPE (optuna), in rounds
    ax, bayesopt, skopt         Gaussian-process BO (optuna's GPSampler), in rounds
    cmaes                       CMA-ES (optuna's CmaEsSampler), in rounds

The result keeps the user's `type` and adds `sampler` (what runs), `random_state`
(the seed, under whichever name the user gave it) and every option with its default,
so study.yaml and hyperopt_statistics.json say exactly what ran.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from snaketune.errors import ConfigError, NotSupportedError, show

PARSE_TIME_SAMPLERS = ("variant", "sobol", "halton")
ADAPTIVE_SAMPLERS = ("tpe", "gp", "cmaes")
# Round size of an adaptive search when neither search_alg.batch_size nor
# executor.max_concurrent_trials gives one (never --cores: rounds must not depend on it).
DEFAULT_BATCH_SIZE = 4
# Ludwig names whose searchers have no honest equivalent here.
UNSUPPORTED = ("blendsearch", "cfo", "dragonfly", "hebo", "nevergrad", "zoopt")
# Keys of Ludwig's Optuna executor (executor.type: optuna) besides the common executor keys.
OPTUNA_EXECUTOR_KEYS = ("sampler", "pruner", "n_startup_trials", "seed", "study_name", "storage")
OPTUNA_EXECUTOR_SAMPLERS = {
    "tpe": "optuna",
    "auto": "optuna",
    "gp": "bayesopt",
    "cmaes": "cmaes",
    "random": "random",
    "qmc": "sobol",
}


def _fmt(value: Any) -> str:
    return show(value)


def _int_at_least(minimum: int) -> Callable[[str, Any], Any]:
    def check(path: str, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise ConfigError(f"{path}: {_fmt(value)} must be an integer >= {minimum}.")
        return value

    return check


def _fraction(path: str, value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1:
        raise ConfigError(f"{path}: {_fmt(value)} must be a number in (0, 1].")
    return float(value)


def _positive(path: str, value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ConfigError(f"{path}: {_fmt(value)} must be a number > 0.")
    return float(value)


def _boolean(path: str, value: Any) -> Any:
    if not isinstance(value, bool):
        raise ConfigError(f"{path}: {_fmt(value)} must be true or false.")
    return value


def _points(path: str, value: Any) -> Any:
    """A list of mappings; their names and values are checked against the spaces later."""
    if not isinstance(value, list) or not all(isinstance(p, dict) for p in value):
        raise ConfigError(
            f"{path}: {_fmt(value)} must be a list of mappings from parameter names to values "
            "(e.g. [{trainer.learning_rate: 0.001}])."
        )
    return value


def _optional_int(minimum: int) -> Callable[[str, Any], Any]:
    check = _int_at_least(minimum)
    return lambda path, value: None if value is None else check(path, value)


# Options every search has, and those of the adaptive (round-based) ones.
_SEED = {"random_state": (None, _optional_int(0))}
_POINTS = {"points_to_evaluate": ([], _points)}
_ROUNDS = {"batch_size": (None, _optional_int(1))}


@dataclass(frozen=True)
class SearchAlg:
    """One `search_alg.type`: the sampler it runs and the options it takes.

    `options` maps each key to (default, check); `aliases` maps a Ludwig/Ray spelling
    to the key it means here (e.g. hyperopt's `random_state_seed` is `random_state`).
    """

    sampler: str
    options: Mapping[str, tuple[Any, Callable[[str, Any], Any]]] = field(default_factory=dict)
    aliases: Mapping[str, str] = field(default_factory=dict)
    startup_default: int | None = None

    @property
    def adaptive(self) -> bool:
        return self.sampler in ADAPTIVE_SAMPLERS


def _tpe(startup: int, *extra: Mapping, aliases: Mapping | None = None) -> SearchAlg:
    options = {**_SEED, **_POINTS, **_ROUNDS, "n_startup_trials": (startup, _int_at_least(0))}
    options.update({"multivariate": (True, _boolean), "constant_liar": (True, _boolean)})
    for more in extra:
        options.update(more)
    return SearchAlg("tpe", options, {"seed": "random_state", **(aliases or {})}, startup)


def _gp(startup: int, aliases: Mapping | None = None) -> SearchAlg:
    options = {**_SEED, **_POINTS, **_ROUNDS, "n_startup_trials": (startup, _int_at_least(0))}
    return SearchAlg("gp", options, {"seed": "random_state", **(aliases or {})}, startup)


_GAMMA = {"gamma": (None, _fraction)}

SEARCH_ALGS: dict[str, SearchAlg] = {
    "variant_generator": SearchAlg("variant", {**_SEED, **_POINTS}),
    "random": SearchAlg("variant", {**_SEED, **_POINTS}),
    "sobol": SearchAlg("sobol", {**_SEED, **_POINTS, "scramble": (True, _boolean)}),
    "halton": SearchAlg("halton", {**_SEED, **_POINTS, "scramble": (True, _boolean)}),
    # hyperopt's TPE: 20 random starts, and gamma scales with sqrt(n) as in hyperopt.
    "hyperopt": _tpe(
        20,
        {"gamma": (0.25, _fraction)},
        aliases={"random_state_seed": "random_state", "n_initial_points": "n_startup_trials"},
    ),
    "optuna": _tpe(10, _GAMMA),
    "bohb": _tpe(10, _GAMMA),
    "ax": _gp(5),
    "bayesopt": _gp(10, {"random_search_steps": "n_startup_trials"}),
    "skopt": _gp(10, {"n_initial_points": "n_startup_trials"}),
    "cmaes": SearchAlg(
        "cmaes",
        {
            **_SEED,
            **_POINTS,
            **_ROUNDS,
            "n_startup_trials": (None, _optional_int(0)),
            "sigma0": (None, lambda p, v: None if v is None else _positive(p, v)),
            "popsize": (None, _optional_int(2)),
        },
        {"seed": "random_state"},
    ),
}
"""Every search_alg.type, keyed by the name written in YAML."""


def _supported() -> str:
    return ", ".join(SEARCH_ALGS)


def _options_of(kind: str, raw: dict, path: str) -> dict:
    alg = SEARCH_ALGS[kind]
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if key == "type":
            continue
        name = alg.aliases.get(key, key)
        if name not in alg.options:
            allowed = sorted({*alg.options, *alg.aliases})
            raise ConfigError(
                f"{path}.{key}: not an option of search_alg {kind!r} here; allowed: "
                f"{', '.join(allowed)}."
            )
        if name in out:
            raise ConfigError(
                f"{path}.{key}: {kind!r} already has {name!r} from another spelling of the "
                "same option; give it once."
            )
        out[name] = alg.options[name][1](f"{path}.{key}", value)
    return {key: out.get(key, default) for key, (default, _) in alg.options.items()}


def normalize_search_alg(
    raw: Any, seed: int, executor: Mapping[str, Any], notices: list[str]
) -> dict[str, Any]:
    """The search setting, validated and filled; `executor` is the user's executor section.

    Ludwig's Optuna executor (`executor.type: optuna`) names its sampler there; it is
    read into the same setting, and then `search_alg` must be left out.
    """
    if isinstance(executor, Mapping) and executor.get("type") == "optuna":
        if raw is not None:
            raise ConfigError(
                f"hyperopt.search_alg: {_fmt(raw)} is given together with executor.type optuna, "
                "whose executor.sampler chooses the search; give one of them."
            )
        raw = _from_optuna_executor(executor, notices)
    if raw is None:
        raw = {"type": "variant_generator"}
    if isinstance(raw, str):
        raw = {"type": raw}
    if not isinstance(raw, dict) or "type" not in raw:
        raise ConfigError(
            f"hyperopt.search_alg: {_fmt(raw)} must be a mapping with a 'type'; allowed "
            f"types: {_supported()}."
        )
    kind = raw["type"]
    if kind in UNSUPPORTED:
        raise NotSupportedError(
            f"hyperopt.search_alg.type: {kind!r} (a Ray Tune searcher) has no equivalent in "
            f"snaketune; supported: {_supported()}. TPE (optuna, hyperopt), GP "
            "(bayesopt, ax, skopt) and CMA-ES (cmaes) run in rounds from optuna's samplers."
        )
    if not isinstance(kind, str) or kind not in SEARCH_ALGS:
        raise ConfigError(
            f"hyperopt.search_alg.type: {_fmt(kind)} is not a search algorithm; allowed: "
            f"{_supported()}."
        )
    options = _options_of(kind, raw, "hyperopt.search_alg")
    if options["random_state"] is None:
        options["random_state"] = seed
    alg = SEARCH_ALGS[kind]
    if alg.adaptive and options["batch_size"] is None:
        options["batch_size"] = executor.get("max_concurrent_trials") or DEFAULT_BATCH_SIZE
        if not isinstance(options["batch_size"], int):  # "auto", checked by the executor
            options["batch_size"] = DEFAULT_BATCH_SIZE
    if alg.adaptive and options["n_startup_trials"] is None:
        # CMA-ES learns from its own generations only: its start is one round of the
        # design (optuna's would be random draws, since it has no search space yet).
        options["n_startup_trials"] = options["batch_size"]
    return {"type": kind, "sampler": alg.sampler, **options}


def _from_optuna_executor(executor: Mapping[str, Any], notices: list[str]) -> dict:
    """executor: {type: optuna, sampler, n_startup_trials, ...} as a search_alg.

    Its pruner is read as the scheduler (config.py).
    """
    sampler = executor.get("sampler", "tpe")
    if sampler not in OPTUNA_EXECUTOR_SAMPLERS:
        raise ConfigError(
            f"hyperopt.executor.sampler: {_fmt(sampler)} is not an Optuna sampler here; "
            f"allowed: {', '.join(OPTUNA_EXECUTOR_SAMPLERS)}."
        )
    if sampler == "auto":
        notices.append(
            "hyperopt.executor.sampler 'auto' runs TPE here (optuna's AutoSampler is not "
            "part of optuna itself)."
        )
    for key in ("study_name", "storage"):
        if key in executor:
            notices.append(
                f"hyperopt.executor.{key} ({_fmt(executor[key])}) concerns Optuna's database; "
                "snaketune keeps a study in its folder's files and rebuilds the sampler's "
                "history from them each round."
            )
    raw: dict[str, Any] = {"type": OPTUNA_EXECUTOR_SAMPLERS[sampler]}
    for key in ("n_startup_trials", "seed"):
        if key in executor:
            if raw["type"] in ("random", "sobol") and key == "n_startup_trials":
                raise ConfigError(
                    f"hyperopt.executor.n_startup_trials: sampler {sampler!r} has no startup "
                    "phase; remove the key."
                )
            raw["random_state" if key == "seed" else key] = executor[key]
    return raw


def is_adaptive(search_alg: Mapping[str, Any]) -> bool:
    """Whether the search learns from earlier rounds (else every trial is known up front)."""
    return search_alg["sampler"] in ADAPTIVE_SAMPLERS
