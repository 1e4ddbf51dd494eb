"""The Layer base class and the helpers every layer shares (dtype, initial scale, feature checks)."""

import numpy as np

from dlteach._checks import float_array


class Layer:
    """Base class: params/grads dicts, forward/backward, train()/eval(), parameters()."""

    def __init__(self):
        self.params = {}
        self.grads = {}
        self.training = True
        self._cache = None      # what forward keeps for backward; None until forward runs

    def __call__(self, x):
        return self.forward(x)

    def __repr__(self):
        return f"{type(self).__name__}({self.extra_repr()})"

    def extra_repr(self):
        return ""

    def forward(self, x):
        raise NotImplementedError(f"{type(self).__name__}.forward is not implemented")

    def backward(self, dout):
        raise NotImplementedError(f"{type(self).__name__}.backward is not implemented")

    def train(self):
        """Training mode (Dropout drops); returns the layer, so calls can be chained."""
        self.training = True
        return self

    def eval(self):
        """Evaluation mode (Dropout is the identity); returns the layer."""
        self.training = False
        return self

    def parameters(self):
        """Yield (name, param, grad) for every parameter; grad is None before the first backward."""
        for name, p in self.params.items():
            yield name, p, self.grads.get(name)

    def num_params(self):
        """Total number of scalar parameters."""
        return sum(p.size for _, p, _ in self.parameters())

    def _saved(self):
        """Return what forward kept, or raise if backward comes first."""
        if self._cache is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before forward: "
                               "run forward on a batch first, then backward with dL/d(output)")
        return self._cache

    def _check_dout(self, dout, shape):
        where = f"{type(self).__name__}.backward"
        dout = float_array(dout, where, "dout")
        if dout.shape != shape:
            raise ValueError(f"{where}: argument 'dout' has shape {dout.shape}; expected {shape}, "
                             "the shape of the forward output")
        return dout


def _init_dtype(dtype, where):
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"{where}: argument 'dtype' must be a floating-point type such as np.float32 "
                        f"or np.float64, got {dtype}")
    return dtype


def _check_features(x, expected, where, axis=-1, letter="D"):
    if x.shape[axis] != expected:
        raise ValueError(f"{where}: argument 'x' has {x.shape[axis]} features (shape {x.shape}); "
                         f"expected {letter} = {expected}")


def _init_scale(init, fan_in, fan_out, where):
    if init == "he":
        return np.sqrt(2.0 / fan_in)
    if init == "glorot":
        return np.sqrt(2.0 / (fan_in + fan_out))
    if isinstance(init, (int, float)) and not isinstance(init, bool) and init >= 0:
        return float(init)
    raise ValueError(f"{where}: argument 'init' must be 'he', 'glorot' or a non-negative number, got {init!r}")
