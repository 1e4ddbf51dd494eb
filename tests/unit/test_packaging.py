"""pyproject.toml (pip) and environment.yml (conda, Binder) list the same dependencies: what the README's
commands need, the library's and the presenting extra's (`make voila`)."""

import re
import tomllib
from pathlib import Path

import dlteach

ROOT = Path(__file__).resolve().parents[2]


def _name(spec):
    return re.split(r"[<>=!~ \[]", spec.strip(), maxsplit=1)[0].lower()


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    needed = project["dependencies"] + project["optional-dependencies"]["present"]
    pip_deps = {_name(d): d.replace(" ", "") for d in needed}
    conda = {}
    text = (ROOT / "environment.yml").read_text()
    for line in text.split("dependencies:", 1)[1].splitlines():
        m = re.match(r"^  - ([A-Za-z0-9_.\-]+[^#]*)$", line)
        if m and not m.group(1).startswith("pip"):
            conda[_name(m.group(1))] = m.group(1).strip().replace(" ", "")
    conda.pop("python", None)
    assert conda == pip_deps


def test_version_agrees():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["version"] == dlteach.__version__


def test_python_floor_is_310():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["requires-python"] == ">=3.10"
