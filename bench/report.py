"""The report rule's cost by study size: the job as the rule runs it, and its parts.

    .venv/bin/python bench/report.py                      # 50, 200 and 1000 trials
    .venv/bin/python bench/report.py --trials 200 --no-write

Each size is a synthetic hyperopt_statistics.json with --parameters parameters (a
loguniform, a uniform, a randint, a qloguniform, choices of numbers, strings and lists
of dicts, a boolean choice; cycled past 8), 10-epoch training curves per trial and one
trial in ten failed. The job column runs scripts/report.py in a fresh process, as rule
report does (imports included); the other columns time the parts in this process (after
one warm-up build, so they leave imports out): the plots drawn and saved as PNG, fANOVA
importance, report.html. The run writes the section `report` of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from job_structure import REPO, write_section  # noqa: E402

SPACES = [
    ("trainer.learning_rate", {"space": "loguniform", "lower": 1e-4, "upper": 0.1}),
    ("trainer.dropout", {"space": "uniform", "lower": 0.0, "upper": 0.5}),
    ("trainer.batch_size", {"space": "randint", "lower": 16, "upper": 257}),
    ("trainer.decay", {"space": "qloguniform", "lower": 1e-4, "upper": 1.0, "q": 1e-4}),
    ("combiner.output_size", {"space": "choice", "categories": [16, 32, 64, 128]}),
    ("title.encoder.type", {"space": "choice", "categories": ["bow", "tfidf", "hashing"]}),
    (
        "topic.decoder.fc_layers",
        {"space": "choice", "categories": [[], [{"output_size": 8}], [{"output_size": 32}] * 2]},
    ),
    ("trainer.shuffle", {"space": "choice", "categories": [True, False]}),
]


def value(spec: dict, rng: np.random.Generator):
    space = spec["space"]
    if space == "choice":
        return spec["categories"][int(rng.integers(len(spec["categories"])))]
    if space == "randint":
        return int(rng.integers(spec["lower"], spec["upper"]))
    if space in ("loguniform", "qloguniform"):
        number = float(np.exp(rng.uniform(np.log(spec["lower"]), np.log(spec["upper"]))))
        return round(number / spec["q"]) * spec["q"] if "q" in spec else number
    return float(rng.uniform(spec["lower"], spec["upper"]))


def statistics(trials: int, parameters: int, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    specs = {
        f"{SPACES[i % 8][0]}{'' if i < 8 else f'_{i}'}": SPACES[i % 8][1] for i in range(parameters)
    }
    ok, failed = [], []
    for index in range(trials):
        params = {name: value(spec, rng) for name, spec in specs.items()}
        trial_id = f"trial_{index:04d}"
        if index % 10 == 9:
            failed.append({"trial_id": trial_id, "parameters": params, "status": "failed",
                           "error": "synthetic failure"})  # fmt: skip
            continue
        curve = np.clip(np.cumsum(rng.uniform(0, 0.1, 10)) + rng.uniform(0.3, 0.5), 0, 1)
        ok.append(
            {
                "trial_id": trial_id,
                "parameters": params,
                "metric_score": float(curve.max()),
                "status": "ok",
                "training_stats": {"validation": {"topic": {"accuracy": curve.tolist()}}},
            }
        )
    ok.sort(key=lambda r: -r["metric_score"])
    config = {"goal": "maximize", "metric": "accuracy", "output_feature": "topic",
              "parameters": specs}  # fmt: skip
    return {"hyperopt_config": config, "hyperopt_results": ok, "failed_trials": failed}


def timed(call) -> tuple[float, object]:
    started = time.perf_counter()
    result = call()
    return time.perf_counter() - started, result


def measure(trials: int, parameters: int, work: Path) -> dict:
    from snaketune.report import build, plots
    from snaketune.report.html import report_html
    from snaketune.report.optuna_export import parameter_importances
    from snaketune.report.table import load_statistics

    path = work / f"stats_{trials}.json"
    path.write_text(json.dumps(statistics(trials, parameters)))
    out = work / f"report_{trials}"
    command = [sys.executable, str(REPO / "scripts" / "report.py"), "--statistics", str(path),
               "--out", str(out), "--format", "png", "--title", "bench"]  # fmt: skip
    job, _ = timed(lambda: subprocess.run(command, check=True, capture_output=True))
    table = load_statistics(path)
    build.build_report(table, work / "warm", fmt="png", title="bench")  # imports done
    figures_dir = work / f"figures_{trials}"
    drawing, drawn = timed(
        lambda: [plots.save_plot(p, figures_dir, "png") for p in plots.all_plots(table)]
    )
    importance, (importances, _) = timed(lambda: parameter_importances(table))
    figures, _, note = build.render_figures(table, work / f"again_{trials}", "png")
    html_s, html = timed(
        lambda: report_html(
            table, figures, title="bench", importances=importances, importance_note=note
        )  # fmt: skip
    )
    return {
        "trials": trials,
        "job": job,
        "plots": drawing,
        "figures": len(drawn),
        "importance": importance,
        "html": html_s,
        "mb": (out / "report.html").stat().st_size / 2**20,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", default="50,200,1000")
    parser.add_argument("--parameters", type=int, default=8)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for trials in (int(t) for t in args.trials.split(",")):
            row = measure(trials, args.parameters, Path(tmp))
            rows.append(row)
            print(row, flush=True)
    lines = [
        f"**{args.parameters} parameters**, one trial in ten failed, 10-epoch curves",
        "",
        "| trials | rule report job s | plots drawn + saved s | figures | fANOVA s | "
        "report.html s | report.html MB |",
        "|---|---|---|---|---|---|---|",
        *(
            f"| {r['trials']} | {r['job']:.1f} | {r['plots']:.2f} | {r['figures']} | "
            f"{r['importance']:.2f} | {r['html']:.2f} | {r['mb']:.1f} |"
            for r in rows
        ),
    ]
    print("\n".join(lines))
    if not args.no_write:
        command = "python bench/report.py" + (
            f" --trials {args.trials}" if args.trials != "50,200,1000" else ""
        )
        write_section("report", command, lines)


if __name__ == "__main__":
    main()
