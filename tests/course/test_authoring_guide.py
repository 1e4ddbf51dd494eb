"""The README's example exercise, built as an author would from the guide: it releases, and grades fairly."""

import json
import re

from grading_cases import ROOT
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from dlteach.cli import main
from dlteach.course import grade, notebooks


def readme_example():
    """The answer and check cells of the README's example, with the metadata their first lines name."""
    text = (ROOT / "README.md").read_text()
    section = text[text.index("### Writing an exercise"):]
    cells = []
    for block in re.findall(r"```python\n(.*?)```", section, re.S):
        first, body = block.split("\n", 1)
        meta = json.loads(re.search(r"metadata (\{.*\})", first).group(1))
        cells.append(new_code_cell(body, metadata={"dlteach": meta}))
    return cells


def test_the_readme_example_releases_and_grades_as_the_guide_says(tmp_path, capsys):
    answer, check = readme_example()
    assert answer.metadata["dlteach"] == {"id": "double", "role": "answer"}
    assert check.metadata["dlteach"] == {"id": "double", "role": "check", "points": 2}
    imports = new_code_cell("import numpy as np\n\nfrom dlteach.course import verdict")
    root = tmp_path / "course"
    (root / "solutions").mkdir(parents=True)
    solution = root / "solutions" / "01_double.ipynb"
    solution.write_bytes(notebooks.to_bytes(new_notebook(cells=[new_markdown_cell("# Doubling"), imports, answer,
                                                                 check])))
    assert main(["execute", str(solution), "--course", str(root)]) == 0
    assert "double: ok" in json.dumps(notebooks.read(solution).cells[3].outputs)
    assert main(["release", "--course", str(root)]) == 0
    exercise = notebooks.read(root / "exercises" / "01_double.ipynb")
    assert "raise NotImplementedError" in exercise.cells[2].source and "HIDDEN" not in exercise.cells[3].source
    assert all(not c.get("outputs") for c in exercise.cells)

    wrong = json.loads((root / "exercises" / "01_double.ipynb").read_text())
    wrong["cells"][2]["source"] = "def double(x):\n    return -2 * x\n"
    (tmp_path / "01_double_mallory.ipynb").write_text(json.dumps(wrong))
    shipped, solved, flipped = grade.grade([root / "exercises" / "01_double.ipynb", solution,
                                            tmp_path / "01_double_mallory.ipynb"], root=root)
    assert shipped.score == 0 and shipped.parts[0].reason == "not attempted"
    assert solved.score == solved.possible == 2
    (part,) = flipped.parts
    assert part.earned == 0 and "the sign is flipped" in part.feedback
    assert "(and in 3 more cases)" in part.feedback and flipped.student == "mallory"
