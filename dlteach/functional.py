"""Numerically stable elementwise and row-wise functions: softmax, log_softmax, sigmoid, one_hot."""

import numpy as np

from dlteach._checks import float_array


def softmax(h, axis=-1):
    """a_j = exp(h_j) / sum_k exp(h_k), computed after subtracting the row maximum.

    Shapes: h (..., C) -> a (..., C), each row summing to 1.
    """
    h = float_array(h, "softmax", "h", allow_empty=True)
    e = np.exp(h - h.max(axis=axis, keepdims=True))   # largest exponent is 0: no overflow
    e /= e.sum(axis=axis, keepdims=True)
    return e


def log_softmax(h, axis=-1):
    """log a_j = h_j - log sum_k exp(h_k), via the log-sum-exp trick.

    Shapes: h (..., C) -> (..., C).
    """
    h = float_array(h, "log_softmax", "h", allow_empty=True)
    z = h - h.max(axis=axis, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=axis, keepdims=True))


def sigmoid(x):
    """sigma(x) = 1 / (1 + exp(-x)), written as (1 + tanh(x / 2)) / 2 so that no exp overflows.

    Shapes: any -> same.
    """
    x = float_array(x, "sigmoid", "x", allow_empty=True)
    out = np.tanh(x * 0.5)
    out *= 0.5
    out += 0.5
    return out


def one_hot(y, num_classes, dtype=np.float64):
    """Turn integer labels into rows with a single 1.

    Shapes: y (N,) integers in [0, num_classes) -> (N, num_classes).
    """
    y = np.asarray(y)
    if y.dtype.kind not in "iu":
        raise TypeError(f"one_hot: argument 'y' must hold integer class labels, got dtype {y.dtype}")
    if y.ndim != 1:
        raise ValueError(f"one_hot: argument 'y' must be 1-D (N,), got shape {y.shape}")
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) or num_classes < 1:
        raise ValueError(f"one_hot: argument 'num_classes' must be a positive integer, got {num_classes!r}")
    if y.size and (y.min() < 0 or y.max() >= num_classes):
        bad = y[(y < 0) | (y >= num_classes)][0]
        raise ValueError(f"one_hot: label {bad} in 'y' is out of range; expected 0 <= y < {num_classes}")
    out = np.zeros((y.shape[0], num_classes), dtype=dtype)
    out[np.arange(y.shape[0]), y] = 1
    return out
