"""Every widgets module gives bench/widgets.py something to time: a non-empty BENCH_CASES of
(name, callable, list of slider settings) whose callables accept those settings.

Only that they run is asserted here; how fast they run is bench/widgets.py's business.
"""

import importlib
import inspect
import pkgutil

import matplotlib.pyplot as plt
import pytest

import dlteach.widgets

MODULES = sorted(f"dlteach.widgets.{m.name}" for m in pkgutil.iter_modules(dlteach.widgets.__path__)
                 if not m.name.startswith("_") and m.name not in dlteach.widgets.SHARED)


@pytest.mark.parametrize("module_name", MODULES)
def test_bench_cases_are_well_formed_and_run(module_name):
    module = importlib.import_module(module_name)
    cases = getattr(module, "BENCH_CASES", None)
    assert isinstance(cases, list) and cases, (
        f"{module_name}.BENCH_CASES: got {cases!r:.80}, expected a non-empty list of "
        f"(name, callable, list of kwargs dicts)"
    )
    names = []
    for case in cases:
        assert isinstance(case, tuple) and len(case) == 3, (
            f"{module_name}.BENCH_CASES entry {case!r:.80}: expected (name, callable, list of kwargs)")
        name, fn, settings = case
        names.append(name)
        assert isinstance(name, str) and name, f"{module_name}: case name {name!r} should be a non-empty str"
        assert callable(fn), f"{module_name} case {name}: {fn!r} is not callable"
        assert isinstance(settings, list) and settings, (
            f"{module_name} case {name}: slider settings {settings!r:.80} should be a non-empty list")
        signature = inspect.signature(fn)
        for kwargs in settings:
            assert isinstance(kwargs, dict), f"{module_name} case {name}: setting {kwargs!r} is not a dict"
            signature.bind(**kwargs)   # raises TypeError naming the unexpected or missing argument
        figures_before = set(plt.get_fignums())
        try:
            fn(**settings[0])
        finally:
            for number in set(plt.get_fignums()) - figures_before:
                plt.close(number)
    assert len(set(names)) == len(names), f"{module_name}: case names repeat: {names}"
