"""Bad input gets a clear error naming the function, the argument, what came and what was expected."""

import numpy as np
import pytest

from dlteach import functional, gradcheck, layers, losses, optim

rng = np.random.default_rng(0)


def lin():
    return layers.Linear(3, 2, rng=np.random.default_rng(0))


CASES = [
    # (callable, exception, message pattern)
    (lambda: lin()(np.ones(3)), ValueError, r"Linear.forward: argument 'x' must be 2-D, got shape \(3,\)"),
    (lambda: lin()(np.ones((4, 5))), ValueError, r"Linear.forward: argument 'x' has 5 features .*expected D = 3"),
    (lambda: lin()(np.ones((4, 3), dtype=int)), TypeError, r"Linear.forward: argument 'x' has dtype int64; expected a floating-point"),
    (lambda: lin()(np.array([[1, "a", 2]], dtype=object)), TypeError, r"argument 'x' has dtype object"),
    (lambda: lin()(np.array([[1.0, np.nan, 2.0]])), ValueError, r"Linear.forward: argument 'x' contains nan at index \(0, 1\)"),
    (lambda: lin()(np.array([[1.0, np.inf, 2.0]])), ValueError, r"contains inf .*expected finite"),
    (lambda: lin()(np.ones((0, 3))), ValueError, r"Linear.forward: argument 'x' is an empty batch"),
    (lambda: lin().backward(np.ones((4, 2))), RuntimeError, r"Linear.backward called before forward"),
    (lambda: layers.ReLU().backward(np.ones(2)), RuntimeError, r"ReLU.backward called before forward"),
    (lambda: _after_forward(lin(), np.ones((4, 3))).backward(np.ones((4, 3))), ValueError,
     r"Linear.backward: argument 'dout' has shape \(4, 3\); expected \(4, 2\)"),
    (lambda: layers.Linear(0, 2, rng=rng), ValueError, r"Linear: argument 'in_features' must be > 0, got 0"),
    (lambda: layers.Linear(3, 2, rng=0), TypeError, r"Linear: argument 'rng' must be a numpy Generator"),
    (lambda: layers.Linear(3, 2, rng=rng, dtype=np.int32), TypeError, r"Linear: argument 'dtype' must be a floating-point"),
    (lambda: layers.Conv2d(1, 2, 5, rng=rng)(np.ones((1, 1, 3, 3))), ValueError,
     r"Conv2d.forward: kernel_size 5 is larger than the padded input 3x3"),
    (lambda: layers.Conv2d(3, 2, 3, rng=rng)(np.ones((1, 1, 5, 5))), ValueError,
     r"Conv2d.forward: argument 'x' has 1 channels .*expected C = 3"),
    (lambda: layers.Conv2d(1, 2, 3, rng=rng)(np.ones((5, 5))), ValueError, r"Conv2d.forward: argument 'x' must be 4-D"),
    (lambda: layers.MaxPool2d(4)(np.ones((1, 1, 3, 3))), ValueError, r"MaxPool2d.forward: kernel_size 4 is larger"),
    (lambda: layers.LSTM(3, 4, rng=rng)(np.ones((2, 5, 2))), ValueError, r"LSTM.forward: argument 'x' has 2 features per step"),
    (lambda: layers.RNN(3, 4, rng=rng)(np.ones((2, 3))), ValueError, r"RNN.forward: argument 'x' must be 3-D"),
    (lambda: layers.Dropout(1.0, rng=rng), ValueError, r"Dropout: argument 'p' must be a probability with 0 <= p < 1, got 1.0"),
    (lambda: layers.Sequential(layers.ReLU(), "relu"), TypeError, r"Sequential: argument 1 must be a Layer"),
    (lambda: losses.softmax_cross_entropy(np.ones((3, 4)), np.array([0, 4, 1])), ValueError,
     r"softmax_cross_entropy: label 4 in 'y' is out of range; expected 0 <= y < 4"),
    (lambda: losses.softmax_cross_entropy(np.ones((3, 4)), np.array([0, 1])), ValueError,
     r"softmax_cross_entropy: integer labels 'y' must have shape \(3,\)"),
    (lambda: losses.softmax_cross_entropy(np.ones((3, 4)), np.ones((3, 4))), ValueError,
     r"row 0 of 'y' is not a probability vector"),
    (lambda: losses.softmax_cross_entropy(np.ones((3, 4)), np.array(["a", "b", "c"])), TypeError,
     r"softmax_cross_entropy: argument 'y' must be integer labels"),
    (lambda: losses.softmax_cross_entropy(np.ones((3, 4)), np.zeros(3, int), temperature=0), ValueError,
     r"argument 'temperature' must be a positive number, got 0"),
    (lambda: losses.softmax_cross_entropy(np.ones(4), np.zeros(1, int)), ValueError,
     r"softmax_cross_entropy: argument 'logits' must be 2-D"),
    (lambda: losses.mse(np.ones((3, 2)), np.ones((3, 1))), ValueError,
     r"mse: 'pred' has shape \(3, 2\) but 'target' has shape \(3, 1\); expected equal shapes"),
    (lambda: optim.SGD(lin(), 0.0), ValueError, r"SGD: argument 'lr' must be > 0, got 0.0"),
    (lambda: optim.SGD(lin(), -0.1), ValueError, r"SGD: argument 'lr' must be > 0, got -0.1"),
    (lambda: optim.Adam(lin(), lr="fast"), TypeError, r"Adam: argument 'lr' must be a number"),
    (lambda: optim.SGD(lin(), 0.1, momentum=1.5), ValueError, r"SGD: argument 'momentum' must satisfy 0 <= momentum < 1"),
    (lambda: optim.SGD(layers.ReLU(), 0.1), ValueError, r"SGD: the model has no parameters"),
    (lambda: optim.SGD(lin(), 0.1).step(), RuntimeError, r"SGD.step: parameter 'W' has no gradient; call backward"),
    (lambda: functional.one_hot(np.array([0, 3]), 3), ValueError, r"one_hot: label 3 in 'y' is out of range"),
    (lambda: functional.one_hot(np.array([0.0, 1.0]), 3), TypeError, r"one_hot: argument 'y' must hold integer class labels"),
    (lambda: functional.softmax(np.array([1, 2])), TypeError, r"softmax: argument 'h' has dtype int64"),
    (lambda: gradcheck.numerical_gradient(3, np.ones(2)), TypeError, r"numerical_gradient: argument 'f' must be callable"),
    (lambda: gradcheck.rel_error(np.ones(2), np.ones(3)), ValueError, r"rel_error: shapes differ"),
]


def _after_forward(layer, x):
    layer.forward(x)
    return layer


@pytest.mark.parametrize("call, exc, pattern", CASES, ids=[c[2][:50] for c in CASES])
def test_error_message(call, exc, pattern):
    with pytest.raises(exc, match=pattern):
        call()


def test_large_logits_are_finite_without_warnings():
    h = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):   # underflow to 0 is exact enough
        for f in (functional.softmax, functional.log_softmax, functional.sigmoid):
            assert np.isfinite(f(h)).all()
        loss, dh = losses.softmax_cross_entropy(h, np.array([1, 0]))
    assert np.isfinite(loss) and np.isfinite(dh).all()


@pytest.mark.parametrize("make", [
    lambda r: layers.Linear(4, 3, rng=r, dtype=np.float32),
    lambda r: layers.Conv2d(2, 3, 3, padding=1, rng=r, dtype=np.float32),
    lambda r: layers.RNN(4, 3, rng=r, dtype=np.float32),
    lambda r: layers.LSTM(4, 3, rng=r, dtype=np.float32),
])
def test_float32_stays_float32(make):
    r = np.random.default_rng(0)
    layer = make(r)
    shape = {"Linear": (5, 4), "Conv2d": (2, 2, 5, 5)}.get(type(layer).__name__, (2, 3, 4))
    x = r.standard_normal(shape).astype(np.float32)
    out = layer(x)
    assert out.dtype == np.float32
    assert layer.backward(np.ones_like(out)).dtype == np.float32
    assert all(g.dtype == np.float32 for g in layer.grads.values())
    loss, dh = losses.softmax_cross_entropy(out.reshape(out.shape[0], -1), np.zeros(out.shape[0], int))
    assert dh.dtype == np.float32
