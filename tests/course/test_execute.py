"""dlteach execute stores outputs reproducibly: a second run, figures and widgets included, changes no byte."""

import json

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from dlteach.cli import main
from dlteach.course import notebooks
from dlteach.course.execute import ExecutionFailed, execute_notebook

ROOT = notebooks.course_root()

CELLS = [
    "import time\n\nimport matplotlib.pyplot as plt\nimport numpy as np\nfrom ipywidgets import IntSlider, interact",
    "fig, ax = plt.subplots(figsize=(3, 2))\nax.plot(np.arange(5) ** 2)\nplt.show()",
    "# NBVAL_IGNORE_OUTPUT\n_ = interact(lambda n: print(2 * n), n=IntSlider(value=3, min=0, max=5))",
    "print({'beta', 'alpha', 'gamma', 'delta'})",
    "start = time.perf_counter()\nprint(f'took {time.perf_counter() - start:.6f} s')",
    "",
]


def test_executing_twice_changes_no_byte(tmp_path, capsys):
    path = tmp_path / "lesson.ipynb"
    nbformat.write(new_notebook(cells=[new_code_cell(src) for src in CELLS]), str(path))
    first = execute_notebook(path, root=ROOT)
    assert path.read_bytes() == first
    assert main(["execute", str(path)]) == 0
    assert "unchanged" in capsys.readouterr().out
    assert path.read_bytes() == first

    nb = json.loads(first)
    outputs = [c["outputs"] for c in nb["cells"]]
    assert "image/png" in outputs[1][0]["data"], "the figure is stored"
    assert notebooks.WIDGET_VIEW in outputs[2][0]["data"] and "widgets" in nb["metadata"]
    assert "".join(outputs[4][0]["text"]) == "took TIME\n", "timings are stored sanitized"
    assert [c["execution_count"] for c in nb["cells"]] == [1, 2, 3, 4, 5, None]
    assert notebooks.problems(path) == []


def test_a_failing_cell_names_the_notebook(tmp_path):
    path = tmp_path / "broken.ipynb"
    nbformat.write(new_notebook(cells=[new_code_cell("1 / 0")]), str(path))
    before = path.read_bytes()
    with pytest.raises(ExecutionFailed, match="broken.ipynb.*ZeroDivisionError"):
        execute_notebook(path, root=ROOT)
    assert path.read_bytes() == before
