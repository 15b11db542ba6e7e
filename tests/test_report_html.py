"""report.html and the parallel-coordinates page: self-contained, escaped, and working.

The unit tests read the HTML as text; the e2e tests open it in headless Chromium and read
the health attributes the page writes on <html> (errors, images loaded, lines drawn).
"""

from __future__ import annotations

import html as htmllib
import io
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from matplotlib.figure import Figure as MplFigure

from snaketune.report.html import (
    Figure,
    parallel_coordinates_html,
    parcoords_data,
    report_html,
    script_json,
    write_report,
)
from snaketune.report.table import StudyTable, table_from_statistics

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "tests" / "artifacts"
HOSTILE = "</script><script>alert(\"x\")</script><!-- {{x}} & 'q' \u2028"


def _png(color: str = "tab:blue", dpi: int = 20) -> bytes:
    figure = MplFigure(figsize=(6.4, 4.2), dpi=dpi, layout="constrained")
    ax = figure.add_subplot()
    ax.plot([0, 1, 2], [1, 0, 2], color=color)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _table(
    scores: list[float | None],
    *,
    goal: str = "minimize",
    parameters: dict | None = None,
    values: list[dict] | None = None,
    failed: list[dict] | None = None,
) -> StudyTable:
    parameters = parameters or {"lr": {"space": "loguniform", "lower": 1e-4, "upper": 1e-1}}
    values = values or [{"lr": 10 ** -(1 + i % 3)} for i in range(len(scores))]
    results = [
        {"trial_id": f"trial_{i:04d}", "parameters": v, "metric_score": s, "status": "ok"}
        for i, (s, v) in enumerate(zip(scores, values, strict=True))
    ]
    statistics = {
        "hyperopt_config": {
            "goal": goal,
            "metric": "loss",
            "output_feature": "label",
            "parameters": parameters,
        },
        "hyperopt_results": results,
        "failed_trials": failed or [],
    }
    return table_from_statistics(statistics, Path("x.json"))


def _rich_table(trials: int = 30) -> StudyTable:
    """A study with a log, a uniform, a list choice, a dict choice and failures."""
    parameters = {
        "trainer.learning_rate": {"space": "loguniform", "lower": 1e-5, "upper": 1e-1},
        "dropout": {"space": "uniform", "lower": 0.0, "upper": 0.5},
        "layers": {"space": "choice", "categories": [[64], [128, 64], [256, 128, 64]]},
        "optimizer": {"space": "choice", "categories": [{"type": "adam"}, {"type": "sgd"}]},
        "batch_size": {"space": "randint", "lower": 16, "upper": 257},
    }
    values, scores = [], []
    for i in range(trials):
        lr = 10 ** (-5 + 4 * ((i * 7) % trials) / trials)
        values.append(
            {
                "trainer.learning_rate": lr,
                "dropout": round((i * 0.37) % 0.5, 3),
                "layers": parameters["layers"]["categories"][i % 3],
                "optimizer": parameters["optimizer"]["categories"][i % 2],
                "batch_size": 16 + (i * 37) % 240,
            }
        )
        scores.append(0.2 + abs(-3 - (i * 7 % trials) * 4 / trials) * 0.1 + (i % 3) * 0.02)
    failed = [
        {
            "trial_id": f"trial_{trials + k:04d}",
            "parameters": values[k % len(values)] if values else {},
            "status": status,
            "error": f"RuntimeError: <b>boom</b> {k}\n  line two",
        }
        for k, status in enumerate(["failed", "failed", "skipped"])
    ]
    return _table(scores, goal="minimize", parameters=parameters, values=values, failed=failed)


def _figures(count: int = 4, dpi: int = 20) -> list[Figure]:
    sections = ["history", "parameters", "parameters", "pairs", "curves", "importance"]
    colors = ["tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown"]
    return [
        Figure(
            name=f"hyperopt_fig{i}",
            title=f"Figure {i}",
            section=sections[i % len(sections)],
            png=_png(colors[i % len(colors)], dpi),
            caption=f"Caption {i}.",
            file=f"hyperopt_fig{i}.pdf",
        )
        for i in range(count)
    ]


def _script_bodies(page: str) -> list[str]:
    return re.findall(r"<script[^>]*>(.*?)</script>", page, flags=re.S)


def _data_of(page: str) -> dict:
    match = re.search(
        r'<script type="application/json" id="parcoords-data">(.*?)</script>', page, re.S
    )
    assert match, "the parallel-coordinates data element is missing"
    return json.loads(match.group(1))


# --- unit tests ----------------------------------------------------------------------------


def test_page_is_self_contained_and_inlines_every_figure():
    figures = _figures(6)
    page = report_html(_rich_table(), figures, title="Study", importances={"dropout": 0.7})
    assert 'src="http' not in page and 'href="http' not in page
    assert "http://" not in page and "https://" not in page  # no URL at all, not even xmlns
    assert "<link" not in page
    assert not re.search(r"<script[^>]+src=", page)
    for figure in figures:
        b64 = re.escape(__import__("base64").b64encode(figure.png).decode())
        assert re.search(rf'<img alt="{figure.title}" src="data:image/png;base64,{b64}">', page)
        assert f'href="{figure.file}"' in page
    assert page.count("<img ") == len(figures)
    assert "parcoords-data" in page and "ParallelCoordinates" in page
    assert page.index("document.documentElement") < page.index("<style>")  # health first


def test_sections_in_order_and_empty_ones_left_out():
    figures = [f for f in _figures(5) if f.section != "pairs"]
    page = report_html(_rich_table(), figures, title="Study", importances={"dropout": 0.7})
    order = ["leaderboard", "history", "importance", "parcoords", "parameters", "curves"]
    positions = [page.index(f'<section id="{key}">') for key in order]
    assert positions == sorted(positions)
    assert '<section id="pairs">' not in page
    no_importance = report_html(_rich_table(), figures, title="Study")
    assert '<section id="importance">' not in no_importance


def test_hostile_names_values_and_errors_are_escaped():
    name = f"p{HOSTILE}"
    table = _table(
        [0.5, 0.25],
        parameters={name: {"space": "choice", "categories": [HOSTILE, {"k": HOSTILE}]}},
        values=[{name: HOSTILE}, {name: {"k": HOSTILE}}],
        failed=[
            {"trial_id": f"t{HOSTILE}", "parameters": {name: HOSTILE}, "error": HOSTILE},
        ],
    )
    table.metric = f"m{HOSTILE}"
    figure = Figure(f"n{HOSTILE}", f"T{HOSTILE}", "parameters", _png(), f"C{HOSTILE}", HOSTILE)
    page = report_html(
        table,
        [figure],
        title=f"Title {HOSTILE}",
        importances={name: 1.0},
        importance_note=HOSTILE,
        generated_by=HOSTILE,
    )
    assert "<script>alert" not in page
    assert "<!-- {{x}}" not in page
    assert '"x")' not in page.replace("&quot;x&quot;)", "")
    # exactly our own script elements: the health probe, the data, the view, the check
    assert len(re.findall(r"<script", page)) == 4
    data = _data_of(page)
    assert data["axes"][0]["name"] == name
    assert data["axes"][0]["categories"][0] == HOSTILE[:39] + "…"  # shortened, not escaped
    assert data["metric"] == f"m{HOSTILE}"
    assert htmllib.escape(HOSTILE.splitlines()[0], quote=True) in page
    assert 'href="javascript' not in page
    standalone = parallel_coordinates_html(table, title=HOSTILE)
    assert "<script>alert" not in standalone
    assert _data_of(standalone)["axes"][0]["name"] == name


def test_script_json_cannot_end_its_element():
    text = script_json({"a": "</script><!--<script>", "b": "\u2028\u2029&>"})
    assert "<" not in text and ">" not in text and "&" not in text
    assert "\u2028" not in text and "\u2029" not in text
    assert json.loads(text) == {"a": "</script><!--<script>", "b": "\u2028\u2029&>"}


@pytest.mark.parametrize(
    ("goal", "expected"),
    [("minimize", ["trial_0002", "trial_0000", "trial_0001"]),
     ("maximize", ["trial_0001", "trial_0000", "trial_0002"])],
)  # fmt: skip
def test_leaderboard_order_follows_goal(goal, expected):
    table = _table([0.5, 0.9, 0.1], goal=goal)
    page = report_html(table, [], title="Study")
    board = page[page.index('<section id="leaderboard">') : page.index("</table>")]
    ids = re.findall(r'<th scope="row">(trial_\d+)</th>', board)
    assert ids == expected
    best = rf'<tr class="best"><td class="num">1</td><th scope="row">{expected[0]}<'
    assert re.search(best, page)


def test_failed_and_skipped_trials_listed_after_ranked_with_errors():
    page = report_html(_rich_table(10), [], title="Study")
    board = page[page.index('<section id="leaderboard">') : page.index("</table>")]
    ids = re.findall(r'<th scope="row">(trial_\d+)</th>', board)
    assert ids[-3:] == ["trial_0010", "trial_0011", "trial_0012"]
    assert len(ids) == 13
    assert board.count('class="status failed"') == 2
    assert board.count('class="status skipped"') == 1
    assert "RuntimeError: &lt;b&gt;boom&lt;/b&gt; 0" in board
    assert "<b>boom" not in board
    assert "10 ok, 2 failed, 1 skipped" in page
    assert "[128,64]" in board and '{"type":"adam"}' in board.replace("&quot;", '"')


def test_zero_trials_and_one_trial():
    empty = _table([])
    page = report_html(empty, [], title="Empty", importances={}, importance_note="Too few.")
    assert "0 trials: 0 ok, 0 failed, 0 skipped" in page
    assert "no finished trial yet" in page and "Too few." in page
    assert _data_of(page)["trials"] == []
    assert _data_of(parallel_coordinates_html(empty, title="Empty"))["trials"] == []
    one = report_html(_table([0.3]), [], title="One")
    assert _data_of(one)["trials"][0]["best"] is True


def test_parcoords_data_axes():
    data = parcoords_data(_rich_table(12))
    kinds = {axis["name"]: axis["kind"] for axis in data["axes"]}
    assert kinds == {
        "trainer.learning_rate": "log",
        "dropout": "linear",
        "layers": "category",
        "optimizer": "category",
        "batch_size": "linear",
        "loss": "linear",
    }
    assert data["axes"][-1]["metric"] is True
    assert data["axes"][2]["categories"] == ["[64]", "[128,64]", "[256,128,64]"]
    assert len(data["trials"]) == 12 and data["unscored"] == 3
    assert sum(t["best"] for t in data["trials"]) == 1
    assert all(len(t["v"]) == len(data["axes"]) == len(t["t"]) for t in data["trials"])


def test_write_report_is_atomic(tmp_path):
    path = tmp_path / "report.html"
    write_report(path, "<!DOCTYPE html>old")
    write_report(path, "<!DOCTYPE html>new")
    assert path.read_text() == "<!DOCTYPE html>new"
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


# --- in a browser --------------------------------------------------------------------------


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    pytest.skip(
        "chromium is not installed (make test installs it as root on Debian: "
        "tests/browser/install-chromium.sh); the browser tests need it"
    )


def run_chromium(page: Path, *args: str) -> subprocess.CompletedProcess:
    command = [_chromium(), "--headless", "--disable-gpu", "--hide-scrollbars"]
    if os.geteuid() == 0:
        command.append("--no-sandbox")
    command += [*args, page.resolve().as_uri()]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]
    return result


def page_health(page: Path) -> dict[str, str]:
    """The attributes the page wrote on <html> once it had loaded."""
    result = run_chromium(page, "--dump-dom", "--virtual-time-budget=5000")
    match = re.search(r"<html([^>]*)>", result.stdout)
    assert match, result.stdout[:500]
    return dict(re.findall(r'([\w-]+)="([^"]*)"', match.group(1)))


@pytest.mark.e2e
def test_report_in_chromium(tmp_path):
    table = _rich_table(30)
    figures = _figures(6, dpi=80)
    page = tmp_path / "report.html"
    write_report(
        page,
        report_html(
            table,
            figures,
            title="Titles study <3",
            importances={"trainer.learning_rate": 0.61, "dropout": 0.22, "layers": 0.05},
            importance_note="fANOVA importances, seeded.",
        ),
    )
    health = page_health(page)
    assert health.get("data-report-ready") == "1", health
    assert health.get("data-errors", "0") == "0", health
    assert health["data-images-total"] == health["data-images-ok"] == str(len(figures))
    assert health["data-parcoords-lines"] == str(len(table.finished)) == "30"

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "report_screenshot.png"
    shot.unlink(missing_ok=True)
    run_chromium(page, f"--screenshot={shot}", "--window-size=1280,4000")
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 50_000


@pytest.mark.e2e
@pytest.mark.parametrize("trials", [0, 1, 12])  # 1 trial: every axis is constant
def test_parallel_coordinates_page_in_chromium(tmp_path, trials):
    table = _rich_table(trials)
    page = tmp_path / "hyperopt_hiplot.html"
    write_report(page, parallel_coordinates_html(table, title="Parallel coordinates"))
    health = page_health(page)
    assert health.get("data-report-ready") == "1", health
    assert health.get("data-errors", "0") == "0", health
    assert health["data-parcoords-lines"] == str(trials)
    assert health["data-images-total"] == "0"


# Drives the view as a user would (drag on the metric axis, click it, hover a line) and
# writes what it saw on <html>; runs after the page's own load handler.
_INTERACT = """<script>window.addEventListener('load', function () {
  var d = document.documentElement;
  var kept = function () { return document.querySelectorAll('.pc-line:not(.pc-out)').length; };
  var fire = function (target, type, y) {
    var box = target.getBoundingClientRect();
    target.dispatchEvent(new PointerEvent(type, {bubbles: true, button: 0, pointerId: 1,
      clientX: box.left + box.width / 2, clientY: y}));
  };
  var axes = document.querySelectorAll('.pc-overlay');
  var metric = axes[axes.length - 1];
  var box = metric.getBoundingClientRect();
  fire(metric, 'pointerdown', box.top + 8);
  fire(metric, 'pointermove', box.top + box.height / 2);
  fire(metric, 'pointerup', box.top + box.height / 2);
  d.dataset.brushed = String(kept());
  d.dataset.status = document.querySelector('.pc-status').textContent;
  metric = document.querySelectorAll('.pc-overlay')[axes.length - 1];
  fire(metric, 'pointerdown', box.top + 30);
  fire(metric, 'pointerup', box.top + 30);
  d.dataset.cleared = String(kept());
  var hit = document.querySelector('.pc-hits path');
  var hb = hit.getBoundingClientRect();
  hit.dispatchEvent(new PointerEvent('pointermove', {bubbles: true,
    clientX: hb.left + 2, clientY: hb.top + 2}));
  var tip = document.querySelector('.pc-tip');
  d.dataset.tip = tip.hidden ? '' : tip.textContent.slice(0, 60);
});</script>"""


@pytest.mark.e2e
def test_brushing_and_tooltip_in_chromium(tmp_path):
    table = _rich_table(30)
    page = tmp_path / "interact.html"
    text = parallel_coordinates_html(table, title="Interaction")
    write_report(page, text.replace("</body>", _INTERACT + "</body>"))
    health = page_health(page)
    assert health.get("data-errors", "0") == "0", health
    assert 0 < int(health["data-brushed"]) < 30, health
    assert health["data-status"].startswith(f"{health['data-brushed']} of 30 trials"), health
    assert health["data-cleared"] == "30", health
    assert health["data-tip"].startswith("trial_"), health
