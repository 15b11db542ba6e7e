"""Aggregate the trials' scores: leaderboard.tsv/.md, hyperopt_statistics.json and best/.

Order: trials with status ok, by metric_score (ascending for `minimize`, descending for
`maximize`; ties by trial id), then every failed trial in trial id order with its error.
Failed trials get no rank. hyperopt_statistics.json keeps Ludwig's shape
(`{hyperopt_config, hyperopt_results}`, sorted keys, indent 4) with trial_id, trial_dir and
status added to each result and the failed trials in their own list, so `ludwig
visualize` only ever sees numeric metric scores.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import sys
from pathlib import Path
from typing import Any

from snaketune.errors import ConfigError
from snaketune.io import build_folder, write_json, write_text
from snaketune.score import strict_json, write_score
from snaketune.trial import PROGRAM_OUTPUT

GOALS = ("minimize", "maximize")
LEAD_COLUMNS = ("rank", "trial_id", "status", "metric_score", "best_epoch", "duration_s")
TAIL_COLUMNS = ("error",)
# Shown when a study has them: its search round, and a scheduler's rung and budget.
EXTRA_COLUMNS = ("round", "rung", "budget")
BEST_FILES = ("model.joblib", "config.yaml", "parameters.json", "score.json")
MODEL_FILES = ("model.joblib", PROGRAM_OUTPUT)
_MD_ERROR_CHARS = 300


# --------------------------------------------------------------------------- ordering


def _trial_sort_key(trial_id: str) -> list:
    """Natural order: trial_2 before trial_10."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", str(trial_id))]


def _is_ok(score: dict) -> bool:
    value = score.get("metric_score")
    return (
        score.get("status") == "ok"
        and isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
    )


def _error_of(score: dict) -> str:
    if score.get("error"):
        return str(score["error"])
    if score.get("status") == "ok":
        return f"metric_score is not a finite number: {score.get('metric_score')!r}"
    return f"status {score.get('status')!r} without an error message"


def rank_scores(scores: list[dict], goal: str) -> tuple[list[dict], list[dict]]:
    """(ok scores best first, failed scores in trial id order)."""
    if goal not in GOALS:
        raise ConfigError(f"hyperopt.goal: '{goal}' is not one of {', '.join(GOALS)}")
    ok = [s for s in scores if _is_ok(s)]
    failed = [s for s in scores if not _is_ok(s)]
    sign = 1.0 if goal == "minimize" else -1.0
    ok.sort(key=lambda s: (sign * float(s["metric_score"]), _trial_sort_key(s["trial_id"])))
    failed.sort(key=lambda s: _trial_sort_key(s["trial_id"]))
    return ok, failed


def _parameter_names(scores: list[dict], hyperopt_config: dict) -> list[str]:
    names = list((hyperopt_config or {}).get("parameters") or {})
    for score in scores:
        for name in score.get("parameters") or {}:
            if name not in names:
                names.append(name)
    return names


def _column_for(name: str) -> str:
    """A parameter's column; prefixed only if it would clash with a fixed column."""
    return f"param:{name}" if name in (*LEAD_COLUMNS, *EXTRA_COLUMNS, *TAIL_COLUMNS) else name


def _cell_value(value: Any) -> Any:
    """Lists, dicts and booleans as compact JSON; other scalars unchanged."""
    if isinstance(value, list | dict | tuple | bool):
        return json.dumps(value, separators=(",", ":"))
    return value


def _not_ok_status(score: dict) -> str:
    """Skipped trials (time budget, max_failed_trials) keep their status; the rest failed."""
    return "skipped" if score.get("status") == "skipped" else "failed"


def status_counts(statuses: list[str]) -> str:
    """'3 ok, 1 failed' (', 2 skipped' when any were): one wording for every file and print."""
    ok, skipped = statuses.count("ok"), statuses.count("skipped")
    counts = f"{ok} ok, {len(statuses) - ok - skipped} failed"
    return f"{counts}, {skipped} skipped" if skipped else counts


def _rows(
    ok: list[dict], failed: list[dict], param_names: list[str], extra: tuple[str, ...] = ()
) -> list[dict]:
    rows = []
    for rank, score in enumerate(ok + failed, start=1):
        is_ok = rank <= len(ok)
        row: dict[str, Any] = {
            "rank": rank if is_ok else None,
            "trial_id": score["trial_id"],
            "status": "ok" if is_ok else _not_ok_status(score),
            "metric_score": float(score["metric_score"]) if is_ok else None,
            "best_epoch": score.get("best_epoch") if is_ok else None,
            "duration_s": score.get("duration_s"),
        }
        for name in extra:
            row[name] = score.get(name)
        params = score.get("parameters") or {}
        for name in param_names:
            row[_column_for(name)] = params.get(name)
        row["error"] = None if is_ok else _error_of(score)
        rows.append(row)
    return rows


# --------------------------------------------------------------------------- tables


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _tsv_cell(value: Any) -> str:
    value = _cell_value(value)
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else ""
    return _one_line(value) if isinstance(value, str) else str(value)


def format_tsv(rows: list[dict], columns: list[str]) -> str:
    lines = ["\t".join(columns)]
    lines += ["\t".join(_tsv_cell(row.get(c)) for c in columns) for row in rows]
    return "\n".join(lines) + "\n"


def _md_cell(value: Any) -> str:
    value = _cell_value(value)
    if value is None:
        return ""
    if isinstance(value, float):
        text = format(value, ".6g")
    else:
        text = _one_line(value) if isinstance(value, str) else str(value)
    if len(text) > _MD_ERROR_CHARS:
        text = text[: _MD_ERROR_CHARS - 1] + "…"
    return text.replace("|", "\\|")


def format_markdown(
    rows: list[dict], columns: list[str], *, title: str = "", top: int | None = None
) -> str:
    shown = rows if top is None else rows[:top]
    right = {"rank", "metric_score", "best_epoch", "duration_s", *EXTRA_COLUMNS}
    lines = [f"# {title}", ""] if title else []
    lines.append("| " + " | ".join(c.replace("|", "\\|") for c in columns) + " |")
    lines.append("|" + "|".join("---:" if c in right else "---" for c in columns) + "|")
    lines += ["| " + " | ".join(_md_cell(row.get(c)) for c in columns) + " |" for row in shown]
    if len(shown) < len(rows):
        lines += ["", f"{len(rows) - len(shown)} more trials in leaderboard.tsv."]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- statistics


def hyperopt_statistics(
    ok: list[dict],
    failed: list[dict],
    *,
    hyperopt_config: dict,
    trial_dirs: dict[str, str],
    training_stats: dict[str, dict | None],
) -> dict:
    """Ludwig's hyperopt_statistics.json content, plus trial_id/trial_dir/status."""
    config_names = list((hyperopt_config or {}).get("parameters") or {})

    def parameters_of(score: dict) -> dict:
        params = score.get("parameters") or {}
        if not config_names:
            return dict(params)
        # The same names as hyperopt_config.parameters: `ludwig visualize` casts each.
        return {name: params[name] for name in config_names if name in params}

    results = [
        {
            "parameters": parameters_of(s),
            "metric_score": float(s["metric_score"]),
            "training_stats": training_stats.get(s["trial_id"]) or {},
            "eval_stats": s.get("eval_stats") or {},
            "trial_id": s["trial_id"],
            "trial_dir": trial_dirs.get(s["trial_id"]),
            "status": "ok",
        }
        for s in ok
    ]
    failures = [
        {
            "trial_id": s["trial_id"],
            "trial_dir": trial_dirs.get(s["trial_id"]),
            "parameters": parameters_of(s),
            "status": _not_ok_status(s),
            "error": _error_of(s),
        }
        for s in failed
    ]
    return strict_json(
        {"hyperopt_config": hyperopt_config, "hyperopt_results": results, "failed_trials": failures}
    )


# --------------------------------------------------------------------------- best/


def _describe_objective(score: dict, goal: str) -> str:
    return (
        f"{score.get('metric')} of {score.get('output_feature')} on the "
        f"{score.get('split')} split, goal {goal}"
    )


_FILE_NOTES = {
    "model.joblib": "the predictor (fitted preprocessing + the model of the best epoch)",
    "config.yaml": "the trial's fully resolved config",
    "parameters.json": "the sampled hyperparameters",
    "score.json": "the trial's score and evaluation statistics",
    PROGRAM_OUTPUT: "engine `command`: the trainer program's own output folder (its model)",
}
_USE_IT = [
    "## Use it",
    "",
    "```python",
    "import joblib",
    "import pandas as pd",
    "",
    'predictor = joblib.load("best/model.joblib")',
    'predictions = predictor.predict(pd.read_csv("new_data.csv"))',
    "```",
    "",
    "Paths are relative to the study folder. The predictor has `.predict(dataframe)`;",
    "the data frame needs the input feature",
    "columns named in `config.yaml`. Loading it needs the `snaketune` package and the",
    "same library versions as the study (see `envs/`).",
    "",
]


def model_files(best_dir: str | os.PathLike) -> list[str]:
    """What in best/ is the model: model.joblib, or engine command's output folder."""
    best_dir = Path(best_dir)
    return [name for name in MODEL_FILES if os.path.lexists(best_dir / name)]


def _no_model_lines(trial_dir: str | None) -> list[str]:
    """The README's warning for a best trial whose model is gone from its trial folder."""
    summary = Path(trial_dir or "trials/<id>") / "train_summary.json"
    return [
        f"**No model here**: the trial folder {trial_dir} has no model.joblib (nor an "
        f"`{PROGRAM_OUTPUT}/` folder), although the trial trained; it was removed after "
        "training. Train the trial again with `snakemake --cores N --forcerun "
        f"{summary} --config <the study's values>`; that run rebuilds best/.",
        "",
    ]


def _best_readme(
    score: dict, goal: str, trial_dir: str | None, copied: list[str], missing: list[str]
) -> str:
    params = score.get("parameters") or {}
    has_model = any(name in copied for name in MODEL_FILES)
    lines = [
        f"# Best trial: {score['trial_id']}",
        "",
        *([] if has_model else _no_model_lines(trial_dir)),
        f"- metric_score: {float(score['metric_score']):.6g} ({_describe_objective(score, goal)})",
        f"- best epoch: {score.get('best_epoch')}",
        f"- trial folder: {trial_dir}",
        "",
        "## Parameters",
        "",
        "| name | value |",
        "|---|---|",
        *(f"| {name} | {_md_cell(value)} |" for name, value in params.items()),
        "",
        "## Files",
        "",
        *(f"- `{name}`: {_FILE_NOTES[name]}" for name in copied),
        "",
    ]
    if missing:
        lines += [f"Missing from the trial folder, not copied: {', '.join(missing)}.", ""]
    if "model.joblib" in copied:
        lines += _USE_IT
    return "\n".join(lines)


def _no_winner_readme(failed: list[dict]) -> str:
    counts = status_counts([_not_ok_status(s) for s in failed])
    lines = [
        "# No best trial",
        "",
        f"No trial succeeded ({counts}), so there is no model here.",
        "",
        "| trial_id | error |",
        "|---|---|",
        *(f"| {s['trial_id']} | {_md_cell(_error_of(s))} |" for s in failed),
        "",
    ]
    return "\n".join(lines)


def _copy_entry(source: Path, target: Path) -> None:
    """Copy a file or folder; symbolic links stay links, never followed.

    Following them would copy content from outside the study into best/, and a link
    loop (`link -> .`) would make every rerun of this step fail.
    """
    if source.is_symlink():
        os.symlink(os.readlink(source), target)
    elif source.is_dir():
        shutil.copytree(source, target, symlinks=True)
    else:
        shutil.copyfile(source, target)


def _fill_best(tmp: Path, best: dict, goal: str, trial_dir: str | None) -> None:
    """The winner's files, its score and a README naming what is there and what is not."""
    copied, missing = [], []
    for name in BEST_FILES:
        source = Path(trial_dir) / name if trial_dir else None
        if source is not None and (source.is_symlink() or source.is_file()):
            _copy_entry(source, tmp / name)
            copied.append(name)
        elif name == "score.json":
            write_score(tmp / name, best)
            copied.append(name)
        else:
            missing.append(name)
    program_output = Path(trial_dir) / PROGRAM_OUTPUT if trial_dir else None
    if program_output is not None and (program_output.is_symlink() or program_output.is_dir()):
        _copy_entry(program_output, tmp / PROGRAM_OUTPUT)
        copied.append(PROGRAM_OUTPUT)
        missing = [name for name in missing if name != "model.joblib"]  # output stands in
    if not any(name in copied for name in MODEL_FILES):
        print(
            f"snaketune: the best trial {best['trial_id']} has no model: model.joblib is "
            f"missing from {trial_dir}; best/ holds its config and score only (its README "
            "says how to train the trial again).",
            file=sys.stderr,
        )
    write_text(tmp / "README.md", _best_readme(best, goal, trial_dir, copied, missing))


def write_best(
    out_dir: str | os.PathLike,
    best: dict | None,
    *,
    goal: str,
    trial_dir: str | None,
    failed: list[dict],
) -> Path:
    """Build out_dir/best/ in a temp dir beside it, then swap it in (replacing an old one)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)

    def fill(tmp: Path) -> None:
        if best is None:
            write_text(tmp / "README.md", _no_winner_readme(failed))
        else:
            _fill_best(tmp, best, goal, trial_dir)

    return build_folder(out_dir / "best", fill)


# --------------------------------------------------------------------------- entry points


def build_leaderboard(
    scores: list[dict],
    *,
    goal: str,
    hyperopt_config: dict,
    trial_dirs: dict[str, str],
    training_stats: dict[str, dict | None],
    out_dir: str | os.PathLike,
    md_top: int | None = None,
) -> list[dict]:
    """Write leaderboard.tsv, leaderboard.md, hyperopt_statistics.json and best/ into out_dir.

    Returns the leaderboard rows: dicts keyed by the TSV's columns, best first, failed
    last; parameter values as sampled (lists/dicts are compact JSON only in the files).
    """
    out_dir = Path(out_dir)
    ok, failed = rank_scores(scores, goal)
    param_names = _parameter_names(scores, hyperopt_config)
    # An adaptive search's round (absent for one round only); a scheduler's rung and
    # budget (the trial's last rung: where it stopped).
    extra = ("round",) if any(score.get("round") for score in scores) else ()
    if any(score.get("budget") is not None for score in scores):
        extra += ("rung", "budget")
    columns = [*LEAD_COLUMNS, *extra, *(_column_for(n) for n in param_names), *TAIL_COLUMNS]
    rows = _rows(ok, failed, param_names, extra)

    write_text(out_dir / "leaderboard.tsv", format_tsv(rows, columns))
    objective = _describe_objective(ok[0] if ok else (failed[0] if failed else {}), goal)
    counts = status_counts([row["status"] for row in rows])
    title = f"Leaderboard: {objective} ({counts})"
    write_text(out_dir / "leaderboard.md", format_markdown(rows, columns, title=title, top=md_top))
    stats = hyperopt_statistics(
        ok,
        failed,
        hyperopt_config=hyperopt_config,
        trial_dirs=trial_dirs,
        training_stats=training_stats,
    )
    write_json(out_dir / "hyperopt_statistics.json", stats, sort_keys=True, indent=4)
    best = ok[0] if ok else None
    write_best(
        out_dir,
        best,
        goal=goal,
        trial_dir=trial_dirs.get(best["trial_id"]) if best else None,
        failed=failed,
    )
    return rows


def _parse_tsv_cell(column: str, text: str) -> Any:
    if text == "":
        return None
    if column in ("trial_id", "status", "error"):
        return text
    if column in ("rank", "best_epoch", *EXTRA_COLUMNS):
        return int(text)
    if column in ("metric_score", "duration_s"):
        return float(text)
    try:  # parameter values: numbers, booleans and compact JSON come back typed
        return json.loads(text)
    except ValueError:
        return text


def read_leaderboard(path: str | os.PathLike) -> list[dict]:
    """The rows of a leaderboard.tsv, typed as build_leaderboard returned them."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    if not lines:
        return []
    columns = lines[0].split("\t")
    rows = []
    for line in lines[1:]:
        cells = line.split("\t")
        cells += [""] * (len(columns) - len(cells))
        rows.append({c: _parse_tsv_cell(c, cell) for c, cell in zip(columns, cells, strict=False)})
    return rows


def format_summary(
    rows: list[dict],
    top: int = 5,
    *,
    best_dir: str | os.PathLike | None = None,
    study_dir: str | os.PathLike | None = None,
) -> str:
    """The text printed at the end of a run: the top trials, counts, where best/ is.

    `best_dir` defaults to `<study_dir>/best` when only `study_dir` is given.
    """
    if best_dir is None and study_dir is not None:
        best_dir = Path(study_dir) / "best"
    ok = [r for r in rows if r.get("status") == "ok"]
    skipped = [r for r in rows if r.get("status") == "skipped"]
    failed = [r for r in rows if r.get("status") not in ("ok", "skipped")]
    fixed = {*LEAD_COLUMNS, *EXTRA_COLUMNS, *TAIL_COLUMNS}
    lines = []
    if ok:
        shown = ok[:top]
        lines.append(f"Top {len(shown)} of {len(ok)} successful trials (best first):")
        for row in shown:
            params = ", ".join(f"{k}={_tsv_cell(v)}" for k, v in row.items() if k not in fixed)
            epoch = row.get("best_epoch")
            lines.append(
                f"  {row['rank']:>3}. {row['trial_id']}  score {row['metric_score']:.6g}"
                f"{f'  (epoch {epoch})' if epoch is not None else ''}  {params}"
            )
    counts = status_counts([row.get("status") for row in rows])
    lines.append(f"{len(rows)} trials: {counts}.")
    if skipped:
        names = ", ".join(r["trial_id"] for r in skipped)
        lines.append(
            f"Skipped (not trained; the next run trains them): {names}: "
            f"{_md_cell(skipped[0].get('error'))}"
        )
    if failed:
        first = failed[0]
        lines.append(
            f"Failed trials are listed last in leaderboard.tsv; first: {first['trial_id']}: "
            f"{_md_cell(first.get('error'))}"
        )
    if best_dir is not None:
        if ok and model_files(best_dir):
            lines.append(f"Best model ({ok[0]['trial_id']}): {best_dir}")
        elif ok:
            lines.append(
                f"Best trial ({ok[0]['trial_id']}): {best_dir} has no model (model.joblib is "
                f"missing from the trial's folder); {best_dir}/README.md says how to train "
                "it again."
            )
        else:
            lines.append(f"No trial succeeded; see {best_dir}/README.md")
    return "\n".join(lines)
