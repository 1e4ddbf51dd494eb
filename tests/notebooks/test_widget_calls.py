"""Every `interact(f, name=...)` in a lesson passes only arguments that f takes.

ipywidgets drops a keyword that f does not take without a word and builds a slider for f's own
parameter instead, so a lesson can show a widget its caption does not describe. Each lesson that
calls interact is run top to bottom in this process with interact and interactive checking the
keywords against f's signature before they build anything.
"""

import inspect
import os

import ipywidgets
import pytest
from IPython.core.interactiveshell import InteractiveShell

from dlteach.course import notebooks

ROOT = notebooks.course_root()
FACTORIES = ("interact", "interactive")
LESSONS = [p for p in notebooks.course_notebooks(ROOT, ("lessons",))
           if any(f"{name}(" in c.source for c in notebooks.read(p).cells if c.cell_type == "code"
                  for name in FACTORIES)]


def unknown_keywords(f, kwargs):
    """The keywords that f cannot take (none when f takes **kwargs)."""
    parameters = inspect.signature(f).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return []
    return sorted(k for k in kwargs if k not in parameters)


def checking(factory, calls):
    def call(f=None, **kwargs):
        calls.append((getattr(f, "__qualname__", repr(f)), sorted(kwargs), unknown_keywords(f, kwargs)))
        return factory(f, **kwargs)
    return call


@pytest.mark.parametrize("path", LESSONS, ids=[p.stem for p in LESSONS])
def test_interact_calls_pass_only_arguments_the_function_takes(path, monkeypatch):
    calls = []
    for name in FACTORIES:
        monkeypatch.setattr(ipywidgets, name, checking(getattr(ipywidgets, name), calls))
    monkeypatch.chdir(path.parent)
    monkeypatch.setitem(os.environ, "MPLBACKEND", "Agg")
    shell = InteractiveShell.instance()
    for i, cell in enumerate(notebooks.read(path).cells):
        if cell.cell_type == "code":
            source = "\n".join(line for line in cell.source.splitlines() if not line.startswith("%matplotlib"))
            result = shell.run_cell(source, silent=True)
            assert result.success, f"{path.name}: cell {i} raised {result.error_in_exec!r}"
    assert calls, f"{path.name} calls interact, yet no call reached it"
    wrong = [(f, unknown) for f, _, unknown in calls if unknown]
    assert not wrong, f"{path.name}: interact passed keywords the function does not take: {wrong}"
