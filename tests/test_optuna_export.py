"""The Optuna export: distributions over real values, trials, journal files, importances."""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import matplotlib
import numpy as np
import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend
from optuna.trial import TrialState

from snaketune import spaces
from snaketune.errors import ConfigError
from snaketune.report.optuna_export import (
    frozen_trials,
    json_text,
    optuna_distributions,
    parameter_importances,
    to_optuna_study,
    write_journal,
)
from snaketune.report.table import StudyTable, load_statistics, table_from_statistics

matplotlib.use("Agg")

LUDWIG_FILE = Path(__file__).parent / "data" / "ludwig_hyperopt_statistics.json"

ALL_SPACES = {
    "uniform": {"space": "uniform", "lower": -1.0, "upper": 1.0},
    "quniform": {"space": "quniform", "lower": 0.0, "upper": 1.0, "q": 0.1},
    "loguniform": {"space": "loguniform", "lower": 1e-4, "upper": 0.1},
    "qloguniform": {"space": "qloguniform", "lower": 0.01, "upper": 1.0, "q": 0.01},
    "randn": {"space": "randn", "mean": 0.0, "sd": 2.0},
    "qrandn": {"space": "qrandn", "mean": 1.0, "sd": 3.0, "q": 0.5},
    "randint": {"space": "randint", "lower": 1, "upper": 5},
    "qrandint": {"space": "qrandint", "lower": 16, "upper": 128, "q": 16},
    "lograndint": {"space": "lograndint", "lower": 8, "upper": 512},
    "qlograndint": {"space": "qlograndint", "lower": 8, "upper": 512, "q": 8},
    "choice": {"space": "choice", "categories": [16, 32, [1, 2], {"a": 1}, None]},
    "grid_search": {"space": "grid_search", "values": ["relu", "tanh"]},
}


def result(number: int, params: dict, score: float | None = 0.5, **extra) -> dict:
    return {"trial_id": f"trial_{number:04d}", "parameters": params, "metric_score": score, **extra}


def make_table(
    parameters: dict, results: list, failed: list = (), goal: str = "minimize", **config
) -> StudyTable:
    statistics = {
        "hyperopt_config": {"goal": goal, "parameters": parameters, **config},
        "hyperopt_results": list(results),
        "failed_trials": list(failed),
    }
    return table_from_statistics(statistics, Path("x.json"))


def sampled_table(count: int, seed: int = 0) -> tuple[StudyTable, list[dict]]:
    """`count` finished trials with values drawn from every space."""
    rng = np.random.default_rng(seed)
    draws = [
        {
            name: spaces.sample(spaces.validate_space(name, spec), rng)
            for name, spec in ALL_SPACES.items()
        }
        for _ in range(count)
    ]
    return make_table(ALL_SPACES, [result(i, d, float(i)) for i, d in enumerate(draws)]), draws


def shown(value):
    """How the export shows a value of `ALL_SPACES['choice']`."""
    return json_text(value) if isinstance(value, list | dict) else value


def journal(path: Path) -> JournalStorage:
    return JournalStorage(JournalFileBackend(str(path)))


def test_distributions_are_over_the_real_values() -> None:
    table, draws = sampled_table(40)
    dists = optuna_distributions(table)
    assert list(dists) == list(ALL_SPACES)
    assert dists["uniform"] == FloatDistribution(-1.0, 1.0)
    assert dists["quniform"] == FloatDistribution(0.0, 1.0, step=0.1)
    assert dists["loguniform"] == FloatDistribution(1e-4, 0.1, log=True)
    assert dists["qloguniform"] == FloatDistribution(0.01, 1.0, log=True)
    for name in ("randn", "qrandn"):  # no bounds: the range of the values seen
        seen = [d[name] for d in draws]
        assert (dists[name].low, dists[name].high) == (min(seen), max(seen))
    assert dists["qrandn"].step == 0.5
    assert dists["randint"] == IntDistribution(1, 4)  # upper exclusive
    assert dists["qrandint"] == IntDistribution(16, 128, step=16)  # multiples of q, both ends
    assert dists["lograndint"] == IntDistribution(8, 511, log=True)
    assert dists["qlograndint"] == IntDistribution(8, 512, log=True)
    assert dists["choice"] == CategoricalDistribution([16, 32, "[1,2]", '{"a":1}', None])
    assert dists["grid_search"] == CategoricalDistribution(["relu", "tanh"])


def test_trials_carry_the_values_the_trials_got() -> None:
    table, draws = sampled_table(60, seed=3)
    trials = frozen_trials(table)
    assert len(trials) == 60
    for trial, draw in zip(trials, draws, strict=True):
        assert trial.params == {
            name: shown(value) if name == "choice" else value for name, value in draw.items()
        }


def test_categories_optuna_would_confuse_are_all_shown_as_json() -> None:
    spec = {"flag": {"space": "choice", "categories": [1, True, 1.0, "x"]}}
    table = make_table(spec, [result(0, {"flag": True}), result(1, {"flag": 1.0})])
    assert optuna_distributions(table)["flag"].choices == ("1", "true", "1.0", '"x"')
    assert [t.params["flag"] for t in frozen_trials(table)] == ["true", "1.0"]
    # A string that reads like a list category is shown as JSON too.
    spec = {"layers": {"space": "choice", "categories": [[1, 2], "[1,2]"]}}
    table = make_table(spec, [result(0, {"layers": "[1,2]"})])
    assert optuna_distributions(table)["layers"].choices == ("[1,2]", '"[1,2]"')
    assert frozen_trials(table)[0].params["layers"] == '"[1,2]"'


def test_values_outside_their_space_widen_it_or_become_categories() -> None:
    parameters = {
        "lr": {"space": "loguniform", "lower": 1e-4, "upper": 0.1},
        "batch": {"space": "qrandint", "lower": 16, "upper": 128, "q": 16},
        "width": {"space": "lograndint", "lower": 8, "upper": 64},
        "size": {"space": "choice", "categories": [16, 32]},
        "depth": {"space": "randint", "lower": 1, "upper": 4},
        "dropout": {"space": "uniform", "lower": 0.0, "upper": 0.5},
        "nothing": {"lower": 0, "upper": 3},  # no space
        "odd": {"space": "mystery", "lower": 1},
        "unused": {"space": "choice", "categories": []},
    }
    rows = [
        {"lr": 0.5, "batch": 40, "width": 0, "size": 48, "depth": 2.5, "dropout": "high"},
        {"lr": 0.01, "batch": 32, "width": 16, "size": 16, "depth": 2, "dropout": None},
        {"nothing": 7, "odd": 0.25, "extra": [1, {"b": 2}]},
        {"nothing": 2, "odd": float("nan"), "extra": 3},
    ]
    table = make_table(parameters, [result(i, row) for i, row in enumerate(rows)])
    dists = optuna_distributions(table)
    assert dists["lr"] == FloatDistribution(1e-4, 0.5, log=True)
    assert dists["batch"] == IntDistribution(16, 128)  # 40 is off the grid of 16
    assert dists["width"] == IntDistribution(0, 63)  # 0 leaves the log scale
    assert dists["size"].choices == (16, 32, 48)
    assert dists["depth"] == FloatDistribution(1, 3)  # 2.5 is not an integer
    assert dists["dropout"].choices == ("high", None)
    assert dists["nothing"] == IntDistribution(2, 7)
    assert dists["odd"].choices == (0.25, "NaN")
    assert dists["extra"].choices == ('[1,{"b":2}]', 3)
    assert "unused" not in dists
    trials = frozen_trials(table)
    assert trials[0].params == rows[0]
    assert trials[2].params == {"nothing": 7, "odd": 0.25, "extra": '[1,{"b":2}]'}
    assert trials[3].params == {"nothing": 2, "odd": "NaN", "extra": 3}


def test_states_order_and_attributes(tmp_path: Path) -> None:
    parameters = {"x": {"space": "uniform", "lower": 0.0, "upper": 1.0}}
    statistics = {
        "hyperopt_config": {"goal": "maximize", "metric": "accuracy", "output_feature": "y"},
        "hyperopt_results": [
            result(2, {"x": 0.2}, 0.9, trial_dir="nowhere"),
            result(0, {"x": 0.1}, 0.7),
        ],
        "failed_trials": [
            {"trial_id": "trial_0001", "status": "failed", "error": "out of memory"},
            {"trial_id": "trial_0003", "status": "skipped", "parameters": {"x": 0.3}},
            {"trial_id": "trial_0004", "status": "timeout", "parameters": {"x": 0.4}},
        ],
    }
    statistics["hyperopt_config"]["parameters"] = parameters
    (tmp_path / "trials" / "trial_0002").mkdir(parents=True)
    (tmp_path / "trials" / "trial_0002" / "parameters.json").write_text('{"round": 3}')
    path = tmp_path / "hyperopt_statistics.json"
    path.write_text(json.dumps(statistics))
    study = to_optuna_study(load_statistics(path))
    assert study.direction == optuna.study.StudyDirection.MAXIMIZE
    assert study.user_attrs == {
        "metric": "accuracy",
        "output_feature": "y",
        "goal": "maximize",
        "source": "snaketune",
        "exporter": "snaketune",
        "skipped_trials": ["trial_0003"],
    }
    trials = study.trials
    assert [t.user_attrs["trial_id"] for t in trials] == [
        "trial_0000",
        "trial_0001",
        "trial_0002",
        "trial_0004",
    ]
    assert [t.state for t in trials] == [
        TrialState.COMPLETE,
        TrialState.FAIL,
        TrialState.COMPLETE,
        TrialState.FAIL,
    ]
    assert [t.value for t in trials] == [0.7, None, 0.9, None]
    assert trials[1].params == {} and trials[1].user_attrs["error"] == "out of memory"
    assert trials[2].user_attrs == {"trial_id": "trial_0002", "status": "ok", "round": 3}
    assert trials[3].user_attrs["status"] == "timeout" and trials[3].params == {"x": 0.4}


def test_journal_round_trip(tmp_path: Path) -> None:
    table, draws = sampled_table(12)
    failed = {"trial_id": "trial_0012", "status": "failed", "error": "boom"}
    table = make_table(
        ALL_SPACES,
        [result(i, d, float(i)) for i, d in enumerate(draws)],
        failed=[{**failed, "parameters": {"uniform": 0.5}}],
    )
    path = tmp_path / "study.log"
    assert write_journal(table, path, "round trip") == 13
    study = optuna.load_study(study_name="round trip", storage=journal(path))
    assert study.direction == optuna.study.StudyDirection.MINIMIZE
    assert study.user_attrs["exporter"] == "snaketune"
    assert study.user_attrs["metric"] == "loss"
    trials = study.trials
    assert len(trials) == 13
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 12 + [TrialState.FAIL]
    assert [t.value for t in trials[:12]] == [float(i) for i in range(12)]
    for trial, draw in zip(trials, draws, strict=False):
        assert trial.params == {n: shown(v) if n == "choice" else v for n, v in draw.items()}
        assert trial.distributions == optuna_distributions(table)
    assert trials[12].params == {"uniform": 0.5}
    assert trials[12].user_attrs == {"trial_id": "trial_0012", "status": "failed", "error": "boom"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["study.log"]  # no temp or lock left


def test_plots_work_on_the_loaded_study(tmp_path: Path) -> None:
    import matplotlib.pyplot as plt
    from optuna.visualization.matplotlib import plot_optimization_history, plot_param_importances

    table, _ = sampled_table(20)
    write_journal(table, tmp_path / "j.log", "plots")
    study = optuna.load_study(study_name="plots", storage=journal(tmp_path / "j.log"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        assert plot_optimization_history(study) is not None
        evaluator = optuna.importance.FanovaImportanceEvaluator(seed=0, n_trees=8)
        assert plot_param_importances(study, evaluator=evaluator) is not None
    plt.close("all")


def test_a_ludwig_statistics_file_exports_and_loads_back(tmp_path: Path) -> None:
    table = load_statistics(LUDWIG_FILE)
    assert table.source == "ludwig"
    raw = json.loads(LUDWIG_FILE.read_text())["hyperopt_results"]
    assert write_journal(table, tmp_path / "ludwig.log", "ludwig") == len(raw) == 6
    study = optuna.load_study(study_name="ludwig", storage=journal(tmp_path / "ludwig.log"))
    assert study.direction == optuna.study.StudyDirection.MAXIMIZE
    assert study.user_attrs["source"] == "ludwig"
    assert study.best_trial.number == 0  # Ludwig writes its results best first
    fc = study.trials[0].distributions["label.decoder.fc_layers"]
    assert fc.choices == (None, '[{"output_size":8}]', '[{"output_size":16},{"output_size":8}]')
    assert study.trials[0].distributions["trainer.batch_size"] == IntDistribution(16, 128, step=16)
    for trial, entry in zip(study.trials, raw, strict=True):
        assert trial.state == TrialState.COMPLETE
        assert trial.value == entry["metric_score"]
        expected = dict(entry["parameters"])
        layers = expected["label.decoder.fc_layers"]
        expected["label.decoder.fc_layers"] = None if layers is None else json_text(layers)
        assert trial.params == expected
        curve = entry["training_stats"]["validation"]["label"]["accuracy"]
        assert trial.intermediate_values == dict(enumerate(curve))


def test_a_ludwig_file_with_values_outside_its_space(tmp_path: Path) -> None:
    statistics = json.loads(LUDWIG_FILE.read_text())
    first, second = statistics["hyperopt_results"][:2]
    first["parameters"].update({"trainer.learning_rate": 0.5, "trainer.batch_size": 208})
    second["parameters"].update(
        {"combiner.output_size": 48, "label.decoder.fc_layers": [{"output_size": 4}]}
    )
    second["parameters"]["trainer.epochs"] = 12  # not in hyperopt_config.parameters
    statistics["hyperopt_results"][2]["metric_score"] = float("nan")  # how Ludwig shows a failure
    path = tmp_path / "hyperopt_statistics.json"
    path.write_text(json.dumps(statistics, sort_keys=True, indent=4))
    table = load_statistics(path)
    assert write_journal(table, tmp_path / "out.log", "wide") == 6
    study = optuna.load_study(study_name="wide", storage=journal(tmp_path / "out.log"))
    trials = study.trials
    assert trials[0].params["trainer.learning_rate"] == 0.5
    assert trials[0].params["trainer.batch_size"] == 208
    assert trials[0].distributions["trainer.batch_size"] == IntDistribution(16, 208, step=16)
    assert trials[1].params["combiner.output_size"] == 48
    assert trials[1].params["label.decoder.fc_layers"] == '[{"output_size":4}]'
    assert trials[1].params["trainer.epochs"] == 12
    assert trials[2].state == TrialState.FAIL
    assert trials[2].params == {
        "combiner.output_size": 128,
        "label.decoder.fc_layers": None,
        "trainer.batch_size": 48,
        "trainer.learning_rate": 0.0121,
    }


def importance_table(count: int = 60) -> StudyTable:
    """The score follows the learning rate; the dropout and the layers do not matter."""
    rng = np.random.default_rng(7)
    parameters = {
        "lr": {"space": "loguniform", "lower": 1e-4, "upper": 0.1},
        "dropout": {"space": "uniform", "lower": 0.0, "upper": 0.5},
        "layers": {"space": "choice", "categories": [None, [8], [{"size": 8}], 4]},
    }
    results = []
    for number in range(count):
        params = {name: spaces.sample(spec, rng) for name, spec in parameters.items()}
        score = (math.log10(params["lr"]) + 2.5) ** 2 + 0.01 * float(rng.random())
        results.append(result(number, params, score))
    return make_table(parameters, results)


def test_importances_rank_the_parameter_the_score_follows() -> None:
    table = importance_table()
    importances, note = parameter_importances(table)
    assert list(importances)[0] == "lr"
    assert importances["lr"] > 0.8
    assert set(importances) == {"lr", "dropout", "layers"}
    assert math.isclose(sum(importances.values()), 1.0)
    assert all(isinstance(v, float) for v in importances.values())
    assert "60 finished trials" in note
    assert parameter_importances(table) == (importances, note)  # seeded
    ped, _ = parameter_importances(table, "ped_anova")
    assert set(ped) == {"lr", "dropout", "layers"}


def test_importance_notes_say_why_there_are_none() -> None:
    space = {"x": {"space": "uniform", "lower": 0.0, "upper": 1.0}}
    none = make_table(space, [], failed=[{"trial_id": "trial_0000", "status": "failed"}])
    assert parameter_importances(none)[0] == {}
    assert "at least 2 finished trials" in parameter_importances(none)[1]
    one = make_table(space, [result(0, {"x": 0.1}, 1.0)])
    importances, note = parameter_importances(one)
    assert importances == {} and "this study has 1." in note
    constant = make_table(space, [result(i, {"x": 0.3}, float(i)) for i in range(5)])
    importances, note = parameter_importances(constant)
    assert importances == {} and "single value" in note
    bare = make_table({}, [result(i, {}, float(i)) for i in range(5)])
    importances, note = parameter_importances(bare)
    assert importances == {} and "No parameter" in note
    flat = make_table(space, [result(i, {"x": i / 10}, 2.0) for i in range(5)])
    importances, note = parameter_importances(flat)
    assert importances == {} and "same score" in note
    with pytest.raises(ConfigError):
        parameter_importances(flat, "shap")


def test_importances_are_quiet_and_restore_optuna_logging() -> None:
    optuna.logging.set_verbosity(optuna.logging.DEBUG)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            parameter_importances(importance_table(20))
        assert optuna.logging.get_verbosity() == optuna.logging.DEBUG
    finally:
        optuna.logging.set_verbosity(optuna.logging.INFO)


def test_a_journal_of_another_study_is_left_alone(tmp_path: Path) -> None:
    table, _ = sampled_table(3)
    path = tmp_path / "shared.log"
    optuna.create_study(study_name="theirs", storage=journal(path))
    before = path.read_bytes()
    with pytest.raises(ConfigError, match="remove it or choose another path") as error:
        write_journal(table, path, "mine")
    assert str(path) in str(error.value) and "'theirs'" in str(error.value)
    # Same name, but not written by this export: a study of the user's own.
    with pytest.raises(ConfigError):
        write_journal(table, path, "theirs")
    assert path.read_bytes() == before
    text = tmp_path / "notes.log"
    text.write_text("not a journal\n")
    with pytest.raises(ConfigError, match="not an Optuna journal file"):
        write_journal(table, text, "mine")
    assert text.read_text() == "not a journal\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.log", "shared.log"]


def test_an_earlier_export_is_replaced(tmp_path: Path) -> None:
    path = tmp_path / "study.log"
    path.write_text("")  # an empty file holds nothing to lose
    assert write_journal(sampled_table(2)[0], path, "s") == 2
    assert write_journal(sampled_table(5)[0], path, "s") == 5
    storage = journal(path)
    assert [s.study_name for s in storage.get_all_studies()] == ["s"]
    assert len(optuna.load_study(study_name="s", storage=storage).trials) == 5


def test_a_failed_write_keeps_the_earlier_file(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "study.log"
    write_journal(sampled_table(2)[0], path, "s")
    before = path.read_bytes()

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr("snaketune.report.optuna_export.frozen_trials", broken)
    with pytest.raises(RuntimeError):
        write_journal(sampled_table(5)[0], path, "s")
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["study.log"]


def test_hostile_names_survive_the_round_trip(tmp_path: Path) -> None:
    names = ["a{b}[c]", "x/y\\z", "名前.λ", 'quote"d', "new\nline", "", "%s{0}"]
    parameters = {
        name: {"space": "choice", "categories": [1, [name], {name: name}]} for name in names
    }
    values = [{name: {name: name} for name in names}, {name: 1 for name in names}]
    table = make_table(parameters, [result(i, v, float(i)) for i, v in enumerate(values)])
    study_name = "study/../{x} ü\n"
    write_journal(table, tmp_path / "hostile.log", study_name)
    study = optuna.load_study(study_name=study_name, storage=journal(tmp_path / "hostile.log"))
    assert study.trials[0].params == {name: json_text({name: name}) for name in names}
    assert study.trials[1].params == {name: 1 for name in names}
    assert json.loads(study.trials[0].params["名前.λ"]) == {"名前.λ": "名前.λ"}


@pytest.mark.skipif(
    not (Path(__file__).parents[1] / "results/titles/hyperopt_statistics.json").exists(),
    reason="the example study has not been run",
)
def test_the_example_study_exports(tmp_path: Path) -> None:
    table = load_statistics(Path(__file__).parents[1] / "results/titles/hyperopt_statistics.json")
    assert write_journal(table, tmp_path / "titles.log", "titles") == len(table.trials)
    study = optuna.load_study(study_name="titles", storage=journal(tmp_path / "titles.log"))
    assert study.best_value == max(t.score for t in table.finished)
