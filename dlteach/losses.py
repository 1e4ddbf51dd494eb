"""Losses: each returns (mean loss over the batch, gradient with respect to its first argument).

softmax_cross_entropy also takes sequences of logits (N, T, C), with a mask for padded steps.

A loss is always the last node of the graph, so its gradient is where backward starts.
"""

import os

import numpy as np

from dlteach._checks import float_array


def _targets(y, lead, C, where):
    """Return ("labels", y) for integer labels of shape lead, ("probs", y) for probabilities (*lead, C).

    lead is the logits' shape without the class axis: (N,) or (N, T). Values are checked by _check_targets.
    """
    y = np.asarray(y)
    names = "(N,)" if len(lead) == 1 else "(N, T)"
    if y.dtype.kind in "iu":
        if y.shape != lead:
            raise ValueError(f"{where}: integer labels 'y' must have shape {lead} to match the logits, "
                             f"got {y.shape}")
        return "labels", y
    if y.dtype.kind == "f":
        if y.shape != lead + (C,):
            raise ValueError(f"{where}: probability targets 'y' must have the logits' shape {lead + (C,)}, "
                             f"got {y.shape}")
        return "probs", float_array(y, where, "y")
    raise TypeError(f"{where}: argument 'y' must be integer labels {names} or probabilities {names[:-1]}, C) "
                    f"as floats, got dtype {y.dtype}")


def _check_targets(kind, y, C, where, rows, lead):
    """Check the labels' range, or that each probability row sums to 1; y is flat, (M,) or (M, C)."""
    def position(k):
        k = int(rows[k]) if rows is not None else k
        return k if len(lead) == 1 else tuple(int(i) for i in np.unravel_index(k, lead))

    if kind == "labels":
        bad = (y < 0) | (y >= C)
        if bad.any():
            raise ValueError(f"{where}: label {y[bad][0]} in 'y' is out of range; expected 0 <= y < {C} "
                             f"(the logits have C = {C} columns)")
        return
    sums = y.sum(axis=1)
    if y.min() < 0 or not np.allclose(sums, 1.0, atol=1e-6):
        k = int(np.argmax(np.abs(sums - 1) + (y.min(axis=1) < 0)))
        raise ValueError(f"{where}: row {position(k)} of 'y' is not a probability vector (sum {sums[k]:.6g}); "
                         "expected non-negative rows summing to 1, e.g. one_hot(labels, C)")


def _mask_rows(mask, lead, where):
    """The flat indices of the positions mask counts, or None when it counts them all."""
    mask = np.asarray(mask)
    if mask.dtype.kind not in "biuf":
        raise TypeError(f"{where}: argument 'mask' must hold booleans (or 0 and 1), got dtype {mask.dtype}")
    if mask.shape != lead:
        raise ValueError(f"{where}: argument 'mask' has shape {mask.shape}; expected {lead}, one entry per "
                         "position of the logits")
    if mask.dtype.kind != "b":
        if not np.isin(mask, (0, 1)).all():
            raise ValueError(f"{where}: argument 'mask' must hold only 0 and 1 (or booleans), "
                             f"got {mask[~np.isin(mask, (0, 1))][0].item()!r}")
        mask = mask != 0
    rows = np.flatnonzero(mask)
    if rows.size == 0:
        raise ValueError(f"{where}: argument 'mask' counts no position (all False); the mean loss over "
                         "no positions is undefined")
    return None if rows.size == mask.size else rows


BLOCK_BYTES = 1 << 20      # rows of logits worked on together: a block stays in the CPU's L2 cache
PARALLEL_BYTES = 1 << 23   # from this size on, blocks are shared out to threads (numpy lets go of the GIL)
_pool = None


def _threads():
    global _pool
    if _pool is None:
        from concurrent.futures import ThreadPoolExecutor
        _pool = ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1), thread_name_prefix="dlteach-loss")
    return _pool


def _cross_entropy_rows(logits, y, kind, grad, start, stop, temperature, scale, where, full):
    """Fill grad[start:stop] with (softmax(h / T) - y) / (N T) for those rows; return their summed loss."""
    h, z = logits[start:stop], grad[start:stop]                 # (n, C) views
    m = h.max(axis=1, keepdims=True)                             # (n, 1)
    if not np.isfinite(m).all() or not np.isfinite(h.min()):     # NaN and inf reach the max or the min
        float_array(full, where, "logits")                       # raises, naming the first bad entry
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


def softmax_cross_entropy(logits, y, *, temperature=1.0, mask=None):
    """L = -(1/M) sum_m sum_j y_mj log a_mj, a = softmax(h / temperature);  dL/dh = (a - y) / (M temperature).

    m runs over the M positions that count: the N rows of logits (N, C), or the N T steps of a batch of
    sequences (N, T, C); with a mask, only the positions where it is True (padding, say, gets no loss and
    a zero gradient, and its labels are never read). PyTorch's cross_entropy computes the same (the mean
    over the positions it does not ignore).
    Shapes: logits (N, C), y (N,) integer labels or (N, C) probabilities, mask (N,); or logits
    (N, T, C), y (N, T) or (N, T, C), mask (N, T) -> (float, dL/dlogits like logits).
    """
    where = "softmax_cross_entropy"
    h = float_array(logits, where, "logits", ndim=(2, 3), finite=False)   # checked block by block below
    lead, C = h.shape[:-1], h.shape[-1]
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or not temperature > 0 \
            or not np.isfinite(temperature):
        raise ValueError(f"{where}: argument 'temperature' must be a positive number, got {temperature!r}")
    kind, y = _targets(y, lead, C, where)
    h2 = h.reshape(-1, C)                                        # (N or N T, C), a view
    y2 = y.reshape(-1) if kind == "labels" else y.reshape(-1, C)
    rows = None if mask is None else _mask_rows(mask, lead, where)
    if rows is not None:
        h2, y2 = h2[rows], y2[rows]                              # (M, C): only the positions that count
    _check_targets(kind, y2, C, where, rows, lead)
    M = h2.shape[0]
    grad2 = np.empty_like(h2)                                    # (M, C), each block worked in place
    block = max(1, BLOCK_BYTES // (C * h2.itemsize))
    blocks = [(start, min(start + block, M)) for start in range(0, M, block)]
    args = (h2, y2, kind, grad2)
    rest = (temperature, 1.0 / (M * temperature), where, h)
    if h2.nbytes >= PARALLEL_BYTES and len(blocks) > 1 and (os.cpu_count() or 1) > 1:
        futures = [_threads().submit(_cross_entropy_rows, *args, a, b, *rest) for a, b in blocks]
        parts = [f.result() for f in futures]
    else:
        parts = [_cross_entropy_rows(*args, a, b, *rest) for a, b in blocks]
    if rows is None:
        return sum(parts) / M, grad2.reshape(h.shape)
    grad = np.zeros_like(h)
    grad.reshape(-1, C)[rows] = grad2                            # masked-out positions: no gradient
    return sum(parts) / M, grad


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
