"""The student's side of grading: `python -m dlteach.course.runner READ_FD WRITE_FD`, run inside the sandbox.

It receives the cells to run (the exercise's own cells with the student's answers in place, never a
check cell), runs them in one namespace, tells the grader which names they defined, and then serves the
grader's calls to those names until the grader closes the channel; between calls the grader may rebind
names (its reference version of a function an earlier part got wrong, and back). Only plain data goes back (wire.py).
What the student's code prints goes to this process's stdout, which the grader caps and never reads
as a verdict.
"""

import os
import sys
import traceback

from dlteach.course import sandbox, wire


def strip_magics(source):
    """Python source of a notebook cell: IPython's line magics and shell escapes dropped."""
    return "\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!")))


def run_cells(cells, namespace, starting=lambda index: None):
    """Run each cell; return one report per cell: the names it bound and the error it raised, if any.
    starting(index) is called before each cell, so that the grader knows which one never finished."""
    reports = []
    for cell in cells:
        starting(cell["index"])
        before = dict(namespace)
        error = None
        try:
            exec(compile(strip_magics(cell["source"]), f"<cell {cell['index']}>", "exec"), namespace)
        except (Exception, SystemExit) as exc:
            frames = traceback.extract_tb(exc.__traceback__)
            line = next((f.lineno for f in reversed(frames) if f.filename == f"<cell {cell['index']}>"), None)
            error = {"kind": type(exc).__name__, "text": str(exc)[:500], "line": line}
        bound = sorted(k for k, v in namespace.items()
                       if not k.startswith("__") and (k not in before or before[k] is not v))
        reports.append({"index": cell["index"], "bound": bound, "error": error})
    return reports


def main(read_fd, write_fd):
    sandbox.drop_privileges()
    channel = wire.Channel(read_fd, write_fd)
    start = channel.receive()
    if start.get("op") != "run" or not isinstance(start.get("cells"), list):
        raise wire.WireError("the grader did not start with the cells to run")
    namespace = {"__name__": "__main__"}
    reports = run_cells(start["cells"], namespace, lambda index: channel.send({"op": "cell", "index": index}))
    answers = {c["index"] for c in start["cells"] if c.get("answer")}
    names = sorted({n for r in reports if r["index"] in answers for n in r["bound"] if n in namespace})
    channel.send({"op": "ran", "cells": reports,
                  "names": channel.encode({n: namespace[n] for n in names})})
    while True:
        try:
            message = channel.receive()
        except wire.WireError:
            return 0                      # the grader closed the channel: grading is over
        if message.get("op") == "bind":
            # The grader puts its reference version of an earlier part's function in place of the student's
            # (a callback: the reference stays in the grader's process), or puts the student's own back.
            try:
                namespace.update(channel.decode(message.get("set", {"__dict__": {}})))
                for name in message.get("delete", []):
                    namespace.pop(str(name), None)
            except wire.WireError:
                return 0
            channel.send({"op": "bound"})
            continue
        if message.get("op") != "call":
            return 0
        channel.answer(message)


if __name__ == "__main__":
    read_fd, write_fd = int(sys.argv[1]), int(sys.argv[2])
    os.environ.setdefault("MPLBACKEND", "Agg")
    sys.exit(main(read_fd, write_fd))
