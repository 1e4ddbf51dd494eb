"""Lessons run the same whatever the learner's shell sets: MPLBACKEND=Agg (common on servers and in CI)
must neither hide the figures nor break the live widgets."""

import os
import subprocess
import sys

import pytest

from dlteach.course import notebooks

ROOT = notebooks.course_root()
PLOTTING = [p for p in notebooks.course_notebooks(ROOT, ("lessons", "solutions", "exercises"))
            if "matplotlib" in "".join(c.source for c in notebooks.read(p).cells if c.cell_type == "code")]


@pytest.mark.parametrize("path", PLOTTING, ids=[str(p.relative_to(ROOT)) for p in PLOTTING])
def test_notebook_that_plots_chooses_the_inline_backend_in_its_first_code_cell(path):
    first = next(c for c in notebooks.read(path).cells if c.cell_type == "code")
    assert first.source.startswith("%matplotlib inline\n"), \
        f"{path.relative_to(ROOT)}: its first code cell must start with %matplotlib inline (MPLBACKEND may be set)"


def test_a_lesson_passes_strict_nbval_with_mplbackend_agg_set():
    env = {**os.environ, "MPLBACKEND": "Agg"}
    run = subprocess.run([sys.executable, "-m", "pytest", "-n", "0", "-p", "no:cacheprovider", "-q",
                          "lessons/00_welcome.ipynb"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert run.returncode == 0, f"lesson 00 fails under MPLBACKEND=Agg:\n{run.stdout[-3000:]}"
