"""A pytest plugin for `dlteach grade`: records each notebook cell nbval runs, passed or not and why.

Loaded with `-p dlteach.course.nbval_report --dlteach-report FILE`. One JSON line per cell is
appended (and flushed) as soon as the cell has run, so the parts run before a crash are kept.
It also bounds what a cell can cost: stream text beyond MAX_OUTPUT_CHARS per cell is dropped, and a
kernel that dies mid-cell is noticed within a second instead of at the end of the cell timeout.
"""

import json
import re
from queue import Empty

import pytest

MAX_OUTPUT_CHARS = 100_000
TRUNCATED = "\n[output truncated by dlteach grade]\n"
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def pytest_addoption(parser):
    parser.addoption("--dlteach-report", default=None, help="append one JSON line per notebook cell to this file")


def pytest_configure(config):
    if config.getoption("dlteach_report"):
        _bound_outputs()
        _notice_dead_kernels()


def _bound_outputs():
    """Cap the stream text nbval keeps per cell: an answer printing in a loop must not exhaust memory."""
    from nbval.plugin import IPyNbFile
    original = IPyNbFile.get_kernel_message

    def get_kernel_message(self, timeout=None, stream="iopub"):
        msg = original(self, timeout=timeout, stream=stream)
        content = msg.get("content", {})
        parent = msg.get("parent_header", {}).get("msg_id")
        if msg.get("msg_type") == "stream":
            used = getattr(self, "_dlteach_chars", {})
            self._dlteach_chars = used
            before = used.get(parent, 0)
            used[parent] = before + len(content.get("text", ""))
            if used[parent] > MAX_OUTPUT_CHARS:
                content["text"] = TRUNCATED if before <= MAX_OUTPUT_CHARS else ""
        for key, value in content.get("data", {}).items():
            if isinstance(value, str) and len(value) > MAX_OUTPUT_CHARS and not key.startswith("image/"):
                content["data"][key] = value[:MAX_OUTPUT_CHARS] + TRUNCATED
        return msg

    IPyNbFile.get_kernel_message = get_kernel_message


def _notice_dead_kernels():
    """Poll for the execute reply in one-second slices, failing the cell as soon as the kernel process is gone."""
    from nbval.kernel import RunningKernel

    def await_reply(self, msg_id, timeout=None):
        waited = 0.0
        while True:
            if not self.is_alive():
                # Failing the cell at once; raising Empty would make nbval interrupt a dead kernel and
                # wait 5 s more for its output.
                self.dlteach_died = True
                raise RuntimeError("the kernel died while running this cell")
            step = 1.0 if timeout is None else min(1.0, max(timeout - waited, 0.01))
            try:
                msg = self.get_message(stream="shell", timeout=step)
            except Empty:
                waited += step
                if timeout is not None and waited >= timeout:
                    raise
                continue
            if msg["parent_header"].get("msg_id") == msg_id:
                if msg["content"]["status"] == "aborted":
                    raise RuntimeError("Kernel aborted execution request")
                return

    RunningKernel.await_reply = await_reply


def _first_line(text, limit=200):
    lines = [ln.strip() for ln in ANSI.sub("", str(text)).splitlines() if ln.strip()]
    line = lines[0] if lines else ""
    return line if len(line) <= limit else line[:limit - 3] + "..."


def _stdout(outputs):
    return "".join(o.get("text", "") for o in outputs or [] if o.get("output_type") == "stream")


def _reason(item, exc):
    """One line saying why a cell failed: the error it raised, a timeout, a dead kernel, or other output."""
    kernel = getattr(item.parent, "kernel", None)
    message = str(exc)
    if "Kernel dead" in message:
        return "dead", "not run: the kernel had died in an earlier cell"
    if getattr(kernel, "dlteach_died", False):
        return "died", "the kernel died while running this cell (the process exited or crashed)"
    errors = [o for o in item.test_outputs or [] if o.get("output_type") == "error"]
    if "Timeout" in message:
        timeout = item.config.getoption("nbval_cell_timeout")
        return "timeout", f"timed out after {timeout:g} s (an endless loop?)"
    if errors:
        ename, evalue = errors[0]["ename"], errors[0]["evalue"]
        # A check's AssertionError already reads "part: what is wrong"; other errors keep their name.
        return ename, _first_line(evalue if ename == "AssertionError" and evalue else f"{ename}: {evalue}")
    if "outputs differ" in message:
        expected = _first_line(_stdout(item.cell.get("outputs"))) or "nothing"
        got = _first_line(_stdout(item.test_outputs)) or "nothing"
        return "mismatch", _first_line(f"printed {got!r}, expected {expected!r}")
    return type(exc).__name__, _first_line(message) or type(exc).__name__


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    yield
    path = item.config.getoption("dlteach_report")
    if not path or not hasattr(item, "cell_num"):
        return
    if call.when == "setup" and call.excinfo is None:
        return
    if call.when == "teardown":
        return
    record = {"cell": item.cell_num, "passed": call.excinfo is None, "kind": None, "reason": ""}
    if call.excinfo is not None:
        if call.excinfo.errisinstance(pytest.skip.Exception):
            record.update(passed=False, kind="skipped", reason="skipped")
        elif call.when == "setup":
            record.update(kind="setup", reason="could not start the kernel: " + _first_line(call.excinfo.value))
        else:
            kind, reason = _reason(item, call.excinfo.value)
            record.update(kind=kind, reason=reason)
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(record) + "\n")
        f.flush()
