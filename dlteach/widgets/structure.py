"""Widgets and static fallback figures for lessons 00 (welcome tour) and 02 (structure of a network).

Each explorer owns one figure and updates its artists in place (set_data, set_offsets); `show`
is what a slider calls: it updates, renders the figure once to PNG and displays it.
The numbers come from dlteach.structure (pure, tested); this module only draws them.

    explorer = BoundaryExplorer()
    _ = interact(explorer.show, name=list(structure.DATASETS), hidden=list(structure.HIDDEN_SIZES))
"""

import io

import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Image, display
from matplotlib.figure import Figure

from dlteach import activations, structure

__all__ = ["ActivationExplorer", "SoftmaxExplorer", "BoundaryExplorer", "LiveLossPlot",
           "activation_grid", "softmax_grid", "boundary_grid", "tour_grid", "BENCH_CASES"]

DPI = 80
CLASS_CMAP = "RdBu"          # class 0 red, class 1 blue, p = 1/2 white: the boundary is the pale band
CLASS_COLORS = ("#c0392b", "#2166ac")


def _png(fig):
    """The figure as PNG bytes: the one render a slider move costs (a single draw, no tight bbox)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    return buf.getvalue()


def _display(fig):
    display(Image(data=_png(fig), format="png"))


def _figure(figsize, ncols):
    # A bare Figure (not pyplot's): it is never shown twice by the inline backend at cell end.
    # Fixed margins, not layout="constrained": the layout solver would triple the cost of each redraw.
    fig = Figure(figsize=figsize, dpi=DPI)
    fig.subplots_adjust(left=0.09, right=0.98, bottom=0.15, top=0.88, wspace=0.28)
    return fig, fig.subplots(1, ncols)


class ActivationExplorer:
    """phi and phi' of one activation on [-span, span], with the central difference as dots."""

    def __init__(self):
        self.fig, (self.ax_f, self.ax_df) = _figure((8, 3.2), 2)
        (self.line_f,) = self.ax_f.plot([], [], lw=2, color="C0")
        (self.line_df,) = self.ax_df.plot([], [], lw=2, color="C1", label="phi'(x) formula")
        (self.dots,) = self.ax_df.plot([], [], "k.", ms=4, label="central difference")
        for ax, label in ((self.ax_f, "phi(x)"), (self.ax_df, "phi'(x)")):
            ax.axhline(0, color="0.6", lw=0.8)
            ax.axvline(0, color="0.6", lw=0.8)
            ax.set_xlabel("x")
            ax.set_ylabel(label)
            ax.grid(alpha=0.3)
        self.ax_df.legend(loc="upper left", fontsize=8)

    def update(self, name="relu", span=4.0):
        """Redraw for activation name on [-span, span]; returns the figure."""
        act = activations.get(name)
        c = structure.activation_curves(name, lo=-span, hi=span, n=401)
        self.line_f.set_data(c["x"], c["f"])
        self.line_df.set_data(c["x"], c["df"])
        self.dots.set_data(c["x"][::16], c["numeric"][::16])
        for ax, y in ((self.ax_f, c["f"]), (self.ax_df, c["df"])):
            pad = 0.1 * max(float(np.ptp(y)), 0.5)
            ax.set_xlim(-span, span)
            ax.set_ylim(float(y.min()) - pad, float(y.max()) + pad)
        self.ax_f.set_title(f"{name}: phi(x) = {act.text}", fontsize=10)
        self.ax_df.set_title(f"phi'(x) = {act.dtext};  max |phi'| = {c['max_slope']:.3g}", fontsize=10)
        return self.fig

    def show(self, name="relu", span=4.0):
        _display(self.update(name, span))


class SoftmaxExplorer:
    """Three logits h -> probabilities a = softmax(h), the predicted class, and both losses for true class y."""

    def __init__(self):
        self.fig, (self.ax_h, self.ax_a) = _figure((8, 3.2), 2)
        idx = np.arange(3)
        self.bars_h = self.ax_h.bar(idx, np.zeros(3), color="0.55")
        self.bars_a = self.ax_a.bar(idx, np.zeros(3), color="C0", label="a = softmax(h)")
        self.marks_y = self.ax_a.scatter(idx, np.zeros(3), marker="_", s=900, color="k", zorder=3,
                                         label="one-hot y")
        self.ax_h.set_ylim(-5.5, 5.5)
        self.ax_h.axhline(0, color="0.3", lw=0.8)
        self.ax_h.set_title("logits h")
        self.ax_h.set_ylabel("h_j")
        self.ax_a.set_ylim(0, 1.15)
        self.ax_a.set_ylabel("probability")
        self.ax_a.legend(loc="upper right", fontsize=8)
        for ax in (self.ax_h, self.ax_a):
            ax.set_xticks(idx, ["class 0", "class 1", "class 2"])

    def update(self, h0=2.0, h1=1.0, h2=0.1, target=0):
        r = structure.softmax_report(np.array([h0, h1, h2], dtype=float), int(target))
        for j, (bh, ba) in enumerate(zip(self.bars_h, self.bars_a)):
            bh.set_height((h0, h1, h2)[j])
            ba.set_height(r["probs"][j])
            ba.set_color(CLASS_COLORS[1] if j == r["predicted"] else "0.7")
        self.marks_y.set_offsets(np.column_stack([np.arange(3), r["one_hot"]]))
        verdict = "right" if r["correct"] else "wrong"
        self.ax_a.set_title(f"argmax = class {r['predicted']} ({verdict}); "
                            f"CE = {r['cross_entropy']:.3f}, squared = {r['squared']:.3f}", fontsize=10)
        return self.fig

    def show(self, h0=2.0, h1=1.0, h2=0.1, target=0):
        _display(self.update(h0, h1, h2, target))


LEVELS = np.linspace(0, 1, 11)     # banded, not smooth: flat colours keep the stored PNGs small


def _contours(ax, s):
    """Filled bands of p(class 1) and the black boundary p = 1/2; returns both contour sets."""
    filled = ax.contourf(s["xx"], s["yy"], s["prob"], levels=LEVELS, cmap=CLASS_CMAP, alpha=0.55)
    line = ax.contour(s["xx"], s["yy"], s["prob"], levels=[0.5], colors="k", linewidths=1.2)
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
        ax.set_title(f"{s['params']['0.b'].size} hidden: acc {s['accuracy']:.0%}", fontsize=9)


class BoundaryExplorer:
    """Decision boundary of a trained two-layer ReLU net vs data set, hidden size and (optionally) epoch.

    All nets train when the explorer is made (structure.precompute), so moving a slider only looks up
    a cached surface and redraws. With_history=True adds the loss curve with a marker at the epoch.
    """

    def __init__(self, *, names=structure.DATASETS, hiddens=structure.HIDDEN_SIZES, with_history=False):
        structure.precompute(names, hiddens)
        self.with_history = with_history
        ncols = 2 if with_history else 1
        self.fig, axes = _figure((8, 3.6) if with_history else (4.4, 3.8), ncols)
        self.ax = axes[0] if with_history else axes
        s = structure.decision_surface(names[0], hiddens[-1])
        self.points = self.ax.scatter(s["X"][:, 0], s["X"][:, 1], s=10, edgecolors="none", zorder=3,
                                      antialiased=False)
        self.contours = ()
        self.ax.set_xlabel("x1")
        self.ax.set_ylabel("x2")
        if with_history:
            self.ax_loss = axes[1]
            (self.curve,) = self.ax_loss.plot([], [], color="C0", label="training loss")
            (self.marker,) = self.ax_loss.plot([], [], "o", color="C3", label="this epoch")
            self.ax_loss.set_yscale("log")
            self.ax_loss.set_xlabel("epoch")
            self.ax_loss.set_ylabel("cross-entropy")
            self.ax_loss.grid(alpha=0.3)
            self.ax_loss.legend(loc="upper right", fontsize=8)

    def update(self, name="spirals", hidden=32, epoch=None):
        s = structure.decision_surface(name, hidden, epoch=epoch)
        extent = (s["xx"][0, 0], s["xx"][0, -1], s["yy"][0, 0], s["yy"][-1, 0])
        self.points.set_offsets(s["X"])
        self.points.set_facecolors(np.asarray(CLASS_COLORS)[s["y"]])
        for c in self.contours:
            c.remove()                 # contour sets cannot be moved in place: swap them, keep the rest
        self.contours = _contours(self.ax, s)
        self.ax.set_xlim(extent[:2])
        self.ax.set_ylim(extent[2:])
        self.ax.set_title(f"{name}, {hidden} hidden units, epoch {s['epoch']}: "
                          f"accuracy {s['accuracy']:.0%}", fontsize=10)
        if self.with_history:
            loss = np.asarray(s["history"]["loss"])
            epochs = np.arange(1, len(loss) + 1)
            self.curve.set_data(epochs, loss)
            e = max(s["epoch"], 1)
            self.marker.set_data([e], [loss[e - 1]])
            self.ax_loss.set_xlim(0, len(loss) + 1)
            self.ax_loss.set_ylim(max(loss.min() * 0.5, 1e-4), loss.max() * 2)
        return self.fig

    def show(self, name="spirals", hidden=32):
        """For interact: the trained net (interact would turn an epoch=None argument into a widget)."""
        _display(self.update(name, hidden))

    def show_epoch(self, name="moons", hidden=8, epoch=structure.EPOCHS):
        """For interact with an epoch slider: the net after that many epochs of training."""
        _display(self.update(name, hidden, epoch))


class LiveLossPlot:
    """A callback for train.fit that redraws the loss curve after every epoch, in place.

    plot = LiveLossPlot(epochs); fit(..., callback=plot). The figure is displayed once and then
    replaced through its display handle, so the cell keeps one up-to-date picture.
    """

    def __init__(self, epochs, *, every=1, display_now=True):
        self.epochs = int(epochs)
        self.every = int(every)
        self.fig, self.ax = _figure((6, 3.2), 1)
        (self.train_line,) = self.ax.plot([], [], color="C0", label="training loss")
        (self.val_line,) = self.ax.plot([], [], color="C1", ls="--", label="validation loss")
        self.ax.set_xlim(0, self.epochs + 1)
        self.ax.set_yscale("log")
        self.ax.set_xlabel("epoch")
        self.ax.set_ylabel("cross-entropy")
        self.ax.set_title("loss, live")
        self.ax.grid(alpha=0.3)
        self.ax.legend(loc="upper right", fontsize=8)
        self.handle = display(Image(data=_png(self.fig), format="png"), display_id=True) if display_now else None

    def update(self, history):
        """Move the curves to the history so far; returns the figure."""
        loss, val = np.asarray(history["loss"]), np.asarray(history.get("val_loss") or [])
        self.train_line.set_data(np.arange(1, len(loss) + 1), loss)
        self.val_line.set_data(np.arange(1, len(val) + 1), val)
        both = np.concatenate([loss, val])
        if both.size:
            self.ax.set_ylim(max(both.min() * 0.5, 1e-4), both.max() * 2)
            self.ax.set_title(f"loss, live: epoch {len(loss)} of {self.epochs}")
        return self.fig

    def __call__(self, epoch, history):
        if (epoch + 1) % self.every == 0 or epoch + 1 == self.epochs:
            png = _png(self.update(history))
            if self.handle is not None:
                self.handle.update(Image(data=png, format="png"))
        return False          # never stop training early


def activation_grid(names=("step", "sigmoid", "tanh", "relu"), *, span=4.0):
    """Static fallback: phi (solid) and phi' (dashed) of each activation side by side. Returns the Axes."""
    fig, axes = plt.subplots(1, len(names), figsize=(10, 2.6), dpi=DPI, layout="constrained", sharey=True)
    for ax, name in zip(np.atleast_1d(axes), names):
        c = structure.activation_curves(name, lo=-span, hi=span)
        ax.plot(c["x"], c["f"], lw=2, label="phi(x)")
        ax.plot(c["x"], c["df"], lw=2, ls="--", label="phi'(x)")
        ax.axhline(0, color="0.6", lw=0.8)
        ax.set_title(f"{name}: ${activations.get(name).tex}$", fontsize=10)
        ax.set_xlabel("x")
        ax.set_ylim(-1.2, 1.6)
        ax.grid(alpha=0.3)
    axes[0].legend(loc="upper left", fontsize=8)
    return axes


def softmax_grid(settings=((2.0, 1.0, 0.1, 0), (2.0, 1.0, 0.1, 2), (5.0, 0.0, -5.0, 0), (0.0, 0.0, 0.0, 1))):
    """Static fallback: a = softmax(h) for a few (h0, h1, h2, target) settings, with both losses. Returns the Axes."""
    fig, axes = plt.subplots(1, len(settings), figsize=(10, 2.6), dpi=DPI, layout="constrained", sharey=True)
    for ax, (h0, h1, h2, target) in zip(axes, settings):
        r = structure.softmax_report(np.array([h0, h1, h2]), target)
        colors = [CLASS_COLORS[1] if j == r["predicted"] else "0.7" for j in range(3)]
        ax.bar(range(3), r["probs"], color=colors)
        ax.scatter(range(3), r["one_hot"], marker="_", s=500, color="k", zorder=3)
        ax.set_xticks(range(3), ["0", "1", "2"])
        ax.set_xlabel(f"h = ({h0:g}, {h1:g}, {h2:g}), y = {target}", fontsize=9)
        ax.set_title(f"CE {r['cross_entropy']:.2f}, squared {r['squared']:.2f}", fontsize=9)
        ax.set_ylim(0, 1.1)
    axes[0].set_ylabel("a = softmax(h)")
    return axes


def boundary_grid(names=structure.DATASETS, hiddens=(1, 2, 8, 32)):
    """Static fallback: decision boundaries, one row per data set, one column per hidden size. Returns the Axes."""
    fig, axes = plt.subplots(len(names), len(hiddens), figsize=(2.1 * len(hiddens), 2.0 * len(names)), dpi=DPI,
                             layout="constrained", squeeze=False)
    for row, name in zip(axes, names):
        for ax, hidden in zip(row, hiddens):
            _draw_surface(ax, structure.decision_surface(name, hidden))
        row[0].set_ylabel(name)
    return axes


def tour_grid(name="moons", hidden=8, epochs=(0, 5, 20, structure.EPOCHS)):
    """Static fallback for the tour: the boundary of one net at a few epochs of its training. Returns the Axes."""
    fig, axes = plt.subplots(1, len(epochs), figsize=(2.2 * len(epochs), 2.3), dpi=DPI, layout="constrained")
    for ax, epoch in zip(axes, epochs):
        s = structure.decision_surface(name, hidden, epoch=epoch)
        _draw_surface(ax, s, title=False)
        ax.set_title(f"epoch {epoch}: acc {s['accuracy']:.0%}", fontsize=9)
    return axes


def _rendered(make):
    """A bench callable: the explorer's update plus the PNG render, i.e. what one slider move costs."""
    explorers = {}

    def call(**kwargs):
        if "explorer" not in explorers:
            explorers["explorer"] = make()     # built (and nets trained) once, as in the lesson
        return len(_png(explorers["explorer"].update(**kwargs)))
    return call


class _LiveLossUpdate:
    """update() of a LiveLossPlot over 100 epochs, fed a history of the given length."""

    def __init__(self, epochs=100):
        self.epochs = epochs

    def update(self, length):
        if not hasattr(self, "plot"):
            self.plot = LiveLossPlot(self.epochs, display_now=False)
        loss = list(np.geomspace(0.7, 0.01, self.epochs)[:length])
        return self.plot.update({"loss": loss, "val_loss": loss[::-1]})


BENCH_CASES = [
    ("structure.activation", _rendered(ActivationExplorer),
     [{"name": n, "span": s} for n in activations.NAMES for s in (1.0, 4.0, 10.0)]),
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
