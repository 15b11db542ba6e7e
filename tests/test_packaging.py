"""The conda envs of the rules stay in step with the package's dependencies."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from conftest import REPO

ENVS = REPO / "envs"
# Each env file and the pyproject extras it holds on top of the core dependencies.
ENV_EXTRAS = {
    "sklearn.yaml": [],
    "torch.yaml": ["torch"],
}
REQUIRED_ENVS = ("sklearn.yaml", "torch.yaml")
# conda-forge names that differ from the pip name.
PIP_NAME_OF_CONDA = {"pytorch": "torch"}


def specs(requirements: list[str], rename: dict[str, str] | None = None) -> dict[str, str]:
    """{name: version range} of pip or conda requirements, spaces removed."""
    out = {}
    for item in requirements:
        name, spec = re.match(r"([A-Za-z0-9_.-]+)(.*)", item.strip()).groups()
        name = name.lower()
        out[(rename or {}).get(name, name)] = re.sub(r"\s", "", spec)
    return out


def project() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())["project"]


def env_specs(name: str) -> dict[str, str]:
    env = yaml.safe_load((ENVS / name).read_text())
    assert env["channels"] == ["conda-forge", "nodefaults"], name
    deps = [d for d in env["dependencies"] if isinstance(d, str)]
    found = specs(deps, PIP_NAME_OF_CONDA)
    assert found.pop("python") == "=3.11", name
    return found


def test_every_env_is_checked():
    present = {path.name for path in ENVS.glob("*.yaml")}
    assert set(REQUIRED_ENVS) <= present
    assert present <= set(ENV_EXTRAS), f"add {sorted(present - set(ENV_EXTRAS))} to ENV_EXTRAS"


@pytest.mark.parametrize(
    "name", [name for name in ENV_EXTRAS if name in REQUIRED_ENVS or (ENVS / name).exists()]
)
def test_conda_env_matches_pyproject(name):
    meta = project()
    expected = specs(meta["dependencies"])
    # Rules run inside snakemake, which is not needed again inside their env.
    expected.pop("snakemake")
    for extra in ENV_EXTRAS[name]:
        expected.update(specs(meta["optional-dependencies"][extra]))
    assert env_specs(name) == expected


ENV_NAMES = ("ENGINE_ENV", "SKLEARN_ENV", "SEARCH_ENV")


def conda_envs(engine: str, sampler: str = "tpe") -> dict[str, str]:
    """The *_ENV values as rules/common.smk computes them for `engine` and `sampler`."""
    study = SimpleNamespace(settings=SimpleNamespace(engine=engine))
    names = {"STUDY": study, "HYPEROPT": {"search_alg": {"sampler": sampler}}}
    found: dict[str, str] = {}
    for line in (REPO / "rules" / "common.smk").read_text().splitlines():
        match = re.match(r"([A-Z]+_ENV) = (.+)$", line)
        if match:
            found[match.group(1)] = eval(match.group(2), {**names, **found})  # noqa: S307
    return {name: found[name] for name in ENV_NAMES}


def test_conda_envs_of_rules_exist():
    directives = []
    for rules in sorted((REPO / "rules").glob("*.smk")):
        directives += re.findall(r"^\s*conda:\s*\n\s*(\S+)", rules.read_text(), flags=re.M)
    assert directives and set(directives) <= set(ENV_NAMES), directives
    used = set()
    for engine in ("sklearn", "torch", "command"):
        for name, path in conda_envs(engine).items():
            assert (REPO / "rules" / path).resolve().is_file(), f"{engine}: {name} {path}"
            used.add(Path(path).name)
        assert conda_envs(engine)["ENGINE_ENV"].endswith(
            "torch.yaml" if engine == "torch" else "sklearn.yaml"
        )
        # optuna's GP sampler imports torch, whatever the engine
        assert conda_envs(engine, sampler="gp")["SEARCH_ENV"].endswith("torch.yaml")
    assert set(REQUIRED_ENVS) <= used
