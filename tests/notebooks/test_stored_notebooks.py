"""The notebooks as committed: executed in order without errors, reproducible, and exercises in step with solutions.

nbval itself runs lessons/ and solutions/ (see [tool.pytest.ini_options] in pyproject.toml); these
tests check what nbval cannot see: the stored files themselves.
"""

import tomllib

import pytest

from dlteach.course import notebooks, release
from dlteach.course.execute import execute_notebook

ROOT = notebooks.course_root()
STORED = notebooks.course_notebooks(ROOT)
IDS = [str(p.relative_to(ROOT)) for p in STORED]


@pytest.mark.parametrize("path", STORED, ids=IDS)
def test_stored_notebook_is_executed_in_order_without_errors_or_huge_images(path):
    assert notebooks.problems(path) == []


@pytest.mark.parametrize("path", STORED, ids=IDS)
def test_execute_reproduces_the_committed_outputs(path):
    # The committed file is the output of `dlteach execute`: executing again must give it back, text
    # and widget state exactly, figures up to the few pixels another CPU's last bits move
    # (notebooks.stale_outputs). Byte-for-byte reproducibility on one machine: tests/course/test_execute.py.
    fresh = execute_notebook(path, root=ROOT, write=False)
    assert notebooks.stale_outputs(path.read_bytes(), fresh) == [], (
        f"{path.relative_to(ROOT)}: `dlteach execute` changes this notebook; run `make execute` and commit, "
        "and if it changes on every run, find the output that is not deterministic")


def test_exercises_are_exactly_what_release_makes_from_solutions():
    released = release.release(ROOT, write=False)
    assert released, "solutions/ holds no notebook"
    for path, data in released.items():
        assert path.exists() and path.read_bytes() == data, \
            f"{path.relative_to(ROOT)} differs from a fresh release; run `make release` and commit"
    extra = set(notebooks.course_notebooks(ROOT, ("exercises",))) - set(released)
    assert not extra, f"exercises without a solution: {sorted(map(str, extra))}"


def test_every_lesson_and_solution_is_collected_by_strict_nbval():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    addopts = config["addopts"].split()
    assert {"lessons", "solutions"} <= set(config["testpaths"]) and "exercises" not in config["testpaths"]
    assert "--nbval" in addopts and "--nbval-lax" not in addopts and "--nbval-current-env" in addopts
    assert addopts[addopts.index("--nbval-sanitize-with") + 1] == str(notebooks.SANITIZE_FILE)
    assert addopts[addopts.index("--dist") + 1] == "loadfile"
