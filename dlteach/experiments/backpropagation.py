"""Experiments behind lesson 03 (backpropagation): gradient descent on a 1-D objective, and what
happens to activations and gradients as they pass through a deep stack of layers.

Every function is pure (same arguments, same result; randomness from a seed) and needs no
ipywidgets, so the tests call it over a grid of slider settings; dlteach.widgets.backpropagation draws it.
"""

import numpy as np

from dlteach import layers, losses
from dlteach._checks import positive

__all__ = ["ACTIVATIONS", "GAINS", "quadratic", "gradient_descent", "probe_network",
           "gradient_norms_by_depth", "vanishing_ratio", "layer_spread"]

ACTIVATIONS = {"sigmoid": layers.Sigmoid, "tanh": layers.Tanh, "relu": layers.ReLU}

# Weight std = gain / sqrt(D) for a square D x D layer: Glorot's sqrt(2 / (D + M)) is gain 1,
# He's sqrt(2 / D) is gain sqrt(2), which makes up for ReLU zeroing half of its inputs.
GAINS = {"glorot": 1.0, "he": float(np.sqrt(2.0))}

PERCENTILES = (5, 25, 50, 75, 95)


def quadratic(curvature=1.0, w_star=2.0):
    """J(w) = (c/2) (w - w*)^2 and its gradient dJ/dw = c (w - w*), as a pair of functions.

    Shapes: w any -> J like w; gradient like w.
    """
    curvature = positive(curvature, "quadratic", "curvature")

    def J(w):
        return 0.5 * curvature * (np.asarray(w, dtype=float) - w_star) ** 2

    def grad(w):
        return curvature * (np.asarray(w, dtype=float) - w_star)

    return J, grad


def gradient_descent(grad, w0, *, eta, steps):
    """w(t+1) = w(t) - eta * grad J(w(t)), from w(0) = w0 for `steps` steps.

    Shapes: w0 (D,) or a scalar -> the path (steps + 1, D) or (steps + 1,).
    """
    if not callable(grad):
        raise TypeError(f"gradient_descent: argument 'grad' must be a function w -> dJ/dw, "
                        f"got {type(grad).__name__}")
    eta = positive(eta, "gradient_descent", "eta", allow_zero=True)
    steps = positive(steps, "gradient_descent", "steps", integer=True, allow_zero=True)
    w = np.array(w0, dtype=float)
    path = np.empty((steps + 1, *w.shape))     # (steps + 1, D)
    path[0] = w
    for t in range(steps):
        w = w - eta * grad(w)
        path[t + 1] = w
    return path


def _check_activation(activation, where):
    if activation not in ACTIVATIONS:
        raise ValueError(f"{where}: argument 'activation' is {activation!r}; expected one of {list(ACTIVATIONS)}")


def _gain(init, where):
    if isinstance(init, str):
        if init not in GAINS:
            raise ValueError(f"{where}: argument 'init' is {init!r}; expected 'glorot', 'he' or a positive gain")
        return GAINS[init]
    return positive(init, where, "init")


def _run(depth, activation, init, width, batch, classes, seed, where):
    """Forward and backward once; returns (activations (depth, N, width), grad_std, weight_grad_norm).

    The default width 32 and batch 64 keep every product under OpenBLAS's threading threshold
    (N * D * M < 2^18): a widget then runs its matrix products on one thread, since at this size
    handing work to a second thread costs more than it saves, many times more on a busy machine.
    """
    depth = positive(depth, where, "depth", integer=True)
    _check_activation(activation, where)
    gain = _gain(init, where)
    width = positive(width, where, "width", integer=True)
    batch = positive(batch, where, "batch", integer=True)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, width))                               # (N, D)
    labels = rng.integers(0, classes, size=batch)                         # (N,)
    linears = [layers.Linear(width, width, rng=rng, init=gain / np.sqrt(width)) for _ in range(depth)]
    acts = [ACTIVATIONS[activation]() for _ in range(depth)]
    head = layers.Linear(width, classes, rng=rng, init="glorot")

    outs = np.empty((depth, batch, width))                                # (depth, N, width)
    a = x
    for l, (lin, act) in enumerate(zip(linears, acts)):
        a = outs[l] = act.forward(lin.forward(a))
    _, dout = losses.softmax_cross_entropy(head.forward(a), labels)       # (N, classes)
    da = head.backward(dout)                                              # (N, width)
    grad_std = np.empty(depth)
    weight_grad_norm = np.empty(depth)
    for l in reversed(range(depth)):
        dh = acts[l].backward(da)                                         # (N, width)
        da = linears[l].backward(dh)
        grad_std[l] = dh.std()
        weight_grad_norm[l] = np.linalg.norm(linears[l].grads["W"])
    return outs, grad_std, weight_grad_norm


def probe_network(depth, activation, *, init="glorot", width=32, batch=64, classes=10, seed=0):
    """One forward and backward pass through `depth` hidden layers a_l = phi(a_{l-1} W_l + b_l),
    then a linear read-out and softmax cross-entropy with random labels; x ~ N(0, 1).

    init: "glorot" (gain 1), "he" (gain sqrt 2) or a number g: W_l ~ N(0, g^2 / width).
    Returns per hidden layer l = 1..depth:
      "act_std" std of a_l, "act_percentiles" (depth, 5) its 5/25/50/75/95th percentiles,
      "grad_std" std of dloss/dh_l (the pre-activation gradient), "weight_grad_norm" ||dloss/dW_l||_F.
    Shapes: -> arrays (depth,), except act_percentiles (depth, 5).
    """
    outs, grad_std, weight_grad_norm = _run(depth, activation, init, width, batch, classes, seed,
                                            "probe_network")
    flat = outs.reshape(len(outs), -1)                                    # (depth, N * width)
    return {
        "act_std": flat.std(axis=1),
        "act_percentiles": np.percentile(flat, PERCENTILES, axis=1).T,   # (depth, 5)
        "grad_std": grad_std,
        "weight_grad_norm": weight_grad_norm,
    }


def gradient_norms_by_depth(depth, activation, *, init="glorot", width=32, batch=64, seed=0):
    """||dloss/dW_l||_F for each hidden layer l = 1..depth of a fresh network (see probe_network).

    Shapes: -> (depth,).
    """
    return _run(depth, activation, init, width, batch, 10, seed, "gradient_norms_by_depth")[2]


def vanishing_ratio(depths, activation, *, init="glorot", width=32, batch=64, seed=0):
    """||dloss/dW_1|| / ||dloss/dW_L|| for a network of each depth L: how much the first layer's gradient
    shrank (< 1) or grew (> 1) on its way down from the last hidden layer.

    Shapes: depths (K,) integers -> (K,).
    """
    out = []
    for depth in depths:
        norms = gradient_norms_by_depth(depth, activation, init=init, width=width, batch=batch, seed=seed)
        out.append(norms[0] / norms[-1])
    return np.array(out)


def layer_spread(depth, activation, init, *, width=32, batch=64, seed=0):
    """The spread of activations and gradients layer by layer for a given initial scale.

    Returns {"act_percentiles" (depth, 5), "act_std" (depth,), "grad_std" (depth,)};
    see probe_network for what each means.
    """
    probe = probe_network(depth, activation, init=init, width=width, batch=batch, seed=seed)
    return {k: probe[k] for k in ("act_percentiles", "act_std", "grad_std")}
