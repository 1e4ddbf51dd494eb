"""Write exercises/NN_name.ipynb from solutions/NN_name.ipynb: solutions become stubs, hidden tests vanish.

Graded cells carry nbgrader-style metadata, cell.metadata["dlteach"]:
    {"id": "softmax_jacobian", "role": "answer"}               code the learner writes
    {"id": "softmax_jacobian", "role": "check", "points": 2}   its check: passes when it raises nothing
    {"id": "proof", "role": "written", "points": 2}             a markdown answer, graded by hand
A part is the id shared by one answer cell and one check cell. A check cell may set "time_limit":
the seconds its part may take when graded (default: dlteach grade --timeout, 5 s).
"""

import copy
import re
from pathlib import Path

from dlteach.course import notebooks

BEGIN_SOLUTION, END_SOLUTION = "### BEGIN SOLUTION", "### END SOLUTION"
BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
CODE_STUB = ("# YOUR CODE HERE", "raise NotImplementedError")
WRITTEN_PROMPT = "YOUR ANSWER HERE"
ROLES = ("answer", "check", "written")
PART_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# A line that reads like a marker: any number of #, either case, SOLUTION(S), HIDDEN TEST(S).
LIKE_A_MARKER = re.compile(r"^\s*#+\s*(begin|end)\s*(solutions?|hidden\s*tests?)\b", re.IGNORECASE)
MARKERS = (BEGIN_SOLUTION, END_SOLUTION, BEGIN_HIDDEN, END_HIDDEN)


class ReleaseError(ValueError):
    """A solution notebook that cannot be released as it is; the message says where and why."""


def _replace_blocks(source, begin, end, replacement, where):
    """Replace each begin..end block (marker lines included) by replacement(indent) lines."""
    out, indent, inside = [], "", False
    for number, line in enumerate(source.splitlines(), start=1):
        marker = line.strip()
        if marker == begin:
            if inside:
                raise ReleaseError(f"{where}: line {number}: '{begin}' inside another '{begin}'")
            inside, indent = True, line[:len(line) - len(line.lstrip())]
            out += replacement(indent)
        elif marker == end:
            if not inside:
                raise ReleaseError(f"{where}: line {number}: '{end}' without a '{begin}' before it")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ReleaseError(f"{where}: '{begin}' is never closed by '{end}'")
    return "\n".join(out)


def strip_solution(source, where, *, markdown=False):
    """Replace each solution block by the stub ('# YOUR CODE HERE' + raise, or the written-answer prompt)."""
    stub = (WRITTEN_PROMPT,) if markdown else CODE_STUB
    return _replace_blocks(source, BEGIN_SOLUTION, END_SOLUTION, lambda indent: [indent + s for s in stub], where)


def strip_hidden_tests(source, where):
    """Remove each hidden-test block, markers included."""
    return _replace_blocks(source, BEGIN_HIDDEN, END_HIDDEN, lambda indent: [], where)


def with_hidden_tests(source):
    """The source with the hidden-test marker lines dropped and the tests between them kept."""
    return "\n".join(line for line in source.splitlines() if line.strip() not in (BEGIN_HIDDEN, END_HIDDEN))


def parts(nb, where):
    """Validate the grading metadata of a solution or exercise; return {part id: {role: cell index}}.

    Raises ReleaseError naming the cell when a role is unknown, an id is missing or repeated, points
    are not a non-negative number, or a check has no answer (or an answer no check).
    """
    found = {}
    for index, cell in enumerate(nb.cells):
        meta = notebooks.graded(cell)
        if meta is None:
            continue
        here = f"{where}: cell {index}"
        role, part = meta.get("role"), meta.get("id")
        if role not in ROLES:
            raise ReleaseError(f"{here}: metadata dlteach.role is {role!r}; expected one of {ROLES}")
        if not isinstance(part, str) or not PART_ID.match(part):
            raise ReleaseError(f"{here}: metadata dlteach.id is {part!r}; expected a name like 'softmax_jacobian'")
        expected_type = "markdown" if role == "written" else "code"
        if cell.cell_type != expected_type:
            raise ReleaseError(f"{here}: a '{role}' cell must be a {expected_type} cell, got {cell.cell_type}")
        limit = meta.get("time_limit")
        if limit is not None and (role != "check" or isinstance(limit, bool) or not isinstance(limit, (int, float))
                                  or limit <= 0):
            raise ReleaseError(f"{here}: metadata dlteach.time_limit is {limit!r}; expected a number of seconds > 0 "
                               "on a check cell")
        if role != "answer":
            points = meta.get("points")
            if isinstance(points, bool) or not isinstance(points, (int, float)) or points < 0:
                raise ReleaseError(f"{here}: metadata dlteach.points is {points!r}; expected a number >= 0")
        if role in found.setdefault(part, {}):
            raise ReleaseError(f"{here}: a second '{role}' cell for part '{part}' "
                               f"(the first is cell {found[part][role]})")
        found[part][role] = index
    for part, roles in found.items():
        if ("answer" in roles) != ("check" in roles):
            missing = "check" if "answer" in roles else "answer"
            raise ReleaseError(f"{where}: part '{part}' has no '{missing}' cell; each answer needs one check")
    return found


def check_markers(source, where):
    """Raise ReleaseError for a line that looks like a marker but is not exactly one: released as it is,
    it would leave the solution or the hidden tests in the exercise."""
    for number, line in enumerate(source.splitlines(), start=1):
        if LIKE_A_MARKER.match(line) and line.strip() not in MARKERS:
            raise ReleaseError(f"{where}: line {number}: {line.strip()!r} looks like a marker but is not one; "
                               f"the markers are exactly {', '.join(repr(m) for m in MARKERS)}")


def release_notebook(solution, name, where="solution"):
    """Return the exercise made from a solution notebook (which is left unchanged).

    Code between the solution markers becomes '# YOUR CODE HERE' and 'raise NotImplementedError';
    hidden tests are removed; written answers become a prompt; no cell keeps its outputs, so nothing
    shows a check passing before the learner has written anything. An answer cell without a solution
    block, or a line that looks like a marker and is not one, is an error that names the cell.
    """
    parts(solution, where)
    nb = copy.deepcopy(solution)
    for index, cell in enumerate(nb.cells):
        here = f"{where}: cell {index}"
        meta = notebooks.graded(cell) or {}
        check_markers(cell.source, here)
        if meta.get("role") == "answer" and BEGIN_SOLUTION not in (line.strip() for line in cell.source.splitlines()):
            raise ReleaseError(f"{here}: an answer cell without a '{BEGIN_SOLUTION}' block; released, it would "
                               "hand out its code as it is")
        if cell.cell_type == "markdown":
            if meta.get("role") == "written" and BEGIN_SOLUTION not in cell.source:
                cell.source = WRITTEN_PROMPT
            else:
                cell.source = strip_solution(cell.source, here, markdown=True)
        elif cell.cell_type == "code":
            cell.source = strip_hidden_tests(strip_solution(cell.source, here), here)
            cell.outputs, cell.execution_count = [], None
    nb.metadata["dlteach"] = {"exercise": name}
    return nb


def release(root, names=None, *, write=True):
    """Release solutions/<name>.ipynb to exercises/<name>.ipynb for each name (default: every solution).

    Returns {exercise path: canonical bytes}; with write=True, files whose bytes change are rewritten.
    """
    root = Path(root)
    paths = notebooks.course_notebooks(root, ("solutions",)) if not names else \
        [root / "solutions" / f"{Path(n).stem}.ipynb" for n in names]
    released = {}
    for path in paths:
        if not path.exists():
            raise ReleaseError(f"release: no solution notebook {path}; expected solutions/NN_name.ipynb")
        rel = path.relative_to(root / "solutions")
        nb = release_notebook(notebooks.read(path), path.stem, where=str(path))
        target = root / "exercises" / rel
        released[target] = notebooks.to_bytes(nb)
        if write:
            notebooks.write_if_changed(target, released[target])
    return released


def verify(root, released, *, jobs=2):
    """Grade each solution against its fresh release, as a submission; raise ReleaseError naming every part
    it does not pass in full. A check edited without re-running the solution, or one that no longer
    accepts the solution, is found here, before a class is graded with it. The solutions are the
    instructor's own code: they run unsandboxed, in a scratch copy of the course.
    """
    import shutil
    import tempfile

    # Imported here: grade imports this module.
    from dlteach.course import grade
    root = Path(root)
    with tempfile.TemporaryDirectory(prefix="dlteach-release-") as tmp:
        (Path(tmp) / "exercises").mkdir()
        (Path(tmp) / "solutions").mkdir()
        for target, data in released.items():
            (Path(tmp) / "exercises" / target.name).write_bytes(data)
            shutil.copyfile(root / "solutions" / target.name, Path(tmp) / "solutions" / target.name)
        results = grade.grade([Path(tmp) / "solutions"], root=tmp, sandboxed=False, jobs=jobs)
    problems = []
    for r in results:
        name = f"solutions/{Path(r.submission).name}"
        if r.error:
            problems.append(f"{name}: could not be graded against its release ({r.error})")
        problems += [f"{name}: part {p.id} earns {p.earned:g} of {p.points:g} ({p.reason})"
                     for p in r.parts if p.earned != p.points]
    if problems:
        raise ReleaseError("a solution does not pass its own released exercise; fix the check or the solution:\n  "
                           + "\n  ".join(problems))
