"""Lesson 09's widgets: walk the 2-D code plane of an autoencoder, and replay its training epoch by epoch.

Each widget owns one matplotlib Figure, laid out and drawn once. A slider move updates only the
moving artists (a marker, a few small images, a scatter's positions) and blits them over the saved
background, then hands a PNG to an ipywidgets.Image. The numbers come from the pure functions in
dlteach.experiments.outlook, which the tests call; decoder_map_figure and replay_grid draw the lesson's
static fallbacks. ipywidgets is imported only when a widget is shown.
"""

import copy
import functools

import numpy as np
from matplotlib import pyplot as plt

from dlteach.experiments import outlook as ae

# Lesson 04's blitting and live figure: one way to redraw only what a slider moves.
from dlteach.widgets import live

__all__ = ["CLASS_COLORS", "digit_examples", "code_range", "draw_codes", "class_legend", "CodeExplorer", "TrainingReplay",
           "code_explorer", "training_replay", "decoder_map_figure", "replay_grid", "BENCH_CASES"]

CLASS_COLORS = plt.get_cmap("tab10").colors          # one colour per digit class 0..9
IMAGE_CMAP = "gray_r"                                 # ink is dark, as in viz.plot_images
SIDE = 8                                              # the digits are 8 x 8


def digit_examples(X, y):
    """The first example of each class, in class order: the digits the widgets reconstruct.

    Shapes: X (N, D), y (N,) -> (C, D), (C,).
    """
    y = np.asarray(y)
    first = [int(np.flatnonzero(y == c)[0]) for c in np.unique(y)]
    return X[first], y[first]


def code_range(Z, margin=0.1):
    """Slider limits that cover the codes: the 0.5th to 99.5th percentile per axis, widened by margin.

    Shapes: Z (N, 2) -> ((lo1, hi1), (lo2, hi2)), rounded outwards to 0.5.
    """
    lo, hi = np.percentile(Z, [0.5, 99.5], axis=0)
    pad = margin * (hi - lo)
    return tuple((float(np.floor(2 * (a - p)) / 2), float(np.ceil(2 * (b + p)) / 2))
                 for a, b, p in zip(lo, hi, pad))


def _apart(points, gap, rounds=100):
    """Points moved apart until no two are closer than gap, each pair pushed along the line joining them.

    Shapes: points (C, 2) in units where gap is the distance wanted -> (C, 2).
    """
    p = np.array(points, dtype=np.float64)
    for _ in range(rounds):
        moved = False
        for i in range(len(p)):
            for j in range(i + 1, len(p)):
                d = p[j] - p[i]
                dist = float(np.hypot(*d))
                if dist < gap:
                    direction = d / dist if dist > 1e-12 else np.array([0.0, 1.0])
                    p[i] -= direction * (gap - dist) / 2
                    p[j] += direction * (gap - dist) / 2
                    moved = True
        if not moved:
            break
    return p


def draw_codes(ax, Z, y, *, size=6, alpha=0.55, numbers=True):
    """Scatter the codes Z coloured by class, with each class's digit written at its median code (nudged
    apart where two medians are too close for both digits to be read).

    Returns the PathCollection (its offsets may be moved later). Shapes: Z (N, 2), y (N,).
    """
    y = np.asarray(y)
    scatter = ax.scatter(Z[:, 0], Z[:, 1], s=size, c=[CLASS_COLORS[c % 10] for c in y], alpha=alpha,
                         linewidths=0)
    if numbers:
        classes = np.unique(y)
        medians = np.array([np.median(Z[y == c], axis=0) for c in classes])        # (C, 2)
        lo, span = Z.min(axis=0), np.ptp(Z, axis=0) + 1e-12
        # A digit is about 1/12 of a panel across: keep the labels that far apart, in units of the codes' spread.
        spots = lo + _apart((medians - lo) / span, 1 / 12) * span
        for c, mz in zip(classes, spots):
            ax.text(mz[0], mz[1], str(c), fontsize=13, fontweight="bold", ha="center", va="center",
                    color=CLASS_COLORS[c % 10], bbox=dict(boxstyle="circle,pad=0.15", fc="white", ec="none",
                                                          alpha=0.8))
    return scatter


def class_legend(target, classes=range(10), **kwargs):
    """A legend of the class colours (one dot per digit class) on a Figure, SubFigure or Axes; returns it."""
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], ls="", marker="o", ms=5, color=CLASS_COLORS[c % 10]) for c in classes]
    options = dict(ncols=len(handles), frameon=False, handletextpad=0.1, columnspacing=0.8,
                   title="digit class", title_fontsize=live.FONT_PT)
    return target.legend(handles, [str(c) for c in classes], **{**options, **kwargs})


def _mosaic(images, ncols, pad=1):
    """(n, 64) images on a grid of 8 x 8 tiles with NaN gaps. Shapes: -> (rows * 9 - 1, ncols * 9 - 1)."""
    tiles = np.asarray(images).reshape(-1, SIDE, SIDE)
    nrows = -(-len(tiles) // ncols)
    out = np.full((nrows * (SIDE + pad) - pad, ncols * (SIDE + pad) - pad), np.nan)
    for i, tile in enumerate(tiles):
        r, c = divmod(i, ncols)
        out[r * (SIDE + pad):r * (SIDE + pad) + SIDE, c * (SIDE + pad):c * (SIDE + pad) + SIDE] = tile
    return out


PAIR_COLUMNS = 5


def _pairs(inputs, outputs, ncols=PAIR_COLUMNS):
    """Inputs and outputs in alternating rows of ncols digits: a row of inputs, then their outputs below."""
    rows = []
    for start in range(0, len(inputs), ncols):
        rows += [inputs[start:start + ncols], outputs[start:start + ncols]]
    width = min(ncols, len(inputs))
    padded = [np.vstack([r, np.full((width - len(r), r.shape[1]), np.nan)]) for r in rows]
    return _mosaic(np.concatenate(padded), width)


def _show_image(ax, values, title):
    im = ax.imshow(values, cmap=IMAGE_CMAP, vmin=0, vmax=1, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, fontsize=live.FONT_PT)
    return im


class CodeExplorer:
    """A point z on the code plane -> the digit the decoder draws there, and the nearest real digit.

    Left: the codes of X coloured by class, with z marked; middle: dec(z); right: the training image whose
    code lies nearest to z. update(z1, z2) returns the PNG and leaves the numbers in self.caption (HTML).
    """

    def __init__(self, model, X, y):
        self.model = model
        self.X, self.y = X, np.asarray(y)
        self.Z = ae.encode(model, X)                                      # (N, 2)
        self.spacing = ae.code_spacing(self.Z)
        self.range = code_range(self.Z)
        self.fig = live.live_figure((9.0, 3.5))
        grid = self.fig.add_gridspec(2, 3, width_ratios=(2.2, 1, 1))
        ax_codes = self.fig.add_subplot(grid[:, 0])
        draw_codes(ax_codes, self.Z, self.y)
        ax_codes.set(xlim=self.range[0], ylim=self.range[1], xlabel="$z_1$", ylabel="$z_2$")
        ax_codes.set_title("the code plane: z = enc(x) of every training digit", fontsize=live.FONT_PT)
        (self.ring,) = ax_codes.plot([], [], "o", ms=15, mfc="none", mec="black", mew=2)
        (self.cross,) = ax_codes.plot([], [], "+", ms=15, color="black", mew=2)
        blank = np.zeros((SIDE, SIDE))
        self.decoded = _show_image(self.fig.add_subplot(grid[:, 1]), blank, "dec(z): the decoder's digit")
        self.nearest = _show_image(self.fig.add_subplot(grid[:, 2]), blank, "the training digit\nwith the nearest code")
        self.caption = ""
        self.live = live.Blitter(self.fig, [self.ring, self.cross, self.decoded, self.nearest])

    def update(self, z1=0.0, z2=0.0):
        """Move the marker to (z1, z2), decode it, find its nearest code; return the PNG."""
        view = ae.code_view(self.model, np.array([z1, z2], dtype=float), self.Z, self.y, spacing=self.spacing)
        self.ring.set_data([z1], [z2])
        self.cross.set_data([z1], [z2])
        self.decoded.set_data(view["image"].reshape(SIDE, SIDE))
        self.nearest.set_data(self.X[view["nearest"]].reshape(SIDE, SIDE))
        gaps = view["distance"] / self.spacing
        votes = ", ".join(str(int(c)) for c in view["neighbours"])
        where = ("among the training codes" if gaps < 3 else
                 "off the data: the decoder was never trained here, so its digit is a guess")
        self.caption = (f"z = ({z1:.1f}, {z2:.1f}): the 5 nearest training codes are digits {votes}; "
                        f"the nearest is {gaps:.1f} typical gaps away, {where}")
        return self.live.png()


class TrainingReplay:
    """The autoencoder after each epoch of training: its code of X_eval, its reconstructions, its error.

    Left: the codes (standardised per epoch so that every epoch fills the axes); middle: the digits
    X_show (top row) and their reconstructions (bottom row); right: the reconstruction error on X_eval
    per epoch, with optional baselines ({label: value}). update(epoch) returns the PNG; self.caption holds
    the numbers as HTML. The widget works on its own copy of model.
    """

    LIMIT = 3.5            # standardised codes: +-3.5 std holds nearly every point

    def __init__(self, model, history, X_show, X_eval, y_eval, *, X_ref=None, y_ref=None, baselines=None):
        self.model = copy.deepcopy(model)
        self.history, self.X_show, self.X_eval, self.y_eval = history, X_show, X_eval, np.asarray(y_eval)
        self.X_ref, self.y_ref = X_ref, y_ref
        self.epochs = history.epochs
        self.errors = []
        for epoch in self.epochs:      # ~2 ms each: the curve is drawn once, in the background
            history.load(epoch, self.model)
            self.errors.append(ae.reconstruction_error(self.model, X_eval))
        self.fig = live.live_figure((9.0, 3.7))
        ax_codes, ax_digits, ax_error = self.fig.subplots(1, 3, width_ratios=(1.1, 1.1, 1.2))
        self.scatter = draw_codes(ax_codes, np.zeros((len(X_eval), 2)), self.y_eval, size=5, numbers=False)
        ax_codes.set(xlim=(-self.LIMIT, self.LIMIT), ylim=(-self.LIMIT, self.LIMIT), aspect="equal",
                     xlabel="$z_1$ / std", ylabel="$z_2$ / std")
        ax_codes.set_title("codes of the test digits", fontsize=live.FONT_PT)
        class_legend(self.fig, np.unique(self.y_eval), loc="outside lower center")
        self.strip = _pairs(X_show, X_show)
        self.digits = _show_image(ax_digits, self.strip, "test digits and their reconstructions")
        rows = -(-len(X_show) // PAIR_COLUMNS)
        ax_digits.set_yticks([(2 * r + i) * (SIDE + 1) + SIDE / 2 - 0.5 for r in range(rows) for i in (0, 1)],
                             ["input", "output"] * rows, fontsize=live.FONT_PT)
        ax_digits.tick_params(length=0)
        ax_error.plot(self.epochs, self.errors, color="black", lw=1.5, label="autoencoder")
        for (label, value), style in zip((baselines or {}).items(), ("--", ":", "-.")):
            ax_error.axhline(value, color="0.4", ls=style, lw=1, label=label)
        ax_error.set(xlabel="epoch", ylabel="reconstruction error (test)", xlim=(0, self.epochs[-1]))
        ax_error.set_title("error per epoch", fontsize=live.FONT_PT)
        ax_error.legend(loc="upper right")
        ax_error.grid(alpha=0.3)
        (self.marker,) = ax_error.plot([], [], "o", color="C3", ms=7)
        self.caption = ""
        self.live = live.Blitter(self.fig, [self.scatter, self.digits, self.marker])

    def update(self, epoch=0):
        """Show the model after `epoch` epochs (the nearest kept epoch at or below it); return the PNG."""
        epoch = max(e for e in self.epochs if e <= max(int(epoch), 0))
        view = ae.replay_view(self.model, self.history, epoch, self.X_show, self.X_eval, self.y_eval,
                              X_ref=self.X_ref, y_ref=self.y_ref)
        self.scatter.set_offsets(np.clip(view["codes"], -self.LIMIT, self.LIMIT))
        self.digits.set_data(_pairs(self.X_show, view["recon"]))
        self.marker.set_data([epoch], [view["error"]])
        knn = "" if view["knn"] is None else f"; 5-NN accuracy of the code {view['knn']:.0%}"
        self.caption = f"after {epoch} epoch{'s' if epoch != 1 else ''}: test error {view['error']:.3f}{knn}"
        return self.live.png()


def code_explorer(model, X, y, z=(0.0, 0.0)):
    """The live widget: two sliders place z on the code plane; see dec(z) and the nearest real digit."""
    import ipywidgets as widgets

    explorer = CodeExplorer(model, X, y)
    style = {"description_width": "2em"}
    controls = {}
    for name, (lo, hi), value in zip(("z1", "z2"), explorer.range, z):
        controls[name] = widgets.FloatSlider(value=float(np.clip(value, lo, hi)), min=lo, max=hi, step=0.1,
                                             description=name, style=style, readout_format=".1f",
                                             continuous_update=True)
    return live.show(explorer, controls, rows=[list(controls.values())])[0]


def training_replay(model, history, X_show, X_eval, y_eval, *, X_ref=None, y_ref=None, baselines=None, epoch=0):
    """The live widget: an epoch slider (and a play button) over TrainingReplay.update."""
    import ipywidgets as widgets

    replay = TrainingReplay(model, history, X_show, X_eval, y_eval, X_ref=X_ref, y_ref=y_ref, baselines=baselines)
    slider = widgets.IntSlider(value=epoch, min=0, max=replay.epochs[-1], step=1, description="epoch",
                               style={"description_width": "3.5em"}, continuous_update=True)
    play = widgets.Play(value=epoch, min=0, max=replay.epochs[-1], step=1, interval=150, description="play")
    widgets.jslink((play, "value"), (slider, "value"))
    return live.show(replay, {"epoch": slider}, rows=[[play, slider]])[0]


def decoder_map_figure(model, X, y, n=9, fig=None):
    """The code explorer's static fallback: the code plane, and the decoder's digit at n x n points of it.

    The grid spans the code explorer's slider range; its points are marked on the left. Returns the Figure.
    """
    Z = ae.encode(model, X)
    (a, b), (c, d) = code_range(Z)
    z1, z2 = np.linspace(a, b, n), np.linspace(c, d, n)
    images = ae.decoder_map(model, z1, z2)[::-1]          # (n, n, D), top row = largest z2
    if fig is None:
        fig = plt.figure(figsize=(9.0, 4.3), dpi=live.DPI, layout="constrained")
    ax_codes, ax_map = fig.subplots(1, 2)
    draw_codes(ax_codes, Z, y)
    g1, g2 = np.meshgrid(z1, z2)
    ax_codes.plot(g1.ravel(), g2.ravel(), "+", color="black", ms=5, mew=0.8, alpha=0.6)
    ax_codes.set(xlim=(a, b), ylim=(c, d), xlabel="$z_1$", ylabel="$z_2$")
    ax_codes.set_title("codes of the training digits; +: the points decoded on the right", fontsize=live.FONT_PT)
    _show_image(ax_map, _mosaic(images.reshape(n * n, -1), n), f"dec(z) on a {n} x {n} grid of the same plane")
    step = SIDE + 1
    ax_map.set_xticks([j * step + SIDE / 2 - 0.5 for j in (0, n - 1)], [f"$z_1$ = {a:g}", f"{b:g}"],
                      fontsize=live.FONT_PT)
    ax_map.set_yticks([i * step + SIDE / 2 - 0.5 for i in (0, n - 1)], [f"$z_2$ = {d:g}", f"{c:g}"],
                      fontsize=live.FONT_PT)
    return fig


def replay_grid(model, history, epochs, X_show, X_eval, y_eval, fig=None):
    """The training replay's static fallback: the test codes after each of `epochs` (top), and the digits
    X_show with their reconstructions after each of those epochs (bottom). Returns the Figure."""
    model = copy.deepcopy(model)
    views = {e: ae.replay_view(model, history, e, X_show, X_eval, y_eval) for e in epochs}
    codes_height, digits_height = 2.4, 0.55 * (len(epochs) + 1) + 0.4      # inches; the codes row holds a legend
    if fig is None:
        fig = plt.figure(figsize=(9.0, codes_height + digits_height), dpi=live.DPI, layout="constrained")
    top, bottom = fig.subfigures(2, 1, height_ratios=(codes_height, digits_height))
    for ax, (e, view) in zip(top.subplots(1, len(epochs)), views.items()):
        draw_codes(ax, np.clip(view["codes"], -3.5, 3.5), y_eval, size=3, numbers=False)
        ax.set(xlim=(-3.5, 3.5), ylim=(-3.5, 3.5), aspect="equal", xticks=[], yticks=[])
        ax.set_title(f"epoch {e}: error {view['error']:.2f}", fontsize=live.FONT_PT)
    class_legend(top, np.unique(y_eval), loc="outside lower center")
    rows = [X_show] + [views[e]["recon"] for e in epochs]
    ax = bottom.subplots()
    _show_image(ax, _mosaic(np.concatenate(rows), len(X_show)), "test digits and their reconstructions")
    ax.set_yticks([r * (SIDE + 1) + SIDE / 2 - 0.5 for r in range(len(rows))],
                  ["input"] + [f"epoch {e}" for e in epochs], fontsize=live.FONT_PT)
    ax.tick_params(length=0)
    return fig


@functools.lru_cache(maxsize=1)
def _bench_setup():
    """A small autoencoder trained for 5 epochs on the digits, built on first use (not at import)."""
    from dlteach import data, losses, optim, train

    X, y = data.load_digits(layout="flat", scale=True)
    rng = np.random.default_rng(0)
    model = ae.build(rng=rng)
    history = ae.ParameterHistory(model)
    train.fit(model, losses.mse, optim.Adam(model, 1e-2), (X, X), 5, batch_size=32, rng=rng, progress=False,
              callback=history)
    explorer = CodeExplorer(model, X, y)
    shown, _ = digit_examples(X, y)
    replay = TrainingReplay(model, history, shown, X[:360], y[:360], X_ref=X[360:], y_ref=y[360:],
                            baselines={"mean image": 2.3})
    return explorer, replay


def _bench_code(u1, u2):
    """One move of the code explorer to the point at fractions (u1, u2) of its slider ranges."""
    explorer, _ = _bench_setup()
    (a, b), (c, d) = explorer.range
    return explorer.update(z1=a + u1 * (b - a), z2=c + u2 * (d - c))


def _bench_replay(epoch):
    return _bench_setup()[1].update(epoch=epoch)


_FRACTIONS = np.linspace(0.0, 1.0, 5)
BENCH_CASES = [
    ("outlook.code_explorer", _bench_code, [{"u1": float(u), "u2": float(v)} for u in _FRACTIONS for v in _FRACTIONS]),
    ("outlook.training_replay", _bench_replay, [{"epoch": e} for e in range(6)]),
]
