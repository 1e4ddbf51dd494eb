"""Losses: each returns (mean loss over the batch, gradient with respect to its first argument).

A loss is always the last node of the graph, so its gradient is where backward starts.
"""

import os

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


BLOCK_BYTES = 1 << 20      # rows of logits worked on together: a block stays in the CPU's L2 cache
PARALLEL_BYTES = 1 << 23   # from this size on, blocks are shared out to threads (numpy lets go of the GIL)
_pool = None


def _threads():
    global _pool
    if _pool is None:
        from concurrent.futures import ThreadPoolExecutor
        _pool = ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1), thread_name_prefix="dlteach-loss")
    return _pool


def _cross_entropy_rows(logits, y, kind, grad, start, stop, temperature, scale, where):
    """Fill grad[start:stop] with (softmax(h / T) - y) / (N T) for those rows; return their summed loss."""
    h, z = logits[start:stop], grad[start:stop]                 # (n, C) views
    m = h.max(axis=1, keepdims=True)                             # (n, 1)
    if not np.isfinite(m).all() or not np.isfinite(h.min()):     # NaN and inf reach the max or the min
        float_array(logits, where, "logits")                     # raises, naming the first bad entry
    np.subtract(h, m, out=z)                                     # largest logit 0: exp cannot overflow
    if temperature != 1:
        z *= 1.0 / temperature
    if kind == "labels":
        n, labels = np.arange(z.shape[0]), y[start:stop]
        z_true = z[n, labels]                                    # (n,) the true class's shifted logit
    else:
        z_true = np.einsum("nc,nc->n", y[start:stop], z)         # (n,) sum_j y_nj z_nj
    np.exp(z, out=z)
    s = z.sum(axis=1)                                            # (n,)
    log_s = np.log(s)                                            # (n,) log-sum-exp of the shifted logits
    loss = (log_s.sum() if kind == "labels" else log_s @ y[start:stop].sum(axis=1)) - z_true.sum()
    z *= (scale / s)[:, None]                                    # softmax / (N T)
    if kind == "labels":
        z[n, labels] -= scale
    else:
        z -= scale * y[start:stop]
    return float(loss)


def softmax_cross_entropy(logits, y, *, temperature=1.0):
    """L = -(1/N) sum_n sum_j y_nj log softmax(h_n / T)_j;  dL/dh = (softmax(h / T) - y) / (N T).

    Shapes: logits (N, C); y (N,) integer labels or (N, C) probabilities -> (float, (N, C)).
    """
    where = "softmax_cross_entropy"
    h = float_array(logits, where, "logits", ndim=2, finite=False)   # checked block by block below
    N, C = h.shape
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or not temperature > 0 \
            or not np.isfinite(temperature):
        raise ValueError(f"{where}: argument 'temperature' must be a positive number, got {temperature!r}")
    kind, y = _targets(y, N, C, where)
    grad = np.empty_like(h)                                      # (N, C), each block worked in place
    rows = max(1, BLOCK_BYTES // (C * h.itemsize))
    blocks = [(start, min(start + rows, N)) for start in range(0, N, rows)]
    args = (h, y, kind, grad)
    rest = (temperature, 1.0 / (N * temperature), where)
    if h.nbytes >= PARALLEL_BYTES and len(blocks) > 1 and (os.cpu_count() or 1) > 1:
        futures = [_threads().submit(_cross_entropy_rows, *args, a, b, *rest) for a, b in blocks]
        parts = [f.result() for f in futures]
    else:
        parts = [_cross_entropy_rows(*args, a, b, *rest) for a, b in blocks]
    return sum(parts) / N, grad


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
