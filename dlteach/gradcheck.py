"""Numerical gradients by central differences, and checks that compare them with analytic backward passes."""

import numpy as np

from dlteach._checks import float_array


def numerical_gradient(f, x, h=1e-5):
    """df/dx_i ~ (f(x + h e_i) - f(x - h e_i)) / (2h) for every entry i of x.

    f takes no argument and reads x (perturbed in place), returning a scalar.
    x is left exactly as it was found. Shapes: x any -> gradient like x.
    """
    if not callable(f):
        raise TypeError(f"numerical_gradient: argument 'f' must be callable, got {type(f).__name__}")
    x = float_array(x, "numerical_gradient", "x", allow_empty=True)
    grad = np.zeros_like(x)
    flat, gflat = x.reshape(-1), grad.reshape(-1)
    if not np.shares_memory(flat, x):
        raise ValueError("numerical_gradient: argument 'x' must be contiguous so that it can be "
                         "perturbed in place")
    for i in range(flat.size):
        old = flat[i]
        try:
            flat[i] = old + h
            f_plus = float(f())
            flat[i] = old - h
            f_minus = float(f())
        finally:
            flat[i] = old
        gflat[i] = (f_plus - f_minus) / (2 * h)
    return grad


def rel_error(a, b):
    """max |a - b| / (max |a| + max |b|): scale-free, and robust where single entries are near 0."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"rel_error: shapes differ: {a.shape} and {b.shape}")
    if a.size == 0:
        return 0.0
    scale = np.abs(a).max() + np.abs(b).max()
    return float(np.abs(a - b).max() / scale) if scale > 0 else 0.0


def assert_close_gradient(analytic, numerical, what, tol):
    """Raise an AssertionError naming the worst entry when rel_error(analytic, numerical) > tol."""
    err = rel_error(analytic, numerical)
    if not err <= tol:
        diff = np.abs(np.asarray(analytic) - np.asarray(numerical))
        idx = np.unravel_index(int(np.argmax(diff)), diff.shape)
        idx = tuple(int(i) for i in idx)
        raise AssertionError(
            f"{what}: analytic and numerical gradients differ (rel. error {err:.3g} > tol {tol:.1g}); "
            f"worst entry {idx}: analytic {np.asarray(analytic)[idx]:.6g}, "
            f"numerical {np.asarray(numerical)[idx]:.6g}")
    return err


def check_layer(layer, x, *, rng=None, h=1e-6, tol=1e-7):
    """Compare layer.backward with central differences of L = sum(forward(x) * dout), dout random.

    Checks d(input) and every parameter gradient; returns {name: rel. error}, "x" for the input.
    Use float64 inputs and parameters: float32 cannot resolve differences of size h.
    """
    where = f"check_layer({type(layer).__name__})"
    x = float_array(x, where, "x")
    rng = rng if rng is not None else np.random.default_rng(0)
    x = x.copy()
    out = layer.forward(x)
    dout = rng.standard_normal(out.shape)

    def objective():
        return float(np.sum(layer.forward(x) * dout))

    layer.forward(x)
    dx = layer.backward(dout)
    analytic = {"x": dx, **{name: g.copy() for name, _, g in layer.parameters()}}
    numeric = {"x": numerical_gradient(objective, x, h)}
    for name, p, _ in layer.parameters():
        numeric[name] = numerical_gradient(objective, p, h)
    return {name: assert_close_gradient(analytic[name], numeric[name], f"{where}: gradient of '{name}'", tol)
            for name in analytic}


def check_loss(loss_fn, logits, y, *, h=1e-6, tol=1e-7, **kwargs):
    """Compare the gradient returned by loss_fn(logits, y, **kwargs) with central differences.

    Returns the rel. error; raises an AssertionError naming the worst entry above tol.
    """
    name = getattr(loss_fn, "__name__", type(loss_fn).__name__)
    logits = float_array(logits, f"check_loss({name})", "logits").copy()
    _, dlogits = loss_fn(logits, y, **kwargs)
    numeric = numerical_gradient(lambda: loss_fn(logits, y, **kwargs)[0], logits, h)
    return assert_close_gradient(dlogits, numeric, f"check_loss({name}): gradient of 'logits'", tol)
