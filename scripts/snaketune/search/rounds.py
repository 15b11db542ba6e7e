"""The files of an adaptive search: the search setting, each round's history and suggestions.

    search/<digest>.json        the setting every round job reads (written at parse time)
    rounds/history_<r>.json     every trial before round r: values, score, sampler notes
    rounds/round_<r>.json       round r's suggestions: each trial's record and config

Round r's job reads history_<r-1> and the score.json files of round r-1's trials, and
writes history_<r> and round_<r>, so each job has a handful of inputs however long
the study. round_<r> always holds `batch_size` suggestions, even past num_samples:
raising num_samples then leaves the file, and so the trials already trained from it,
as they are. A small job per trial (`extract_trial`) copies its entry into the trial's
sampled/ folder, where the train job reads it as it reads a random trial's values.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from snaketune import io, resolve
from snaketune.errors import ConfigError
from snaketune.search import adaptive
from snaketune.search.plan import SearchPlan, internal_values
from snaketune.search.schedulers import first_budget, keeps_state, promote, with_budget
from snaketune.search.variant import trial_seed


def plan_of(setting: Mapping[str, Any], num_trials: int | None = None) -> SearchPlan:
    plan = setting["plan"]
    return SearchPlan(num_trials or 0, plan["fixed"], plan["batch_size"])


def _value(score: Mapping[str, Any]) -> float | None:
    """The score a sampler is told; None (failed) for a failed, skipped or non-finite one."""
    value = score.get("metric_score")
    if score.get("status") != "ok" or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def history_entry(parameters: Mapping[str, Any], score_path: Path) -> dict[str, Any]:
    """One finished trial as later rounds learn from it (its parameters.json and score.json)."""
    record = io.read_json(score_path.parent / "parameters.json")
    sampler = record.get("sampler") or {}
    internal = sampler.get("internal")
    if internal is None:
        internal = internal_values(parameters, record["parameters"])
    return {
        "index": record["index"],
        "trial_id": record["trial_id"],
        "parameters": record["parameters"],
        "internal": internal,
        "value": _value(io.read_json(score_path)),
        "system_attrs": sampler.get("system_attrs") or {},
    }


def past_trials(history: Sequence[Mapping[str, Any]]) -> list[adaptive.PastTrial]:
    return [
        adaptive.PastTrial(
            index=entry["index"],
            parameters=entry["parameters"],
            internal=entry["internal"],
            value=entry["value"],
            system_attrs=entry["system_attrs"],
        )
        for entry in history
    ]


def suggest_round(
    setting: Mapping[str, Any],
    round_index: int,
    previous_history: Path | None,
    scores: Sequence[Path],
    engine: Any,
) -> tuple[list[dict], dict]:
    """(history of the round, round file) for round `round_index` >= 1."""
    parameters = setting["parameters"]
    history = list(io.read_json(previous_history)) if previous_history else []
    history += [history_entry(parameters, Path(path)) for path in scores]
    history.sort(key=lambda entry: entry["index"])
    plan = plan_of(setting)
    first = plan.first_of(round_index)
    last = first + plan.batch_size - 1
    plan = SearchPlan(last + 1, plan.fixed, plan.batch_size)
    suggestions = adaptive.suggest(setting, plan, last, past_trials(history))
    entries = [_entry(setting, round_index, s, engine) for s in suggestions]
    return history, {"round": round_index, "first": first, "trials": entries}


def _entry(
    setting: Mapping[str, Any], round_index: int, suggestion: adaptive.Suggestion, engine: Any
) -> dict[str, Any]:
    tid = f"trial_{suggestion.index:04d}"
    record = {
        "trial_id": tid,
        "index": suggestion.index,
        "round": round_index,
        "trial_seed": trial_seed(setting["random_seed"], suggestion.index),
        "parameters": suggestion.parameters,
        "sampler": suggestion.sampler_record(),
    }
    config = resolve.resolve_trial(
        setting["model"], suggestion.parameters, engine.default_encoder, engine.default_decoder
    )
    rungs = setting.get("rungs")
    try:
        key = engine.check_trial(config)
    except ConfigError as exc:
        raise ConfigError(
            f"hyperopt.parameters: the sampler suggested values for {tid} ({suggestion.parameters})"
            f" that give an invalid config: {exc}"
        ) from None
    if key != setting["prep_key"]:
        raise ConfigError(
            f"hyperopt.parameters: the values suggested for {tid} ({suggestion.parameters}) "
            "change the data's preprocessing, which an adaptive search cannot do yet (every "
            "trial of it shares the data prepared once); tune preprocessing with search_alg "
            "random, sobol or halton."
        )
    if rungs is not None:  # rung 0 trains for its bracket's smallest budget
        budget = first_budget(rungs, suggestion.index)
        config = with_budget(config, rungs["budget_key"], budget)
        record.update(rung=0, budget=budget, keep_state=keeps_state(rungs, budget))
    return {"record": record, "config": config}


def extract_trial(round_file: Path, trial_id: str) -> tuple[dict, dict]:
    """(record, config) of one trial of a round file."""
    for entry in io.read_json(round_file)["trials"]:
        if entry["record"]["trial_id"] == trial_id:
            return entry["record"], entry["config"]
    raise ValueError(f"{trial_id} is not in {round_file}")


# --------------------------------------------------------------------------- rungs


def promote_rung(
    scores: Sequence[Path],
    *,
    rung: int,
    keep: int,
    budget: int,
    budget_key: Sequence[str],
    max_t: int,
    goal: str,
    preparations: Mapping[str, str],
) -> dict[str, Any]:
    """Rung `rung` of a bracket: its `keep` slots, filled by the best of the rung before.

    `scores` are the score.json files of the rung before, in trial order; a slot left
    without a trial (failed trials never go on) is marked unused.
    """
    entries = {}
    for path in scores:
        score = io.read_json(path)
        if score.get("status") == "unused":
            continue
        entries[score["trial_id"]] = (Path(path).parent, _value(score))
    chosen = promote([(tid, value) for tid, (_, value) in entries.items()], goal, keep)
    slots: list[dict[str, Any]] = []
    for tid in chosen:
        folder = entries[tid][0]
        record = io.read_json(folder / "parameters.json")
        record.update(rung=rung, budget=budget, continues=str(folder), keep_state=budget < max_t)
        config = with_budget(io.read_yaml(folder / "config.yaml"), budget_key, budget)
        slots.append({"record": record, "config": config, "prepared": preparations[tid]})
    slots += [{"unused": True}] * (keep - len(slots))
    ranked = [{"trial_id": tid, "value": value} for tid, (_, value) in entries.items()]
    return {"rung": rung, "budget": budget, "slots": slots, "previous": ranked}
