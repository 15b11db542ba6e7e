"""The bad input corpus: every folder under tests/bad_inputs/ is a config or dataset that
must be rejected with one exact, one-paragraph message.

Each case folder holds `model.yaml`, optionally a data file and a `study.yaml` (study
config values over the defaults below) and `expected.yaml`:

- `stage: parse`: `load_study` (what the Snakefile runs before any job) raises `error`
  with exactly `message`, and writes nothing;
- `stage: prepare`: the study loads, and the prepare step of its first trial raises
  `error` with exactly `message`, before any trial trains;
- `xfail: reason`: the message is what it should be, not yet what snaketune says.

`{case}` in a message stands for the case's folder. A case without `data.csv` uses
`default_data.csv`; `study_defaults: false` makes `study.yaml` the whole study config.
A few cases also run through the real `snakemake` command line.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from conftest import Study, corpus_params, model_config, prepare_study_data, run_studies
from snaketune import errors
from snaketune.study import load_study

CORPUS = Path(__file__).resolve().parent / "bad_inputs"
DEFAULT_DATA = CORPUS / "default_data.csv"
STUDY_DEFAULTS = {
    "dataset": "data.csv",
    "model_config": "model.yaml",
    "output_directory": "results",
}
ERRORS = {
    "ConfigError": errors.ConfigError,
    "DataError": errors.DataError,
    "NotSupportedError": errors.NotSupportedError,
}
CASES = sorted(path.name for path in CORPUS.iterdir() if path.is_dir())


def expected_of(name: str) -> dict:
    return yaml.safe_load((CORPUS / name / "expected.yaml").read_text(encoding="utf-8"))


def case_params(stage: str) -> list:
    return corpus_params(CORPUS, lambda expected: expected["stage"] == stage)


def copy_case(name: str, tmp_path: Path) -> Path:
    folder = tmp_path / name
    shutil.copytree(CORPUS / name, folder)
    if not (folder / "data.csv").exists():
        shutil.copy(DEFAULT_DATA, folder / "data.csv")
    return folder


def overrides_of(folder: Path, expected: dict) -> dict:
    values = dict(STUDY_DEFAULTS) if expected.get("study_defaults", True) else {}
    study_file = folder / "study.yaml"
    if study_file.exists():
        values.update(yaml.safe_load(study_file.read_text(encoding="utf-8")) or {})
    return values


def files_under(folder: Path) -> set[Path]:
    return {path.relative_to(folder) for path in folder.rglob("*")}


def check_message(exc: BaseException, expected: dict, folder: Path) -> None:
    message = str(exc)
    want = expected["message"].replace("{case}", str(folder))
    assert type(exc) is ERRORS[expected["error"]], f"{type(exc).__name__}: {message}"
    assert message == want
    # One paragraph: what the Snakefile prints after `snaketune: ` is the whole story.
    assert "\n" not in message and message == message.strip()
    assert "Traceback" not in message


def test_the_corpus_is_complete():
    assert len(CASES) >= 45
    stages = {name: expected_of(name)["stage"] for name in CASES}
    assert set(stages.values()) == {"parse", "prepare"}
    for name in CASES:
        expected = expected_of(name)
        assert expected["error"] in ERRORS, name
        assert isinstance(expected["message"], str) and expected["message"], name
        assert (CORPUS / name / "model.yaml").is_file(), name
        assert set(expected) <= {"stage", "error", "message", "xfail", "study_defaults"}, name


@pytest.mark.parametrize("name", case_params("parse"))
def test_parse_time_error(name, tmp_path):
    folder = copy_case(name, tmp_path)
    expected = expected_of(name)
    overrides = overrides_of(folder, expected)
    before = files_under(folder)
    with pytest.raises(Exception) as info:  # the exact type is checked below
        load_study({}, folder, overrides, folder)
    check_message(info.value, expected, folder)
    assert not (folder / "results").exists()
    assert files_under(folder) == before


@pytest.mark.parametrize("name", case_params("prepare"))
def test_prepare_time_error(name, tmp_path):
    folder = copy_case(name, tmp_path)
    expected = expected_of(name)
    study = load_study({}, folder, overrides_of(folder, expected), folder)
    prep_id = study.trials[0].prep_id
    out_dir = tmp_path / "prepared" / prep_id
    with pytest.raises(Exception) as info:  # the exact type is checked below
        prepare_study_data(study, prep_id, out_dir)
    check_message(info.value, expected, folder)
    assert not (out_dir / "metadata.json").exists()


# --------------------------------------------------------------------------- the real CLI


def cli_study(name: str, tmp_path: Path) -> tuple[Study, dict, dict]:
    """The case as a conftest Study folder, and the --config values it runs with."""
    study = Study(tmp_path / name, model_config())
    for path in (CORPUS / name).iterdir():
        if path.name not in ("expected.yaml", "study.yaml"):
            shutil.copy(path, study.root / path.name)
    expected = expected_of(name)
    assert expected.get("study_defaults", True) and not expected.get("xfail")
    values = {}
    if (CORPUS / name / "study.yaml").exists():
        values = yaml.safe_load((CORPUS / name / "study.yaml").read_text(encoding="utf-8"))
    return study, expected, values


# The cases run through the real CLI, one snakemake run each, side by side.
CLI_CASES = [
    "experiment_name_parent_escape",  # a config error: ../x
    "empty_data_file",  # a data error seen at parse time
    "target_with_one_class",  # a data error of the prepare step
]


@pytest.fixture(scope="module")
def cli_runs(tmp_path_factory):
    """name -> (study, expected, --config values, CompletedProcess) of each case's run."""
    root = tmp_path_factory.mktemp("cli")
    cases = {name: cli_study(name, root) for name in CLI_CASES}
    runs = run_studies(
        {
            name: (study, (), {"check": False, **values})
            for name, (study, _, values) in cases.items()
        }
    )
    return {name: (*cases[name], runs[name][1]) for name in CLI_CASES}


@pytest.mark.e2e
@pytest.mark.parametrize("name", CLI_CASES[:2])
def test_parse_time_error_through_snakemake(name, cli_runs):
    study, expected, _, result = cli_runs[name]
    assert expected["stage"] == "parse"
    message = expected["message"].replace("{case}", str(study.root))
    assert result.returncode != 0
    assert f"snaketune: {message}\n" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert not (study.root / "results").exists()
    assert not (study.root / "x").exists()  # results/../x was not created either
    assert not (study.root / ".snakemake" / "incomplete").exists()


@pytest.mark.e2e
def test_data_error_stops_the_study_before_any_trial_trains(cli_runs):
    study, expected, values, result = cli_runs["target_with_one_class"]
    assert expected["stage"] == "prepare" and not values
    message = expected["message"].replace("{case}", str(study.root))
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert f"snaketune: {message}" in output
    assert "Traceback" not in output
    assert not list(study.root.glob("results/exp/trials/*/train_summary.json"))
    assert not list(study.root.glob("results/exp/trials/*/score.json"))
    assert not study.path("leaderboard.tsv").exists()
    assert list(study.root.glob("results/exp/prepared/*")) == []
