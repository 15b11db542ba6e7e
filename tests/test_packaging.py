"""The conda env of the rules stays in step with the package's dependencies."""

from __future__ import annotations

import re
import tomllib

import yaml

from conftest import REPO


def names(requirements: list[str]) -> set[str]:
    return {re.split(r"[\s<>=!~\[]", item, maxsplit=1)[0].lower() for item in requirements}


def test_conda_env_matches_pyproject():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    env = yaml.safe_load((REPO / "envs" / "snaketune.yaml").read_text())
    conda = names([d for d in env["dependencies"] if isinstance(d, str)]) - {"python"}
    # Rules run inside snakemake, which is not needed again inside their env.
    assert conda == names(project["dependencies"]) - {"snakemake"}
