"""The report's figures: axes, labels, names and files, on synthetic studies."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from snaketune.report.plots import (
    Plot,
    all_plots,
    file_stem,
    history_plot,
    pair_plot,
    parameter_plots,
    png_bytes,
    save_plot,
    training_curves_plot,
)
from snaketune.report.table import table_from_statistics

FC_LAYERS = [[{"output_size": 8}], [{"output_size": 64}, {"output_size": 32}]]
OPTIMIZERS = [{"type": "adam"}, {"type": "sgd", "momentum": 0.9}]


def make_table(results, specs, failed=(), goal="minimize", metric="loss", feature="out"):
    statistics = {
        "hyperopt_config": {
            "goal": goal,
            "metric": metric,
            "output_feature": feature,
            "parameters": specs,
        },
        "hyperopt_results": [
            {
                "trial_id": f"trial_{k:04d}",
                "parameters": params,
                "metric_score": score,
                "training_stats": stats,
                "status": "ok",
            }
            for k, (params, score, stats) in enumerate(results)
        ],
        "failed_trials": [
            {
                "trial_id": f"trial_{len(results) + k:04d}",
                "parameters": params,
                "status": "failed",
                "error": "boom",
            }
            for k, params in enumerate(failed)
        ],
    }
    return table_from_statistics(statistics, Path("x.json"))


SPECS = {
    "trainer.learning_rate": {"space": "loguniform", "lower": 1e-5, "upper": 0.1},
    "combiner.dropout": {"space": "uniform", "lower": 0.0, "upper": 0.5},
    "trainer.batch_size": {"space": "randint", "lower": 8, "upper": 256},
    "combiner.fc_layers": {"space": "choice", "categories": FC_LAYERS},
    "trainer.optimizer": {"space": "grid_search", "values": OPTIMIZERS},
}


def study(n=12, goal="minimize", failed=2, seed=0, specs=SPECS):
    rng = np.random.default_rng(seed)
    results = []
    for k in range(n):
        params = {
            "trainer.learning_rate": float(10 ** rng.uniform(-5, -1)),
            "combiner.dropout": float(rng.uniform(0, 0.5)),
            "trainer.batch_size": int(rng.integers(8, 256)),
            "combiner.fc_layers": FC_LAYERS[k % 2],
            "trainer.optimizer": OPTIMIZERS[k % 2],
        }
        curve = [float(v) for v in np.cumsum(rng.uniform(0, 1, size=5))]
        stats = {"validation": {"out": {"loss": curve}}}
        results.append(({p: params[p] for p in specs}, float(rng.uniform(0, 2)), stats))
    lost = [{"trainer.learning_rate": 0.01, "combiner.fc_layers": FC_LAYERS[0]}] * failed
    return make_table(results, specs, failed=lost, goal=goal)


def by_name(plots: list[Plot]) -> dict[str, Plot]:
    return {p.name: p for p in plots}


def axes_of(plot: Plot):
    return plot.figure.axes[0]


def test_one_parameter_plot_per_parameter_in_section_parameters():
    plots = parameter_plots(study())
    assert [p.name for p in plots] == [file_stem(name) for name in SPECS]
    assert {p.section for p in plots} == {"parameters"}
    assert all(p.caption and p.title for p in plots)


def test_log_axis_for_loguniform_and_linear_for_uniform():
    plots = by_name(parameter_plots(study()))
    assert axes_of(plots["hyperopt_trainer.learning_rate"]).get_xscale() == "log"
    assert axes_of(plots["hyperopt_combiner.dropout"]).get_xscale() == "linear"
    assert axes_of(plots["hyperopt_trainer.batch_size"]).get_xscale() == "linear"


def test_y_label_says_which_way_is_better():
    low = parameter_plots(study(goal="minimize"))[0]
    high = parameter_plots(study(goal="maximize"))[0]
    assert axes_of(low).get_ylabel() == "loss (lower is better)"
    assert axes_of(high).get_ylabel() == "loss (higher is better)"


def tick_texts(ax) -> list[str]:
    return [t.get_text() for t in ax.get_xticklabels()]


def test_categorical_ticks_are_compact_json_in_written_order():
    plots = by_name(parameter_plots(study()))
    layers = tick_texts(axes_of(plots["hyperopt_combiner.fc_layers"]))
    assert layers[0] == '[{"output_size":8}]'
    assert layers[1].startswith('[{"output_size":64},') and layers[1].endswith("…")
    assert len(layers[1]) == 30
    optimizers = tick_texts(axes_of(plots["hyperopt_trainer.optimizer"]))
    assert optimizers == ['{"type":"adam"}', '{"type":"sgd","momentum":0.9}']


def test_unwritten_values_are_appended_and_booleans_are_categories():
    specs = {"flag": {"space": "choice", "categories": [True]}, "x": {"space": "uniform"}}
    rows = [({"flag": True, "x": 1.0}, 1.0, {}), ({"flag": False, "x": 2.0}, 2.0, {})]
    plots = parameter_plots(make_table(rows, specs))
    assert tick_texts(axes_of(plots[0])) == ["true", "false"]


def test_spaceless_or_non_numeric_parameters_are_drawn_as_categories():
    specs = {"ludwig": {}, "mixed": {"space": "uniform", "lower": 0, "upper": 1}}
    rows = [
        ({"ludwig": 30, "mixed": 0.5}, 1.0, {}),
        ({"ludwig": 4, "mixed": "auto"}, 2.0, {}),
        ({"mixed": 0.2}, 0.5, {}),  # ludwig missing here: skipped
    ]
    ludwig, mixed = parameter_plots(make_table(rows, specs))
    assert tick_texts(axes_of(ludwig)) == ["4", "30"]  # observed numbers, sorted
    assert tick_texts(axes_of(mixed)) == ["0.5", "auto", "0.2"]
    assert "1 without this parameter" in ludwig.caption


def test_best_trial_is_starred_and_failures_counted():
    table = study(failed=3)
    plot = by_name(parameter_plots(table))["hyperopt_trainer.learning_rate"]
    ax = axes_of(plot)
    best = table.ranked()[0]
    labels = ax.get_legend_handles_labels()[1]
    assert f"best ({best.trial_id})" in labels
    star = ax.collections[labels.index(f"best ({best.trial_id})")]
    assert star.get_offsets()[0][1] == pytest.approx(best.score)
    assert "3 without a score" in plot.caption
    assert any("3 trials without a score (failed)" in label for label in labels)


def test_pair_plot_needs_two_parameters_and_two_finished_trials():
    one = {"trainer.learning_rate": SPECS["trainer.learning_rate"]}
    assert pair_plot(study(specs=one)) is None
    assert pair_plot(study(n=1)) is None
    plot = pair_plot(study(n=40))
    assert plot is not None and plot.name == "hyperopt_pair_plot" and plot.section == "pairs"
    heatmaps = [ax for ax in plot.figure.axes if ax.images]
    n = len(SPECS)
    assert len(heatmaps) == n * (n - 1) // 2  # the lower triangle
    shapes = [ax.images[0].get_array().shape for ax in heatmaps]
    assert max(max(shape) for shape in shapes) == 10  # 40 learning rates in 10 quantile bins
    assert len(plot.figure.axes) == (n - 1) ** 2 + 1  # the grid and one shared color bar


def test_pair_plot_cells_are_mean_scores():
    specs = {"a": {"space": "choice", "categories": ["x", "y"]}, "b": {"space": "randint"}}
    rows = [
        ({"a": "x", "b": 1}, 1.0, {}),
        ({"a": "x", "b": 1}, 3.0, {}),
        ({"a": "y", "b": 2}, 5.0, {}),
    ]
    plot = pair_plot(make_table(rows, specs))
    grid = np.ma.filled(plot.figure.axes[0].images[0].get_array(), np.nan)
    assert grid.shape == (2, 2)  # b's two values by a's two categories
    assert grid[0, 0] == 2.0 and grid[1, 1] == 5.0
    assert np.isnan(grid[0, 1]) and np.isnan(grid[1, 0])


@pytest.mark.parametrize("goal", ["minimize", "maximize"])
def test_history_best_so_far_is_monotone_and_ends_at_the_best(goal):
    table = study(n=30, goal=goal)
    plot = history_plot(table)
    line = next(line for line in axes_of(plot).lines if line.get_label() == "best so far")
    best = np.asarray(line.get_ydata(), dtype=float)
    steps = np.diff(best)
    assert (steps <= 0).all() if goal == "minimize" else (steps >= 0).all()
    assert best[-1] == pytest.approx(table.ranked()[0].score)
    assert plot.name == "optimization_history" and plot.section == "history"


def test_history_colors_rounds():
    rows = [({"x": float(k)}, float(k), {}) for k in range(6)]
    table = make_table(rows, {"x": {"space": "uniform"}})
    for row in table.trials:
        row.round = row.order // 3
    labels = axes_of(history_plot(table)).get_legend_handles_labels()[1]
    assert "round 0" in labels and "round 1" in labels


def test_training_curves_use_validation_then_training_then_combined_loss():
    curves = [
        {"validation": {"out": {"loss": [3.0, 2.0, 1.0]}}},
        {"training": {"out": {"loss": [4.0, 3.0]}}},
        {"validation": {"combined": {"loss": [5.0]}}},
        {"test": {"out": {"loss": [9.0]}}},  # no curve to draw
    ]
    rows = [({"x": float(k)}, float(k), stats) for k, stats in enumerate(curves)]
    plot = training_curves_plot(make_table(rows, {"x": {"space": "uniform"}}))
    lines = axes_of(plot).lines
    assert [list(line.get_ydata()) for line in lines] == [[3.0, 2.0, 1.0], [4.0, 3.0], [5.0]]
    assert lines[0].get_label().startswith("trial_0000 (0)")
    only_first = training_curves_plot(make_table(rows, {"x": {"space": "uniform"}}), top=1)
    assert len(axes_of(only_first).lines) == 1


def test_no_curves_and_no_finished_trials_do_not_crash():
    rows = [({"x": 1.0}, 1.0, {})]
    assert training_curves_plot(make_table(rows, {"x": {"space": "uniform"}})) is None
    empty = make_table([], SPECS, failed=[{"trainer.learning_rate": 0.01}])
    plots = all_plots(empty)
    assert [p.section for p in plots] == ["parameters"] * len(SPECS)
    assert history_plot(empty) is None and pair_plot(empty) is None
    assert any("no finished trial" in t.get_text() for t in axes_of(plots[0]).texts)
    for plot in plots:
        assert png_bytes(plot).startswith(b"\x89PNG")


def test_odd_values_constant_huge_tiny_and_near_zero_log():
    specs = {
        "constant": {"space": "uniform", "lower": 0, "upper": 1},
        "huge": {"space": "uniform", "lower": 1e300, "upper": 1e305},
        "tiny": {"space": "loguniform", "lower": 1e-300, "upper": 1e-290},
        "count": {"space": "lograndint", "lower": 1, "upper": 10},
    }
    rows = [
        (
            {"constant": 0.5, "huge": 1e300 * (k + 1), "tiny": 1e-300 * (k + 1), "count": 1},
            1e-9 * k,
            {},
        )
        for k in range(4)
    ]
    plots = all_plots(make_table(rows, specs))
    assert len(plots) == len(specs) + 2  # no curves
    for plot in plots:
        assert png_bytes(plot).startswith(b"\x89PNG")


def test_one_trial():
    table = study(n=1, failed=0)
    plots = all_plots(table)
    assert [p.name for p in plots][-2:] == ["optimization_history", "training_curves"]


def test_file_stems_are_safe_and_unique():
    hostile = ["a/b", "a_b", "a{b}", "a b", "ü", "u", "x" * 300, "x" * 300 + "y", "A", "a"]
    hostile += ["pair_plot", "..", "trainer.learning_rate"]
    stems = [file_stem(name) for name in hostile]
    assert len({stem.lower() for stem in stems}) == len(hostile)
    for stem in stems:
        assert stem.startswith("hyperopt_")
        assert re.fullmatch(r"[A-Za-z0-9._-]+", stem) and len(stem) <= 120
    assert file_stem("trainer.learning_rate") == "hyperopt_trainer.learning_rate"
    assert file_stem("a/b") != "hyperopt_a_b" and file_stem("a_b") == "hyperopt_a_b"
    assert file_stem("pair_plot") != "hyperopt_pair_plot"
    assert file_stem("a/b") == file_stem("a/b")


def test_save_plot_writes_png_and_pdf(tmp_path: Path):
    plot = history_plot(study())
    png = save_plot(plot, tmp_path / "figures", "png")
    pdf = save_plot(plot, tmp_path / "figures", "pdf")
    assert png == tmp_path / "figures" / "optimization_history.png"
    assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert pdf.read_bytes().startswith(b"%PDF")
    width, height = (int.from_bytes(png.read_bytes()[o : o + 4], "big") for o in (16, 20))
    assert (width, height) == (700, 420)  # 7 x 4.2 in at 100 dpi
    with pytest.raises(ValueError):
        save_plot(plot, tmp_path, "svgz")


def test_all_plots_order_and_a_large_study(tmp_path: Path):
    rng = np.random.default_rng(1)
    specs = {f"p{k}": {"space": "loguniform" if k % 2 else "uniform"} for k in range(6)}
    specs["c"] = {"space": "choice", "categories": [{"a": [1, 2]}, "b", None]}
    specs["g"] = {"space": "grid_search", "values": [1, 2, 3]}
    rows = []
    for k in range(200):
        params = {f"p{j}": float(10 ** rng.uniform(-6, 0)) for j in range(6)}
        params["c"] = specs["c"]["categories"][k % 3]
        params["g"] = k % 3 + 1
        stats = {"validation": {"out": {"loss": [float(v) for v in rng.uniform(size=10)]}}}
        rows.append((params, float(rng.uniform()), stats))
    table = make_table(rows, specs, failed=[{"p0": 0.5}] * 10)
    plots = all_plots(table)
    sections = [p.section for p in plots]
    assert sections == ["parameters"] * 8 + ["pairs", "history", "curves"]
    assert len({p.name for p in plots}) == len(plots)
    for plot in plots:
        assert save_plot(plot, tmp_path, "png").stat().st_size > 1000
    assert json.dumps([p.caption for p in plots])  # captions are plain text
