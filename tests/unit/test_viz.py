"""dlteach.viz: each helper returns its Axes with the expected artists (Agg backend, figures closed)."""

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.collections import PathCollection
from matplotlib.image import AxesImage

from dlteach import data, layers, viz


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def rng(seed=0):
    return np.random.default_rng(seed)


HISTORY = {"loss": [1.0, 0.5, 0.3], "acc": [0.5, 0.8, 0.9], "val_loss": [1.1, 0.7, 0.6], "val_acc": [0.4, 0.7, 0.8]}


def test_backend_is_agg_and_import_leaves_rcparams_alone():
    assert matplotlib.get_backend().lower() == "agg"
    before = dict(matplotlib.rcParams)
    import importlib
    importlib.reload(viz)
    assert dict(matplotlib.rcParams) == before


@pytest.mark.parametrize("which, ylabel", [("loss", "loss"), ("acc", "accuracy")])
def test_plot_history(which, ylabel):
    ax = viz.plot_history(HISTORY, which)
    assert isinstance(ax, plt.Axes)
    lines = ax.get_lines()
    assert [line.get_label() for line in lines] == ["training", "validation"]
    np.testing.assert_array_equal(lines[0].get_xdata(), [1, 2, 3])
    np.testing.assert_array_equal(lines[1].get_ydata(), HISTORY[f"val_{which}"])
    assert ax.get_xlabel() == "epoch" and ax.get_ylabel() == ylabel
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["training", "validation"]


def test_plot_history_draws_into_a_given_axes_and_skips_empty_lists():
    fig, ax = plt.subplots()
    out = viz.plot_history({"loss": [1.0, 0.5], "acc": [], "val_loss": [], "val_acc": []}, ax=ax)
    assert out is ax and len(ax.get_lines()) == 1 and len(fig.axes) == 1


@pytest.mark.parametrize("call, exc, match", [
    (lambda: viz.plot_history(HISTORY, "f1"), ValueError, r"plot_history: argument 'which' is 'f1'; expected 'loss' or 'acc'"),
    (lambda: viz.plot_history([0.1, 0.2]), TypeError, r"plot_history: argument 'history' must be the dict fit returns, got list"),
    (lambda: viz.plot_history({"loss": [1.0], "acc": []}, "acc"), ValueError,
     r"plot_history: argument 'history' has no values for 'acc' or 'val_acc'; its keys with values are \['loss'\]"),
])
def test_plot_history_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_decision_boundary_of_a_model():
    X, y = data.blobs(90, centers=3, rng=rng())
    model = layers.Sequential(layers.Linear(2, 3, rng=rng()))
    model.train()
    ax = viz.plot_decision_boundary(model, X, y, resolution=50)
    assert model.training                               # predict restored the mode
    scatters = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert len(scatters) == 3                           # one scatter per class
    assert sum(len(s.get_offsets()) for s in scatters) == 90
    assert len(ax.collections) == 4                     # plus the filled regions
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["class 0", "class 1", "class 2"]
    assert ax.get_xlabel() and ax.get_ylabel()


@pytest.mark.parametrize("predict", [
    lambda g: (g[:, 0] > 0).astype(np.int64),              # labels
    lambda g: g[:, :1],                                    # one score per point, class 1 where > 0
    lambda g: g[:, 0],
    lambda g: np.stack([-g[:, 0], g[:, 0]], axis=1),       # two class scores
])
def test_decision_boundary_of_a_function_splits_the_plane(predict):
    X, y = data.xor(60, rng=rng())
    fig, ax = plt.subplots()
    assert viz.plot_decision_boundary(predict, X, y, ax=ax, resolution=20) is ax
    regions = ax.collections[0]
    assert not isinstance(regions, PathCollection)
    assert len(ax.get_legend().get_texts()) == 2


@pytest.mark.parametrize("call, exc, match", [
    (lambda: viz.plot_decision_boundary(lambda g: g, np.zeros((5, 3)), np.zeros(5, int)), ValueError,
     r"plot_decision_boundary: argument 'X' has shape \(5, 3\); expected \(N, 2\)"),
    (lambda: viz.plot_decision_boundary(lambda g: g, np.zeros((5, 2)), np.zeros(5)), ValueError,
     r"plot_decision_boundary: argument 'y' has dtype float64 and shape \(5,\); expected integer labels of shape \(5,\)"),
    (lambda: viz.plot_decision_boundary(lambda g: g[:, :, None], np.zeros((5, 2)), np.zeros(5, int)), ValueError,
     r"plot_decision_boundary: the model's output has shape \(40000, 2, 1\); expected class scores"),
    (lambda: viz.plot_decision_boundary("model", np.zeros((5, 2)), np.zeros(5, int)), TypeError,
     r"argument 'model' must be a dlteach model or a function of x, got str"),
])
def test_decision_boundary_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_plot_fit_1d():
    x, y = data.sample_1d("sin", 40, noise=0.1, rng=rng())
    f = data.target_function("sin")
    model = layers.Sequential(layers.Linear(1, 8, rng=rng()), layers.Tanh(), layers.Linear(8, 1, rng=rng(1)))
    ax = viz.plot_fit_1d(x, y, model=model, target=f, num=100)
    assert [line.get_label() for line in ax.get_lines()] == ["target f(x)", "model F(x)"]
    target_line = ax.get_lines()[0]
    np.testing.assert_allclose(target_line.get_ydata(), f(target_line.get_xdata()))
    assert len(target_line.get_xdata()) == 100
    assert len(ax.collections) == 1 and len(ax.collections[0].get_offsets()) == 40
    assert ax.get_xlabel() == "x" and ax.get_legend() is not None


def test_plot_fit_1d_with_a_plain_function_and_no_target():
    x = np.linspace(-1, 1, 10)
    ax = viz.plot_fit_1d(x, x ** 2, model=lambda g: g ** 2)
    assert [line.get_label() for line in ax.get_lines()] == ["model F(x)"]


@pytest.mark.parametrize("call, exc, match", [
    (lambda: viz.plot_fit_1d(np.zeros(3), np.zeros(4)), ValueError,
     r"plot_fit_1d: arguments 'x' and 'y' hold 3 and 4 values; expected the same number"),
    (lambda: viz.plot_fit_1d(np.zeros(3), np.zeros(3), target="sin"), TypeError,
     r"plot_fit_1d: argument 'target' must be a function of x, got str"),
    (lambda: viz.plot_fit_1d(np.zeros((3, 1, 1)), np.zeros(3)), ValueError,
     r"plot_fit_1d: argument 'x' must be 1-D or 2-D, got shape \(3, 1, 1\)"),
])
def test_plot_fit_1d_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


@pytest.mark.parametrize("layout", ["images", "flat", "nchw"])
def test_plot_images_of_digits(layout):
    X, y = data.load_digits(layout=layout)
    ax = viz.plot_images(X[:12], y[:12], ncols=5)
    images = [a for a in ax.get_children() if isinstance(a, AxesImage)]
    assert len(images) == 1
    mosaic = images[0].get_array()
    assert mosaic.shape == (3 * (3 + 8 + 1) - 1, 5 * 9 - 1)     # 3 rows, 5 columns, caption rows
    assert [t.get_text() for t in ax.texts] == [str(v) for v in y[:12]]


def test_plot_images_marks_wrong_predictions_in_red():
    X, y = data.load_digits()
    pred = y[:4].copy()
    pred[2] = (pred[2] + 1) % 10
    ax = viz.plot_images(X[:4], y[:4], predictions=pred)
    colors = [t.get_color() for t in ax.texts]
    assert colors[2] == "red" and colors.count("red") == 1
    assert ax.texts[2].get_text() == f"{y[2]}→{pred[2]}"


@pytest.mark.parametrize("call, match", [
    (lambda: viz.plot_images(np.zeros((4, 10))), r"plot_images: argument 'images' has shape \(4, 10\); expected \(N, H, W\)"),
    (lambda: viz.plot_images(np.zeros((4, 8, 8)), np.zeros(3)), r"plot_images: argument 'labels' has shape \(3,\); expected \(4,\)"),
    (lambda: viz.plot_images(np.zeros((4, 8, 8)), ncols=0), r"plot_images: argument 'ncols' must be > 0, got 0"),
])
def test_plot_images_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_plot_filters_single_channel():
    W = rng().standard_normal((6, 1, 3, 3))
    ax = viz.plot_filters(W, ncols=4)
    image = [a for a in ax.get_children() if isinstance(a, AxesImage)][0]
    assert image.get_array().shape == (2 * 4 - 1, 4 * 4 - 1)
    vmin, vmax = image.get_clim()
    assert vmin == -vmax == -np.abs(W).max()             # symmetric: white is zero
    assert len(ax.figure.axes) == 2                      # the Axes and its colour bar
    assert ax.get_title() == "6 filters, 1 channel, 3x3"


def test_plot_filters_multi_channel_rows_are_filters():
    W = rng().standard_normal((4, 3, 5, 5))
    ax = viz.plot_filters(W)
    image = [a for a in ax.get_children() if isinstance(a, AxesImage)][0]
    assert image.get_array().shape == (4 * 6 - 1, 3 * 6 - 1)
    np.testing.assert_array_equal(image.get_array()[6:11, 12:17], W[1, 2])
    assert [t.get_text() for t in ax.get_yticklabels()] == [f"filter {f}" for f in range(4)]


@pytest.mark.parametrize("W, match", [
    (np.zeros((4, 3, 3)), r"plot_filters: argument 'W' must be 4-D, got shape \(4, 3, 3\)"),
    (np.zeros((4, 1, 3, 2)), r"plot_filters: argument 'W' has shape \(4, 1, 3, 2\); expected square kernels"),
])
def test_plot_filters_errors(W, match):
    with pytest.raises(ValueError, match=match):
        viz.plot_filters(W)


# Legibility: every helper's figure, as a lesson shows it, passes viz.legibility_problems, and the check
# itself catches each thing it names. The lessons' own figures: tests/notebooks/test_figures_legible.py.

def _course_axes(figsize=(6, 4)):
    return plt.subplots(figsize=figsize, dpi=viz.DPI, layout="constrained")[1]


LEGIBLE_CASES = {
    "plot_history": lambda ax: viz.plot_history(HISTORY, "loss", ax=ax),
    "plot_decision_boundary": lambda ax: viz.plot_decision_boundary(
        lambda g: (g[:, 0] * g[:, 1] > 0).astype(np.int64), *data.xor(60, rng=rng()), ax=ax, resolution=40),
    "plot_fit_1d": lambda ax: viz.plot_fit_1d(*data.sample_1d("sin", 30, noise=0.1, rng=rng()),
                                              target=data.target_function("sin"), model=np.sin, ax=ax),
    "plot_images": lambda ax: viz.plot_images(data.load_digits()[0][:20], data.load_digits()[1][:20],
                                              predictions=data.load_digits()[1][:20][::-1], ax=ax),
    "plot_filters-1-channel": lambda ax: viz.plot_filters(rng().standard_normal((8, 1, 3, 3)), ax=ax),
    "plot_filters-3-channels": lambda ax: viz.plot_filters(rng().standard_normal((4, 3, 5, 5)), ax=ax),
}


@pytest.mark.parametrize("name", LEGIBLE_CASES)
@pytest.mark.parametrize("where", ["own figure", "course figure"])
def test_every_helper_draws_a_legible_figure(name, where):
    ax = LEGIBLE_CASES[name](None if where == "own figure" else _course_axes())
    assert ax.figure.dpi == viz.DPI
    assert viz.legibility_problems(ax.figure) == []


def test_legibility_problems_passes_a_plain_figure_at_the_default_sizes():
    ax = _course_axes()
    ax.plot([1, 2, 3], label="a line")
    ax.set(title="a title", xlabel="x", ylabel="y")
    ax.legend()
    assert viz.legibility_problems(ax.figure) == []


def test_legibility_problems_names_text_under_11_px():
    ax = _course_axes()
    ax.plot([1, 2, 3], label="tiny")
    ax.legend(fontsize=8)                                 # 8 pt at 80 dpi: 8.9 px
    ax.tick_params(labelsize=9)                           # 10.0 px
    problems = viz.legibility_problems(ax.figure)
    assert "text 'tiny' is 8 pt = 8.9 px at 80 dpi, under 11 px" in problems
    assert any(p.endswith("is 9 pt = 10.0 px at 80 dpi, under 11 px") for p in problems)
    assert viz.legibility_problems(ax.figure, min_px=8) == []


def test_legibility_problems_names_a_legend_or_text_outside_the_figure():
    ax = plt.subplots(figsize=(6, 4), dpi=viz.DPI)[1]      # no layout engine: nothing pulls them back in
    ax.plot([1, 2, 3], label="out of sight")
    ax.legend(loc="upper left", bbox_to_anchor=(1.3, 1.0))
    ax.text(-2.0, 2.0, "cut off")
    problems = viz.legibility_problems(ax.figure)
    assert "the legend ['out of sight'] reaches outside the figure" in problems
    assert "text 'cut off' reaches outside the figure" in problems


def test_legibility_problems_names_a_colour_bar_over_a_title_and_overlapping_texts():
    fig = plt.figure(figsize=(6, 3), dpi=viz.DPI)
    ax = fig.add_axes((0.1, 0.1, 0.6, 0.7))
    im = ax.imshow(np.eye(3))
    ax.set_title("a title long enough to run under the colour bar on the right")
    fig.colorbar(im, cax=fig.add_axes((0.55, 0.1, 0.05, 0.85)))
    ax.text(0, 0, "here")
    ax.text(0, 0, "there")
    problems = viz.legibility_problems(fig)
    assert any(p.startswith("text 'a title long enough") and p.endswith("lies over another Axes (a colour bar)")
               for p in problems)
    assert "texts 'here' and 'there' overlap" in problems


def test_legibility_problems_names_a_figure_too_wide_and_skips_what_is_not_shown():
    ax = plt.subplots(figsize=(11, 3), dpi=viz.DPI)[1]
    ax.set_xticks([0.5, 2.0], ["shown", "outside the view"], fontsize=6)
    ax.set_xlim(0, 1)
    ax.text(0.5, 0.5, "hidden", fontsize=5).set_visible(False)
    problems = viz.legibility_problems(ax.figure)
    assert problems[0] == "the figure is 880 px wide, over 800 px: the notebook would shrink it"
    assert any("'shown'" in p for p in problems)
    assert not any("outside the view" in p or "hidden" in p for p in problems)


def test_legibility_problems_names_a_raised_exponent_and_plain_log_ticks_avoid_it():
    fig, ax = plt.subplots(figsize=(4, 3), dpi=viz.DPI, layout="constrained")
    ax.plot([1, 2, 3], [1e-12, 1e-6, 1.0])
    ax.set_yscale("log")                       # matplotlib's labels: a 10 with the exponent at 0.7 of the size
    problems = viz.legibility_problems(fig)
    assert any("super- or subscript" in p and "7.8 px" in p for p in problems), problems
    assert viz.plain_log_ticks(fig) is fig
    assert viz.legibility_problems(fig) == []
    fig.canvas.draw()
    labels = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
    assert "1e-12" in labels and "1" in labels, labels
    plt.close(fig)


def test_log_scale_labels_minor_ticks_only_within_one_decade():
    fig, ax = plt.subplots(figsize=(4, 3), dpi=viz.DPI, layout="constrained")
    ax.plot([1, 2], [0.2, 0.6])
    ax.set_yscale("log")
    viz.plain_log_ticks(ax)
    fig.canvas.draw()
    labels = [t.get_text() for t in ax.get_yticklabels(minor=True) if t.get_text()]
    assert labels and all(float(label) > 0 for label in labels), labels
    assert viz.legibility_problems(fig) == []
    plt.close(fig)


def test_plain_log_ticks_label_a_symlog_axis_with_zero_and_negatives():
    fig, ax = plt.subplots(figsize=(4, 3), dpi=viz.DPI, layout="constrained")
    ax.plot([-1000, 0, 1000], [0, 1, 2])
    ax.set_xscale("symlog", linthresh=1)
    viz.plain_log_ticks(fig)
    fig.canvas.draw()
    labels = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    assert "0" in labels and "-100" in labels and "100" in labels, labels
    assert viz.legibility_problems(fig) == []
    plt.close(fig)
