"""Rules the layers' docstrings state, checked without PyTorch: inverted dropout's mask and its
1/(1 - p) scaling, and where MaxPool2d sends the gradient of a window whose maximum is tied.

The gradient checks (test_gradients.py) cannot see either: they reseed Dropout to get one function,
and they spread MaxPool2d's inputs apart because central differences are undefined at a tie.
test_torch_reference.py compares both with PyTorch where it is installed.
"""

import numpy as np
import pytest
from cases import tied_windows

from dlteach import layers


@pytest.mark.parametrize("p", [0.1, 0.25, 0.5, 0.8])
def test_dropout_zeroes_a_fraction_p_and_scales_the_rest_by_one_over_one_minus_p(p):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((100, 200))                       # no entry is exactly 0
    layer = layers.Dropout(p, rng=rng)
    out = layer.forward(x)
    kept = out != 0
    np.testing.assert_allclose(out[kept], x[kept] / (1 - p), rtol=1e-15, atol=0)
    spread = np.sqrt(p * (1 - p) / x.size)                    # the kept fraction's standard deviation
    assert abs(kept.mean() - (1 - p)) < 5 * spread, f"kept {kept.mean():.4f} of the entries, expected {1 - p}"
    dout = rng.standard_normal(x.shape)
    np.testing.assert_allclose(layer.backward(dout), np.where(kept, dout / (1 - p), 0.0), rtol=1e-15, atol=0)
    again = layer.forward(x)
    assert not np.array_equal(again != 0, kept), "training draws a new mask on every forward"


def test_dropout_is_the_identity_in_eval_mode_and_with_p_zero():
    rng = np.random.default_rng(1)
    x, dout = rng.standard_normal((20, 30)), rng.standard_normal((20, 30))
    for layer in (layers.Dropout(0.5, rng=rng).eval(), layers.Dropout(0.0, rng=rng)):
        assert np.array_equal(layer.forward(x), x)
        assert np.array_equal(layer.backward(dout), dout)
    layer = layers.Dropout(0.5, rng=rng).eval().train()
    assert (layer.forward(x) == 0).any(), "train() after eval() drops entries again"


def first_maximum_gradient(x, K, stride, dout):
    """MaxPool2d's backward by its documented rule, one window at a time: each window's dout goes to the
    first maximum in reading order (row by row, left to right). Shapes: x (N, C, H, W), dout (N, C, Ho, Wo)."""
    dx = np.zeros_like(x)
    N, C, Ho, Wo = dout.shape
    for n in range(N):
        for c in range(C):
            for i in range(Ho):
                for j in range(Wo):
                    window = x[n, c, i * stride:i * stride + K, j * stride:j * stride + K]
                    r, s = np.unravel_index(np.argmax(window), window.shape)   # argmax: the first maximum
                    dx[n, c, i * stride + r, j * stride + s] += dout[n, c, i, j]
    return dx


def test_maxpool_sends_a_tied_windows_gradient_to_its_first_maximum():
    x = np.array([[[[1.0, 3.0, 5.0, 5.0],
                    [3.0, 2.0, 5.0, 5.0],
                    [0.0, 0.0, 4.0, 1.0],
                    [0.0, 0.0, 2.0, 4.0]]]])
    pool = layers.MaxPool2d(2)
    assert pool.forward(x).tolist() == [[[[3.0, 5.0], [0.0, 4.0]]]]
    dx = pool.backward(np.array([[[[1.0, 2.0], [3.0, 4.0]]]]))
    assert dx.tolist() == [[[[0.0, 1.0, 2.0, 0.0],
                             [0.0, 0.0, 0.0, 0.0],
                             [3.0, 0.0, 4.0, 0.0],
                             [0.0, 0.0, 0.0, 0.0]]]]


@pytest.mark.parametrize("K, stride", [(2, 2), (3, 2), (2, 1), (3, 3)])
def test_maxpool_gradient_follows_the_first_maximum_rule_where_most_windows_tie(K, stride):
    rng = np.random.default_rng(K * 10 + stride)
    x = rng.integers(0, 3, size=(2, 3, 8, 7)).astype(np.float64)    # three values: many windows tie
    assert tied_windows(x, K, stride) > 0.4
    pool = layers.MaxPool2d(K, stride)
    out = pool.forward(x)
    dout = rng.standard_normal(out.shape)
    np.testing.assert_allclose(pool.backward(dout), first_maximum_gradient(x, K, stride, dout),
                               rtol=1e-12, atol=1e-15)
