import json
import math

import pandas as pd
import pytest

from snaketune.errors import ConfigError
from snaketune.io import read_json, write_json, write_text
from snaketune.leaderboard import build_leaderboard, format_summary, read_leaderboard

HYPEROPT = {
    "goal": "minimize",
    "metric": "loss",
    "output_feature": "label",
    "split": "validation",
    "parameters": {
        "trainer.learning_rate": {"space": "loguniform", "lower": 1e-4, "upper": 1e-1},
        "label.decoder.fc_layers": {"space": "choice", "categories": [[{"output_size": 8}], []]},
    },
}


def ok(tid, score, lr, epoch=1):
    return {
        "trial_id": tid,
        "status": "ok",
        "metric_score": score,
        "best_epoch": epoch,
        "split": "validation",
        "metric": "loss",
        "output_feature": "label",
        "eval_stats": {"label": {"loss": score, "roc_auc": None}, "combined": {"loss": score}},
        "duration_s": 2.0,
        "train_time_s": 1.5,
        "error": None,
        "parameters": {
            "trainer.learning_rate": lr,
            "label.decoder.fc_layers": [{"output_size": 8}],
        },
    }


def failed(tid, error="ValueError: boom\n  at line 3"):
    return {
        "trial_id": tid,
        "status": "failed",
        "metric_score": None,
        "best_epoch": None,
        "eval_stats": {},
        "duration_s": 0.5,
        "error": error,
        "parameters": {"trainer.learning_rate": 0.5, "label.decoder.fc_layers": []},
    }


def make_trials(root, scores):
    dirs, train_stats = {}, {}
    for score in scores:
        tid = score["trial_id"]
        trial = root / "trials" / tid
        dirs[tid] = str(trial)
        write_text(trial / "model.joblib", f"model of {tid}")
        write_text(trial / "config.yaml", f"name: {tid}\n")
        write_json(trial / "parameters.json", score["parameters"])
        write_json(trial / "score.json", score)
        train_stats[tid] = (
            {"training": {"label": {"loss": [1.0, math.nan]}}} if score["status"] == "ok" else None
        )
    return dirs, train_stats


@pytest.fixture
def scores():
    return [
        ok("trial_0000", 0.5, 0.01),
        failed("trial_0010"),
        ok("trial_0002", 0.2, 0.001, epoch=3),
        failed("trial_0001", error="MemoryError"),
        ok("trial_0003", 0.9, 0.05),
        ok("trial_0004", 0.2, 0.002),
    ]


def build(tmp_path, scores, goal="minimize"):
    dirs, train_stats = make_trials(tmp_path, scores)
    out = tmp_path / "study"
    rows = build_leaderboard(
        scores,
        goal=goal,
        hyperopt_config=HYPEROPT,
        trial_dirs=dirs,
        training_stats=train_stats,
        out_dir=out,
    )
    return rows, out


@pytest.mark.parametrize(
    ("goal", "order"),
    [
        ("minimize", ["trial_0002", "trial_0004", "trial_0000", "trial_0003"]),
        ("maximize", ["trial_0003", "trial_0000", "trial_0002", "trial_0004"]),
    ],
)
def test_order_and_failed_last(tmp_path, scores, goal, order):
    rows, _ = build(tmp_path, scores, goal)
    assert [r["trial_id"] for r in rows] == [*order, "trial_0001", "trial_0010"]
    assert [r["rank"] for r in rows] == [1, 2, 3, 4, None, None]
    assert [r["status"] for r in rows][-2:] == ["failed", "failed"]
    assert rows[-2]["error"] == "MemoryError"


def test_tsv_reads_back(tmp_path, scores):
    _, out = build(tmp_path, scores)
    table = pd.read_csv(out / "leaderboard.tsv", sep="\t")
    assert len(table) == len(scores)
    assert list(table.columns) == [
        "rank",
        "trial_id",
        "status",
        "metric_score",
        "best_epoch",
        "duration_s",
        "trainer.learning_rate",
        "label.decoder.fc_layers",
        "error",
    ]
    assert table["metric_score"].iloc[0] == 0.2
    assert table["trainer.learning_rate"].iloc[0] == 0.001
    assert json.loads(table["label.decoder.fc_layers"].iloc[0]) == [{"output_size": 8}]
    assert table["error"].iloc[-1] == "ValueError: boom at line 3"
    assert table["error"].iloc[:4].isna().all()
    assert len((out / "leaderboard.tsv").read_text().splitlines()) == 1 + len(scores)


def test_markdown(tmp_path, scores):
    _, out = build(tmp_path, scores)
    lines = (out / "leaderboard.md").read_text().splitlines()
    table = [line for line in lines if line.startswith("|")]
    assert len(table) == 2 + len(scores)
    assert "| 1 | trial_0002 | ok | 0.2 | 3 |" in table[2]
    assert "MemoryError" in table[-2]


def test_hyperopt_statistics(tmp_path, scores):
    _, out = build(tmp_path, scores)
    text = (out / "hyperopt_statistics.json").read_text()
    stats = json.loads(text, parse_constant=lambda c: pytest.fail(f"non-standard {c}"))
    assert text.startswith('{\n    "failed_trials"')  # sorted keys, indent 4
    assert set(stats) == {"hyperopt_config", "hyperopt_results", "failed_trials"}
    assert stats["hyperopt_config"] == HYPEROPT
    results = stats["hyperopt_results"]
    assert [r["trial_id"] for r in results] == [
        "trial_0002",
        "trial_0004",
        "trial_0000",
        "trial_0003",
    ]
    for result in results:
        assert set(result) == {
            "parameters",
            "metric_score",
            "training_stats",
            "eval_stats",
            "trial_id",
            "trial_dir",
            "status",
        }
        assert isinstance(result["metric_score"], float)
        assert result["status"] == "ok"
        assert set(result["parameters"]) == set(HYPEROPT["parameters"])
    assert results[0]["training_stats"] == {"training": {"label": {"loss": [1.0, None]}}}
    assert results[0]["trial_dir"].endswith("trials/trial_0002")
    assert [f["trial_id"] for f in stats["failed_trials"]] == ["trial_0001", "trial_0010"]
    assert set(stats["failed_trials"][0]) == {
        "trial_id",
        "trial_dir",
        "parameters",
        "status",
        "error",
    }


def test_best_dir(tmp_path, scores):
    _, out = build(tmp_path, scores)
    best = out / "best"
    assert sorted(p.name for p in best.iterdir()) == [
        "README.md",
        "config.yaml",
        "model.joblib",
        "parameters.json",
        "score.json",
    ]
    assert (best / "model.joblib").read_text() == "model of trial_0002"
    assert read_json(best / "score.json")["trial_id"] == "trial_0002"
    readme = (best / "README.md").read_text()
    assert 'joblib.load("best/model.joblib")' in readme
    assert ".predict(" in readme
    assert not [p for p in out.iterdir() if p.name.startswith(".best")]  # temp dirs gone


def test_best_dir_replaced_and_no_winner(tmp_path):
    rows, out = build(tmp_path, [ok("trial_0000", 0.3, 0.01)])
    write_text(out / "best" / "stale.txt", "old")
    rows, out = build(tmp_path, [failed("trial_0000"), failed("trial_0001", "Timeout")])
    best = out / "best"
    assert [p.name for p in best.iterdir()] == ["README.md"]
    readme = (best / "README.md").read_text()
    assert "No trial succeeded" in readme
    assert "Timeout" in readme
    stats = read_json(out / "hyperopt_statistics.json")
    assert stats["hyperopt_results"] == []
    assert len(stats["failed_trials"]) == 2
    assert "No trial succeeded" in format_summary(rows, best_dir=str(best))


def test_ok_status_with_nan_score_is_failed(tmp_path):
    bad = ok("trial_0001", math.nan, 0.1)
    rows, out = build(tmp_path, [bad, ok("trial_0000", 0.4, 0.1)])
    assert [r["trial_id"] for r in rows] == ["trial_0000", "trial_0001"]
    assert rows[1]["status"] == "failed"
    stats = read_json(out / "hyperopt_statistics.json")
    assert [r["trial_id"] for r in stats["hyperopt_results"]] == ["trial_0000"]


def test_bad_goal(tmp_path, scores):
    with pytest.raises(ConfigError, match="hyperopt.goal"):
        build(tmp_path, scores, goal="minimise")


def test_format_summary(tmp_path, scores):
    rows, out = build(tmp_path, scores)
    text = format_summary(rows, top=2, best_dir=str(out / "best"))
    lines = text.splitlines()
    assert lines[0] == "Top 2 of 4 successful trials (best first):"
    assert "trial_0002" in lines[1] and "score 0.2" in lines[1]
    assert "trial_0004" in lines[2]
    assert "6 trials: 4 ok, 2 failed." in text
    assert "trial_0001: MemoryError" in text
    assert text.endswith(f"Best model (trial_0002): {out / 'best'}")


def test_read_leaderboard_round_trip(tmp_path, scores):
    rows, out = build(tmp_path, scores)
    assert rows[0]["label.decoder.fc_layers"] == [{"output_size": 8}]
    assert read_leaderboard(out / "leaderboard.tsv") == [
        {**row, "error": " ".join(row["error"].split())} if row["error"] else row for row in rows
    ]
    text = format_summary(read_leaderboard(out / "leaderboard.tsv"), study_dir=out)
    assert text.endswith(f"Best model (trial_0002): {out / 'best'}")


def test_leaderboard_md_title_counts_skipped_trials_apart_from_failed(tmp_path):
    # Regression (issue 7.6): the title said "2 failed" where the summary said 2 skipped.
    skipped = [
        {**failed(tid, "not started: the time budget is spent"), "status": "skipped"}
        for tid in ("trial_0001", "trial_0002")
    ]
    rows, out = build(tmp_path, [ok("trial_0000", 0.3, 0.01), *skipped])
    title = (out / "leaderboard.md").read_text().splitlines()[0]
    assert title.endswith("(1 ok, 0 failed, 2 skipped)")
    assert "3 trials: 1 ok, 0 failed, 2 skipped." in format_summary(rows)
    rows, out = build(tmp_path, [failed("trial_0000"), *skipped])
    readme = (out / "best" / "README.md").read_text()
    assert "No trial succeeded (0 ok, 1 failed, 2 skipped)" in readme


def test_best_without_its_model_says_what_is_missing(tmp_path, scores):
    # Regression (hardening 18): a best/ rebuilt after model.joblib was deleted printed
    # "Best model (trial_x): …" as if it were complete.
    dirs, train_stats = make_trials(tmp_path, scores)
    (tmp_path / "trials" / "trial_0002" / "model.joblib").unlink()
    out = tmp_path / "study"
    rows = build_leaderboard(
        scores,
        goal="minimize",
        hyperopt_config=HYPEROPT,
        trial_dirs=dirs,
        training_stats=train_stats,
        out_dir=out,
    )
    best = out / "best"
    assert not (best / "model.joblib").exists()
    readme = (best / "README.md").read_text()
    assert readme.splitlines()[2].startswith("**No model here**")
    assert "--forcerun " + str(tmp_path / "trials" / "trial_0002" / "train_summary.json") in readme
    assert "- `model.joblib`" not in readme and "joblib.load" not in readme
    assert "Missing from the trial folder, not copied: model.joblib." in readme
    text = format_summary(rows, study_dir=out)
    assert "Best model" not in text
    assert text.endswith(
        f"Best trial (trial_0002): {best} has no model (model.joblib is missing from the "
        f"trial's folder); {best}/README.md says how to train it again."
    )
