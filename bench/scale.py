"""How snaketune scales with the number of trials: DAG build and complete studies.

    .venv/bin/python bench/scale.py                      # 100, 1,000 and 10,000 trials
    .venv/bin/python bench/scale.py --trials 100,1000 --schedulers ilp,greedy
    .venv/bin/python bench/scale.py --complete-up-to 1000   # 10,000: the DAG build only

For each count, a study of trivial trials (engine command, a program that writes its
metrics and exits) is built with `snakemake -n` and then run to the end with
`--cores C`; each row gives wall time, peak resident memory of the whole process tree
(snakemake, its jobs and their programs) and milliseconds per trial. The complete runs
are repeated for each Snakemake `--scheduler` given (the default is Snakemake's ILP
scheduler; `greedy` is the alternative), one after the other in one invocation.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from job_structure import REPO, command_study, snakemake, write_section  # noqa: E402


def measure(counts: list[int], schedulers: list[str], cores: int, complete_up_to: int) -> list[str]:
    lines = [
        "| trials | run | scheduler | wall s | peak MB | ms per trial |",
        "|---|---|---|---|---|---|",
    ]
    for count in counts:
        with tempfile.TemporaryDirectory() as folder:
            command_study(Path(folder), count, 0)
            wall, peak = snakemake(REPO, Path(folder), "-n", "--configfile", "study.yaml")
            lines.append(
                f"| {count} | `-n` (fresh) | | {wall:.1f} | {peak / 1e6:.0f} "
                f"| {1000 * wall / count:.1f} |"
            )
            print(lines[-1], flush=True)
        for scheduler in schedulers if count <= complete_up_to else []:
            with tempfile.TemporaryDirectory() as folder:
                command_study(Path(folder), count, 0)
                wall, peak = snakemake(
                    REPO,
                    Path(folder),
                    "--cores",
                    str(cores),
                    "--configfile",
                    "study.yaml",
                    "--scheduler",
                    scheduler,
                )
                lines.append(
                    f"| {count} | complete, --cores {cores} | {scheduler} | {wall:.1f} "
                    f"| {peak / 1e6:.0f} | {1000 * wall / count:.1f} |"
                )
                # Nothing left to do: what an unchanged study costs to look at.
                wall, peak = snakemake(
                    REPO, Path(folder), "--cores", str(cores), "--configfile", "study.yaml"
                )
                lines.append(
                    f"| {count} | again, nothing to do | | {wall:.1f} | {peak / 1e6:.0f} "
                    f"| {1000 * wall / count:.1f} |"
                )
            print("\n".join(lines[-2:]), flush=True)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", default="100,1000,10000")
    parser.add_argument("--schedulers", default="ilp")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument(
        "--complete-up-to", type=int, default=10**9, help="larger counts: the DAG build only"
    )
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    lines = measure(
        [int(n) for n in args.trials.split(",")],
        args.schedulers.split(","),
        args.cores,
        args.complete_up_to,
    )
    print("\n".join(lines))
    if not args.no_write:
        command = "python bench/scale.py " + " ".join(sys.argv[1:])
        write_section("scale", command, lines)


if __name__ == "__main__":
    main()
