"""Activation functions phi and their derivatives phi', as a small registry for lesson 02.

Each entry is an `Activation` with the function, its derivative and their formulas in LaTeX.
Look one up with ``get("relu")``; ``NAMES`` lists them in teaching order.
The functions are pure (no state, no input mutation) and work on arrays of any shape.
"""

from typing import Callable, NamedTuple

import numpy as np

from dlteach._checks import float_array

__all__ = ["Activation", "NAMES", "get", "step", "dstep", "sigmoid", "dsigmoid", "tanh", "dtanh",
           "relu", "drelu", "leaky_relu", "dleaky_relu", "identity", "didentity"]


def step(x):
    """step(x) = 1 if x > 0 else 0 (Heaviside; the perceptron's activation).

    Shapes: any -> same.
    """
    x = float_array(x, "step", "x", allow_empty=True)
    return (x > 0).astype(x.dtype)


def dstep(x):
    """step'(x) = 0 for x != 0 (undefined at 0; we return 0 there too): no gradient to learn from.

    Shapes: any -> same.
    """
    x = float_array(x, "dstep", "x", allow_empty=True)
    return np.zeros_like(x)


def sigmoid(x):
    """sigma(x) = 1 / (1 + e^{-x}), computed as (1 + tanh(x / 2)) / 2 so no exponential overflows.

    Shapes: any -> same.
    """
    x = float_array(x, "sigmoid", "x", allow_empty=True)
    return 0.5 * np.tanh(0.5 * x) + 0.5


def dsigmoid(x):
    """sigma'(x) = sigma(x) (1 - sigma(x)), at most 1/4 (at x = 0).

    Shapes: any -> same.
    """
    s = sigmoid(x)
    return s * (1 - s)


def tanh(x):
    """tanh(x) = (e^x - e^{-x}) / (e^x + e^{-x}) = 2 sigma(2x) - 1.

    Shapes: any -> same.
    """
    x = float_array(x, "tanh", "x", allow_empty=True)
    return np.tanh(x)


def dtanh(x):
    """tanh'(x) = 1 - tanh(x)^2, at most 1 (at x = 0).

    Shapes: any -> same.
    """
    t = tanh(x)
    return 1 - t * t


def relu(x):
    """relu(x) = max(x, 0).

    Shapes: any -> same.
    """
    x = float_array(x, "relu", "x", allow_empty=True)
    return np.maximum(x, 0)


def drelu(x):
    """relu'(x) = 1[x > 0] (the kink at 0 gets 0, as in dlteach.layers.ReLU).

    Shapes: any -> same.
    """
    x = float_array(x, "drelu", "x", allow_empty=True)
    return (x > 0).astype(x.dtype)


_LEAK = 0.1     # large enough to see on a plot; PyTorch's default is 0.01


def leaky_relu(x):
    """leaky_relu(x) = x if x > 0 else 0.1 x: a ReLU whose negative side still passes a gradient.

    Shapes: any -> same.
    """
    x = float_array(x, "leaky_relu", "x", allow_empty=True)
    return np.where(x > 0, x, _LEAK * x)


def dleaky_relu(x):
    """leaky_relu'(x) = 1 if x > 0 else 0.1.

    Shapes: any -> same.
    """
    x = float_array(x, "dleaky_relu", "x", allow_empty=True)
    return np.where(x > 0, 1.0, _LEAK).astype(x.dtype)


def identity(x):
    """identity(x) = x: a network of linear layers with it collapses to one linear map.

    Shapes: any -> same.
    """
    x = float_array(x, "identity", "x", allow_empty=True)
    return x.copy()


def didentity(x):
    """identity'(x) = 1.

    Shapes: any -> same.
    """
    x = float_array(x, "didentity", "x", allow_empty=True)
    return np.ones_like(x)


class Activation(NamedTuple):
    """An activation phi with its derivative and their formulas (LaTeX, for plots and lessons)."""
    name: str
    f: Callable
    df: Callable
    tex: str
    dtex: str
    text: str          # plain-text formulas: live plots skip the mathtext parser, which is slow
    dtext: str
    kinks: tuple       # points where phi is not differentiable (numerical checks avoid them)


_REGISTRY = {
    a.name: a for a in (
        Activation("step", step, dstep, r"1[x > 0]", r"0 \ (x \neq 0)",
                   "1 if x > 0 else 0", "0 (x != 0)", (0.0,)),
        Activation("sigmoid", sigmoid, dsigmoid, r"\frac{1}{1 + e^{-x}}", r"\sigma(x)(1 - \sigma(x))",
                   "1 / (1 + exp(-x))", "sigma(x) (1 - sigma(x))", ()),
        Activation("tanh", tanh, dtanh, r"\tanh x", r"1 - \tanh^2 x", "tanh(x)", "1 - tanh(x)^2", ()),
        Activation("relu", relu, drelu, r"\max(x, 0)", r"1[x > 0]", "max(x, 0)", "1 if x > 0 else 0", (0.0,)),
        Activation("leaky_relu", leaky_relu, dleaky_relu, r"\max(x, 0.1x)", r"1 \mathrm{\ or\ } 0.1",
                   "max(x, 0.1 x)", "1 if x > 0 else 0.1", (0.0,)),
        Activation("identity", identity, didentity, r"x", r"1", "x", "1", ()),
    )
}
NAMES = tuple(_REGISTRY)


def get(name):
    """The Activation called name: one of NAMES ("step", "sigmoid", "tanh", "relu", ...)."""
    if isinstance(name, Activation):
        return name
    if name not in _REGISTRY:
        raise ValueError(f"activations.get: argument 'name' is {name!r}; expected one of {list(NAMES)}")
    return _REGISTRY[name]
