"""Layers with forward and backward passes: Linear, Embedding, activations, Dropout, BatchNorm1d and
BatchNorm2d, Flatten, Sequential.

Convolution and pooling live in dlteach.conv, recurrent layers in dlteach.recurrent; all are
importable from here. Every layer keeps `params` and `grads` dicts with the same keys;
`backward(dout)` fills `grads` and returns the gradient with respect to the layer's input.
"""

import numpy as np

from dlteach._checks import float_array, positive, require_rng
from dlteach.base import Layer, _check_features, _init_dtype, _init_scale
from dlteach.conv import Conv2d, MaxPool2d
from dlteach.recurrent import GRU, LSTM, RNN


class Linear(Layer):
    """h = x @ W + b.  Shapes: x (N, D) -> h (N, M); W (D, M), b (M,).

    Weights start as N(0, scale^2) with scale sqrt(2 / D) (He, for ReLU) by default;
    init="glorot" uses sqrt(2 / (D + M)), derived for an activation with slope 1 at 0 (tanh; a
    sigmoid's slope there is 1/4, so it needs about 4 times that scale), or pass a number.
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
        self._freeze_param_spec()

    def extra_repr(self):
        return f"{self.in_features}, {self.out_features}"

    def forward(self, x):
        self._check_params()
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


class Embedding(Layer):
    """out = W[idx]: row idx of a table of learned vectors, one per token (a one-hot row times W, without the product).

    Weights start as N(0, 1), as in PyTorch. backward adds each dout row into the gradient of the row
    it came from (a token seen twice gets both) and returns None: integer indices have no gradient.
    Shapes: idx (...) integers in [0, num_embeddings) -> (..., embedding_dim); W (num_embeddings, embedding_dim).
    """

    def __init__(self, num_embeddings, embedding_dim, *, rng, dtype=np.float64):
        super().__init__()
        where = "Embedding"
        self.num_embeddings = positive(num_embeddings, where, "num_embeddings", integer=True)
        self.embedding_dim = positive(embedding_dim, where, "embedding_dim", integer=True)
        require_rng(rng, where)
        self.dtype = _init_dtype(dtype, where)
        self.params["W"] = rng.standard_normal((self.num_embeddings, self.embedding_dim)).astype(self.dtype)  # (V, E)
        self._freeze_param_spec()

    def extra_repr(self):
        return f"{self.num_embeddings}, {self.embedding_dim}"

    def forward(self, idx):
        self._check_params()
        where = "Embedding.forward"
        idx = np.asarray(idx)
        if idx.dtype.kind not in "iu":
            raise TypeError(f"{where}: argument 'idx' must hold integer token indices, got dtype {idx.dtype}")
        if idx.size == 0:
            raise ValueError(f"{where}: argument 'idx' is empty (shape {idx.shape}); expected at least one index")
        V = self.num_embeddings
        low, high = idx.min(), idx.max()
        if low < 0 or high >= V:
            bad = low if low < 0 else high
            raise ValueError(f"{where}: index {bad} in 'idx' is out of range; expected 0 <= idx < {V} "
                             f"(num_embeddings)")
        self._cache = idx
        return np.take(self.params["W"], idx, axis=0)                   # (..., E), a new array

    SKIPS_INPUT_GRAD = True

    def backward(self, dout, *, input_grad=True):
        """Fill grads["W"]; return None (there is no gradient with respect to integer indices)."""
        idx = self._saved()
        dout = self._check_dout(dout, idx.shape + (self.embedding_dim,))
        self.grads["W"] = _scatter_rows(idx.reshape(-1), dout.reshape(-1, self.embedding_dim), self.num_embeddings,
                                        np.result_type(dout, self.params["W"]))
        return None


def _scatter_rows(idx, rows, V, dtype):
    """out[v] = sum of rows[m] over the m with idx[m] = v.  Shapes: idx (M,), rows (M, E) -> (V, E).

    np.add.at does this one row at a time (bench/: 12x PyTorch's time). A small table takes the
    product one_hot(idx)^T rows; a large one adds in rounds, the k-th occurrence of every index in
    round k: within a round the indices differ, so plain fancy-indexed += is exact.
    """
    M, E = rows.shape
    if V * M <= 1 << 20:
        one_hot = (np.arange(V)[:, None] == idx).astype(dtype)             # (V, M)
        return one_hot @ rows                                                # (V, E)
    out = np.zeros((V, E), dtype=dtype)
    order = np.argsort(idx, kind="stable")
    sorted_idx = idx[order]
    first = np.empty(M, dtype=bool)                                          # where each index's run starts
    first[0] = True
    np.not_equal(sorted_idx[1:], sorted_idx[:-1], out=first[1:])
    rank = np.arange(M) - np.maximum.accumulate(np.where(first, np.arange(M), 0))   # occurrence number
    for k in range(int(rank.max()) + 1):
        pick = order[rank == k]
        out[idx[pick]] += rows[pick]
    return out


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


class _BatchNorm(Layer):
    """Shared by BatchNorm1d and BatchNorm2d: statistics per channel (axis 1) over every other axis."""

    NDIM = (2,)

    def __init__(self, num_features, *, eps=1e-5, momentum=0.1, dtype=np.float64):
        super().__init__()
        where = type(self).__name__
        self.num_features = positive(num_features, where, "num_features", integer=True)
        self.eps = positive(eps, where, "eps")
        if isinstance(momentum, bool) or not isinstance(momentum, (int, float)) or not 0 <= momentum <= 1:
            raise ValueError(f"{where}: argument 'momentum' must satisfy 0 <= momentum <= 1, got {momentum!r}")
        self.momentum = float(momentum)
        self.dtype = _init_dtype(dtype, where)
        C = self.num_features
        self.params["gamma"] = np.ones(C, dtype=self.dtype)     # (C,) scale
        self.params["beta"] = np.zeros(C, dtype=self.dtype)     # (C,) shift
        self.running_mean = np.zeros(C, dtype=self.dtype)       # (C,) not parameters: no gradient, no optimizer
        self.running_var = np.ones(C, dtype=self.dtype)         # (C,)
        self._freeze_param_spec()

    def extra_repr(self):
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}"

    def forward(self, x):
        self._check_params()
        where = f"{type(self).__name__}.forward"
        x = float_array(x, where, "x", ndim=self.NDIM)
        _check_features(x, self.num_features, where, axis=1, letter="C")
        N, C = x.shape[:2]
        x3 = x.reshape(N, C, -1)                                     # (N, C, L): L = 1, length, or H*W
        M = N * x3.shape[2]                                          # values per channel
        dtype = np.result_type(x, self.params["gamma"])
        x_hat = self._buffer("x_hat", x3.shape, dtype)               # kept for backward
        if self.training:
            if M < 2:
                raise ValueError(f"{where}: argument 'x' has {M} value per channel (shape {x.shape}); training "
                                 "needs at least 2 to compute a variance (use eval() for single examples)")
            mean = self._channel_sum(x3) / M                         # (C,)
            np.subtract(x3, mean[:, None], out=x_hat)
            var = self._channel_sum(np.square(x_hat, out=self._buffer("tmp", x3.shape, dtype))) / M   # biased
            m = self.momentum
            self.running_mean *= 1 - m
            self.running_mean += m * mean
            self.running_var *= 1 - m
            self.running_var += m * var * (M / (M - 1))              # unbiased, as PyTorch keeps it
        else:
            np.subtract(x3, self.running_mean[:, None], out=x_hat)
            var = self.running_var
        inv_std = (1.0 / np.sqrt(var + self.eps)).astype(dtype)      # (C,)
        x_hat *= inv_std[:, None]
        self._cache = (x_hat, inv_std, self.training, x.shape)
        out = np.multiply(x_hat, self.params["gamma"][:, None], dtype=dtype)
        out += self.params["beta"][:, None]
        return out.reshape(x.shape)

    def _channel_sum(self, a3):
        """Per-channel sums of (N, C, L): a matrix-vector product along L is ~2x numpy's sum over axes (0, 2)."""
        if a3.shape[2] == 1:
            return a3[:, :, 0].sum(axis=0)
        ones = self._buffer("ones", (a3.shape[2],), a3.dtype)
        ones.fill(1)
        return (a3 @ ones).sum(axis=0)                               # (C,)

    def backward(self, dout):
        x_hat, inv_std, training, x_shape = self._saved()
        dout = self._check_dout(dout, x_shape).reshape(x_hat.shape)  # (N, C, L)
        dtype = np.result_type(dout, x_hat)
        self.grads["gamma"] = self._channel_sum(np.multiply(dout, x_hat, out=self._buffer("tmp", x_hat.shape, dtype)))
        self.grads["beta"] = self._channel_sum(dout)                 # (C,)
        scale = (self.params["gamma"] * inv_std)[:, None]            # gamma / sqrt(var + eps)
        if not training:                                             # fixed statistics: an affine map
            return (dout * scale).reshape(x_shape)
        M = x_hat.size // self.num_features
        # dx = gamma / sigma (dout - mean(dout) - x_hat mean(dout x_hat)), the means per channel.
        dx = np.multiply(x_hat, (self.grads["gamma"] / M)[:, None], dtype=dtype)
        dx += (self.grads["beta"] / M)[:, None]
        np.subtract(dout, dx, out=dx)
        dx *= scale
        return dx.reshape(x_shape)


class BatchNorm1d(_BatchNorm):
    """y = gamma (x - mean) / sqrt(var + eps) + beta, per feature (channel), as in PyTorch.

    Training: mean and (biased) var of the batch, and running_mean <- (1 - momentum) running_mean +
    momentum mean (running_var likewise, with the unbiased variance). Evaluation (eval()): the
    running statistics. Shapes: x (N, C) or (N, C, L) -> same; gamma, beta, running_mean, running_var (C,).
    """

    NDIM = (2, 3)


class BatchNorm2d(_BatchNorm):
    """BatchNorm1d's rule per channel of an image batch, statistics over N, H and W.

    Shapes: x (N, C, H, W) -> same; gamma, beta, running_mean, running_var (C,).
    """

    NDIM = (4,)


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


__all__ = ["Layer", "Linear", "Embedding", "ReLU", "Sigmoid", "Tanh", "Dropout", "BatchNorm1d", "BatchNorm2d",
           "Flatten", "Sequential", "Conv2d", "MaxPool2d", "RNN", "LSTM", "GRU"]
