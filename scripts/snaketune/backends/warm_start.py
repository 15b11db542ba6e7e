"""Warm starts for a scheduler's rungs: a trial's state saved at one rung, continued at the next.

Rung k trains a promoted trial for the budget b_k (epochs, or boosting rounds). Rung
k-1 left the trial's training state after b_(k-1) units in its folder: the live model
(not the best one kept for scoring), the optimizer, the random generators, the curves
and the best evaluation so far. Continuing that state for the remaining units gives
what a fresh run of b_k units gives, bit for bit, when the fresh run passes through the
same state: its evaluations up to b_(k-1) are the saved ones, and nothing the engine
does depends on the total budget (`load`'s `inexact`). Otherwise, and when the state is
missing or was saved for another config, the rung trains anew, which gives the same
result at the full cost. So the state is a cache: removing it costs time, never changes
a result (tests/test_warm_start.py checks both paths give identical files).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

STATE_FILE = "resume_state.joblib"


def evaluation_points(total: int, step: int = 1) -> list[int]:
    """The budget after each evaluation of a run of `total` units, one every `step`."""
    return [min(point, total) for point in range(step, total + step, step)] if total > 0 else []


class WarmStart:
    """One train job's view of the state: the folder it continues, and whether to keep its own.

    `resume_from` is the folder of the trial's rung before (None: train anew); `keep`
    says whether a rung above will continue this job (the last rung keeps nothing).
    """

    def __init__(
        self,
        config: dict[str, Any],
        seed: int,
        budget_key: Sequence[str],
        out_dir: Path,
        *,
        resume_from: Path | None = None,
        keep: bool = False,
        log: Callable[[str], None] = lambda message: None,
    ) -> None:
        self.out_dir, self.resume_from, self.keep, self.log = out_dir, resume_from, keep, log
        section, name = budget_key
        rest = {
            **config,
            section: {k: v for k, v in (config.get(section) or {}).items() if k != name},
        }
        # What the state must have been saved for: the same config but its budget, same seed.
        self.fingerprint = json.dumps({"config": rest, "seed": seed}, sort_keys=True, default=str)
        self.resumed_at: int | None = None  # the budget the state was saved at

    def load(self, points: Sequence[int], inexact: str | None = None) -> dict[str, Any] | None:
        """The saved state to go on from, or None (logged why) when this run trains anew.

        `points` are this run's evaluation points (evaluation_points); `inexact` says why
        continuing would differ from a fresh run, when it would.
        """
        if self.resume_from is None:
            return None
        path = Path(self.resume_from) / STATE_FILE
        reason = None
        state: dict[str, Any] | None = None
        if inexact:
            reason = inexact
        elif not path.is_file():
            reason = f"{path} is not there"
        else:
            import joblib

            state = joblib.load(path)
            saved = list(state.get("points", []))
            if state.get("fingerprint") != self.fingerprint:
                reason = f"{path} was saved for another config or seed"
            elif saved != list(points[: len(saved)]) or len(saved) > len(points):
                reason = f"{path} was saved after {saved[-1:]} units, not a point of this run"
        if reason is not None:
            self.log(f"warm start: {reason}; this rung trains anew (same result, full cost)")
            return None
        assert state is not None
        self.resumed_at = state["points"][-1] if state["points"] else 0
        self.log(f"warm start: continuing the state saved after {self.resumed_at} units")
        return state

    def save(self, points: Sequence[int], **state: Any) -> None:
        """Keep the state after `points` for the next rung (atomically), if one will go on."""
        if not self.keep:
            return
        import joblib

        path = self.out_dir / STATE_FILE
        partial = path.with_name(path.name + ".partial")
        joblib.dump({"fingerprint": self.fingerprint, "points": list(points), **state}, partial)
        os.replace(partial, path)

    def summary(self, trained_to: int) -> dict[str, Any]:
        """What train_summary.json says of it: where this job started, units it trained
        (nothing for a job outside a scheduler's rungs)."""
        if self.resume_from is None and not self.keep:
            return {}
        start = self.resumed_at or 0
        return {"resumed_at": self.resumed_at, "units_trained": trained_to - start}
