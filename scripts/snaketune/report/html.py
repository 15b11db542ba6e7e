"""report.html: one self-contained page showing a study (no network, opens from disk).

Styles, data and scripts are inlined and images are data: URIs, so the page can be mailed,
archived or opened from a cluster's scratch folder as it is. Everything that comes from the
study (parameter names, values, errors, the title) is user input: it is HTML-escaped where
it is written as markup, and the JSON the parallel-coordinates view reads is escaped so no
value can end its <script> element. A Content-Security-Policy forbids any fetch.

The page reports its own health on <html> (data-errors, data-images-ok, data-images-total,
data-parcoords-lines, data-report-ready) so a headless browser can check it in tests.
"""

from __future__ import annotations

import base64
import functools
import html
import json
import math
from collections import Counter
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import quote

from snaketune.io import write_text
from snaketune.report.table import StudyTable, TrialRow, plain_number

SECTIONS = ("history", "importance", "parameters", "pairs", "curves")
HEADINGS = {
    "history": "Optimization history",
    "importance": "Parameter importance",
    "parcoords": "Parallel coordinates",
    "parameters": "Parameters",
    "pairs": "Parameter pairs",
    "curves": "Training curves",
    "other": "More figures",
}
WIDE_SECTIONS = frozenset({"history", "pairs"})  # one figure per row (as is a lone figure)
VALUE_LIMIT = 40  # characters of a value shown in a cell (the full text is its tooltip)
ERROR_LIMIT = 160
CSP = (
    "default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
    "script-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"
)


@dataclass(frozen=True)
class Figure:
    """An image already rendered, and where it goes in the report."""

    name: str  # file stem, e.g. "hyperopt_trainer.learning_rate"
    title: str
    section: str  # "parameters" | "pairs" | "history" | "curves" | "importance"
    png: bytes
    caption: str
    file: str | None = None  # the plot's own file beside the report, linked when given


# --- text helpers --------------------------------------------------------------------------


def _e(value: Any) -> str:
    """HTML-escaped text, quotes included, so it is safe in content and attributes."""
    return html.escape(str(value), quote=True)


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _json_text(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=repr)


def value_text(value: Any) -> str:
    """A parameter value as a person reads it: strings bare, numbers short, rest JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or value is None:
        return _json_text(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.4g}" if math.isfinite(value) else str(value)
    return _json_text(value)


def score_text(score: float | None) -> str:
    return "—" if score is None else f"{score:.6g}"


def script_json(data: Any) -> str:
    """JSON that is safe as the text of a <script> element.

    `<`, `>` and `&` become \\u escapes so `</script>` or `<!--` inside a value cannot end
    or confuse the element; U+2028/2029 are escaped for old JavaScript parsers. JSON.parse
    reads the escapes back as the original characters.
    """
    text = json.dumps(data, ensure_ascii=False, allow_nan=False, default=repr)
    for char, escape in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(char, escape)
    return text


@functools.lru_cache(maxsize=1)
def _parcoords_js() -> str:
    """The view's script, shipped beside this module (package data)."""
    text = resources.files(__package__).joinpath("parcoords.js").read_text(encoding="utf-8")
    if any(bad in text.lower() for bad in ("<script", "</script", "<!--")):
        raise ValueError("parcoords.js must not contain <script, </script or <!--")
    return text


# --- study facts ---------------------------------------------------------------------------


def _parameter_names(table: StudyTable) -> list[str]:
    """The tuned parameters, then any other parameter a trial recorded (Ludwig files)."""
    names = [p.name for p in table.parameters]
    seen = set(names)
    for trial in table.trials:
        for name in trial.parameters:
            if name not in seen:
                seen.add(name)
                names.append(name)
    return names


def _unfinished(table: StudyTable) -> list[TrialRow]:
    return [t for t in table.trials if not (t.status == "ok" and t.score is not None)]


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


def _counts_text(table: StudyTable) -> str:
    counts = Counter(
        "ok" if t.status == "ok" and t.score is not None else t.status for t in table.trials
    )
    parts = [f"{counts.pop(status, 0)} {status}" for status in ("ok", "failed", "skipped")]
    parts += [f"{n} {status}" for status, n in sorted(counts.items())]
    return f"{_plural(len(table.trials), 'trial')}: {', '.join(parts)}"


def _direction(table: StudyTable) -> str:
    return "higher is better" if table.goal == "maximize" else "lower is better"


def _summary_html(table: StudyTable) -> str:
    ranked = table.ranked()
    facts = [
        f"<span><b>{_e(table.goal)}</b> {_e(table.metric)}</span>",
        f"<span>output feature <b>{_e(table.output_feature)}</b></span>",
        f"<span>{_e(_counts_text(table))}</span>",
    ]
    if ranked:
        best = ranked[0]
        facts.append(
            f"<span>best <b>{_e(best.trial_id)}</b> with {_e(table.metric)} "
            f"<b>{_e(score_text(best.score))}</b></span>"
        )
    else:
        facts.append("<span>no finished trial yet</span>")
    return f'<p class="summary">{"".join(facts)}</p>'


# --- the leaderboard -----------------------------------------------------------------------


def _cell(value: Any, present: bool, numeric: bool) -> str:
    if not present:
        return '<td class="missing">—</td>'
    text = value_text(value)
    short = _shorten(text, VALUE_LIMIT)
    full = text if not isinstance(value, float) else repr(value)
    cls = ' class="num"' if numeric else ""
    tip = f' title="{_e(full)}"' if full != short else ""
    return f"<td{cls}{tip}>{_e(short)}</td>"


def _error_html(error: str) -> str:
    error = error.strip()
    if not error:
        return '<span class="muted">no error recorded</span>'
    first = _shorten(error.splitlines()[0], ERROR_LIMIT)
    if first == error:
        return f"<code>{_e(error)}</code>"
    return f"<details><summary><code>{_e(first)}</code></summary><pre>{_e(error)}</pre></details>"


def _leaderboard_html(table: StudyTable, names: list[str]) -> str:
    if not table.trials:
        return '<p class="note">No trial has run yet, so there is nothing to rank.</p>'
    numeric = {
        n
        for n in names
        if all(plain_number(t.parameters[n]) is not None for t in table.trials if n in t.parameters)
    }
    head = "".join(
        f'<th scope="col"{" class=num" if n in numeric else ""} title="{_e(n)}">'
        f"{_e(_shorten(n, 32))}</th>"
        for n in names
    )
    rows = []
    for rank, trial in enumerate(table.ranked(), start=1):
        cells = "".join(
            _cell(trial.parameters.get(n), n in trial.parameters, n in numeric) for n in names
        )
        cls = ' class="best"' if rank == 1 else ""
        rows.append(
            f'<tr{cls}><td class="num">{rank}</td><th scope="row">{_e(trial.trial_id)}</th>'
            f'<td class="num score">{_e(score_text(trial.score))}</td>'
            f'<td><span class="status ok">ok</span></td>{cells}</tr>'
        )
    for trial in _unfinished(table):
        cells = "".join(
            _cell(trial.parameters.get(n), n in trial.parameters, n in numeric) for n in names
        )
        status = trial.status if trial.status != "ok" else "no score"
        rows.append(
            f'<tr class="unfinished"><td class="num">—</td><th scope="row">{_e(trial.trial_id)}'
            f'</th><td class="num score">—</td><td><span class="status {_e(_status_class(status))}'
            f'">{_e(status)}</span></td>{cells}</tr>'
            f'<tr class="error-row"><td></td><td colspan="{len(names) + 3}">'
            f"{_error_html(trial.error)}</td></tr>"
        )
    return (
        '<div class="table-wrap"><table class="leaderboard"><thead><tr>'
        '<th scope="col" class=num>rank</th><th scope="col">trial</th>'
        f'<th scope="col" class=num>{_e(table.metric)}</th><th scope="col">status</th>{head}'
        f"</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
    )


def _status_class(status: str) -> str:
    return status if status in ("failed", "skipped", "timeout") else "other"


# --- figures and importance ----------------------------------------------------------------


def _figure_html(figure: Figure) -> str:
    data = base64.b64encode(figure.png).decode("ascii")
    link = ""
    if figure.file:
        # quote() turns ':' into %3A, so a name like "javascript:x" stays a relative path
        link = f' <a class="file" href="{_e(quote(figure.file))}">{_e(figure.file)}</a>'
    return (
        f'<figure id="fig-{_e(figure.name)}"><img alt="{_e(figure.title)}" '
        f'src="data:image/png;base64,{data}">'
        f"<figcaption>{_e(figure.caption)}{link}</figcaption></figure>"
    )


def _grid_html(figures: list[Figure], section: str) -> str:
    wide = " wide" if section in WIDE_SECTIONS or len(figures) == 1 else ""
    return f'<div class="grid{wide}">{"".join(_figure_html(f) for f in figures)}</div>'


def _importance_html(importances: dict[str, float], note: str) -> str:
    rows = [(str(k), float(v)) for k, v in importances.items() if _finite(v)]
    rows.sort(key=lambda item: -item[1])
    parts = []
    if rows:
        top = max(max(v for _, v in rows), 1e-300)
        bars = []
        for name, value in rows:
            width = max(0.0, min(100.0, 100.0 * value / top))
            bars.append(
                f'<div class="bar-row"><span class="bar-name" title="{_e(name)}">'
                f'{_e(_shorten(name, 48))}</span><span class="bar-track"><span class="bar" '
                f'style="width:{width:.2f}%"></span></span>'
                f'<span class="bar-value">{value:.3f}</span></div>'
            )
        parts.append(f'<div class="bars" role="list">{"".join(bars)}</div>')
    if note:
        parts.append(f'<p class="note">{_e(note)}</p>')
    elif not rows:
        parts.append('<p class="note">Parameter importances are not available.</p>')
    return "".join(parts)


def _finite(value: Any) -> bool:
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


# --- the parallel-coordinates view ---------------------------------------------------------


def _category_key(value: Any) -> str:
    number = plain_number(value)
    if number is not None and number.is_integer() and abs(number) < 2**53:
        return str(int(number))  # 16 and 16.0 are one category
    return json.dumps(value, sort_keys=True, default=repr)


def parcoords_data(table: StudyTable) -> dict[str, Any]:
    """What parcoords.js draws: one axis per parameter plus the metric, one row per trial.

    Values are positions already: a number on a numeric axis, a category's index on a
    categorical one, None where a trial has no (finite) value. `t` holds the texts the
    tooltip shows.
    """
    finished = table.finished
    specs = {p.name: p for p in table.parameters}
    axes: list[dict[str, Any]] = []
    columns: list[list[Any]] = []
    for name in _parameter_names(table):
        spec = specs.get(name)
        present = [t.parameters[name] for t in finished if name in t.parameters]
        numbers = [plain_number(v) for v in present]
        categorical = (spec is not None and spec.categorical) or any(
            n is None and not (isinstance(v, float) and not math.isfinite(v))
            for v, n in zip(present, numbers, strict=True)
        )
        if categorical:
            labels: list[str] = []
            index: dict[str, int] = {}
            for value in [*(spec.categories or [] if spec else []), *present]:
                key = _category_key(value)
                if key not in index:
                    index[key] = len(labels)
                    labels.append(_shorten(value_text(value), VALUE_LIMIT))
            axes.append({"name": name, "kind": "category", "categories": labels})
            columns.append(
                [
                    index[_category_key(t.parameters[name])] if name in t.parameters else None
                    for t in finished
                ]
            )
        else:
            positive = all(n is None or n > 0 for n in numbers)
            log = bool(spec is not None and spec.log and positive)
            axes.append({"name": name, "kind": "log" if log else "linear"})
            columns.append([plain_number(t.parameters.get(name)) for t in finished])
    best = table.ranked()[0].trial_id if finished else None
    trials = []
    for i, trial in enumerate(finished):
        texts = [
            value_text(trial.parameters[a["name"]]) if a["name"] in trial.parameters else "—"
            for a in axes
        ]
        trials.append(
            {
                "id": trial.trial_id,
                "v": [column[i] for column in columns] + [trial.score],
                "t": [_shorten(t, VALUE_LIMIT) for t in texts] + [score_text(trial.score)],
                "best": trial.trial_id == best,
            }
        )
    axes.append({"name": table.metric, "kind": "linear", "metric": True})
    return {
        "metric": table.metric,
        "goal": table.goal,
        "axes": axes,
        "trials": trials,
        "unscored": len(table.trials) - len(finished),
    }


def _parcoords_html(table: StudyTable) -> str:
    label = f"Parallel coordinates of {len(table.finished)} finished trials"
    return (
        '<div class="pc" id="parcoords"><div class="pc-bar"><span class="pc-status" '
        'aria-live="polite"></span><button type="button" class="pc-reset">Reset</button></div>'
        f'<div class="pc-plot"><svg class="pc-svg" role="img" aria-label="{_e(label)}"></svg>'
        '<div class="pc-tip" hidden></div></div><div class="pc-legend"></div>'
        '<p class="pc-help">Drag along an axis to keep only the trials in a range (drag again '
        "to redraw it, click the axis to clear it); hover a line to see its trial.</p>"
        "<noscript><p class=note>The interactive view needs JavaScript.</p></noscript></div>"
        '<script type="application/json" id="parcoords-data">'
        f"{script_json(parcoords_data(table))}</script>"
    )


# --- the page ------------------------------------------------------------------------------

_HEALTH_HEAD = (
    "<script>(function(){var d=document.documentElement;function bump(){"
    "d.dataset.errors=String((+d.dataset.errors||0)+1)}"
    "window.addEventListener('error',bump,true);"
    "window.addEventListener('unhandledrejection',bump);"
    "var ce=console.error;console.error=function(){bump();"
    "return ce.apply(console,arguments)}})();</script>"
)
_HEALTH_LOAD = (
    "<script>window.addEventListener('load',function(){var d=document.documentElement,"
    "im=document.images,ok=0;for(var i=0;i<im.length;i++){"
    "if(im[i].complete&&im[i].naturalWidth>0)ok++}"
    "d.dataset.imagesOk=String(ok);d.dataset.imagesTotal=String(im.length);"
    "d.dataset.parcoordsLines=String(document.querySelectorAll('.pc-svg .pc-line').length);"
    "d.dataset.reportReady='1'});</script>"
)

_CSS = """
:root{color-scheme:light;--fg:#1d2330;--muted:#5d6778;--line:#e3e7ee;--bg:#fff;
--soft:#f6f8fb;--accent:#3b5bdb;--ok:#2b8a3e;--bad:#c92a2a;--warn:#a05a00}
*{box-sizing:border-box}
body{margin:0;background:var(--soft);color:var(--fg);font:15px/1.5 system-ui,-apple-system,
"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:1240px;margin:0 auto;padding:28px 24px 48px}
header h1{font-size:26px;line-height:1.25;margin:0 0 6px;overflow-wrap:anywhere}
.summary{display:flex;flex-wrap:wrap;gap:4px 18px;margin:0 0 10px;color:var(--muted)}
.summary b{color:var(--fg)}
.summary span+span::before{content:"·";margin-right:18px;color:#b4bccb}
nav{display:flex;flex-wrap:wrap;gap:6px;margin:14px 0 0}
nav a{font-size:13px;padding:3px 10px;border:1px solid var(--line);border-radius:999px;
background:var(--bg);color:var(--fg);text-decoration:none}
nav a:hover{border-color:var(--accent);color:var(--accent)}
section{background:var(--bg);border:1px solid var(--line);border-radius:10px;
padding:18px 20px;margin:18px 0;box-shadow:0 1px 2px rgba(20,30,50,.04)}
h2{font-size:18px;margin:0 0 12px}
.note,.muted,.pc-help{color:var(--muted)}
.note{margin:6px 0}
.pc-help{font-size:13px;margin:6px 0 0}
.table-wrap{overflow:auto;max-height:70vh;border:1px solid var(--line);border-radius:8px}
table{border-collapse:collapse;font-size:13.5px;font-variant-numeric:tabular-nums;width:100%}
th,td{padding:6px 10px;text-align:left;white-space:nowrap;border-bottom:1px solid var(--line)}
thead th{position:sticky;top:0;background:#eef1f6;z-index:1;font-weight:600;font-size:12.5px;
color:#394150}
tbody tr:nth-child(even) td,tbody tr:nth-child(even) th{background:#fafbfd}
tbody th{font-weight:500}
td.num,th.num{text-align:right}
td.score{font-weight:600}
tr.best td,tr.best th{background:#fff8db!important}
tr.unfinished td,tr.unfinished th{color:var(--muted);border-bottom:0}
tr.error-row td{white-space:normal;padding-top:0;font-size:12.5px;color:var(--bad);
background:var(--bg)!important}
tr.error-row pre{white-space:pre-wrap;max-height:20em;overflow:auto;background:var(--soft);
padding:8px;border-radius:6px;color:var(--fg)}
td.missing{color:#aab}
.status{display:inline-block;padding:0 7px;border-radius:999px;font-size:12px;
background:#eceff3;color:#475063}
.status.ok{background:#e6f4ea;color:var(--ok)}
.status.failed,.status.timeout{background:#fdecec;color:var(--bad)}
.status.skipped{background:#fff3e0;color:var(--warn)}
.grid{display:grid;gap:18px;grid-template-columns:repeat(auto-fill,minmax(min(100%,360px),1fr))}
.grid.wide{grid-template-columns:minmax(0,980px)}
figure{margin:0;display:flex;flex-direction:column;gap:6px}
figure img{max-width:100%;height:auto;align-self:flex-start;border:1px solid var(--line);
border-radius:6px;background:#fff}
figcaption{font-size:13px;color:var(--muted)}
a{color:var(--accent)}
a.file{white-space:nowrap}
details.figures{margin-top:12px}
details.figures>summary{cursor:pointer;color:var(--muted);font-size:13px;margin-bottom:8px}
.bars{display:grid;gap:6px;max-width:820px}
.bar-row{display:grid;grid-template-columns:minmax(120px,260px) 1fr 56px;gap:10px;
align-items:center;font-size:13.5px}
.bar-name{overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.bar-track{height:14px;background:var(--soft);border-radius:4px;overflow:hidden}
.bar{display:block;height:100%;background:linear-gradient(90deg,#3e4989,#26828e);
border-radius:4px}
.bar-value{text-align:right;font-variant-numeric:tabular-nums;color:var(--muted)}
.pc-bar{display:flex;align-items:center;justify-content:space-between;gap:12px;
margin-bottom:6px;font-size:13.5px;color:var(--muted)}
.pc-reset{font:inherit;font-size:13px;padding:3px 12px;border:1px solid var(--line);
border-radius:6px;background:var(--bg);cursor:pointer;color:var(--fg)}
.pc-reset:hover{border-color:var(--accent)}
.pc-plot{position:relative}
.pc-svg{display:block;width:100%;user-select:none;-webkit-user-select:none}
.pc-svg text{font-size:11px;fill:#3a4252}
.pc-svg .pc-name{font-size:12px;font-weight:600;fill:var(--fg)}
.pc-svg .pc-halo{paint-order:stroke;stroke:#fff;stroke-width:3px;stroke-linejoin:round}
.pc-line{fill:none;stroke-width:1.4;stroke-opacity:.8;stroke-linejoin:round}
.pc-line.pc-best{stroke-width:3.2;stroke-opacity:1}
.pc-line.pc-out{stroke:#c5cad3!important;stroke-opacity:.3;stroke-width:1}
.pc-tip{position:absolute;pointer-events:none;background:rgba(255,255,255,.97);
border:1px solid var(--line);border-radius:8px;padding:8px 10px;font-size:12.5px;
box-shadow:0 4px 14px rgba(20,30,50,.12);max-width:340px;z-index:2}
.pc-tip table{font-size:12px;width:auto}
.pc-tip td{padding:1px 6px 1px 0;border:0;white-space:nowrap;background:none!important}
.pc-tip td+td{font-variant-numeric:tabular-nums;max-width:200px;overflow:hidden;
text-overflow:ellipsis}
.pc-tip b{display:block;margin-bottom:3px}
.pc-legend{display:flex;align-items:center;gap:8px;flex-wrap:wrap;font-size:12.5px;
color:var(--muted);margin-top:6px}
.pc-ramp{width:160px;height:10px;border-radius:3px}
footer{color:var(--muted);font-size:12.5px;text-align:center;margin-top:24px}
@media (max-width:640px){main{padding:16px 10px}section{padding:14px 12px}}
"""


def _page(title: str, body: str, generated_by: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head>'
        f"{_HEALTH_HEAD}"
        '<meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f'<meta name="generator" content="{_e(generated_by)}">'
        f"<title>{_e(title)}</title><style>{_CSS}</style></head>\n<body><main>{body}"
        f"<footer>Made by {_e(generated_by)}. This page is self-contained: it loads nothing "
        f"from the network.</footer></main>\n<script>{_parcoords_js()}</script>\n"
        f"{_HEALTH_LOAD}</body></html>\n"
    )


def _section(key: str, content: str) -> str:
    return f'<section id="{key}"><h2>{_e(HEADINGS[key])}</h2>{content}</section>'


def report_html(
    table: StudyTable,
    figures: list[Figure],
    *,
    title: str,
    importances: dict[str, float] | None = None,
    importance_note: str = "",
    generated_by: str = "snaketune",
) -> str:
    """The whole report as one HTML document: summary, leaderboard, then every view.

    Figures go into their section in the order given; a section with nothing to show is
    left out. When `importances` is given the importance section draws them as bars, and
    an importance figure (the same numbers as a file) is kept folded below the bars.
    """
    by_section: dict[str, list[Figure]] = {}
    for figure in figures:
        key = figure.section if figure.section in SECTIONS else "other"
        by_section.setdefault(key, []).append(figure)
    names = _parameter_names(table)
    sections: list[tuple[str, str]] = [("leaderboard", "Leaderboard")]
    parts = [
        f'<section id="leaderboard"><h2>Leaderboard</h2><p class="note">{_e(table.metric)} '
        f"of {_e(table.output_feature)}, {_e(_direction(table))}; best first, then the "
        f"trials without a score.</p>{_leaderboard_html(table, names)}</section>"
    ]

    def add(key: str, content: str) -> None:
        sections.append((key, HEADINGS[key]))
        parts.append(_section(key, content))

    if by_section.get("history"):
        add("history", _grid_html(by_section["history"], "history"))
    shown = by_section.get("importance", [])
    if importances is not None:
        content = _importance_html(importances, importance_note)
        if shown:
            content += (
                '<details class="figures"><summary>The same as a figure</summary>'
                f"{_grid_html(shown, 'importance')}</details>"
            )
        add("importance", content)
    elif shown or importance_note:
        note = f'<p class="note">{_e(importance_note)}</p>' if importance_note else ""
        add("importance", note + (_grid_html(shown, "importance") if shown else ""))
    add("parcoords", _parcoords_html(table))
    for key in ("parameters", "pairs", "curves", "other"):
        if by_section.get(key):
            add(key, _grid_html(by_section[key], key))
    nav = "".join(f'<a href="#{key}">{_e(label)}</a>' for key, label in sections)
    header = f"<header><h1>{_e(title)}</h1>{_summary_html(table)}<nav>{nav}</nav></header>"
    return _page(title, header + "".join(parts), generated_by)


def parallel_coordinates_html(table: StudyTable, *, title: str) -> str:
    """A page with only the interactive view: Ludwig's `hyperopt_hiplot` equivalent."""
    header = f"<header><h1>{_e(title)}</h1>{_summary_html(table)}</header>"
    return _page(title, header + _section("parcoords", _parcoords_html(table)), "snaketune")


def write_report(path: Path, html: str) -> None:
    """Write the page atomically (temp file + rename): a reader never sees half of it."""
    write_text(path, html)
