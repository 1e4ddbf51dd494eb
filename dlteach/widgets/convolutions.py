"""Lesson 07's widgets: the kernel editor (a 3x3 kernel, stride and padding on an image) and the
sliding window (one output pixel, its window, and its row of the convolution matrix).

Each widget owns one matplotlib Figure whose axes carry no ticks, laid out and drawn once. A
slider move sets the images' data and extents, restores the saved empty background, draws only
the artists and encodes the PNG for an ipywidgets.Image: a few ms per update. The numbers come
from the pure functions in dlteach.experiments.convolutions (kernel_view, window_view), which the tests call.
ipywidgets is imported only when a widget is shown.
"""

import functools

import numpy as np
from matplotlib import pyplot as plt
from matplotlib.colors import BoundaryNorm, ListedColormap
from matplotlib.patches import Rectangle

from dlteach import data
from dlteach.experiments import convolutions as cv
from dlteach.widgets import live

__all__ = ["KernelEditor", "WindowExplorer", "kernel_editor", "window_explorer", "kernel_gallery",
           "window_grid", "editor_image", "EDITOR_IMAGES", "BENCH_CASES"]

HIGHLIGHT = "#D55E00"        # Okabe-Ito vermilion: the window, the matrix row, the output pixel
LINE_COLOR = "#8c8c8c"        # the lines between cells: NaN pixels, drawn in each colormap's "bad" colour
# window_view's grid categories: padding, image, padding under the window, image under the window
GRID_CMAP = ListedColormap(["#ffffff", "#c6dbef", "#f4c7a8", HIGHLIGHT]).with_extremes(bad=LINE_COLOR)
GRID_NORM = BoundaryNorm([-0.5, 0.5, 1.5, 2.5, 3.5], GRID_CMAP.N)
MAX_TAPS = 25                 # kernel_size <= 5 in the window explorer: one colour per shared weight
TAP_CMAP = ListedColormap(["#ffffff"] + [plt.get_cmap("tab20")(t % 20) for t in range(MAX_TAPS)]
                          ).with_extremes(bad=LINE_COLOR)
TAP_NORM = BoundaryNorm(np.arange(-0.5, MAX_TAPS + 1), TAP_CMAP.N)
KERNEL_CMAP = plt.get_cmap("RdBu_r").with_extremes(bad=LINE_COLOR)
EDITOR_SIZE = 32              # generated images are 32 x 32
EDITOR_IMAGES = (*cv.TEST_IMAGES, "digit 3", "digit 7")


@functools.lru_cache(maxsize=None)
def _digit(label):
    images, labels = data.load_digits(layout="images", scale=True)   # (1797, 8, 8), pixels in [0, 1]
    return images[np.flatnonzero(labels == label)[0]]                # the 8 x 8 the CNN sees


def editor_image(name):
    """The kernel editor's input: a generated 32 x 32 test image, or the first 8 x 8 digit of a class.

    Shapes: -> (32, 32) or (8, 8).
    """
    if name.startswith("digit "):
        return _digit(int(name.split()[1])).copy()
    if name not in cv.TEST_IMAGES:
        raise ValueError(f"editor_image: argument 'name' is {name!r}; expected one of {list(EDITOR_IMAGES)}")
    return cv.test_image(name, EDITOR_SIZE)


def _cells(values, px):
    """values drawn as cells of px x px pixels with a one-pixel line (NaN) between them, for imshow.

    Shapes: (h, w) -> (h * px + 1, w * px + 1).
    """
    h, w = values.shape
    out = np.full((h * px + 1, w * px + 1), np.nan)
    body = np.repeat(np.repeat(np.asarray(values, dtype=np.float64), px, axis=0), px, axis=1)
    body = body.reshape(h, px, w, px)
    body[:, 0, :, :] = np.nan                    # the top and left line of every cell
    body[:, :, :, 0] = np.nan
    out[:-1, :-1] = body.reshape(h * px, w * px)
    return out


def _px(h, w, budget=300):
    """Pixels per cell so that the larger side stays near budget pixels."""
    return int(max(3, min(24, budget // max(h, w))))


def _output_style(out):
    """Grey for a map that is never negative (a blur), blue-white-red around 0 otherwise (edges)."""
    if out.min() >= -1e-12:
        return "gray", 0.0, max(float(out.max()), 1e-12)
    vmax = max(float(np.abs(out).max()), 1e-12)
    return "RdBu_r", -vmax, vmax


def _set_image(im, values, *, cmap=None, vmin=None, vmax=None, cells=False):
    """Point an AxesImage at new values (any shape) and fit its axes to them; cells=True draws cell lines."""
    h, w = values.shape
    im.set_data(_cells(values, _px(h, w)) if cells else values)
    im.set_extent((-0.5, w - 0.5, h - 0.5, -0.5))
    im.axes.set_xlim(-0.5, w - 0.5)
    im.axes.set_ylim(h - 0.5, -0.5)
    if cmap is not None:
        im.set_cmap(cmap)
    if vmin is not None:
        im.set_clim(vmin, vmax)


def _kernel_panel(ax):
    """The 3x3 kernel as a heatmap with its nine numbers; returns (image, texts)."""
    im = ax.imshow(np.zeros((3, 3)), cmap="RdBu_r", vmin=-1, vmax=1)
    texts = [ax.text(v, u, "", ha="center", va="center", fontsize=live.FONT_PT) for u in range(3) for v in range(3)]
    ax.set_axis_off()
    return im, texts


def _show_kernel(im, texts, k):
    vmax = max(float(np.abs(k).max()), 1e-12)
    im.set_data(k)
    im.set_clim(-vmax, vmax)
    for text, value in zip(texts, k.ravel()):
        text.set_text(f"{value:.3g}")
        text.set_color("white" if abs(value) > 0.6 * vmax else "black")


def _editor_caption(image, kernel_size, stride, padding, view):
    H, W = image.shape
    Ho, Wo = view["output"].shape
    check = "matches" if view["formula_ok"] else "DOES NOT match"
    return (f"input {H}×{W}, kernel {kernel_size}×{kernel_size}, padding P = {padding}, stride S = {stride}: "
            f"H_out = ⌊(H + 2P − K) / S⌋ + 1 = ⌊({H} + {2 * padding} − {kernel_size}) / {stride}⌋ + 1 = "
            f"{view['formula'][0]}, so the map is {Ho}×{Wo} ({check} the computed output)")


class KernelEditor:
    """A 3x3 kernel (named, or nine numbers) correlated with an image, with stride and padding.

    Panels: the zero-padded input (the image outlined), the kernel with its numbers, the feature map.
    update() returns the figure as PNG and leaves the output-size formula in self.caption.
    """

    def __init__(self):
        self.fig = live.live_figure((9.0, 3.3))
        ax_in, ax_k, ax_out = self.fig.subplots(1, 3, width_ratios=[1, 0.6, 1])
        self.im_in = ax_in.imshow(np.zeros((2, 2)), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        self.frame = Rectangle((0, 0), 1, 1, fill=False, edgecolor=HIGHLIGHT, linewidth=1.5, linestyle="--")
        ax_in.add_patch(self.frame)
        # The nine numbers are in the editable boxes above the figure: no text to render here.
        self.im_k = ax_k.imshow(np.zeros((3, 3)), cmap=KERNEL_CMAP, vmin=-1, vmax=1, interpolation="nearest")
        self.im_out = ax_out.imshow(np.zeros((2, 2)), cmap="gray", interpolation="nearest")
        self.out_frame = ax_out.add_patch(Rectangle((0, 0), 1, 1, fill=False, edgecolor=LINE_COLOR))
        for ax, title in ((ax_in, "input (dashed: the image; outside: padding)"),
                          (ax_k, "kernel k (3×3)"), (ax_out, "feature map = input ⋆ k")):
            ax.set_axis_off()
            ax.set_title(title, fontsize=live.FONT_PT)
        self.caption = ""
        self.live = live.Blitter(self.fig, [self.im_in, self.frame, self.im_k, self.im_out, self.out_frame])

    def update(self, image="shapes", kernel="edge (laplacian)", weights=None, stride=1, padding=1):
        """Show `kernel` (or the nine `weights`, row by row, when given) on `image`; return the PNG."""
        k = cv.kernel(kernel) if weights is None else np.asarray(weights, dtype=np.float64).reshape(3, 3)
        x = editor_image(image)                                              # (32, 32)
        view = cv.kernel_view(x, k, stride=int(stride), padding=int(padding))
        _set_image(self.im_in, view["padded"], vmin=min(0.0, float(x.min())), vmax=max(1.0, float(x.max())))
        self.frame.set_bounds(padding - 0.5, padding - 0.5, x.shape[1], x.shape[0])
        vmax = max(float(np.abs(k).max()), 1e-12)
        _set_image(self.im_k, k, vmin=-vmax, vmax=vmax, cells=True)
        cmap, vmin, vmax = _output_style(view["output"])
        _set_image(self.im_out, view["output"], cmap=cmap, vmin=vmin, vmax=vmax)
        self.out_frame.set_bounds(-0.5, -0.5, view["output"].shape[1], view["output"].shape[0])
        self.caption = _editor_caption(x, 3, int(stride), int(padding), view)
        return self.live.png()


def _window_caption(size, kernel_size, stride, padding, view):
    Ho, Wo = view["out_shape"]
    i, j = view["out_index"]
    rows, cols = view["pattern"].shape
    return (f"{size}×{size} input, K = {kernel_size}, S = {stride}, P = {padding}: "
            f"H_out = ⌊({size} + {2 * padding} − {kernel_size}) / {stride}⌋ + 1 = {Ho}. "
            f"Output pixel ({i}, {j}) is row {view['row']} of the {rows}×{cols} matrix; "
            f"{view['taps_seen']} of its {kernel_size * kernel_size} taps land on the image "
            f"(the rest on padding). The matrix has {view['nonzeros']} nonzeros of {rows * cols} "
            f"({100 * view['nonzeros'] / (rows * cols):.0f}%), all copies of {kernel_size * kernel_size} weights.")


def _window_artists(axes):
    """Empty artists for the window view on three Axes: (input, window, matrix, row frame, output)."""
    ax_in, ax_m, ax_out = axes
    im_in = ax_in.imshow(np.zeros((2, 2)), cmap=GRID_CMAP, norm=GRID_NORM, interpolation="nearest")
    window = ax_in.add_patch(Rectangle((0, 0), 1, 1, fill=False, edgecolor="black", linewidth=2))
    im_m = ax_m.imshow(np.zeros((2, 2)), cmap=TAP_CMAP, norm=TAP_NORM, aspect="auto", interpolation="nearest")
    row = ax_m.add_patch(Rectangle((0, 0), 1, 1, fill=False, edgecolor="black", linewidth=2))
    im_out = ax_out.imshow(np.zeros((2, 2)), cmap=GRID_CMAP, norm=GRID_NORM, interpolation="nearest")
    for ax in axes:
        ax.set_axis_off()
    return im_in, window, im_m, row, im_out


def _draw_window(artists, view, kernel_size):
    """Point the window artists at a window_view."""
    im_in, window, im_m, row, im_out = artists
    _set_image(im_in, view["grid"], cells=True)
    top, left = view["corner"]
    window.set_bounds(left - 0.5, top - 0.5, kernel_size, kernel_size)
    _set_image(im_m, view["pattern"], cells=True)
    row.set_bounds(-0.5, view["row"] - 0.5, view["pattern"].shape[1], 1)
    out = np.full(view["out_shape"], cv.INPUT)
    out[view["out_index"]] = cv.INPUT_SEEN
    _set_image(im_out, out, cells=True)


class WindowExplorer:
    """Input size, kernel size, stride, padding and an output pixel -> its window, matrix row and place.

    Panels: the padded input with the window; the convolution matrix, each shared weight one colour,
    the pixel's row framed; the output grid with the pixel. Caption: the formula and the counts.
    """

    def __init__(self):
        self.fig = live.live_figure((9.0, 3.4))
        axes = self.fig.subplots(1, 3, width_ratios=[1, 1.6, 0.8])
        self.artists = _window_artists(axes)
        for ax, title in zip(axes, ("input (white: padding)",
                                    "convolution matrix (colour = which weight)", "output")):
            ax.set_title(title, fontsize=live.FONT_PT)
        self.caption = ""
        self.live = live.Blitter(self.fig, self.artists)

    def update(self, size=5, kernel_size=3, stride=1, padding=0, position=0):
        """Move the window to output pixel `position` (row by row); return the PNG."""
        size, K, S, P = int(size), int(kernel_size), int(stride), int(padding)
        view = cv.window_view(size, K, S, P, int(position))
        _draw_window(self.artists, view, K)
        self.caption = _window_caption(size, K, S, P, view)
        return self.live.png()


def kernel_editor(image="shapes", kernel="edge (laplacian)", stride=1, padding=1):
    """The live widget: a kernel menu, nine editable numbers, an image menu, stride and padding sliders."""
    import ipywidgets as widgets

    style = {"description_width": "4.5em"}
    preset = widgets.Dropdown(options=[*cv.KERNELS, "custom"], value=kernel, description="kernel", style=style)
    cells = [widgets.FloatText(value=float(v), step=0.5, layout=widgets.Layout(width="5.5em"))
             for v in cv.kernel(kernel).ravel()]
    controls = {"image": widgets.Dropdown(options=list(EDITOR_IMAGES), value=image, description="image",
                                          style=style),
                "stride": widgets.IntSlider(value=stride, min=1, max=4, description="stride S", style=style),
                "padding": widgets.IntSlider(value=padding, min=0, max=3, description="padding P", style=style)}
    editor = KernelEditor()
    filling = [False]        # True while a preset writes its numbers: one redraw, not nine

    class _Weights:          # the nine boxes read as one control named "weights"
        @property
        def value(self):
            return [c.value for c in cells]

        def observe(self, fn, names):
            for c in cells:
                c.observe(lambda change: None if filling[0] else fn(change), names=names)

    controls["weights"] = _Weights()
    grid = widgets.GridBox(cells, layout=widgets.Layout(grid_template_columns="repeat(3, 6em)"))
    box, refresh = live.show(editor, controls, rows=[], above=[
        widgets.HBox([widgets.VBox([preset, controls["image"]]), grid,
                      widgets.VBox([controls["stride"], controls["padding"]])])])

    def on_preset(change):
        if change["new"] == "custom":
            return
        filling[0] = True
        for c, v in zip(cells, cv.kernel(change["new"]).ravel()):
            c.value = float(v)
        filling[0] = False
        refresh()

    def on_edit(_change):
        if not filling[0] and preset.value != "custom" and not np.allclose(
                [c.value for c in cells], cv.kernel(preset.value).ravel()):
            preset.value = "custom"

    preset.observe(on_preset, names="value")
    for c in cells:
        c.observe(on_edit, names="value")
    return box


def window_explorer(size=5, kernel_size=3, stride=1, padding=1, position=0):
    """The live widget: sliders for the input size, K, S, P and the output pixel over WindowExplorer."""
    import ipywidgets as widgets

    style = {"description_width": "6em"}
    controls = {"size": widgets.IntSlider(value=size, min=3, max=8, description="input size", style=style),
                "kernel_size": widgets.IntSlider(value=kernel_size, min=1, max=5, description="kernel K",
                                                 style=style),
                "stride": widgets.IntSlider(value=stride, min=1, max=3, description="stride S", style=style),
                "padding": widgets.IntSlider(value=padding, min=0, max=2, description="padding P", style=style),
                "position": widgets.IntSlider(value=position, min=0, max=63, description="output pixel",
                                              style=style)}

    def fit_position(_change=None):
        # Keep the pixel slider inside the output; an impossible setting (K > padded input) shrinks K.
        limit = controls["size"].value + 2 * controls["padding"].value
        if controls["kernel_size"].value > limit:
            controls["kernel_size"].value = limit
        Ho, Wo = cv.output_shape(controls["size"].value, controls["size"].value, controls["kernel_size"].value,
                                 controls["stride"].value, controls["padding"].value)
        controls["position"].max = Ho * Wo - 1

    for name in ("size", "kernel_size", "stride", "padding"):
        controls[name].observe(fit_position, names="value")   # registered first: runs before the redraw
    fit_position()
    rows = [widgets.HBox([controls["size"], controls["kernel_size"], controls["position"]]),
            widgets.HBox([controls["stride"], controls["padding"]])]
    box, _ = live.show(WindowExplorer(), controls, rows=[], above=rows)
    return box


def kernel_gallery(image="shapes", names=("box blur", "sharpen", "edge (laplacian)", "sobel x", "sobel y"),
                   fig=None):
    """The kernel editor's static fallback: the image, then each kernel over its feature map (padding 1).

    Returns the Figure.
    """
    x = editor_image(image)
    if fig is None:
        fig = plt.figure(figsize=(9.0, 4.2), dpi=live.DPI, layout="constrained")
    axes = fig.subplots(2, len(names) + 1, height_ratios=[0.8, 1])   # kernel cells wide enough for 0.111
    axes[0, 0].set_axis_off()
    axes[1, 0].imshow(x, cmap="gray", vmin=0, vmax=1)
    axes[1, 0].set_title(f"input: {image}", fontsize=live.FONT_PT)
    for col, name in enumerate(names, start=1):
        k = cv.kernel(name)
        _show_kernel(*_kernel_panel(axes[0, col]), k)
        axes[0, col].set_title(name, fontsize=live.FONT_PT)
        out = cv.correlate2d(x, k, padding=1)
        cmap, vmin, vmax = _output_style(out)
        axes[1, col].imshow(out, cmap=cmap, vmin=vmin, vmax=vmax)
    for ax in axes[1]:
        ax.set_axis_off()
    return fig


def window_grid(settings, fig=None):
    """The window explorer's static fallback: one row per (size, kernel_size, stride, padding, position).

    Each row: the padded input with the window, the convolution matrix with the row framed, the output.
    Returns the Figure.
    """
    if fig is None:
        fig = plt.figure(figsize=(9.0, 2.4 * len(settings) + 0.3), dpi=live.DPI, layout="constrained")
    axes = fig.subplots(len(settings), 3, squeeze=False, width_ratios=[1, 1.6, 0.8])
    for row, (size, K, S, P, position) in zip(axes, settings):
        view = cv.window_view(size, K, S, P, position)
        _draw_window(_window_artists(row), view, K)
        (Ho, Wo), (rows, cols) = view["out_shape"], view["pattern"].shape
        row[0].set_title(f"{size}×{size}, K={K}, S={S}, P={P}", fontsize=live.FONT_PT)
        row[1].set_title(f"matrix {rows}×{cols}: {view['nonzeros']} nonzeros, {K * K} distinct weights",
                         fontsize=live.FONT_PT)
        row[2].set_title(f"output {Ho}×{Wo}, pixel {view['out_index']}", fontsize=live.FONT_PT)
    return fig


BENCH_CASES = [
    ("convolution.kernel_editor", live.bench_call(KernelEditor),
     [{"image": image, "kernel": name, "stride": s, "padding": p}
      for image in EDITOR_IMAGES for name in list(cv.KERNELS)[::2] for s, p in ((1, 0), (1, 1), (2, 1), (4, 3))]
     + [{"image": "shapes", "kernel": "identity", "weights": [w, 0, -w, 1, 0, -1, w, 0, -w], "stride": 1,
         "padding": 1} for w in (-2.0, 0.5, 3.0)]),
    ("convolution.window_explorer", live.bench_call(WindowExplorer),
     [{"size": n, "kernel_size": K, "stride": S, "padding": P, "position": pos}
      for n in (3, 5, 8) for K in (1, 3, 5) for S in (1, 2, 3) for P in (0, 2) for pos in (0, 7)
      if K <= n + 2 * P]),
]
