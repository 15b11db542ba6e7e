"""A program for engine `command` tests that grows, leaves processes behind, or floods.

Usage: process_tree.py OUTPUT MODE [ARG]
  allocate MB  a child process holds MB of memory for 5 seconds; then metrics.json
  sleepers     a child starts a grandchild `sleep 60` and a daemon that setsid()s, forks
               again and ignores SIGTERM; all pids go to OUTPUT/pids.json; all sleep 60 s
  background   a child that sleeps 60 s (holding the program's stdout) is left running;
               its pid goes to OUTPUT/pids.json; then metrics.json and exit 0
  flood MB [--hang]
               prints a first marker and waits until it is in ./train.log (the output
               streams to the log as it comes), then MB of numbered lines and a last
               marker; then metrics.json, or with --hang sleeps 60 s
The roles starting with "_" are the program's own helper processes.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

METRICS = {"validation": {"label": {"accuracy": 0.5}}}


def again(output: Path, role: str, *args: str, **popen) -> subprocess.Popen:
    """This file run once more, in another role, as a child process."""
    return subprocess.Popen([sys.executable, __file__, str(output), role, *args], **popen)


def sleepers_parent(output: Path) -> None:
    """Start the grandchild and the daemon, write everyone's pids, then sleep."""
    grandchild = subprocess.Popen(["sleep", "60"])
    starter = again(output, "_daemon", start_new_session=True)
    daemon_file = output / "daemon.pid"
    while not daemon_file.is_file():
        time.sleep(0.01)
    pids = {
        "program": os.getppid(),
        "parent": os.getpid(),
        "grandchild": grandchild.pid,
        "daemon": int(daemon_file.read_text()),
    }
    starter.wait()
    (output / "pids.tmp").write_text(json.dumps(pids))
    (output / "pids.tmp").rename(output / "pids.json")
    time.sleep(60)


def daemon(output: Path) -> None:
    """Already in a session of its own: fork again and let the parent go (a daemon)."""
    pid = os.fork()
    if pid:
        (output / "daemon.tmp").write_text(str(pid))
        (output / "daemon.tmp").rename(output / "daemon.pid")
        os._exit(0)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    time.sleep(60)


def flood(megabytes: int, hang: bool) -> None:
    print("first line of the flood", flush=True)
    deadline = time.monotonic() + 5
    while "first line of the flood" not in Path("train.log").read_text():
        if time.monotonic() > deadline:
            sys.exit("the first line did not reach train.log while the program ran")
        time.sleep(0.05)
    line = "x" * 90 + "\n"
    for number in range(megabytes * 2**20 // (len(line) + 10)):
        sys.stdout.write(f"{number:>9} {line}")
    print("last line of the flood", flush=True)
    if hang:
        time.sleep(60)


def main() -> None:
    output, mode, args = Path(sys.argv[1]), sys.argv[2], sys.argv[3:]
    if mode == "_hold":
        held = b"\1" * (int(args[0]) * 2**20)
        time.sleep(5)
        del held
        return
    if mode == "_parent":
        return sleepers_parent(output)
    if mode == "_daemon":
        return daemon(output)
    if mode == "_linger":
        return time.sleep(60)
    if mode == "allocate":
        again(output, "_hold", args[0]).wait()
    elif mode == "sleepers":
        again(output, "_parent").wait()
    elif mode == "background":
        lingering = again(output, "_linger")
        (output / "pids.json").write_text(json.dumps({"background": lingering.pid}))
    elif mode == "flood":
        flood(int(args[0]), hang="--hang" in args)
    (output / "metrics.json").write_text(json.dumps(METRICS))


if __name__ == "__main__":
    main()
