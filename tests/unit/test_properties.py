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


# The registry's Dropout draws the same mask on every forward (finite differences need one function),
# so it would be deterministic in training too: this test takes the library's own.
RANDOM_IN_TRAINING = {"Dropout": lambda rng: layers.Dropout(0.3, rng=rng)}


@SETTINGS
@given(st.sampled_from(sorted(LAYER_CASES)), st.integers(0, 2 ** 32 - 1))
def test_eval_mode_is_deterministic(name, seed):
    rng = np.random.default_rng(seed)
    make_layer, make_input = LAYER_CASES[name]
    layer, x = RANDOM_IN_TRAINING.get(name, make_layer)(rng), make_input(rng)
    layer.eval()
    assert np.array_equal(layer.forward(x), layer.forward(x))


def test_the_random_layers_are_random_in_training():
    """Else test_eval_mode_is_deterministic could not tell eval mode from training mode."""
    rng = np.random.default_rng(0)
    for name, make_layer in RANDOM_IN_TRAINING.items():
        layer, x = make_layer(rng), LAYER_CASES[name][1](rng)
        assert not np.array_equal(layer.forward(x), layer.forward(x)), name


@SETTINGS
@given(arrays(np.float64, st.tuples(sizes, sizes), elements=finite),
       arrays(np.float64, st.tuples(sizes, sizes), elements=finite),
       arrays(np.float64, st.tuples(sizes, sizes), elements=finite),
       st.floats(0, 0.99), st.booleans())
def test_lr_zero_changes_nothing_but_the_coasting_on_the_velocity(w, g, v, momentum, nesterov):
    """With lr = 0 the gradient has no say. From rest nothing moves; with a velocity, v decays to mu v and
    carries w along: by the new v (heavy ball), or by mu times it (Nesterov's look-ahead)."""
    g, v = np.resize(g, w.shape), np.resize(v, w.shape)
    nesterov = nesterov and momentum > 0
    w_rest, v_rest = w.copy(), np.zeros_like(w)
    optim.sgd_update(w_rest, g, v_rest, lr=0.0, momentum=momentum, nesterov=nesterov)
    assert np.array_equal(w_rest, w) and not v_rest.any()
    w_moving, v_moving = w.copy(), v.copy()
    optim.sgd_update(w_moving, g, v_moving, lr=0.0, momentum=momentum, nesterov=nesterov)
    if momentum:
        coast = momentum * v                                      # v <- mu v - 0 g
        np.testing.assert_allclose(v_moving, coast, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(w_moving, w + (momentum * coast if nesterov else coast), rtol=1e-12,
                                   atol=1e-12)
    else:
        assert np.array_equal(w_moving, w)


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
