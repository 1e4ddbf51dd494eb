"""The grader's side of one submission: the student's answers run in the sandbox, the checks run here.

`python -m dlteach.course.trusted EXERCISE SOLUTION SUBMISSION [--timeout S] [--no-sandbox] [--limits JSON]`
prints one JSON object: {"parts": [...], "written": [...]} or {"error": "..."}.

The student's process (runner.py, in sandbox.py's sandbox) runs the exercise's cells with the
submission's answers in place and nothing else: no check cell, no hidden test, no seed. This process
runs the exercise's own cells and the solution's check cells, hidden tests included, with each name an
answer cell defined standing for the student's value: a function is called across the process boundary
(wire.py: plain data both ways), anything else was sent over as plain data. So the checks, the random
inputs they draw, numpy, dlteach and the verdict all live where the student's code cannot reach; a
part earns the share of its checks that passed (verdict.Part), whatever anything prints.
"""

import argparse
import ast
import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

from dlteach.course import notebooks, release, runner, sandbox, verdict, wire

NOT_ATTEMPTED = "not attempted"
DID_NOT_START = "the process for the student's code did not start"
STARTUP_S = 60            # importing numpy and running the exercise's cells, on a busy machine
REASON_CHARS = 200


def _one_line(text):
    line = " ".join(str(text).split())
    return line if len(line) <= REASON_CHARS else line[:REASON_CHARS - 3] + "..."


def defined_names(source):
    """The names a cell's top level defines: its functions and classes, else the names it assigns."""
    try:
        tree = ast.parse(runner.strip_magics(source))
    except SyntaxError:
        return set()
    defs = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
    if defs:
        return defs
    return {t.id for n in tree.body if isinstance(n, (ast.Assign, ast.AnnAssign))
            for t in (n.targets if isinstance(n, ast.Assign) else [n.target]) if isinstance(t, ast.Name)}


def plan(exercise, submission):
    """The exercise's code cells in order, as (index, role, part, source); answers from the submission.

    A submission's answer cell is found by its dlteach id, then by the cell id the exercise gave it,
    then (for a notebook whose metadata another tool stripped) by the names the exercise's answer cell
    defines: the last code cell that defines all of them. missing: the parts whose answer cell was not
    found (the exercise's own cell stands in, and the grade says "answer cell not found").
    """
    by_part, by_cell_id, code = {}, {}, []
    for cell in submission.cells:
        if cell.cell_type != "code":
            continue
        meta = notebooks.graded(cell)
        if meta and meta.get("role") == "answer":
            by_part.setdefault(meta.get("id"), cell.source)
        if cell.get("id"):
            by_cell_id.setdefault(cell.id, cell.source)
        code.append(cell.source)
    defining = [(defined_names(source), source) for source in code]
    cells, missing = [], set()
    for index, cell in enumerate(exercise.cells):
        if cell.cell_type != "code":
            continue
        meta = notebooks.graded(cell) or {}
        role, part = meta.get("role", "setup"), meta.get("id")
        source = cell.source
        if role == "answer":
            wanted = defined_names(cell.source)
            by_names = [s for names, s in defining if wanted and wanted <= names]
            found = by_part.get(part, by_cell_id.get(cell.get("id"), by_names[-1] if by_names else None))
            if found is None:
                missing.add(part)
            else:
                source = found
        cells.append((index, role, part, source))
    return cells, missing


class Student:
    """The submission's code, running in its own process (sandboxed unless told otherwise).

    time_limits: {part: seconds} for the parts whose solution sets its own limit; other answer cells
    get timeout seconds. A process that fails before any answer cell ran (it did not start) is
    started once more before grading gives up.
    """

    def __init__(self, cells, *, sandboxed, limits, timeout, time_limits=None):
        self.cells, self.sandboxed, self.limits, self.timeout = cells, sandboxed, limits, timeout
        self.time_limits = dict(time_limits or {})
        self.part_of = {i: part for i, r, part, _ in cells if r == "answer"}
        self.first_answer = min(self.part_of, default=float("inf"))
        self.process = None
        self.generation = 0         # how many processes were started: names bound in an old one are gone
        self.start()

    def limit(self, part):
        return float(self.time_limits.get(part, self.timeout))

    def start(self):
        """Start the process and run the cells. A cell that kills the process or never ends is left out of
        a fresh start, and reported as an error of that cell, so that the other parts are still graded."""
        fatal, retried = {}, False
        while True:
            try:
                self._start(fatal)
                break
            except wire.WireError as exc:
                index = getattr(self, "_running", None)
                self.stop()
                if index is None or index in fatal or index < self.first_answer:
                    if retried:
                        raise
                    retried = True          # a process that did not start: once more, then it is an error
                    continue
                # An answer cell, or a cell after one that used it (a display of the learner's result).
                ended = str(exc) != "timed out"
                fatal[index] = {"kind": "the process ended while running this cell" if ended else
                                f"timed out after {self.limit(self.part_of.get(index)):g} s",
                                "text": self.last_words() if ended else "", "line": None}
        self.generation += 1
        for index, error in fatal.items():
            self.reports[index] = {"index": index, "bound": [], "error": error}

    def _start(self, fatal):
        to_student, from_grader = os.pipe()
        to_grader, from_student = os.pipe()
        argv = [sys.executable, "-m", "dlteach.course.runner", str(to_student), str(from_student)]
        if self.sandboxed:
            argv = sandbox.command(argv, read_fd=to_student, write_fd=from_student)
            env = None
        else:
            env = sandbox.unconfined_env()
        self.output = tempfile.TemporaryFile()
        self.process = subprocess.Popen(argv, pass_fds=(to_student, from_student), stdin=subprocess.DEVNULL,
                                        stdout=self.output, stderr=subprocess.STDOUT, env=env,
                                        preexec_fn=sandbox.preexec(self.limits))
        os.close(to_student)
        os.close(from_student)
        self.channel = wire.Channel(to_grader, from_grader, deadline=time.monotonic() + STARTUP_S)
        self.channel.send({"op": "run", "cells": [{"index": i, "source": "" if i in fatal else s, "answer": i in self.part_of}
                                                  for i, r, _, s in self.cells if r != "check"]})
        self._running = None
        while True:
            message = self.channel.receive()
            if message.get("op") == "cell":
                self._running = message.get("index")
                index = self._running
                self.channel.deadline = time.monotonic() + (STARTUP_S if index < self.first_answer else
                                                             self.limit(self.part_of.get(index)))
                continue
            if message.get("op") != "ran":
                raise wire.WireError("the student's process did not report its cells")
            break
        # A message that is not the runner's own (a cell wrote into the channel) is that cell's fault.
        cells = message.get("cells")
        if not isinstance(cells, list) or not all(isinstance(r, dict) and "index" in r for r in cells):
            raise wire.WireError("the student's process sent a malformed report")
        names = self.channel.decode(message.get("names", {"__dict__": {}}))
        if not isinstance(names, dict):
            raise wire.WireError("the student's process sent a malformed report")
        self._running = None
        self.reports = {r["index"]: r for r in cells}
        self.names = names

    def last_words(self):
        """The last line the student's process printed (its output is capped by the sandbox)."""
        self.output.seek(0, io.SEEK_END)
        size = self.output.tell()
        self.output.seek(max(0, size - 2000))
        lines = self.output.read().decode("utf-8", "replace").strip().splitlines()
        return lines[-1] if lines else ""

    def restart(self):
        """A fresh process after one that hung or died; return the names its answer cells defined."""
        self.stop()
        self.start()
        return self.names

    def bind(self, values, delete=()):
        """Rebind names in the student's namespace: values are the grader's own functions (called back)
        or the student's own (Remote handles, put back); delete removes names the student never had."""
        self.channel.send({"op": "bind", "set": self.channel.encode(dict(values)), "delete": list(delete)})
        if self.channel.receive().get("op") != "bound":
            raise wire.WireError("the student's process did not rebind")

    def stop(self):
        if self.process is None:
            return
        self.output.flush()
        for fd in (self.channel.read_fd, self.channel.write_fd):
            with contextlib.suppress(OSError):
                os.close(fd)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)     # bwrap's PID namespace ends with it
        self.process.wait()
        self.process = None


NOT_FOUND = "answer cell not found"


def _verdict(part, error, student, answer_index):
    """The reason a part failed, from what its check raised."""
    report = student.reports.get(answer_index) or {}
    cell_error = report.get("error")
    if isinstance(error, wire.RemoteError) and error.kind == "NotImplementedError":
        return NOT_ATTEMPTED
    if cell_error and cell_error.get("kind") == "NotImplementedError":
        return NOT_ATTEMPTED
    if cell_error:
        text = cell_error.get("text", "")
        return f"answer cell: {cell_error['kind']}" + (f": {text}" if text else "")
    if isinstance(error, wire.RemoteError):
        return f"your code raised {error}"
    if isinstance(error, AssertionError):
        return str(error)            # the check's own words, as the learner sees them in the notebook
    return f"{type(error).__name__}: {error}"


def references(solution, sol_parts, namespace, known):
    """{part: {name: function}}: each part's solution answer, run here (in the grader) on the namespace as
    it stands before that part, with the earlier parts' references in place of the student's."""
    refs = {}
    for part, roles in sol_parts.items():
        if "answer" not in roles:
            continue
        scope = {**namespace, **{n: f for r in refs.values() for n, f in r.items()}}
        before = dict(scope)
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                exec(compile(runner.strip_magics(solution.cells[roles["answer"]].source), f"<reference {part}>",
                             "exec"), scope)
        except Exception:
            continue
        refs[part] = {n: v for n, v in scope.items() if callable(v) and (n not in before or before[n] is not v)
                      and n in known}
    return refs


class Grader:
    """Runs one part's check in the grader's namespace against the student's process, and scores it."""

    def __init__(self, exercise, solution, student, namespace):
        self.exercise, self.solution, self.student, self.namespace = exercise, solution, student, namespace
        self.sol_parts = release.parts(solution, "solution")

    def run_check(self, part, index):
        """(earned share 0..1, reason, failures, timed out or died) of the check cell of part."""
        hidden = release.with_hidden_tests(self.solution.cells[self.sol_parts[part]["check"]].source)
        self.student.channel.deadline = time.monotonic() + self.student.limit(part)
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                exec(compile(hidden, f"<check {part}>", "exec"), self.namespace)
            return 1.0, "", [], False
        except wire.WireError as exc:
            limit = self.student.limit(part)
            reason = (f"timed out after {limit:g} s (this part's time limit)" if str(exc) == "timed out" else
                      f"your code's process ended ({self.student.last_words() or exc})")
            self.namespace.update(self.student.restart())     # a fresh process for the next parts
            return 0.0, reason, [], True
        except verdict.PartFailed as exc:
            cell_error = (self.student.reports.get(self.answer_index(part)) or {}).get("error") or {}
            if cell_error.get("kind") == "NotImplementedError":
                return 0.0, NOT_ATTEMPTED, [], False
            share = exc.passed / exc.total if exc.total else 0.0
            return share, str(exc), exc.failures, False
        except Exception as exc:      # the check failed: say why, in the student's terms
            return 0.0, _verdict(part, exc, self.student, self.answer_index(part)), [], False

    def answer_index(self, part):
        return next((i for i, r, p, _ in self.student.cells if r == "answer" and p == part), None)

    def with_references(self, part, index, refs):
        """Run the check again with the grader's reference versions of refs ({name: function}) in place
        of the student's, in the student's process and here; put the student's own back after."""
        generation = self.student.generation
        own = {n: self.student.names[n] for n in refs if n in self.student.names}
        saved = {n: self.namespace.get(n) for n in refs}
        try:
            self.student.bind(refs)
            self.namespace.update(refs)
            return self.run_check(part, index)
        finally:
            self.namespace.update({n: v for n, v in saved.items() if v is not None})
            for n in set(refs) - set(own):
                self.namespace.pop(n, None)
            if self.student.generation == generation and self.student.process is not None:
                self.student.channel.deadline = time.monotonic() + self.student.timeout
                self.student.bind(own, delete=sorted(set(refs) - set(own)))


def grade(exercise, solution, submission, *, timeout, sandboxed=True, limits=sandbox.Limits()):
    """Grade one submission; return {"parts": [...], "written": [...]} (plain data).

    A part earns its points times the share of its checks that passed (verdict.Part); a part that
    fails while an earlier part failed too is checked again with the grader's reference versions of
    the earlier parts' functions, and keeps the better grade, so that one mistake costs points once.
    """
    sol_parts = release.parts(solution, "solution")
    ex_parts = release.parts(exercise, "exercise")
    time_limits = {part: solution.cells[roles["check"]].metadata["dlteach"]["time_limit"]
                   for part, roles in sol_parts.items()
                   if "check" in roles and "time_limit" in solution.cells[roles["check"]].metadata["dlteach"]}
    cells, missing = plan(exercise, submission)
    started = time.monotonic()
    try:
        student = Student(cells, sandboxed=sandboxed, limits=limits, timeout=timeout, time_limits=time_limits)
    except wire.WireError as exc:
        raise wire.WireError(f"{DID_NOT_START} ({exc}; it was started twice)") from None
    timings = {"student_start": time.monotonic() - started}
    namespace = {"__name__": "__main__"}
    grader = Grader(exercise, solution, student, namespace)
    parts, written = [], [part for part, roles in ex_parts.items() if "written" in roles]
    refs, failed_before = {}, []
    try:
        for index, role, part, source in cells:
            if role == "answer":
                refs.update(references(solution, {part: sol_parts[part]}, {**namespace, **_flat(refs)},
                                       defined_names(exercise.cells[index].source)))
                report = student.reports.get(index) or {}
                namespace.update({n: student.names[n] for n in report.get("bound", []) if n in student.names})
                continue
            if role != "check":
                # The exercise's own cells: given code, and displays of the learner's results that may
                # fail with a wrong or missing answer; the checks say what is wrong, so errors pass here.
                student.channel.deadline = time.monotonic() + timeout
                try:
                    with contextlib.redirect_stdout(io.StringIO()):
                        exec(compile(runner.strip_magics(source), f"<exercise cell {index}>", "exec"), namespace)
                except wire.WireError:
                    namespace.update(student.restart())
                except Exception:
                    pass
                continue
            points = exercise.cells[index].metadata["dlteach"].get("points", 0)
            share, reason, failures, _ = grader.run_check(part, index)
            note = ""
            if part in missing:
                share, reason, failures = 0.0, (f"{NOT_FOUND}: no cell has the id {part!r} or defines "
                                                f"{', '.join(sorted(defined_names(_answer_source(cells, part))))}"), []
            elif share < 1 and failed_before and reason != NOT_ATTEMPTED:
                stand_in = {n: f for p in failed_before for n, f in refs.get(p, {}).items()}
                if stand_in:
                    again = grader.with_references(part, index, stand_in)
                    if again[0] > share:
                        share, reason, failures, _ = again
                        note = (f"graded with the reference {', '.join(sorted(stand_in))} in place of yours, "
                                f"since part {', '.join(failed_before)} failed: that mistake is counted there")
            earned = round(points * share, 2)
            parts.append({"id": part, "points": points, "earned": earned,
                          "status": "pass" if share == 1 else "partial" if share > 0 else "fail",
                          "reason": _one_line(reason.splitlines()[0] + (" " + "; ".join(
                              f["message"] for f in failures) if failures else "")) if reason else "",
                          "feedback": reason, "failures": failures, "note": note,
                          "time_limit": student.limit(part)})
            if share < 1:
                failed_before.append(part)
    finally:
        student.stop()
    timings["checks"] = time.monotonic() - started - timings["student_start"]
    return {"timings": timings, "parts": parts, "written": [{"id": w, "points": exercise.cells[ex_parts[w]["written"]].metadata["dlteach"]
                                         .get("points", 0)} for w in written]}


def _flat(refs):
    return {n: f for r in refs.values() for n, f in r.items()}


def _answer_source(cells, part):
    return next((s for _, r, p, s in cells if r == "answer" and p == part), "")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m dlteach.course.trusted", description=__doc__)
    parser.add_argument("exercise")
    parser.add_argument("solution")
    parser.add_argument("submission")
    parser.add_argument("--timeout", type=float, default=10.0)
    parser.add_argument("--no-sandbox", action="store_true")
    parser.add_argument("--limits", default="{}")
    args = parser.parse_args(argv)
    try:
        exercise, solution = notebooks.read(args.exercise), notebooks.read(args.solution)
        submission = notebooks.read(args.submission)
        out = grade(exercise, solution, submission, timeout=args.timeout, sandboxed=not args.no_sandbox,
                    limits=sandbox.Limits(**json.loads(args.limits)))
    except (wire.WireError, ValueError, OSError, release.ReleaseError) as exc:
        out = {"error": _one_line(str(exc))}
    sys.stdout.write(json.dumps(out) + "\n")
    return 0


if __name__ == "__main__":
    os.environ["MPLBACKEND"] = "Agg"      # an exercise's own cells may draw; nothing is shown here
    sys.exit(main())
