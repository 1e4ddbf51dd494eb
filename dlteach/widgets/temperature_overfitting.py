"""Lesson 06's widgets: the temperature explorer, the overfitting explorer and the FGSM explorer,
with the static figures that stand in for them in a static render and on slides.

Every number comes from a pure function in dlteach.experiments.temperature_overfitting that the tests
call; each live widget is a live figure (dlteach.widgets.live: drawn once, then blitted).
"""

import functools

import matplotlib.pyplot as plt
import numpy as np

from dlteach import data, viz
from dlteach.experiments import temperature_overfitting

# Lesson 04's machinery: blitting over a frozen layout, and the controls in rows of two above the picture.
from dlteach.widgets import live

__all__ = ["LOGITS", "TEMPERATURES", "HIDDEN", "TRAIN_SIZES", "WEIGHT_DECAYS", "PATIENCE",
           "STEPS", "TemperatureExplorer", "OverfitExplorer", "AttackExplorer",
           "temperature_explorer", "overfit_explorer", "attack_explorer",
           "temperature_overview", "overfit_overview", "attack_overview", "shared_grid", "BENCH_CASES"]

LOGITS = np.array([2.0, 1.0, 0.5, -0.5, -1.5])           # the temperature widget's five logits h
TEMPERATURES = np.geomspace(0.05, 20.0, 121)              # the T axis of its curves
HIDDEN = (2, 5, 20, 50)                                   # the overfitting grid: capacity ...
TRAIN_SIZES = (5, 10, 20, 40)                             # ... training-set size ...
WEIGHT_DECAYS = (0.0, 3e-4, 1e-3, 3e-3, 1e-2)             # ... and lambda
STEPS, RECORD_EVERY = 2000, 20                            # each network's training, and how often it is recorded
PATIENCE = 5                                              # early stopping: 5 records = 100 steps
PROB, GRAD, TRAIN, VAL, STOP = "#0072B2", "#D55E00", "#0072B2", "#E69F00", "#009E73"   # Okabe-Ito
EPS_MAX = 0.3                                             # the FGSM slider's range, and its colour scale


@functools.lru_cache(maxsize=1)
def shared_grid():
    """The lesson's overfitting grid (a few seconds), trained once per kernel and shared by its figures.

    In float32: half the time of float64, and the lesson's numbers are the same to the digits it prints.
    """
    return temperature_overfitting.train_grid(HIDDEN, TRAIN_SIZES, WEIGHT_DECAYS, steps=STEPS, record_every=RECORD_EVERY,
                                              dtype=np.float32)


def _temperature_axes(ax_p, ax_h, ax_g, sweep):
    ax_p.set(ylim=(0, 1.05), xticks=range(len(LOGITS)), xlabel="class j", ylabel="probability")
    for ax in (ax_h, ax_g):
        ax.set_xscale("log")
        viz.plain_log_ticks(ax)
        ax.set_xlabel("temperature T")
        ax.axvline(1.0, color="0.7", lw=0.8)
        ax.grid(alpha=0.3)
    ax_h.plot(sweep["T"], sweep["entropy"], color=PROB, label="entropy H(a), nats")
    ax_h.plot(sweep["T"], sweep["peak"], color=PROB, ls="--", label="peak max a")
    ax_h.axhline(np.log(len(LOGITS)), color="0.4", ls=":", lw=1, label="log C (uniform)")
    ax_h.set(ylim=(0, 1.75), ylabel="entropy / probability", title="peakiness")
    ax_g.set_yscale("log")
    viz.plain_log_ticks(ax_g)
    ax_g.plot(sweep["T"], sweep["worst_grad_norm"], color=GRAD, ls="--", label="largest, over labels y")
    ax_g.plot(sweep["T"], sweep["grad_norm"], color=GRAD, label="the true class y (orange bar)")
    ax_g.set(ylim=(1e-4, 60), ylabel="||dL/dh|| = ||a - y|| / T", title="gradient size")
    for ax in (ax_h, ax_g):
        ax.minorticks_off()       # log axes' minor ticks: half the drawing time, little to read


def _curve_legend(fig, ax_h, ax_g):
    """The curves' legend below the figure: every corner of both panels holds a curve for some T."""
    fig.legend(handles=[*ax_h.get_lines()[1:4], *ax_g.get_lines()[1:3]], loc="outside lower center", ncols=3,
               frameon=False)


class TemperatureExplorer:
    """softmax(h / T) for five fixed logits: the probabilities, and where T sits on the entropy and
    gradient-size curves. update(T, true_class) returns the PNG; numbers go to self.caption."""

    def __init__(self):
        self.fig = live.live_figure((9.0, 3.4))
        self.ax_p, self.ax_h, self.ax_g = self.fig.subplots(1, 3)
        self.bars = self.ax_p.bar(range(len(LOGITS)), np.zeros(len(LOGITS)), color=PROB)
        self.ax_p.set_title("a = softmax(h / T)")
        self.sweeps = {c: temperature_overfitting.temperature_sweep(LOGITS, TEMPERATURES, c) for c in range(len(LOGITS))}
        _temperature_axes(self.ax_p, self.ax_h, self.ax_g, self.sweeps[0])
        _curve_legend(self.fig, self.ax_h, self.ax_g)
        self.grad_line = self.ax_g.lines[-1]
        self.marks = [ax.plot([], [], "o", color="black", ms=5)[0] for ax in (self.ax_h, self.ax_h, self.ax_g)]
        self.cursors = [ax.axvline(1.0, color="black", lw=0.8, ls=":") for ax in (self.ax_h, self.ax_g)]
        self.caption = ""
        self.blitter = live.Blitter(self.fig, [*self.bars, self.grad_line, *self.marks, *self.cursors])

    def update(self, T=1.0, true_class=0):
        true_class = int(true_class)
        view = temperature_overfitting.temperature_view(LOGITS, T, true_class)
        for j, (bar, a) in enumerate(zip(self.bars, view["a"])):
            bar.set_height(a)
            bar.set_color(GRAD if j == true_class else PROB)
        self.grad_line.set_ydata(self.sweeps[true_class]["grad_norm"])
        for mark, value in zip(self.marks, (view["entropy"], view["peak"], view["grad_norm"])):
            mark.set_data([T], [value])
        for cursor in self.cursors:
            cursor.set_xdata([T, T])
        self.caption = (f"T = {T:.3g}: entropy {view['entropy']:.3f} nats (log C = {np.log(len(LOGITS)):.3f}), "
                        f"peak {view['peak']:.3f}; with true class {true_class} (orange bar) "
                        f"||dL/dh|| = {view['grad_norm']:.3g}, the largest over labels {view['worst_grad_norm']:.3g}")
        return self.blitter.png()


def temperature_overview(true_class=0, temps=(0.25, 1.0, 4.0)):
    """Static fallback: the probabilities at a few T, then the peakiness and gradient-size curves."""
    fig = plt.figure(figsize=(9.0, 5.4), dpi=live.DPI, layout="constrained")
    top, bottom = fig.subfigures(2, 1, height_ratios=(1, 1.25))
    for ax, T in zip(top.subplots(1, len(temps), sharey=True), temps):
        view = temperature_overfitting.temperature_view(LOGITS, T, true_class)
        ax.bar(range(len(LOGITS)), view["a"], color=[GRAD if j == true_class else PROB for j in range(len(LOGITS))])
        ax.set(ylim=(0, 1.05), xticks=range(len(LOGITS)), xlabel="class j",
               title=f"T = {T:g}: H = {view['entropy']:.2f}, ||dL/dh|| = {view['grad_norm']:.2f}")
        ax.title.set_fontsize(live.FONT_PT)
    top.axes[0].set_ylabel("softmax(h / T)")
    ax_h, ax_g = bottom.subplots(1, 2)
    sweep = temperature_overfitting.temperature_sweep(LOGITS, TEMPERATURES, true_class)
    _temperature_axes(top.axes[0], ax_h, ax_g, sweep)
    _curve_legend(bottom, ax_h, ax_g)
    for T in temps:
        for ax in (ax_h, ax_g):
            ax.axvline(T, color="black", lw=0.6, ls=":")
    return fig


def _overfit_axes(ax_fit, ax_loss, grid):
    x = np.linspace(-1, 1, 200)
    ax_fit.plot(grid["x_val"][:, 0], grid["y_val"][:, 0], ".", color="0.75", ms=3, label="validation points")
    ax_fit.plot(x, data.target_function(temperature_overfitting.TARGET)(x), "k--", lw=1, label="target sin(πx)")
    ax_fit.set(xlim=(-1.05, 1.05), ylim=(-2.0, 2.0), xlabel="x", ylabel="y")
    ax_loss.set_xscale("symlog", linthresh=20)      # linear over the first 20 steps, log after
    viz.plain_log_ticks(ax_loss)
    ax_loss.set(yscale="log", xlim=(0, grid["step"][-1]), ylim=(1e-3, 3.0), xlabel="gradient step",
                ylabel="L = mean squared error / 2")
    viz.plain_log_ticks(ax_loss)
    ax_loss.axhline(temperature_overfitting.NOISE ** 2 / 2, color="0.5", lw=0.8, ls=":", label="noise floor σ²/2")
    ax_loss.grid(alpha=0.3)
    ax_loss.minorticks_off()


def _draw_setting(ax_fit, ax_loss, grid, view, step_index):
    """The curves, the fit at step_index and the early-stopped fit of one grid_view; returns the artists."""
    train_pts, = ax_fit.plot(view["x_train"][:, 0], view["y_train"][:, 0], "o", color=TRAIN, ms=5,
                             mec="white", zorder=3, label="training points")
    fit, = ax_fit.plot(grid["x_grid"], view["fit"], color=GRAD, lw=2, label="network")
    stop_fit, = ax_fit.plot(grid["x_grid"], view["stop_fit"], color=STOP, lw=1.5, ls="-.", label="early stopped")
    # log axis: an exact fit's zero training loss would vanish from the plot
    tr, = ax_loss.plot(view["step"], np.maximum(view["train_loss"], 1e-6), color=TRAIN, label="training loss")
    va, = ax_loss.plot(view["step"], view["val_loss"], color=VAL, label="validation loss")
    s = view["stop"]
    stop_mark, = ax_loss.plot([view["step"][s]], [view["val_loss"][s]], "o", color=STOP, ms=6, label="early stop")
    cursor = ax_loss.axvline(view["step"][step_index], color="black", lw=0.8, ls=":")
    return [train_pts, fit, stop_fit, tr, va, stop_mark, cursor]


class OverfitExplorer:
    """Hidden units, training-set size, lambda and the step, looked up in shared_grid(): the fit at
    that step (and the early-stopped one) beside the training and validation curves."""

    def __init__(self, grid=None):
        self.grid = shared_grid() if grid is None else grid
        self.fig = live.live_figure((9.0, 4.0))
        self.ax_fit, self.ax_loss = self.fig.subplots(1, 2)
        _overfit_axes(self.ax_fit, self.ax_loss, self.grid)
        g = self.grid
        view = temperature_overfitting.grid_view(g, g["hidden_sizes"][-1], g["train_sizes"][0], g["weight_decays"][0],
                                     patience=PATIENCE)
        self.artists = _draw_setting(self.ax_fit, self.ax_loss, self.grid, view, view["record"])
        _overfit_legend(self.fig, self.ax_fit, self.ax_loss)
        self.ax_fit.set_title("the fit at the chosen step", fontsize=live.FONT_PT)
        self.ax_loss.set_title("data loss L (without the penalty), per step", fontsize=live.FONT_PT)
        self.caption = ""
        self.blitter = live.Blitter(self.fig, self.artists[1:] + self.artists[:1])   # the points on top of the fits

    def update(self, hidden=50, n_train=10, weight_decay=0.0, step=STEPS):
        view = temperature_overfitting.grid_view(self.grid, hidden, n_train, weight_decay, step, patience=PATIENCE)
        train_pts, fit, stop_fit, tr, va, stop_mark, cursor = self.artists
        train_pts.set_data(view["x_train"][:, 0], view["y_train"][:, 0])
        fit.set_ydata(view["fit"])
        stop_fit.set_ydata(view["stop_fit"])
        tr.set_ydata(np.maximum(view["train_loss"], 1e-6))
        va.set_ydata(view["val_loss"])
        s, r = view["stop"], view["record"]
        stop_mark.set_data([view["step"][s]], [view["val_loss"][s]])
        cursor.set_xdata([step, step])
        patience_steps = PATIENCE * int(view["step"][1] - view["step"][0])
        self.caption = (f"{hidden} hidden units, {n_train} points, λ = {weight_decay:g}, step {step}: "
                        f"training loss {view['train_loss'][r]:.4f}, validation loss {view['val_loss'][r]:.4f}, "
                        f"||w|| = {view['weight_norm'][r]:.3g}. Early stopping (patience {patience_steps} steps) "
                        f"keeps step {view['step'][s]}: validation loss {view['val_loss'][s]:.4f}.")
        return self.blitter.png()


def overfit_overview(settings, grid=None):
    """Static fallback: for each (hidden, n_train, lambda), its fit (top) and its loss curves (bottom)."""
    grid = shared_grid() if grid is None else grid
    fig, axes = plt.subplots(2, len(settings), figsize=(9.0, 5.0), dpi=live.DPI, layout="constrained",
                             squeeze=False)
    for col, (hidden, n_train, lam) in enumerate(settings):
        view = temperature_overfitting.grid_view(grid, hidden, n_train, lam, patience=PATIENCE)
        _overfit_axes(axes[0, col], axes[1, col], grid)
        _draw_setting(axes[0, col], axes[1, col], grid, view, view["record"])
        axes[0, col].set_title(f"H = {hidden}, n = {n_train}, λ = {lam:g}", fontsize=live.FONT_PT)
        for ax in axes[:, col]:
            ax.yaxis.label.set_visible(col == 0)
    _overfit_legend(fig, axes[0, 0], axes[1, 0])
    return fig


def _overfit_legend(fig, ax_fit, ax_loss):
    """One legend for the fits and the curves, below them: the points and curves reach every corner."""
    handles = [h for ax in (ax_fit, ax_loss) for h in ax.get_legend_handles_labels()[0]]
    fig.legend(handles=handles, loc="outside lower center", ncols=4)


def _image(ax, title, vmin=0.0, vmax=1.0, cmap="gray_r"):
    im = ax.imshow(np.zeros((8, 8)), cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
    ax.set(xticks=[], yticks=[], title=title)
    ax.title.set_fontsize(live.FONT_PT)
    return im


def _prob_bars(ax):
    ks = np.arange(10)
    before = ax.bar(ks - 0.2, np.zeros(10), width=0.4, color=PROB, label="clean x")
    after = ax.bar(ks + 0.2, np.zeros(10), width=0.4, color=GRAD, label="attacked x + δ")
    ax.set(ylim=(0, 1.12), xticks=ks, xlabel="digit", ylabel="probability")
    return before, after


def _bar_legend(fig, bars):
    """The bars' legend below the figure: a bar of any digit may reach 1."""
    fig.legend(handles=list(bars), loc="outside lower center", ncols=2, frameon=False)


def _fill(images, bars, view):
    for im, pixels in zip(images, (view["x"], view["delta"], view["x_adv"])):
        im.set_data(pixels.reshape(8, 8))
    for group, p in zip(bars, (view["p"], view["p_adv"])):
        for bar, height in zip(group, p):
            bar.set_height(height)


class AttackExplorer:
    """One test digit and eps: the image, the perturbation delta = x_adv - x (eps sign(dL/dx) where
    the pixel can move), the attacked image and the class probabilities before and after.
    update(index, eps) returns the PNG."""

    def __init__(self, classifier):
        self.model, self.X, self.y = classifier["model"], classifier["X_test"], classifier["y_test"]
        self.fig = live.live_figure((9.0, 2.9))
        axes = self.fig.subplots(1, 4, width_ratios=[1, 1, 1, 2.4])
        self.images = [_image(axes[0], "clean x"),
                       _image(axes[1], "δ = ε sign(∇x L), clipped", -EPS_MAX, EPS_MAX, "RdBu_r"),
                       _image(axes[2], "attacked x + δ")]
        self.bars = _prob_bars(axes[3])
        _bar_legend(self.fig, self.bars)
        self.caption = ""
        self.blitter = live.Blitter(self.fig, [*self.images, *self.bars[0], *self.bars[1]])

    def update(self, index=0, eps=0.1):
        view = temperature_overfitting.fgsm_view(self.model, self.X[index], self.y[index], eps)
        _fill(self.images, self.bars, view)
        verdict = "flipped!" if view["flipped"] else "not flipped."
        self.caption = (f"test image {index}, label {self.y[index]}: predicted {view['pred']} "
                        f"(p = {view['p'][view['pred']]:.3f}) → after the attack {view['pred_adv']} "
                        f"(p = {view['p_adv'][view['pred_adv']]:.3f}), {verdict} Every pixel moved by at most "
                        f"ε = {eps:.2f}.")
        return self.blitter.png()


def attack_overview(classifier, indices, eps):
    """Static fallback: per test image, the clean image, the perturbation, the attacked image and
    the probabilities before and after."""
    fig = plt.figure(figsize=(9.0, 2.1 * len(indices)), dpi=live.DPI, layout="constrained")
    for row, index in zip(fig.subfigures(len(indices), 1, squeeze=False)[:, 0], indices):
        axes = row.subplots(1, 4, width_ratios=[1, 1, 1, 2.4])
        view = temperature_overfitting.fgsm_view(classifier["model"], classifier["X_test"][index],
                                     classifier["y_test"][index], eps)
        images = [_image(axes[0], f"clean: predicted {view['pred']}"),
                  _image(axes[1], f"δ, ε = {eps:g}", -EPS_MAX, EPS_MAX, "RdBu_r"),
                  _image(axes[2], f"attacked: predicted {view['pred_adv']}")]
        bars = _prob_bars(axes[3])
        _fill(images, bars, view)
    _bar_legend(fig, bars)
    return fig


def temperature_explorer(T=1.0, true_class=0):
    """The live widget: a log slider for T and a picker for the true class."""
    import ipywidgets as widgets

    return live.show(TemperatureExplorer(), {
        "T": widgets.FloatLogSlider(value=T, base=10, min=np.log10(TEMPERATURES[0]),
                                    max=np.log10(TEMPERATURES[-1]), step=0.05, description="T"),
        "true_class": widgets.Dropdown(options=list(range(len(LOGITS))), value=true_class,
                                       description="true y", layout=widgets.Layout(width="12em"))})[0]


def overfit_explorer(hidden=50, n_train=10, weight_decay=0.0, step=None, grid=None):
    """The live widget: sliders for hidden units, training points, lambda and the step shown (None: the last)."""
    import ipywidgets as widgets

    grid = shared_grid() if grid is None else grid
    step = int(grid["step"][-1]) if step is None else step
    style = {"description_width": "7em"}
    return live.show(OverfitExplorer(grid), {
        "hidden": widgets.SelectionSlider(options=list(grid["hidden_sizes"]), value=hidden,
                                          description="hidden units", style=style),
        "n_train": widgets.SelectionSlider(options=list(grid["train_sizes"]), value=n_train,
                                           description="training points", style=style),
        "weight_decay": widgets.SelectionSlider(options=[(f"{v:g}", v) for v in grid["weight_decays"]],
                                                value=weight_decay, description="λ", style=style),
        "step": widgets.SelectionSlider(options=[int(s) for s in grid["step"]], value=step,
                                        description="step", style=style)})[0]


def attack_explorer(classifier, index=0, eps=0.1):
    """The live widget: which test digit, and eps."""
    import ipywidgets as widgets

    return live.show(AttackExplorer(classifier), {
        "index": widgets.IntSlider(value=index, min=0, max=len(classifier["y_test"]) - 1, description="image"),
        "eps": widgets.FloatSlider(value=eps, min=0.0, max=EPS_MAX, step=0.01, description="ε")})[0]


@functools.lru_cache(maxsize=None)
def _shared(kind):
    """One explorer of each kind for the benchmark, built on first use, not at import."""
    if kind == "temperature":
        return TemperatureExplorer()
    if kind == "overfit":
        return OverfitExplorer()
    return AttackExplorer(temperature_overfitting.train_digits_classifier())


def _bench(kind):
    return lambda **kwargs: _shared(kind).update(**kwargs)


BENCH_CASES = [
    ("overfitting.temperature", _bench("temperature"),
     [{"T": float(T), "true_class": c} for T in TEMPERATURES[::12] for c in (0, 3)]),
    ("overfitting.overfit", _bench("overfit"),
     [{"hidden": h, "n_train": n, "weight_decay": lam, "step": s}
      for h in HIDDEN for n in TRAIN_SIZES[::3] for lam in WEIGHT_DECAYS[::2] for s in (0, 100, STEPS)]),
    ("overfitting.attack", _bench("attack"),
     [{"index": i, "eps": float(e)} for i in (0, 7, 100) for e in np.linspace(0.0, EPS_MAX, 7)]),
]
