"""Lesson 08: dlteach.experiments.lstm and the widgets over it.

Gradients through time against powers of Wh and the library RNN's backward pass; the scalar
cliff's gradient against central differences, and clipping against optim.clip_by_norm; the LSTM
reference step and the hand-set cell against layers.LSTM; the OpenBLAS switch restoring what it
found; the memory task's claims for the stored settings; every widget over a grid of its sliders.
"""

import os

import ipywidgets as ipw
import matplotlib.pyplot as plt
import numpy as np
import pytest
from cases import descendants
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from dlteach import gradcheck, layers, losses, optim
from dlteach.experiments import lstm as sq
from dlteach.gradcheck import numerical_gradient, rel_error
from dlteach.widgets import lstm as widgets

PNG = b"\x89PNG\r\n\x1a\n"
RADII = (0.5, 0.8, 0.95, 1.0, 1.05, 1.2, 1.5)     # the rho slider's range, coarsely


# ---------------------------------------------------------------- spectral radius, gradients through time

def test_recurrent_matrix_has_the_spectral_radius_asked_for_and_rescales_one_matrix():
    for radius in RADII:
        W = sq.recurrent_matrix(radius, hidden=16, seed=3)
        assert sq.spectral_radius(W) == pytest.approx(radius, rel=1e-10)
    np.testing.assert_allclose(sq.recurrent_matrix(2.0, hidden=16, seed=3),
                               2 * sq.recurrent_matrix(1.0, hidden=16, seed=3), rtol=1e-15)
    W = sq.recurrent_matrix(1.0, hidden=16, seed=3)
    W[...] = 0.0                                          # a copy: the cached base is untouched
    assert sq.spectral_radius(sq.recurrent_matrix(1.0, hidden=16, seed=3)) == pytest.approx(1.0)
    assert not np.allclose(sq.recurrent_matrix(1.0, hidden=16, seed=4), sq.recurrent_matrix(1.0, hidden=16, seed=3))


def test_spectral_radius_is_the_largest_eigenvalue_modulus_and_wants_a_square_matrix():
    assert sq.spectral_radius(np.array([[0.0, -2.0], [2.0, 0.0]])) == pytest.approx(2.0)   # eigenvalues +-2i
    assert sq.spectral_radius(np.diag([0.5, -3.0, 1.0])) == pytest.approx(3.0)
    with pytest.raises(ValueError, match="spectral_radius: argument 'W' has shape"):
        sq.spectral_radius(np.ones((2, 3)))


@pytest.mark.parametrize("radius", RADII)
def test_linear_gradient_is_the_unit_gradient_times_powers_of_wh_transposed(radius):
    T, H = 30, 8
    norms = sq.gradient_through_time(radius, T, hidden=H, activation="linear", seed=2)
    Wh = sq.recurrent_matrix(radius, hidden=H, seed=2)
    rng = np.random.default_rng(3)                        # the function's draws: the drive, then dL/ds_T
    rng.normal(size=(T, H))
    g = rng.normal(size=H)
    g /= np.linalg.norm(g)
    expected = [np.linalg.norm(g @ np.linalg.matrix_power(Wh.T, k)) for k in range(T)]
    np.testing.assert_allclose(norms, expected, rtol=1e-10)
    assert norms[0] == pytest.approx(1.0)
    mine = np.arange(1.0, H + 1)                          # any dL/ds_T, passed in
    np.testing.assert_allclose(sq.gradient_through_time(radius, T, hidden=H, activation="linear", seed=2, grad_last=mine),
                               [np.linalg.norm(mine @ np.linalg.matrix_power(Wh.T, k)) for k in range(T)], rtol=1e-10)
    with pytest.raises(ValueError, match="'grad_last' has shape"):
        sq.gradient_through_time(radius, T, hidden=H, grad_last=np.ones(H + 1))


@pytest.mark.parametrize("radius", [0.7, 1.0, 1.3])
@pytest.mark.parametrize("input_scale", [0.1, 1.0])
def test_tanh_gradient_is_what_the_library_rnn_backpropagates(radius, input_scale):
    T, H, seed = 25, 8, 5
    norms = sq.gradient_through_time(radius, T, hidden=H, input_scale=input_scale, seed=seed)
    rng = np.random.default_rng(seed + 1)
    drive = rng.normal(scale=input_scale, size=(T, H))
    g = rng.normal(size=H)
    g /= np.linalg.norm(g)
    rnn = layers.RNN(H, H, rng=np.random.default_rng(0))
    Wh = sq.recurrent_matrix(radius, hidden=H, seed=seed)
    rnn.params["Wx"][...] = np.eye(H)                     # so that x_t Wx is the drive and dL/dx_t = dL/da_t
    rnn.params["Wh"][...] = Wh
    rnn.forward(drive[None])
    dout = np.zeros((1, T, H))
    dout[0, -1] = g                                       # the loss sees only the last state
    dA = rnn.backward(dout)[0]                            # (T, H)
    # dL/ds_(t-1) = dL/da_t Wh^T: the state k steps back gets dA at step T - k.
    library = [1.0] + [np.linalg.norm(dA[T - k] @ Wh.T) for k in range(1, T)]
    np.testing.assert_allclose(norms, library, rtol=1e-9)


def test_tanh_without_input_stays_at_zero_where_it_is_linear():
    for radius in RADII:
        np.testing.assert_allclose(sq.gradient_through_time(radius, 40, input_scale=0.0),
                                   sq.gradient_through_time(radius, 40, activation="linear"), rtol=1e-12)


@pytest.mark.parametrize("radius", RADII)
def test_per_step_factor_tends_to_the_spectral_radius_and_tanh_never_beats_the_norm_bound(radius):
    linear = sq.gradient_through_time(radius, 200, activation="linear")
    assert abs(sq.per_step_factor(linear) - radius) < 0.02 * radius        # ||W^k||^(1/k) -> rho, off by log(C) / T
    sigma = np.linalg.norm(sq.recurrent_matrix(radius), 2)                 # ||Wh||_2 >= rho
    assert sigma >= radius
    k = np.arange(100)
    for scale in (0.0, 0.3, 1.0, 2.0):
        tanh = sq.gradient_through_time(radius, 100, input_scale=scale)
        assert np.all(tanh <= sigma ** k * (1 + 1e-9))                     # each step: |phi'| <= 1 times ||Wh||_2
        assert tanh[-1] <= 1.0 or radius > 1                               # tanh cannot make rho <= 1 explode


def test_gradient_vanishes_for_small_rho_and_explodes_for_large_rho_over_the_slider_grid():
    for T in (2, 10, 50, widgets.T_MAX):
        small = sq.gradient_through_time(0.5, T, activation="linear")
        large = sq.gradient_through_time(1.5, T, activation="linear")
        assert np.all(np.isfinite(small)) and np.all(np.isfinite(large))
        if T >= 50:
            assert small[-1] < 1e-10 and large[-1] > 1e6
    with pytest.raises(ValueError, match="'activation'"):
        sq.gradient_through_time(1.0, 5, activation="relu")
    with pytest.raises(ValueError, match="'T'"):
        sq.gradient_through_time(1.0, 0)
    with pytest.raises(ValueError, match="at least 2"):
        sq.per_step_factor(np.ones(1))


# ---------------------------------------------------------------- the cliff and clipping

@pytest.mark.parametrize("T", [5, 20, 30])
def test_scalar_rnn_gradient_matches_central_differences(T):
    for w in (-1.05, -0.3, 0.5, 0.9, 1.0, 1.04, 1.1):
        probe = np.array([w])
        numeric = numerical_gradient(lambda: float(sq.scalar_rnn_loss(probe[0], T)[0]), probe, h=1e-6)[0]
        analytic = float(sq.scalar_rnn_loss(w, T)[1])
        if abs(analytic) > 1e-2:
            assert rel_error(analytic, numeric) < 1e-6, (w, analytic, numeric)
        else:      # on the plateau L ~ 2 and dL/dw ~ 1e-9: differences of L resolve only ~1e-10 / h
            assert abs(analytic - numeric) < 1e-8, (w, analytic, numeric)


def test_the_cliff_past_one_and_clipping_bounds_every_step():
    _, before = sq.scalar_rnn_loss(0.9, 20)
    _, after = sq.scalar_rnn_loss(1.1, 20)
    assert abs(after) > 100 * abs(before)                 # T w^(T-1): small below 1, huge above
    plain = sq.descend_scalar_rnn(0.9, T=20, lr=0.01, steps=300)
    clipped = sq.descend_scalar_rnn(0.9, T=20, lr=0.01, steps=300, clip=1.0)
    assert len(plain["w"]) < 300 and not abs(plain["w"][-1]) <= 1e6     # thrown off the cliff, stopped early
    assert len(clipped["w"]) == 301
    assert np.abs(np.diff(clipped["w"])).max() <= 0.01 * 1.0 + 1e-15    # no step longer than lr tau
    assert abs(clipped["w"][-1] - 2 ** (1 / 20)) <= 0.01                 # within lr tau of the minimum
    np.testing.assert_allclose(clipped["loss"], sq.scalar_rnn_loss(clipped["w"], 20)[0])
    # The clipped step is optim.clip_by_norm's.
    w = 1.1
    g = np.array([float(sq.scalar_rnn_loss(w, 20)[1])])
    optim.clip_by_norm([g], 1.0)
    second = sq.descend_scalar_rnn(w, T=20, lr=0.01, steps=1, clip=1.0)["w"][1]
    assert second == pytest.approx(w - 0.01 * g[0])


# ---------------------------------------------------------------- the LSTM step and the cell

def _random_lstm(rng, D=3, H=4):
    lstm = layers.LSTM(D, H, rng=rng)
    lstm.params["b"][:] = rng.normal(scale=0.5, size=4 * H)
    return lstm


def test_lstm_step_and_trace_match_the_library_layer():
    rng = np.random.default_rng(0)
    lstm = _random_lstm(rng)
    x = rng.normal(size=(2, 7, 3))
    trace = sq.lstm_trace(lstm, x)
    np.testing.assert_allclose(trace["s"], lstm.forward(x), rtol=1e-12, atol=1e-14)
    for name in "ifo":
        assert np.all((trace[name] > 0) & (trace[name] < 1))
    np.testing.assert_allclose(trace["s"], trace["o"] * np.tanh(trace["c"]), rtol=1e-15)
    c_prev = np.concatenate([np.zeros((2, 1, 4)), trace["c"][:, :-1]], axis=1)
    np.testing.assert_allclose(trace["c"], trace["f"] * c_prev + trace["i"] * trace["g"], rtol=1e-13, atol=1e-15)
    with pytest.raises(TypeError, match="lstm_trace: argument 'lstm'"):
        sq.lstm_trace(layers.RNN(3, 4, rng=rng), x)


def test_lstm_step_names_a_misshapen_argument():
    with pytest.raises(ValueError, match=r"lstm_step: argument 'Wh' has shape \(3, 8\); expected \(2, 8\)"):
        sq.lstm_step(np.zeros((1, 3)), np.zeros((1, 2)), np.zeros((1, 2)), np.zeros((3, 8)), np.zeros((3, 8)), np.zeros(8))


def test_lstm_step_never_overflows_for_huge_pre_activations():
    H = 2
    b = np.array([-1e4, 1e4, 1e4, -1e4, 1e4, -1e4, -1e4, 1e4])
    step = sq.lstm_step(np.zeros((1, 1)), np.zeros((1, H)), np.ones((1, H)), np.zeros((1, 4 * H)),
                        np.zeros((H, 4 * H)), b)
    np.testing.assert_array_equal(step["i"], [[0.0, 1.0]])
    np.testing.assert_array_equal(step["c"], [[1.0, -1.0]])  # f = (1, 0), i = (0, 1), g = (1, -1)


def _random_gates(seed, T):
    """Gates i, f, o inside (0, 1) and candidates g inside (-1, 1), for T steps."""
    rng = np.random.default_rng(seed)
    i, f, o = rng.uniform(0.05, 0.95, size=(3, T))
    return i, f, rng.uniform(-0.9, 0.9, size=T), o


def test_cell_from_gates_is_the_library_lstm_run_with_those_gates():
    T = 12
    i, f, g, o = _random_gates(1, T)
    C, s = sq.cell_from_gates(i, f, g, o)
    lstm, x = sq.lstm_for_gates(i, f, g, o)
    np.testing.assert_allclose(lstm.forward(x)[0, :, 0], s, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(sq.lstm_trace(lstm, x)["c"][0, :, 0], C, rtol=1e-12, atol=1e-15)
    with pytest.raises(ValueError, match="lstm_for_gates"):
        sq.lstm_for_gates(np.ones(T), f, g, o)
    with pytest.raises(ValueError, match="one shape"):
        sq.cell_from_gates(i, f, g[:-1], o)


def test_the_cell_gradient_along_the_carousel_is_the_product_of_forget_gates():
    # Wh = 0: the only path from the candidate written at step 0 to s_T runs along the cell,
    # ds_T/da_g0 = o_T (1 - tanh(C_T)^2) f_1 ... f_T i_0 (1 - g_0^2).
    T = 15
    i, f, g, o = _random_gates(2, T)
    lstm, x = sq.lstm_for_gates(i, f, g, o)
    lstm.forward(x)
    dout = np.zeros((1, T, 1))
    dout[0, -1, 0] = 1.0
    dx = lstm.backward(dout)
    C, _ = sq.cell_from_gates(i, f, g, o)
    expected = o[-1] * (1 - np.tanh(C[-1]) ** 2) * np.prod(f[1:]) * i[0] * (1 - g[0] ** 2)
    assert dx[0, 0, 2] == pytest.approx(expected, rel=1e-10)


@pytest.mark.parametrize("forget", [0.0, 0.5, 0.9, 0.95, 1.0])
@pytest.mark.parametrize("input_gate", [0.0, 0.5, 1.0])
@pytest.mark.parametrize("erase_at", [None, 1, 20])
def test_gated_cell_over_the_slider_grid(forget, input_gate, erase_at):
    run = sq.gated_cell(forget, input_gate, 0.7, steps=widgets.CELL_STEPS, erase_at=erase_at)
    t = run["t"]
    assert all(run[k].shape == (widgets.CELL_STEPS,) for k in run)
    decay = np.where(t > 0, forget, 1.0) ** np.maximum(t, 0)
    if erase_at is not None:
        decay[erase_at:] = 0.0
    np.testing.assert_allclose(run["kept"], decay, rtol=1e-12, atol=1e-15)
    if input_gate == 0.0:
        np.testing.assert_allclose(run["C"], run["kept"], atol=1e-15)        # nothing else gets in
    np.testing.assert_allclose(run["s"], 0.7 * np.tanh(run["C"]), rtol=1e-15)
    C, s = sq.cell_from_gates(run["i"], run["f"], run["g"], run["o"])
    np.testing.assert_array_equal(run["C"], C)


def test_gated_cell_rejects_gates_outside_zero_one_and_bad_erase_steps():
    with pytest.raises(ValueError, match="'forget' is a gate value"):
        sq.gated_cell(1.2, 0.0, 1.0)
    with pytest.raises(ValueError, match="'input_gate' is a gate value"):
        sq.gated_cell(1.0, float("nan"), 1.0)
    with pytest.raises(ValueError, match="'erase_at'"):
        sq.gated_cell(1.0, 0.0, 1.0, steps=10, erase_at=10)


def test_memory_time_is_one_over_one_minus_the_forget_gate():
    b = np.array([-2.0, 0.0, 1.0, 4.0, 5.0])
    f = 1 / (1 + np.exp(-b))
    np.testing.assert_allclose(sq.memory_time(b), 1 / (1 - f), rtol=1e-12)
    assert sq.memory_time(0.0) == 2.0                                       # f = 1/2 halves: 2 steps


# ---------------------------------------------------------------- one BLAS thread

def test_single_thread_blas_sets_one_thread_inside_and_restores_what_it_found():
    environ = dict(os.environ)
    blas = sq._openblas()
    if blas is not None:
        get, set_ = blas
        before = get()
        with sq.single_thread_blas():
            assert get() == 1
        assert get() == before
        with pytest.raises(KeyError):
            with sq.single_thread_blas():
                raise KeyError("inside")
        assert get() == before
    assert dict(os.environ) == environ                    # OPENBLAS_* and friends are never touched


def test_single_thread_blas_is_a_no_op_without_openblas(monkeypatch):
    monkeypatch.setattr(sq, "_openblas", lambda: None)
    with sq.single_thread_blas():
        x = np.ones((64, 64)) @ np.ones((64, 64))
    assert x[0, 0] == 64.0


# ---------------------------------------------------------------- the memory task

def test_last_step_layer_gradient_and_errors():
    rng = np.random.default_rng(4)
    errors = gradcheck.check_layer(sq.LastStep(), rng.normal(size=(3, 4, 2)))
    assert max(errors.values()) < 1e-9
    with pytest.raises(RuntimeError, match="LastStep.backward called before forward"):
        sq.LastStep().backward(np.ones((3, 2)))


@pytest.mark.parametrize("kind", ["rnn", "lstm"])
def test_sequence_classifier_gradients_and_the_chrono_biases(kind):
    rng = np.random.default_rng(5)
    model = sq.sequence_classifier(kind, 3, 2, 4, rng=rng, forget_bias=2.0)
    if kind == "lstm":
        b = model.layers[0].params["b"]
        np.testing.assert_array_equal(b, [-2.0, -2.0, 2.0, 2.0, 0, 0, 0, 0])
    X = rng.normal(size=(2, 4, 3))
    out = model(X)
    assert out.shape == (2, 4)
    errors = gradcheck.check_layer(model, X)
    assert max(errors.values()) < 1e-7, errors
    with pytest.raises(ValueError, match="'kind'"):
        sq.sequence_classifier("gru", 3, 2, 4, rng=rng)


def test_memory_runs_lstm_keeps_solving_where_the_rnn_falls_to_chance():
    for T in sq.MEMORY_LENGTHS:
        rnn, lstm = sq.memory_run(T, "rnn"), sq.memory_run(T, "lstm")
        assert lstm["test_acc"] >= 0.95, (T, lstm["history"]["val_acc"])
        if T <= 20:
            assert rnn["test_acc"] >= 0.95, (T, rnn["history"]["val_acc"])
        else:
            assert rnn["test_acc"] <= 0.35, (T, rnn["history"]["val_acc"])
        assert rnn["chance"] == 0.25 and len(rnn["history"]["val_acc"]) == 12
    assert sq.memory_run(40, "lstm") is sq.memory_run(40, "lstm")        # cached: trained once



def test_rnn_with_more_epochs_depends_on_the_seed_as_lesson_08_says():
    """Lesson 08, section 7: at T = 40, 40 epochs take the RNN past 90% after 19 epochs with seed 0;
    with seed 2 it is still at chance."""
    lucky = sq.memory_run(40, "rnn", epochs=40)["history"]["val_acc"]
    assert np.flatnonzero(np.array(lucky) >= 0.9)[0] + 1 == 19, np.round(lucky, 2)
    unlucky = sq.memory_run(40, "rnn", epochs=40, seed=2)["history"]["val_acc"]
    assert max(unlucky) < 0.35, np.round(unlucky, 2)


def test_memory_runs_over_seeds_0_to_5_as_lesson_08_says():
    """Lesson 08, section 7: over seeds 0 to 5, in 12 epochs, the LSTM solves T = 40 every time and
    T = 60 five times (77% for seed 5); the RNN solves T = 20 four times (about 50% for seeds 4 and 5)
    and never passes 50% from T = 40 on."""
    acc = {(T, kind, seed): sq.memory_run(T, kind, seed=seed)["test_acc"]
           for seed in range(6) for T, kind in ((40, "lstm"), (60, "lstm"), (20, "rnn"), (40, "rnn"), (60, "rnn"))}
    solved = lambda T, kind: [s for s in range(6) if acc[T, kind, s] >= 0.95]   # noqa: E731
    assert solved(40, "lstm") == [0, 1, 2, 3, 4, 5]
    assert solved(60, "lstm") == [0, 1, 2, 3, 4] and round(acc[60, "lstm", 5], 2) == 0.77
    assert solved(20, "rnn") == [0, 1, 2, 3]
    assert all(0.4 <= acc[20, "rnn", s] <= 0.6 for s in (4, 5)), [acc[20, "rnn", s] for s in (4, 5)]
    assert all(acc[T, "rnn", s] <= 0.5 for T in (40, 60) for s in range(6))


def test_gradient_reach_vanishes_in_the_rnn_and_not_in_the_chrono_lstm():
    rnn = sq.gradient_reach(60, "rnn")
    lstm = sq.gradient_reach(60, "lstm")
    halving = sq.gradient_reach(60, "lstm", forget_bias=0.0)                # f = 1/2 at the start
    assert rnn.shape == lstm.shape == (60,)
    assert rnn[0] / rnn[-1] < 1e-10
    assert lstm[0] / lstm[-1] > 0.1
    assert halving[0] / halving[-1] < 1e-6
    # r_0 is the loss's gradient for the first input, averaged over the test set: check one row by hand.
    _, (X, y), model, _ = sq._memory_setup("test", 6, "lstm", 16, 256, 256, 4.0, 4, 4, 0)
    _, dout = losses.softmax_cross_entropy(model(X), y)
    dx = model.backward(dout)
    np.testing.assert_allclose(sq.gradient_reach(6, "lstm"), np.linalg.norm(dx, axis=2).mean(axis=0), rtol=1e-12)


# ---------------------------------------------------------------- widgets

def test_gradient_explorer_over_its_sliders():
    explorer = widgets.GradientExplorer()
    for radius in (0.5, 1.0, 1.5):
        for T in (2, 37, widgets.T_MAX):
            for scale in (0.0, 1.0, 2.0):
                png = explorer.update(radius=radius, T=T, input_scale=scale)
                assert png.startswith(PNG)
                assert f"rho(Wh) = {radius:.2f}" in explorer.caption and f"T - 1 = {T - 1}" in explorer.caption
    linear = explorer.linear.get_ydata()
    np.testing.assert_allclose(linear, sq.gradient_through_time(1.5, widgets.T_MAX, activation="linear"))


def test_cell_explorer_over_its_sliders():
    explorer = widgets.CellExplorer()
    for forget in (0.0, 0.5, 1.0):
        for erase_at in (0, 5, widgets.CELL_STEPS - 1):
            png = explorer.update(forget=forget, input_gate=0.3, output=0.5, write=1.0, erase_at=erase_at)
            assert png.startswith(PNG) and "After 39 steps" in explorer.caption
    assert "forever" in explorer.caption                 # forget = 1
    run = sq.gated_cell(1.0, 0.3, 0.5, steps=widgets.CELL_STEPS, erase_at=widgets.CELL_STEPS - 1)
    np.testing.assert_allclose(explorer.lines[2].get_ydata(), run["C"])


def test_memory_explorer_over_the_trained_lengths():
    explorer = widgets.MemoryExplorer()
    for T in sq.MEMORY_LENGTHS:
        assert explorer.update(T=T).startswith(PNG)
        assert f"T = {T}:" in explorer.caption
        np.testing.assert_allclose(explorer.curves["lstm"].get_ydata(), sq.memory_run(T, "lstm")["history"]["val_acc"])
    with pytest.raises(ValueError, match="expected one of"):
        explorer.update(T=7)


def test_static_fallbacks_and_diagrams_draw():
    figures = [widgets.gradient_grid(), widgets.cell_grid(), widgets.memory_grid()]
    axes = [widgets.draw_unrolled(), widgets.draw_lstm_cell()]
    try:
        assert all(isinstance(f, Figure) for f in figures) and all(isinstance(a, Axes) for a in axes)
        assert len(figures[0].axes) == 3 and len(figures[1].axes) == 4 and len(figures[2].axes) == 4
    finally:
        for fig in figures + [a.figure for a in axes]:
            plt.close(fig)


@pytest.mark.parametrize("build", [widgets.gradient_explorer, widgets.cell_explorer, widgets.memory_explorer])
def test_live_widgets_redraw_when_a_slider_moves(build):
    box = build()
    image = descendants(box, ipw.Image)[0]
    slider = (descendants(box, ipw.IntSlider) + descendants(box, ipw.FloatSlider)
              + descendants(box, ipw.SelectionSlider))[0]
    before = image.value
    if isinstance(slider, ipw.SelectionSlider):
        slider.value = slider.options[0]
    else:
        slider.value = slider.min if slider.value != slider.min else slider.max
    assert bytes(image.value) != bytes(before) and bytes(image.value).startswith(PNG)
