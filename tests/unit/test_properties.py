"""Invariants that must hold for any input: hypothesis draws the sizes and values."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from dlteach import functional, layers, losses, optim

from cases import LAYER_CASES

finite = st.floats(-50, 50, allow_nan=False, allow_infinity=False, width=64)
sizes = st.integers(1, 6)
SETTINGS = settings(max_examples=40, deadline=None)


@st.composite
def logits_and_labels(draw):
    N, C = draw(sizes), draw(st.integers(2, 6))
    h = draw(arrays(np.float64, (N, C), elements=finite))
    y = np.array(draw(st.lists(st.integers(0, C - 1), min_size=N, max_size=N)))
    return h, y


@SETTINGS
@given(logits_and_labels())
def test_softmax_rows_sum_to_one_and_ignore_shifts(case):
    h, _ = case
    a = functional.softmax(h)
    np.testing.assert_allclose(a.sum(axis=1), 1.0, rtol=1e-12)
    assert (a >= 0).all()
    np.testing.assert_allclose(functional.softmax(h + 123.0), a, atol=1e-12)
    np.testing.assert_allclose(np.exp(functional.log_softmax(h)), a, atol=1e-12)


@SETTINGS
@given(logits_and_labels(), st.floats(0.1, 10))
def test_dlogits_rows_sum_to_zero(case, temperature):
    h, y = case
    loss, dh = losses.softmax_cross_entropy(h, y, temperature=temperature)
    assert loss >= 0
    np.testing.assert_allclose(dh.sum(axis=1), 0.0, atol=1e-12)


@SETTINGS
@given(st.sampled_from(sorted(LAYER_CASES)), st.integers(0, 2 ** 32 - 1))
def test_forward_never_mutates_its_input(name, seed):
    rng = np.random.default_rng(seed)
    make_layer, make_input = LAYER_CASES[name]
    layer, x = make_layer(rng), make_input(rng)
    before = x.copy()
    out = layer.forward(x)
    layer.backward(np.ones_like(out))
    assert np.array_equal(x, before)


@SETTINGS
@given(st.sampled_from(sorted(LAYER_CASES)), st.integers(0, 2 ** 32 - 1))
def test_eval_mode_is_deterministic(name, seed):
    rng = np.random.default_rng(seed)
    make_layer, make_input = LAYER_CASES[name]
    layer, x = make_layer(rng), make_input(rng)
    layer.eval()
    assert np.array_equal(layer.forward(x), layer.forward(x))


@SETTINGS
@given(arrays(np.float64, st.tuples(sizes, sizes), elements=finite),
       arrays(np.float64, st.tuples(sizes, sizes), elements=finite),
       st.floats(0, 0.99), st.booleans())
def test_lr_zero_changes_nothing(w, g, momentum, nesterov):
    g = np.resize(g, w.shape)
    v = np.zeros_like(w)
    before = w.copy()
    optim.sgd_update(w, g, v, lr=0.0, momentum=momentum, nesterov=nesterov and momentum > 0)
    assert np.array_equal(w, before)


@SETTINGS
@given(N=sizes, D=sizes, M=sizes, seed=st.integers(0, 1000))
def test_linear_shapes(N, D, M, seed):
    rng = np.random.default_rng(seed)
    layer = layers.Linear(D, M, rng=rng)
    x = rng.standard_normal((N, D))
    out = layer(x)
    assert out.shape == (N, M)
    dx = layer.backward(np.ones_like(out))
    assert dx.shape == x.shape
    assert layer.grads["W"].shape == (D, M) and layer.grads["b"].shape == (M,)


@SETTINGS
@given(N=st.integers(1, 3), C=st.integers(1, 3), F=st.integers(1, 3), H=st.integers(3, 9),
       W=st.integers(3, 9), K=st.integers(1, 3), stride=st.integers(1, 3), padding=st.integers(0, 2))
def test_conv_and_pool_shapes(N, C, F, H, W, K, stride, padding):
    rng = np.random.default_rng(0)
    conv = layers.Conv2d(C, F, K, stride=stride, padding=padding, rng=rng)
    x = rng.standard_normal((N, C, H, W))
    out = conv(x)
    Ho, Wo = (H + 2 * padding - K) // stride + 1, (W + 2 * padding - K) // stride + 1
    assert out.shape == (N, F, Ho, Wo)
    assert conv.backward(np.ones_like(out)).shape == x.shape
    pool = layers.MaxPool2d(K, stride)
    pooled = pool(x)
    assert pooled.shape == (N, C, (H - K) // stride + 1, (W - K) // stride + 1)
    assert pool.backward(np.ones_like(pooled)).shape == x.shape


@SETTINGS
@given(N=st.integers(1, 3), T=st.integers(1, 6), D=st.integers(1, 4), H=st.integers(1, 5),
       kind=st.sampled_from(["RNN", "LSTM"]))
def test_recurrent_shapes(N, T, D, H, kind):
    rng = np.random.default_rng(0)
    layer = getattr(layers, kind)(D, H, rng=rng)
    x = rng.standard_normal((N, T, D))
    out = layer(x)
    assert out.shape == (N, T, H)
    assert layer.backward(np.ones_like(out)).shape == x.shape
    assert layer.grads["Wh"].shape == layer.params["Wh"].shape
