"""The figures of a study report: one per parameter, the pair grid, the history, the curves.

Drawn on `matplotlib.figure.Figure` objects directly (never pyplot), so no global figure
state builds up or leaks between plots and no backend has to be chosen; saving goes
through Agg. Every function takes a `StudyTable` and copes with studies that have no
finished trial, one trial, constant parameters and values of any magnitude.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from snaketune import spaces
from snaketune.report.table import Parameter, StudyTable, TrialRow, plain_number

SECTIONS = ("parameters", "pairs", "history", "curves", "importance")
DPI = 100
MAX_BINS = 10
PAIR_CELL_IN = 2.2
PAIR_MAX_IN = 24.0
STEM_LIMIT = 100
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
_RESERVED = {"pair_plot"}  # would collide with the pair plot's file
_DOTS = {"s": 22, "alpha": 0.75, "zorder": 2}
_STAR = {"marker": "*", "s": 220, "color": "gold", "edgecolors": "black", "linewidths": 0.8}
_CROSS = {"marker": "x", "s": 18, "linewidths": 1, "color": "tab:red", "zorder": 3}
_HEAT = {"origin": "lower", "aspect": "auto", "cmap": "viridis", "interpolation": "nearest"}


@dataclass(frozen=True)
class Plot:
    """One report figure and the words that go with it."""

    name: str  # file stem, safe on any file system
    title: str
    section: str  # one of SECTIONS
    figure: Figure
    caption: str  # one sentence saying what is drawn


# --- names and labels -------------------------------------------------------------------


def file_stem(parameter_name: str) -> str:
    """Ludwig's `hyperopt_<name>`, made safe and collision-free for any file system.

    Characters other than ASCII letters, digits, `.`, `_` and `-` become `_`; whenever
    something was replaced or cut, or the name has capitals (case-insensitive file systems
    would fold "A" and "a" together), a short hash of the full name is appended.
    """
    safe = _UNSAFE.sub("_", parameter_name)
    changed = safe != parameter_name or safe.lower() != safe or safe in _RESERVED
    if len(safe) > STEM_LIMIT:
        safe, changed = safe[:STEM_LIMIT], True
    if changed:
        digest = hashlib.sha1(parameter_name.encode("utf-8", "surrogatepass")).hexdigest()[:8]
        safe = f"{safe}_{digest}"
    return f"hyperopt_{safe}"


def _key(value: Any) -> str:
    """A comparable text for any JSON value (lists and dicts are unhashable)."""
    return json.dumps(value, sort_keys=True, default=repr)


def _shorten(text: str, limit: int = 30) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _tail(text: str, limit: int = 28) -> str:
    """Long parameter names differ at the end (a.b.c.learning_rate), so keep that."""
    return text if len(text) <= limit else "…" + text[1 - limit :]


def _label(value: Any, limit: int = 30) -> str:
    """A category as written, compactly: strings bare, anything else as compact JSON."""
    if isinstance(value, str):
        text = value
    else:
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=repr)
    return _shorten(text, limit)


def _direction(table: StudyTable) -> str:
    better = "higher" if table.goal == "maximize" else "lower"
    return f"{table.metric} ({better} is better)"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


def _best(table: StudyTable) -> TrialRow | None:
    ranked = table.ranked()
    return ranked[0] if ranked else None


def _unfinished(table: StudyTable) -> list[TrialRow]:
    return [t for t in table.trials if not (t.status == "ok" and t.score is not None)]


def _figure(width: float = 6.4, height: float = 4.2) -> Figure:
    return Figure(figsize=(width, height), dpi=DPI, layout="constrained")


# --- how one parameter is drawn -----------------------------------------------------------


@dataclass
class _Axis:
    """How a parameter maps onto an axis: numeric (maybe log, maybe int) or categories."""

    numeric: bool
    log: bool = False
    integer: bool = False
    categories: list[Any] | None = None  # the values, in column order
    index: dict[str, int] | None = None  # _key(value) -> column

    def position(self, value: Any) -> float | None:
        if self.numeric:
            return plain_number(value)
        return self.index.get(_key(value))


def _axis_for(parameter: Parameter, table: StudyTable) -> _Axis:
    """Numeric when the space is a known numeric one and every value is a number."""
    name = parameter.name
    every = [t.parameters[name] for t in table.trials if name in t.parameters]
    decide = [t.parameters[name] for t in table.finished if name in t.parameters] or every
    space = spaces.SPACES.get(parameter.space) if parameter.space else None
    if space and not parameter.categorical and all(plain_number(v) is not None for v in decide):
        log = parameter.log and all(v > 0 for v in map(plain_number, every) if v is not None)
        return _Axis(numeric=True, log=log, integer=space.kind == "int")
    written = parameter.categories or []
    observed = every
    if not written and every and all(plain_number(v) is not None for v in every):
        observed = sorted(every, key=plain_number)
    categories: list[Any] = []
    index: dict[str, int] = {}
    for value in [*written, *observed]:
        key = _key(value)
        if key not in index:
            index[key] = len(categories)
            categories.append(value)
    return _Axis(numeric=False, categories=categories, index=index)


def _points(rows: list[TrialRow], name: str, axis: _Axis) -> tuple[np.ndarray, list[TrialRow]]:
    """The axis positions of the trials that have this parameter, and those trials."""
    kept, positions = [], []
    for row in rows:
        if name in row.parameters:
            position = axis.position(row.parameters[name])
            if position is not None:
                kept.append(row)
                positions.append(position)
    return np.asarray(positions, dtype=float), kept


def _mark_unfinished(ax: Any, xs: np.ndarray, statuses: list[str]) -> None:
    """Small red x markers along the bottom edge for trials that have no score."""
    if not len(xs):
        return
    ax.update_datalim(np.column_stack([xs, np.zeros(len(xs))]), updatex=True, updatey=False)
    label = f"{_plural(len(xs), 'trial')} without a score ({', '.join(sorted(set(statuses)))})"
    bottom = np.full(len(xs), 0.02)
    ax.scatter(xs, bottom, transform=ax.get_xaxis_transform(), label=label, **_CROSS)


def _no_trials_note(ax: Any) -> None:
    ax.text(0.5, 0.5, "no finished trial", transform=ax.transAxes, ha="center", va="center")


def _parameter_plot(table: StudyTable, parameter: Parameter) -> Plot:
    name = parameter.name
    axis = _axis_for(parameter, table)
    figure = _figure()
    ax = figure.add_subplot()
    xs, rows = _points(table.finished, name, axis)
    ys = np.asarray([r.score for r in rows], dtype=float)
    lost_x, lost_rows = _points(_unfinished(table), name, axis)
    best = _best(table)
    rng = np.random.default_rng(0)
    if axis.numeric:
        ax.scatter(xs, ys, color="tab:blue", label="finished trial", **_DOTS)
        if axis.log:
            ax.set_xscale("log")
        elif axis.integer:
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        shown = "log scale" if axis.log else "linear scale"
    else:
        count = len(axis.categories)
        columns = [ys[xs == i] for i in range(count)]
        wide = [i for i, c in enumerate(columns) if len(c) >= 3]
        if wide:
            try:
                parts = ax.violinplot(
                    [columns[i] for i in wide], positions=wide, widths=0.7, showextrema=False
                )
                for body in parts["bodies"]:
                    body.set_facecolor("tab:blue")
                    body.set_alpha(0.18)
            except (np.linalg.LinAlgError, ValueError):
                pass  # a degenerate spread: the points alone show it
        xs = xs + rng.uniform(-0.15, 0.15, size=len(xs))
        lost_x = lost_x + rng.uniform(-0.15, 0.15, size=len(lost_x))
        ax.scatter(xs, ys, color="tab:blue", label="finished trial", **_DOTS)
        labels = [_label(v) for v in axis.categories]
        step = max(1, math.ceil(count / 30))
        ax.set_xticks(range(0, count, step), labels[::step])
        if count > 4 or any(len(label) > 8 for label in labels):
            ax.tick_params(axis="x", labelrotation=30)
            for tick in ax.get_xticklabels():
                tick.set_horizontalalignment("right")
        ax.set_xlim(-0.6, max(count, 1) - 0.4)
        shown = "one column per category"
    bx = axis.position(best.parameters[name]) if best and name in best.parameters else None
    if bx is not None:
        ax.scatter([bx], [best.score], label=f"best ({best.trial_id})", zorder=4, **_STAR)
    _mark_unfinished(ax, lost_x, [r.status for r in lost_rows])
    if not len(xs):
        _no_trials_note(ax)
    elif ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7, loc="best")
    ax.set_xlabel(name)
    ax.set_ylabel(_direction(table))
    ax.set_title(_shorten(f"{table.metric} by {name}", 70))
    missing = len(table.finished) - len(rows)
    caption = (
        f"{table.metric} of {_plural(len(rows), 'finished trial')} against {name} ({shown})"
        + (f"; {missing} without this parameter not drawn" if missing else "")
        + (f"; {len(lost_rows)} without a score marked x at the bottom" if len(lost_rows) else "")
        + ("; the star marks the best trial." if bx is not None else ".")
    )
    return Plot(file_stem(name), f"{table.metric} by {name}", "parameters", figure, caption)


def parameter_plots(table: StudyTable) -> list[Plot]:
    """One plot per tuned parameter, so the effect of each value on the metric shows."""
    return [_parameter_plot(table, p) for p in table.parameters]


# --- pairs --------------------------------------------------------------------------------


def _fmt(value: float) -> str:
    return f"{value:.3g}"


def _bins(parameter: Parameter, axis: _Axis, rows: list[TrialRow]) -> tuple[np.ndarray, list[str]]:
    """Each trial's bin (-1 when it lacks the parameter) and the bins' labels."""
    name = parameter.name
    positions = [axis.position(r.parameters[name]) if name in r.parameters else None for r in rows]
    if not axis.numeric:
        index = np.asarray([-1 if p is None else int(p) for p in positions])
        return index, [_label(v, 14) for v in axis.categories] or [""]
    present = np.asarray([p for p in positions if p is not None], dtype=float)
    distinct = np.unique(present)
    index = np.full(len(rows), -1)
    if not len(distinct):
        return index, [""]
    where = np.asarray([p is not None for p in positions], dtype=bool)
    if len(distinct) <= MAX_BINS:
        index[where] = np.searchsorted(distinct, present)
        return index, [_fmt(v) for v in distinct]
    edges = np.unique(np.quantile(present, np.linspace(0.0, 1.0, MAX_BINS + 1)))
    inner = np.searchsorted(edges, present, side="right") - 1
    index[where] = np.clip(inner, 0, len(edges) - 2)
    labels = [f"{_fmt(lo)}–{_fmt(hi)}" for lo, hi in zip(edges[:-1], edges[1:], strict=True)]
    return index, labels


def _mean_grid(yb: np.ndarray, xb: np.ndarray, scores: np.ndarray, shape: tuple) -> np.ndarray:
    keep = (yb >= 0) & (xb >= 0)
    sums = np.zeros(shape)
    counts = np.zeros(shape)
    np.add.at(sums, (yb[keep], xb[keep]), scores[keep])
    np.add.at(counts, (yb[keep], xb[keep]), 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


def pair_plot(table: StudyTable) -> Plot | None:
    """Mean metric over binned pairs of parameters, to show interactions between them."""
    params = table.parameters
    rows = table.finished
    if len(params) < 2 or len(rows) < 2:
        return None
    n = len(params)
    scores = np.asarray([r.score for r in rows], dtype=float)
    binned = [_bins(p, _axis_for(p, table), rows) for p in params]
    grids = {}
    for i in range(n):
        for j in range(i):
            shape = (max(len(binned[i][1]), 1), max(len(binned[j][1]), 1))
            grids[i, j] = _mean_grid(binned[i][0], binned[j][0], scores, shape)
    finite = [g[np.isfinite(g)] for g in grids.values()]
    values = np.concatenate(finite) if finite else np.array([])
    low, high = (values.min(), values.max()) if len(values) else (0.0, 1.0)
    if not high > low:
        pad = abs(low) * 0.05 or 0.5
        low, high = low - pad, high + pad
    norm = Normalize(vmin=low, vmax=high)
    m = n - 1  # rows are parameters 1..n-1, columns 0..n-2: the lower triangle
    side = min(max(PAIR_CELL_IN * m, 4.0), PAIR_MAX_IN - 2.4)
    width, height = side + 2.4, side + 1.8
    figure = Figure(figsize=(width, height), dpi=DPI)
    figure.subplots_adjust(
        left=1.5 / width,
        right=1 - 1.4 / width,
        bottom=1.3 / height,
        top=1 - 0.5 / height,
        wspace=0.08,
        hspace=0.08,
    )
    axes = figure.subplots(m, m, squeeze=False)
    small = 6 if m > 5 else 7
    for i in range(1, n):
        for j in range(m):
            ax = axes[i - 1][j]
            if j >= i:
                ax.set_axis_off()
                continue
            grid = grids[i, j]
            ax.imshow(grid, norm=norm, **_HEAT)
            ax.set_xticks(range(grid.shape[1]))
            ax.set_yticks(range(grid.shape[0]))
            if i == n - 1:
                ax.set_xticklabels(binned[j][1], fontsize=small, rotation=90)
                ax.set_xlabel(_tail(params[j].name), fontsize=small + 1)
            else:
                ax.tick_params(labelbottom=False)
            if j == 0:
                ax.set_yticklabels(binned[i][1], fontsize=small)
                ax.set_ylabel(_tail(params[i].name), fontsize=small + 1)
            else:
                ax.tick_params(labelleft=False)
    bar = figure.add_axes((1 - 1.1 / width, 0.25, 0.18 / width, 0.5))
    figure.colorbar(
        ScalarMappable(norm=norm, cmap="viridis"), cax=bar, label=f"mean {_direction(table)}"
    )
    figure.suptitle(f"Mean {table.metric} by pairs of parameters")
    caption = (
        f"Mean {table.metric} of {_plural(len(rows), 'finished trial')} for every pair of the "
        f"{n} parameters, numbers in up to {MAX_BINS} quantile bins and categories one cell "
        "each; blank cells had no trial."
    )
    return Plot("hyperopt_pair_plot", "Parameter pairs", "pairs", figure, caption)


# --- history ------------------------------------------------------------------------------


def history_plot(table: StudyTable) -> Plot | None:
    """Score per trial in trial order with the best so far, to show whether search converges."""
    rows = table.finished
    if not rows:
        return None
    figure = _figure(7.0, 4.2)
    ax = figure.add_subplot()
    orders = np.asarray([r.order for r in rows], dtype=float)
    scores = np.asarray([r.score for r in rows], dtype=float)
    rounds = sorted({r.round for r in rows if r.round is not None})
    groups = [("finished trial", [True] * len(rows))]
    if len(rounds) > 1:
        names = [(f"round {k}", k) for k in rounds] + [("round unknown", None)]
        groups = [(label, [r.round == k for r in rows]) for label, k in names]
        for left, right in zip(rounds[:-1], rounds[1:], strict=True):
            last = max(r.order for r in rows if r.round == left)
            first = min(r.order for r in rows if r.round == right)
            if last < first:
                ax.axvline((last + first) / 2, color="grey", linestyle=":", linewidth=1)
    for k, (label, picked) in enumerate(groups):
        chosen = np.asarray(picked, dtype=bool)
        if chosen.any():
            ax.scatter(orders[chosen], scores[chosen], color=f"C{k % 10}", label=label, **_DOTS)
    running = np.maximum.accumulate if table.goal == "maximize" else np.minimum.accumulate
    line = {"drawstyle": "steps-post", "color": "black", "linewidth": 1.5, "zorder": 3}
    ax.plot(orders, running(scores), label="best so far", **line)
    lost = _unfinished(table)
    _mark_unfinished(ax, np.asarray([r.order for r in lost], dtype=float), [r.status for r in lost])
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("trial")
    ax.set_ylabel(_direction(table))
    ax.set_title(f"Optimization history ({table.metric})")
    ax.legend(fontsize=7, loc="best")
    caption = (
        f"{table.metric} of each of the {_plural(len(rows), 'finished trial')} in trial order "
        f"with the best so far as a line"
        + (f", colored by round ({len(rounds)} rounds)" if len(rounds) > 1 else "")
        + (f"; {len(lost)} without a score marked x at the bottom." if lost else ".")
    )
    return Plot("optimization_history", "Optimization history", "history", figure, caption)


# --- training curves ----------------------------------------------------------------------


def _curve(table: StudyTable, row: TrialRow) -> tuple[str, list[float]] | None:
    """The trial's per-epoch metric: validation, then training, then the combined loss."""
    candidates = [
        ("validation", table.output_feature, table.metric),
        ("training", table.output_feature, table.metric),
        ("validation", "combined", "loss"),
        ("training", "combined", "loss"),
    ]
    stats = row.training_stats if isinstance(row.training_stats, dict) else {}
    for split, feature, metric in candidates:
        split_stats = stats.get(split)
        series = split_stats.get(feature) if isinstance(split_stats, dict) else None
        values = series.get(metric) if isinstance(series, dict) else None
        if not isinstance(values, list):
            continue
        numbers = [plain_number(v) for v in values]
        if any(v is not None for v in numbers):
            label = f"{split} {metric}" + (
                "" if feature == table.output_feature else f" ({feature})"
            )
            return label, [math.nan if v is None else v for v in numbers]
    return None


def training_curves_plot(table: StudyTable, top: int = 5) -> Plot | None:
    """The per-epoch curves of the best trials, to show under- or over-training."""
    found = []
    for row in table.ranked()[: max(top, 0)]:
        curve = _curve(table, row)
        if curve is not None:
            found.append((row, *curve))
    if not found:
        return None
    figure = _figure(7.0, 4.2)
    ax = figure.add_subplot()
    kinds = {kind for _, kind, _ in found}
    for row, kind, values in found:
        label = f"{row.trial_id} ({row.score:.4g})"
        if len(kinds) > 1:
            label += f", {kind}"
        epochs = np.arange(1, len(values) + 1)
        marker = "o" if len(values) < 30 else None
        ax.plot(epochs, values, marker=marker, markersize=3, linewidth=1.4, label=label)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel(next(iter(kinds)) if len(kinds) == 1 else "metric (see legend)")
    ax.set_title(f"Training curves of the top {_plural(len(found), 'trial')}")
    ax.legend(fontsize=7, loc="best")
    caption = (
        f"Per-epoch {' / '.join(sorted(kinds))} of the {_plural(len(found), 'best trial')} "
        f"with curves, labelled with trial id and {table.metric}."
    )
    return Plot("training_curves", "Training curves", "curves", figure, caption)


def importance_plot(importances: dict[str, float], note: str = "") -> Plot | None:
    """Each parameter's importance (optuna_export.parameter_importances), largest on top."""
    if not importances:
        return None
    ranked = sorted(importances.items(), key=lambda item: (-item[1], item[0]))
    fig = _figure(6.4, max(2.0, 0.45 * len(ranked) + 1.2))
    ax = fig.add_subplot()
    names = [_tail(name, 40) for name, _ in ranked]
    ax.barh(range(len(ranked)), [value for _, value in ranked], color="tab:blue")
    ax.set_yticks(range(len(ranked)), names)
    ax.invert_yaxis()
    ax.set_xlabel("importance (share of the score's variance)")
    ax.set_title("Parameter importance")
    return Plot(
        name="parameter_importance",
        title="Parameter importance",
        section="importance",
        figure=fig,
        caption=note or "How much of the score's variation each parameter explains.",
    )


# --- all, saving --------------------------------------------------------------------------


def all_plots(table: StudyTable) -> list[Plot]:
    """Every figure of the report, in report order, leaving out those with nothing to show."""
    plots = parameter_plots(table)
    extra = [pair_plot(table), history_plot(table), training_curves_plot(table)]
    return plots + [p for p in extra if p is not None]


def save_plot(plot: Plot, directory: Path, fmt: str) -> Path:
    """Write the figure as <directory>/<name>.<fmt> (png or pdf) and return the path."""
    fmt = fmt.lower().lstrip(".")
    if fmt not in ("png", "pdf"):
        raise ValueError(f"cannot save a plot as {fmt!r}: use png or pdf")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{plot.name}.{fmt}"
    plot.figure.savefig(path, format=fmt, dpi=DPI)
    return path


def png_bytes(plot: Plot) -> bytes:
    """The figure as PNG bytes, for inlining into an HTML report."""
    buffer = io.BytesIO()
    plot.figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()
