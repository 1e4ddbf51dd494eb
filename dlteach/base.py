"""The Layer base class and the helpers every layer shares (dtype, initial scale, feature checks, buffers)."""

import numpy as np

from dlteach._checks import float_array


class Layer:
    """Base class: params/grads dicts, forward/backward, train()/eval(), parameters().

    A layer with parameters calls _freeze_param_spec() at the end of its __init__; its forward then
    calls _check_params(), so that an array of the wrong shape or dtype put into params (a (1,) bias,
    say) is named at the next forward instead of failing somewhere deep inside it.
    """

    def __init__(self):
        self.params = {}
        self.grads = {}
        self.training = True
        self._cache = None      # what forward keeps for backward; None until forward runs
        self._buffers = {}      # work arrays reused from call to call (see _buffer)
        self._param_spec = {}   # name -> (shape, dtype) as built

    def __call__(self, x, *args, **kwargs):
        return self.forward(x, *args, **kwargs)

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

    def _freeze_param_spec(self):
        """Record every parameter's shape and dtype as built: what _check_params expects from now on."""
        self._param_spec = {name: (p.shape, p.dtype) for name, p in self.params.items()}

    def _check_params(self):
        """Raise a clear error if a parameter was replaced by an array of another shape or dtype."""
        params = self.params
        for name, (shape, dtype) in self._param_spec.items():
            p = params.get(name)
            if type(p) is np.ndarray and p.shape == shape and p.dtype == dtype:
                continue
            self._param_error(name, p, shape, dtype)
        if len(params) != len(self._param_spec):
            extra = sorted(set(params) - set(self._param_spec))
            raise KeyError(f"{type(self).__name__}.forward: params has the unknown key(s) {extra}; "
                           f"expected exactly {sorted(self._param_spec)}")

    def _param_error(self, name, p, shape, dtype):
        where = f"{type(self).__name__}.forward"
        if p is None:
            raise KeyError(f"{where}: parameter '{name}' is missing from params; expected an array of shape "
                           f"{shape} and dtype {dtype}")
        if not isinstance(p, np.ndarray):
            raise TypeError(f"{where}: parameter '{name}' is a {type(p).__name__}; expected a numpy array of "
                            f"shape {shape} and dtype {dtype}")
        if p.shape != shape:
            raise ValueError(f"{where}: parameter '{name}' has shape {p.shape}; expected {shape} (the shape "
                             f"{type(self).__name__}({self.extra_repr()}) was built with). Assign into the "
                             f"existing array, params['{name}'][...] = value, to keep shape and dtype")
        raise TypeError(f"{where}: parameter '{name}' has dtype {p.dtype}; expected {dtype}, the layer's dtype "
                        f"(use params['{name}'][...] = value, or value.astype(np.{dtype}))")

    def _buffer(self, name, shape, dtype):
        """A work array kept from call to call (its contents are whatever the last call left).

        A fresh multi-megabyte array is returned to the OS when freed and faulted back page by page on
        the next call (bench/: a quarter of the LSTM's time, most of a convolution's). Never hand a
        buffer (or a view of one) to the caller: the next call overwrites it.
        """
        buf = self._buffers.get(name)
        if buf is None or buf.shape != shape or buf.dtype != dtype:
            buf = self._buffers[name] = np.empty(shape, dtype=dtype)
        return buf

    def _saved(self):
        """Return what forward kept, or raise if backward comes first."""
        if self._cache is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before forward: "
                               "run forward on a batch first, then backward with dL/d(output)")
        return self._cache

    def _check_dout(self, dout, shape):
        where = f"{type(self).__name__}.backward"
        # No finiteness scan: forward has checked every input, and a loss checks its logits.
        dout = float_array(dout, where, "dout", finite=False)
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
