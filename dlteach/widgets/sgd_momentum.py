"""Lesson 05's widgets: the optimizer lab, the adaptive-step lab and the convergence-rate explorer.

Each widget owns one matplotlib Figure. A full draw happens only when the axes change (another
surface, another number of steps); any other slider move redraws just the trajectory lines over
the saved background and hands a PNG to an ipywidgets.Image. The numbers come from the pure
functions in dlteach.experiments.sgd_momentum, which the tests call; the figure helpers (draw_lab, lab_grid,
rate_grid) also make the lesson's static fallbacks. ipywidgets is imported only when a widget is shown.
"""

from functools import lru_cache

import numpy as np
from matplotlib import colormaps
from matplotlib.colors import BoundaryNorm, ListedColormap, LogNorm
from matplotlib.figure import Figure
from matplotlib.ticker import LogLocator, MaxNLocator, NullLocator

from dlteach import viz
from dlteach.experiments import sgd_momentum
from dlteach.widgets import live

__all__ = ["COLORS", "COLOR_NAMES", "LABELS", "LAB_METHODS", "ADAPTIVE_METHODS", "surface_map", "draw_lab", "lab_runs", "lab_grid",
           "rate_grid", "OptimizerLab", "RateExplorer", "optimizer_lab", "adaptive_lab", "rate_explorer",
           "BENCH_CASES"]

LAB_METHODS = ("gd", "sgd", "polyak", "momentum", "nesterov")
ADAPTIVE_METHODS = ("gd", "adagrad", "rmsprop", "adam")
# Okabe-Ito colours: told apart by colour-blind readers too.
COLORS = {"gd": "#000000", "sgd": "#E69F00", "polyak": "#D55E00", "momentum": "#0072B2",
          "nesterov": "#56B4E9", "adagrad": "#009E73", "rmsprop": "#CC79A7", "adam": "#9A7B00"}
# What a caption calls each colour: lessons assert their captions against it.
COLOR_NAMES = {"#000000": "black", "#E69F00": "orange", "#D55E00": "vermilion", "#0072B2": "blue",
               "#56B4E9": "sky blue", "#009E73": "bluish green", "#CC79A7": "reddish purple", "#9A7B00": "dark yellow"}
LABELS = {"gd": "GD", "sgd": "SGD", "polyak": "SGD + Polyak avg", "momentum": "momentum",
          "nesterov": "Nesterov", "adagrad": "AdaGrad", "rmsprop": "RMSProp", "adam": "Adam"}
BATCHES = (1, 2, 4, 8, 16, 32, 64, 128)
CLIPS = ("off", 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0)
GAP_FLOOR = 1e-10        # J - J* is drawn on a log axis down to here
MAP_CMAP = ListedColormap(colormaps["Greys_r"](np.linspace(0.3, 0.97, 256)))   # light: lines stay readable


@lru_cache(maxsize=32)
def _surface(name, kappa):
    return sgd_momentum.make(name, kappa=kappa)


@lru_cache(maxsize=32)
def surface_map(name, kappa=10.0):
    """The surface, log10(J - J* + floor) on its grid for the background, and the levels of its bands.

    Cached: the logistic regression's grid costs ~10^6 exponentials. Shapes: -> map (R, R).
    """
    s = _surface(name, kappa)
    _, _, J = s.grid(100 if name == "logistic" else 160)
    gap = np.log10(J - s.min_loss + 1e-3)                     # (R, R)
    levels = np.linspace(-3, min(float(gap.max()), 3.0), 16)
    return s, gap, levels


def _background(ax, name, kappa):
    s, gap, levels = surface_map(name, kappa)
    (a, b), (c, d) = s.bounds
    norm = BoundaryNorm(levels, ncolors=256, extend="max")     # bands read like filled contours
    ax.imshow(gap, extent=(a, b, c, d), origin="lower", cmap=MAP_CMAP, norm=norm, aspect="auto",
              interpolation="nearest")      # flat bands: a third of the PNG bytes of a smooth image
    ax.plot(*s.minimum, marker="*", color="white", markeredgecolor="black", markersize=13, zorder=5)
    ax.set(xlim=(a, b), ylim=(c, d), xlabel="$w_1$", ylabel="$w_2$")
    ax.set_title(s.title, fontsize=live.FONT_PT)
    return s


def _gap(surface, run):
    return np.maximum(run["loss"] - surface.min_loss, GAP_FLOOR)


def _ylim(surface):
    _, gap, _ = surface_map(surface.name, getattr(surface, "kappa", 10.0))
    return GAP_FLOOR, 10 ** (float(gap.max()) + 1)


def draw_lab(axes, name, runs, *, kappa=10.0, steps=None, legend=True):
    """Draw runs (from sgd_momentum.compare) over surface name's map and J - J* against the step.

    Returns {method: (path line, loss line)} so a live widget can move them later.
    """
    ax_map, ax_loss = axes
    s = _background(ax_map, name, kappa)
    lines = {}
    for m, r in runs.items():
        style = dict(color=COLORS[m], lw=2.2 if m == "polyak" else 1.4, label=LABELS[m])
        (path_line,) = ax_map.plot(r["path"][:, 0], r["path"][:, 1], **style)
        (loss_line,) = ax_loss.plot(np.arange(len(r["loss"])), _gap(s, r), **style)
        lines[m] = (path_line, loss_line)
    first = next(iter(runs.values()))
    ax_map.plot(*first["path"][0], "o", color="black", markersize=5)
    ax_loss.set(yscale="log", xlim=(0, steps or len(first["loss"]) - 1), ylim=_ylim(s),
                xlabel="step t", ylabel="$J(w_t) - J(w^*)$")
    viz.plain_log_ticks(ax_loss)
    ax_loss.set_title("loss above its minimum (log scale)", fontsize=live.FONT_PT)
    _few_ticks(ax_map, ax_loss)
    ax_loss.grid(alpha=0.3)
    if legend:
        ax_loss.legend(loc="lower left", ncols=2, framealpha=0.8)
    return lines


def _few_ticks(*axes):
    # Tick labels are most of a full draw's cost: a few per axis, no minor ticks on log axes.
    for ax in axes:
        ax.xaxis.set_major_locator(MaxNLocator(5))
        if ax.get_yscale() == "log":
            ax.yaxis.set_major_locator(LogLocator(base=10, numticks=6))
            ax.yaxis.set_minor_locator(NullLocator())
        else:
            ax.yaxis.set_major_locator(MaxNLocator(5))


def lab_runs(settings, *, methods=LAB_METHODS):
    """The runs behind lab_grid, so a lesson can check what it draws: {label: (surface, {method: run}, steps)}.

    settings: a list of (label, kwargs), kwargs holding name (the surface), kappa, and sgd_momentum.compare's
    start, steps, lr, ...
    """
    out = {}
    for label, kw in settings:
        kw = dict(kw)
        name, kappa = kw.pop("name"), kw.pop("kappa", 10.0)
        s = _surface(name, kappa)
        start, steps = kw.pop("start", s.start), kw.pop("steps", 200)
        kw.setdefault("lr", s.lr)
        out[label] = (s, sgd_momentum.compare(s, methods, start, steps, **kw), steps)
    return out


def lab_grid(settings, *, methods=LAB_METHODS, runs=None, figsize_row=(9.0, 2.6), across=False):
    """Static fallback: per setting, its map with the paths and J - J* against the step, under one legend.

    settings as for lab_runs; runs: lab_runs(settings, methods=methods) when the caller already has it.
    across=False: one row (map, J - J*) per setting; across=True: one column per setting, the maps in
    the top row and J - J* below (wide, for a screen or a slide).
    Returns the Figure.
    """
    runs = lab_runs(settings, methods=methods) if runs is None else runs
    if across:
        fig = Figure(figsize=(min(4.2 * len(runs), 9.9), 2 * figsize_row[1] + 0.6), dpi=live.DPI,   # 9.9 in: 792 px
                     layout="constrained")
        axes = fig.subplots(2, len(runs), squeeze=False).T                   # axes[k]: (map, J - J*) of setting k
    else:
        fig = Figure(figsize=(figsize_row[0], figsize_row[1] * len(runs) + 0.3), dpi=live.DPI, layout="constrained")
        axes = fig.subplots(len(runs), 2, squeeze=False, width_ratios=(1.1, 1))
    for pair, (label, (s, row_runs, steps)) in zip(axes, runs.items()):
        lines = draw_lab(pair, s.name, row_runs, kappa=getattr(s, "kappa", 10.0), steps=steps, legend=False)
        pair[0].set_title(f"{label}: {s.title}", fontsize=live.FONT_PT)
    # Every panel draws the same methods in the same colours: one legend, outside the panels, covers no data.
    fig.legend(handles=[path for path, _ in lines.values()], loc="outside upper center", ncols=len(lines),
               frameon=False)
    return fig


def _rate_axes(ax_map, ax_dist, view, kappa):
    lrs, mus = view["lrs"], view["mus"]
    im = ax_map.imshow(steps_per_decade(view["map"]), extent=(lrs[0], lrs[-1], mus[0], mus[-1]), origin="lower",
                       aspect="auto", cmap="viridis", norm=LogNorm(1, 1000))
    eta, mu, _ = view["best_momentum"]
    ax_map.plot(eta, mu, "*", color="white", markeredgecolor="black", markersize=13)
    ax_map.plot(view["best_gd"][0], 0.0, "*", color="white", markeredgecolor="black", markersize=11, clip_on=False)
    ax_map.set(xlabel=r"learning rate $\eta$", ylabel=r"momentum $\mu$")
    ax_map.set_title(_rate_title(kappa), fontsize=live.FONT_PT)
    ax_dist.set(yscale="log", ylim=(1e-12, 10), xlim=(0, len(view["dist_gd"]) - 1), xlabel="step t",
                ylabel=r"$\|w_t - w^*\|$")
    viz.plain_log_ticks(ax_dist)
    ax_dist.grid(alpha=0.3)
    _few_ticks(ax_map, ax_dist)
    return im


def _rate_title(kappa):
    return f"kappa = {kappa:g}: momentum's steps per 10x"


def steps_per_decade(rate):
    """-1 / log10(rate): the steps a method needs to shrink its error 10 times (inf when rate >= 1)."""
    rate = np.asarray(rate, dtype=np.float64)
    with np.errstate(divide="ignore"):
        return np.where(rate < 1, -1.0 / np.log10(np.clip(rate, 1e-300, None)), np.inf)


def rate_grid(kappas=(10.0, 100.0)):
    """Static fallback of the rate explorer: the rate map per kappa and both methods at their optima."""
    fig = Figure(figsize=(9.0, 3.0 * len(kappas)), dpi=live.DPI, layout="constrained")
    axes = fig.subplots(len(kappas), 2, squeeze=False)
    for (ax_map, ax_dist), kappa in zip(axes, kappas):
        lam = (1.0 / kappa, 1.0)
        eta_m, mu_m = sgd_momentum.optimal_momentum(*lam)
        eta_gd = sgd_momentum.optimal_gd(*lam)
        view = sgd_momentum.rate_view(kappa, eta_m, mu_m)
        gd = sgd_momentum.rate_view(kappa, eta_gd, 0.0)
        im = _rate_axes(ax_map, ax_dist, view, kappa)
        t = np.arange(len(view["dist_gd"]))
        d0 = view["dist_gd"][0]
        ax_dist.plot(t, gd["dist_gd"], color=COLORS["gd"], label="GD at its best eta")
        ax_dist.plot(t, view["dist_momentum"], color=COLORS["momentum"], label="momentum at its best (eta, mu)")
        ax_dist.plot(t, d0 * gd["best_gd"][1] ** t, "--", color=COLORS["gd"], lw=1, label="predicted rate^t")
        ax_dist.plot(t, d0 * view["best_momentum"][2] ** t, "--", color=COLORS["momentum"], lw=1)
        ax_dist.set_title(f"best rates: GD {gd['best_gd'][1]:.3f}, momentum {view['best_momentum'][2]:.3f}",
                          fontsize=live.FONT_PT)
        # One colourbar per map, beside it: a bar spanning both rows would cover the lower map's title.
        fig.colorbar(im, ax=ax_map, label="steps per 10x (fewer is faster)", extend="max")
    # One legend below the right column: in a panel, the fast runs would cross it.
    fig.legend(handles=axes[0, 1].get_lines()[:3], loc="outside lower right", ncols=3, frameon=False)
    viz.plain_log_ticks(fig)
    return fig


MAX_STEPS = 400       # the steps slider's end: the live loss panel always spans it


class OptimizerLab:
    """Trajectories of several optimizers on one surface, with J - J* per step beside them.

    The map shows each surface in its own window, scaled to the unit square so that the axes never
    change (the window is named in the title). update(**settings) returns the PNG; self.caption
    holds each method's result as HTML.
    """

    def __init__(self, methods=LAB_METHODS):
        self.methods = tuple(methods)
        # Laid out at the first render, then frozen: limits and ticks never change after the first draw,
        # so the blitted background stays true.
        self.fig = live.live_figure((9.5, 3.8))
        ax_map, ax_loss = self.fig.subplots(1, 2, width_ratios=(1.1, 1))
        self.image = ax_map.imshow(np.zeros((2, 2)), extent=(0, 1, 0, 1), origin="lower", cmap=MAP_CMAP,
                                   aspect="auto", interpolation="bilinear")
        ax_map.set(xlim=(0, 1), ylim=(0, 1), xticks=[], yticks=[], xlabel="$w_1$", ylabel="$w_2$")
        self.title = ax_map.set_title("", fontsize=live.FONT_PT)
        self.paths, self.losses = {}, {}
        for m in self.methods:
            style = dict(color=COLORS[m], lw=2.2 if m == "polyak" else 1.4, label=LABELS[m])
            (self.paths[m],) = ax_map.plot([], [], **style)
            (self.losses[m],) = ax_loss.plot([], [], **style)
        (self.star,) = ax_map.plot([], [], "*", color="white", markeredgecolor="black", markersize=13)
        (self.dot,) = ax_map.plot([], [], "o", color="black", markersize=5)
        ax_loss.set(yscale="log", xlim=(0, MAX_STEPS), ylim=(GAP_FLOOR, 1e4), xlabel="step t",
                    ylabel="$J(w_t) - J(w^*)$")
        viz.plain_log_ticks(ax_loss)
        ax_loss.set_title("loss above its minimum (log scale)", fontsize=live.FONT_PT)
        ax_loss.grid(alpha=0.3)
        # Below the panels: a fast method's curve crosses the whole loss panel on its way down.
        self.fig.legend(handles=list(self.losses.values()), loc="outside lower center", ncols=len(self.methods),
                        frameon=False)
        _few_ticks(ax_loss)
        self.live = live.Blitter(self.fig, [self.image, self.title, *self.paths.values(), *self.losses.values(),
                                            self.star, self.dot])
        self.shown = None
        self.caption = ""

    def _show_surface(self, name, kappa):
        s, gap, levels = surface_map(name, kappa)
        self.image.set_data(gap)
        self.image.set_norm(BoundaryNorm(levels, ncolors=256, extend="max"))   # bands read like contours
        (a, b), (c, d) = s.bounds
        self.title.set_text(f"{s.title}\n$w_1$ in [{a:.3g}, {b:.3g}], $w_2$ in [{c:.3g}, {d:.3g}]")
        self.star.set_data(*self._unit(s, s.minimum[None, :]).T)

    @staticmethod
    def _unit(s, path):
        (a, b), (c, d) = s.bounds
        return (path - [a, c]) / [b - a, d - c]          # (T, 2) in the unit square

    def update(self, surface="quadratic", kappa=10.0, lr=1.0, momentum=0.9, batch_size=16, steps=150,
               start_x=-2.0, start_y=1.2, clip="off", adaptive_lr=0.1):
        """Run the methods with these settings and move their lines; return the figure as PNG."""
        kappa = float(kappa) if surface == "quadratic" else 10.0
        s = _surface(surface, kappa)
        steps = min(int(steps), MAX_STEPS)
        runs = sgd_momentum.compare(s, self.methods, np.array([start_x, start_y]), steps, lr=lr,
                                    adaptive_lr=adaptive_lr, momentum=momentum, batch_size=int(batch_size),
                                    clip=None if clip == "off" else float(clip))
        if (surface, kappa) != self.shown:
            self._show_surface(surface, kappa)
            self.shown = (surface, kappa)
        for m, r in runs.items():
            self.paths[m].set_data(*self._unit(s, r["path"]).T)
            self.losses[m].set_data(np.arange(len(r["loss"])), _gap(s, r))
        self.dot.set_data(*self._unit(s, np.array([[start_x, start_y]])).T)
        self.caption = _caption(s, runs)
        return self.live.png()


def _caption(s, runs):
    cells = []
    for m, r in runs.items():
        if r["diverged"] is not None:
            text = f"blew up at step {r['diverged']}"
        else:
            text = f"J - J* = {max(r['loss'][-1] - s.min_loss, 0.0):.2e}"
        cells.append(f"<span style='color:{COLORS[m]}; font-weight:bold'>&#9632;</span> {LABELS[m]}: {text}")
    return " &nbsp; ".join(cells)


class RateExplorer:
    """The quadratic with condition number kappa: momentum's rate over (eta, mu), and the runs of GD
    and momentum at the chosen (eta, mu) against their predicted rate^t.
    """

    def __init__(self, steps=150):
        self.fig = live.live_figure((9.5, 3.6))      # laid out at the first render, then frozen
        ax_map, ax_dist = self.fig.subplots(1, 2)
        view = sgd_momentum.rate_view(10.0, 1.0, 0.5, steps=steps)
        self.image = _rate_axes(ax_map, ax_dist, view, 10.0)
        self.fig.colorbar(self.image, ax=ax_map, label="steps per 10x", pad=0.02, extend="max")
        viz.plain_log_ticks(self.fig)
        self.title = ax_map.title
        self.stars = ax_map.lines[:2]
        (self.point,) = ax_map.plot([], [], "o", color="red", markeredgecolor="white", markersize=8)
        self.t = np.arange(steps + 1)
        (self.gd,) = ax_dist.plot([], [], color=COLORS["gd"], label="GD (mu = 0)")
        (self.mom,) = ax_dist.plot([], [], color=COLORS["momentum"], label="momentum")
        (self.gd_pred,) = ax_dist.plot([], [], "--", lw=1, color=COLORS["gd"], label="predicted rate^t")
        (self.mom_pred,) = ax_dist.plot([], [], "--", lw=1, color=COLORS["momentum"])
        # Below the right panel: a fast run drops through its lower left corner.
        self.fig.legend(handles=[self.gd, self.mom, self.gd_pred], loc="outside lower right", ncols=3, frameon=False)
        ax_dist.set_title("distance to the minimum", fontsize=live.FONT_PT)
        self.live = live.Blitter(self.fig, [self.image, self.title, *self.stars, self.point, self.gd, self.mom,
                                            self.gd_pred, self.mom_pred])
        self.steps = steps
        self.caption = ""

    def update(self, kappa=100.0, lr=1.0, momentum=0.5):
        """Mark (lr, momentum) on kappa's rate map and redraw the two runs; return the PNG."""
        kappa = float(kappa)
        view = sgd_momentum.rate_view(kappa, lr, momentum, steps=self.steps)
        self.image.set_data(steps_per_decade(view["map"]))
        eta_m, mu_m, best = view["best_momentum"]
        self.stars[0].set_data([eta_m], [mu_m])
        self.stars[1].set_data([view["best_gd"][0]], [0.0])
        self.title.set_text(_rate_title(kappa))
        self.point.set_data([lr], [momentum])
        d0 = view["dist_gd"][0]
        with np.errstate(over="ignore"):
            for line, values in ((self.gd, view["dist_gd"]), (self.mom, view["dist_momentum"]),
                                 (self.gd_pred, d0 * view["rate_gd"] ** self.t),
                                 (self.mom_pred, d0 * view["rate_momentum"] ** self.t)):
                line.set_data(self.t, values)
        self.caption = (f"kappa = {kappa:g}: at eta = {lr:.3g}, mu = {momentum:.2f} GD's rate is "
                        f"{view['rate_gd']:.4f} and momentum's {view['rate_momentum']:.4f} per step. "
                        f"Best: GD {view['best_gd'][1]:.4f} at eta = {view['best_gd'][0]:.3f}; momentum "
                        f"{best:.4f} at eta = {eta_m:.3f}, mu = {mu_m:.3f}.")
        return self.live.png()


def _lab_controls(adaptive):
    import ipywidgets as widgets

    style = {"description_width": "6.5em"}
    s = _surface("quadratic", 10.0)
    c = {"surface": widgets.Dropdown(options=sgd_momentum.SURFACES, value="quadratic", description="surface", style=style),
         "kappa": widgets.FloatLogSlider(value=10.0, base=10, min=0, max=3, step=0.1, description="kappa",
                                         style=style, readout_format=".3g"),
         "lr": widgets.FloatLogSlider(value=s.lr, base=10, min=-4, max=0.5, step=0.05,
                                      description="GD step eta" if adaptive else "step eta", style=style,
                                      readout_format=".3g"),
         "steps": widgets.IntSlider(value=200, min=10, max=MAX_STEPS, step=10, description="steps", style=style),
         "start_x": widgets.FloatSlider(value=float(s.start[0]), min=s.bounds[0][0], max=s.bounds[0][1], step=0.05,
                                        description="start w1", style=style),
         "start_y": widgets.FloatSlider(value=float(s.start[1]), min=s.bounds[1][0], max=s.bounds[1][1], step=0.05,
                                        description="start w2", style=style),
         "batch_size": widgets.SelectionSlider(options=BATCHES, value=16, description="batch B", style=style),
         "clip": widgets.SelectionSlider(options=CLIPS, value="off", description="clip tau", style=style)}
    if adaptive:
        c["adaptive_lr"] = widgets.FloatLogSlider(value=0.1, base=10, min=-3, max=0, step=0.05,
                                                  description="adaptive eta", style=style, readout_format=".3g")
    else:
        c["momentum"] = widgets.FloatSlider(value=0.9, min=0.0, max=0.99, step=0.01, description="momentum mu",
                                            style=style)
    return c


def _lab(methods, adaptive):
    controls = _lab_controls(adaptive)
    rows = [("surface", "kappa", "steps"), ("lr", "adaptive_lr" if adaptive else "momentum", "batch_size"),
            ("start_x", "start_y", "clip")]
    box, refresh = live.show(OptimizerLab(methods), controls, rows=[[controls[n] for n in row] for row in rows])

    def new_surface(change):
        # Another surface has another window and step size: move the sliders there, then draw once.
        s = _surface(change["new"], 10.0)
        sx, sy = controls["start_x"], controls["start_y"]
        with box.hold_sync():
            for control in controls.values():
                control.unobserve(refresh, names="value")
            for slider, (lo, hi), value in ((sx, s.bounds[0], s.start[0]), (sy, s.bounds[1], s.start[1])):
                slider.min, slider.max = -1e9, 1e9      # widen first: min must never pass max
                slider.min, slider.max, slider.value = float(lo), float(hi), float(value)
            controls["lr"].value = s.lr
            controls["kappa"].disabled = change["new"] != "quadratic"
            for control in controls.values():
                control.observe(refresh, names="value")
        refresh()

    controls["surface"].observe(new_surface, names="value")
    return box


def optimizer_lab():
    """The live lab: GD, SGD, SGD with Polyak averaging, momentum and Nesterov on a chosen surface."""
    return _lab(LAB_METHODS, adaptive=False)


def adaptive_lab():
    """The live lab for adaptive step sizes: GD against AdaGrad, RMSProp and Adam."""
    return _lab(ADAPTIVE_METHODS, adaptive=True)


def rate_explorer():
    """The live rate explorer: sliders for kappa, eta and mu over RateExplorer.update."""
    import ipywidgets as widgets

    style = {"description_width": "6.5em"}
    controls = {"kappa": widgets.FloatLogSlider(value=100.0, base=10, min=0, max=3, step=0.1, description="kappa",
                                                style=style, readout_format=".3g"),
                "lr": widgets.FloatSlider(value=1.0, min=0.02, max=4.0, step=0.02, description="step eta", style=style),
                "momentum": widgets.FloatSlider(value=0.5, min=0.0, max=0.99, step=0.01, description="momentum mu",
                                                style=style)}
    box, _ = live.show(RateExplorer(), controls, rows=[[controls[n] for n in ("kappa", "lr", "momentum")]])
    return box


@lru_cache(maxsize=None)
def _shared(kind):
    """One widget per kind for the benchmark, built on first use, not at import."""
    return {"lab": lambda: OptimizerLab(), "adaptive": lambda: OptimizerLab(ADAPTIVE_METHODS),
            "rates": RateExplorer}[kind]()


def _bench(kind):
    return lambda **kwargs: _shared(kind).update(**kwargs)


def _lab_cases(adaptive):
    cases = []
    for name in sgd_momentum.SURFACES:
        s = _surface(name, 10.0)
        for k, (lr_scale, B, steps, clip) in enumerate([(1.0, 16, 150, "off"), (0.3, 1, 150, "off"),
                                                        (1.0, 128, 150, 1.0), (0.5, 4, 400, "off"),
                                                        (1.0, 32, 400, 10.0)]):
            kw = dict(surface=name, kappa=(10.0, 100.0, 1000.0)[k % 3], lr=s.lr * lr_scale, batch_size=B,
                      steps=steps, start_x=float(s.start[0]), start_y=float(s.start[1]) * (1 - 0.2 * k / 4),
                      clip=clip)
            kw.update(adaptive_lr=(0.01, 0.1, 0.5)[k % 3]) if adaptive else kw.update(momentum=(0.0, 0.5, 0.9, 0.99)[k % 4])
            cases.append(kw)
    return cases


BENCH_CASES = [
    ("optimizers.optimizer_lab", _bench("lab"), _lab_cases(adaptive=False)),
    ("optimizers.adaptive_lab", _bench("adaptive"), _lab_cases(adaptive=True)),
    ("optimizers.rate_explorer", _bench("rates"),
     [{"kappa": k, "lr": lr, "momentum": mu} for k in (1.0, 10.0, 1000.0) for lr in (0.02, 1.0, 2.5, 4.0)
      for mu in (0.0, 0.6, 0.99)]),
]
