"""Grade submissions: the learner's answer cells, in a pristine exercise plus hidden tests, run by nbval.

Only answer cells are taken from a submission (matched by their dlteach id, or failing that by the
cell id the exercise gave them). Everything else, check cells and their expected outputs included,
comes from exercises/, with the hidden tests of solutions/ put back into the check cells. nbval
then runs that copy from a temporary folder in a fresh kernel; a part earns its points when its
check cell passes. The submission file is only ever read.
"""

import json
import os
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat

from dlteach.course import notebooks, release

NOT_ATTEMPTED = "not attempted"
# pytest, started so that jsonschema skips its optional IRI checker (~2 s of CPU per start; see
# commands.skip_slow_imports); the grader starts one pytest per submission.
PYTEST = ("import sys; sys.modules['rfc3987_syntax'] = None; import pytest; "
          "sys.exit(pytest.main(sys.argv[1:]))")
NOT_RUN = "not run: grading stopped before this part"


class GradingError(Exception):
    """Grading could not run for a submission; the message says why."""


@dataclass
class Part:
    """One graded part: its points, what the learner earned, and the first line of the reason."""
    id: str
    points: float
    earned: float = 0
    status: str = "fail"          # "pass" or "fail"
    reason: str = ""


@dataclass
class Result:
    """The grade of one submission, or the reason it could not be graded (error)."""
    submission: str
    exercise: str = ""
    parts: list = field(default_factory=list)
    written: list = field(default_factory=list)   # ids of markdown answers, graded by hand
    error: str = ""

    @property
    def score(self):
        return sum(p.earned for p in self.parts)

    @property
    def possible(self):
        return sum(p.points for p in self.parts)

    def to_dict(self):
        return {**asdict(self), "score": self.score, "possible": self.possible}


def find_exercise(submission, path, root):
    """The released exercise's name: from the submission's metadata, its file name, or its answer ids."""
    name = submission.metadata.get("dlteach", {}).get("exercise")
    exercises = {p.stem: p for p in notebooks.course_notebooks(root, ("exercises",))}
    if isinstance(name, str) and name in exercises:
        return name
    stem = Path(path).stem
    matches = sorted((e for e in exercises if stem == e or stem.startswith(e)), key=len, reverse=True)
    if matches:
        return matches[0]
    answers = _answer_ids(submission)
    by_answers = [e for e, p in exercises.items() if answers and _answer_ids(notebooks.read(p)) == answers]
    if len(by_answers) == 1:
        return by_answers[0]
    raise GradingError(f"cannot tell which exercise this is: metadata dlteach.exercise is {name!r}, and "
                       f"neither the file name nor the answer cells match one of exercises/ "
                       f"({', '.join(sorted(exercises)) or 'none'})")


def _answer_ids(nb):
    return {m["id"] for m in map(notebooks.graded, nb.cells) if m and m.get("role") == "answer"}


def assemble(submission, exercise, solution, where="submission"):
    """The notebook nbval runs: the exercise, with the submission's answers and the solution's hidden tests."""
    ex_parts = release.parts(exercise, "exercise")
    sol_parts = release.parts(solution, "solution")
    by_meta, by_cell_id = {}, {}
    for cell in submission.cells:
        meta = notebooks.graded(cell)
        if cell.cell_type != "code":
            continue
        if meta and meta.get("role") == "answer":
            by_meta.setdefault(meta.get("id"), cell)
        if cell.get("id"):
            by_cell_id.setdefault(cell.id, cell)
    nb = nbformat.from_dict(json.loads(json.dumps(exercise)))
    for part, roles in ex_parts.items():
        if "answer" in roles:
            cell = nb.cells[roles["answer"]]
            mine = by_meta.get(part) or by_cell_id.get(cell.get("id"))
            if mine is not None:
                cell.source = mine.source
            cell.outputs, cell.execution_count = [], None
        if "check" in roles:
            if "check" not in sol_parts.get(part, {}):
                raise GradingError(f"{where}: the solution has no check cell for part '{part}'")
            hidden = solution.cells[sol_parts[part]["check"]].source
            nb.cells[roles["check"]].source = release.with_hidden_tests(hidden)
    return nb


def _code_index(nb):
    """Map each notebook cell index to its index among code cells (nbval's 'Cell N')."""
    return {i: n for n, i in enumerate(i for i, c in enumerate(nb.cells) if c.cell_type == "code")}


def run_nbval(nb, name, *, root, timeout):
    """Run strict nbval on nb in a temporary folder; return {code cell index: record} from nbval_report."""
    sanitize = Path(root) / notebooks.SANITIZE_FILE
    code_cells = sum(c.cell_type == "code" for c in nb.cells)
    with tempfile.TemporaryDirectory(prefix="dlteach-grade-") as tmp:
        tmp = Path(tmp)
        target, report, log = tmp / f"{name}.ipynb", tmp / "report.jsonl", tmp / "pytest.log"
        target.write_bytes(notebooks.to_bytes(nb))
        (tmp / "pytest.ini").write_text("[pytest]\n")   # keeps the course's own pytest options out
        cmd = [sys.executable, "-c", PYTEST, str(target), "-c", str(tmp / "pytest.ini"), "--rootdir", str(tmp),
               "-q", "-p", "no:cacheprovider", "-p", "nbval.plugin", "-p", "dlteach.course.nbval_report",
               "--nbval", "--nbval-current-env", f"--nbval-cell-timeout={timeout}",
               f"--dlteach-report={report}"]
        if sanitize.exists():
            cmd.append(f"--nbval-sanitize-with={sanitize}")
        env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", "PYTHONHASHSEED": "0"}
        env.pop("MPLBACKEND", None)
        # Generous overall limit: every cell may use its timeout, plus the 5 s nbval waits after one.
        limit = 60 + code_cells * (timeout + 10)
        with open(log, "wb") as out:
            try:
                subprocess.run(cmd, cwd=tmp, env=env, stdout=out, stderr=subprocess.STDOUT, timeout=limit)
            except subprocess.TimeoutExpired:
                pass   # the cells recorded so far still count; the rest are "not run"
        records = {}
        if report.exists():
            for line in report.read_text(encoding="utf-8").splitlines():
                record = json.loads(line)
                records[record["cell"]] = record
        if not records:
            tail = log.read_bytes()[-2000:].decode("utf-8", "replace").strip().splitlines()
            raise GradingError("nbval ran no cell: " + (tail[-1] if tail else "pytest printed nothing"))
        setup = [r for r in records.values() if r["kind"] == "setup"]
        if setup:
            raise GradingError(setup[0]["reason"])
        return records


def score(nb, records):
    """Turn per-cell records into parts: a check cell that passed earns its points."""
    code_index = _code_index(nb)
    parts, written = [], []
    ex_parts = release.parts(nb, "exercise")
    for part, roles in ex_parts.items():
        if "written" in roles:
            written.append(part)
        if "check" not in roles:
            continue
        points = nb.cells[roles["check"]].metadata["dlteach"].get("points", 0)
        check = records.get(code_index[roles["check"]])
        answer = records.get(code_index[roles["answer"]], {})
        result = Part(id=part, points=points)
        if check is None:
            result.reason = NOT_RUN
        elif check["passed"]:
            result.earned, result.status = points, "pass"
        elif NotImplementedError.__name__ in (check["kind"], answer.get("kind")):
            result.reason = NOT_ATTEMPTED
        elif answer and not answer["passed"] and answer["kind"] not in ("skipped", "dead"):
            result.reason = "answer cell: " + answer["reason"]
        else:
            result.reason = check["reason"]
        parts.append(result)
    return parts, written


def grade_one(path, *, root, timeout=60):
    """Grade one submission file; never raises for a problem with the submission, returns Result.error."""
    path = Path(path)
    result = Result(submission=str(path))
    try:
        submission = nbformat.reads(path.read_bytes().decode("utf-8"), as_version=4)
    except Exception as exc:   # a broken file is reported, whatever nbformat raised
        result.error = f"not a readable Jupyter notebook ({type(exc).__name__}: {str(exc)[:200]})"
        return result
    try:
        name = result.exercise = find_exercise(submission, path, root)
        exercise = notebooks.read(Path(root) / "exercises" / f"{name}.ipynb")
        solution = notebooks.read(Path(root) / "solutions" / f"{name}.ipynb")
        nb = assemble(submission, exercise, solution, where=str(path))
        records = run_nbval(nb, name, root=root, timeout=timeout)
        result.parts, result.written = score(nb, records)
    except (GradingError, release.ReleaseError, ValueError, OSError) as exc:
        result.error = str(exc)
    return result


def submissions_in(targets):
    """Expand the targets (notebooks, or folders searched recursively) into a sorted list of notebooks."""
    found = []
    for target in map(Path, targets):
        if target.is_dir():
            found += sorted(p for p in target.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
        elif target.exists():
            found.append(target)
        else:
            raise GradingError(f"grade: argument SUBMISSION {target} does not exist; expected a notebook or a folder")
    return found


def grade(targets, *, root, timeout=60, jobs=1):
    """Grade every submission in targets, jobs at a time; return the Results in input order."""
    paths = submissions_in(targets)
    if not paths:
        raise GradingError(f"grade: no .ipynb files in {', '.join(map(str, targets))}")
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:   # each job is a pytest subprocess
        return list(pool.map(lambda p: grade_one(p, root=root, timeout=timeout), paths))


def table(result):
    """The human-readable grade of one submission: one row per part, then the total."""
    if result.error:
        return f"{result.submission}\n  could not grade: {result.error}\n"
    width = max([len("part")] + [len(p.id) for p in result.parts])
    rows = [f"{result.submission}  ({result.exercise})",
            f"  {'part':<{width}}  {'points':>9}  result  reason"]
    for p in result.parts:
        rows.append(f"  {p.id:<{width}}  {_num(p.earned):>4} / {_num(p.points):<2}  {p.status:<6}  {p.reason}".rstrip())
    rows.append(f"  {'total':<{width}}  {_num(result.score):>4} / {_num(result.possible)}")
    if result.written:
        rows.append(f"  written answers, graded by hand: {', '.join(result.written)}")
    return "\n".join(rows) + "\n"


def _num(x):
    return f"{x:g}"
