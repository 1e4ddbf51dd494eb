"""Lesson 08's widgets: the gradient-through-time explorer, the LSTM cell with hand-set gates and
the RNN-against-LSTM memory explorer, with the static figures that stand in for them in a static
render and on slides, and the two diagrams (the unrolled RNN, the LSTM cell after C. Olah).

Every number comes from a pure function in dlteach.experiments.lstm that the tests call; each live
widget is a live figure (dlteach.widgets.live: drawn once, then blitted).
"""

import functools

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Circle, FancyBboxPatch
from matplotlib.ticker import MaxNLocator

from dlteach import viz
from dlteach.experiments import lstm as sq

# Lesson 04's machinery: blitting over a frozen layout, and the controls in rows of two above the picture.
from dlteach.widgets import live

__all__ = ["T_MAX", "CELL_STEPS", "GradientExplorer", "CellExplorer", "MemoryExplorer",
           "gradient_explorer", "cell_explorer", "memory_explorer", "gradient_grid", "cell_grid",
           "memory_grid", "draw_unrolled", "draw_lstm_cell", "BENCH_CASES"]

T_MAX = 100                    # the longest sequence of the gradient explorer
CELL_STEPS = 40                # steps the hand-set cell runs
NORM_RANGE = (1e-20, 1e20)     # the log axis of gradient norms
LINEAR, TANH, GUIDE = "#0072B2", "#D55E00", "0.45"                 # Okabe-Ito blue, vermilion; grey
RNN_COLOR, LSTM_COLOR, CHANCE = "#E69F00", "#0072B2", "0.5"
CELL, KEPT, OUT, WRITE = "#0072B2", "#56B4E9", "#D55E00", "0.6"
GATE_FILL, OP_FILL = "#F6D55C", "#F4B6C2"                          # Olah's yellow layers, pink pointwise ops


# ---------------------------------------------------------------- gradients through time

def _norm_axes(ax):
    ax.set(yscale="log", xlim=(0, T_MAX), ylim=NORM_RANGE, xlabel="k, steps back from the last state",
           ylabel=r"$\Vert \partial L / \partial s_{T-k} \Vert$")
    viz.plain_log_ticks(ax)
    ax.axhline(1.0, color="0.8", lw=0.8)
    ax.grid(alpha=0.3)
    ax.minorticks_off()        # 40 decades of minor ticks: most of the drawing time, nothing to read


def _eigen_axes(ax):
    theta = np.linspace(0, 2 * np.pi, 121)
    ax.plot(np.cos(theta), np.sin(theta), color="black", lw=0.8, ls=":", label=r"$|\lambda| = 1$")
    ax.set(xlim=(-1.6, 1.6), ylim=(-1.6, 1.6), aspect="equal", xlabel=r"Re $\lambda$", ylabel=r"Im $\lambda$")
    ax.set_title(r"eigenvalues $\lambda$ of $W_h$", fontsize=live.FONT_PT)
    return theta


class GradientExplorer:
    """Spectral radius rho of Wh, sequence length T and input strength -> the eigenvalues of Wh and
    ||dL/ds_(T-k)|| for a linear and a tanh RNN, with the guide rho^k.

    update() returns the figure as PNG and leaves the numbers in self.caption (HTML).
    """

    def __init__(self, hidden=32, seed=0):
        self.hidden, self.seed = hidden, seed
        self.fig = live.live_figure((9.0, 3.6))
        self.ax_eig, self.ax_norm = self.fig.subplots(1, 2, width_ratios=(1, 2.2))
        self.theta = _eigen_axes(self.ax_eig)
        self.base = np.linalg.eigvals(sq.recurrent_matrix(1.0, hidden=hidden, seed=seed))   # (H,) radius 1
        self.eig = self.ax_eig.scatter(self.base.real, self.base.imag, s=12, color=LINEAR, zorder=3)
        self.circle, = self.ax_eig.plot([], [], color=LINEAR, lw=1, label=r"$|\lambda| = \rho$")
        _norm_axes(self.ax_norm)
        self.guide, = self.ax_norm.plot([], [], color=GUIDE, ls="--", lw=1, label=r"$\rho^k$")
        self.linear, = self.ax_norm.plot([], [], color=LINEAR, lw=1.6, label=r"linear RNN ($\phi' = 1$)")
        self.tanh, = self.ax_norm.plot([], [], color=TANH, lw=1.6, label="tanh RNN")
        # One legend below both panels: the curves and the circle reach every corner for some rho.
        self.fig.legend(handles=[*self.ax_eig.get_lines(), self.guide, self.linear, self.tanh],
                        loc="outside lower center", ncols=5, frameon=False)
        self.ax_norm.set_title("the gradient reaching back through time (log scale)", fontsize=live.FONT_PT)
        self.caption = ""
        self.blitter = live.Blitter(self.fig, [self.eig, self.circle, self.guide, self.linear, self.tanh])

    def update(self, radius=1.0, T=60, input_scale=0.5):
        """Redraw for spectral radius `radius`, T steps and inputs of std `input_scale`; return the PNG."""
        T = int(T)
        kw = dict(hidden=self.hidden, seed=self.seed)
        lin = sq.gradient_through_time(radius, T, activation="linear", **kw)
        tanh = sq.gradient_through_time(radius, T, activation="tanh", input_scale=input_scale, **kw)
        k = np.arange(T)
        eig = radius * self.base
        self.eig.set_offsets(np.column_stack([eig.real, eig.imag]))
        self.circle.set_data(radius * np.cos(self.theta), radius * np.sin(self.theta))
        with np.errstate(under="ignore", over="ignore"):
            self.guide.set_data(k, float(radius) ** k)
        self.linear.set_data(k, lin)
        self.tanh.set_data(k, tanh)
        wh = sq.recurrent_matrix(radius, **kw)
        self.caption = (f"rho(Wh) = {radius:.2f}, largest singular value ||Wh||_2 = {np.linalg.norm(wh, 2):.2f}. "
                        f"Over T - 1 = {T - 1} steps the gradient changes by {_factor(lin)} per step in the "
                        f"linear RNN (the formula: rho) and {_factor(tanh)} in the tanh RNN; it ends at "
                        f"{lin[-1]:.1e} and {tanh[-1]:.1e}.")
        return self.blitter.png()


def _factor(norms):
    return "-" if len(norms) < 2 else f"{sq.per_step_factor(norms):.3f}"


def gradient_explorer(radius=1.0, T=60, input_scale=0.5):
    """The live widget: sliders for rho, T and the input strength over GradientExplorer.update."""
    import ipywidgets as widgets

    style = {"description_width": "7em"}
    return live.show(GradientExplorer(), {
        "radius": widgets.FloatSlider(value=radius, min=0.5, max=1.5, step=0.01, description="rho(Wh)", style=style),
        "T": widgets.IntSlider(value=T, min=2, max=T_MAX, description="length T", style=style),
        "input_scale": widgets.FloatSlider(value=input_scale, min=0.0, max=2.0, step=0.05,
                                           description="input std", style=style)})[0]


def gradient_grid(radii=(0.8, 1.0, 1.2), T=80, input_scales=(0.1, 1.0), fig=None):
    """The gradient explorer's static fallback: one panel per spectral radius, the linear RNN and the
    tanh RNN at each input strength, with the guide rho^k. Returns the Figure."""
    if fig is None:
        fig = plt.figure(figsize=(9.0, 3.3), dpi=live.DPI, layout="constrained")
    axes = fig.subplots(1, len(radii), sharey=True)
    k = np.arange(T)
    for ax, radius in zip(axes, radii):
        _norm_axes(ax)
        ax.set(xlim=(0, T), ylim=(1e-12, 1e8))
        ax.plot(k, radius ** k, color=GUIDE, ls="--", lw=1, label=r"$\rho^k$")
        ax.plot(k, sq.gradient_through_time(radius, T, activation="linear"), color=LINEAR, lw=1.6, label="linear")
        for scale, style in zip(input_scales, ("-", ":")):
            ax.plot(k, sq.gradient_through_time(radius, T, activation="tanh", input_scale=scale),
                    color=TANH, ls=style, lw=1.6, label=f"tanh, input std {scale:g}")
        ax.set_title(rf"$\rho(W_h) = {radius:g}$", fontsize=live.FONT_PT)
        if ax is not axes[0]:
            ax.set_ylabel("")
    fig.legend(handles=axes[0].get_lines()[1:], loc="outside lower center", ncols=4, frameon=False)
    return fig


# ---------------------------------------------------------------- the LSTM cell, gates set by hand

def _cell_axes(ax):
    ax.set(xlim=(-0.5, CELL_STEPS - 0.5), ylim=(-3, 3), xlabel="step t", ylabel="value")
    ax.axhline(0, color="0.8", lw=0.8)
    ax.grid(alpha=0.3)


def _cell_lines(ax):
    write, = ax.plot([], [], color=WRITE, drawstyle="steps-mid", lw=1, label=r"written $i_t g_t$")
    cell, = ax.plot([], [], color=CELL, lw=1.8, label=r"cell state $C_t$")
    kept, = ax.plot([], [], color=KEPT, ls="--", lw=2, label="left of the value written at t = 0")
    out, = ax.plot([], [], color=OUT, lw=1.4, label=r"output $s_t = o \tanh C_t$")
    return write, kept, cell, out


def _cell_legend(fig, lines):
    """The lines' legend below the figure: a line may run anywhere in the panel."""
    fig.legend(handles=list(lines), loc="outside lower center", ncols=2, frameon=False)


def _set_cell_lines(lines, run):
    for line, values in zip(lines, (run["i"] * run["g"], run["kept"], run["C"], run["s"])):
        line.set_data(run["t"], values)


class CellExplorer:
    """Hand-set gates (forget f, input i after step 0, output o, the write at step 0, an erase step)
    -> the cell state, what is left of the value written at step 0, and the output, over 40 steps.

    update() returns the figure as PNG and leaves the numbers in self.caption (HTML).
    """

    def __init__(self):
        self.fig = live.live_figure((9.0, 3.6))
        ax = self.fig.subplots()
        _cell_axes(ax)
        self.lines = _cell_lines(ax)
        _cell_legend(self.fig, self.lines)
        ax.set_title(r"one LSTM unit: $C_t = f\, C_{t-1} + i\, g_t$, a value written at $t = 0$, noise after",
                     fontsize=live.FONT_PT)
        self.caption = ""
        self.blitter = live.Blitter(self.fig, self.lines)

    def update(self, forget=1.0, input_gate=0.0, output=1.0, write=1.0, erase_at=0):
        """Redraw for these gate values; erase_at = 0 means never. Returns the PNG."""
        erase = int(erase_at) or None
        run = sq.gated_cell(forget, input_gate, output, write=write, steps=CELL_STEPS, erase_at=erase)
        _set_cell_lines(self.lines, run)
        T = CELL_STEPS - 1
        memory = "forever" if forget >= 1 else f"{1 / (1 - forget):.3g} steps"
        self.caption = (f"After {T} steps the cell keeps {run['kept'][-1]:.3f} of the value written at t = 0 "
                        f"(f^{T} = {forget ** T:.3g}; memory time 1 / (1 - f) = {memory}"
                        f"{', but erased at t = ' + str(erase) if erase else ''}). "
                        f"The noise let in adds {run['C'][-1] - run['kept'][-1]:+.3f}, so C_{T} = {run['C'][-1]:+.3f} "
                        f"and the unit shows s_{T} = {run['s'][-1]:+.3f}.")
        return self.blitter.png()


def cell_explorer(forget=0.95, input_gate=0.0, output=1.0, write=1.0, erase_at=0):
    """The live widget: sliders for the gates over CellExplorer.update."""
    import ipywidgets as widgets

    style = {"description_width": "7em"}

    def gate(value, name):
        return widgets.FloatSlider(value=value, min=0.0, max=1.0, step=0.01, description=name, style=style)

    return live.show(CellExplorer(), {
        "forget": gate(forget, "forget f"), "input_gate": gate(input_gate, "input i (t > 0)"),
        "output": gate(output, "output o"), "write": gate(write, "write i_0"),
        "erase_at": widgets.IntSlider(value=erase_at, min=0, max=CELL_STEPS - 1, description="erase at (0: never)",
                                      style={"description_width": "10em"})})[0]


def cell_grid(settings=None, fig=None):
    """The cell explorer's static fallback: a panel per (title, gated_cell keyword arguments). Returns the Figure."""
    if settings is None:
        settings = [("carry: f = 1, i = 0", dict(forget=1.0, input_gate=0.0, output=1.0)),
                    ("leak: f = 0.9", dict(forget=0.9, input_gate=0.0, output=1.0)),
                    ("noise let in: f = 1, i = 0.5", dict(forget=1.0, input_gate=0.5, output=1.0)),
                    ("erase: f = 0 at t = 20", dict(forget=1.0, input_gate=0.0, output=1.0, erase_at=20))]
    if fig is None:
        fig = plt.figure(figsize=(9.0, 5.0), dpi=live.DPI, layout="constrained")
    axes = fig.subplots(2, (len(settings) + 1) // 2, sharex=True, sharey=True, squeeze=False).ravel()
    for ax, (title, kwargs) in zip(axes, settings):
        _cell_axes(ax)
        lines = _cell_lines(ax)
        _set_cell_lines(lines, sq.gated_cell(steps=CELL_STEPS, **kwargs))
        ax.set_title(title, fontsize=live.FONT_PT)
        ax.label_outer()
    _cell_legend(fig, lines)
    return fig


# ---------------------------------------------------------------- RNN against LSTM on the memory task

class MemoryExplorer:
    """The length T of the memory task -> the test accuracy per epoch of the RNN and the LSTM, their
    final accuracy against T, and how far back the gradient reaches in the untrained networks.

    The runs come from sequences.memory_run (trained once, then cached); update() only redraws.
    """

    def __init__(self, lengths=sq.MEMORY_LENGTHS):
        self.lengths = tuple(lengths)
        self.runs = _memory_results(self.lengths)
        self.fig = live.live_figure((9.0, 3.6))
        ax_curve, ax_T, ax_reach = self.fig.subplots(1, 3)
        self.curves = _curve_lines(ax_curve, self.runs)
        self.cursor = _final_panel(ax_T, self.runs, self.lengths)
        self.reaches = _reach_lines(ax_reach, self.lengths)
        _kind_legend(self.fig, ax_T)
        self.caption = ""
        self.blitter = live.Blitter(self.fig, [*self.curves.values(), *self.reaches.values(), self.cursor])

    def update(self, T=40):
        """Redraw for memory length T (one of self.lengths); return the PNG."""
        T = int(T)
        if T not in self.lengths:
            raise ValueError(f"MemoryExplorer.update: argument 'T' is {T}; expected one of {self.lengths}")
        _set_curves(self.curves, self.runs, T)
        _set_reach(self.reaches, T)
        self.cursor.set_xdata([T, T])
        rnn, lstm = self.runs["rnn", T], self.runs["lstm", T]
        self.caption = (f"T = {T}: after {len(rnn['history']['val_acc'])} epochs the RNN names "
                        f"{rnn['test_acc']:.0%} of the test symbols, the LSTM {lstm['test_acc']:.0%} "
                        f"(chance {rnn['chance']:.0%}). Before training, the gradient reaching x_0 is "
                        f"{_reach('rnn', T)[0]:.1e} (RNN) and {_reach('lstm', T)[0]:.1e} (LSTM) "
                        f"of the one reaching the last input.")
        return self.blitter.png()


KINDS = (("rnn", RNN_COLOR, "RNN"), ("lstm", LSTM_COLOR, "LSTM"))


def _memory_results(lengths):
    """memory_run for both kinds at every length (trained once per kernel, then cached)."""
    return {(kind, T): sq.memory_run(T, kind) for T in lengths for kind, _, _ in KINDS}


@functools.lru_cache(maxsize=None)
def _reach(kind, T):
    """gradient_reach relative to the last step's."""
    r = sq.gradient_reach(T, kind)
    return r / r[-1]


def _accuracy_axes(ax, chance):
    ax.axhline(chance, color=CHANCE, ls=":", lw=1, label="chance")
    ax.set_ylim(0, 1.05)
    ax.grid(alpha=0.3)


def _curve_lines(ax, runs, title="training"):
    first = next(iter(runs.values()))
    epochs = len(first["history"]["val_acc"])
    _accuracy_axes(ax, first["chance"])
    ax.set(xlim=(0.5, epochs + 0.5), xlabel="epoch", ylabel="test accuracy")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title(title, fontsize=live.FONT_PT)
    return {kind: ax.plot([], [], "-o", color=color, ms=3, label=label)[0] for kind, color, label in KINDS}


def _kind_legend(fig, ax_T):
    """RNN, LSTM and chance, one legend below the panels: the curves cross each panel's corners."""
    fig.legend(handles=[*ax_T.get_lines()[1:3], ax_T.get_lines()[0]], loc="outside lower center", ncols=3,
               frameon=False)


def _set_curves(lines, runs, T):
    for kind, line in lines.items():
        acc = runs[kind, T]["history"]["val_acc"]
        line.set_data(np.arange(1, len(acc) + 1), acc)


def _final_panel(ax, runs, lengths):
    _accuracy_axes(ax, next(iter(runs.values()))["chance"])
    for kind, color, label in KINDS:
        ax.plot(lengths, [runs[kind, T]["test_acc"] for T in lengths], "-o", color=color, ms=4, label=label)
    ax.set(xlabel="T, steps to remember", ylabel="test accuracy after training")
    ax.set_title("final accuracy against T", fontsize=live.FONT_PT)
    return ax.axvline(lengths[0], color="black", lw=0.8, ls="--")


def _reach_lines(ax, lengths, title="gradient reach, untrained"):
    ax.set(yscale="log", xlim=(0, max(lengths) - 1), ylim=(1e-20, 10),
           xlabel="steps back from the last input", ylabel=r"$\Vert \partial L/\partial x_t \Vert$ / last step")
    viz.plain_log_ticks(ax)
    ax.set_title(title, fontsize=live.FONT_PT)
    ax.grid(alpha=0.3)
    ax.minorticks_off()
    return {kind: ax.plot([], [], color=color, lw=1.6, label=label)[0] for kind, color, label in KINDS}


def _set_reach(lines, T):
    for kind, line in lines.items():
        line.set_data(np.arange(T)[::-1], _reach(kind, T))


def memory_explorer(T=40):
    """The live widget: a slider over the trained lengths T over MemoryExplorer.update."""
    import ipywidgets as widgets

    return live.show(MemoryExplorer(), {
        "T": widgets.SelectionSlider(options=list(sq.MEMORY_LENGTHS), value=T, description="length T")})[0]


def memory_grid(short=10, long=60, lengths=sq.MEMORY_LENGTHS, fig=None):
    """The memory explorer's static fallback: training at a short and a long T, the final accuracy
    against T, and the gradient reach at the long T. Returns the Figure."""
    if fig is None:
        fig = plt.figure(figsize=(9.0, 5.4), dpi=live.DPI, layout="constrained")
    runs = _memory_results(lengths)
    (ax_short, ax_long), (ax_T, ax_reach) = fig.subplots(2, 2)
    for ax, T in ((ax_short, short), (ax_long, long)):
        _set_curves(_curve_lines(ax, runs, title=f"training, T = {T}"), runs, T)
    _final_panel(ax_T, runs, lengths).set_visible(False)
    _kind_legend(fig, ax_T)
    _set_reach(_reach_lines(ax_reach, lengths, title=f"gradient reach before training, T = {long}"), long)
    return fig


# ---------------------------------------------------------------- diagrams

def _box(ax, x, y, w, h, text, *, fill="white", fontsize=live.FONT_PT, rounding=0.15):
    ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle=f"round,pad=0,rounding_size={rounding}",
                                facecolor=fill, edgecolor="black", lw=1))
    ax.text(x, y, text, ha="center", va="center", fontsize=fontsize)


def _arrow(ax, start, end, *, color="black", lw=1.2, label=None, offset=(0, 0), fontsize=live.FONT_PT):
    ax.annotate("", xy=end, xytext=start, arrowprops=dict(arrowstyle="-|>", color=color, lw=lw,
                                                          shrinkA=0, shrinkB=0, mutation_scale=10))
    if label:
        mid = ((start[0] + end[0]) / 2 + offset[0], (start[1] + end[1]) / 2 + offset[1])
        ax.text(*mid, label, ha="center", va="center", fontsize=fontsize, color=color)


def _canvas(ax, figsize, xlim, ylim):
    if ax is None:
        _, ax = plt.subplots(figsize=figsize, dpi=live.DPI, layout="constrained")
    ax.set(xlim=xlim, ylim=ylim, aspect="equal")
    ax.set_axis_off()
    return ax


def draw_unrolled(ax=None, steps=4):
    """The RNN folded (one cell with a loop) and unrolled over `steps` steps: the same Wx, Wh, b at
    every step. Returns the Axes."""
    left = 3.8
    ax = _canvas(ax, (9.0, 2.6), (-0.8, left + 2.2 * steps - 1.0), (-1.5, 2.5))
    _box(ax, 0.6, 0.5, 1.2, 0.8, "RNN", fill=GATE_FILL)
    _arrow(ax, (0.6, -0.8), (0.6, 0.1), label="x_t", offset=(-0.35, -0.1))
    _arrow(ax, (0.6, 0.9), (0.6, 2.0), label="s_t", offset=(-0.35, 0.3))
    _wire(ax, [(1.2, 0.5), (1.6, 0.5), (1.6, 1.3), (-0.4, 1.3), (-0.4, 0.5), (0.0, 0.5)], arrow=True)
    ax.text(1.75, 1.0, "Wh", fontsize=live.FONT_PT, color="0.35")
    ax.text(0.6, -1.3, "folded: s_t = f(x_t, s_(t-1))", ha="center", fontsize=live.FONT_PT)
    ax.text(2.4, 0.5, "=", ha="center", va="center", fontsize=18)
    for t in range(steps):
        x = left + 2.2 * t
        _box(ax, x, 0.5, 1.2, 0.8, "tanh", fill=GATE_FILL)
        _arrow(ax, (x, -0.8), (x, 0.1), label=f"x_{t + 1}", offset=(-0.4, -0.1))
        _arrow(ax, (x, 0.9), (x, 1.9), label=f"s_{t + 1}", offset=(-0.4, 0.1))
        ax.text(x + 0.25, -0.35, "Wx", fontsize=live.FONT_PT, color="0.35")
        if t:
            _arrow(ax, (x - 1.6, 0.5), (x - 0.6, 0.5), label="Wh", offset=(0, 0.25), fontsize=live.FONT_PT)
        else:
            _arrow(ax, (x - 1.0, 0.5), (x - 0.6, 0.5))
            ax.text(x - 1.0, 0.85, "s_0 = 0", fontsize=live.FONT_PT, ha="center")
    ax.text(left + 1.1 * (steps - 1), -1.3, "unrolled: one layer per step, all sharing Wx, Wh, b",
            ha="center", fontsize=live.FONT_PT)
    return ax


def _op(ax, x, y, text, r=0.32):
    ax.add_patch(Circle((x, y), r, facecolor=OP_FILL, edgecolor="black", lw=1, zorder=3))
    ax.text(x, y, text, ha="center", va="center", fontsize=live.FONT_PT if len(text) > 1 else 12, zorder=4)


def _wire(ax, points, *, lw=1.4, arrow=False, color="black"):
    xs, ys = zip(*points)
    if arrow:
        ax.plot(xs[:-1], ys[:-1], color=color, lw=lw, solid_capstyle="butt", zorder=1)
        _arrow(ax, points[-2], points[-1], color=color, lw=lw)
    else:
        ax.plot(xs, ys, color=color, lw=lw, zorder=1)


def draw_lstm_cell(ax=None):
    """The LSTM cell, redrawn after C. Olah's "Understanding LSTM Networks" (2015): the cell state
    runs along the top, touched only by the forget gate's product and the input's sum; below, the
    four layers f, i, g (Olah's C-tilde) and o read [s_(t-1), x_t]. Returns the Axes."""
    ax = _canvas(ax, (8.0, 4.4), (-1.8, 12.8), (-1.7, 7.4))
    ax.add_patch(FancyBboxPatch((0, 0), 10.8, 6.0, boxstyle="round,pad=0,rounding_size=0.5",
                                facecolor="#EEF3F8", edgecolor="0.4", lw=1.2, zorder=0))
    top, bottom, gates_y, mix_y = 5.0, 0.8, 2.2, 3.5
    fx, ix, gx, ox, tx = 1.8, 3.4, 4.8, 7.0, 8.8
    # The cell state: the straight line along the top.
    _wire(ax, [(-1.2, top), (fx, top)])
    _wire(ax, [(fx, top), (12.4, top)], arrow=True, lw=2.2)
    ax.text(-1.3, top + 0.35, "C_(t-1)", fontsize=live.FONT_PT)
    ax.text(11.6, top + 0.35, "C_t", fontsize=live.FONT_PT)
    # Inputs: s_(t-1) from the left and x_t from below meet, then feed the four layers.
    _wire(ax, [(-1.2, bottom), (ox, bottom)])
    _wire(ax, [(0.8, -1.3), (0.8, bottom)])
    ax.text(-1.3, bottom - 0.55, "s_(t-1)", fontsize=live.FONT_PT)
    ax.text(1.0, -1.4, "x_t", fontsize=live.FONT_PT)
    for x, text in ((fx, "σ"), (ix, "σ"), (gx, "tanh"), (ox, "σ")):
        _wire(ax, [(x, bottom), (x, gates_y - 0.4)], arrow=True)
        _box(ax, x, gates_y, 1.0 if text == "tanh" else 0.8, 0.8, text, fill=GATE_FILL, fontsize=live.FONT_PT,
             rounding=0.1)
    # Forget gate: C_(t-1) times f_t.
    _wire(ax, [(fx, gates_y + 0.4), (fx, top - 0.32)], arrow=True)
    _op(ax, fx, top, "×")
    ax.text(fx - 0.15, 3.3, "forget\nf_t", fontsize=live.FONT_PT, va="center", ha="right")   # left: the gap holds i_t
    # Input gate times candidate, added to the cell.
    mx = (ix + gx) / 2
    _wire(ax, [(ix, gates_y + 0.4), (ix, mix_y), (mx - 0.32, mix_y)], arrow=True)
    _wire(ax, [(gx, gates_y + 0.4), (gx, mix_y), (mx + 0.32, mix_y)], arrow=True)
    _op(ax, mx, mix_y, "×")
    _wire(ax, [(mx, mix_y + 0.32), (mx, top - 0.32)], arrow=True)
    _op(ax, mx, top, "+")
    ax.text(ix - 0.15, 3.05, "input\ni_t", fontsize=live.FONT_PT, va="center", ha="right")
    ax.text(gx + 0.15, 3.05, "candidate\ng_t", fontsize=live.FONT_PT, va="center")
    # Output gate times tanh(C_t) gives s_t, out to the right (next step) and up (the output).
    tanh_y, out_y = 4.05, 2.95
    _wire(ax, [(tx, top), (tx, tanh_y + 0.38)], arrow=True)
    _op(ax, tx, tanh_y, "tanh", r=0.38)
    _wire(ax, [(tx, tanh_y - 0.38), (tx, out_y + 0.32)], arrow=True)
    _wire(ax, [(ox, gates_y + 0.4), (ox, out_y), (tx - 0.32, out_y)], arrow=True)
    ax.text(ox + 0.45, 2.1, "output\no_t", fontsize=live.FONT_PT, va="center")
    _op(ax, tx, out_y, "×")
    _wire(ax, [(tx, out_y - 0.32), (tx, bottom), (12.4, bottom)], arrow=True)
    _wire(ax, [(10.0, bottom), (10.0, 7.2)], arrow=True)
    ax.text(11.6, bottom - 0.55, "s_t", fontsize=live.FONT_PT)
    ax.text(10.2, 6.8, "s_t", fontsize=live.FONT_PT)
    ax.text(5.4, 6.45, "cell state: C_t = f_t C_(t-1) + i_t g_t", ha="center", fontsize=live.FONT_PT, color="0.25")
    return ax


# ---------------------------------------------------------------- benchmark

@functools.lru_cache(maxsize=None)
def _shared(kind):
    """One explorer of each kind for the benchmark, built on first use, not at import."""
    return {"gradient": GradientExplorer, "cell": CellExplorer, "memory": MemoryExplorer}[kind]()


def _bench(kind):
    return lambda **kwargs: _shared(kind).update(**kwargs)


BENCH_CASES = [
    ("sequences.gradient", _bench("gradient"),
     [{"radius": r, "T": T, "input_scale": s} for r in (0.5, 0.9, 1.0, 1.1, 1.5) for T in (2, 40, T_MAX)
      for s in (0.0, 1.0)]),
    ("sequences.cell", _bench("cell"),
     [{"forget": f, "input_gate": i, "output": o, "write": 1.0, "erase_at": e}
      for f in (0.0, 0.5, 0.95, 1.0) for i in (0.0, 0.5, 1.0) for o, e in ((1.0, 0), (0.3, 20))]),
    ("sequences.memory", _bench("memory"), [{"T": T} for T in sq.MEMORY_LENGTHS]),
]
