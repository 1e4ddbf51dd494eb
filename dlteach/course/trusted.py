"""The grader's side of one submission: the student's answers run in the sandbox, the checks run here.

`python -m dlteach.course.trusted EXERCISE SOLUTION SUBMISSION [--timeout S] [--no-sandbox] [--limits JSON]`
prints one JSON object: {"parts": [...], "written": [...]} or {"error": "..."}.

The student's process (runner.py, in sandbox.py's sandbox) runs the exercise's cells with the
submission's answers in place and nothing else: no check cell, no hidden test, no seed. This process
runs the exercise's own cells and the solution's check cells, hidden tests included, with each name an
answer cell defined standing for the student's value: a function is called across the process boundary
(wire.py: plain data both ways), anything else was sent over as plain data. So the checks, the random
inputs they draw, numpy, dlteach and the verdict all live where the student's code cannot reach; a
part passes when its check runs to the end without raising, whatever anything prints.
"""

import argparse
import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

from dlteach.course import notebooks, release, runner, sandbox, wire

NOT_ATTEMPTED = "not attempted"
STARTUP_S = 60            # importing numpy and running the exercise's cells, on a busy machine
REASON_CHARS = 200


def _one_line(text):
    line = " ".join(str(text).split())
    return line if len(line) <= REASON_CHARS else line[:REASON_CHARS - 3] + "..."


def answer_sources(submission):
    """{part id: source} of the submission's answer cells, and {cell id: source} of all its code cells."""
    by_part, by_cell_id = {}, {}
    for cell in submission.cells:
        if cell.cell_type != "code":
            continue
        meta = notebooks.graded(cell)
        if meta and meta.get("role") == "answer":
            by_part.setdefault(meta.get("id"), cell.source)
        if cell.get("id"):
            by_cell_id.setdefault(cell.id, cell.source)
    return by_part, by_cell_id


def plan(exercise, submission):
    """The exercise's code cells in order, as (index, role, part, source); answers from the submission."""
    by_part, by_cell_id = answer_sources(submission)
    cells = []
    for index, cell in enumerate(exercise.cells):
        if cell.cell_type != "code":
            continue
        meta = notebooks.graded(cell) or {}
        role, part = meta.get("role", "setup"), meta.get("id")
        source = cell.source
        if role == "answer":
            source = by_part.get(part, by_cell_id.get(cell.get("id"), cell.source))
        cells.append((index, role, part, source))
    return cells


class Student:
    """The submission's code, running in its own process (sandboxed unless told otherwise)."""

    def __init__(self, cells, *, sandboxed, limits, timeout):
        self.cells, self.sandboxed, self.limits, self.timeout = cells, sandboxed, limits, timeout
        self.process = None
        self.start()

    def start(self):
        """Start the process and run the cells. A cell that kills the process or never ends is left out of
        a fresh start, and reported as an error of that cell, so that the other parts are still graded."""
        fatal = {}
        while True:
            try:
                self._start(fatal)
                break
            except wire.WireError as exc:
                index = getattr(self, "_running", None)
                self.stop()
                if index is None or index in fatal or not any(i == index and r == "answer" for i, r, _, _ in self.cells):
                    raise
                ended = str(exc) != "timed out"
                fatal[index] = {"kind": "the process ended while running this cell" if ended else
                                f"timed out after {self.timeout:g} s", "text": self.last_words() if ended else "",
                                "line": None}
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
        answers = {i for i, r, _, _ in self.cells if r == "answer"}
        self.channel.send({"op": "run", "cells": [{"index": i, "source": "" if i in fatal else s, "answer": i in answers}
                                                  for i, r, _, s in self.cells if r != "check"]})
        self._running = None
        while True:
            message = self.channel.receive()
            if message.get("op") == "cell":
                self._running = message.get("index")
                self.channel.deadline = time.monotonic() + (self.timeout if self._running in answers else STARTUP_S)
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
        return _one_line(f"answer cell: {cell_error['kind']}" + (f": {text}" if text else ""))
    if isinstance(error, wire.RemoteError):
        return _one_line(f"your code raised {error}")
    if isinstance(error, AssertionError):
        return _one_line(error)           # the check's own words, as the learner sees them in the notebook
    if isinstance(error, NameError) and answer_index not in student.reports:
        return "answer cell not found"
    return _one_line(f"{type(error).__name__}: {error}")


def grade(exercise, solution, submission, *, timeout, sandboxed=True, limits=sandbox.Limits()):
    """Grade one submission; return {"parts": [...], "written": [...]} (plain data)."""
    sol_parts = release.parts(solution, "solution")
    ex_parts = release.parts(exercise, "exercise")
    cells = plan(exercise, submission)
    student = Student(cells, sandboxed=sandboxed, limits=limits, timeout=timeout)
    namespace = {"__name__": "__main__"}
    answer_of = {part: roles.get("answer") for part, roles in ex_parts.items()}
    parts, written = [], [part for part, roles in ex_parts.items() if "written" in roles]
    try:
        for index, role, part, source in cells:
            if role == "answer":
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
            hidden = release.with_hidden_tests(solution.cells[sol_parts[part]["check"]].source)
            student.channel.deadline = time.monotonic() + timeout
            result = {"id": part, "points": points, "earned": 0, "status": "fail", "reason": ""}
            try:
                with contextlib.redirect_stdout(io.StringIO()):
                    exec(compile(hidden, f"<check {part}>", "exec"), namespace)
                result.update(earned=points, status="pass")
            except wire.WireError as exc:
                result["reason"] = (f"timed out after {timeout:g} s" if str(exc) == "timed out" else
                                    _one_line(f"your code's process ended ({student.last_words() or exc})"))
                namespace.update(student.restart())     # a fresh process for the next parts
            except Exception as exc:      # the check failed: say why, in the student's terms
                result["reason"] = _verdict(part, exc, student, answer_of.get(part))
            parts.append(result)
    finally:
        student.stop()
    return {"parts": parts, "written": written}


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
        out = {"error": _one_line(f"could not grade: {exc}")}
    sys.stdout.write(json.dumps(out) + "\n")
    return 0


if __name__ == "__main__":
    os.environ["MPLBACKEND"] = "Agg"      # an exercise's own cells may draw; nothing is shown here
    sys.exit(main())
