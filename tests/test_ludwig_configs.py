"""The Ludwig config corpus: hyperopt configs written the way Ludwig's own examples, tests
and docs write them, each with the outcome it must have in snaketune.

Every folder under tests/ludwig_configs/ holds a `model.yaml` and an `expected.yaml`
(the keys are described in tests/ludwig_configs/README.md). There are no data files:
the dataset is synthesized from the config's features (one column per feature, a
learnable signal from the output label, 120 seeded rows). Each case is loaded the way
the Snakefile loads a study at parse time (`load_study`, no snakemake); the few
`train: true` cases also prepare and train trial 0 with the package functions the
prepare/train/score rules call, and check what they wrote.
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import corpus_params, prepare_study_data
from snaketune import errors, io
from snaketune.study import load_study
from snaketune.trial import run_trial, score_trial_dir

CORPUS = Path(__file__).resolve().parent / "ludwig_configs"
CASES = sorted(path.name for path in CORPUS.iterdir() if path.is_dir())
ROWS = 120
MAX_TRAINING_CASES = 4
ERRORS = {
    "ConfigError": errors.ConfigError,
    "DataError": errors.DataError,
    "NotSupportedError": errors.NotSupportedError,
}
COMMON_KEYS = {"about", "engine", "outcome", "xfail"}
OUTCOME_KEYS = {
    "error": {"error", "message"},
    "runs": {"num_trials", "notices_contain", "notices_exclude", "checks", "train"},
}
CHECK_KEYS = {"trial", "path", "equals", "values", "within", "between", "absent", "from_parameter",
              "parameter_path"}  # fmt: skip
ASSERTIONS = ("equals", "values", "within", "between", "absent", "from_parameter")
MISSING = object()


def expected_of(name: str) -> dict:
    return yaml.safe_load((CORPUS / name / "expected.yaml").read_text(encoding="utf-8"))


def case_params(predicate=lambda expected: True) -> list:
    return corpus_params(CORPUS, predicate)


# --------------------------------------------------------------------------- the dataset

CLASSES = ("alpha", "beta", "gamma")
CLASS_WORDS = (("sunny", "bright", "warm"), ("rainy", "grey", "damp"), ("snowy", "icy", "cold"))
FILLER = ("the", "a", "day", "was", "very", "quite")


def _column_values(
    feature: dict, latent: np.ndarray, rng: np.random.Generator
) -> list | np.ndarray:
    """One feature's column: driven by the latent class (0, 1, 2) plus noise."""
    rows = len(latent)
    kind = feature.get("type")
    if kind in ("number", "numerical"):
        return np.round(latent * 1.5 + rng.normal(0.0, 0.6, rows), 4)
    if kind == "binary":
        truth = np.where(rng.random(rows) < 0.85, latent == 0, latent != 0)
        return np.where(truth, "yes", "no")
    if kind == "category":
        tied = np.array([f"c{k}" for k in latent], dtype=object)
        noise = rng.choice(["c0", "c1", "c2", "c3"], size=rows)
        return np.where(rng.random(rows) < 0.7, tied, noise)
    if kind == "text":
        texts = []
        for k in latent:
            words = list(rng.choice(CLASS_WORDS[k], size=2)) + list(rng.choice(FILLER, size=3))
            rng.shuffle(words)
            texts.append(" ".join(words))
        return texts
    # types snaketune does not read (image, audio, ...): a plausible file name
    return [f"files/{feature.get('name', 'x')}_{i}.bin" for i in range(rows)]


def _target_values(feature: dict, latent: np.ndarray, rng: np.random.Generator) -> Any:
    rows = len(latent)
    kind = feature.get("type")
    if kind == "category":
        return np.array([CLASSES[k] for k in latent], dtype=object)
    if kind == "binary":
        return np.where(latent == 0, "yes", "no")
    if kind in ("number", "numerical"):
        return np.round(10.0 * latent + rng.normal(0.0, 1.0, rows), 4)
    return _column_values(feature, latent, rng)


def _features(raw: dict, section: str) -> list[dict]:
    features = raw.get(section) if isinstance(raw, dict) else None
    return [f for f in features or [] if isinstance(f, dict) and isinstance(f.get("name"), str)]


def synthesize(raw: dict, rows: int = ROWS, seed: int = 0) -> pd.DataFrame:
    """A frame with one column per feature's `column` (or `name`); the first output
    feature's label drives the inputs, so every model has something to learn."""
    rng = np.random.default_rng(seed)
    latent = rng.integers(0, 3, size=rows)
    columns: dict[str, Any] = {}
    outputs = _features(raw, "output_features")
    for position, feature in enumerate(outputs):
        column = feature.get("column", feature["name"])
        if column not in columns:
            # only the first output is the target; further ones (refused cases) are loose
            drive = latent if position == 0 else rng.integers(0, 3, size=rows)
            columns[column] = _target_values(feature, drive, rng)
    for feature in _features(raw, "input_features"):
        column = feature.get("column", feature["name"])
        if column not in columns:
            columns[column] = _column_values(feature, latent, rng)
    return pd.DataFrame(columns)


def case_seed(name: str) -> int:
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "big")


def make_study_folder(name: str, tmp_path: Path) -> Path:
    folder = tmp_path / name
    folder.mkdir(parents=True)
    shutil.copy(CORPUS / name / "model.yaml", folder / "model.yaml")
    raw = yaml.safe_load((folder / "model.yaml").read_text(encoding="utf-8"))
    synthesize(raw, seed=case_seed(name)).to_csv(folder / "data.csv", index=False)
    return folder


def overrides(expected: dict) -> dict:
    return {
        "dataset": "data.csv",
        "model_config": "model.yaml",
        "output_directory": "results",
        "engine": expected.get("engine", "torch"),
    }


def load(name: str, tmp_path: Path):
    folder = make_study_folder(name, tmp_path)
    expected = expected_of(name)
    return folder, expected, load_study({}, folder, overrides(expected), folder)


# --------------------------------------------------------------------------- checks


def lookup(config: Any, path: str) -> Any:
    """The value at a dotted path; `input_features.<name>` / `output_features.<name>`
    select a feature by its name. MISSING when the path does not exist."""
    node = config
    for segment in path.split("."):
        if isinstance(node, list):
            matches = [f for f in node if isinstance(f, dict) and f.get("name") == segment]
            if len(matches) != 1:
                return MISSING
            node = matches[0]
        elif isinstance(node, dict) and segment in node:
            node = node[segment]
        else:
            return MISSING
    return node


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return a == b


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def _selected(trials: list, check: dict) -> list:
    which = check.get("trial", "all")
    if which == "all":
        return trials
    assert isinstance(which, int) and 0 <= which < len(trials), f"no trial {which!r}"
    return [trials[which]]


def run_check(trials: list, check: dict) -> None:
    path = check["path"]
    selected = _selected(trials, check)
    if "values" in check:
        seen = {_canonical(lookup(t.config, path)) for t in selected}
        want = {_canonical(v) for v in check["values"]}
        assert seen == want, (
            f"{path}: values seen across trials {sorted(seen)}, want {sorted(want)}"
        )
        return
    for trial in selected:
        value = lookup(trial.config, path)
        where = f"{trial.trial_id} {path}"
        if check.get("absent"):
            assert value is MISSING, f"{where}: expected absent, found {value!r}"
            continue
        assert value is not MISSING, f"{where}: not in the resolved config"
        if "equals" in check:
            assert _same(value, check["equals"]), f"{where}: {value!r}, want {check['equals']!r}"
        if "within" in check:
            assert any(_same(value, v) for v in check["within"]), (
                f"{where}: {value!r} not in {check['within']!r}"
            )
        if "between" in check:
            low, high = check["between"]
            assert isinstance(value, int | float) and low <= value <= high, (
                f"{where}: {value!r} not a number in [{low}, {high}]"
            )
        if "from_parameter" in check:
            name = check["from_parameter"]
            assert name in trial.parameters, f"{where}: no sampled parameter {name!r}"
            sampled = trial.parameters[name]
            if "parameter_path" in check:
                sampled = lookup(sampled, check["parameter_path"])
                assert sampled is not MISSING, f"{where}: {name} has no {check['parameter_path']}"
            assert _same(value, sampled), f"{where}: {value!r}, sampled {name} = {sampled!r}"


def check_error(exc: BaseException, expected: dict, folder: Path) -> None:
    message = str(exc)
    assert type(exc) is ERRORS[expected["error"]], f"{type(exc).__name__}: {message}"
    assert message == expected["message"].replace("{case}", str(folder))
    assert "\n" not in message and message == message.strip()


# --------------------------------------------------------------------------- tests


def test_the_corpus_is_well_formed():
    assert len(CASES) >= 18
    training = []
    for name in CASES:
        assert (CORPUS / name / "model.yaml").is_file(), name
        expected = expected_of(name)
        outcome = expected.get("outcome")
        assert outcome in OUTCOME_KEYS, name
        assert set(expected) <= COMMON_KEYS | OUTCOME_KEYS[outcome], (name, set(expected))
        assert isinstance(expected.get("about"), str) and expected["about"], name
        assert expected.get("engine", "torch") in ("torch", "sklearn"), name
        if outcome == "error":
            assert expected["error"] in ERRORS, name
            assert isinstance(expected["message"], str) and expected["message"], name
            continue
        assert isinstance(expected["num_trials"], int) and expected["num_trials"] >= 1, name
        for key in ("notices_contain", "notices_exclude"):
            assert all(isinstance(s, str) and s for s in expected.get(key, [])), name
        for check in expected.get("checks", []):
            assert set(check) <= CHECK_KEYS and "path" in check, (name, check)
            assert sum(key in check for key in ASSERTIONS) == 1, (name, check)
            assert ("parameter_path" in check) <= ("from_parameter" in check), (name, check)
        if expected.get("train"):
            training.append(name)
    assert len(training) <= MAX_TRAINING_CASES, training


def test_the_checks_catch_wrong_expectations():
    class FakeTrial:
        def __init__(self, index, config, parameters):
            self.trial_id, self.config, self.parameters = f"trial_{index}", config, parameters

    def trial(index, size):
        config = {
            "input_features": [{"name": "t", "type": "text", "encoder": {"num_filters": size}}],
            "trainer": {"learning_rate": 0.1},
        }
        return FakeTrial(index, config, {"t.encoder.num_filters": size, ".": {"a": {"b": size}}})

    trials = [trial(0, 4), trial(1, 8)]
    good = [
        {"path": "input_features.t.encoder.num_filters", "from_parameter": "t.encoder.num_filters"},
        {"path": "input_features.t.encoder.num_filters", "from_parameter": ".",
         "parameter_path": "a.b"},
        {"path": "input_features.t.encoder.num_filters", "values": [4, 8]},
        {"path": "input_features.t.encoder.num_filters", "within": [4, 8, 16]},
        {"trial": 1, "path": "input_features.t.encoder.num_filters", "equals": 8},
        {"path": "input_features.t.encoder.type", "absent": True},
        {"path": "trainer.learning_rate", "equals": 0.1 + 1e-12},
    ]  # fmt: skip
    bad = [
        {"path": "trainer.learning_rate", "from_parameter": "t.encoder.num_filters"},
        {"path": "input_features.t.encoder.num_filters", "values": [4]},
        {"path": "input_features.t.encoder.num_filters", "within": [4]},
        {"trial": 0, "path": "input_features.t.encoder.num_filters", "equals": 8},
        {"path": "input_features.t.encoder.num_filters", "absent": True},
        {"path": "input_features.other.encoder", "equals": {}},
        {"path": "trainer.epochs", "within": [1]},
    ]
    for check in good:
        run_check(trials, check)
    for check in bad:
        with pytest.raises(AssertionError):
            run_check(trials, check)


@pytest.mark.parametrize("name", case_params(lambda e: e["outcome"] == "error"))
def test_refused(name, tmp_path):
    folder = make_study_folder(name, tmp_path)
    expected = expected_of(name)
    with pytest.raises(Exception) as info:  # the exact type is checked below
        load_study({}, folder, overrides(expected), folder)
    check_error(info.value, expected, folder)
    assert not (folder / "results").exists()


@pytest.mark.parametrize("name", case_params(lambda e: e["outcome"] == "runs"))
def test_runs(name, tmp_path):
    _, expected, study = load(name, tmp_path)
    assert len(study.trials) == expected["num_trials"]
    for substring in expected.get("notices_contain", []):
        assert any(substring in notice for notice in study.notices), (substring, study.notices)
    for substring in expected.get("notices_exclude", []):
        assert not any(substring in notice for notice in study.notices), (substring, study.notices)
    for check in expected.get("checks", []):
        run_check([t for t in study.trials if not t.suggested], check)


def train_first_trial(study, tmp_path: Path) -> tuple[dict, dict]:
    """Prepare, train and score trial 0 as the prepare/train/score rules would."""
    settings, hyperopt = study.settings, study.hyperopt
    trial = study.trials[0]
    prepared = prepare_study_data(study, trial.prep_id, tmp_path / "prepared" / trial.prep_id)
    trial_dir = tmp_path / "trials" / trial.trial_id
    sampled = trial_dir / "sampled" / trial.digest
    io.write_json(sampled / "parameters.json", trial.record)
    io.write_yaml(sampled / "config.yaml", trial.config)
    summary = run_trial(
        config_path=str(sampled / "config.yaml"),
        parameters_path=str(sampled / "parameters.json"),
        prepared_dir=str(prepared),
        summary_path=str(trial_dir / "train_summary.json"),
        engine_name=settings.engine,
        threads=1,
        output_feature=hyperopt["output_feature"],
        metric=hyperopt["metric"],
    )
    score = score_trial_dir(
        summary_path=str(trial_dir / "train_summary.json"),
        parameters_path=str(trial_dir / "parameters.json"),
        score_path=str(trial_dir / "score.json"),
        output_feature=hyperopt["output_feature"],
        metric=hyperopt["metric"],
        split=hyperopt["split"],
    )
    return summary, score


@pytest.mark.parametrize("name", case_params(lambda e: e.get("train")))
def test_trains_first_trial(name, tmp_path):
    _, _, study = load(name, tmp_path / "study")
    summary, score = train_first_trial(study, tmp_path / "run")
    trial_dir = tmp_path / "run" / "trials" / study.trials[0].trial_id
    written = json.loads((trial_dir / "train_summary.json").read_text())
    assert summary["status"] == written["status"] == "ok", summary["error"]
    assert (trial_dir / "training_statistics.json").is_file()
    stored = json.loads((trial_dir / "score.json").read_text())
    assert stored["status"] == "ok", stored
    assert isinstance(score["metric_score"], float) and math.isfinite(score["metric_score"])
    assert math.isclose(stored["metric_score"], score["metric_score"])
    assert stored["metric"] == study.hyperopt["metric"]
