"""Widgets and figures for lesson 01 (universal approximation): N units and steepness against a target,
sup error against N on log-log axes, 2-D towers, and depth against width.

Each view owns one matplotlib Figure (no pyplot, so nothing is displayed behind the widget's back),
draws its artists once, and on every slider move only calls set_data and renders a PNG into an
ipywidgets Image. The numbers come from pure functions in dlteach.experiments.universal_approximation; the static
fallback figures (plot_* and *_grid) draw the same pictures on ordinary pyplot axes.
"""

from functools import lru_cache

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np

from dlteach import viz
from dlteach.data import TARGETS
from dlteach.experiments import universal_approximation as approximation
from dlteach.widgets import live

__all__ = [
    "plot_fit", "plot_error_curves", "plot_towers", "plot_sawtooth", "plot_units",
    "fit_grid", "tower_grid", "depth_grid",
    "FitView", "ErrorView", "TowerView", "DepthView",
    "explore_fit", "explore_error", "explore_towers", "explore_depth", "BENCH_CASES",
]

_COLORS = {"f": "0.25", "F": "tab:blue", "sigmoid": "tab:blue", "relu": "tab:orange", "err": "tab:red"}


def _axes(ax, figsize):
    if ax is None:
        _, ax = plt.subplots(figsize=figsize, dpi=live.DPI, layout="constrained")
    return ax


def plot_fit(target, n, w, *, kind="sigmoid", ax=None):
    """f and the hand-built F with n bumps (kind="sigmoid") or n ReLU knots (kind="relu"); sup error in the title.

    Returns the Axes.
    """
    ax = _axes(ax, (5, 3.2))
    s = approximation.fit_summary(target, n, w=w, kind=kind)
    ax.plot(s["x"], s["f"], color=_COLORS["f"], lw=2, label="target f")
    ax.plot(s["x"], s["F"], color=_COLORS["F"], lw=1.5, label=f"F: {s['units']} units")
    ax.fill_between(s["x"], s["f"], s["F"], color=_COLORS["err"], alpha=0.2, label="|F - f|")
    ax.set(xlabel="x", ylabel="value", xlim=(-1, 1), ylim=(-1.6, 1.6),
           title=f"{target}, N = {n}{f', w = {w:g}' if kind == 'sigmoid' else ' ReLUs'}: sup error {s['sup_error']:.3g}")
    _legend_beside(ax)
    return ax


def _legend_beside(ax, **kwargs):
    """The legend right of the Axes: inside it, F or f would run under the legend for some setting."""
    return ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, **kwargs)


def plot_error_curves(target, *, ax=None):
    """Sup error against hidden units on log-log axes, sigmoid staircase and ReLU interpolant, fitted slopes in the legend.

    Returns the Axes.
    """
    ax = _axes(ax, (5, 3.2))
    for kind, (units, errors, slope) in approximation.error_curves(target).items():
        label = _slope_label(kind, slope)
        ax.loglog(units, np.maximum(errors, 1e-6), "o-", color=_COLORS[kind], ms=4, label=label)
        viz.plain_log_ticks(ax)
    ax.set(xlabel="hidden units", ylabel="sup error", ylim=(1e-6, 3), title=f"{target}: error against units")
    ax.legend()
    ax.grid(True, which="major", alpha=0.3)
    return ax


def _slope_label(kind, slope):
    # The slope is fitted from N = 8 bumps or knots on (see approximation.error_curves).
    return f"{kind}: slope {slope:.2f} (fit N >= 8)" if np.isfinite(slope) else f"{kind}: exact (error 0)"


def plot_towers(target, n, w, *, axes=None):
    """Three panels: the 2-D target, the network of n x n towers, and |F - f| with the mean error.

    Returns the array of three Axes.
    """
    if axes is None:
        _, axes = plt.subplots(1, 3, figsize=(9, 3), dpi=live.DPI)
    xs, F, truth, units = approximation.tower_network(approximation.target_2d(target), n, w=w, points=51)
    extent = (xs[0], xs[-1], xs[0], xs[-1])
    titles = (f"target: {target}", f"{n} x {n} towers ({units[0]} + {units[1]} units)",
              f"|F - f|, mean {np.abs(F - truth).mean():.3f}")
    for ax, img, title, cmap in zip(axes, (truth, F, np.abs(F - truth)), titles, ("viridis", "viridis", "Reds")):
        ax.imshow(img, origin="lower", extent=extent, vmin=0, vmax=1, cmap=cmap)
        ax.set(title=title, xlabel="x", ylabel="y")
    return axes


def plot_sawtooth(k, *, ax=None):
    """The deep sawtooth g^k (2k units), the least-squares shallow net with the same 2k units, and the
    flat line 1/2: with fewer than 2^k - 1 units no shallow net has a smaller sup error. Returns the Axes."""
    ax = _axes(ax, (5, 3.2))
    d = approximation.depth_vs_width(k)
    ax.plot(d["x"], d["deep"], color=_COLORS["sigmoid"], lw=1.5, label=f"deep: {d['deep_units']} units, {d['pieces']} pieces")
    ax.plot(d["x"], d["shallow"], color=_COLORS["relu"], lw=1.5, label=f"shallow, {d['deep_units']} units, least squares")
    ax.axhline(0.5, color="0.4", ls=":", lw=1.2, label="flat 1/2: sup error 1/2")
    ax.set(xlabel="x", ylabel="g^k(x)", xlim=(0, 1), ylim=(-0.4, 1.6), title=f"k = {k}: shallow sup error {d['shallow_sup_error']:.2f}")
    ax.legend(loc="upper right")
    return ax


def plot_units(k, *, ax=None):
    """Hidden units needed for the 2^k-piece sawtooth: deep 2k against shallow 2^k - 1 (log scale). Returns the Axes."""
    ax = _axes(ax, (4, 3.2))
    ks = np.arange(1, 11)
    ax.semilogy(ks, 2 * ks, "o-", color=_COLORS["sigmoid"], ms=4, label="deep: 2k")
    viz.plain_log_ticks(ax)
    ax.semilogy(ks, 2.0 ** ks - 1, "s-", color=_COLORS["relu"], ms=4, label="shallow: 2^k - 1")
    viz.plain_log_ticks(ax)
    ax.axvline(k, color="0.5", ls=":")
    ax.set(xlabel="k (tents composed)", ylabel="hidden units", title="units for 2^k pieces")
    ax.legend()
    return ax


def fit_grid(settings, *, kind="sigmoid"):
    """Static fallback for explore_fit: one plot_fit panel per (target, n, w) in settings, one legend below them.
    Returns the Figure."""
    fig, axes = plt.subplots(1, len(settings), figsize=(min(2.25 * len(settings), 9.0), 3.2), dpi=live.DPI,
                             sharey=True, squeeze=False, layout="constrained")
    for i, (ax, (target, n, w)) in enumerate(zip(axes[0], settings)):
        plot_fit(target, n, w, kind=kind, ax=ax)
        sup = ax.get_title().rsplit(" ", 1)[-1]
        ax.set_title(f"{target}, N={n}, w={w:g}\nsup error {sup}", fontsize=live.FONT_PT)
        ax.set_xticks([-1, 0, 1])
        ax.get_legend().remove()
        if i:
            ax.set_ylabel("")
    handles = axes[0, 0].get_legend_handles_labels()[0]
    fig.legend(handles, ["target f", "network F", "|F - f|"],
               loc="outside lower center", ncols=3, frameon=False)
    return fig


def tower_grid(settings):
    """Static fallback for explore_towers: one row of plot_towers per (target, n, w). Returns the Figure."""
    fig, axes = plt.subplots(len(settings), 3, figsize=(9, 2.9 * len(settings)), dpi=live.DPI, squeeze=False)
    for row, (target, n, w) in zip(axes, settings):
        plot_towers(target, n, w, axes=row)
    fig.tight_layout()
    return fig


def depth_grid(ks):
    """Static fallback for explore_depth: plot_sawtooth for each k in a row; below, plot_units for the last k
    beside the row's one legend. Returns the Figure."""
    names = [f"k{i}" for i in range(len(ks))]
    top = names if len(ks) > 1 else names * 2             # the rows of a mosaic are equally long
    fig = plt.figure(figsize=(9.0, 5.4), dpi=live.DPI, layout="constrained")
    axes = fig.subplot_mosaic([top, ["units"] * (len(top) - 1) + ["legend"]])
    for name, k in zip(names, ks):
        ax = plot_sawtooth(k, ax=axes[name])
        ax.set_title(f"k = {k}: shallow sup error {ax.get_title().rsplit(' ', 1)[-1]}", fontsize=live.FONT_PT)
        ax.get_legend().remove()
    plot_units(ks[-1], ax=axes["units"])
    # One legend for the row, in a cell of its own: it covers no curve. Each label holds for every k.
    handles = axes[names[0]].get_lines()[:3]
    axes["legend"].legend(handles, ["deep: 2k units, 2^k pieces", "shallow: 2k units, least squares",
                                    "flat 1/2: sup error 1/2"], loc="center", title="the panels above")
    axes["legend"].set_axis_off()
    return fig


class _View:
    """One Figure drawn once; update(**settings) moves the artists, render(**settings) returns PNG bytes.

    Axes, ticks and labels are drawn once and kept as a bitmap; a render restores that bitmap and
    draws only the artists that update() changes (blitting), then encodes the PNG quickly.
    """

    def __init__(self, figsize, ncols=1):
        self.fig = live.live_figure(figsize, layout=None)
        self.axes = self.fig.subplots(1, ncols, squeeze=False)[0]
        self._blitter = live.Blitter(self.fig, palette=False)

    def _finish(self):
        # Fixed limits: the blitted background (ticks, labels) must stay true for every setting.
        self.fig.tight_layout()
        for ax in self.axes:
            ax.set_autoscale_on(False)

    def _dynamic(self):
        """The artists that update() changes, titles and legends included."""
        raise NotImplementedError

    def update(self, **settings):
        raise NotImplementedError

    def render(self, **settings):
        self.update(**settings)
        artists = [a for a in self._dynamic() if a is not None]
        for a in artists:
            a.set_animated(True)                 # left out of the background, which is drawn once
        return self._blitter.png(moving=artists)


class FitView(_View):
    """f, F and |F - f| for a target, N units, steepness w and the kind of unit."""

    def __init__(self):
        super().__init__((8, 3.2))
        ax = self.axes[0]
        plot_fit("sin", 8, 100.0, ax=ax)
        self.f_line, self.F_line = ax.lines[:2]
        self.F_line.set_label("F (hand-built)")
        _legend_beside(ax)
        self.fill = ax.collections[0]
        self._finish()

    def _dynamic(self):
        ax = self.axes[0]
        return [self.fill, self.f_line, self.F_line, ax.title]

    def update(self, target="sin", n=8, w=100.0, kind="sigmoid"):
        s = approximation.fit_summary(target, n, w=w, kind=kind)
        ax = self.axes[0]
        self.f_line.set_ydata(s["f"])
        self.F_line.set_ydata(s["F"])
        self.fill.remove()
        self.fill = ax.fill_between(s["x"], s["f"], s["F"], color=_COLORS["err"], alpha=0.2)
        # Units go in the title: the legend stays in the blitted background and costs nothing per move.
        ax.set_title(f"{target}, N = {n}, w = {w:g}: F has {s['units']} {kind} units; "
                     f"sup error {s['sup_error']:.3g}, mean {s['mean_error']:.3g}", fontsize=live.FONT_PT)
        return s


@lru_cache(maxsize=None)
def _error_curves(target):
    # Four targets, each computed once: moving the N slider then costs only a redraw.
    return approximation.error_curves(target)


class ErrorView(_View):
    """Log-log sup error against units for one target; a marker at the chosen N on each curve."""

    def __init__(self):
        super().__init__((8, 3.2))
        ax = self.axes[0]
        self.lines = {k: ax.loglog([1], [1], "o-", color=_COLORS[k], ms=4)[0] for k in ("sigmoid", "relu")}
        viz.plain_log_ticks(ax)
        self.marks = {k: ax.loglog([1], [1], "*", color=_COLORS[k], ms=14, mec="k")[0] for k in ("sigmoid", "relu")}
        viz.plain_log_ticks(ax)
        ax.set(xlabel="hidden units", ylabel="sup error", xlim=(1.5, 300), ylim=(5e-7, 3))
        ax.grid(True, which="major", alpha=0.3)
        self.update()                            # a title and a legend to lay the figure out around
        self._finish()

    def _dynamic(self):
        ax = self.axes[0]
        return [*self.lines.values(), *self.marks.values(), ax.title, ax.get_legend()]

    def update(self, target="sin", n=8):
        curves = _error_curves(target)
        for kind, (units, errors, slope) in curves.items():
            errors = np.maximum(errors, 1e-6)        # an exact fit (error 0) sits on the floor of the plot
            self.lines[kind].set_data(units, errors)
            self.lines[kind].set_label(_slope_label(kind, slope))
            i = int(np.argmin(np.abs(units / (2 if kind == "sigmoid" else 1) - n)))
            self.marks[kind].set_data(units[i:i + 1], errors[i:i + 1])
        self.axes[0].set_title(f"{target}: sup error against units (stars: N = {n} bumps or knots)", fontsize=live.FONT_PT)
        self.axes[0].legend(handles=list(self.lines.values()), loc="lower left")
        return curves


class TowerView(_View):
    """Target, tower network and |F - f| as three images updated with set_data."""

    def __init__(self):
        super().__init__((9, 3), ncols=3)
        plot_towers("peak", 4, 40.0, axes=self.axes)
        self.images = [ax.images[0] for ax in self.axes]
        self._finish()

    def _dynamic(self):
        return [*self.images, *(ax.title for ax in self.axes)]

    def update(self, target="peak", n=4, w=40.0):
        xs, F, truth, units = approximation.tower_network(approximation.target_2d(target), n, w=w, points=51)
        err = np.abs(F - truth)
        for img, data in zip(self.images, (truth, F, err)):
            img.set_data(data)
        self.axes[0].set_title(f"target: {target}")
        self.axes[1].set_title(f"{n} x {n} towers, w = {w:g}")
        self.axes[2].set_title(f"|F - f|, mean {err.mean():.3f}")
        return float(err.mean())


class DepthView(_View):
    """Deep sawtooth against the same-budget shallow net, and the units each needs."""

    def __init__(self):
        super().__init__((9, 3.2), ncols=2)
        plot_sawtooth(3, ax=self.axes[0])
        plot_units(3, ax=self.axes[1])
        self.deep, self.shallow = self.axes[0].lines[:2]
        self.deep.set_label("deep (composed tents)")
        self.shallow.set_label("shallow, same units, least squares")
        self.axes[0].legend(loc="upper right")   # the flat line 1/2 keeps its label from plot_sawtooth
        self.marker = self.axes[1].lines[-1]
        self._finish()

    def _dynamic(self):
        ax = self.axes[0]
        return [self.deep, self.shallow, self.marker, ax.title]

    def update(self, k=3):
        d = approximation.depth_vs_width(k)
        self.deep.set_ydata(d["deep"])
        self.shallow.set_ydata(d["shallow"])
        self.axes[0].set_title(f"k = {k}: {d['pieces']} pieces, {d['deep_units']} units each; "
                               f"shallow sup error {d['shallow_sup_error']:.2f}", fontsize=live.FONT_PT)
        self.marker.set_xdata([k, k])
        return d


def _live(view, controls):
    """A VBox of the controls over an Image that view re-renders on every change."""
    image, _, _ = live.live_view(view.render, controls)
    return widgets.VBox([widgets.HBox(list(controls.values())), image])


def explore_fit():
    """Sliders for N and log10 w, menus for the target and the unit; shows f, F and the sup error."""
    controls = {
        "target": widgets.Dropdown(options=list(TARGETS), value="sin", description="target"),
        "n": widgets.IntSlider(value=8, min=1, max=40, description="N"),
        "w": widgets.FloatLogSlider(value=100.0, base=10, min=0, max=3, step=0.1, description="w"),
        "kind": widgets.ToggleButtons(options=["sigmoid", "relu"], value="sigmoid", description="unit"),
    }
    return _live(FitView(), controls)


def explore_error():
    """A target menu and an N slider over the log-log plot of sup error against units."""
    controls = {
        "target": widgets.Dropdown(options=list(TARGETS), value="sin", description="target"),
        "n": widgets.IntSlider(value=8, min=2, max=64, description="N"),
    }
    return _live(ErrorView(), controls)


def explore_towers():
    """Sliders for n (towers per side) and w, a menu for the 2-D target."""
    controls = {
        "target": widgets.Dropdown(options=list(approximation.TARGETS_2D), value="peak", description="target"),
        "n": widgets.IntSlider(value=4, min=1, max=12, description="n"),
        "w": widgets.FloatLogSlider(value=40.0, base=10, min=0.5, max=2.5, step=0.1, description="w"),
    }
    return _live(TowerView(), controls)


def explore_depth():
    """A slider for k, the number of composed tents."""
    return _live(DepthView(), {"k": widgets.IntSlider(value=3, min=1, max=8, description="k")})


BENCH_CASES = [
    ("approximation.fit", live.bench_call(FitView, "render"),
     [{"target": t, "n": n, "w": w, "kind": kind} for t in TARGETS for n in (1, 8, 40)
      for w in (1.0, 100.0, 1000.0) for kind in ("sigmoid", "relu")]),
    ("approximation.error", live.bench_call(ErrorView, "render"),
     [{"target": t, "n": n} for t in TARGETS for n in (2, 8, 64)]),
    ("approximation.towers", live.bench_call(TowerView, "render"),
     [{"target": t, "n": n, "w": w} for t in approximation.TARGETS_2D for n in (1, 4, 12) for w in (3.0, 40.0, 300.0)]),
    ("approximation.depth", live.bench_call(DepthView, "render"), [{"k": k} for k in range(1, 9)]),
]
