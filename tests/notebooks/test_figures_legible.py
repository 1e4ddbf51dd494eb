"""Every figure a lesson shows is legible at 100% zoom (dlteach.viz.legibility_problems): no text under
11 px as displayed, nothing outside the figure, no legend cut off, no title under a colour bar.

nbval cannot see a figure (it skips image/png), and most figures are drawn in the lessons' own cells,
so each lesson runs top to bottom in this process, as tests/notebooks/test_widget_calls.py runs them.
After each cell, every figure made or drawn during it is checked as the inline backend would show it,
then pyplot's figures are closed, as the inline backend closes them. The widgets' figures across their
slider ranges: tests/unit/test_widget_bench_cases.py.
"""

import contextlib
import io
import os

import matplotlib.pyplot as plt
import pytest
from IPython.core.interactiveshell import InteractiveShell
from matplotlib.figure import Figure

from dlteach import viz
from dlteach.course import notebooks

ROOT = notebooks.course_root()
LESSONS = [p for p in notebooks.course_notebooks(ROOT, ("lessons",))
           if "matplotlib" in "".join(c.source for c in notebooks.read(p).cells if c.cell_type == "code")]


def _collecting(monkeypatch):
    """A list that collects each Figure made or drawn (in full, or by blitting) from now on."""
    found = []
    originals = {name: getattr(Figure, name) for name in ("__init__", "draw", "draw_artist")}

    def wrap(name):
        def method(self, *args, **kwargs):
            result = originals[name](self, *args, **kwargs)
            if not any(f is self for f in found):
                found.append(self)
            return result
        return method

    for name in originals:
        monkeypatch.setattr(Figure, name, wrap(name))
    return found


@pytest.mark.parametrize("path", LESSONS, ids=[p.stem for p in LESSONS])
def test_every_figure_of_the_lesson_is_legible(path, monkeypatch):
    monkeypatch.chdir(path.parent)
    monkeypatch.setitem(os.environ, "MPLBACKEND", "Agg")
    found = _collecting(monkeypatch)
    shell = InteractiveShell.instance()
    problems, checked = [], 0
    for i, cell in enumerate(notebooks.read(path).cells):
        if cell.cell_type != "code":
            continue
        source = "\n".join(line for line in cell.source.splitlines() if not line.startswith("%matplotlib"))
        found.clear()
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            result = shell.run_cell(source, silent=True)
        assert result.success, f"{path.name}: cell {i} raised {result.error_in_exec!r}"
        figures = list(found)
        for fig in figures:
            problems += [f"cell {i}: {p}" for p in viz.legibility_problems(fig)]
        checked += len(figures)
        plt.close("all")
    assert checked, f"{path.name} imports matplotlib, yet no cell made or drew a figure"
    unique = list(dict.fromkeys(problems))
    assert not unique, f"{path.name}: {len(unique)} legibility problems, such as:\n" + "\n".join(unique[:15])
