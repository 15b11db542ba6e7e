"""Wall time, peak memory and disk use of the first Ludwig guide example as an 8-trial study.

The setting of the Ludwig 0.17.10 + Ray measurement quoted in issue 3 (145 s, 4.6 GiB
resident across its processes, 364 MB of artifacts): config/examples/ludwig_guide_hyperopt.yaml
(3 epochs) on the 2,000-row data/titles.csv, 8 trials, 2 at a time, 2 cores, torch engine.

    .venv/bin/python bench/guide_example.py

Memory is the peak over time of the summed resident set size of snakemake and every
process below it, sampled from /proc every 0.1 s.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]


def tree_rss(root: int) -> int:
    """Resident bytes of `root` and all its descendants (Linux /proc)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            pid, ppid = int(entry), int(fields[1])
            rss[pid] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
            children.setdefault(ppid, []).append(pid)
        except (OSError, IndexError, ValueError):
            continue
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack.extend(children.get(pid, []))
    return total


def du(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def main() -> None:
    config = yaml.safe_load((REPO / "config/examples/ludwig_guide_hyperopt.yaml").read_text())
    config["hyperopt"]["executor"] = {"num_samples": 8, "max_concurrent_trials": 2}
    with tempfile.TemporaryDirectory() as folder:
        Path(folder, "guide8.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
        command = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile")]
        command += ["--cores", "2", "--quiet", "all", "--config", "engine=torch"]
        command += ["model_config=guide8.yaml", "experiment_name=guide8"]
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=folder, stdout=subprocess.DEVNULL)
        peak = 0
        while process.poll() is None:
            peak = max(peak, tree_rss(process.pid))
            time.sleep(0.1)
        wall = time.perf_counter() - started
        if process.returncode:
            sys.exit(f"snakemake failed with exit code {process.returncode}")
        study = Path(folder, "results", "guide8")
        disk = du(study)
        trials = disk - du(study / "prepared")
    print(f"wall time        {wall:7.1f} s")
    print(f"peak memory      {peak / 2**30:7.2f} GiB (summed over the process tree)")
    print(f"disk use         {disk / 1e6:7.1f} MB ({trials / 1e6:.1f} MB outside prepared/)")


if __name__ == "__main__":
    main()
