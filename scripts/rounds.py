"""The jobs of rounds and rungs (snaketune/search/rounds.py) besides training.

`suggest` writes an adaptive round's suggestions and the history they came from;
`extract` copies one trial's entry into its sampled/ folder; `promote` chooses who goes
on to a scheduler's rung; `slot` copies one slot of a rung into its sampled/ folder.
A plain program like train.py: it imports no Snakemake. Bad values (a suggestion the
engine refuses) end the job with one paragraph, no traceback.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def parse_arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    suggest = commands.add_parser("suggest")
    suggest.add_argument("--search", required=True, help="the study's search/<digest>.json")
    suggest.add_argument("--round", type=int, required=True)
    suggest.add_argument("--previous", default="", help="history of the round before")
    suggest.add_argument("--round-file", required=True)
    suggest.add_argument("--history", required=True)
    suggest.add_argument("--log", required=True)
    suggest.add_argument("scores", nargs="*", help="score.json of the round before's trials")
    extract = commands.add_parser("extract")
    extract.add_argument("--round-file", required=True)
    extract.add_argument("--trial", required=True)
    extract.add_argument("--parameters", required=True)
    extract.add_argument("--config", required=True)
    promote = commands.add_parser("promote")
    promote.add_argument("--rung", type=int, required=True)
    promote.add_argument("--keep", type=int, required=True)
    promote.add_argument("--budget", type=int, required=True)
    promote.add_argument("--budget-key", required=True, help="e.g. trainer.epochs")
    promote.add_argument("--max-t", type=int, required=True, help="the last rung's budget")
    promote.add_argument("--goal", required=True)
    promote.add_argument("--preparations", required=True, help="trial id -> prepared folder")
    promote.add_argument("--out", required=True)
    promote.add_argument("scores", nargs="+", help="score.json of the rung before")
    slot = commands.add_parser("slot")
    slot.add_argument("--promotion", required=True)
    slot.add_argument("--slot", type=int, required=True)
    for name in ("parameters", "config", "prepared"):
        slot.add_argument(f"--{name}", required=True)
    return parser.parse_args(argv)


def suggest(args: argparse.Namespace) -> None:
    from snaketune import io
    from snaketune.backends import get_engine
    from snaketune.search.rounds import suggest_round
    from snaketune.trial import pin_threads

    pin_threads(1)  # the same numbers on any machine: one thread for GP's torch and BLAS
    setting = io.read_json(args.search)
    engine = get_engine(setting["engine"], command=setting["command"])
    history, round_file = suggest_round(
        setting,
        args.round,
        Path(args.previous) if args.previous else None,
        [Path(path) for path in args.scores],
        engine,
    )
    io.write_json(args.history, history)
    io.write_json(args.round_file, round_file)
    for entry in round_file["trials"]:  # a sampler that repeated itself is logged
        record = entry["record"]
        sampler = record["sampler"]
        if sampler["asks"] > 1:
            note = (
                f"{record['trial_id']}: asked {sampler['asks']} times (it repeated earlier trials)"
            )
            if "duplicate_of" in sampler:
                note += (
                    f"; the space has nothing new: it repeats trial_{sampler['duplicate_of']:04d}"
                )
            print(note, file=sys.stderr)
    asked = sum(entry["record"]["sampler"]["asks"] for entry in round_file["trials"])
    print(
        f"round {args.round}: {len(round_file['trials'])} suggestions from {len(history)} "
        f"earlier trials ({asked} asks)",
        file=sys.stderr,
    )


def extract(args: argparse.Namespace) -> None:
    from snaketune import io
    from snaketune.search.rounds import extract_trial

    record, config = extract_trial(Path(args.round_file), args.trial)
    io.remove_siblings(Path(args.parameters).parent)  # older samplings: as at parse time
    io.write_texts(
        {Path(args.parameters): io.json_text(record), Path(args.config): io.yaml_text(config)}
    )


def promote(args: argparse.Namespace) -> None:
    from snaketune import io
    from snaketune.search.rounds import promote_rung

    promotion = promote_rung(
        [Path(path) for path in args.scores],
        rung=args.rung,
        keep=args.keep,
        budget=args.budget,
        budget_key=args.budget_key.split("."),
        max_t=args.max_t,
        goal=args.goal,
        preparations=io.read_json(args.preparations),
    )
    io.write_json(args.out, promotion)


def slot(args: argparse.Namespace) -> None:
    """One slot: its record and config, and its prepared folder's path as a file."""
    from snaketune import io

    entry = io.read_json(args.promotion)["slots"][args.slot]
    record = {"unused": True, "trial_id": None} if entry.get("unused") else entry["record"]
    io.write_texts(
        {
            Path(args.parameters): io.json_text(record),
            Path(args.config): io.yaml_text(entry.get("config") or {}),
            Path(args.prepared): entry.get("prepared", "") + "\n",
        }
    )


def main(argv: list[str]) -> int:
    args = parse_arguments(argv)
    if args.command in ("extract", "promote", "slot"):
        {"extract": extract, "promote": promote, "slot": slot}[args.command](args)
        return 0
    from snaketune.errors import ConfigError

    sys.stderr = open(args.log, "w", buffering=1)  # noqa: SIM115 (the job's whole life)
    try:
        suggest(args)
    except ConfigError as exc:
        for stream in (sys.stderr, sys.__stderr__):
            print(f"snaketune: {exc}", file=stream, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
