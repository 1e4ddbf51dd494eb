"""Optimizers: the update rules the course teaches, checked on arrays and on small models."""

import numpy as np
import pytest

from dlteach import layers, losses, optim


def quadratic_model(w0):
    """A Linear layer whose only job is to hold w, with a gradient we set by hand."""
    layer = layers.Linear(len(w0), 1, rng=np.random.default_rng(0))
    layer.params["W"][:, 0] = w0
    layer.params["b"][:] = 0
    return layer


def set_grads(layer, gW):
    layer.grads["W"] = np.asarray(gW, dtype=float).reshape(layer.params["W"].shape)
    layer.grads["b"] = np.zeros_like(layer.params["b"])


def test_plain_sgd_step():
    layer = quadratic_model([1.0, 2.0])
    set_grads(layer, [0.5, -1.0])
    optim.SGD(layer, 0.1).step()
    np.testing.assert_allclose(layer.params["W"][:, 0], [0.95, 2.1])


def test_momentum_matches_the_slide_recursion():
    w, v = np.array([1.0]), np.zeros(1)
    g_seq = [1.0, 0.5, -0.25]
    layer = quadratic_model(w.copy())
    opt = optim.SGD(layer, 0.1, momentum=0.9)
    for g in g_seq:
        v = 0.9 * v - 0.1 * g          # v <- mu v - eta g
        w = w + v                      # w <- w + v
        set_grads(layer, [g])
        opt.step()
    np.testing.assert_allclose(layer.params["W"][:, 0], w)


def test_nesterov_looks_ahead():
    w, v = np.array([1.0]), np.zeros(1)
    layer = quadratic_model(w.copy())
    opt = optim.SGD(layer, 0.1, momentum=0.5, nesterov=True)
    for g in [1.0, 2.0]:
        v = 0.5 * v - 0.1 * g
        w = w + 0.5 * v - 0.1 * g
        set_grads(layer, [g])
        opt.step()
    np.testing.assert_allclose(layer.params["W"][:, 0], w)


def test_clipping_rescales_to_tau_and_keeps_stored_grads():
    layer = quadratic_model([0.0, 0.0])
    set_grads(layer, [3.0, 4.0])                     # norm 5
    opt = optim.SGD(layer, 1.0, clip_norm=1.0)
    opt.step()
    np.testing.assert_allclose(layer.params["W"][:, 0], [-0.6, -0.8])   # w - eta tau g / ||g||
    assert opt.last_grad_norm == pytest.approx(5.0)
    np.testing.assert_allclose(layer.grads["W"][:, 0], [3.0, 4.0])


def test_clipping_leaves_small_gradients_alone():
    grads = [np.array([0.3]), np.array([0.4])]
    assert optim.clip_by_norm(grads, 1.0) == pytest.approx(0.5)
    np.testing.assert_allclose(np.concatenate(grads), [0.3, 0.4])


def test_weight_decay_adds_lambda_w():
    layer = quadratic_model([2.0])
    set_grads(layer, [0.0])
    optim.SGD(layer, 0.1, weight_decay=0.5).step()
    np.testing.assert_allclose(layer.params["W"][:, 0], [2.0 - 0.1 * 0.5 * 2.0])


def test_polyak_average_is_the_running_mean_and_swaps_back():
    layer = quadratic_model([0.0])
    avg = optim.PolyakAverage(layer, start=1)
    seen = []
    for w in [10.0, 1.0, 2.0, 3.0]:
        layer.params["W"][:, 0] = w
        avg.update()
        seen.append(w)
    np.testing.assert_allclose(avg.average["W"][:, 0], [np.mean(seen[1:])])   # t0 = 1 skips the first
    with avg.swapped() as model:
        assert model.params["W"][0, 0] == pytest.approx(2.0)
    assert layer.params["W"][0, 0] == 3.0


def test_polyak_average_smooths_noisy_sgd():
    """Near the minimum of a quadratic, noisy SGD jitters; its running average sits much closer."""
    rng = np.random.default_rng(0)
    layer = quadratic_model([3.0, -2.0])
    opt = optim.SGD(layer, 0.1)
    avg = optim.PolyakAverage(layer, start=100)
    for _ in range(600):
        w = layer.params["W"][:, 0]
        set_grads(layer, w + rng.normal(0, 1.0, 2))        # grad of |w|^2 / 2, plus noise
        opt.step()
        avg.update()
    assert np.linalg.norm(avg.average["W"]) < 0.5 * np.linalg.norm(layer.params["W"])


@pytest.mark.parametrize("make", [
    lambda m: optim.SGD(m, 0.5, momentum=0.9), lambda m: optim.RMSProp(m, 0.01), lambda m: optim.Adam(m, 0.05),
])
def test_optimizers_reduce_the_loss(make):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 2))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    model = layers.Sequential(layers.Linear(2, 8, rng=rng), layers.Tanh(), layers.Linear(8, 2, rng=rng))
    opt = make(model)
    first = losses.softmax_cross_entropy(model(X), y)[0]
    for _ in range(60):
        loss, dh = losses.softmax_cross_entropy(model(X), y)
        model.backward(dh)
        opt.step()
    assert loss < 0.5 * first
