"""Widgets and static fallback figures for lessons 00 (welcome tour) and 02 (structure of a network).

Each explorer owns one figure and updates its artists in place (set_data, set_offsets), then
blits: axes, ticks and labels come from a cached background, only the moving artists are drawn.
`show` is what a slider calls: it updates, renders to PNG and displays the picture.
The numbers come from dlteach.experiments.network_structure (pure, tested); this module only draws them.

    explorer = BoundaryExplorer()
    _ = interact(explorer.show, name=list(structure.DATASETS), hidden=list(structure.HIDDEN_SIZES))
"""

import io

import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Image, display
from matplotlib.colors import TABLEAU_COLORS, LinearSegmentedColormap, to_hex, to_rgb
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from dlteach import activations, viz
from dlteach.experiments import network_structure as structure
from dlteach.widgets import live

__all__ = ["ActivationExplorer", "SoftmaxExplorer", "BoundaryExplorer", "LiveLossPlot",
           "activation_grid", "softmax_grid", "boundary_grid", "tour_grid", "color_name", "BENCH_CASES"]

# The colours of dlteach.viz: class 0 blue (C0), class 1 orange (C1); p(class 1) = 1/2 is white.
# Lesson captions name these colours; the lessons assert color_name(constant) == the word they use.
CLASS_COLORS = ("#1f77b4", "#ff7f0e")
CLASS_CMAP = LinearSegmentedColormap.from_list("class_0_to_1", [CLASS_COLORS[0], "white", CLASS_COLORS[1]])
PREDICTED_COLOR = "#2ca02c"       # the argmax class's probability bar
OTHER_CLASS_COLOR = "0.7"         # the other classes' probability bars
LOGIT_COLOR = "0.55"              # the logit bars of the softmax explorer
TARGET_COLOR = "k"                # the one-hot y dashes, the decision boundary p = 1/2, the point x0
EPOCH_MARKER_COLOR = "C3"         # the tour's dot on the loss curve at the chosen epoch


def color_name(color):
    """The plain English name of a matplotlib colour, as a caption says it: "blue" for C0 or "#1f77b4".

    Tableau colours (C0..C9) get their names, greys (r = g = b) "grey", "black" or "white";
    anything else its hex code.
    """
    hex_code = to_hex(color)
    tableau = {to_hex(v): k.removeprefix("tab:").replace("gray", "grey") for k, v in TABLEAU_COLORS.items()}
    if hex_code in tableau:
        return tableau[hex_code]
    r, g, b = to_rgb(color)
    if r == g == b:
        return {0.0: "black", 1.0: "white"}.get(r, "grey")
    return hex_code


def _class_legend_handles():
    """Legend entries for the boundary figures: the two classes' points and the boundary line."""
    return [Line2D([], [], ls="none", marker="o", ms=4, color=CLASS_COLORS[0], label="class 0"),
            Line2D([], [], ls="none", marker="o", ms=4, color=CLASS_COLORS[1], label="class 1"),
            Line2D([], [], color=TARGET_COLOR, lw=1.2, label="boundary p(class 1) = 1/2")]


def _png(fig):
    """A static figure as PNG bytes (for the fallback grids and tests)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=live.DPI)
    return buf.getvalue()


LOSS_LIMITS = (1e-4, 2.0)   # fixed, so the loss axes stay in the cached background


class _Blitted:
    """A Figure whose static parts (axes, ticks, labels, legends) are drawn once per background key.

    A slider move restores that background, draws only the animated artists on top and encodes the
    PNG: the blitting of matplotlib's animations. Redrawing every tick label would cost several
    times more. Subclasses set self.key to what changes the static parts (e.g. the axes' limits).
    """

    def __init__(self, figsize, ncols):
        self.fig = live.live_figure(figsize)      # laid out (around the first titles) at the first render, then frozen
        self.axes = list(np.atleast_1d(self.fig.subplots(1, ncols)))
        for ax in self.axes:
            ax.title.set_animated(True)
        self.key = None
        self._blitter = live.Blitter(self.fig, palette=False)   # every animated artist, one background per key

    @staticmethod
    def animated(*artists):
        for artist in artists:
            artist.set_animated(True)
        return artists[0] if len(artists) == 1 else artists

    def render(self):
        """PNG bytes of the figure as it is now."""
        return self._blitter.png(key=self.key)

    def _show(self):
        display(Image(data=self.render(), format="png"))


class ActivationExplorer(_Blitted):
    """phi and phi' on [-5, 5], the tangent to phi at a point x0, and phi'(x0) with its central difference.

    The dot on the right is the exact phi'(x0) from the formula; the central difference at x0 is the
    number in the right panel's title (it has no dot: at a kink it does not exist).
    """

    SPAN = 5.0

    def __init__(self):
        super().__init__((8, 3.8), 2)
        self.ax_f, self.ax_df = self.axes
        (self.line_f,) = self.ax_f.plot([], [], lw=2, color="C0", label="phi(x)")
        (self.line_df,) = self.ax_df.plot([], [], lw=2, color="C1", label="phi'(x)")
        self.tangent = self.animated(*self.ax_f.plot([], [], lw=1.5, ls="--", color=TARGET_COLOR,
                                                     label="tangent at x0"))
        self.point_f = self.animated(*self.ax_f.plot([], [], "o", color=TARGET_COLOR, ms=6, label="(x0, phi(x0))"))
        self.point_df = self.animated(*self.ax_df.plot([], [], "o", color=TARGET_COLOR, ms=6,
                                                       label="phi'(x0), the formula"))
        for ax, label in ((self.ax_f, "phi(x)"), (self.ax_df, "phi'(x)")):
            ax.axhline(0, color="0.6", lw=0.8)
            ax.axvline(0, color="0.6", lw=0.8)
            ax.set_xlim(-self.SPAN, self.SPAN)
            ax.set_xlabel("x")
            ax.set_ylabel(label)
            ax.grid(alpha=0.3)
        # One legend below the panels: the point x0 and the curves reach every corner of both.
        self.fig.legend(handles=[*self.ax_f.get_lines()[:3], *self.ax_df.get_lines()[:2]], loc="outside lower center",
                        ncols=5, frameon=False)
        self.ax_df.set_ylim(-0.1, 1.15)                           # every phi' here lies in [0, 1]
        self.update("tanh", 0.0).render()   # the layout, frozen at the first render, fits tanh's widest labels (-1.0)

    def update(self, name="relu", x0=1.0):
        """Move to activation name and point x0; returns self (render() gives the picture)."""
        act = activations.get(name)
        if self.key != name:                                      # the curves belong to the background
            c = structure.activation_curves(name, lo=-self.SPAN, hi=self.SPAN)
            self.line_f.set_data(c["x"], c["f"])
            self.line_df.set_data(c["x"], c["df"])
            lo, hi = c["f_range"]
            pad = 0.15 * max(hi - lo, 1.0)
            self.ax_f.set_ylim(lo - pad, hi + pad)
            self.key = name
        t = structure.activation_tangent(name, x0, lo=-self.SPAN, hi=self.SPAN)
        self.tangent.set_data(t["x"], t["tangent"])
        self.point_f.set_data([t["x0"]], [t["f0"]])
        self.point_df.set_data([t["x0"]], [t["df0"]])
        numeric = "undefined (kink)" if np.isnan(t["numeric"]) else f"{t['numeric']:.3f}"
        self.ax_f.set_title(f"{name}: phi(x) = {act.text}", fontsize=live.FONT_PT)
        self.ax_df.set_title(f"phi'({x0:.2f}) = {t['df0']:.3f} (dot)\ncentral difference at x0: {numeric}",
                             fontsize=live.FONT_PT)
        return self

    def show(self, name="relu", x0=1.0):
        self.update(name, x0)._show()


class SoftmaxExplorer(_Blitted):
    """Three logits h -> probabilities a = softmax(h), the predicted class, and both losses for true class y."""

    def __init__(self):
        super().__init__((8, 3.2), 2)
        self.ax_h, self.ax_a = self.axes
        idx = np.arange(3)
        self.bars_h = self.ax_h.bar(idx, np.zeros(3), color=LOGIT_COLOR)
        self.bars_a = self.ax_a.bar(idx, np.zeros(3), color=OTHER_CLASS_COLOR)
        self.marks_y = self.ax_a.scatter(idx, np.zeros(3), marker="_", s=900, color=TARGET_COLOR, zorder=3)
        self.animated(*self.bars_h, *self.bars_a, self.marks_y)
        self.ax_h.set_ylim(-5.5, 5.5)
        self.ax_h.axhline(0, color="0.3", lw=0.8)
        self.ax_h.set_ylabel("logit h_j")
        # Headroom above 1 for the legend: below it, a bar of any class may reach 1.
        self.ax_a.set(ylim=(0, 1.6), yticks=np.linspace(0, 1, 5))
        self.ax_a.set_ylabel("a_j (bars), y_j (dashes)")
        self.ax_a.legend(handles=_softmax_legend_handles(), loc="upper right")
        for ax in self.axes:
            ax.set_xticks(idx, ["class 0", "class 1", "class 2"])

    def update(self, h0=2.0, h1=1.0, h2=0.1, target=0):
        r = structure.softmax_report(np.array([h0, h1, h2], dtype=float), int(target))
        for j, (bh, ba) in enumerate(zip(self.bars_h, self.bars_a)):
            bh.set_height((h0, h1, h2)[j])
            ba.set_height(r["probs"][j])
            ba.set_color(PREDICTED_COLOR if j == r["predicted"] else OTHER_CLASS_COLOR)
        self.marks_y.set_offsets(np.column_stack([np.arange(3), r["one_hot"]]))
        self.ax_h.set_title(f"logits h; true class y = {int(target)}", fontsize=live.FONT_PT)
        verdict = "right" if r["correct"] else "wrong"
        self.ax_a.set_title(f"argmax = class {r['predicted']} ({verdict})\n"
                            f"cross-entropy {r['cross_entropy']:.3f}, squared loss {r['squared']:.3f}",
                            fontsize=live.FONT_PT)
        return self

    def show(self, h0=2.0, h1=1.0, h2=0.1, target=0):
        self.update(h0, h1, h2, target)._show()


def _softmax_legend_handles():
    return [Patch(color=PREDICTED_COLOR, label="a_j, predicted class"),
            Patch(color=OTHER_CLASS_COLOR, label="a_j, other classes"),
            Line2D([], [], ls="none", marker="_", ms=12, mew=2, color=TARGET_COLOR, label="one-hot y")]


LEVELS = np.linspace(0, 1, 11)     # banded, not smooth: flat colours keep the stored PNGs small


def _contours(ax, s):
    """Filled bands of p(class 1) and the black boundary p = 1/2; returns both contour sets."""
    filled = ax.contourf(s["xx"], s["yy"], s["prob"], levels=LEVELS, cmap=CLASS_CMAP, alpha=0.55)
    line = ax.contour(s["xx"], s["yy"], s["prob"], levels=[0.5], colors=TARGET_COLOR, linewidths=1.2)
    return filled, line


def _draw_surface(ax, s, *, title=True):
    """Probability bands, the p = 1/2 boundary and the points, on a fresh Axes (for the static grids)."""
    _contours(ax, s)
    # Points without anti-aliasing: 12 panels of smooth dots would double the stored PNG.
    ax.scatter(s["X"][:, 0], s["X"][:, 1], c=np.asarray(CLASS_COLORS)[s["y"]], s=8, edgecolors="none",
               antialiased=False)
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(f"{s['params']['0.b'].size} hidden: acc {s['accuracy']:.1%}", fontsize=live.FONT_PT)


class BoundaryExplorer(_Blitted):
    """Decision boundary of a trained two-layer ReLU net vs data set, hidden size and (optionally) epoch.

    All nets train when the explorer is made (structure.precompute), so moving a slider only looks up
    a cached surface and redraws. With_history=True adds the loss curve with a marker at the epoch.
    """

    def __init__(self, *, names=structure.DATASETS, hiddens=structure.HIDDEN_SIZES, with_history=False):
        structure.precompute(names, hiddens)
        self.with_history = with_history
        super().__init__((8, 4.0) if with_history else (4.6, 4.3), 2 if with_history else 1)
        self.ax = self.axes[0]
        # The points move with the data set and sit above the bands, so they are drawn on every move.
        self.points = self.animated(self.ax.scatter([], [], s=10, edgecolors="none", zorder=3, antialiased=False))
        self.contours = ()
        self.ax.set_xlabel("x1")
        self.ax.set_ylabel("x2")
        self.fig.legend(handles=_class_legend_handles(), loc="outside lower center", ncol=3 if with_history else 2,
                        frameon=False)
        if with_history:
            self.ax_loss = self.axes[1]
            self.curve = self.animated(*self.ax_loss.plot([], [], color="C0", label="training loss"))
            self.marker = self.animated(*self.ax_loss.plot([], [], "o", color=EPOCH_MARKER_COLOR, label="this epoch"))
            self.ax_loss.set_yscale("log")
            viz.plain_log_ticks(self.ax_loss)
            self.ax_loss.set_xlim(0, structure.EPOCHS + 1)
            self.ax_loss.set_ylim(*LOSS_LIMITS)
            self.ax_loss.set_xlabel("epoch")
            self.ax_loss.set_ylabel("cross-entropy")
            self.ax_loss.grid(alpha=0.3)
            self.ax_loss.legend(loc="upper right")

    def update(self, name="spirals", hidden=32, epoch=None):
        s = structure.decision_surface(name, hidden, epoch=epoch)
        if self.key != name:                                      # the limits belong to the background
            self.points.set_offsets(s["X"])
            self.points.set_facecolors(np.asarray(CLASS_COLORS)[s["y"]])
            self.ax.set_xlim(s["xx"][0, 0], s["xx"][0, -1])
            self.ax.set_ylim(s["yy"][0, 0], s["yy"][-1, 0])
            self.key = name
        for c in self.contours:
            c.remove()                 # contour sets cannot be moved in place: swap them, keep the rest
        self.contours = self.animated(*_contours(self.ax, s))
        self.ax.set_title(f"{name}, {hidden} hidden units, epoch {s['epoch']}: "
                          f"accuracy {s['accuracy']:.1%}", fontsize=live.FONT_PT)
        if self.with_history:
            loss = np.asarray(s["history"]["loss"])
            self.curve.set_data(np.arange(1, len(loss) + 1), loss)
            e = max(s["epoch"], 1)
            self.marker.set_data([e], [loss[e - 1]])
            self.ax_loss.set_title(f"training loss at epoch {e}: {loss[e - 1]:.3g}", fontsize=live.FONT_PT)
        return self

    def show(self, name="spirals", hidden=32):
        """For interact: the trained net (interact would turn an epoch=None argument into a widget)."""
        self.update(name, hidden)._show()

    def show_epoch(self, name="moons", hidden=8, epoch=structure.EPOCHS):
        """For interact with an epoch slider: the net after that many epochs of training."""
        self.update(name, hidden, epoch)._show()


class LiveLossPlot(_Blitted):
    """A callback for train.fit that redraws the loss curves after every `every` epochs, in place.

    plot = LiveLossPlot(epochs); fit(..., callback=plot). The picture is displayed once and then
    replaced through its display handle, so the cell keeps one up-to-date picture.
    """

    def __init__(self, epochs, *, every=1, display_now=True):
        super().__init__((6, 3.2), 1)
        self.epochs, self.every = int(epochs), int(every)
        self.ax = self.axes[0]
        self.train_line = self.animated(*self.ax.plot([], [], color="C0", label="training loss"))
        self.val_line = self.animated(*self.ax.plot([], [], color="C1", ls="--", label="validation loss"))
        self.ax.set_xlim(0, self.epochs + 1)
        self.ax.set_yscale("log")
        viz.plain_log_ticks(self.ax)
        self.ax.set_ylim(*LOSS_LIMITS)
        self.ax.set_xlabel("epoch")
        self.ax.set_ylabel("cross-entropy")
        self.ax.set_title("loss, live")
        self.ax.grid(alpha=0.3)
        self.ax.legend(loc="upper right")
        self.handle = display(Image(data=self.render(), format="png"), display_id=True) if display_now else None

    def update(self, history):
        """Move the curves to the history so far; returns self."""
        loss, val = np.asarray(history["loss"]), np.asarray(history.get("val_loss") or [])
        self.train_line.set_data(np.arange(1, len(loss) + 1), loss)
        self.val_line.set_data(np.arange(1, len(val) + 1), val)
        self.ax.set_title(f"loss, live: epoch {len(loss)} of {self.epochs}")
        return self

    def __call__(self, epoch, history):
        if (epoch + 1) % self.every == 0 or epoch + 1 == self.epochs:
            png = self.update(history).render()
            if self.handle is not None:
                self.handle.update(Image(data=png, format="png"))
        return False          # never stop training early


def activation_grid(names=("step", "sigmoid", "tanh", "relu"), *, span=4.0):
    """Static fallback: phi (solid) and phi' (dashed) of each activation side by side. Returns the Axes."""
    fig, axes = plt.subplots(1, len(names), figsize=(10, 2.6), dpi=live.DPI, layout="constrained", sharey=True)
    for ax, name in zip(np.atleast_1d(axes), names):
        c = structure.activation_curves(name, lo=-span, hi=span)
        ax.plot(c["x"], c["f"], lw=2, label="phi(x)")
        ax.plot(c["x"], c["df"], lw=2, ls="--", label="phi'(x)")
        ax.axhline(0, color="0.6", lw=0.8)
        tex = activations.get(name).tex.replace(r"\frac", r"\dfrac")     # a fraction at full size, not 70% of it
        ax.set_title(f"{name}: ${tex}$", fontsize=live.FONT_PT)
        ax.set_xlabel("x")
        ax.set_ylim(-1.2, 1.6)
        ax.grid(alpha=0.3)
    axes[0].legend(loc="upper left")
    return axes


def softmax_grid(settings=((2.0, 1.0, 0.1, 0), (2.0, 1.0, 0.1, 2), (5.0, 0.0, -5.0, 0), (0.0, 0.0, 0.0, 1))):
    """Static fallback: a = softmax(h) for a few (h0, h1, h2, target) settings, with both losses. Returns the Axes."""
    fig, axes = plt.subplots(1, len(settings), figsize=(10, 2.6), dpi=live.DPI, layout="constrained", sharey=True)
    for ax, (h0, h1, h2, target) in zip(axes, settings):
        r = structure.softmax_report(np.array([h0, h1, h2]), target)
        colors = [PREDICTED_COLOR if j == r["predicted"] else OTHER_CLASS_COLOR for j in range(3)]
        ax.bar(range(3), r["probs"], color=colors)
        ax.scatter(range(3), r["one_hot"], marker="_", s=500, color=TARGET_COLOR, zorder=3)
        ax.set_xticks(range(3), ["0", "1", "2"])
        ax.set_xlabel(f"h = ({h0:g}, {h1:g}, {h2:g}), y = {target}")
        ax.set_title(f"CE {r['cross_entropy']:.2f}, squared {r['squared']:.2f}", fontsize=live.FONT_PT)
        ax.set_ylim(0, 1.1)
    axes[0].set_ylabel("a = softmax(h)")
    fig.legend(handles=_softmax_legend_handles(), loc="outside lower center", ncol=3, frameon=False)
    return axes


def boundary_grid(names=structure.DATASETS, hiddens=(1, 2, 8, 32)):
    """Static fallback: decision boundaries, one row per data set, one column per hidden size. Returns the Axes."""
    fig, axes = plt.subplots(len(names), len(hiddens), figsize=(2.1 * len(hiddens), 2.0 * len(names) + 0.3), dpi=live.DPI,
                             layout="constrained", squeeze=False)
    for row, name in zip(axes, names):
        for ax, hidden in zip(row, hiddens):
            _draw_surface(ax, structure.decision_surface(name, hidden))
        row[0].set_ylabel(name)
    fig.legend(handles=_class_legend_handles(), loc="outside lower center", ncol=3, frameon=False)
    return axes


def tour_grid(name="moons", hidden=8, epochs=(0, 5, 20, structure.EPOCHS)):
    """Static fallback for the tour: the boundary of one net at a few epochs of its training. Returns the Axes."""
    fig, axes = plt.subplots(1, len(epochs), figsize=(2.2 * len(epochs), 2.6), dpi=live.DPI, layout="constrained")
    for ax, epoch in zip(axes, epochs):
        s = structure.decision_surface(name, hidden, epoch=epoch)
        _draw_surface(ax, s, title=False)
        ax.set_title(f"epoch {epoch}: acc {s['accuracy']:.1%}", fontsize=live.FONT_PT)
    fig.legend(handles=_class_legend_handles(), loc="outside lower center", ncol=3, frameon=False)
    return axes


def _rendered(make):
    """A bench callable: the explorer's update plus its render, i.e. what one slider move costs."""
    explorers = {}

    def call(**kwargs):
        if "explorer" not in explorers:
            explorers["explorer"] = make()     # built (and nets trained) once, as in the lesson
        return len(explorers["explorer"].update(**kwargs).render())
    return call


class _LiveLossUpdate:
    """update() of a LiveLossPlot over 100 epochs, fed a history of the given length."""

    def __init__(self, epochs=100):
        self.epochs = epochs
        self.plot = None

    def update(self, length):
        if self.plot is None:
            self.plot = LiveLossPlot(self.epochs, display_now=False)
        loss = list(np.geomspace(0.7, 0.01, self.epochs)[:length])
        return self.plot.update({"loss": loss, "val_loss": loss[::-1]})


BENCH_CASES = [
    ("structure.activation", _rendered(ActivationExplorer),
     [{"name": n, "x0": x0} for n in activations.NAMES for x0 in (-4.0, -0.5, 0.0, 1.5, 4.0)]),
    ("structure.softmax", _rendered(SoftmaxExplorer),
     [{"h0": h0, "h1": h1, "h2": -1.0, "target": t} for h0 in (-5.0, 0.0, 5.0) for h1 in (-5.0, 5.0)
      for t in (0, 2)]),
    ("structure.boundary", _rendered(BoundaryExplorer),
     [{"name": n, "hidden": h} for n in structure.DATASETS for h in structure.HIDDEN_SIZES]),
    ("structure.tour", _rendered(lambda: BoundaryExplorer(hiddens=(2, 8, 32), with_history=True)),
     [{"name": n, "hidden": h, "epoch": e} for n in structure.DATASETS for h in (2, 8, 32)
      for e in (0, 1, 10, 75, structure.EPOCHS)]),
    ("structure.live_loss", _rendered(_LiveLossUpdate), [{"length": k} for k in (1, 10, 50, 100)]),
]
