"""Lesson 01: the hand-built approximators, the sawtooth, the trained net, and the widgets' pure functions."""

import matplotlib
import numpy as np
import pytest

from dlteach.experiments import universal_approximation as A
from dlteach.data import TARGETS, target_function

matplotlib.use("Agg")

X = A.grid()


def test_step_sits_at_minus_b_over_w():
    for w, b in [(5.0, 1.0), (50.0, -20.0), (400.0, 100.0)]:
        s = -b / w
        assert A.step(np.array([s]), s, w)[0] == pytest.approx(0.5)
        assert A.step(np.array([s + 0.1]), s, w)[0] > A.step(np.array([s - 0.1]), s, w)[0]
    assert A.step(np.array([0.05]), 0.0, 1000.0)[0] > 1 - 1e-12


def test_bump_has_its_height_inside_and_zero_outside():
    x = np.array([-0.9, -0.5, 0.0, 0.5, 0.9])
    out = A.bump(x, -0.3, 0.3, 0.7, 500.0)
    np.testing.assert_allclose(out, [0, 0, 0.7, 0, 0], atol=1e-12)


def test_bump_network_equals_the_sum_of_bumps_and_its_sequential_model():
    edges, heights, w = np.array([-1.0, -0.2, 0.4, 1.0]), np.array([0.5, -1.0, 2.0]), 30.0
    net = A.bump_network(edges, heights, w=w)
    by_hand = sum(A.bump(X, edges[i], edges[i + 1], heights[i], w) for i in range(3))
    assert net.num_units == 6
    np.testing.assert_allclose(net(X), by_hand, atol=1e-12)
    model = A.as_sequential(net, rng=np.random.default_rng(0))
    np.testing.assert_allclose(model(X[:, None])[:, 0], by_hand, atol=1e-12)


@pytest.mark.parametrize("edges, heights, message", [
    ([0.0, 1.0], [1.0, 2.0], "need 3 edges"),
    ([0.0, 1.0, 0.5], [1.0, 2.0], "strictly increasing"),
])
def test_bump_network_rejects_bad_edges(edges, heights, message):
    with pytest.raises(ValueError, match=message):
        A.bump_network(np.array(edges), np.array(heights), w=10.0)


@pytest.mark.parametrize("target", ["sin", "abs", "wiggly"])
def test_staircase_error_falls_like_one_over_n(target):
    units, errors = A.error_vs_units(target, [8, 16, 32, 64, 128])
    assert np.all(np.diff(errors) < 0)
    assert A.loglog_slope(units, errors) == pytest.approx(-1.0, abs=0.1)
    f = target_function(target)
    # sup error of a midpoint staircase: half a cell times the largest slope, plus the blur of the steps.
    lipschitz = np.max(np.abs(np.gradient(f(X), X)))
    assert errors[-1] <= 1.1 * lipschitz * (2 / 128)


def test_relu_interpolant_is_exact_at_knots_and_falls_like_one_over_n_squared():
    f = target_function("sin")
    net = A.relu_interpolant(f, 10)
    knots = np.linspace(-1, 1, 11)
    np.testing.assert_allclose(net(knots), f(knots), atol=1e-12)
    units, errors = A.error_vs_units("sin", [8, 16, 32, 64, 128], kind="relu")
    assert A.loglog_slope(units, errors) == pytest.approx(-2.0, abs=0.1)


def test_hats_sum_to_the_interpolant():
    f = target_function("wiggly")
    t = np.linspace(-1, 1, 9)
    pad = np.concatenate([[t[0] - 0.25], t, [t[-1] + 0.25]])
    hats = sum(f(t[j]) * A.hat(X, pad[j], pad[j + 1], pad[j + 2]) for j in range(len(t)))
    np.testing.assert_allclose(hats, A.relu_interpolant(f, 8)(X), atol=1e-12)


def test_a_step_target_is_never_approximated_uniformly():
    units, errors = A.error_vs_units("step", [4, 16, 64])
    assert np.all(errors >= 0.49)
    assert A.mean_error(A.approximate("step", 64), target_function("step"), X) < 0.01


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("n", [1, 5, 20, 40])
@pytest.mark.parametrize("w", [1.0, 30.0, 1000.0])
@pytest.mark.parametrize("kind", ["sigmoid", "relu"])
def test_fit_summary_over_the_slider_grid(target, n, w, kind):
    s = A.fit_summary(target, n, w=w, kind=kind)
    err = np.abs(s["F"] - s["f"])
    assert s["x"].shape == s["F"].shape == s["f"].shape == (801,)
    assert np.all(np.isfinite(s["F"]))
    assert s["sup_error"] == pytest.approx(err.max()) and s["mean_error"] == pytest.approx(err.mean())
    assert s["units"] == (2 * n if kind == "sigmoid" else n)


def test_fit_summary_error_falls_with_steepness_and_units():
    assert A.fit_summary("sin", 20, w=300.0)["sup_error"] < A.fit_summary("sin", 20, w=3.0)["sup_error"]
    assert A.fit_summary("sin", 40, w=1000.0)["sup_error"] < A.fit_summary("sin", 5, w=1000.0)["sup_error"] / 5


@pytest.mark.parametrize("target", TARGETS)
def test_error_curves_slopes(target):
    """The reported slope is fitted from N = 8 bumps or knots on (the last 8 of 11 points), where the rates
    hold: within 0.1 of the rate, a tenth of the gap between 1/n and 1/n^2. Over all points the few cells
    of the first ones bend the line (wiggly's ReLU curve would fit -1.63): that is why they are left out."""
    ns = np.array((2, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96))
    curves = A.error_curves(target, ns)
    expected = {"sin": (-1.0, -2.0), "abs": (-1.0, None), "step": (0.0, 0.0), "wiggly": (-1.0, -2.0)}[target]
    for kind, want in zip(("sigmoid", "relu"), expected):
        units, errors, slope = curves[kind]
        assert len(units) == len(errors) == 11
        if want is None:                        # |x| is piecewise linear with a knot at 0: exact
            assert np.isnan(slope) and np.all(errors < 1e-12)
        else:
            assert slope == A.loglog_slope(units[ns >= 8], errors[ns >= 8])
            assert slope == pytest.approx(want, abs=0.1), f"{kind}: slope {slope:.3f} from 8 cells on, expected {want}"


def test_error_curves_fit_the_range_the_lesson_asserts():
    """The legend's slope and the lesson's assert (n = 8..128) agree to 0.02 for sin."""
    curves = A.error_curves("sin")
    for kind, rate in (("sigmoid", -1.0), ("relu", -2.0)):
        units, errors = A.error_vs_units("sin", [8, 16, 32, 64, 128], kind=kind)
        assert curves[kind][2] == pytest.approx(A.loglog_slope(units, errors), abs=0.02)
    with pytest.raises(ValueError, match="fit_from"):
        A.error_curves("sin", (2, 4, 8), fit_from=8)


@pytest.mark.parametrize("target", list(A.TARGETS_2D))
@pytest.mark.parametrize("n", [1, 4, 12])
@pytest.mark.parametrize("w", [3.0, 40.0, 300.0])
def test_tower_network_over_the_slider_grid(target, n, w):
    xs, F, truth, units = A.tower_network(A.target_2d(target), n, w=w, points=51)
    assert F.shape == truth.shape == (51, 51) and xs.shape == (51,)
    assert units == (2 * (n + 1), n * n)
    assert np.all(np.isfinite(F)) and F.min() >= -1e-9


@pytest.mark.parametrize("target", list(A.TARGETS_2D))
def test_more_and_sharper_towers_fit_better(target):
    f2 = A.target_2d(target)
    err = {n: np.abs(np.subtract(*A.tower_network(f2, n, w=20.0 * n)[1:3])).mean() for n in (2, 4, 8, 12)}
    assert err[12] < err[8] < err[4] < err[2]
    assert err[12] < 0.06


def test_tower_is_its_height_on_the_rectangle_and_zero_away_from_it():
    x, y = np.array([[-0.8], [0.0], [0.3], [0.8]]), np.array([[-0.8, 0.0, 0.3, 0.8]])
    t = A.tower(x, y, (-0.2, 0.5), (-0.2, 0.5), 0.9, w=400.0)
    np.testing.assert_allclose(t[1:3, 1:3], 0.9, atol=1e-6)
    assert np.abs(t[[0, 3]]).max() < 1e-6 and np.abs(t[:, [0, 3]]).max() < 1e-6


@pytest.mark.parametrize("k", range(1, 11))
def test_sawtooth_has_2_to_the_k_pieces_and_matches_its_closed_form(k):
    x = np.linspace(0, 1, 2 ** (k + 3) + 1)                 # dyadic grid: every value exact
    assert A.count_linear_pieces(lambda t: A.sawtooth(t, k), 0.0, 1.0, 2 ** (k + 3) + 1) == 2 ** k
    np.testing.assert_array_equal(A.sawtooth(x, k), A.sawtooth_closed_form(x, k))
    np.testing.assert_allclose(A.sawtooth_shallow(k)(x), A.sawtooth(x, k), atol=1e-9)
    assert A.sawtooth_shallow(k).num_units == 2 ** k
    assert A.shallow_units_needed(k) == 2 ** k - 1


@pytest.mark.parametrize("k", [1, 3, 6])
def test_sawtooth_network_is_the_composed_tent(k):
    x = np.linspace(0, 1, 257)
    model = A.sawtooth_network(k, rng=np.random.default_rng(0))
    np.testing.assert_allclose(model(x[:, None])[:, 0], A.sawtooth(x, k), atol=1e-12)
    assert sum(layer.out_features for layer in model.layers[::3]) == 2 * k


@pytest.mark.parametrize("k", range(1, 9))
def test_depth_vs_width_over_the_slider_grid(k):
    d = A.depth_vs_width(k)
    assert d["deep"].shape == d["shallow"].shape == d["x"].shape
    assert d["deep_units"] == 2 * k and d["pieces"] == 2 ** k
    assert d["shallow_units_needed"] == 2 ** k - 1
    if 2 * k >= 2 ** k - 1:                 # enough units: the shallow net is exact
        assert d["shallow_sup_error"] < 1e-8 and d["best_shallow_sup_error"] == 0.0
    else:                                   # too few bends: no shallow net beats the flat line 1/2
        assert d["best_shallow_sup_error"] == 0.5
        assert d["shallow_sup_error"] >= 0.5
        # least squares still wins where it aims: on the mean squared gap
        assert d["shallow_rms_error"] < np.sqrt(np.mean((d["deep"] - 0.5) ** 2))


def test_trained_net_beats_the_hand_built_one_with_the_same_units():
    f = target_function("sin")
    model, history = A.train_shallow("sin", 10, rng=np.random.default_rng(0), epochs=600)
    assert history["loss"][-1] < history["loss"][0] / 100
    trained = np.max(np.abs(model(X[:, None])[:, 0] - f(X)))
    hand = A.sup_error(A.approximate("sin", 5), f, X)       # 5 bumps = 10 sigmoid units
    assert trained < hand / 5


def test_shallow_net_checks_its_arguments():
    with pytest.raises(ValueError, match="activation"):
        A.ShallowNet(np.ones(2), np.ones(2), np.ones(2), 0.0, "tanh")
    with pytest.raises(ValueError, match="one length M"):
        A.ShallowNet(np.ones(2), np.ones(3), np.ones(2))
    with pytest.raises(ValueError, match="expected one of"):
        A.approximate("cosine", 4)


def test_views_render_pngs_for_every_bench_case():
    from dlteach.widgets import universal_approximation as W
    for name, render, settings in W.BENCH_CASES:
        assert settings, name
        for kw in settings[:: max(1, len(settings) // 4)]:
            png = render(**kw)
            assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) < 150_000, (name, kw)
