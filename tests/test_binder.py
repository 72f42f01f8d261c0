"""Binder (repo2docker) configuration: binder/ installs what pyproject.toml lists, every path
it refers to exists, the Python it asks for is one the package supports, and postBuild
really gives a student set-up (run here in a throw-away environment).

(tests/test_dependencies.py checks that pyproject.toml, environment.yml and
binder/requirements.txt list the same packages.)
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
BINDER = REPO / "binder"
# nbgrader's JupyterLab plugins and server extensions: the student keeps these two ...
STUDENT_PLUGINS = {"@jupyter/nbgrader:assignment-list", "@jupyter/nbgrader:validate-assignment"}
STUDENT_SERVER = {"nbgrader.server_extensions.assignment_list",
                  "nbgrader.server_extensions.validate_assignment"}
# ... and does not get the instructor's tools.
INSTRUCTOR_PLUGINS = {"@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment",
                      "@jupyter/nbgrader:course-list"}
INSTRUCTOR_SERVER = {"nbgrader.server_extensions.formgrader", "nbgrader.server_extensions.course_list"}


def _post_build() -> str:
    return (BINDER / "postBuild").read_text()


def _disabled() -> tuple[set[str], set[str]]:
    post = _post_build()
    lab = re.findall(r"^\s*jupyter labextension disable --level=sys_prefix (\S+)", post, re.M)
    server = re.findall(r"^\s*jupyter server extension disable --sys-prefix (\S+)", post, re.M)
    return set(lab), set(server)


def _requirements() -> list[str]:
    return [ln.strip() for ln in (BINDER / "requirements.txt").read_text().splitlines()
            if ln.strip() and not ln.lstrip().startswith("#")]


# ----------------------------------------------------------------- paths and versions
def test_binder_folder_holds_only_known_files():
    known = {"requirements.txt", "postBuild", "runtime.txt", "jupyter_server_config.json"}
    assert {p.name for p in BINDER.iterdir()} <= known, "a new binder/ file: teach this test about it"


def test_every_path_binder_refers_to_exists():
    post = _post_build()
    # repository files postBuild copies, installs or mentions
    for ref in re.findall(r"\b((?:binder|tests|notebooks|solutions|grader|matdiff)/[\w./-]*\w)", post):
        assert (REPO / ref).exists(), f"postBuild uses {ref}, which does not exist"
    assert re.search(r"pip install --no-deps -e \.(\s|$)", post)
    assert post.startswith("#!/usr/bin/env bash\n") and os.access(BINDER / "postBuild", os.X_OK)
    assert (REPO / "pyproject.toml").is_file()
    # -r / -c / -e lines of requirements.txt
    for line in _requirements():
        m = re.match(r"^(-r|-c|-e|--requirement|--constraint|--editable)\s+(\S+)", line)
        if m and not re.match(r"^[a-z+]+://", m.group(2)):
            assert (BINDER / m.group(2)).exists() or (REPO / m.group(2)).exists(), line
    # where JupyterLab opens
    url = json.loads((BINDER / "jupyter_server_config.json").read_text())["ServerApp"]["default_url"]
    m = re.fullmatch(r"/lab/tree/(.+)", url)
    assert m, f"default_url {url} should open JupyterLab at a folder"
    assert (REPO / m.group(1)).is_dir(), f"default_url opens {m.group(1)}/, which does not exist"


def test_readme_binder_links_open_existing_paths():
    readme = (REPO / "README.md").read_text()
    default = json.loads((BINDER / "jupyter_server_config.json").read_text())["ServerApp"]["default_url"]
    for link in re.findall(r"https://mybinder\.org/v2/[^)\s\"]+", readme):
        m = re.search(r"[?&]urlpath=([^&#]+)", link)
        if not m:
            continue
        path = m.group(1).replace("%2F", "/")
        assert path.startswith("lab/tree/"), f"{link}: open JupyterLab (urlpath=lab/tree/...)"
        assert (REPO / path.removeprefix("lab/tree/")).exists(), f"{link} opens a missing path"
        assert "/" + path == default or path.startswith(default.lstrip("/") + "/"), \
            f"{link} and binder/jupyter_server_config.json open different places"


def test_runtime_python_is_supported_by_the_package_and_conda():
    runtime = (BINDER / "runtime.txt").read_text().strip()
    m = re.fullmatch(r"python-(\d+)\.(\d+)", runtime)
    assert m, f"runtime.txt should read python-X.Y, not {runtime!r}"
    version = (int(m.group(1)), int(m.group(2)))
    requires = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["requires-python"]
    low = tuple(int(x) for x in re.fullmatch(r">=\s*(\d+)\.(\d+)", requires).groups())
    assert version >= low, f"Binder's Python {runtime} is older than requires-python {requires}"
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    conda_python = next(d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python"))
    assert conda_python.replace(" ", "") == f"python{requires.replace(' ', '')}", \
        "environment.yml's python should be requires-python"


def test_requirements_are_plain_package_specs():
    for line in _requirements():
        assert re.fullmatch(r"[A-Za-z0-9_.\-\[\],]+\s*([<>=!~]=?\s*[\w.*]+\s*,?\s*)*", line), \
            f"binder/requirements.txt: {line!r} is not a plain requirement"


# --------------------------------------------------------- the student set-up it makes
def test_postbuild_disables_the_instructor_tools_and_keeps_the_student_ones():
    lab, server = _disabled()
    assert lab == INSTRUCTOR_PLUGINS
    assert server == INSTRUCTOR_SERVER
    assert not (lab & STUDENT_PLUGINS) and not (server & STUDENT_SERVER)


def test_disabled_plugins_exist_in_the_installed_nbgrader():
    """A plugin id that nbgrader renamed would silently stay enabled."""
    import nbgrader

    root = Path(sys.prefix) / "share" / "jupyter" / "labextensions" / "@jupyter" / "nbgrader"
    if not root.is_dir():
        root = Path(nbgrader.__file__).parent / "labextension"
    code = "".join(p.read_text(errors="replace") for p in (root / "static").glob("*.js"))
    for plugin in INSTRUCTOR_PLUGINS | STUDENT_PLUGINS:
        assert f'"{plugin}"' in code, f"nbgrader has no JupyterLab plugin {plugin}"
    import importlib

    for module in INSTRUCTOR_SERVER | STUDENT_SERVER:
        importlib.import_module(module)


@pytest.mark.slow
def test_postbuild_gives_a_student_setup(tmp_path):
    """Run binder/postBuild in a throw-away environment (this one's packages, its own
    sys.prefix) and read the Jupyter configuration it leaves behind."""
    env_dir = tmp_path / "env"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env_dir)], check=True)
    bindir = env_dir / "bin"
    site = next(env_dir.glob("lib/python*/site-packages"))
    here = next(Path(sys.prefix).glob("lib/python*/site-packages"))
    # what pip installs into etc/jupyter (nbgrader's, jupyterlab's ... server extensions)
    shutil.copytree(Path(sys.prefix) / "etc" / "jupyter", env_dir / "etc" / "jupyter")
    (site / "_course_packages.pth").write_text(f"import site; site.addsitedir({str(here)!r})\n")
    # the jupyter commands, bound to the throw-away environment's python
    for script in ("jupyter", "jupyter-server", "jupyter-labextension"):
        src = Path(sys.executable).parent / script
        body = src.read_text().split("\n", 1)[1]
        (bindir / script).write_text(f"#!{bindir / 'python'}\n{body}")
        (bindir / script).chmod(0o755)
    # pip would build and install matdiff: here it is already importable, so skip that one line
    shims = tmp_path / "shims"
    shims.mkdir()
    (shims / "python").write_text(
        "#!/bin/sh\n"
        f'if [ "$1" = "-m" ] && [ "$2" = "pip" ]; then\n  echo "skipped: pip $*" >> "{tmp_path}/pip.log"\n'
        "  exit 0\nfi\n"
        f'exec "{bindir / "python"}" "$@"\n')
    (shims / "python").chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "VIRTUAL_ENV"))}
    env.update(PATH=os.pathsep.join([str(shims), str(bindir), "/usr/bin", "/bin"]),
               JUPYTER_CONFIG_DIR=str(tmp_path / "user-config"),
               JUPYTER_DATA_DIR=str(tmp_path / "user-data"), HOME=str(tmp_path))
    # repo2docker runs it from the repository root; a copy keeps this repository untouched
    repo_copy = tmp_path / "repo"
    repo_copy.mkdir()
    shutil.copytree(BINDER, repo_copy / "binder")
    proc = subprocess.run(["bash", str(repo_copy / "binder" / "postBuild")], cwd=repo_copy, env=env,
                          capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "warning" not in proc.stderr.lower(), proc.stderr
    assert "install --no-deps -e ." in (tmp_path / "pip.log").read_text()

    etc = env_dir / "etc" / "jupyter"
    page = json.loads((etc / "labconfig" / "page_config.json").read_text())
    disabled = {k for k, v in page["disabledExtensions"].items() if v}
    assert disabled == INSTRUCTOR_PLUGINS
    listing = subprocess.run([str(bindir / "jupyter"), "server", "extension", "list"], env=env,
                             capture_output=True, text=True, timeout=120)
    text = re.sub(r"\x1b\[[0-9;]*m", "", listing.stdout + listing.stderr)
    for module in INSTRUCTOR_SERVER:
        assert re.search(rf"{re.escape(module)}\s+disabled", text), text
    for module in STUDENT_SERVER:
        assert re.search(rf"{re.escape(module)}\s+enabled", text), text
    course = json.loads((etc / "jupyter_server_config.d" / "matdiff-course.json").read_text())
    assert course["ServerApp"]["default_url"] == "/lab/tree/notebooks"
