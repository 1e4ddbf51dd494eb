"""Losses: each returns (mean loss over the batch, gradient with respect to its first argument).

A loss is always the last node of the graph, so its gradient is where backward starts.
"""

import numpy as np

from dlteach._checks import float_array


def _targets(y, N, C, where):
    """Return ("labels", y) for integer labels (N,) or ("probs", y) for probabilities (N, C)."""
    y = np.asarray(y)
    if y.dtype.kind in "iu":
        if y.shape != (N,):
            raise ValueError(f"{where}: integer labels 'y' must have shape ({N},) to match the logits, "
                             f"got {y.shape}")
        if y.min() < 0 or y.max() >= C:
            bad = y[(y < 0) | (y >= C)][0]
            raise ValueError(f"{where}: label {bad} in 'y' is out of range; expected 0 <= y < {C} "
                             f"(the logits have C = {C} columns)")
        return "labels", y
    if y.dtype.kind == "f":
        if y.shape != (N, C):
            raise ValueError(f"{where}: probability targets 'y' must have the logits' shape ({N}, {C}), "
                             f"got {y.shape}")
        y = float_array(y, where, "y")
        sums = y.sum(axis=1)
        if y.min() < 0 or not np.allclose(sums, 1.0, atol=1e-6):
            row = int(np.argmax(np.abs(sums - 1) + (y.min(axis=1) < 0)))
            raise ValueError(f"{where}: row {row} of 'y' is not a probability vector (sum {sums[row]:.6g}); "
                             "expected non-negative rows summing to 1, e.g. one_hot(labels, C)")
        return "probs", y
    raise TypeError(f"{where}: argument 'y' must be integer labels (N,) or probabilities (N, C) as floats, "
                    f"got dtype {y.dtype}")


def softmax_cross_entropy(logits, y, *, temperature=1.0):
    """L = -(1/N) sum_n sum_j y_nj log softmax(h_n / T)_j;  dL/dh = (softmax(h / T) - y) / (N T).

    Shapes: logits (N, C); y (N,) integer labels or (N, C) probabilities -> (float, (N, C)).
    """
    where = "softmax_cross_entropy"
    h = float_array(logits, where, "logits", ndim=2)
    N, C = h.shape
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or not temperature > 0 \
            or not np.isfinite(temperature):
        raise ValueError(f"{where}: argument 'temperature' must be a positive number, got {temperature!r}")
    kind, y = _targets(y, N, C, where)
    z = h / temperature if temperature != 1 else h - 0           # a new array: we work in place below
    z -= z.max(axis=1, keepdims=True)                            # largest logit 0: exp cannot overflow
    e = np.exp(z)                                                # (N, C)
    s = e.sum(axis=1)                                            # (N,)
    log_s = np.log(s)
    rows = np.arange(N)
    if kind == "labels":
        loss = float(log_s.sum() - z[rows, y].sum()) / N
        e /= s[:, None]                                          # softmax, reusing the buffer
        e[rows, y] -= 1
    else:
        loss = float(log_s @ y.sum(axis=1) - np.einsum("nc,nc->", y, z)) / N
        e /= s[:, None]
        e -= y
    e *= 1.0 / (N * temperature)
    return loss, e


def mse(pred, target):
    """L = (1/N) sum_n ||pred_n - target_n||^2 / 2;  dL/dpred = (pred - target) / N.

    Shapes: pred (N, ...) and target of the same shape -> (float, like pred).
    """
    where = "mse"
    pred = float_array(pred, where, "pred", ndim=(1, 2, 3, 4))
    target = float_array(target, where, "target", ndim=(1, 2, 3, 4))
    if pred.shape != target.shape:
        raise ValueError(f"{where}: 'pred' has shape {pred.shape} but 'target' has shape {target.shape}; "
                         "expected equal shapes (no broadcasting)")
    N = pred.shape[0]
    diff = pred - target
    return float(np.vdot(diff, diff)) / (2 * N), diff / N
