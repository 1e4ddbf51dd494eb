"""dlteach release: solutions become stubs, hidden tests vanish, no output is released, and errors say where."""

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from dlteach.course import notebooks, release

SOLUTION = '''def f(x):
    """Double x."""
    ### BEGIN SOLUTION
    return 2 * x
    ### END SOLUTION'''

CHECK = '''assert f(1) == 2
### BEGIN HIDDEN TESTS
assert f(21) == 42
### END HIDDEN TESTS
print("double: ok")'''


def solution_notebook():
    answer = new_code_cell(SOLUTION, metadata={"dlteach": {"id": "double", "role": "answer"}}, execution_count=1,
                           outputs=[new_output("stream", name="stdout", text="hi\n")])
    check = new_code_cell(CHECK, metadata={"dlteach": {"id": "double", "role": "check", "points": 2}},
                          execution_count=2, outputs=[new_output("stream", name="stdout", text="double: ok\n")])
    written = new_markdown_cell("Because 2 + 2 = 4.", metadata={"dlteach": {"id": "why", "role": "written", "points": 1}})
    demo = new_code_cell("print(f(3))", execution_count=3, outputs=[new_output("stream", name="stdout", text="6\n")])
    return new_notebook(cells=[new_markdown_cell("# Doubling"), answer, check, written, demo])


def test_release_replaces_solutions_hides_tests_and_releases_no_output():
    solution = solution_notebook()
    before = nbformat.writes(solution)
    ex = release.release_notebook(solution, "01_double")
    answer, check, written, demo = ex.cells[1:]
    assert answer.source.splitlines()[-2:] == ["    # YOUR CODE HERE", "    raise NotImplementedError"]
    assert "2 * x" not in answer.source and "BEGIN" not in answer.source
    assert answer.outputs == [] and answer.execution_count is None
    assert "f(21)" not in check.source and "HIDDEN" not in check.source
    assert check.outputs == [] and check.execution_count is None, "a stored 'ok' would show a pass before any work"
    assert written.source == release.WRITTEN_PROMPT
    assert demo.outputs == [] and demo.execution_count is None
    assert ex.metadata["dlteach"] == {"exercise": "01_double"}
    assert nbformat.writes(solution) == before, "release must not modify the solution"


def test_with_hidden_tests_keeps_the_tests_and_drops_the_markers():
    source = release.with_hidden_tests(CHECK)
    assert "assert f(21) == 42" in source and "HIDDEN" not in source


def test_markdown_solution_block_becomes_the_prompt():
    source = "Answer:\n### BEGIN SOLUTION\nsecret\n### END SOLUTION\nend"
    assert release.strip_solution(source, "cell", markdown=True) == f"Answer:\n{release.WRITTEN_PROMPT}\nend"


@pytest.mark.parametrize("source, message", [
    ("### BEGIN SOLUTION\nx = 1", "never closed"),
    ("x = 1\n### END SOLUTION", "without a '### BEGIN SOLUTION'"),
    ("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION", "inside another"),
])
def test_unbalanced_markers_name_the_cell_and_line(source, message):
    with pytest.raises(release.ReleaseError, match=message) as info:
        release.strip_solution(source, "solutions/x.ipynb: cell 4")
    assert "cell 4" in str(info.value)


@pytest.mark.parametrize("change, message", [
    (lambda nb: nb.cells[2].metadata["dlteach"].update(points=-1), "points is -1"),
    (lambda nb: nb.cells[2].metadata["dlteach"].update(role="test"), "role is 'test'"),
    (lambda nb: nb.cells[1].metadata["dlteach"].update(id="has space"), "id is 'has space'"),
    (lambda nb: nb.cells.pop(2), "part 'double' has no 'check' cell"),
    (lambda nb: nb.cells.append(nb.cells[1].copy()), "a second 'answer' cell for part 'double'"),
])
def test_bad_metadata_is_refused_with_a_clear_message(change, message):
    nb = solution_notebook()
    change(nb)
    with pytest.raises(release.ReleaseError, match=message):
        release.release_notebook(nb, "01_double")


def test_release_writes_exercises_and_a_second_release_changes_nothing(tmp_path):
    (tmp_path / "solutions").mkdir()
    (tmp_path / "solutions" / "01_double.ipynb").write_bytes(notebooks.to_bytes(solution_notebook()))
    first = release.release(tmp_path)
    target = tmp_path / "exercises" / "01_double.ipynb"
    assert list(first) == [target] and target.read_bytes() == first[target]
    mtime = target.stat().st_mtime_ns
    assert release.release(tmp_path) == first
    assert target.stat().st_mtime_ns == mtime, "an unchanged exercise must not be rewritten"


@pytest.mark.parametrize("marker", ["## BEGIN SOLUTION", "### begin solution", "### BEGIN SOLUTIONS", "#BEGIN SOLUTION",
                                    "### END SOLUTIONS", "### BEGIN HIDDEN TEST", "### begin hidden tests",
                                    "### END HIDDEN TEST"])
def test_a_near_miss_marker_is_an_error_naming_the_cell_and_line(marker):
    nb = solution_notebook()
    kind = marker.upper()
    if "SOLUTION" in kind:
        nb.cells[1].source = SOLUTION.replace("### BEGIN SOLUTION" if "BEGIN" in kind else "### END SOLUTION", marker)
    else:
        nb.cells[2].source = CHECK.replace("### BEGIN HIDDEN TESTS" if "BEGIN" in kind else "### END HIDDEN TESTS", marker)
    with pytest.raises(release.ReleaseError, match=r"cell [12]: line \d+: .* looks like a marker but is not one"):
        release.release_notebook(nb, "01_double")


def test_an_answer_cell_without_a_solution_block_is_an_error():
    nb = solution_notebook()
    nb.cells[1].source = "def f(x):\n    return 2 * x"
    with pytest.raises(release.ReleaseError, match=r"cell 1: an answer cell without a '### BEGIN SOLUTION' block"):
        release.release_notebook(nb, "01_double")
