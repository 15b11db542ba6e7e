"""The warm worker: a job's trial forked from a process that imported once (snaketune/warm.py).

The worker here serves a small stand-in for train.main, so that these tests run in
seconds; every end-to-end study runs its real trials through the real worker.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from snaketune import warm

SCRIPTS = str(Path(__file__).resolve().parents[1] / "scripts")

# The worker: serves `fake_main`, whose first argument says what the trial does.
WORKER = f"""
import os, sys, time
sys.path.insert(0, {SCRIPTS!r})
from snaketune.warm import Worker

def fake_main(argv):
    what = argv[0]
    with open(argv[1], "w") as handle:
        handle.write(str(os.getpid()))
    if what == "print":
        print("child says", os.environ.get("FROM_JOB"), os.getcwd(), sys.argv[1:])
    elif what == "fail":
        raise ValueError("broken trial")
    elif what == "exit":
        sys.exit(int(argv[2]))
    elif what == "sleep":
        time.sleep(60)

Worker(sys.argv[1], "fake", int(sys.argv[2]), fake_main).serve()
"""

# A job's program: the client side of train.py.
CLIENT = f"""
import sys
sys.path.insert(0, {SCRIPTS!r})
from snaketune.warm import run_warm
code = run_warm(sys.argv[2:], sys.argv[1])
if code is None:
    print("ran cold")
    sys.exit(0)
sys.exit(code)
"""


def wait_for(predicate, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    return status != "Z"


@pytest.fixture()
def worker(tmp_path):
    """A running worker whose parent is this test process; stopped afterwards."""
    path = str(tmp_path / "w.sock")
    process = subprocess.Popen([sys.executable, "-c", WORKER, path, str(os.getpid())])
    wait_for(lambda: os.path.exists(path))
    yield path, process
    warm.stop(path)
    process.wait(timeout=5)


def client(path: str, *argv: str, engine: str = "fake", cwd=None, **popen):
    env = dict(os.environ, SNAKETUNE_WARM=path, FROM_JOB="job env")
    env.pop(warm.OFF_VARIABLE, None)
    return subprocess.Popen(
        [sys.executable, "-c", CLIENT, engine, *argv], env=env, cwd=cwd, text=True, **popen
    )


def test_trial_runs_in_a_forked_child_with_the_jobs_streams_env_and_cwd(worker, tmp_path):
    path, _ = worker
    pid_file = tmp_path / "pid"
    job = client(path, "print", str(pid_file), cwd=tmp_path, stdout=subprocess.PIPE)
    out, _ = job.communicate(timeout=20)
    assert job.returncode == 0
    assert f"child says job env {tmp_path} ['print', '{pid_file}']" in out
    assert int(pid_file.read_text()) != job.pid  # not the job's own process


@pytest.mark.parametrize(("what", "code"), [("fail", 1), ("exit", 3)])
def test_the_trials_exit_code_is_the_jobs(worker, tmp_path, what, code):
    path, _ = worker
    job = client(path, what, str(tmp_path / "pid"), "3", stderr=subprocess.PIPE)
    _, err = job.communicate(timeout=20)
    assert job.returncode == code
    if what == "fail":
        assert "ValueError: broken trial" in err  # the traceback reaches the job's stderr


def test_another_engine_or_no_worker_runs_cold(worker, tmp_path):
    path, _ = worker
    for socket_path, engine in ((path, "torch"), (str(tmp_path / "none.sock"), "fake")):
        job = client(
            socket_path, "print", str(tmp_path / "pid"), engine=engine, stdout=subprocess.PIPE
        )
        out, _ = job.communicate(timeout=20)
        assert (job.returncode, out) == (0, "ran cold\n")
    assert not (tmp_path / "pid").exists()


def test_a_killed_job_takes_its_trial_with_it(worker, tmp_path):
    path, _ = worker
    pid_file = tmp_path / "pid"
    job = client(path, "sleep", str(pid_file))
    wait_for(pid_file.exists)
    wait_for(lambda: pid_file.read_text() != "")
    child = int(pid_file.read_text())
    job.kill()  # SIGKILL: nothing forwarded; the closed connection tells the worker
    job.wait()
    wait_for(lambda: not alive(child))


def test_a_signal_to_the_job_reaches_the_trial(worker, tmp_path):
    path, _ = worker
    pid_file = tmp_path / "pid"
    job = client(path, "sleep", str(pid_file))
    wait_for(lambda: pid_file.exists() and pid_file.read_text() != "")
    job.send_signal(signal.SIGTERM)  # how Snakemake stops a job
    assert job.wait(timeout=10) == 128 + signal.SIGTERM
    assert not alive(int(pid_file.read_text()))


def test_the_worker_ends_with_its_parent_and_takes_its_trials(tmp_path):
    path = str(tmp_path / "w.sock")
    pid_file = tmp_path / "pid"
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', {WORKER!r}, "
            f"{path!r}, str(__import__('os').getpid())]); time.sleep(60)",
        ]
    )
    wait_for(lambda: os.path.exists(path))
    job = client(path, "sleep", str(pid_file))
    wait_for(lambda: pid_file.exists() and pid_file.read_text() != "")
    child = int(pid_file.read_text())
    parent.kill()
    parent.wait()
    wait_for(lambda: not os.path.exists(path))  # the worker removed its socket and ended
    wait_for(lambda: not alive(child))
    assert job.wait(timeout=10) != 0  # the job fails: its trial did not finish
    job.kill()


def test_stop_ends_the_worker(worker):
    path, process = worker
    warm.stop(path)
    assert process.wait(timeout=5) == 0


def test_the_socket_folder_must_be_private_to_its_user(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o777)
    shared.chmod(0o777)
    with pytest.raises(PermissionError):
        warm.private_folder(str(shared / "w.sock"))
    link = tmp_path / "link"
    link.symlink_to(tmp_path)
    with pytest.raises(PermissionError):
        warm.private_folder(str(link / "w.sock"))


def test_socket_paths_are_short_and_differ_per_run(tmp_path):
    long_study = str(tmp_path / ("x" * 200))
    first = warm.socket_path(long_study, "torch", 1)
    assert len(first) < 100  # AF_UNIX's limit is 108 bytes
    assert first != warm.socket_path(long_study, "torch", 2)
    with socket.socket(socket.AF_UNIX) as probe:
        warm.private_folder(first)
        probe.bind(first)
    os.unlink(first)
