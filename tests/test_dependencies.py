"""pyproject.toml is the one source of truth; conda and Binder must install the same."""

from __future__ import annotations

import re
import tomllib

import pytest
import yaml


def _name(spec: str) -> tuple[str, str]:
    m = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*)$", spec)
    return m.group(1).lower().replace("_", "-"), m.group(2).replace(" ", "")


@pytest.fixture(scope="module")
def pyproject(repo):
    return tomllib.loads((repo / "pyproject.toml").read_text())


@pytest.fixture(scope="module")
def wanted(pyproject):
    deps = pyproject["project"]["dependencies"] + pyproject["project"]["optional-dependencies"]["course"]
    return dict(_name(d) for d in deps)


def test_conda_environment_matches_pyproject(repo, wanted):
    env = yaml.safe_load((repo / "environment.yml").read_text())
    conda = dict(_name(d) for d in env["dependencies"] if isinstance(d, str)
                 and not d.startswith(("python", "pip")))
    assert conda == wanted
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert "-e ." in pip, "environment.yml must install this package"


def test_binder_requirements_match_pyproject(repo, wanted):
    lines = [ln for ln in (repo / "binder" / "requirements.txt").read_text().splitlines()
             if ln.strip() and not ln.startswith("#")]
    assert dict(_name(ln) for ln in lines) == wanted
    post = (repo / "binder" / "postBuild").read_text()
    assert "pip install" in post and "-e ." in post


def test_dev_extra_includes_the_course(pyproject):
    dev = pyproject["project"]["optional-dependencies"]["dev"]
    assert "matdiff[course]" in dev
