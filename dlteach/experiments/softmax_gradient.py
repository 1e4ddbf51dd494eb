"""The calculus of softmax and cross-entropy, one piece at a time (lesson 04).

a = softmax(h), L = -sum_k y_k log a_k. The pieces: the Jacobian J = diag(a) - a a^T, the gradient
dL/dh = a - y (directly, and by the chain rule through J), and the backward pass of the slide's
network h = x W + b, r = relu(h), a = softmax(r). The explorations behind the lesson's widgets
(softmax_view, loss_surface, true_logit_sweep) are pure functions of the slider values.
Per-example quantities are not averaged; slide_network averages over the batch like dlteach.losses.
"""

import numpy as np

from dlteach._checks import float_array
from dlteach.functional import log_softmax, one_hot, softmax
from dlteach.gradcheck import numerical_gradient

__all__ = ["softmax_jacobian", "cross_entropy", "cross_entropy_grad", "grad_through_jacobian",
           "numerical_jacobian", "jacobian_properties", "softmax_view", "loss_surface",
           "true_logit_sweep", "slide_network"]


def _logits(h, where):
    """h as a float array of one example (C,) or a batch (N, C), with at least two classes."""
    h = float_array(h, where, "h", ndim=(1, 2))
    if h.shape[-1] < 2:
        raise ValueError(f"{where}: argument 'h' has {h.shape[-1]} class(es) (shape {h.shape}); "
                         "expected at least 2 logits per example")
    return h


def _targets(y, h, where):
    """y as one-hot or probability rows shaped like h, from integer labels or from probabilities."""
    C = h.shape[-1]
    y_arr = np.asarray(y)
    if y_arr.dtype.kind in "iu":
        labels = y_arr.reshape(-1)
        want = () if h.ndim == 1 else (h.shape[0],)
        if y_arr.shape != want:
            raise ValueError(f"{where}: integer labels 'y' must have shape {want} for logits of shape "
                             f"{h.shape}, got {y_arr.shape}")
        if labels.min() < 0 or labels.max() >= C:
            raise ValueError(f"{where}: label {int(labels.max() if labels.max() >= C else labels.min())} "
                             f"in 'y' is out of range; expected 0 <= y < {C}")
        return one_hot(labels, C).reshape(h.shape)
    y_arr = float_array(y_arr, where, "y", ndim=h.ndim)
    if y_arr.shape != h.shape:
        raise ValueError(f"{where}: probability targets 'y' must have the logits' shape {h.shape}, "
                         f"got {y_arr.shape}")
    if y_arr.min() < 0 or not np.allclose(y_arr.sum(axis=-1), 1.0, atol=1e-6):
        raise ValueError(f"{where}: argument 'y' must hold non-negative rows summing to 1 "
                         "(one-hot or probabilities), e.g. one_hot(labels, C)")
    return y_arr


def softmax_jacobian(h):
    """J_jk = da_j/dh_k = a_j (delta_jk - a_k), i.e. J = diag(a) - a a^T with a = softmax(h).

    Shapes: h (C,) -> J (C, C); h (N, C) -> J (N, C, C), one Jacobian per example.
    """
    a = softmax(_logits(h, "softmax_jacobian"))          # (..., C)
    J = -a[..., :, None] * a[..., None, :]               # (..., C, C): -a_j a_k everywhere
    diag = np.einsum("...jj->...j", J)                   # a writeable view of the diagonal
    diag += a                                            # a_j - a_j^2 = a_j (1 - a_j) on it
    return J


def cross_entropy(h, y):
    """L = -sum_k y_k log softmax(h)_k, per example (not averaged).

    Shapes: h (C,) and y an integer label or (C,) -> float; h (N, C) and y (N,) or (N, C) -> (N,).
    """
    h = _logits(h, "cross_entropy")
    y = _targets(y, h, "cross_entropy")
    loss = -(y * log_softmax(h)).sum(axis=-1)            # log_softmax: finite even when a_k underflows
    return float(loss) if h.ndim == 1 else loss


def cross_entropy_grad(h, y):
    """dL/dh_j = a_j - y_j for L = -sum_k y_k log softmax(h)_k (per example, not averaged).

    Shapes: h (C,) or (N, C); y integer labels or probabilities -> like h.
    """
    h = _logits(h, "cross_entropy_grad")
    return softmax(h) - _targets(y, h, "cross_entropy_grad")


def grad_through_jacobian(h, y):
    """dL/dh = J^T dL/da with dL/da_k = -y_k / a_k: the chain rule written out, equal to a - y.

    Breaks down (0/0) once some a_k with y_k > 0 underflows to 0: the reason frameworks fuse
    softmax and cross-entropy. Shapes: h (C,) or (N, C); y labels or probabilities -> like h.
    """
    h = _logits(h, "grad_through_jacobian")
    y = _targets(y, h, "grad_through_jacobian")
    a = softmax(h)
    with np.errstate(divide="ignore", invalid="ignore"):
        da = np.where(y > 0, -y / a, 0.0)                # (..., C); 0 where y_k = 0, as 0 * log a_k
    J = softmax_jacobian(h)                              # (..., C, C)
    return np.einsum("...kj,...k->...j", J, da)          # sum_k (da_k/dh_j) dL/da_k


def numerical_jacobian(f, h, eps=1e-6):
    """J_jk ~ (f(h + eps e_k)_j - f(h - eps e_k)_j) / (2 eps), one output j at a time.

    Shapes: f maps (C,) -> (M,); h (C,) -> J (M, C). h is left as it was found.
    """
    if not callable(f):
        raise TypeError(f"numerical_jacobian: argument 'f' must be callable, got {type(f).__name__}")
    h = float_array(h, "numerical_jacobian", "h", ndim=1).copy()   # perturbed in place below
    M = np.asarray(f(h)).shape[0]
    return np.stack([numerical_gradient(lambda j=j: f(h)[j], h, eps) for j in range(M)])


def jacobian_properties(J):
    """The facts the lesson proves about J = diag(a) - a a^T, measured: each should be ~0 or exact.

    Returns asymmetry max|J - J^T|, max |row sum|, rank, smallest and largest eigenvalue, trace.
    Shapes: J (C, C) -> dict of floats (rank an int).
    """
    J = float_array(J, "jacobian_properties", "J", ndim=2)
    if J.shape[0] != J.shape[1]:
        raise ValueError(f"jacobian_properties: argument 'J' must be square (C, C), got {J.shape}")
    eig = np.linalg.eigvalsh((J + J.T) / 2)              # symmetric by the proof; eigvalsh is exact-ish
    return {"asymmetry": float(np.abs(J - J.T).max()),
            "max_row_sum": float(np.abs(J.sum(axis=1)).max()),
            "rank": int(np.linalg.matrix_rank(J, tol=1e-10)),
            "min_eig": float(eig[0]),
            "max_eig": float(eig[-1]),
            "trace": float(np.trace(J))}


def softmax_view(h, true_class):
    """Everything the logits explorer shows for one example: a, y, J, a - y and L.

    Shapes: h (C,), true_class an int in [0, C) -> dict with a (C,), y (C,), J (C, C),
    grad (C,), loss float.
    """
    h = _logits(h, "softmax_view")
    if h.ndim != 1:
        raise ValueError(f"softmax_view: argument 'h' must be one example (C,), got shape {h.shape}")
    if isinstance(true_class, bool) or not isinstance(true_class, (int, np.integer)) \
            or not 0 <= true_class < h.shape[0]:
        raise ValueError(f"softmax_view: argument 'true_class' must be an integer in [0, {h.shape[0]}), "
                         f"got {true_class!r}")
    a = softmax(h)
    y = np.zeros_like(a)
    y[true_class] = 1.0
    return {"a": a, "y": y, "J": softmax_jacobian(h), "grad": a - y,
            "loss": float(-log_softmax(h)[true_class])}


def loss_surface(h, true_class, i, j, values_i, values_j):
    """L(h) = -log softmax(h)_true as h_i and h_j sweep their grids, the other logits held fixed.

    Shapes: h (C,); values_i (Gi,), values_j (Gj,) -> L (Gj, Gi), rows along h_j (as contourf wants).
    """
    h = _logits(h, "loss_surface")
    C = h.shape[0]
    for name, k in (("true_class", true_class), ("i", i), ("j", j)):
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 0 <= k < C:
            raise ValueError(f"loss_surface: argument '{name}' must be a class index in [0, {C}), got {k!r}")
    if i == j:
        raise ValueError(f"loss_surface: arguments 'i' and 'j' must be two different logits, got {i} twice")
    vi = float_array(values_i, "loss_surface", "values_i", ndim=1)
    vj = float_array(values_j, "loss_surface", "values_j", ndim=1)
    H = np.broadcast_to(h, (vj.size, vi.size, C)).copy()   # (Gj, Gi, C)
    H[:, :, i] = vi[None, :]
    H[:, :, j] = vj[:, None]
    return -log_softmax(H)[:, :, true_class]                # (Gj, Gi)


def true_logit_sweep(h, true_class, values):
    """Move the true class's logit h_y over values, others fixed: how p_y, L and the gradient respond.

    Returns p_true = a_y, loss = -log a_y, grad_true = a_y - 1, grad_norm = ||a - y|| and
    jac_diag = a_y (1 - a_y). Shapes: h (C,); values (G,) -> dict of (G,) arrays.
    """
    h = _logits(h, "true_logit_sweep")
    values = float_array(values, "true_logit_sweep", "values", ndim=1)
    if isinstance(true_class, bool) or not isinstance(true_class, (int, np.integer)) \
            or not 0 <= true_class < h.shape[0]:
        raise ValueError(f"true_logit_sweep: argument 'true_class' must be an integer in "
                         f"[0, {h.shape[0]}), got {true_class!r}")
    H = np.broadcast_to(h, (values.size, h.shape[0])).copy()   # (G, C)
    H[:, true_class] = values
    log_a = log_softmax(H)                                       # (G, C)
    a = np.exp(log_a)
    grad = a.copy()
    grad[:, true_class] -= 1.0                                   # a - y, row by row
    p = a[:, true_class]
    return {"p_true": p, "loss": -log_a[:, true_class], "grad_true": p - 1.0,
            "grad_norm": np.linalg.norm(grad, axis=1), "jac_diag": p * (1.0 - p)}


def slide_network(x, y, W, b):
    """The slide's network h = x W + b, r = relu(h), a = softmax(r), L = mean_n -sum_k y_nk log a_nk.

    Backward, assembled from the pieces: dr = (a - y) / N, dh = dr * 1[h > 0], dW = x^T dh,
    db = sum_n dh, i.e. dL/dW_j = (a_j - y_j) 1[h_j > 0] x for one example.
    Shapes: x (N, D), y (N,) labels or (N, M) probabilities, W (D, M), b (M,) ->
    (loss float, {"W": (D, M), "b": (M,)}, cache dict of h, r, a, dr, dh each (N, M)).
    """
    where = "slide_network"
    x = float_array(x, where, "x", ndim=2)
    W = float_array(W, where, "W", ndim=2)
    b = float_array(b, where, "b", ndim=1)
    if W.shape[0] != x.shape[1] or b.shape != (W.shape[1],):
        raise ValueError(f"{where}: shapes do not fit together: x {x.shape}, W {W.shape}, b {b.shape}; "
                         "expected x (N, D), W (D, M), b (M,)")
    N = x.shape[0]
    h = x @ W + b                                   # (N, M)
    r = np.maximum(h, 0.0)                          # (N, M)
    y = _targets(y, _logits(r, where), where)       # (N, M) one-hot or probabilities
    a = softmax(r)                                  # (N, M)
    loss = float(-(y * log_softmax(r)).sum()) / N
    dr = (a - y) / N                                # (N, M): the homework, averaged over the batch
    dh = dr * (h > 0)                               # (N, M): ReLU passes the gradient where it was on
    grads = {"W": x.T @ dh,                         # (D, M)
             "b": dh.sum(axis=0)}                   # (M,)
    return loss, grads, {"h": h, "r": r, "a": a, "dr": dr, "dh": dh}
