"""Lesson 03's explorations: gradient descent's learning rate, gradients vanishing with depth, and
the initial weight scale; plus static grids of the same plots and a computational-graph drawing.

Each explorer owns one matplotlib Figure (not pyplot's, so nothing is shown twice), moves its
artists with set_data when a slider moves, and sends the redrawn PNG to an ipywidgets.Image.
The numbers come from dlteach.experiments.backpropagation, whose pure functions the tests call.
"""


import matplotlib.pyplot as plt
import numpy as np

from dlteach import viz
from dlteach.autograd import graph_layout
from dlteach.experiments import backpropagation as backprop
from dlteach.widgets import live

__all__ = ["plot_descent", "plot_gradient_norms", "plot_spread", "draw_graph",
           "descent_grid", "depth_grid", "init_grid",
           "DescentExplorer", "DepthExplorer", "InitExplorer",
           "explore_descent", "explore_depth", "explore_init", "BENCH_CASES"]

COLORS = {"sigmoid": "tab:orange", "tanh": "tab:green", "relu": "tab:blue"}
CURVATURE, W_STAR, W0 = 1.0, 2.0, -1.0      # the 1-D example: J(w) = (w - 2)^2 / 2, start at w = -1


def _axes(ax, figsize=(5, 3.5)):
    if ax is None:
        _, ax = plt.subplots(figsize=figsize, dpi=live.DPI, layout="constrained")
    return ax


def plot_descent(eta, *, steps=12, ax=None):
    """J(w) = (c/2)(w - w*)^2 with the gradient-descent path for learning rate eta drawn on it."""
    ax = _axes(ax)
    J, grad = backprop.quadratic(CURVATURE, W_STAR)
    path = backprop.gradient_descent(grad, W0, eta=eta, steps=steps)
    w = np.linspace(-2, 6, 200)
    ax.plot(w, J(w), color="0.6", label="J(w)")
    ax.plot(path, J(path), "o-", color="tab:red", ms=4, lw=1, label=f"w(t), eta = {eta:g}")
    ax.set(xlabel="w", ylabel="J(w)", xlim=(-2, 6), ylim=(-0.3, 9), title=f"eta = {eta:g}: {_verdict(eta)}")
    ax.legend(loc="upper center")
    return ax


def _verdict(eta):
    r = abs(1 - eta * CURVATURE)            # w(t) - w* = (1 - eta c)^t (w(0) - w*)
    if r >= 1:
        return "diverges" if r > 1 else "bounces forever"
    return "zig-zags in" if eta * CURVATURE > 1 else "creeps in" if r > 0.5 else "converges"


def plot_gradient_norms(depth, init="glorot", *, ax=None):
    """||dloss/dW_l|| for each layer l of a fresh `depth`-layer network, one line per activation."""
    ax = _axes(ax)
    layers_ = np.arange(1, depth + 1)
    for name in backprop.ACTIVATIONS:
        norms = backprop.gradient_norms_by_depth(depth, name, init=init)
        ax.semilogy(layers_, norms, "o-", ms=3, color=COLORS[name], label=name)
        viz.plain_log_ticks(ax)
    ax.set(xlabel="layer l (1 = next to the input)", ylabel="||dloss/dW_l||",
           title=f"{depth} layers, {init} init")
    ax.legend()
    return ax


def plot_spread(depth, activation, init, *, axes=None):
    """Left: activations' 5-95% and 25-75% bands per layer. Right: std of activations and gradients."""
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(8, 3.2), dpi=live.DPI, layout="constrained")
    spread = backprop.layer_spread(depth, activation, init)
    _draw_spread(axes, spread, activation, init)
    return axes


def _draw_spread(axes, spread, activation, init):
    ax, ax2 = axes
    layer = np.arange(1, len(spread["act_std"]) + 1)
    p = spread["act_percentiles"]
    color = COLORS[activation]
    ax.fill_between(layer, p[:, 0], p[:, 4], color=color, alpha=0.2, lw=0, label="5-95%")
    ax.fill_between(layer, p[:, 1], p[:, 3], color=color, alpha=0.45, lw=0, label="25-75%")
    ax.plot(layer, p[:, 2], color=color, lw=1.5, label="median")
    ax.set(xlabel="layer", ylabel="activation a_l", title=f"{activation}, init {_init_name(init)}")
    ax.legend(loc="upper left")
    ax2.semilogy(layer, spread["act_std"], "o-", ms=3, color=color, label="std of a_l")
    viz.plain_log_ticks(ax2)
    ax2.semilogy(layer, spread["grad_std"], "s--", ms=3, color="0.3", label="std of dloss/dh_l")
    viz.plain_log_ticks(ax2)
    ax2.set(xlabel="layer", ylabel="std", title="spread layer by layer", ylim=(1e-7, 1e4))
    ax2.legend(loc="lower left")


def _init_name(init):
    return init if isinstance(init, str) else f"gain {init:.3g}"


def draw_graph(root, *, ax=None, show_grad=True):
    """Draw the computational graph behind an autograd Value: one box per node, arrows forward.

    Each box shows the node's label (or its operation), its value and, after backward, its grad.
    """
    nodes, pos, edges = graph_layout(root)
    ax = _axes(ax, figsize=(8, 3.5))
    for parent, child in edges:
        (x0, y0), (x1, y1) = pos[id(parent)], pos[id(child)]
        ax.annotate("", xy=(x1 - 0.32, y1), xytext=(x0 + 0.32, y0),
                    arrowprops={"arrowstyle": "->", "color": "0.5"})
    for v in nodes:
        x, y = pos[id(v)]
        title = v.label or v.op or "const"
        if v.label and v.op:
            title = f"{v.label} ({v.op})"
        text = f"{title}\n{v.data:.3g}" + (f"\ngrad {v.grad:.3g}" if show_grad else "")
        leaf = not v.parents
        ax.text(x, y, text, ha="center", va="center", fontsize=live.FONT_PT,
                bbox={"boxstyle": "round", "fc": "#e8f0fe" if leaf else "#fdf2e3", "ec": "0.5"})
    xs = [p[0] for p in pos.values()]
    ys = [p[1] for p in pos.values()]
    ax.set(xlim=(min(xs) - 0.6, max(xs) + 0.6), ylim=(min(ys) - 0.7, max(ys) + 0.7))
    ax.axis("off")
    return ax


def descent_grid(etas=(0.3, 0.9, 1.6, 2.1)):
    """The static fallback of DescentExplorer: one panel per learning rate."""
    fig, axes = plt.subplots(1, len(etas), figsize=(9.0, 3.0), dpi=live.DPI, sharey=True, layout="constrained")
    for ax, eta in zip(axes, etas):
        plot_descent(eta, ax=ax).get_legend().remove()
    for ax in axes[1:]:
        ax.set_ylabel("")           # the axes share y: one label is enough
    # One legend below the panels: inside them, it would hide a diverging path.
    fig.legend(axes[0].get_lines()[:2], ["J(w)", "w(t), the gradient-descent path (eta in each title)"],
               loc="outside lower center", ncols=2, frameon=False)
    return fig


def depth_grid(depths=(5, 15), inits=("glorot", "he")):
    """The static fallback of DepthExplorer: gradient norms per layer for a few depths and inits."""
    fig, axes = plt.subplots(len(inits), len(depths), figsize=(9, 5.5), dpi=live.DPI, layout="constrained")
    for row, init in zip(np.atleast_2d(axes), inits):
        for ax, depth in zip(row, depths):
            plot_gradient_norms(depth, init, ax=ax).get_legend().remove()
    fig.legend(handles=np.ravel(axes)[0].get_lines(), loc="outside lower center", ncols=len(backprop.ACTIVATIONS),
               frameon=False)
    return fig


def init_grid(depth=10, activations=("tanh", "relu"), gains=(0.5, 1.0, np.sqrt(2), 2.0)):
    """The static fallback of InitExplorer: std of activations (top) and gradients (bottom) per layer,
    one panel per activation, one line per gain."""
    fig, axes = plt.subplots(2, len(activations), figsize=(9, 5.5), dpi=live.DPI, sharex=True, layout="constrained")
    shades = plt.cm.viridis(np.linspace(0, 0.85, len(gains)))
    layer = np.arange(1, depth + 1)
    for col, activation in enumerate(activations):
        for gain, shade in zip(gains, shades):
            spread = backprop.layer_spread(depth, activation, float(gain))
            label = f"gain {gain:.3g}" + {1.0: " (Glorot)", round(np.sqrt(2), 6): " (He)"}.get(round(gain, 6), "")
            axes[0, col].semilogy(layer, spread["act_std"], "o-", ms=3, color=shade, label=label)
            viz.plain_log_ticks(axes[0, col])
            axes[1, col].semilogy(layer, spread["grad_std"], "s--", ms=3, color=shade, label=label)
            viz.plain_log_ticks(axes[1, col])
        axes[0, col].set(title=f"{activation}: std of activations a_l", ylabel="std")
        axes[1, col].set(title=f"{activation}: std of gradients dloss/dh_l", xlabel="layer", ylabel="std")
    fig.legend(handles=axes[0, 0].get_lines(), loc="outside lower center", ncols=len(gains), frameon=False)
    return fig


class _Explorer:
    """A Figure that update(**settings) redraws in place and renders to PNG bytes (self.png).

    Axes, ticks and labels are drawn once per background key (a setting that changes the axes'
    limits) and cached; a slider move only restores that background, draws the animated artists
    (lines, bars, titles) on top, and encodes the PNG: a blit, as in matplotlib's animations.
    """

    figsize = (8, 3.2)

    def __init__(self):
        self.fig = live.live_figure(self.figsize)     # laid out around the first titles at the first render
        self.axes = self.fig.subplots(1, 2)
        for ax in self.axes:
            ax.title.set_animated(True)
        self.png = b""
        self._blitter = live.Blitter(self.fig, palette=False)    # every animated artist, one background per key
        self._image = None

    def _render(self, key=None):
        self.png = self._blitter.png(key=key)
        if self._image is not None:
            self._image.value = self.png
        return self.png

    def widget(self, controls):
        """An ipywidgets box: the controls above the image; moving a control calls update."""
        import ipywidgets as w  # only the notebooks need ipywidgets; the maths and plots do not

        self._image = w.Image(value=self.png, format="png")

        def on_change(_):
            self.update(**{c.description: c.value for c in controls})

        for c in controls:
            c.observe(on_change, names="value")
        return w.VBox([w.HBox(controls), self._image])


def _animate(*artists):
    for a in artists:
        a.set_animated(True)
    return artists[0] if len(artists) == 1 else artists


class DescentExplorer(_Explorer):
    """Gradient descent on J(w) = (w - 2)^2 / 2: left, the path on J; right, |w(t) - w*| per step."""

    def __init__(self, steps=15):
        super().__init__()
        self.steps = steps
        ax, ax2 = self.axes
        J, _ = backprop.quadratic(CURVATURE, W_STAR)
        w = np.linspace(-2, 6, 200)
        ax.plot(w, J(w), color="0.6", label="J(w)")
        self.path_line = _animate(ax.plot([], [], "o-", color="tab:red", ms=4, lw=1, label="w(t)")[0])
        ax.set(xlabel="w", ylabel="J(w)", xlim=(-2, 6), ylim=(-0.3, 9))
        self.err_line = _animate(ax2.plot([], [], "o", color="tab:red", ms=4, label="|w(t) - w*|")[0])
        self.rate_line = _animate(ax2.plot([], [], "-", color="0.4", lw=1,
                                           label="|1 - eta c|^t |w(0) - w*|")[0])
        ax2.set(yscale="log", xlabel="step t", ylabel="distance to the minimum",
                xlim=(-0.5, steps + 0.5), ylim=(1e-6, 1e3))
        viz.plain_log_ticks(ax2)
        ax2.set_title("how far from w* = 2")
        # Below the panels: a diverging path crosses every part of both.
        self.fig.legend(handles=[*ax.get_lines(), *ax2.get_lines()], loc="outside lower center", ncols=4, frameon=False)
        self.update(eta=0.3)

    def update(self, eta):
        _, grad = backprop.quadratic(CURVATURE, W_STAR)
        path = backprop.gradient_descent(grad, W0, eta=eta, steps=self.steps)
        self.path_line.set_data(path, 0.5 * CURVATURE * (path - W_STAR) ** 2)
        t = np.arange(self.steps + 1)
        self.err_line.set_data(t, np.maximum(np.abs(path - W_STAR), 1e-12))   # log axis: no exact zeros
        self.rate_line.set_data(t, np.maximum(abs(1 - eta * CURVATURE) ** t * abs(W0 - W_STAR), 1e-12))
        self.axes[0].set_title(f"eta = {eta:.3g}: {_verdict(eta)}")
        return self._render()

    def widget(self):
        import ipywidgets as w
        return super().widget([w.FloatSlider(value=0.3, min=0.05, max=2.2, step=0.05, description="eta")])


class DepthExplorer(_Explorer):
    """Left: ||dloss/dW_l|| per layer for sigmoid, tanh and ReLU. Right: first layer / last layer."""

    def __init__(self, max_depth=30):
        super().__init__()
        self.max_depth = max_depth
        ax, ax2 = self.axes
        self.lines = {name: _animate(ax.plot([], [], "o-", ms=3, color=COLORS[name], label=name)[0])
                      for name in backprop.ACTIVATIONS}
        ax.set(yscale="log", xlabel="layer l (1 = next to the input)", ylabel="||dloss/dW_l||",
               xlim=(0.5, max_depth + 0.5), ylim=(1e-20, 1e3))
        viz.plain_log_ticks(ax)
        ax.legend(loc="lower right")
        names = list(backprop.ACTIVATIONS)
        self.bars = ax2.bar(names, np.ones(len(names)), color=[COLORS[n] for n in names], log=True)
        _animate(*self.bars)
        ax2.axhline(1, color="0.3", lw=0.8)
        ax2.set(ylabel="||dloss/dW_1|| / ||dloss/dW_L||", ylim=(1e-20, 1e2))
        viz.plain_log_ticks(ax2)
        ax2.set_title("first layer's gradient / last layer's")
        self.update(depth=10, init="glorot")

    def update(self, depth, init):
        layer = np.arange(1, depth + 1)
        for bar, (name, line) in zip(self.bars, self.lines.items()):
            norms = backprop.gradient_norms_by_depth(depth, name, init=init)
            line.set_data(layer, norms)
            bar.set_height(norms[0] / norms[-1])
        self.axes[0].set_title(f"{depth} layers, {init} init")
        return self._render()

    def widget(self):
        import ipywidgets as w
        return super().widget([w.IntSlider(value=10, min=2, max=self.max_depth, description="depth"),
                               w.Dropdown(options=["glorot", "he"], value="glorot", description="init")])


class InitExplorer(_Explorer):
    """The spread of activations (left) and of activations and gradients (right) per layer."""

    YLIM = {"sigmoid": (-0.05, 1.05), "tanh": (-1.05, 1.05), "relu": (-0.05, 1e5)}

    def __init__(self, depth=10):
        super().__init__()
        self.depth = depth
        ax, ax2 = self.axes
        self.bands = []
        self.median = _animate(ax.plot([], [], lw=1.5, label="median")[0])
        ax.set(xlabel="layer", ylabel="activation a_l", xlim=(0.5, depth + 0.5))
        self.std_line = _animate(ax2.plot([], [], "o-", ms=3, label="std of a_l")[0])
        self.grad_line = _animate(ax2.plot([], [], "s--", ms=3, color="0.3", label="std of dloss/dh_l")[0])
        ax2.set(yscale="log", xlabel="layer", ylabel="std", xlim=(0.5, depth + 0.5), ylim=(1e-16, 1e6))
        viz.plain_log_ticks(ax2)
        ax2.legend(loc="lower left")
        ax2.set_title("spread layer by layer")
        # Draw each activation's axes now, not on a click; tanh first: the layout, frozen at the first
        # render, must make room for its widest tick labels (-1.0).
        for activation in ("tanh", "relu", "sigmoid"):
            self.update(gain=1.0, activation=activation)

    def update(self, gain, activation):
        ax, _ = self.axes
        spread = backprop.layer_spread(self.depth, activation, float(gain))
        layer = np.arange(1, self.depth + 1)
        p = spread["act_percentiles"]
        color = COLORS[activation]
        for band in self.bands:
            band.remove()
        # fill_between bands cannot be moved with set_data: make new ones (cheap) each time
        self.bands = [_animate(ax.fill_between(layer, p[:, 0], p[:, 4], color=color, alpha=0.2, lw=0)),
                      _animate(ax.fill_between(layer, p[:, 1], p[:, 3], color=color, alpha=0.45, lw=0))]
        self.median.set_data(layer, p[:, 2])
        self.median.set_color(color)
        self.std_line.set_data(layer, spread["act_std"])
        self.std_line.set_color(color)
        self.grad_line.set_data(layer, spread["grad_std"])
        if ax.get_yscale() != ("symlog" if activation == "relu" else "linear"):
            ax.set_yscale("symlog" if activation == "relu" else "linear")
            viz.plain_log_ticks(ax)
        ax.set_ylim(*self.YLIM[activation])
        ax.set_title(f"{activation}, gain {gain:.3g}: 5-95%, 25-75% bands", fontsize=live.FONT_PT)
        return self._render(key=activation)    # the left axis' limits depend on the activation only

    def widget(self):
        import ipywidgets as w
        return super().widget([w.FloatLogSlider(value=1.0, base=2, min=-2, max=2, step=0.125, description="gain"),
                               w.Dropdown(options=list(backprop.ACTIVATIONS), value="tanh",
                                          description="activation")])


def explore_descent():
    """A learning-rate slider over gradient descent on J(w) = (w - 2)^2 / 2."""
    return DescentExplorer().widget()


def explore_depth():
    """A depth slider and an init menu over the gradient norms of sigmoid, tanh and ReLU networks."""
    return DepthExplorer().widget()


def explore_init():
    """A gain slider and an activation menu over the spread of activations and gradients per layer."""
    return InitExplorer().widget()


BENCH_CASES = [
    ("backprop.descent", live.bench_call(DescentExplorer), [{"eta": e} for e in np.arange(0.05, 2.21, 0.15).round(2)]),
    ("backprop.depth", live.bench_call(DepthExplorer),
     [{"depth": d, "init": i} for i in ("glorot", "he") for d in (2, 5, 10, 15, 20, 25, 30)]),
    ("backprop.init", live.bench_call(InitExplorer),
     [{"gain": float(g), "activation": a} for a in backprop.ACTIVATIONS for g in 2.0 ** np.arange(-2, 2.1, 0.5)]),
]
