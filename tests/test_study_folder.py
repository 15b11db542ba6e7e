"""The study folder as a place on disk: file modes, links, the lock, machine errors, gaps."""

from __future__ import annotations

import errno
import json
import os
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import pytest
import yaml

from conftest import ENV, make_frame, model_config
from snaketune import io
from snaketune.errors import ConfigError
from snaketune.trial import run_trial
from snaketune.workflow import load_workflow_study

# --------------------------------------------------------------------------- helpers


@pytest.fixture
def folder(tmp_path) -> Path:
    """A working directory with data, a model config and an empty bundled config."""
    make_frame(60).to_csv(tmp_path / "data.csv", index=False)
    (tmp_path / "model.yaml").write_text(yaml.safe_dump(model_config()))
    (tmp_path / "clone" / "config").mkdir(parents=True)
    (tmp_path / "clone" / "config" / "config.yaml").write_text("{}\n")
    return tmp_path


def load(folder: Path, **options):
    values = {
        "dataset": "data.csv",
        "model_config": "model.yaml",
        "experiment_name": "exp",
        "output_directory": "results",
    }
    return load_workflow_study(folder / "clone", values, folder, **options)


def release(study) -> None:
    from snaketune.study_lock import release_study_lock

    release_study_lock(study.study_dir)


# --------------------------------------------------------------------------- file modes


def test_result_files_get_the_mode_open_gives_under_each_umask(tmp_path):
    from snaketune.leaderboard import write_best

    for umask in (0o022, 0o077):
        previous = os.umask(umask)
        try:
            out = tmp_path / f"umask_{umask:03o}"
            io.write_text(out / "a.txt", "text")
            io.write_json(out / "a.json", {"x": 1})
            io.write_yaml(out / "a.yaml", {"x": 1})
            io.dump_joblib(out / "a.joblib", {"x": 1})
            io.write_texts({out / "b" / "many.json": io.json_text({"x": 2})})
            best = write_best(out, None, goal="minimize", trial_dir=None, failed=[])
        finally:
            os.umask(previous)
        assert io.read_json(out / "b" / "many.json") == {"x": 2}
        assert [p.name for p in (out / "b").iterdir()] == ["many.json"]
        for name in ("a.txt", "a.json", "a.yaml", "a.joblib", "b/many.json"):
            mode = (out / name).stat().st_mode & 0o777
            assert mode == 0o666 & ~umask, (name, oct(umask), oct(mode))
        assert best.stat().st_mode & 0o777 == 0o777 & ~umask, oct(umask)
        assert (best / "README.md").stat().st_mode & 0o777 == 0o666 & ~umask
        assert io.read_json(out / "a.json") == {"x": 1}
        assert sorted(p.name for p in out.iterdir()) == [
            "a.joblib",
            "a.json",
            "a.txt",
            "a.yaml",
            "b",
            "best",
        ]  # no temp file left


# --------------------------------------------------------------------------- links


def test_a_link_out_of_the_study_folder_is_refused_at_parse_time(folder):
    elsewhere = folder / "elsewhere"
    (elsewhere / "trials").mkdir(parents=True)
    (elsewhere / "file.txt").write_text("outside")
    real = folder / "disk" / "exp"
    (real / "trials" / "trial_0001").mkdir(parents=True)
    (folder / "results").mkdir()
    (folder / "results" / "exp").symlink_to(real)  # the study folder itself: fine
    trial = real / "trials" / "trial_0000"
    (trial / "output").mkdir(parents=True)
    (trial / "latest").symlink_to("../trial_0001")  # inside the study: fine
    (trial / "output" / "cache").symlink_to(elsewhere)  # the program's own folder: fine
    (trial / "output" / "loop").symlink_to(".")
    load(folder)

    (trial / "data.csv").symlink_to(elsewhere / "file.txt")
    with pytest.raises(ConfigError) as caught:
        load(folder)
    message = str(caught.value)
    assert f"{folder / 'results' / 'exp' / 'trials' / 'trial_0000' / 'data.csv'}" in message
    assert str(elsewhere / "file.txt") in message and "outside the study folder" in message
    assert "output_directory" in message
    (trial / "data.csv").unlink()

    (real / "trials").rename(real / "old_trials")
    (real / "trials").symlink_to(elsewhere / "trials")  # 27 files were written through it
    with pytest.raises(ConfigError, match=r"trials is a symbolic link to .*elsewhere/trials"):
        load(folder)
    (real / "trials").unlink()
    (real / "trials").symlink_to(folder / "gone")  # dangling, pointing outside
    with pytest.raises(ConfigError, match="outside the study folder"):
        load(folder)
    assert not (folder / "gone").exists()  # nothing was created through it


def test_best_output_links_stay_links_and_a_loop_does_not_break_it(tmp_path):
    from snaketune.leaderboard import write_best

    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("not the study's")
    trial = tmp_path / "study" / "trials" / "trial_0000"
    output = trial / "output"
    (output / "run").mkdir(parents=True)
    (output / "run" / "weights.bin").write_text("weights")
    (output / "loop").symlink_to(".")
    (output / "secret.txt").symlink_to(outside / "secret.txt")
    (output / "shared").symlink_to(outside)
    io.write_json(trial / "config.yaml", {})
    best = {"trial_id": "trial_0000", "metric_score": 0.5, "status": "ok"}
    for _ in range(2):  # the rerun of the step replaces best/
        target = write_best(
            tmp_path / "study", best, goal="minimize", trial_dir=str(trial), failed=[]
        )
    copied = target / "output"
    assert (copied / "run" / "weights.bin").read_text() == "weights"
    for name in ("loop", "secret.txt", "shared"):
        assert (copied / name).is_symlink(), name
        assert os.readlink(copied / name) == os.readlink(output / name)
    assert not [p for p in copied.rglob("*") if p.name == "secret.txt" and not p.is_symlink()]
    readme = (target / "README.md").read_text()
    assert "`output`" in readme and "No model here" not in readme
    assert "joblib.load" not in readme  # engine command: the model is the program's output


# --------------------------------------------------------------------------- machine errors


class FailingEngine:
    """Writes a partial model, then raises what it was given."""

    def __init__(self, error: BaseException) -> None:
        self.error = error

    def train(self, config, prepared_dir, out_dir, **kwargs):
        (Path(out_dir) / "model.joblib").write_text("half a model")
        raise self.error


def _chained(outer: Exception, inner: Exception, *, cause: bool) -> Exception:
    """`outer` raised while handling `inner` (cause: `raise outer from inner`)."""
    try:
        try:
            raise inner
        except Exception as exc:
            if cause:
                raise outer from exc
            raise outer  # noqa: B904 - the implicit __context__ is the point
    except Exception as exc:
        return exc


def _loky_errors() -> tuple[Exception, Exception]:
    from joblib.externals.loky.process_executor import BrokenProcessPool as LokyBroken
    from joblib.externals.loky.process_executor import TerminatedWorkerError

    return (
        TerminatedWorkerError("A worker process managed by the executor was unexpectedly "),
        LokyBroken("A task has failed to un-serialize."),
    )


def _train_with(tmp_path: Path, monkeypatch, error: BaseException, name: str):
    import snaketune.backends

    monkeypatch.setattr(snaketune.backends, "get_engine", lambda *a, **k: FailingEngine(error))
    trial = tmp_path / name / "trials" / "trial_0000"
    sampled = trial / "sampled" / "abc"
    io.write_json(sampled / "parameters.json", {"trial_id": "trial_0000", "trial_seed": 1})
    io.write_yaml(sampled / "config.yaml", {"trainer": {}})
    summary = trial / "train_summary.json"
    call = dict(
        config_path=str(sampled / "config.yaml"),
        parameters_path=str(sampled / "parameters.json"),
        prepared_dir=str(tmp_path),
        summary_path=str(summary),
        engine_name="sklearn",
        threads=1,
        output_feature="label",
        metric="accuracy",
    )
    return trial, summary, call


def test_machine_errors_fail_the_job_and_trial_errors_stay_results(tmp_path, monkeypatch):
    killed, unpicklable = _loky_errors()
    machine = {
        "enospc": OSError(errno.ENOSPC, "No space left on device"),
        "edquot": _chained(
            RuntimeError("saving failed"), OSError(errno.EDQUOT, "quota"), cause=True
        ),
        "eio": _chained(ValueError("read failed"), OSError(errno.EIO, "I/O"), cause=False),
        "erofs": OSError(errno.EROFS, "Read-only file system"),
        "broken_pool": BrokenProcessPool("A child process terminated abruptly"),
        "loky_killed": killed,
    }
    for name, error in machine.items():
        trial, summary, call = _train_with(tmp_path, monkeypatch, error, name)
        with pytest.raises(type(error)):
            run_trial(**call)
        assert not summary.exists(), name
        assert not (trial / "model.joblib").exists(), name  # the partial model is gone
    trial_errors = {
        "memory": MemoryError(),
        "enomem": OSError(errno.ENOMEM, "Cannot allocate memory"),
        "enoent": FileNotFoundError(errno.ENOENT, "No such file", "x.csv"),
        "loky_unpicklable": unpicklable,
    }
    for name, error in trial_errors.items():
        trial, summary, call = _train_with(tmp_path, monkeypatch, error, name)
        assert run_trial(**call)["status"] == "failed", name
        assert io.read_json(summary)["status"] == "failed", name
        assert not (trial / "model.joblib").exists(), name


# --------------------------------------------------------------------------- the lock


HOLDER = """
import sys
from pathlib import Path
from snaketune.study_lock import hold_study_lock
hold_study_lock(Path(sys.argv[1]), Path(sys.argv[2]))
print("held", flush=True)
sys.stdin.read()
"""


def test_the_study_lock_names_its_holder_and_a_killed_holder_frees_it(folder):
    study_dir = folder / "results" / "exp"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(study_dir), "/somewhere/else"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=ENV,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(ConfigError) as caught:
            load(folder, main_process=True)
        message = str(caught.value)
        assert f"study folder {study_dir} is in use by another snaketune run" in message
        assert f"pid {holder.pid} on host {socket.gethostname()}" in message
        assert "working directory /somewhere/else" in message
        assert "clears itself when that run ends" in message
        assert f"delete {study_dir / '.snaketune.lock'}" in message
        dry = load(folder, main_process=True, dry_run=True)  # a dry run only reads
        assert any("this dry run only reads it" in n for n in dry.notices), dry.notices
        job = load(folder, main_process=False)  # a job parsing the Snakefile again
        assert not any("in use" in n for n in job.notices)
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    study = load(folder, main_process=True)  # no manual step after the kill
    try:
        recorded = json.loads((study_dir / ".snaketune.lock").read_text())
        assert recorded["pid"] == os.getpid() and recorded["cwd"] == str(folder)
        assert load(folder, main_process=True).study_dir == study.study_dir  # parsed twice
    finally:
        release(study)


def test_a_dry_run_and_a_job_never_create_the_study_folder(folder):
    load(folder, main_process=True, dry_run=True)
    load(folder)
    assert not (folder / "results").exists()
    study = load(folder, main_process=True)
    release(study)
    assert (folder / "results" / "exp" / ".snaketune.lock").is_file()


# --------------------------------------------------------------------------- missing files


def _finished_trial(study, index: int, *, status: str = "ok") -> Path:
    """A trial folder as a finished train job leaves it (summary newer than sampled/)."""
    trial = study.trials[index]
    folder = study.study_dir / "trials" / trial.trial_id
    io.write_json(folder / "sampled" / trial.digest / "parameters.json", trial.record)
    past = time.time() - 60
    os.utime(folder / "sampled" / trial.digest / "parameters.json", (past, past))
    for name in ("model.joblib", "training_statistics.json"):
        io.write_text(folder / name, "x")
    io.write_json(folder / "train_summary.json", {"status": status})
    return folder


def test_a_deleted_model_of_an_ok_trial_is_named_with_the_command_to_retrain(folder):
    study = load(folder)
    first = _finished_trial(study, 0)
    second = _finished_trial(study, 1)
    failed = _finished_trial(study, 2, status="failed")
    (first / "model.joblib").unlink()
    (second / "training_statistics.json").unlink()
    (failed / "model.joblib").unlink()  # a failed trial has no model: nothing to say
    notices = [n for n in load(folder).notices if "lack files" in n]
    assert len(notices) == 1, notices
    notice = notices[0]
    assert "trial_0000 (model.joblib); trial_0001 (training_statistics.json)" in notice
    assert "trial_0002" not in notice
    assert (
        "snakemake --cores N --forcerun results/exp/trials/trial_0000/train_summary.json "
        "results/exp/trials/trial_0001/train_summary.json --config" in notice
    )
    io.write_text(second / "unskipped.flag", "skipped once")
    notice = next(n for n in load(folder, retrain_missing=True).notices if "lack files" in n)
    assert "This run trains trial_0000 again." in notice  # its unskip flag can do it
    assert "--forcerun results/exp/trials/trial_0001/train_summary.json --config" in notice
    trial = study.trials[0]  # a trial sampled anew is trained anyway: not named
    os.utime(first / "sampled" / trial.digest / "parameters.json")
    notice = next(n for n in load(folder).notices if "lack files" in n)
    assert "trial_0000" not in notice
