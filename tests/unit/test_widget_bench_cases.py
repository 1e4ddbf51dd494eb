"""Every widgets module gives bench/widgets.py something to time: a non-empty BENCH_CASES of
(name, callable, list of slider settings) whose callables accept those settings; and what each
callable draws, at each of those settings, is legible (dlteach.viz.legibility_problems).

That they run and what they show is asserted here; how fast they run is bench/widgets.py's business.
"""

import importlib
import inspect
import pkgutil

import matplotlib.pyplot as plt
import pytest
from matplotlib.figure import Figure

import dlteach.widgets
from dlteach import viz

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


def _drawn_figures(monkeypatch):
    """A list that collects each Figure drawn from now on, in full (canvas.draw, savefig) or by blitting."""
    found = []
    draw, draw_artist = Figure.draw, Figure.draw_artist

    def drawing(self, *args, **kwargs):
        if self not in found:
            found.append(self)
        return draw(self, *args, **kwargs)

    def drawing_artist(self, *args, **kwargs):
        if self not in found:
            found.append(self)
        return draw_artist(self, *args, **kwargs)

    monkeypatch.setattr(Figure, "draw", drawing)
    monkeypatch.setattr(Figure, "draw_artist", drawing_artist)
    return found


SETTINGS_CHECKED = 12     # per case, spread over its list (both ends included): each check draws the figure


def _spread(settings, count=SETTINGS_CHECKED):
    if len(settings) <= count:
        return list(settings)
    return [settings[round(i * (len(settings) - 1) / (count - 1))] for i in range(count)]


@pytest.mark.parametrize("module_name", MODULES)
def test_every_widget_figure_is_legible_across_its_settings(module_name, monkeypatch):
    # The figure a slider move shows, at settings spread over each benchmarked range: a layout frozen at
    # the first render must still hold the labels of later settings (viz.legibility_problems: what is checked).
    # The last setting comes first too: whichever a learner (or another test) renders first, the rest must fit.
    drawn = _drawn_figures(monkeypatch)
    problems = []
    for name, fn, settings in importlib.import_module(module_name).BENCH_CASES:
        for kwargs in [settings[-1], *_spread(settings)]:
            figures_before = set(plt.get_fignums())
            drawn.clear()
            try:
                result = fn(**kwargs)
                new = [plt.figure(n) for n in plt.get_fignums() if n not in figures_before]
                shown = list(drawn) + new + ([result] if isinstance(result, Figure) else [])
                assert shown, f"{name}: a call with {kwargs} drew no figure"
                for fig in dict.fromkeys(shown):
                    problems += [f"{name} {kwargs}: {p}" for p in viz.legibility_problems(fig)]
            finally:
                for number in set(plt.get_fignums()) - figures_before:
                    plt.close(number)
    unique = list(dict.fromkeys(problems))
    assert not unique, f"{len(unique)} legibility problems, such as:\n" + "\n".join(unique[:15])
