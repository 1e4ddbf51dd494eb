"""Softmax with a temperature T: the probabilities softmax(h / T), their entropy, and how big the
cross-entropy gradient (softmax(h / T) - y) / T is, as T moves (lesson 06).

Pure functions on arrays: the lesson's widget draws what they return and the tests call them.
"""

import numpy as np

from dlteach import functional
from dlteach._checks import float_array, positive

__all__ = ["tempered_softmax", "entropy", "tempered_grad", "temperature_view", "temperature_sweep"]


def tempered_softmax(h, T):
    """a = softmax(h / T): T > 1 flattens the probabilities, T < 1 sharpens them.

    Shapes: h (..., C) -> a (..., C), each row summing to 1.
    """
    h = float_array(h, "tempered_softmax", "h")
    positive(T, "tempered_softmax", "T")
    return functional.softmax(h / T)


def entropy(a):
    """H(a) = -sum_j a_j log a_j in nats, with 0 log 0 = 0; from 0 (one-hot) to log C (uniform).

    Shapes: a (..., C) probability rows -> (...,).
    """
    a = float_array(a, "entropy", "a")
    if a.min() < 0:
        raise ValueError(f"entropy: argument 'a' holds {a.min():.3g}; expected probabilities >= 0")
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(a > 0, a * np.log(a), 0.0)     # a -> 0 contributes a log a -> 0
    return -terms.sum(axis=-1)


def tempered_grad(h, true_class, T):
    """dL/dh = (softmax(h / T) - y) / T for L = -log softmax(h / T)_y: the chain rule's extra 1/T.

    Shapes: h (C,), true_class an int -> (C,).
    """
    h = float_array(h, "tempered_grad", "h", ndim=1)
    C = h.shape[0]
    if isinstance(true_class, bool) or not isinstance(true_class, (int, np.integer)) or not 0 <= true_class < C:
        raise ValueError(f"tempered_grad: argument 'true_class' is {true_class!r}; expected an int in [0, {C})")
    g = tempered_softmax(h, T)
    g[true_class] -= 1
    return g / T


def temperature_view(h, T, true_class):
    """Everything the temperature widget shows for one T.

    Returns {"a": softmax(h/T), "entropy": H(a), "peak": max a, "grad": (a - y)/T, "grad_norm": ||grad||,
    "worst_grad_norm": max over labels y of ||(a - y)/T||, reached by the least likely class}.
    Shapes: h (C,) -> a, grad (C,); the rest floats.
    """
    a = tempered_softmax(float_array(h, "temperature_view", "h", ndim=1), T)
    grad = tempered_grad(h, true_class, T)
    # ||a - e_y||^2 = sum a^2 - 2 a_y + 1 is largest for the smallest a_y.
    worst = np.sqrt(max(float(a @ a) - 2 * float(a.min()) + 1, 0.0)) / T
    return {"a": a, "entropy": float(entropy(a)), "peak": float(a.max()), "grad": grad,
            "grad_norm": float(np.linalg.norm(grad)), "worst_grad_norm": float(worst)}


def temperature_sweep(h, temperatures, true_class):
    """The entropy, the peak probability and the gradient sizes of temperature_view along many T.

    Shapes: h (C,), temperatures (K,) -> dict of (K,) arrays, plus "a" (K, C).
    """
    temperatures = float_array(temperatures, "temperature_sweep", "temperatures", ndim=1)
    if temperatures.min() <= 0:
        raise ValueError(f"temperature_sweep: argument 'temperatures' holds {temperatures.min():g}; "
                         "expected every T > 0")
    views = [temperature_view(h, float(T), true_class) for T in temperatures]
    out = {key: np.array([v[key] for v in views])
           for key in ("entropy", "peak", "grad_norm", "worst_grad_norm")}
    out["a"] = np.stack([v["a"] for v in views])          # (K, C)
    out["T"] = temperatures
    return out
