"""Layers with forward and backward passes: Linear, activations, Dropout, Flatten, Sequential.

Convolution and pooling live in dlteach.conv, recurrent layers in dlteach.recurrent; all are
importable from here. Every layer keeps `params` and `grads` dicts with the same keys;
`backward(dout)` fills `grads` and returns the gradient with respect to the layer's input.
"""

import numpy as np

from dlteach._checks import float_array, positive, require_rng
from dlteach.base import Layer, _check_features, _init_dtype, _init_scale
from dlteach.conv import Conv2d, MaxPool2d
from dlteach.recurrent import LSTM, RNN


class Linear(Layer):
    """h = x @ W + b.  Shapes: x (N, D) -> h (N, M); W (D, M), b (M,).

    Weights start as N(0, scale^2) with scale sqrt(2 / D) (He, for ReLU) by default;
    init="glorot" uses sqrt(2 / (D + M)) (for sigmoid and tanh), or pass a number.
    """

    def __init__(self, in_features, out_features, *, rng, init="he", dtype=np.float64):
        super().__init__()
        where = "Linear"
        self.in_features = positive(in_features, where, "in_features", integer=True)
        self.out_features = positive(out_features, where, "out_features", integer=True)
        require_rng(rng, where)
        self.dtype = _init_dtype(dtype, where)
        D, M = self.in_features, self.out_features
        scale = _init_scale(init, D, M, where)
        self.params["W"] = (rng.standard_normal((D, M)) * scale).astype(self.dtype)   # (D, M)
        self.params["b"] = np.zeros(M, dtype=self.dtype)                               # (M,)

    def extra_repr(self):
        return f"{self.in_features}, {self.out_features}"

    def forward(self, x):
        x = float_array(x, "Linear.forward", "x", ndim=2)
        _check_features(x, self.in_features, "Linear.forward")
        self._cache = x
        h = x @ self.params["W"]        # (N, M)
        h += self.params["b"]
        return h

    SKIPS_INPUT_GRAD = True

    def backward(self, dout, *, input_grad=True):
        """Fill grads; return dL/dx (N, D), or None with input_grad=False (the model's input needs none)."""
        x = self._saved()
        dout = self._check_dout(dout, (x.shape[0], self.out_features))   # (N, M)
        self.grads["W"] = x.T @ dout                                      # (D, M)
        self.grads["b"] = dout.sum(axis=0)                                # (M,)
        return dout @ self.params["W"].T if input_grad else None          # (N, D)


class ReLU(Layer):
    """relu(x) = max(x, 0); its derivative is 1[x > 0].  Shapes: any -> same."""

    def forward(self, x):
        x = float_array(x, "ReLU.forward", "x")
        mask = x > 0
        self._cache = mask
        return x * mask

    def backward(self, dout):
        mask = self._saved()
        return self._check_dout(dout, mask.shape) * mask


class Sigmoid(Layer):
    """sigma(x) = 1 / (1 + exp(-x)); sigma' = sigma (1 - sigma) <= 1/4.  Shapes: any -> same."""

    def forward(self, x):
        x = float_array(x, "Sigmoid.forward", "x")
        out = np.tanh(x * 0.5)      # sigma(x) = (1 + tanh(x/2)) / 2 never overflows
        out *= 0.5
        out += 0.5
        self._cache = out
        return out

    def backward(self, dout):
        out = self._saved()
        return self._check_dout(dout, out.shape) * out * (1 - out)


class Tanh(Layer):
    """tanh(x); tanh' = 1 - tanh^2.  Shapes: any -> same."""

    def forward(self, x):
        x = float_array(x, "Tanh.forward", "x")
        out = np.tanh(x)
        self._cache = out
        return out

    def backward(self, dout):
        out = self._saved()
        return self._check_dout(dout, out.shape) * (1 - out * out)


class Dropout(Layer):
    """Inverted dropout: in training, zero each entry with probability p and scale the rest by 1/(1-p).

    In eval mode it is the identity, so nothing changes at test time.  Shapes: any -> same.
    """

    def __init__(self, p=0.5, *, rng):
        super().__init__()
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p < 1:
            raise ValueError(f"Dropout: argument 'p' must be a probability with 0 <= p < 1, got {p!r}")
        self.p = float(p)
        self.rng = require_rng(rng, "Dropout")

    def extra_repr(self):
        return f"p={self.p}"

    def forward(self, x):
        x = float_array(x, "Dropout.forward", "x")
        if not self.training or self.p == 0:
            self._cache = np.ones((), dtype=x.dtype)
            return x.copy()
        keep = self.rng.random(x.shape) >= self.p
        mask = keep.astype(x.dtype) / (1 - self.p)
        self._cache = mask
        return x * mask

    def backward(self, dout):
        mask = self._saved()
        dout = float_array(dout, "Dropout.backward", "dout")
        if mask.ndim and dout.shape != mask.shape:
            raise ValueError(f"Dropout.backward: argument 'dout' has shape {dout.shape}; expected {mask.shape}")
        return dout * mask


class Flatten(Layer):
    """Keep the batch axis, flatten the rest.  Shapes: x (N, d1, d2, ...) -> (N, d1*d2*...)."""

    def forward(self, x):
        x = float_array(x, "Flatten.forward", "x", ndim=(2, 3, 4, 5))
        self._cache = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, dout):
        shape = self._saved()
        return self._check_dout(dout, (shape[0], int(np.prod(shape[1:])))).reshape(shape)


class Sequential(Layer):
    """Layers applied in order; backward runs them in reverse.  Parameters are named "index.name"."""

    def __init__(self, *layers):
        super().__init__()
        for i, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise TypeError(f"Sequential: argument {i} must be a Layer (e.g. Linear or ReLU), "
                                f"got {type(layer).__name__}")
        self.layers = list(layers)

    def __repr__(self):
        inner = ",\n".join(repr(layer) for layer in self.layers).replace("\n", "\n  ")   # nested ones indent too
        return f"Sequential(\n  {inner}\n)"

    def __getitem__(self, i):
        return self.layers[i]

    def __len__(self):
        return len(self.layers)

    @property
    def params(self):
        return {name: p for name, p, _ in self.parameters()}

    @params.setter
    def params(self, value):
        if value:
            raise AttributeError("Sequential.params is derived from its layers; set the layers' params")

    @property
    def grads(self):
        return {name: g for name, _, g in self.parameters() if g is not None}

    @grads.setter
    def grads(self, value):
        if value:
            raise AttributeError("Sequential.grads is derived from its layers")

    def parameters(self):
        for i, layer in enumerate(self.layers):
            for name, p, g in layer.parameters():
                yield f"{i}.{name}", p, g

    def train(self):
        self.training = True
        for layer in self.layers:
            layer.train()
        return self

    def eval(self):
        self.training = False
        for layer in self.layers:
            layer.eval()
        return self

    def forward(self, x):
        for layer in self.layers:
            x = layer.forward(x)
        self._cache = True
        return x

    SKIPS_INPUT_GRAD = True

    def backward(self, dout, *, input_grad=True):
        """Run the layers' backward in reverse; return dL/d(input), or None with input_grad=False.

        input_grad=False is for training, where nothing needs the gradient of the data: a first
        layer that can (Linear, Conv2d) then skips that product, as autograd does for an input
        that does not require a gradient.
        """
        self._saved()
        first = self.layers[0] if self.layers else None
        for layer in reversed(self.layers[1:] if first is not None else []):
            dout = layer.backward(dout)
        if first is None:
            return dout if input_grad else None
        if not input_grad and getattr(first, "SKIPS_INPUT_GRAD", False):
            return first.backward(dout, input_grad=False)
        dx = first.backward(dout)
        return dx if input_grad else None


__all__ = ["Layer", "Linear", "ReLU", "Sigmoid", "Tanh", "Dropout", "Flatten", "Sequential",
           "Conv2d", "MaxPool2d", "RNN", "LSTM"]
