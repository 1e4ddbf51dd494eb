"""Lesson 04's calculus (dlteach.experiments.softmax_gradient) and the pure functions behind its widgets.

Gradients against central differences, dlteach.losses and PyTorch; the Jacobian's properties as
hypothesis properties; the widget callbacks over a grid of slider settings.
"""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from dlteach import functional, layers, losses
from dlteach.experiments import softmax_gradient as sc
from dlteach.gradcheck import numerical_gradient, rel_error

GRID = np.linspace(-4.0, 4.0, 9)     # the widgets' logit slider range, coarsely
logit_vectors = st.integers(2, 8).flatmap(
    lambda C: arrays(np.float64, C, elements=st.floats(-30, 30, allow_nan=False)))


def test_jacobian_matches_central_differences():
    rng = np.random.default_rng(0)
    for C in (2, 3, 5, 10):
        h = rng.standard_normal(C) * 2
        J = sc.softmax_jacobian(h)
        J_num = sc.numerical_jacobian(functional.softmax, h)
        assert rel_error(J, J_num) < 1e-8, f"C={C}: mine {J} vs numerical {J_num}"


def test_jacobian_entries_are_the_slide_formulas():
    h = np.array([1.0, -0.5, 2.0, 0.0])
    a = functional.softmax(h)
    J = sc.softmax_jacobian(h)
    for j, k in itertools.product(range(4), repeat=2):
        expected = a[j] * (1 - a[j]) if j == k else -a[j] * a[k]
        assert J[j, k] == pytest.approx(expected, rel=1e-14, abs=1e-16)


def test_batched_jacobian_is_one_per_row():
    H = np.random.default_rng(1).standard_normal((5, 3))
    J = sc.softmax_jacobian(H)
    assert J.shape == (5, 3, 3)
    for n in range(5):
        np.testing.assert_allclose(J[n], sc.softmax_jacobian(H[n]), rtol=0, atol=1e-16)


@settings(max_examples=60, deadline=None)
@given(logit_vectors)
def test_jacobian_properties(h):
    J = sc.softmax_jacobian(h)
    props = sc.jacobian_properties(J)
    assert props["asymmetry"] == 0.0                         # a_j a_k = a_k a_j, exactly
    assert props["max_row_sum"] < 1e-15 * len(h) + 1e-16    # J 1 = a - a (a . 1) = 0
    assert props["rank"] <= len(h) - 1                      # singular: shifting h changes nothing
    assert props["min_eig"] > -1e-14                        # a covariance matrix: PSD
    assert props["max_eig"] <= 0.5 + 1e-12
    assert np.abs(J).max() <= 0.25 + 1e-15                  # a_j (1 - a_j) <= 1/4 and a_j a_k <= 1/4
    assert props["trace"] == pytest.approx(1 - np.sum(functional.softmax(h) ** 2), abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(logit_vectors, st.floats(-50, 50))
def test_jacobian_and_gradient_ignore_shifts(h, c):
    y = len(h) - 1
    np.testing.assert_allclose(sc.softmax_jacobian(h + c), sc.softmax_jacobian(h), atol=1e-12)
    np.testing.assert_allclose(sc.cross_entropy_grad(h + c, y), sc.cross_entropy_grad(h, y), atol=1e-12)


@settings(max_examples=60, deadline=None)
@given(logit_vectors, st.data())
def test_gradient_rows_sum_to_zero_and_stay_below_one(h, data):
    y = data.draw(st.integers(0, len(h) - 1))
    g = sc.cross_entropy_grad(h, y)
    assert abs(g.sum()) < 1e-14 * len(h) + 1e-15
    assert np.all(np.abs(g) <= 1.0)
    assert g[y] <= 0 and np.all(np.delete(g, y) >= 0)      # push the true logit up, the rest down


def test_gradient_matches_central_differences_and_losses_module():
    rng = np.random.default_rng(2)
    H = rng.standard_normal((6, 4)) * 3
    labels = rng.integers(0, 4, 6)
    g = sc.cross_entropy_grad(H, labels)
    for n in range(6):
        h = H[n].copy()
        num = numerical_gradient(lambda: sc.cross_entropy(h, int(labels[n])), h)
        assert rel_error(g[n], num) < 1e-8
    loss, dlogits = losses.softmax_cross_entropy(H, labels)
    assert rel_error(g / 6, dlogits) < 1e-14                  # the library averages over the batch
    assert sc.cross_entropy(H, labels).mean() == pytest.approx(loss, rel=1e-14)
    soft = functional.softmax(rng.standard_normal((6, 4)))   # probability targets, not only one-hot
    assert rel_error(sc.cross_entropy_grad(H, soft) / 6, losses.softmax_cross_entropy(H, soft)[1]) < 1e-14


def test_chain_rule_through_jacobian_gives_a_minus_y():
    rng = np.random.default_rng(3)
    H = rng.standard_normal((7, 5))
    labels = rng.integers(0, 5, 7)
    assert rel_error(sc.grad_through_jacobian(H, labels), sc.cross_entropy_grad(H, labels)) < 1e-14


def test_target_summing_to_s_gives_s_a_minus_y():
    """Check-yourself question 2: a target whose entries sum to s gives dL/dh = s a - y, zero at a = y / s."""
    rng = np.random.default_rng(3)
    for s in (0.5, 1.0, 2.5):
        h = rng.standard_normal(4)
        y = s * functional.softmax(rng.standard_normal(4))          # (4,), sums to s
        probe = h.copy()
        numeric = numerical_gradient(lambda: -np.sum(y * functional.log_softmax(probe)), probe)
        a = functional.softmax(h)
        assert rel_error(s * a - y, numeric) < 1e-8, f"s={s}: s a - y {s * a - y} vs numerical {numeric}"
    h_star = np.log(y / s)                                          # softmax(h_star) = y / s
    assert np.allclose(s * functional.softmax(h_star) - y, 0, atol=1e-15)
    assert np.abs(s * y - y).max() > 0.1                            # at a = y itself it is not zero


def test_chain_rule_breaks_where_the_fused_gradient_does_not():
    h = np.array([0.0, 1000.0])                     # a_0 underflows to 0: -y/a is -inf
    assert np.all(np.isnan(sc.grad_through_jacobian(h, 0)))
    np.testing.assert_array_equal(sc.cross_entropy_grad(h, 0), [-1.0, 1.0])
    assert sc.cross_entropy(h, 0) == pytest.approx(1000.0)


def test_two_classes_reduce_to_the_sigmoid():
    for d in GRID:
        h = np.array([d, 0.0])
        s = functional.sigmoid(np.array(d))
        assert sc.softmax_jacobian(h)[0, 0] == pytest.approx(s * (1 - s), rel=1e-12)
        assert sc.cross_entropy_grad(h, 0)[0] == pytest.approx(s - 1, rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("N, D, M", [(1, 3, 4), (5, 3, 4), (8, 6, 2)])
def test_slide_network_matches_library_layers_and_central_differences(N, D, M):
    rng = np.random.default_rng(N * 100 + D * 10 + M)
    x = rng.standard_normal((N, D))
    labels = rng.integers(0, M, N)
    W = rng.standard_normal((D, M))
    b = rng.standard_normal(M)
    h = x @ W + b
    b += np.where(np.abs(h) < 1e-2, 0.05, 0.0).max(axis=0)   # keep h off the ReLU kink
    loss, grads, cache = sc.slide_network(x, labels, W, b)

    lin, relu = layers.Linear(D, M, rng=rng), layers.ReLU()
    lin.params["W"][...], lin.params["b"][...] = W, b
    ref_loss, dr = losses.softmax_cross_entropy(relu.forward(lin.forward(x)), labels)
    lin.backward(relu.backward(dr))
    assert loss == pytest.approx(ref_loss, rel=1e-14)
    assert rel_error(grads["W"], lin.grads["W"]) < 1e-14
    assert rel_error(grads["b"], lin.grads["b"]) < 1e-14

    Wc, bc = W.copy(), b.copy()
    num_W = numerical_gradient(lambda: sc.slide_network(x, labels, Wc, bc)[0], Wc)
    num_b = numerical_gradient(lambda: sc.slide_network(x, labels, Wc, bc)[0], bc)
    assert rel_error(grads["W"], num_W) < 1e-7
    assert rel_error(grads["b"], num_b) < 1e-7
    np.testing.assert_array_equal(cache["dh"], cache["dr"] * (cache["h"] > 0))


def test_slide_network_matches_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    x, W, b = rng.standard_normal((6, 5)), rng.standard_normal((5, 3)), rng.standard_normal(3)
    labels = rng.integers(0, 3, 6)
    loss, grads, _ = sc.slide_network(x, labels, W, b)
    Wt = torch.tensor(W, requires_grad=True)
    bt = torch.tensor(b, requires_grad=True)
    out = torch.nn.functional.cross_entropy(torch.relu(torch.tensor(x) @ Wt + bt), torch.tensor(labels))
    out.backward()
    assert loss == pytest.approx(out.item(), rel=1e-12), f"mine {loss} vs torch {out.item()}"
    assert rel_error(grads["W"], Wt.grad.numpy()) < 1e-12
    assert rel_error(grads["b"], bt.grad.numpy()) < 1e-12


def test_inputs_are_not_mutated():
    h = np.array([1.0, 2.0, 3.0])
    kept = h.copy()
    sc.softmax_jacobian(h), sc.cross_entropy_grad(h, 1), sc.grad_through_jacobian(h, 1)
    sc.numerical_jacobian(functional.softmax, h), sc.softmax_view(h, 0)
    sc.loss_surface(h, 0, 0, 1, GRID, GRID), sc.true_logit_sweep(h, 0, GRID)
    np.testing.assert_array_equal(h, kept)


@pytest.mark.parametrize("call, message", [
    (lambda: sc.softmax_jacobian(np.array([1.0])), "at least 2 logits"),
    (lambda: sc.softmax_jacobian(np.array([1, 2])), "dtype int"),
    (lambda: sc.cross_entropy_grad(np.zeros(3), 3), "out of range"),
    (lambda: sc.cross_entropy_grad(np.zeros((2, 3)), np.array([0])), "must have shape (2,)"),
    (lambda: sc.cross_entropy_grad(np.zeros(3), np.array([0.5, 0.0, 0.0])), "summing to 1"),
    (lambda: sc.softmax_view(np.zeros(3), 5), "'true_class'"),
    (lambda: sc.loss_surface(np.zeros(3), 0, 1, 1, GRID, GRID), "two different logits"),
    (lambda: sc.slide_network(np.zeros((2, 3)), np.array([0, 1]), np.zeros((4, 2)), np.zeros(2)),
     "shapes do not fit"),
    (lambda: sc.jacobian_properties(np.zeros((2, 3))), "square"),
])
def test_errors_name_the_argument(call, message):
    with pytest.raises((ValueError, TypeError), match=message.replace("(", r"\(").replace(")", r"\)")):
        call()


# The pure functions behind the widgets, over a grid of slider settings.

@pytest.mark.parametrize("true_class", range(4))
def test_softmax_view_over_the_explorer_sliders(true_class):
    for h in itertools.product(GRID[::2], repeat=4):       # 5^4 settings of h_0..h_3
        view = sc.softmax_view(np.array(h), true_class)
        a, y, J, g = view["a"], view["y"], view["J"], view["grad"]
        assert a.sum() == pytest.approx(1.0, abs=1e-14) and np.all(a > 0)
        assert y[true_class] == 1.0 and y.sum() == 1.0
        np.testing.assert_allclose(J, np.diag(a) - np.outer(a, a), atol=1e-16)
        assert np.abs(J).max() <= 0.25
        assert abs(g.sum()) < 1e-14 and np.all(np.abs(g) < 1)
        assert view["loss"] == pytest.approx(-np.log(a[true_class]), rel=1e-12)
        assert int(np.argmax(a)) == int(np.argmax(h))


@pytest.mark.parametrize("C", range(2, 11))
def test_loss_surface_over_the_landscape_sliders(C):
    L = sc.loss_surface(np.zeros(C), 0, 0, 1, GRID, GRID)
    assert L.shape == (GRID.size, GRID.size) and np.all(L > 0)
    assert np.all(np.diff(L, axis=1) < 0)                   # raising the true logit always helps
    assert np.all(np.diff(L, axis=0) > 0)                   # raising the rival always hurts
    for (r, h1), (c, h0) in itertools.product(enumerate(GRID), enumerate(GRID)):
        h = np.zeros(C)
        h[0], h[1] = h0, h1
        assert L[r, c] == pytest.approx(sc.cross_entropy(h, 0), rel=1e-12)


@pytest.mark.parametrize("C", range(2, 11))
def test_true_logit_sweep_over_the_landscape_sliders(C):
    for h_rival in GRID:
        h = np.zeros(C)
        h[1] = h_rival
        sweep = sc.true_logit_sweep(h, 0, GRID)
        p = sweep["p_true"]
        assert np.all(np.diff(p) > 0)                       # a_y rises with h_y ...
        assert np.all(np.diff(sweep["loss"]) < 0)           # ... so L falls ...
        assert np.all(np.diff(sweep["grad_norm"]) < 0)      # ... and the gradient fades
        np.testing.assert_allclose(sweep["grad_true"], p - 1, atol=1e-15)
        np.testing.assert_allclose(sweep["jac_diag"], p * (1 - p), atol=1e-15)
        assert np.all(sweep["jac_diag"] <= 0.25)
        np.testing.assert_allclose(sweep["loss"], -np.log(p), rtol=1e-12)
    tied = sc.true_logit_sweep(np.zeros(C), 0, GRID)       # rivals tied: ||a - y|| = (1 - a_y) sqrt(C/(C-1))
    np.testing.assert_allclose(tied["grad_norm"], (1 - tied["p_true"]) * np.sqrt(C / (C - 1)), rtol=1e-12)


def test_widget_callbacks_draw_what_the_pure_functions_return():
    import matplotlib.pyplot as plt

    from dlteach.widgets import softmax_gradient as widget

    names = [name for name, _, _ in widget.BENCH_CASES]
    assert names == ["softmax.logits_explorer", "softmax.loss_landscape"]
    explorer = widget.LogitsExplorer()
    png = explorer.update(h0=2.0, h1=1.0, h2=0.0, h3=-1.0, true_class=2)
    assert png.startswith(b"\x89PNG")
    view = sc.softmax_view(np.array([2.0, 1.0, 0.0, -1.0]), 2)
    assert [bar.get_height() for bar in explorer.bars_a] == pytest.approx(view["a"].tolist())
    assert [bar.get_height() for bar in explorer.bars_g] == pytest.approx(view["grad"].tolist())
    np.testing.assert_array_equal(explorer.im.get_array(), view["J"])
    assert f"a_y = {view['a'][2]:.3f}" in explorer.caption

    landscape = widget.LossLandscape()
    assert landscape.update(h_true=1.0, h_rival=-2.0, n_classes=5).startswith(b"\x89PNG")
    h = np.array([1.0, -2.0, 0.0, 0.0, 0.0])
    np.testing.assert_allclose(landscape.arrow.U, [-sc.cross_entropy_grad(h, 0)[0]])
    np.testing.assert_allclose(landscape.line_loss.get_ydata(),
                               sc.true_logit_sweep(h, 0, widget.LossLandscape.GRID)["loss"])
    for name, fn, cases in widget.BENCH_CASES:              # every bench case runs
        assert all(fn(**kwargs).startswith(b"\x89PNG") for kwargs in cases[:3]), name
    for fig in (widget.explorer_grid([("a", [1.0, 0.0, 0.0, 0.0], 0)]), widget.landscape_overview(4)):
        assert len(fig.axes) >= 3
        plt.close(fig)
