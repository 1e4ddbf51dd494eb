"""Grade submissions: the learner's answer cells run in a sandbox, the checks in the grader's own process.

Only answer cells are taken from a submission (matched by their dlteach id, the cell id the exercise
gave them, or the functions they define); everything else comes from exercises/, and the checks,
hidden tests included, from solutions/. Each submission is graded by a trusted grader process of its
own (trusted.py) that starts the student's code in a sandbox (sandbox.py) and calls it across the
process boundary with plain data only (wire.py). A part earns its points times the share of its
checks that passed (verdict.Part); printed text and warnings count for nothing. The submission file
is only ever read; gradebook.py writes a class's grades (--out).
"""

import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat

from dlteach.course import notebooks, release, sandbox, trusted

NOT_ATTEMPTED = trusted.NOT_ATTEMPTED      # the reason the grades show; tests read it here

# The trusted grader, started so that jsonschema skips its optional IRI checker (~2 s of CPU per start;
# see commands.skip_slow_imports); one per submission.
TRUSTED = ("import sys; sys.modules['rfc3987_syntax'] = None; from dlteach.course import trusted; "
           "sys.argv[0] = 'dlteach.course.trusted'; sys.exit(trusted.main())")


class GradingError(Exception):
    """Grading could not run for a submission; the message says why."""


@dataclass
class Part:
    """One graded part: its points, what the learner earned, and why.

    status: "pass", "partial" (some of its checks passed) or "fail". reason: one line for a table;
    feedback: the check's whole text, as the notebook shows it, every failed check with its hint;
    note: how the part was graded when that is not the plain way (the reference versions of earlier
    parts put in place of the learner's own).
    """
    id: str
    points: float
    earned: float = 0
    status: str = "fail"
    reason: str = ""
    feedback: str = ""
    failures: list = field(default_factory=list)
    note: str = ""
    time_limit: float = 0


@dataclass
class Result:
    """The grade of one submission, or the reason it could not be graded (error).

    written: the parts graded by hand, [{"id", "points"}], with "earned" once manual points are merged.
    """
    submission: str
    student: str = ""
    exercise: str = ""
    parts: list = field(default_factory=list)
    written: list = field(default_factory=list)
    error: str = ""
    timings: dict = field(default_factory=dict)    # seconds: grader, student_start, checks (not in the JSON)

    @property
    def status(self):
        return f"could not grade: {self.error}" if self.error else "graded"

    @property
    def score(self):
        return round(sum(p.earned for p in self.parts) + sum(w.get("earned") or 0 for w in self.written), 2)

    @property
    def possible(self):
        return sum(p.points for p in self.parts) + sum(w["points"] for w in self.written)

    @property
    def pending(self):
        """Points of written parts not graded by hand yet."""
        return sum(w["points"] for w in self.written if w.get("earned") is None)

    def to_dict(self):
        data = asdict(self)
        del data["timings"]         # the same grades give the same JSON, however long they took
        return {**data, "status": self.status, "score": self.score, "possible": self.possible,
                "pending": self.pending}


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


def student_id(path, origin, exercise):
    """Who handed path in: the folder under the graded folder (submitted/alice/04_x.ipynb -> alice), else
    the file name less the exercise's name (04_softmax_gradient_alice.ipynb -> alice, bob.ipynb -> bob)."""
    path = Path(path)
    if origin is not None:
        rel = path.relative_to(origin)
        if len(rel.parts) > 1:
            return rel.parts[0]
    stem = path.stem
    if exercise and stem.startswith(exercise):
        stem = stem[len(exercise):].strip("_-. ")
    return stem or path.parent.name or path.stem


def grade_one(path, *, root, timeout=5, sandboxed=True, limits=None, exercise=None, origin=None):
    """Grade one submission file; never raises for a problem with the submission, returns Result.error.

    origin: the folder it was found in (for its student id). A grader that returns nothing (its
    process or the student's failed to start) is started once more before the submission is
    reported as not graded.
    """
    path = Path(path)
    result = Result(submission=str(path), student=student_id(path, origin, None))
    try:
        submission = nbformat.reads(path.read_bytes().decode("utf-8"), as_version=4)
    except Exception as exc:   # a broken file is reported, whatever nbformat raised
        result.error = f"not a readable Jupyter notebook ({type(exc).__name__}: {str(exc)[:200]})"
        return result
    try:
        name = result.exercise = find_exercise(submission, path, root, expected=exercise)
        result.student = student_id(path, origin, name)
        exercise, solution = Path(root) / "exercises" / f"{name}.ipynb", Path(root) / "solutions" / f"{name}.ipynb"
        release.parts(notebooks.read(solution), "solution")        # a broken solution is the grader's error
        cmd = [sys.executable, "-c", TRUSTED, str(exercise), str(solution), str(path.resolve()), "--timeout", str(timeout),
               "--limits", json.dumps(asdict(limits or sandbox.Limits()))]
        if not sandboxed:
            cmd.append("--no-sandbox")
        cells = sum(c.cell_type == "code" for c in notebooks.read(exercise).cells)
        limit = 180 + cells * (max(timeout, 30) + 10) * 2     # startups, restarts after a timeout, every check
        started = time.monotonic()
        for attempt in (1, 2):
            try:
                run = subprocess.run(cmd, capture_output=True, timeout=limit, env={**os.environ, "MPLBACKEND": "Agg"})
            except subprocess.TimeoutExpired:
                raise GradingError("the grader took too long") from None
            lines = run.stdout.decode("utf-8", "replace").strip().splitlines()
            try:
                out = json.loads(lines[-1]) if lines else None
            except ValueError:
                out = None
            if isinstance(out, dict) and not str(out.get("error", "")).startswith(trusted.DID_NOT_START):
                break
            out = out if isinstance(out, dict) else {
                "error": f"the grader returned nothing ({run.stderr.decode('utf-8', 'replace').strip()[-200:]})"}
        if out.get("error"):
            raise GradingError(out["error"])
        result.parts = [Part(**p) for p in out["parts"]]
        result.written = out["written"]
        result.timings = {**out.get("timings", {}), "total": time.monotonic() - started}
    except (GradingError, release.ReleaseError, ValueError, OSError) as exc:
        result.error = str(exc)
    return result


def submissions_in(targets):
    """Expand the targets (notebooks, or folders searched recursively) into a sorted list of
    (notebook, the folder it was found in or None)."""
    found = []
    for target in map(Path, targets):
        if target.is_dir():
            found += [(p, target) for p in sorted(target.rglob("*.ipynb")) if ".ipynb_checkpoints" not in p.parts]
        elif target.exists():
            found.append((target, None))
        else:
            raise GradingError(f"grade: argument SUBMISSION {target} does not exist; expected a notebook or a folder")
    return found


def grade(targets, *, root, timeout=5, jobs=1, sandboxed=True, limits=None, exercise=None, scheduler=None):
    """Grade every submission in targets, jobs at a time; return the Results in input order.

    sandboxed=False runs the submissions' code unconfined (still in processes of their own); with
    sandboxed=True a missing bubblewrap is an error that says how to install it. scheduler: the
    address of a Dask scheduler (dask.distributed) that runs one submission per task on its workers
    instead of here; the workers need this course folder at the same path, and bubblewrap.
    """
    found = submissions_in(targets)
    if not found:
        raise GradingError(f"grade: no .ipynb files in {', '.join(map(str, targets))}")
    options = dict(root=str(Path(root).resolve()), timeout=timeout, sandboxed=sandboxed, limits=limits,
                   exercise=exercise)
    if scheduler is not None:
        results = _grade_on_dask(scheduler, found, options)
    else:
        if sandboxed and sandbox.bwrap() is None:
            raise GradingError(f"grade: the sandbox tool bubblewrap (bwrap) is not installed; {sandbox.INSTALL_HINT}")
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:   # each job is a grader subprocess
            results = list(pool.map(lambda f: grade_one(f[0], origin=f[1], **options), found))
    _unique_students(results)
    return results


def _grade_on_dask(address, found, options):
    try:
        from dask.distributed import Client
    except ImportError:
        raise GradingError("grade: --scheduler needs dask.distributed; install it with "
                           "`pip install -e \".[dask]\"` in the course folder") from None
    try:
        client = Client(address, timeout="10s")
    except (OSError, TimeoutError) as exc:
        raise GradingError(f"grade: --scheduler {address}: cannot reach a Dask scheduler there ({exc})") from None
    with client:
        futures = client.map(lambda f: grade_one(f[0], origin=f[1], **options),
                             [(str(p), None if o is None else str(o)) for p, o in found], pure=False)
        return client.gather(futures)


def _unique_students(results):
    """Two submissions with one student id (two files in one folder): name each by its path instead."""
    seen = {}
    for r in results:
        seen.setdefault(r.student, []).append(r)
    for rs in seen.values():
        if len(rs) > 1:
            for r in rs:
                r.student = str(Path(r.submission).with_suffix("")).replace(os.sep, "/")


def table(result):
    """The human-readable grade of one submission: one row per part, then the total."""
    if result.error:
        return f"{result.submission}  [{result.student}]\n  could not grade: {result.error}\n"
    width = max([len("part")] + [len(p.id) for p in result.parts] + [len(w["id"]) for w in result.written])
    rows = [f"{result.submission}  [{result.student}]  ({result.exercise})",
            f"  {'part':<{width}}  {'points':>9}  {'result':<7}  reason"]
    for p in result.parts:
        rows.append(f"  {p.id:<{width}}  {_num(p.earned):>4} / {_num(p.points):<2}  {p.status:<7}  {p.reason}".rstrip())
    for w in result.written:
        earned = "-" if w.get("earned") is None else _num(w["earned"])
        rows.append(f"  {w['id']:<{width}}  {earned:>4} / {_num(w['points']):<2}  "
                    f"{'pending' if w.get('earned') is None else 'by hand':<7}  written answer, graded by hand")
    pending = f"  ({_num(result.pending)} pending)" if result.pending else ""
    rows.append(f"  {'total':<{width}}  {_num(result.score):>4} / {_num(result.possible)}{pending}")
    return "\n".join(rows) + "\n"


def _num(x):
    return f"{x:g}"
