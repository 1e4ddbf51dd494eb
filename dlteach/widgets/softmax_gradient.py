"""Lesson 04's widgets: the logits explorer (a, J, a - y) and the cross-entropy landscape.

Each widget is a live figure (dlteach.widgets.live: drawn once, then blitted). The numbers come from
the pure functions in dlteach.experiments.softmax_gradient, which the tests call.
"""


import numpy as np
from matplotlib import pyplot as plt
from matplotlib.colors import BoundaryNorm

from dlteach.experiments import softmax_gradient as sc
from dlteach.widgets import live

__all__ = ["LogitsExplorer", "LossLandscape", "logits_explorer", "loss_landscape",
           "explorer_grid", "landscape_overview", "BENCH_CASES"]

PROB_COLOR, TARGET_COLOR, GRAD_COLOR = "#0072B2", "#999999", "#D55E00"   # Okabe-Ito: colour-blind safe
C_EXPLORER = 4                 # classes in the logits explorer: J stays readable as a 4 x 4 heatmap
LOGIT_RANGE = (-4.0, 4.0)


def _draw_view(axes, view, *, numbers=False):
    """Draw softmax_view's a vs y, J and a - y on three Axes; return (target bars, a bars, image, grad bars)."""
    ax_p, ax_j, ax_g = axes
    ks = np.arange(view["a"].shape[0])
    bars_y = ax_p.bar(ks, view["y"], width=0.8, color="none", edgecolor=TARGET_COLOR, linestyle="--",
                      label="target y")
    bars_a = ax_p.bar(ks, view["a"], width=0.55, color=PROB_COLOR, label="a = softmax(h)")
    ax_p.set(ylim=(0, 1.12), xticks=ks, xlabel="class k", ylabel="probability")

    # |J_jk| <= 1/4 always. Cells as wide as the panel allows: room for a number such as -0.09 in each.
    im = ax_j.imshow(view["J"], cmap="RdBu_r", vmin=-0.25, vmax=0.25, aspect="auto" if numbers else "equal")
    if numbers:
        for j in ks:
            for k in ks:
                v = view["J"][j, k]
                ax_j.text(k, j, f"{v:.2f}".replace("-0.00", "0.00"), ha="center", va="center",
                          fontsize=live.FONT_PT, color="white" if abs(v) > 0.15 else "black")
    ax_j.set(xticks=ks, yticks=ks, xlabel="k (logit moved)", ylabel="j (probability)")

    bars_g = ax_g.bar(ks, view["grad"], width=0.55, color=GRAD_COLOR)
    ax_g.axhline(0, color="black", linewidth=0.8)
    ax_g.set(ylim=(-1.05, 1.05), xticks=ks, xlabel="class k", ylabel="dL/dh_k")
    return bars_y, bars_a, im, bars_g


def _set_titles(axes):
    for ax, title in zip(axes, ("probabilities a vs target y", "Jacobian J_jk = da_j/dh_k",
                                "gradient dL/dh = a - y")):
        ax.set_title(title, fontsize=live.FONT_PT)


def _bar_legend(fig, ax_p):
    """The legend of the probability bars, below the figure: inside, a target bar of height 1 runs under it."""
    fig.legend(handles=ax_p.containers[:2], loc="outside lower center", ncols=2, frameon=False)


class LogitsExplorer:
    """Four logits and a true class -> the probabilities, the Jacobian heatmap and a - y.

    update() returns the figure as PNG and leaves the numbers to print in self.caption (HTML).
    """

    def __init__(self):
        self.fig = live.live_figure((9.0, 2.9))
        axes = self.fig.subplots(1, 3)
        view = sc.softmax_view(np.zeros(C_EXPLORER), 0)
        self.bars_y, self.bars_a, self.im, self.bars_g = _draw_view(axes, view)
        _set_titles(axes)
        _bar_legend(self.fig, axes[0])
        self.fig.colorbar(self.im, ax=axes[1], shrink=0.9)
        self.caption = ""
        self.blitter = live.Blitter(self.fig, [*self.bars_y, *self.bars_a, *self.bars_g, self.im])

    def update(self, h0=0.0, h1=0.0, h2=0.0, h3=0.0, true_class=0):
        """Move the artists to the logits (h0, ..., h3) and the target class; return the PNG."""
        view = sc.softmax_view(np.array([h0, h1, h2, h3], dtype=float), int(true_class))
        for bars, heights in ((self.bars_y, view["y"]), (self.bars_a, view["a"]),
                              (self.bars_g, view["grad"])):
            for bar, height in zip(bars, heights):
                bar.set_height(height)
        self.im.set_data(view["J"])
        diag = ", ".join(f"{d:.3f}" for d in np.diag(view["J"]))
        self.caption = (f"true class y = {int(true_class)}: a_y = {view['a'][true_class]:.3f}, "
                        f"L = -log a_y = {view['loss']:.3f}, dL/dh_y = a_y - 1 = {view['grad'][true_class]:+.3f}"
                        f"<br>diagonal of J, a_j (1 - a_j): [{diag}]; every row of J and a - y sums to 0")
        return self.blitter.png()


class LossLandscape:
    """The true logit h_0, a rival logit h_1 and the number of classes C (the others stay at 0).

    Left: L over (h_0, h_1) with the current point and the step -dL/dh; right: L, |dL/dh_0| and
    ||a - y|| along h_0 with h_1 fixed, to see the gradient fade as the right class wins.
    update() returns the figure as PNG and leaves the numbers in self.caption (HTML).
    """

    GRID = np.linspace(*LOGIT_RANGE, 121)
    LEVELS = np.linspace(0, 9, 19)

    def __init__(self):
        self.fig = live.live_figure((9.0, 3.7))
        self.ax_map, self.ax_cut = self.fig.subplots(1, 2)
        self.n_classes = None
        self._surfaces = {}
        norm = BoundaryNorm(self.LEVELS, ncolors=256, extend="max")   # banded, like filled contours
        self.surface = self.ax_map.imshow(np.zeros((2, 2)), extent=(*LOGIT_RANGE, *LOGIT_RANGE),
                                          origin="lower", cmap="viridis", norm=norm, aspect="equal")
        self.fig.colorbar(self.surface, ax=self.ax_map, label="L = -log a_0", shrink=0.9)
        self.point, = self.ax_map.plot([], [], "o", color="white", markeredgecolor="black", markersize=7)
        self.arrow = self.ax_map.quiver([0.0], [0.0], [0.0], [0.0], angles="xy", scale_units="xy",
                                        scale=0.5, color=GRAD_COLOR, width=0.015)   # drawn 2x long
        self.ax_map.set(xlim=LOGIT_RANGE, ylim=LOGIT_RANGE, xlabel="h_0 (true class)",
                        ylabel="h_1 (a rival class)")
        self.ax_map.set_title("L over two logits (others at 0); arrow: step -dL/dh", fontsize=live.FONT_PT)
        self.line_loss, = self.ax_cut.plot(self.GRID, self.GRID, color=PROB_COLOR, label="L = -log a_0")
        self.line_gy, = self.ax_cut.plot(self.GRID, self.GRID, color=GRAD_COLOR,
                                         label="|dL/dh_0| = 1 - a_0")
        self.line_norm, = self.ax_cut.plot(self.GRID, self.GRID, color=GRAD_COLOR, linestyle="--",
                                           label="||a - y||")
        self.marker, = self.ax_cut.plot([], [], "o", color="black", markersize=5)
        self.cursor = self.ax_cut.axvline(0.0, color="black", linewidth=0.8, linestyle=":")
        self.ax_cut.set(xlim=LOGIT_RANGE, ylim=(0, 4), xlabel="h_0 (true class), h_1 fixed",
                        ylabel="loss / gradient size")
        self.ax_cut.set_title("along h_0: the loss and its gradient fade", fontsize=live.FONT_PT)
        # Below the right panel: the loss curve crosses every part of it for some (h_0, h_1).
        self.fig.legend(handles=[self.line_loss, self.line_gy, self.line_norm], loc="outside lower right", ncols=3,
                        frameon=False)
        self.caption = ""
        self.blitter = live.Blitter(self.fig, [self.point, self.arrow, self.line_loss, self.line_gy,
                                           self.line_norm, self.marker, self.cursor], slow=[self.surface])

    def _surface(self, n_classes):
        if n_classes not in self._surfaces:   # ~1 ms each, but a drag over C revisits them
            self._surfaces[n_classes] = sc.loss_surface(np.zeros(n_classes), 0, 0, 1, self.GRID, self.GRID)
        return self._surfaces[n_classes]      # (G, G)

    def update(self, h_true=0.0, h_rival=0.0, n_classes=3):
        """Move the point, the arrow and the cut to (h_true, h_rival) with C classes; return the PNG."""
        n_classes = int(n_classes)
        if n_classes != self.n_classes:
            self.surface.set_data(self._surface(n_classes))
            self.n_classes = n_classes
            self.blitter.slow_changed()
        h = np.zeros(n_classes)
        h[0], h[1] = h_true, h_rival
        view = sc.softmax_view(h, 0)
        self.point.set_data([h_true], [h_rival])
        self.arrow.set_offsets([[h_true, h_rival]])
        self.arrow.set_UVC([-view["grad"][0]], [-view["grad"][1]])
        cut = sc.true_logit_sweep(h, 0, self.GRID)
        self.line_loss.set_ydata(cut["loss"])
        self.line_gy.set_ydata(-cut["grad_true"])
        self.line_norm.set_ydata(cut["grad_norm"])
        self.marker.set_data([h_true], [view["loss"]])
        self.cursor.set_xdata([h_true, h_true])
        self.caption = (f"C = {n_classes}: a_0 = {view['a'][0]:.3f}, L = {view['loss']:.3f}, "
                        f"dL/dh_0 = a_0 - 1 = {view['grad'][0]:+.3f}, dL/dh_1 = a_1 = {view['grad'][1]:+.3f}")
        return self.blitter.png()


def logits_explorer(h=(2.0, 1.0, 0.0, -1.0), true_class=0):
    """The live widget: sliders for h_0..h_3 and a true-class picker over LogitsExplorer.update."""
    import ipywidgets as widgets

    style = {"description_width": "2.5em"}
    controls = {f"h{k}": widgets.FloatSlider(value=float(v), min=LOGIT_RANGE[0], max=LOGIT_RANGE[1],
                                             step=0.1, description=f"h_{k}", style=style,
                                             continuous_update=True, readout_format=".1f")
                for k, v in enumerate(h)}
    controls["true_class"] = widgets.ToggleButtons(options=list(range(C_EXPLORER)), value=true_class,
                                                   description="true y", style=style)
    return live.show(LogitsExplorer(), controls)[0]


def loss_landscape(h_true=-1.0, h_rival=1.5, n_classes=3):
    """The live widget: sliders for h_0, h_1 and C over LossLandscape.update."""
    import ipywidgets as widgets

    style = {"description_width": "5em"}
    controls = {"h_true": widgets.FloatSlider(value=h_true, min=LOGIT_RANGE[0], max=LOGIT_RANGE[1],
                                              step=0.1, description="h_0 (true)", style=style),
                "h_rival": widgets.FloatSlider(value=h_rival, min=LOGIT_RANGE[0], max=LOGIT_RANGE[1],
                                               step=0.1, description="h_1 (rival)", style=style),
                "n_classes": widgets.IntSlider(value=n_classes, min=2, max=10, description="classes C",
                                               style=style)}
    return live.show(LossLandscape(), controls)[0]


def explorer_grid(settings, fig=None):
    """The logits explorer's static fallback: a row (a vs y, J with its numbers, a - y) per setting,
    each under a heading that names the setting, and one legend below.

    settings: a list of (label, h, true_class). Shapes: each h (C,). Returns the Figure.
    """
    if fig is None:
        fig = plt.figure(figsize=(9.0, 2.7 * len(settings) + 0.3), dpi=live.DPI, layout="constrained")
    for row, (label, h, true_class) in zip(fig.subfigures(len(settings), 1, squeeze=False)[:, 0], settings):
        h = np.asarray(h, dtype=float)
        axes = row.subplots(1, 3)
        _draw_view(axes, sc.softmax_view(h, true_class), numbers=True)
        logits = ", ".join(f"{v:g}" for v in h)
        row.suptitle(f"{label}: h = ({logits}), y = {true_class}", fontsize=live.FONT_PT, fontweight="bold",
                     x=0.02, ha="left")
        _set_titles(axes)
    _bar_legend(fig, axes[0])
    return fig


def landscape_overview(n_classes=3, fig=None):
    """The landscape's static fallback: L over (h_0, h_1) with the field -dL/dh; ||a - y|| and J_yy against a_y.

    Returns the Figure.
    """
    if fig is None:
        fig = plt.figure(figsize=(9.0, 4.0), dpi=live.DPI, layout="constrained")
    ax_map, ax_fade = fig.subplots(1, 2)
    grid = LossLandscape.GRID
    L = sc.loss_surface(np.zeros(n_classes), 0, 0, 1, grid, grid)     # (G, G)
    cs = ax_map.contourf(grid, grid, L, levels=LossLandscape.LEVELS, cmap="viridis", extend="max")
    fig.colorbar(cs, ax=ax_map, label="L = -log a_0", shrink=0.9)
    coarse = np.linspace(-3.5, 3.5, 8)
    U, V = np.meshgrid(coarse, coarse)                                 # (8, 8) each
    h = np.zeros((U.size, n_classes))                                  # (64, C): each arrow's logits
    h[:, 0], h[:, 1] = U.ravel(), V.ravel()
    grad = sc.cross_entropy_grad(h, np.zeros(len(h), dtype=int))       # (64, C)
    ax_map.quiver(U, V, -grad[:, 0].reshape(U.shape), -grad[:, 1].reshape(U.shape), angles="xy",
                  scale_units="xy", scale=1.0, color="white", width=0.006)
    ax_map.set(xlim=LOGIT_RANGE, ylim=LOGIT_RANGE, aspect="equal", xlabel="h_0 (true class)",
               ylabel="h_1 (a rival class)")
    ax_map.set_title(f"L and the step -dL/dh, C = {n_classes} (others at 0)", fontsize=live.FONT_PT)

    values = np.linspace(-10, 10, 201)
    for C, style in ((2, "-"), (3, "--"), (10, ":")):
        sweep = sc.true_logit_sweep(np.zeros(C), 0, values)
        ax_fade.plot(sweep["p_true"], sweep["grad_norm"], color=GRAD_COLOR, linestyle=style,
                     label=f"||a - y||, C = {C}")
    ax_fade.plot(sweep["p_true"], -sweep["grad_true"], color="black", linewidth=0.8,
                 label="|dL/dh_y| = 1 - a_y (any C)")
    ax_fade.plot(sweep["p_true"], sweep["jac_diag"], color=PROB_COLOR,
                 label="J_yy = a_y (1 - a_y): softmax alone")
    ax_fade.set(xlim=(0, 1), ylim=(0, 1.45), xlabel="a_y (probability of the true class)",
                ylabel="gradient size")
    ax_fade.set_title("the gradient fades as the right class wins", fontsize=live.FONT_PT)
    # Below the right panel: the curves fill its upper left, where a legend would sit.
    fig.legend(handles=ax_fade.get_lines(), loc="outside lower right", ncols=2, frameon=False)
    return fig


_SLIDER = np.linspace(*LOGIT_RANGE, 9)
BENCH_CASES = [
    ("softmax.logits_explorer", live.bench_call(LogitsExplorer),
     [{"h0": float(v), "h1": float(-v / 2), "h2": 1.0, "h3": float(v / 4), "true_class": k % C_EXPLORER}
      for k, v in enumerate(_SLIDER)]),
    ("softmax.loss_landscape", live.bench_call(LossLandscape),
     [{"h_true": float(v), "h_rival": float(w), "n_classes": C}
      for C in (2, 3, 10) for v in _SLIDER[::2] for w in _SLIDER[::4]]),
]
