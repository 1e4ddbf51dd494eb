"""Lesson 05's maths: the loss surfaces, the optimizers' paths, the convergence rates, and the pure
functions behind the optimizer lab, the adaptive lab and the rate explorer over their slider ranges."""

import numpy as np
import pytest
from cases import is_png

from dlteach import gradcheck
from dlteach.experiments import sgd_momentum
from dlteach.widgets import sgd_momentum as widgets

ALL = [sgd_momentum.make(name, kappa=30.0) for name in sgd_momentum.SURFACES]


@pytest.mark.parametrize("surface", ALL, ids=sgd_momentum.SURFACES)
def test_gradients_match_central_differences(surface):
    rng = np.random.default_rng(1)
    (a, b), (c, d) = surface.bounds
    for w in rng.uniform([a, c], [b, d], size=(5, 2)):
        w = w.copy()
        numeric = gradcheck.numerical_gradient(lambda: float(surface.loss(w)), w)
        assert gradcheck.rel_error(surface.gradient(w), numeric) < 1e-6
        np.testing.assert_allclose(surface.point_gradient(w), surface.gradient(w), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("surface", ALL, ids=sgd_momentum.SURFACES)
def test_the_minimum_is_a_stationary_point_inside_the_window(surface):
    assert np.linalg.norm(surface.gradient(surface.minimum)) < 1e-8
    (a, b), (c, d) = surface.bounds
    assert a < surface.minimum[0] < b and c < surface.minimum[1] < d
    _, _, J = surface.grid(40)
    assert J.min() >= surface.min_loss - 1e-12


def test_loss_and_gradient_broadcast_over_stacks_of_points():
    s = sgd_momentum.Rosenbrock()
    W = np.random.default_rng(2).normal(size=(3, 4, 2))
    assert s.loss(W).shape == (3, 4) and s.gradient(W).shape == (3, 4, 2)
    np.testing.assert_allclose(s.loss(W)[1, 2], s.loss(W[1, 2]))


def test_quadratic_has_the_condition_number_it_claims():
    for kappa in (1.0, 10.0, 1000.0):
        for angle in (0.0, 0.7):
            lam = np.linalg.eigvalsh(sgd_momentum.Quadratic(kappa, angle=angle).A)
            assert lam.max() / lam.min() == pytest.approx(kappa)


@pytest.mark.parametrize("B", [1, 7, 64, 128])
def test_minibatch_gradients_are_unbiased_with_the_predicted_spread(B):
    s = sgd_momentum.LogisticRegression()
    w = s.minimum + [0.3, -0.5]
    g = s.minibatch_gradients(B, 4000, np.random.default_rng(3))
    samples = np.array([g(t, w) for t in range(4000)])               # (4000, 2)
    full = s.gradient(w)
    per_example = s.example_gradients(w)                               # (N, 2)
    np.testing.assert_allclose(per_example.mean(axis=0), full, atol=1e-12)
    std = sgd_momentum.minibatch_std(per_example.std(axis=0), B, s.n_examples)
    assert np.all(np.abs(samples.mean(axis=0) - full) <= 4 * std / np.sqrt(4000) + 1e-12)
    np.testing.assert_allclose(samples.std(axis=0), std, rtol=0.1, atol=1e-12)


def test_full_batch_means_no_noise_and_std_formula_ends():
    assert sgd_momentum.minibatch_std(2.0, 128, 128) == 0.0
    assert sgd_momentum.minibatch_std(2.0, 1, 128) == pytest.approx(2.0)
    s = sgd_momentum.Quadratic(10.0)
    g = s.minibatch_gradients(s.n_examples, 3, None)
    np.testing.assert_array_equal(g(0, s.start), s.gradient(s.start))
    with pytest.raises(ValueError, match="batch_size"):
        sgd_momentum.minibatch_std(1.0, 200, 128)


@pytest.mark.parametrize("method", ["gd", "momentum", "nesterov"])
def test_run_follows_the_update_rules_written_out(method):
    """The rules as the lesson writes them, not as optim computes them: v <- mu v - eta g, then
    w <- w - eta g (GD), w <- w + v (heavy ball) or w <- w + mu v - eta g (Nesterov)."""
    s = sgd_momentum.Quadratic(10.0, angle=0.4)
    r = sgd_momentum.run(s, method, s.start, 8, lr=0.5, momentum=0.8)
    w, v = s.start.copy(), np.zeros(2)
    for t in range(8):
        g = s.gradient(w)
        v = 0.8 * v - 0.5 * g
        w = {"gd": w - 0.5 * g, "momentum": w + v, "nesterov": w + 0.8 * v - 0.5 * g}[method]
        np.testing.assert_allclose(r["path"][t + 1], w, rtol=1e-12, atol=1e-12, err_msg=f"{method}, step {t + 1}")
    np.testing.assert_allclose(r["loss"], s.loss(r["path"]))


def test_classic_nesterov_lookahead_equals_optims_form():
    """v <- mu v - eta grad(w + mu v), w <- w + v, seen at the look-ahead point u = w + mu v."""
    s = sgd_momentum.Quadratic(30.0, angle=0.3)
    r = sgd_momentum.run(s, "nesterov", s.start, 20, lr=0.7, momentum=0.9)
    w, v = s.start.copy(), np.zeros(2)
    for t in range(20):
        v = 0.9 * v - 0.7 * s.gradient(w + 0.9 * v)
        w = w + v
        np.testing.assert_allclose(w + 0.9 * v, r["path"][t + 1], atol=1e-12)


def test_adaptive_methods_agree_with_their_formulas():
    s = sgd_momentum.Rosenbrock()
    for method in ("adagrad", "rmsprop", "adam"):
        r = sgd_momentum.run(s, method, s.start, 30, lr=0.05, rms_decay=0.9)
        w, m1, m2 = s.start.copy(), np.zeros(2), np.zeros(2)
        for t in range(1, 31):
            g = s.gradient(w)
            if method == "adagrad":
                m2 += g * g
                w -= 0.05 * g / (np.sqrt(m2) + 1e-8)
            elif method == "rmsprop":
                m2 = 0.9 * m2 + 0.1 * g * g
                w -= 0.05 * g / (np.sqrt(m2) + 1e-8)
            else:
                m1, m2 = 0.9 * m1 + 0.1 * g, 0.999 * m2 + 0.001 * g * g
                w -= 0.05 * (m1 / (1 - 0.9 ** t)) / (np.sqrt(m2 / (1 - 0.999 ** t)) + 1e-8)
            np.testing.assert_allclose(r["path"][t], w, rtol=1e-10, atol=1e-12)


def test_lr_zero_is_refused_and_runs_do_not_mutate_start():
    s = sgd_momentum.Quadratic(10.0)
    start = s.start.copy()
    sgd_momentum.run(s, "momentum", start, 10, lr=0.1)
    np.testing.assert_array_equal(start, s.start)
    with pytest.raises(ValueError, match="lr"):
        sgd_momentum.run(s, "gd", start, 10, lr=0.0)
    with pytest.raises(ValueError, match="method"):
        sgd_momentum.run(s, "lbfgs", start, 10, lr=0.1)
    with pytest.raises(TypeError, match="rng"):
        sgd_momentum.run(s, "sgd", start, 10, lr=0.1, batch_size=4)


def test_polyak_path_is_the_running_mean_after_t0():
    path = np.random.default_rng(4).normal(size=(50, 2))
    avg = sgd_momentum.polyak_path(path, 10)
    np.testing.assert_allclose(avg[:11], path[:11])
    for t in (11, 30, 49):
        np.testing.assert_allclose(avg[t], path[11:t + 1].mean(axis=0), atol=1e-12)


@pytest.mark.parametrize("kappa", [4.0, 30.0, 300.0])
def test_measured_rates_match_the_formulas_at_the_optimal_steps(kappa):
    s = sgd_momentum.Quadratic(kappa)
    lam_min, lam_max = s.eigenvalues
    gd = sgd_momentum.run(s, "gd", s.start, 400, lr=sgd_momentum.optimal_gd(lam_min, lam_max))
    eta, mu = sgd_momentum.optimal_momentum(lam_min, lam_max)
    mom = sgd_momentum.run(s, "momentum", s.start, 400, lr=eta, momentum=mu)
    assert sgd_momentum.measured_rate(gd["path"], s.minimum) == pytest.approx(sgd_momentum.gd_rate(kappa), abs=1e-3)
    assert sgd_momentum.measured_rate(mom["path"], s.minimum) == pytest.approx(
        sgd_momentum.momentum_rate(kappa), abs=0.01)
    assert sgd_momentum.quadratic_rate(s.eigenvalues, eta, mu) == pytest.approx(sgd_momentum.momentum_rate(kappa))


def test_rate_map_never_beats_the_optimum():
    for kappa in (2.0, 50.0, 1000.0):
        view = sgd_momentum.rate_view(kappa, 1.0, 0.5, steps=20)
        assert view["map"].min() >= sgd_momentum.momentum_rate(kappa) - 1e-3
        assert sgd_momentum.quadratic_rate([1 / kappa, 1.0], sgd_momentum.optimal_gd(1 / kappa, 1.0)) \
            == pytest.approx(sgd_momentum.gd_rate(kappa))


def test_clipping_survives_the_cliff_where_gd_blows_up():
    s = sgd_momentum.Cliff()
    plain = sgd_momentum.run(s, "gd", s.start, 200, lr=s.lr)
    clipped = sgd_momentum.run(s, "gd", s.start, 200, lr=s.lr, clip=1.0)
    assert plain["diverged"] is not None and np.isnan(plain["path"][-1]).all()
    assert clipped["diverged"] is None
    assert np.linalg.norm(clipped["path"][-1] - s.minimum) < 1e-3
    steps = np.linalg.norm(np.diff(clipped["path"], axis=0), axis=1)
    assert steps.max() <= s.lr * 1.0 + 1e-12


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_polyak_averaging_lands_closer_than_sgd(seed):
    s = sgd_momentum.Quadratic(10.0)
    runs = sgd_momentum.compare(s, ["sgd", "polyak"], s.minimum + [0.3, -0.3], 400, lr=s.lr, batch_size=4,
                                seed=seed)
    d_sgd = sgd_momentum.distances(runs["sgd"]["path"][-100:], s.minimum).mean()
    d_avg = sgd_momentum.distances(runs["polyak"]["path"][-100:], s.minimum).mean()
    assert d_avg < 0.5 * d_sgd


LAB_GRID = [dict(surface=name, kappa=kappa, lr_scale=lr_scale, momentum=mu, batch_size=B, steps=steps, clip=clip)
            for name in sgd_momentum.SURFACES for kappa in (1.0, 100.0) for lr_scale in (0.1, 1.0, 3.0)
            for mu, B, steps, clip in ((0.0, 1, 10, None), (0.9, 16, 150, 1.0), (0.99, 128, 400, None))]


@pytest.mark.parametrize("setting", LAB_GRID)
def test_lab_runs_over_the_slider_grid(setting):
    s = sgd_momentum.make(setting["surface"], kappa=setting["kappa"])
    runs = sgd_momentum.compare(s, widgets.LAB_METHODS + ("adam",), s.start, setting["steps"],
                                lr=s.lr * setting["lr_scale"], momentum=setting["momentum"],
                                batch_size=setting["batch_size"], clip=setting["clip"], seed=0)
    assert list(runs) == list(widgets.LAB_METHODS) + ["adam"]
    for r in runs.values():
        assert r["path"].shape == (setting["steps"] + 1, 2) and r["loss"].shape == (setting["steps"] + 1,)
        np.testing.assert_array_equal(r["path"][0], s.start)
        if r["diverged"] is None:
            assert np.isfinite(r["path"]).all() and np.all(r["loss"] >= s.min_loss - 1e-9)
        else:
            assert np.isnan(r["path"][r["diverged"]:]).all()
    if setting["clip"] is not None:     # clipped steps are never longer than eta tau
        step = np.linalg.norm(np.diff(runs["gd"]["path"], axis=0), axis=1)
        assert np.nanmax(step) <= s.lr * setting["lr_scale"] * setting["clip"] + 1e-9
    if setting["batch_size"] == s.n_examples:    # full batches: SGD is GD
        np.testing.assert_array_equal(runs["sgd"]["path"], runs["gd"]["path"])
    if setting["lr_scale"] <= 1.0 and setting["surface"] != "cliff" and setting["steps"] >= 150:
        assert runs["gd"]["diverged"] is None and runs["gd"]["loss"][-1] <= runs["gd"]["loss"][0]


@pytest.mark.parametrize("kappa", [1.0, 10.0, 1000.0])
@pytest.mark.parametrize("lr, mu", [(0.02, 0.0), (1.0, 0.6), (2.5, 0.9), (4.0, 0.99)])
def test_rate_view_over_the_slider_grid(kappa, lr, mu):
    view = sgd_momentum.rate_view(kappa, lr, mu, steps=50)
    assert view["map"].shape == (len(view["mus"]), len(view["lrs"]))
    assert np.all(view["map"] >= 0)
    assert view["rate_gd"] == pytest.approx(max(abs(1 - lr / kappa), abs(1 - lr)))
    if view["rate_momentum"] < 1 and mu > 0:
        d = view["dist_momentum"]
        assert d[-1] <= d[0] * 50 * view["rate_momentum"] ** 50 + 1e-12   # t rho^t bounds the decay
    expected = np.where(view["map"] < 1, -1 / np.log10(np.clip(view["map"], 1e-300, None)), np.inf)
    np.testing.assert_allclose(widgets.steps_per_decade(view["map"]), expected)


def test_optimizer_lab_draws_a_png_and_captions_each_methods_result():
    """The caption names each method's final J - J*, or the step where it blew up, of a run with the same settings."""
    lab = widgets.OptimizerLab()
    cases = widgets.BENCH_CASES[0][2]
    blow_up = {**cases[0], "lr": 3 * cases[0]["lr"]}             # 3x the quadratic's stable step
    for kwargs in cases[::4] + [blow_up]:
        png = lab.update(**kwargs)
        assert is_png(png) and len(png) < 150_000
        name, clip = kwargs["surface"], kwargs["clip"]
        s = sgd_momentum.make(name, kappa=kwargs["kappa"] if name == "quadratic" else 10.0)
        runs = sgd_momentum.compare(s, widgets.LAB_METHODS, np.array([kwargs["start_x"], kwargs["start_y"]]),
                                    kwargs["steps"], lr=kwargs["lr"], momentum=kwargs["momentum"],
                                    batch_size=kwargs["batch_size"], clip=None if clip == "off" else clip)
        cells = lab.caption.split(" &nbsp; ")
        assert len(cells) == len(runs), lab.caption
        for cell, (method, r) in zip(cells, runs.items()):
            if r["diverged"] is None:
                result = f"J - J* = {max(r['loss'][-1] - s.min_loss, 0.0):.2e}"
            else:
                result = f"blew up at step {r['diverged']}"
            assert cell.endswith(f" {widgets.LABELS[method]}: {result}"), f"{kwargs}: {cell!r}, expected {result!r}"


def test_rate_explorer_draws_a_png_and_captions_the_rates_of_its_settings():
    explorer = widgets.RateExplorer()
    for kwargs in widgets.BENCH_CASES[2][2][::4]:
        png = explorer.update(**kwargs)
        assert is_png(png) and len(png) < 150_000
        view = sgd_momentum.rate_view(kwargs["kappa"], kwargs["lr"], kwargs["momentum"], steps=explorer.steps)
        eta, mu, best = view["best_momentum"]
        assert (f"GD's rate is {view['rate_gd']:.4f} and momentum's {view['rate_momentum']:.4f} per step"
                in explorer.caption), explorer.caption
        assert f"momentum {best:.4f} at eta = {eta:.3f}, mu = {mu:.3f}" in explorer.caption, explorer.caption


def test_static_fallbacks_draw():
    fig = widgets.lab_grid([("a", dict(name="quadratic", kappa=30.0, steps=50, batch_size=8)),
                            ("b", dict(name="cliff", steps=50, clip=1.0))])
    assert len(fig.axes) == 4 and all(ax.lines for ax in fig.axes)
    # across=True: one column per setting, its map above its J - J*
    fig = widgets.lab_grid([("a", dict(name="quadratic", kappa=30.0, steps=50, batch_size=8)),
                            ("b", dict(name="cliff", steps=50, clip=1.0))], across=True)
    maps = [ax for ax in fig.axes if ax.get_title().startswith(("a:", "b:"))]
    gaps = [ax for ax in fig.axes if ax.get_yscale() == "log"]
    assert len(maps) == len(gaps) == 2 and fig.get_figwidth() > fig.get_figheight()
    for m, g in zip(maps, gaps):
        (mx, my), (gx, gy) = m.get_position().p0, g.get_position().p0
        assert abs(mx - gx) < 0.05 and my > gy, (m.get_title(), m.get_position(), g.get_position())
    assert maps[0].get_position().x0 < maps[1].get_position().x0
    fig = widgets.rate_grid((10.0,))
    assert len(fig.axes[1].lines) == 4


def test_lab_grid_draws_lab_runs_under_one_legend():
    settings = [("a", dict(name="quadratic", kappa=30.0, steps=50, batch_size=8)), ("b", dict(name="rosenbrock", steps=50))]
    runs = widgets.lab_runs(settings, methods=widgets.ADAPTIVE_METHODS)
    s = sgd_momentum.make("quadratic", kappa=30.0)
    expected = sgd_momentum.compare(s, widgets.ADAPTIVE_METHODS, s.start, 50, lr=s.lr, batch_size=8)
    assert runs["a"][0] is not None and runs["a"][2] == 50
    for m in widgets.ADAPTIVE_METHODS:
        np.testing.assert_array_equal(runs["a"][1][m]["path"], expected[m]["path"])
    for fig in (widgets.lab_grid(settings, methods=widgets.ADAPTIVE_METHODS, runs=runs),
                widgets.lab_grid(settings, methods=widgets.ADAPTIVE_METHODS)):
        (legend,) = fig.legends
        assert [t.get_text() for t in legend.get_texts()] == [widgets.LABELS[m] for m in widgets.ADAPTIVE_METHODS]
        colours = [h.get_color() for h in legend.legend_handles]
        assert colours == [widgets.COLORS[m] for m in widgets.ADAPTIVE_METHODS]


def test_rate_grid_titles_are_inside_the_figure_and_clear_of_the_colourbars():
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = widgets.rate_grid((10.0, 100.0))
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    colourbars = [ax.get_window_extent(renderer) for ax in fig.axes if ax.get_label() == "<colorbar>"]
    assert len(colourbars) == 2
    for ax in fig.axes:
        if ax.get_label() == "<colorbar>":
            continue
        box = ax.title.get_window_extent(renderer)
        assert fig.bbox.x0 <= box.x0 and box.x1 <= fig.bbox.x1, ax.title.get_text()
        assert not any(box.overlaps(bar) for bar in colourbars), ax.title.get_text()
