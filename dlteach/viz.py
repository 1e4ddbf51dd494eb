"""The plots the lessons share: training curves, decision boundaries, 1-D fits, image and filter grids.

matplotlib only. Each helper takes ax=None (a new figure is made, at DPI) and returns the Axes.
No rcParams are changed: styling is passed to each call.

Every figure of the course, these and the widgets' (dlteach.widgets), follows one rule of legibility:
the notebook shows a PNG at its pixel size, so text of s points is s * dpi / 72 pixels tall on screen.
Figures are drawn at DPI = 80, at most MAX_WIDTH_PX = 800 px wide (10 inches: wider, the notebook
would shrink the picture and its text), and no text is smaller than FONT_PT = 10 points = 11.1 px,
matplotlib's default size for ticks, labels and legends: a figure states no smaller font size.
legibility_problems(fig) checks a figure against that rule.
"""

import math
import re

import numpy as np
import matplotlib.pyplot as plt
from matplotlib import ticker
from matplotlib.axis import Axis
from matplotlib.legend import Legend
from matplotlib.text import Text

from dlteach._checks import float_array, positive

__all__ = ["plot_history", "plot_decision_boundary", "plot_fit_1d", "plot_images", "plot_filters",
           "plain_log_ticks", "DPI", "FONT_PT", "MIN_TEXT_PX", "MAX_WIDTH_PX", "legibility_problems"]

DPI = 80            # dots per inch of every course figure
MIN_TEXT_PX = 11    # the smallest text as displayed, readable at 100% zoom and from the back of a room
FONT_PT = 10        # the smallest font size: 10 pt * 80 / 72 = 11.1 px
MAX_WIDTH_PX = 800  # the widest figure a notebook shows at its pixel size

_METRICS = {"loss": "loss", "acc": "accuracy"}
SCRIPT_SHRINK = 0.7   # matplotlib's mathtext draws super- and subscripts at 0.7 times the text's size
_MATH_SCRIPT = re.compile(r"\$[^$]*\^\{?-?\d")


class _PlainLogFormatter(ticker.Formatter):
    """Log-axis tick labels in plain text: 0.01, 1, 100, 1e-12 (matplotlib's 10 with a raised exponent
    draws the exponent at 0.7 of the size, under MIN_TEXT_PX). Minor ticks are labelled only when the
    axis spans less than one decade, as matplotlib does."""

    def __init__(self, minor=False):
        self.minor = minor

    def __call__(self, value, pos=None):
        if value == 0:
            return "" if self.minor else "0"
        sign, value = ("-" if value < 0 else ""), abs(value)
        if self.minor:
            low, high = sorted(abs(v) for v in self.axis.get_view_interval())
            if low <= 0 or math.log10(high) - math.log10(low) >= 1:
                return ""
            return f"{sign}{value:.2g}"
        exponent = math.log10(value)
        if abs(exponent - round(exponent)) > 1e-9:
            return f"{sign}{value:.2g}"
        exponent = round(exponent)
        return sign + (f"{value:g}" if -3 <= exponent <= 3 else f"1e{exponent}")


def plain_log_ticks(fig):
    """Give every log (or symlog) axis of fig plain-text tick labels: 1e-12 rather than a 10 with a raised
    exponent too small to read. fig: a Figure or an Axes (then only that Axes). Call it after the
    scales are set. Returns fig."""
    axes = [fig] if isinstance(fig, plt.Axes) else fig.get_figure(root=True).axes
    for ax in axes:
        for axis, scale in ((ax.xaxis, ax.get_xscale()), (ax.yaxis, ax.get_yscale())):
            if scale in ("log", "symlog"):
                axis.set_major_formatter(_PlainLogFormatter())
                axis.set_minor_formatter(_PlainLogFormatter(minor=True))
    return fig


def _axes(ax, figsize):
    if ax is None:
        _, ax = plt.subplots(figsize=figsize, dpi=DPI, layout="constrained")
    return ax


def _outputs(model, x):
    """Outputs of a dlteach model (in eval mode) or of a plain function, on x."""
    if hasattr(model, "backward") and hasattr(model, "eval"):
        # Imported here so that plotting a plain function never needs the training code.
        from dlteach.train import predict
        return predict(model, x)
    if callable(model):
        return np.asarray(model(x))
    raise TypeError(f"argument 'model' must be a dlteach model or a function of x, got {type(model).__name__}")


def plot_history(history, which="loss", *, ax=None):
    """Training (and validation) curves of one metric per epoch, from the history fit returns.

    which: "loss" or "acc". Shapes: history[k] lists of E floats -> lines over epochs 1..E.
    """
    if which not in _METRICS:
        raise ValueError(f"plot_history: argument 'which' is {which!r}; expected 'loss' or 'acc'")
    if not isinstance(history, dict):
        raise TypeError(f"plot_history: argument 'history' must be the dict fit returns, got {type(history).__name__}")
    series = {label: history.get(key) or [] for label, key in (("training", which), ("validation", f"val_{which}"))}
    if not any(series.values()):
        raise ValueError(f"plot_history: argument 'history' has no values for {which!r} or 'val_{which}'; "
                         f"its keys with values are {[k for k, v in history.items() if v]}")
    ax = _axes(ax, (6, 4))
    for (label, values), style in zip(series.items(), ("-o", "--s")):
        if values:
            ax.plot(np.arange(1, len(values) + 1), values, style, markersize=3, label=label)
    ax.set_xlabel("epoch")
    ax.set_ylabel(_METRICS[which])
    ax.set_title(f"{_METRICS[which]} per epoch")
    ax.legend()
    ax.grid(alpha=0.3)
    return ax


def _class_map(scores, threshold):
    """Class of each grid point from scores: argmax of (M, C), or score > threshold for one column."""
    scores = np.asarray(scores)
    if scores.dtype.kind in "iu" and scores.ndim == 1:
        return scores
    if scores.ndim == 2 and scores.shape[1] >= 2:
        return scores.argmax(axis=1)
    if scores.ndim == 1 or (scores.ndim == 2 and scores.shape[1] == 1):
        return (scores.reshape(-1) > threshold).astype(np.int64)
    raise ValueError(f"plot_decision_boundary: the model's output has shape {scores.shape}; expected class "
                     "scores (M, C), one score per point (M,) or (M, 1), or integer labels (M,)")


def plot_decision_boundary(model, X, y, *, ax=None, resolution=200, margin=0.5, threshold=0.0):
    """Coloured class regions of model over the plane of X, with the points of X coloured by y.

    model: a dlteach model, or a function of a grid (M, 2) returning scores (M, C), one score per
    point (class 1 where score > threshold), or integer labels (M,).
    Shapes: X (N, 2), y (N,) integer labels -> regions on a resolution x resolution grid.
    """
    X = float_array(X, "plot_decision_boundary", "X", ndim=2)
    if X.shape[1] != 2:
        raise ValueError(f"plot_decision_boundary: argument 'X' has shape {X.shape}; expected (N, 2) points in the plane")
    y = np.asarray(y)
    if y.dtype.kind not in "iu" or y.shape != (len(X),):
        raise ValueError(f"plot_decision_boundary: argument 'y' has dtype {y.dtype} and shape {y.shape}; "
                         f"expected integer labels of shape ({len(X)},)")
    resolution = positive(resolution, "plot_decision_boundary", "resolution", integer=True)
    lo, hi = X.min(axis=0) - margin, X.max(axis=0) + margin
    g0, g1 = np.meshgrid(np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution))
    grid = np.stack([g0.ravel(), g1.ravel()], axis=1)                          # (R*R, 2)
    regions = _class_map(_outputs(model, grid), threshold).reshape(g0.shape)    # (R, R)
    C = int(max(regions.max(), y.max())) + 1
    colors = plt.get_cmap("tab10").colors[:C] if C <= 10 else plt.get_cmap("tab20").colors[:C]
    ax = _axes(ax, (5, 5))
    # One level per class, centred on the integers, so each class gets exactly its own colour.
    ax.contourf(g0, g1, regions, levels=np.arange(C + 1) - 0.5, colors=colors, alpha=0.3)
    for c in range(C):
        pts = X[y == c]
        if len(pts):
            ax.scatter(pts[:, 0], pts[:, 1], s=12, color=colors[c], edgecolors="k", linewidths=0.3,
                       label=f"class {c}")
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    ax.set_title("decision boundary")
    ax.legend(loc="best")
    return ax


def plot_fit_1d(x, y, *, model=None, target=None, ax=None, num=400):
    """A 1-D regression picture: data points (x, y), the target f(x) and the model's curve F(x).

    model: a dlteach model or a function; target: a function such as data.target_function("sin").
    Both are called on a column x_grid (num, 1) and may return (num,) or (num, 1).
    Shapes: x (N,) or (N, 1), y (N,) or (N, 1).
    """
    x = float_array(x, "plot_fit_1d", "x", ndim=(1, 2)).reshape(-1)
    y = float_array(y, "plot_fit_1d", "y", ndim=(1, 2)).reshape(-1)
    if len(x) != len(y):
        raise ValueError(f"plot_fit_1d: arguments 'x' and 'y' hold {len(x)} and {len(y)} values; expected the same number")
    if target is not None and not callable(target):
        raise TypeError(f"plot_fit_1d: argument 'target' must be a function of x, got {type(target).__name__}")
    ax = _axes(ax, (6, 4))
    grid = np.linspace(x.min(), x.max(), num)[:, None]          # (num, 1)
    ax.scatter(x, y, s=10, color="0.5", alpha=0.7, label="data")
    if target is not None:
        ax.plot(grid[:, 0], np.asarray(target(grid)).reshape(-1), "k--", lw=1.5, label="target f(x)")
    if model is not None:
        ax.plot(grid[:, 0], _outputs(model, grid).reshape(-1), color="C3", lw=2, label="model F(x)")
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.legend()
    ax.grid(alpha=0.3)
    return ax


def _mosaic(tiles, ncols, pad=1, head=0):
    """Lay (n, H, W) tiles on a grid with NaN gaps (drawn blank), head blank rows above each tile
    for its caption. Returns the mosaic and each tile's (top, left) corner."""
    n, H, W = tiles.shape
    nrows = -(-n // ncols)
    out = np.full((nrows * (head + H + pad) - pad, ncols * (W + pad) - pad), np.nan)
    corners = []
    for i in range(n):
        r, c = divmod(i, ncols)
        top, left = r * (head + H + pad) + head, c * (W + pad)
        out[top:top + H, left:left + W] = tiles[i]
        corners.append((top, left))
    return out, corners


def _as_tiles(images, where):
    """(N, H, W), (N, 1, H, W) or flattened square images (N, H*W) -> (N, H, W)."""
    images = float_array(images, where, "images", ndim=(2, 3, 4))
    if images.ndim == 4 and images.shape[1] == 1:
        return images[:, 0]
    if images.ndim == 3:
        return images
    if images.ndim == 2:
        side = int(round(np.sqrt(images.shape[1])))
        if side * side == images.shape[1]:
            return images.reshape(-1, side, side)
    raise ValueError(f"{where}: argument 'images' has shape {images.shape}; expected (N, H, W), "
                     "(N, 1, H, W) or square images flattened to (N, H*W)")


def plot_images(images, labels=None, *, predictions=None, ncols=10, cmap="gray_r", ax=None):
    """A grid of grey images in one Axes, each titled by its label (and prediction, red when wrong).

    Shapes: images (N, H, W), (N, 1, H, W) or (N, H*W) square; labels, predictions (N,) or None.
    """
    tiles = _as_tiles(images, "plot_images")
    n, H, W = tiles.shape
    for name, arr in (("labels", labels), ("predictions", predictions)):
        if arr is not None and np.shape(arr) != (n,):
            raise ValueError(f"plot_images: argument '{name}' has shape {np.shape(arr)}; expected ({n},), one per image")
    ncols = min(positive(ncols, "plot_images", "ncols", integer=True), n)
    captioned = labels is not None or predictions is not None
    mosaic, corners = _mosaic(tiles, ncols, head=max(2, round(0.4 * H)) if captioned else 0)
    nrows = -(-n // ncols)
    ax = _axes(ax, (min(1.0 * ncols, 10), min(1.1 * nrows, 8)))
    ax.imshow(mosaic, cmap=cmap, vmin=np.nanmin(mosaic), vmax=np.nanmax(mosaic), interpolation="nearest")
    for i, (top, left) in enumerate(corners):
        text = "" if labels is None else f"{labels[i]}"
        if predictions is not None:
            text = f"{text}→{predictions[i]}" if text else f"{predictions[i]}"
        if text:
            wrong = predictions is not None and labels is not None and predictions[i] != labels[i]
            ax.text(left + (W - 1) / 2, top - 0.6, text, fontsize=FONT_PT, va="bottom", ha="center",
                    color="red" if wrong else "C0", fontweight="bold")
    ax.set_axis_off()
    if captioned:
        ax.set_title("label→prediction" if labels is not None and predictions is not None
                     else ("labels" if labels is not None else "predictions"), fontsize=FONT_PT)
    return ax


def plot_filters(W, *, ncols=8, ax=None, cmap="RdBu_r"):
    """Convolution filters as a grid: one row of C channel tiles per filter when C > 1, else ncols per row.

    Colours are symmetric around 0 (blue negative, red positive) on one scale for all filters,
    so their strengths compare. Shapes: W (F, C, K, K).
    """
    W = float_array(W, "plot_filters", "W", ndim=4)
    F, C, K, K2 = W.shape
    if K != K2:
        raise ValueError(f"plot_filters: argument 'W' has shape {W.shape}; expected square kernels (F, C, K, K)")
    ncols = C if C > 1 else min(positive(ncols, "plot_filters", "ncols", integer=True), F)
    mosaic, _ = _mosaic(W.reshape(F * C, K, K), ncols)
    vmax = float(np.abs(W).max()) or 1.0
    nrows = -(-F * C // ncols)
    ax = _axes(ax, (min(0.8 * ncols + 1.5, 10), min(0.8 * nrows + 0.5, 8)))
    im = ax.imshow(mosaic, cmap=cmap, vmin=-vmax, vmax=vmax, interpolation="nearest")
    ax.figure.colorbar(im, ax=ax, shrink=0.8, label="weight")
    if C > 1:
        ax.set_xticks([c * (K + 1) + (K - 1) / 2 for c in range(C)], [f"channel {c}" for c in range(C)])
        ax.set_yticks([f * (K + 1) + (K - 1) / 2 for f in range(F)], [f"filter {f}" for f in range(F)])
        ax.tick_params(length=0, labelsize=FONT_PT)
        ax.set_frame_on(False)
    else:
        ax.set_axis_off()
    ax.set_title(f"{F} filters, {C} channel{'s' if C > 1 else ''}, {K}x{K}")
    return ax


def _shown(artist):
    """The visible artists under artist that a draw shows: ticks outside the view and the axis
    decorations of an Axes turned off are left out."""
    if not artist.get_visible():
        return
    yield artist
    children = artist.get_children()
    if isinstance(artist, Axis):
        scale = artist.get_transform()                  # compare on the axis' scale: log, symlog, linear
        lo, hi = sorted(scale.transform(np.asarray(artist.get_view_interval(), float)))
        slack = 1e-6 * (hi - lo)
        ticks = artist.get_major_ticks() + artist.get_minor_ticks()
        locs = scale.transform(np.array([t.get_loc() for t in ticks], float))
        shown = {id(t) for t, loc in zip(ticks, locs) if lo - slack <= loc <= hi + slack}
        children = [c for c in children if c not in ticks or id(c) in shown]
    elif hasattr(artist, "axison") and not artist.axison:
        children = [c for c in children if not isinstance(c, Axis) and c not in artist.spines.values()]
    for child in children:
        yield from _shown(child)


def legibility_problems(fig, *, min_px=MIN_TEXT_PX):
    """What would make fig hard to read as the notebook shows it, one sentence each ([] when nothing).

    The figure at most MAX_WIDTH_PX wide; every shown text at least min_px pixels tall (font size *
    dpi / 72), inside the figure and clear of every other text; every legend inside the figure; no
    text of one Axes (its title, labels, notes) over another Axes' frame, such as a colour bar's; no
    tick label whose exponent is drawn under min_px (plain_log_ticks).
    fig: a Figure, or an Axes (its figure is checked). Lays the figure out (draws it without output)
    first, as showing it would.
    """
    fig = fig.get_figure(root=True) if not isinstance(fig, plt.Figure) else fig
    fig.draw_without_rendering()
    box = fig.bbox
    artists = list(_shown(fig))
    texts = [a for a in artists if isinstance(a, Text) and a.get_text().strip()]
    # A tick label's exponent is its value (10 to the -12): it must be as readable as the rest. The
    # scripts of labels and legends (w_1, e^{-x}) are indices and stay at mathtext's usual 0.7.
    tick_labels = {tick.label1 for ax in fig.axes for axis in (ax.xaxis, ax.yaxis)
                   for tick in axis.get_major_ticks() + axis.get_minor_ticks()}
    tick_labels |= {tick.label2 for ax in fig.axes for axis in (ax.xaxis, ax.yaxis)
                    for tick in axis.get_major_ticks() + axis.get_minor_ticks()}
    problems = []
    if box.width > MAX_WIDTH_PX + 0.5:
        problems.append(f"the figure is {box.width:.0f} px wide, over {MAX_WIDTH_PX} px: the notebook would shrink it")

    def inside(bbox, slack=1.0):
        return (bbox.x0 >= box.x0 - slack and bbox.y0 >= box.y0 - slack
                and bbox.x1 <= box.x1 + slack and bbox.y1 <= box.y1 + slack)

    for t in texts:
        px = t.get_fontsize() * fig.dpi / 72
        if px < min_px - 1e-9:
            problems.append(f"text {t.get_text()!r:.40} is {t.get_fontsize():g} pt = {px:.1f} px at {fig.dpi:g} dpi, "
                            f"under {min_px} px")
        elif t in tick_labels and px * SCRIPT_SHRINK < min_px - 1e-9 and _MATH_SCRIPT.search(t.get_text()):
            problems.append(f"text {t.get_text()!r:.40} has a super- or subscript of {px * SCRIPT_SHRINK:.1f} px, "
                            f"under {min_px} px (viz.plain_log_ticks writes 1e-12; write x2 for x_2)")
        if not inside(t.get_window_extent()):
            problems.append(f"text {t.get_text()!r:.40} reaches outside the figure")
    for legend in (a for a in artists if isinstance(a, Legend)):
        if not inside(legend.get_window_extent()):
            labels = [t.get_text() for t in legend.get_texts()]
            problems.append(f"the legend {labels!r:.60} reaches outside the figure")
    extents = [(t, t.get_window_extent()) for t in texts]
    for i, (t, a) in enumerate(extents):
        for u, b in extents[i + 1:]:
            if _overlap(a, b) > 1:
                problems.append(f"texts {t.get_text()!r:.30} and {u.get_text()!r:.30} overlap")
    frames = [(ax, ax.get_window_extent()) for ax in artists if isinstance(ax, plt.Axes)]
    # The Axes a text belongs to: its own for titles and notes; for axis and tick labels (whose .axes
    # matplotlib leaves unset) the Axes whose axis holds them.
    owner = {a: ax for ax, _ in frames for a in _shown(ax) if isinstance(a, Text)}
    for t in texts:
        extent = t.get_window_extent()
        own = owner.get(t, t.axes)
        for ax, frame in frames:
            if own is None or ax is own or _twins(ax, own):
                continue
            if _overlap(extent, frame) > 1:
                problems.append(f"text {t.get_text()!r:.40} lies over another Axes"
                                f"{' (a colour bar)' if hasattr(ax, '_colorbar') else ''}")
    return problems


def _overlap(a, b):
    """How far two boxes overlap, in pixels: the smaller of the overlaps along x and along y (<= 0: apart)."""
    return min(min(a.x1, b.x1) - max(a.x0, b.x0), min(a.y1, b.y1) - max(a.y0, b.y0))


def _twins(a, b):
    """Axes drawn over the same rectangle (twinx, twiny): their texts share the frame by design."""
    return a.get_position().bounds == b.get_position().bounds
