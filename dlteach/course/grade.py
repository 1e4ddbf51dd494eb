"""Grade submissions: the learner's answer cells run in a sandbox, the checks in the grader's own process.

Only answer cells are taken from a submission (matched by their dlteach id, or failing that by the
cell id the exercise gave them); everything else comes from exercises/, and the checks, hidden tests
included, from solutions/. Each submission is graded by a trusted grader process of its own
(trusted.py) that starts the student's code in a sandbox (sandbox.py) and calls it across the process
boundary with plain data only (wire.py). A part earns its points when its check runs without raising.
The submission file is only ever read.
"""

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat

from dlteach.course import notebooks, release, sandbox
from dlteach.course.trusted import NOT_ATTEMPTED  # noqa: F401  (the reason the grades show; tests read it here)

# The trusted grader, started so that jsonschema skips its optional IRI checker (~2 s of CPU per start;
# see commands.skip_slow_imports); one per submission.
TRUSTED = ("import sys; sys.modules['rfc3987_syntax'] = None; from dlteach.course import trusted; "
           "sys.argv[0] = 'dlteach.course.trusted'; sys.exit(trusted.main())")


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


def find_exercise(submission, path, root, expected=None):
    """The released exercise's name: from the submission's metadata, its file name, or its answer ids.

    A submission whose metadata and file name name two different exercises, or another exercise than
    `expected` (dlteach grade --exercise), is refused: grading it against the wrong checks is never fair.
    """
    name = submission.metadata.get("dlteach", {}).get("exercise")
    exercises = {p.stem: p for p in notebooks.course_notebooks(root, ("exercises",))}
    stem = Path(path).stem
    by_file = sorted((e for e in exercises if stem == e or stem.startswith(e)), key=len, reverse=True)
    found = None
    if isinstance(name, str) and name in exercises:
        found = name
        if by_file and by_file[0] != name:
            raise GradingError(f"its metadata says exercise {name} but its file name says {by_file[0]}; "
                               "rename the file or grade it with --exercise")
    elif by_file:
        found = by_file[0]
    else:
        answers = _answer_ids(submission)
        by_answers = [e for e, p in exercises.items() if answers and _answer_ids(notebooks.read(p)) == answers]
        if len(by_answers) == 1:
            found = by_answers[0]
    if found is None and expected in exercises:
        found = expected
    if found is None:
        raise GradingError(f"cannot tell which exercise this is: metadata dlteach.exercise is {name!r}, and "
                           f"neither the file name nor the answer cells match one of exercises/ "
                           f"({', '.join(sorted(exercises)) or 'none'})")
    if expected is not None and found != expected:
        raise GradingError(f"this is exercise {found}, not {expected} (--exercise)")
    return found


def _answer_ids(nb):
    return {m["id"] for m in map(notebooks.graded, nb.cells) if m and m.get("role") == "answer"}


def grade_one(path, *, root, timeout=10, sandboxed=True, limits=None, exercise=None):
    """Grade one submission file; never raises for a problem with the submission, returns Result.error."""
    path = Path(path)
    result = Result(submission=str(path))
    try:
        submission = nbformat.reads(path.read_bytes().decode("utf-8"), as_version=4)
    except Exception as exc:   # a broken file is reported, whatever nbformat raised
        result.error = f"not a readable Jupyter notebook ({type(exc).__name__}: {str(exc)[:200]})"
        return result
    try:
        name = result.exercise = find_exercise(submission, path, root, expected=exercise)
        exercise, solution = Path(root) / "exercises" / f"{name}.ipynb", Path(root) / "solutions" / f"{name}.ipynb"
        release.parts(notebooks.read(solution), "solution")        # a broken solution is the grader's error
        cmd = [sys.executable, "-c", TRUSTED, str(exercise), str(solution), str(path.resolve()), "--timeout", str(timeout),
               "--limits", json.dumps(asdict(limits or sandbox.Limits()))]
        if not sandboxed:
            cmd.append("--no-sandbox")
        cells = sum(c.cell_type == "code" for c in notebooks.read(exercise).cells)
        limit = 180 + cells * (timeout + 10) * 2     # startups, restarts after a timeout, every check
        try:
            run = subprocess.run(cmd, capture_output=True, timeout=limit, env={**os.environ, "MPLBACKEND": "Agg"})
        except subprocess.TimeoutExpired:
            raise GradingError("could not grade: the grader took too long") from None
        lines = run.stdout.decode("utf-8", "replace").strip().splitlines()
        out = json.loads(lines[-1]) if lines else {"error": "could not grade: the grader returned nothing "
                                                            f"({run.stderr.decode('utf-8', 'replace').strip()[-200:]})"}
        if out.get("error"):
            raise GradingError(out["error"])
        result.parts = [Part(**p) for p in out["parts"]]
        result.written = out["written"]
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


def grade(targets, *, root, timeout=10, jobs=1, sandboxed=True, limits=None, exercise=None):
    """Grade every submission in targets, jobs at a time; return the Results in input order.

    sandboxed=False runs the submissions' code unconfined (still in processes of their own); with
    sandboxed=True a missing bubblewrap is an error that says how to install it.
    """
    paths = submissions_in(targets)
    if not paths:
        raise GradingError(f"grade: no .ipynb files in {', '.join(map(str, targets))}")
    if sandboxed and sandbox.bwrap() is None:
        raise GradingError(f"grade: the sandbox tool bubblewrap (bwrap) is not installed; {sandbox.INSTALL_HINT}")
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:   # each job is a grader subprocess
        return list(pool.map(lambda p: grade_one(p, root=root, timeout=timeout, sandboxed=sandboxed, limits=limits,
                                                 exercise=exercise), paths))


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
