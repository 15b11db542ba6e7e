"""Build a study's report folder: the plots as files and report.html showing them all.

One entry for rule report (scripts/report.py) and `snaketune visualize`. The folder is
built beside its target and swapped in, so a failed build leaves the old report, and a
reader never sees half of one.
"""

from __future__ import annotations

import os
from pathlib import Path

from snaketune.errors import ConfigError
from snaketune.io import build_folder, write_text
from snaketune.report.html import Figure, parallel_coordinates_html, report_html
from snaketune.report.table import StudyTable

FORMATS = ("png", "pdf")
REPORT_FILE = "report.html"
HIPLOT_FILE = "hyperopt_hiplot.html"


def _check_target(out_dir: Path) -> None:
    if out_dir.is_symlink() or (out_dir.exists() and not out_dir.is_dir()):
        raise ConfigError(
            f"{out_dir}: the report folder exists and is not a plain folder (a file or a "
            "symlink); remove it or choose another output directory."
        )


def render_figures(
    table: StudyTable, directory: Path, fmt: str
) -> tuple[list[Figure], dict[str, float], str]:
    """Every plot saved in `directory` as `fmt` with the PNG report.html inlines, and the
    parameter importances (or why there are none)."""
    from snaketune.report import plots
    from snaketune.report.optuna_export import parameter_importances

    drawn = plots.all_plots(table)
    importances, note = parameter_importances(table)
    importance = plots.importance_plot(importances, note)
    if importance is not None:
        drawn.append(importance)
    figures = []
    for plot in drawn:
        path = plots.save_plot(plot, directory, fmt)
        png = path.read_bytes() if fmt == "png" else plots.png_bytes(plot)
        figures.append(Figure(plot.name, plot.title, plot.section, png, plot.caption, path.name))
    return figures, importances, note


def build_report(table: StudyTable, out_dir: str | os.PathLike, *, fmt: str, title: str) -> Path:
    """Write `out_dir` (plots, report.html, hyperopt_hiplot.html); returns report.html."""
    if fmt not in FORMATS:
        raise ConfigError(f"report format {fmt!r}: use one of {', '.join(FORMATS)}.")
    out_dir = Path(out_dir)
    _check_target(out_dir)

    def fill(tmp: Path) -> None:
        figures, importances, note = render_figures(table, tmp, fmt)
        html = report_html(
            table, figures, title=title, importances=importances, importance_note=note
        )
        write_text(tmp / REPORT_FILE, html)
        write_text(tmp / HIPLOT_FILE, parallel_coordinates_html(table, title=title))

    build_folder(out_dir, fill)
    return out_dir / REPORT_FILE


def write_hiplot(table: StudyTable, out_dir: str | os.PathLike, *, title: str) -> Path:
    """Ludwig's `hyperopt_hiplot`: the interactive parallel-coordinates page only."""
    out_dir = Path(out_dir)
    _check_target(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / HIPLOT_FILE
    write_text(path, parallel_coordinates_html(table, title=title))
    return path
