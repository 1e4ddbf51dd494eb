"""The live-figure machinery every lesson's widgets share: figures of their own, blitting, live views.

A live widget owns one matplotlib Figure, laid out and drawn once. A slider move updates only the
moving artists and blits them over the saved background (axes, ticks and labels are not redrawn),
then hands the PNG to an ipywidgets.Image: nothing flickers, and an update costs a few ms. Numbers
that change go in an HTML caption, not the figure: text renders glyph by glyph, slowly. Static
fallbacks (the grids each lesson shows beside its widgets) are ordinary pyplot figures at DPI.
Every figure follows dlteach.viz's rule of legibility: drawn at DPI, no text under FONT_PT points
(11 px as shown), which is matplotlib's default size for ticks, labels and legends.
ipywidgets is imported only when a widget is shown, so the drawing code works without it.
"""

import functools
import io

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

from dlteach.viz import DPI, FONT_PT

__all__ = ["DPI", "FONT_PT", "live_figure", "Blitter", "live_view", "show", "shared", "bench_call"]


def live_figure(figsize, *, layout="constrained"):
    """A Figure with a canvas of its own: the inline backend never shows it, only its PNGs are shown."""
    fig = Figure(figsize=figsize, dpi=DPI, layout=layout)
    FigureCanvasAgg(fig)
    return fig


class Blitter:
    """Draw a figure's static parts once (per background key); afterwards draw only what moves, then encode.

    savefig re-lays out the figure and redraws every tick label (hundreds of ms on a busy laptop);
    restoring a saved background and drawing a few artists takes a few ms.
    artists: the moving artists. None: every animated, visible artist of the figure's axes, in
    z-order, found at each png(). slow: artists that change rarely (a large image), drawn into a
    second saved background when slow_changed() says so. A key names a background: a widget whose
    axes limits change keeps one per setting; the layout is frozen at the first png() and made again
    (dropping the saved backgrounds) when a new key's labels reach outside the figure. palette: encode a 256-colour PNG (~5x faster than RGB
    and a third of its size) rather than a full-colour one.
    """

    def __init__(self, fig, artists=None, slow=(), *, palette=True):
        self.fig, self.slow, self.palette = fig, list(slow), palette
        self.artists = None if artists is None else list(artists)
        for artist in (self.artists or []) + self.slow:
            artist.set_animated(True)        # left out of canvas.draw(): they are blitted
        self._bases, self._background = {}, None
        self._engine = fig.get_layout_engine()

    def slow_changed(self):
        self._background = None

    def _moving(self):
        if self.artists is not None:
            return self.artists
        found = [a for ax in self.fig.axes for a in ax.get_children() if a.get_animated() and a.get_visible()]
        return sorted(found, key=lambda a: a.get_zorder())      # as a full draw would stack them

    def _fits(self):
        """Whether everything drawn lies inside the figure (inches, with a hair of slack)."""
        box = self.fig.get_tightbbox(self.fig.canvas.get_renderer())
        width, height = self.fig.get_size_inches()
        return box.x0 >= -0.01 and box.y0 >= -0.01 and box.x1 <= width + 0.01 and box.y1 <= height + 0.01

    def png(self, *, key=None, moving=None):
        """The figure as it is now, PNG bytes; moving: draw these artists this time instead."""
        canvas = self.fig.canvas
        if key not in self._bases:
            canvas.draw()                                       # lays the figure out and draws the rest
            if self._bases and self._engine is not None and not self._fits():
                self.fig.set_layout_engine(self._engine)        # wider tick labels: lay out again, and
                canvas.draw()                                   # drop the backgrounds of the old layout
                self._bases.clear()
            self.fig.set_layout_engine("none")                  # freeze that layout: no re-layout per update
            self._bases[key] = canvas.copy_from_bbox(self.fig.bbox)
            self._background = None
        if self._background is None or self._background[0] != key:
            canvas.restore_region(self._bases[key])
            for artist in self.slow:
                self.fig.draw_artist(artist)
            self._background = (key, canvas.copy_from_bbox(self.fig.bbox))
        canvas.restore_region(self._background[1])
        for artist in self._moving() if moving is None else moving:
            self.fig.draw_artist(artist)
        rgb = Image.fromarray(np.asarray(canvas.buffer_rgba())[..., :3])   # (H, W, 3) uint8
        if self.palette:
            rgb = rgb.quantize(colors=256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
        buf = io.BytesIO()
        rgb.save(buf, format="png", compress_level=1)        # fast: this PNG only travels to the browser
        return buf.getvalue()


def live_view(render, controls, caption=None):
    """An Image of render(**control values), and an HTML caption of caption() when given, redrawn on
    every change of a control; returns (image, caption widget or None, refresh)."""
    import ipywidgets as widgets

    image = widgets.Image(format="png", layout=widgets.Layout(width="auto"))
    text = widgets.HTML() if caption is not None else None

    def refresh(_change=None):
        image.value = render(**{name: c.value for name, c in controls.items()})
        if text is not None:
            text.value = caption()

    for control in controls.values():
        style = getattr(control, "style", None)
        if style is not None and hasattr(style, "description_width") and not style.description_width:
            style.description_width = "initial"       # the whole label ("momentum mu"), never "momentu..."
        control.observe(refresh, names="value")
    refresh()
    return image, text, refresh


def show(explorer, controls, rows=None, above=()):
    """A VBox: the widgets `above`, the controls in rows (lists of widgets; default: the first two, then the
    rest), then an Image of explorer.update(**values) and its explorer.caption. Returns (box, refresh)."""
    import ipywidgets as widgets

    image, caption, refresh = live_view(explorer.update, controls, lambda: explorer.caption)
    values = list(controls.values())
    rows = [values[:2], values[2:]] if rows is None else rows
    return widgets.VBox([*above, *(widgets.HBox(list(row)) for row in rows), image, caption]), refresh


@functools.lru_cache(maxsize=None)
def shared(cls):
    """One instance of a widget class for bench/widgets.py, made on first use (not at import), then reused."""
    return cls()


def bench_call(cls, method="update"):
    """A bench callable: `method` of the shared instance of cls, i.e. what one slider move costs."""
    def call(**settings):
        return getattr(shared(cls), method)(**settings)
    call.__name__ = f"{cls.__name__}.{method}"
    return call
