"""python -m bench.widgets [--quick]: how long each widget takes to answer a slider move.

Every module in dlteach/widgets/ lists its callbacks in BENCH_CASES, a list of
(name, callable, list_of_kwargs) that drives the callback across its slider range. Each callable
is called once to warm up (imports, caches, the first layout), then once per kwargs, timed. A
setting's time is the minimum over repeats: this shared machine swings up to 2x from moment to
moment, and the slowest *setting* is what a learner feels, not the slowest moment of the machine.

A callable should do what one slider move costs in the notebook, rendering included. A callable
that leaves new figures open in pyplot, or returns a Figure, is charged what the inline backend
would charge: the PNG encoding of each (bbox_inches="tight"), then those figures are closed.

Limits: median under 100 ms, worst under 250 ms. This prints which widgets exceed them and
always exits 0: benchmarks are not tests.
"""

import argparse
import importlib
import io
import pkgutil
import statistics
import sys
import time

MEDIAN_LIMIT_MS = 100.0
WORST_LIMIT_MS = 250.0
REPEATS = 3
QUICK_SETTINGS = 3    # first, middle and last setting of each case
QUICK_REPEATS = 1


def widget_modules():
    """(module name, module or the exception importing it raised) for each dlteach/widgets/ module."""
    import dlteach.widgets

    found = []
    for info in sorted(pkgutil.iter_modules(dlteach.widgets.__path__), key=lambda m: m.name):
        if info.name.startswith("_") or info.name in dlteach.widgets.SHARED:
            continue
        name = f"dlteach.widgets.{info.name}"
        try:
            found.append((name, importlib.import_module(name)))
        except Exception as error:  # one broken module must not hide the others' timings
            found.append((name, error))
    return found


def spread(settings, count):
    """`count` settings evenly spread over the list, both ends included (all if count >= len)."""
    if count >= len(settings):
        return list(settings)
    if count == 1:
        return [settings[0]]
    step = (len(settings) - 1) / (count - 1)
    return [settings[round(i * step)] for i in range(count)]


def _charge_inline_rendering(plt, figures_before, result):
    """Encode what the inline backend would show after the call: new pyplot figures, a returned Figure."""
    from matplotlib.figure import Figure

    new = [plt.figure(n) for n in plt.get_fignums() if n not in figures_before]
    shown = new + [result] if isinstance(result, Figure) and result not in new else new
    for fig in shown:
        fig.savefig(io.BytesIO(), format="png", bbox_inches="tight")
    for fig in new:   # as inline does; a returned long-lived figure stays open for the next call
        plt.close(fig)


def time_call(plt, fn, kwargs):
    """Milliseconds for one callback with these slider settings, rendering included."""
    figures_before = set(plt.get_fignums())
    start = time.perf_counter()
    result = fn(**kwargs)
    _charge_inline_rendering(plt, figures_before, result)
    return (time.perf_counter() - start) * 1e3


def verdict(median_ms, worst_ms):
    over = []
    if median_ms >= MEDIAN_LIMIT_MS:
        over.append(f"median >= {MEDIAN_LIMIT_MS:g} ms")
    if worst_ms >= WORST_LIMIT_MS:
        over.append(f"worst >= {WORST_LIMIT_MS:g} ms")
    return "ok" if not over else "TOO SLOW: " + ", ".join(over)


def _error_row(widget, module, message):
    return {"widget": widget, "module": module, "settings": 0, "calls": 0,
            "median_ms": None, "worst_ms": None, "ok": False, "verdict": f"ERROR: {message}"}


def bench_case(plt, module, name, fn, settings, *, quick=False):
    """One row: the callback's median and worst time over its (spread) slider settings."""
    if quick:
        settings = spread(settings, QUICK_SETTINGS)
    repeats = QUICK_REPEATS if quick else REPEATS
    figures_before = set(plt.get_fignums())
    try:
        time_call(plt, fn, settings[0])   # warm-up: imports, caches, the first layout
        per_setting = [min(time_call(plt, fn, kwargs) for _ in range(repeats)) for kwargs in settings]
    except Exception as error:
        return _error_row(name, module, f"{type(error).__name__}: {error}")
    finally:
        for n in set(plt.get_fignums()) - figures_before:   # the case's own long-lived figures
            plt.close(n)
    median_ms, worst_ms = statistics.median(per_setting), max(per_setting)
    return {"widget": name, "module": module, "settings": len(settings),
            "calls": len(settings) * repeats, "median_ms": median_ms, "worst_ms": worst_ms,
            "ok": median_ms < MEDIAN_LIMIT_MS and worst_ms < WORST_LIMIT_MS,
            "verdict": verdict(median_ms, worst_ms)}


def run(quick=False):
    """Time every BENCH_CASES entry of every widgets module; one dict per case (see bench_case)."""
    import matplotlib

    matplotlib.use("Agg")   # no window: what is timed is drawing and PNG encoding, as in the kernel
    import matplotlib.pyplot as plt

    rows = []
    for module_name, module in widget_modules():
        if isinstance(module, Exception):
            rows.append(_error_row(module_name, module_name,
                                   f"import failed: {type(module).__name__}: {module}"))
            continue
        cases = getattr(module, "BENCH_CASES", None)
        if not cases:
            rows.append(_error_row(module_name, module_name, "no BENCH_CASES (or it is empty)"))
            continue
        for case in cases:
            try:
                name, fn, settings = case
            except (TypeError, ValueError):
                rows.append(_error_row(module_name, module_name,
                                       f"a BENCH_CASES entry is not (name, callable, kwargs list): {case!r:.80}"))
                continue
            if not settings:
                rows.append(_error_row(name, module_name, "empty list of slider settings"))
                continue
            rows.append(bench_case(plt, module_name, name, fn, list(settings), quick=quick))
    return rows


def format_table(rows, *, quick=False):
    """The rows as a fixed-width table, then a line naming every widget over the limits."""
    mode = (f"quick: {QUICK_SETTINGS} settings per case, {QUICK_REPEATS} call each" if quick
            else f"every setting, best of {REPEATS} calls each")
    width = max([len("widget")] + [len(r["widget"]) for r in rows])
    lines = [
        f"Widget callbacks ({mode}); limits: median < {MEDIAN_LIMIT_MS:g} ms, worst < {WORST_LIMIT_MS:g} ms",
        f"{'widget':<{width}} {'settings':>8} {'calls':>5} {'median ms':>9} {'worst ms':>8}  verdict",
    ]
    for r in rows:
        if r["median_ms"] is None:
            lines.append(f"{r['widget']:<{width}} {'-':>8} {'-':>5} {'-':>9} {'-':>8}  {r['verdict']}")
        else:
            lines.append(f"{r['widget']:<{width}} {r['settings']:>8} {r['calls']:>5} "
                         f"{r['median_ms']:>9.1f} {r['worst_ms']:>8.1f}  {r['verdict']}")
    failing = [r["widget"] for r in rows if not r["ok"]]
    if not rows:
        lines.append("no widget modules with BENCH_CASES in dlteach/widgets/")
    elif failing:
        lines.append(f"OVER THE LIMITS OR BROKEN ({len(failing)} of {len(rows)}): {', '.join(failing)}")
    else:
        lines.append(f"all {len(rows)} widget callbacks within the limits")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.widgets", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help=f"only {QUICK_SETTINGS} settings per case, {QUICK_REPEATS} call each")
    args = parser.parse_args(argv)
    print(format_table(run(quick=args.quick), quick=args.quick), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
