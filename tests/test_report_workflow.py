"""`snaketune hyperopt` end to end, and everything drawn from the study it runs.

One study through the command line (progress bar, leaderboard, report), then, on its
files: Snakemake's own report, `snaketune status`, `export --optuna` and `visualize`
(also on a statistics file written by Ludwig itself).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from types import SimpleNamespace

import optuna
import pytest

from conftest import ENV, REPO, model_config
from snaketune.report.plots import file_stem
from test_report_html import ARTIFACTS, page_health, run_chromium

pytestmark = pytest.mark.e2e
SNAKETUNE = str(Path(sys.executable).parent / "snaketune")  # the console script
LUDWIG_STATISTICS = REPO / "tests" / "data" / "ludwig_hyperopt_statistics.json"
PARAMETERS = ("trainer.learning_rate", "combiner.output_size")


def snaketune(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [SNAKETUNE, *args], cwd=cwd, capture_output=True, text=True, env=ENV, timeout=600
    )


@pytest.fixture(scope="module")
def cli_study(shared_study_factory):
    """A 4-trial study run by `snaketune hyperopt` (a dry run of it first)."""
    study = shared_study_factory(model_config(executor={"num_samples": 4}), name="cli")
    args = ("hyperopt", "--dataset", "data.csv", "--config", "model.yaml", "--cores", "2")
    args += ("--experiment-name", "exp", "--output_directory", "results")
    dry = snaketune(*args, "--dry_run", cwd=study.root)
    run = snaketune(*args, cwd=study.root)
    assert run.returncode == 0, run.stdout + run.stderr
    return SimpleNamespace(study=study, dry=dry, run=run, folder=study.path())


def test_hyperopt_shows_a_bar_and_ends_with_the_leaderboard(cli_study):
    run, folder = cli_study.run, cli_study.folder
    bar = run.stderr.replace("\r", "\n")
    assert re.search(r"hyperopt: 100%.*\| 4/4 trials \[.*\], failed 0, best accuracy \d", bar)
    # Snakemake's job records went to the study's log, not the terminal.
    assert "rule train" not in run.stdout + run.stderr
    log = (folder / "logs" / "snakemake.log").read_text()
    assert "rule train" in log
    # The one line per scored trial a plain snakemake run prints, counted up to 4/4.
    lines = re.findall(r"snaketune: trial_\d{4} accuracy \S+ \| (\d)/4 done, 0 failed", log)
    assert sorted(lines) == ["1", "2", "3", "4"]
    assert "Top 4 of 4 successful trials (best first):" in run.stdout
    assert "Report: results/exp/report/report.html" in run.stdout
    # The dry run showed Snakemake's plan and trained nothing.
    assert cli_study.dry.returncode == 0 and "rule train" in cli_study.dry.stdout


def test_report_folder_holds_every_plot_and_a_self_contained_page(cli_study):
    report = cli_study.folder / "report"
    names = {p.name for p in report.iterdir() if p.name != ".snakemake_timestamp"}
    expected = {f"{file_stem(name)}.png" for name in PARAMETERS}
    expected |= {"hyperopt_pair_plot.png", "optimization_history.png", "training_curves.png"}
    expected |= {"report.html", "hyperopt_hiplot.html"}
    assert expected <= names
    assert names <= expected | {"parameter_importance.png"}  # fANOVA may find no signal
    html = (report / "report.html").read_text()
    assert "http://" not in html and "https://" not in html
    for name in expected - {"report.html", "hyperopt_hiplot.html"}:
        assert name in html  # every plot is shown (inlined, with a link to its file)
    assert "trial_0003" in html
    assert (
        (cli_study.folder / "logs" / "report.log")
        .read_text()
        .startswith("results/exp/report/report.html: 4 trials drawn")
    )


def test_snakemake_report_includes_the_leaderboard_and_plots(cli_study, tmp_path):
    zipped = tmp_path / "report.zip"
    cli_study.study.run("--report", str(zipped), report="png", experiment_name="exp")
    members = [Path(name).name for name in zipfile.ZipFile(zipped).namelist()]
    assert "leaderboard.tsv" in members and "optimization_history.png" in members
    assert f"{file_stem('trainer.learning_rate')}.png" in members


def test_status_of_the_finished_study(cli_study):
    result = snaketune("status", "results/exp", cwd=cli_study.study.root)
    assert result.returncode == 0, result.stderr
    assert "no run is active" in result.stdout
    assert "4 trials: 4 done (4 ok, 0 failed, 0 skipped), 0 running, 0 pending." in result.stdout


def test_export_opens_in_optuna(cli_study, tmp_path):
    journal = tmp_path / "study.log"
    result = snaketune("export", "--optuna", str(journal), "results/exp", cwd=cli_study.study.root)
    assert result.returncode == 0, result.stderr
    storage = optuna.storages.JournalStorage(
        optuna.storages.journal.JournalFileBackend(str(journal))
    )
    study = optuna.load_study(study_name="exp", storage=storage)
    board = json.loads((cli_study.folder / "hyperopt_statistics.json").read_text())
    best = board["hyperopt_results"][0]
    assert len(study.trials) == 4 and study.direction == optuna.study.StudyDirection.MAXIMIZE
    assert study.best_value == best["metric_score"]
    assert study.best_params == best["parameters"]


def test_visualize_and_export_a_statistics_file_written_by_ludwig(tmp_path):
    out = tmp_path / "ludwig_report"
    args = ("--hyperopt_stats_path", str(LUDWIG_STATISTICS), "--output_directory", str(out))
    result = snaketune("visualize", "--visualization", "hyperopt_report", *args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    statistics = json.loads(LUDWIG_STATISTICS.read_text())
    for name in statistics["hyperopt_config"]["parameters"]:
        assert (out / f"{file_stem(name)}.png").stat().st_size > 1000
    assert (out / "hyperopt_pair_plot.png").exists() and (out / "report.html").exists()
    hiplot = tmp_path / "hiplot"
    args = ("--hyperopt_stats_path", str(LUDWIG_STATISTICS), "--output-directory", str(hiplot))
    result = snaketune("visualize", "--visualization", "hyperopt_hiplot", *args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert [p.name for p in hiplot.iterdir()] == ["hyperopt_hiplot.html"]
    # The round trip through Optuna keeps every trial's score and values.
    journal = tmp_path / "ludwig.log"
    result = snaketune("export", "--optuna", str(journal), str(LUDWIG_STATISTICS), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    storage = optuna.storages.JournalStorage(
        optuna.storages.journal.JournalFileBackend(str(journal))
    )
    study = optuna.load_study(study_name="data", storage=storage)
    scores = sorted(t.value for t in study.trials)
    assert scores == sorted(r["metric_score"] for r in statistics["hyperopt_results"])


def test_visualize_names_a_bad_statistics_file(tmp_path):
    bad = tmp_path / "hyperopt_statistics.json"
    bad.write_text('{"hyperopt_results": []}')
    result = snaketune("visualize", "--visualization", "hyperopt_report",
                       "--hyperopt_stats_path", str(bad), cwd=tmp_path)  # fmt: skip
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "hyperopt_config" in result.stderr and str(bad) in result.stderr


def test_the_study_report_renders_in_a_browser(cli_study):
    page = cli_study.folder / "report" / "report.html"
    health = page_health(page)  # skips with the reason when chromium is not installed
    assert health.get("data-report-ready") == "1", health
    assert health.get("data-errors", "0") == "0", health
    assert health["data-images-ok"] == health["data-images-total"] != "0"
    assert health["data-parcoords-lines"] == "4"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "study_report.png"
    shot.unlink(missing_ok=True)
    run_chromium(page, f"--screenshot={shot}", "--window-size=1280,4000")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
