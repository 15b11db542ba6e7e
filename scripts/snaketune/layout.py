"""Every path under a study folder (`<output_directory>/<experiment_name>/`), in one place.

The rules build their input and output patterns from a `StudyLayout` (with
wildcards such as "{trial}" as names), the package reads finished studies through
it, and rule scripts take their paths from `snakemake.input`/`output`, so the
folder layout is written down once:

    study.yaml                      the study as it was frozen by its first run
    leaderboard.tsv / .md           the ranked trials
    hyperopt_statistics.json        Ludwig's hyperopt statistics
    best/                           the best trial's model, config, parameters, score
    report/                         report.html and the plots it shows (rule report)
    prepared/<prep_id>/             the prepared data, shared by trials with one key
    trials/<trial>/                 one trial: parameters.json, config.yaml,
                                    train_summary.json, training_statistics.json,
                                    model.joblib, train.log, score.json
    trials/<trial>/sampled/<digest>/  the sampled values a trial was trained from
    search/<digest>.json            an adaptive search's setting, read by its round jobs
    rounds/history_<r>.json         every trial before round r, as its sampler learns from them
    rounds/round_<r>.json           the values an adaptive sampler suggested in round r
    rungs/b<s>/rung_<k>.json        a scheduler's rung k of bracket s: who goes on, with what
    rungs/b<s>/r<k>/slot_<j>/       the j-th trial trained in that rung (files as in trials/)
    reruns/<trial>/                 a trial trained again, to compare with the original
    logs/<step>/<name>.log          one log per job; logs/benchmarks/ their resources
"""

from __future__ import annotations

from dataclasses import dataclass

TRIALS = "trials"
RERUNS = "reruns"
STAGES = (TRIALS, RERUNS)
UNSKIP_FLAG = "unskipped.flag"


@dataclass(frozen=True)
class StudyLayout:
    """The paths of one study folder, as strings the rules and the package share.

    `root` is the study folder as the rules name it (relative to the working
    directory, or absolute); any argument may be a Snakemake wildcard like "{trial}".
    """

    root: str

    def file(self, name: str) -> str:
        return f"{self.root}/{name}"

    @property
    def study_yaml(self) -> str:
        return self.file("study.yaml")

    @property
    def leaderboard_tsv(self) -> str:
        return self.file("leaderboard.tsv")

    @property
    def leaderboard_md(self) -> str:
        return self.file("leaderboard.md")

    @property
    def hyperopt_statistics(self) -> str:
        return self.file("hyperopt_statistics.json")

    @property
    def best(self) -> str:
        return self.file("best")

    @property
    def report(self) -> str:
        return self.file("report")

    @property
    def trials(self) -> str:
        return self.file(TRIALS)

    def prepared(self, prep_id: str) -> str:
        return self.file(f"prepared/{prep_id}")

    def trial(self, trial: str, stage: str = TRIALS) -> str:
        """A trial's folder; `stage` is trials, or reruns for a trial trained again."""
        return self.file(f"{stage}/{trial}")

    def trial_file(self, trial: str, name: str, stage: str = TRIALS) -> str:
        return f"{self.trial(trial, stage)}/{name}"

    def sampled(self, trial: str, digest: str, name: str) -> str:
        """A file of the values sampled for a trial (parameters.json, config.yaml)."""
        return f"{self.trial(trial)}/sampled/{digest}/{name}"

    def search_file(self, digest: str) -> str:
        return self.file(f"search/{digest}.json")

    def round_file(self, round_index: str) -> str:
        """Round r's suggestions; `round_index` is its number (4 digits) or a wildcard."""
        return self.file(f"rounds/round_{round_index}.json")

    def round_history(self, round_index: str) -> str:
        return self.file(f"rounds/history_{round_index}.json")

    def promotion(self, bracket: str, rung: str) -> str:
        return self.file(f"rungs/b{bracket}/rung_{rung}.json")

    def slot_file(self, bracket: str, rung: str, slot: str, name: str) -> str:
        """A file of the j-th trial a rung trains (any argument may be a wildcard)."""
        return self.file(f"rungs/b{bracket}/r{rung}/slot_{slot}/{name}")

    @property
    def rung_preparations(self) -> str:
        """Each trial's prepared folder, for the rungs (written at parse time)."""
        return self.file("rungs/prepared.json")

    def unskip_flag(self, trial: str) -> str:
        return self.trial_file(trial, UNSKIP_FLAG)

    def log(self, step: str, name: str) -> str:
        return self.file(f"logs/{step}/{name}.log")

    def benchmark(self, step: str, name: str) -> str:
        return self.file(f"logs/benchmarks/{step}/{name}.tsv")
