"""Every exercise of the course, graded as shipped and as solved: 0 points, "not attempted" for each
part of the released exercise; full marks for the solution. Exercise 04 has the full set of grading
cases (test_grading.py); this test makes sure no other exercise ships unable to grade.
"""

import shutil

import pytest
from grading_cases import ROOT, snapshot

from dlteach.course import grade, notebooks

SOLUTIONS = notebooks.course_notebooks(ROOT, ("solutions",))


@pytest.mark.parametrize("solution", SOLUTIONS, ids=[p.stem for p in SOLUTIONS])
def test_shipped_exercise_scores_zero_and_its_solution_full_marks(solution, tmp_path):
    name = solution.stem
    exercise = ROOT / "exercises" / f"{name}.ipynb"
    assert exercise.exists(), f"exercises/{name}.ipynb is missing; run `dlteach release {name}`"
    shipped, solved = tmp_path / "shipped" / f"{name}.ipynb", tmp_path / "solved" / f"{name}.ipynb"
    for source, target in ((exercise, shipped), (solution, solved)):
        target.parent.mkdir()
        shutil.copyfile(source, target)
    before = [snapshot(f.parent) for f in (shipped, solved)]

    # The default time limits: a solution must pass within what a learner's answer is given.
    as_shipped, as_solved = grade.grade([shipped, solved], root=ROOT, jobs=2)

    for result in (as_shipped, as_solved):
        assert result.error == "" and result.exercise == name, (result.submission, result.error)
        assert result.parts and all(p.points > 0 for p in result.parts), \
            f"{name}: every graded part must be worth points: {[(p.id, p.points) for p in result.parts]}"
    assert as_shipped.score == 0 and {p.reason for p in as_shipped.parts} == {grade.NOT_ATTEMPTED}, \
        [(p.id, p.reason) for p in as_shipped.parts]
    assert as_solved.score == as_solved.possible - as_solved.pending, \
        [(p.id, p.reason) for p in as_solved.parts if p.status != "pass"]
    assert [snapshot(f.parent) for f in (shipped, solved)] == before, "grading changed a submitted file"
