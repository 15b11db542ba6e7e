"""Rule report: draw the study's report folder from its hyperopt_statistics.json.

A plain program like train.py (no Snakemake import): the job costs matplotlib's import
and the drawing only. Its directory is sys.path[0], so the package next to it is found.
"""

from __future__ import annotations

import argparse
import sys
import time


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--statistics", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--format", required=True, choices=("png", "pdf"))
    parser.add_argument("--title", required=True)
    args = parser.parse_args(argv)
    started = time.perf_counter()

    from snaketune.report.build import build_report
    from snaketune.report.table import load_statistics

    table = load_statistics(args.statistics)
    path = build_report(table, args.out, fmt=args.format, title=args.title)
    sys.stderr.write(
        f"{path}: {len(table.trials)} trials drawn in {time.perf_counter() - started:.1f} s\n"
    )


if __name__ == "__main__":
    main(sys.argv[1:])
