"""Recurrent layers, RNN and LSTM, on batch-first sequences, with backpropagation through time.

Both hoist the work that does not depend on the previous state out of the time loop: the input
projection x_t Wx for every t is one matrix product before the loop, and the weight gradients
are one matrix product each after it. Internally arrays are time-major (T, N, .) so that the
slice for step t is contiguous.
"""

import numpy as np

from dlteach._checks import float_array, positive, require_rng
from dlteach.base import Layer, _init_dtype


def _check_sequence(x, features, where):
    x = float_array(x, where, "x", ndim=3)
    if x.shape[2] != features:
        raise ValueError(f"{where}: argument 'x' has {x.shape[2]} features per step (shape {x.shape}, "
                         f"expected (N, T, {features}))")
    if x.shape[1] == 0:
        raise ValueError(f"{where}: argument 'x' has no time steps (shape {x.shape}); expected T >= 1")
    return x


def _time_major(x):
    """(N, T, D) -> contiguous (T, N, D)."""
    return np.ascontiguousarray(x.transpose(1, 0, 2))


class _Recurrent(Layer):
    """Shared set-up: sizes, dtype, uniform(-1/sqrt(H), 1/sqrt(H)) initial weights as in PyTorch."""

    gates = 1

    def __init__(self, input_size, hidden_size, *, rng, dtype=np.float64):
        super().__init__()
        where = type(self).__name__
        self.input_size = positive(input_size, where, "input_size", integer=True)
        self.hidden_size = positive(hidden_size, where, "hidden_size", integer=True)
        require_rng(rng, where)
        self.dtype = _init_dtype(dtype, where)
        D, H, G = self.input_size, self.hidden_size, self.gates * self.hidden_size
        bound = 1 / np.sqrt(H)
        self.params["Wx"] = rng.uniform(-bound, bound, (D, G)).astype(self.dtype)   # (D, G*H)
        self.params["Wh"] = rng.uniform(-bound, bound, (H, G)).astype(self.dtype)   # (H, G*H)
        self.params["b"] = np.zeros(G, dtype=self.dtype)                            # (G*H,)

    def extra_repr(self):
        return f"{self.input_size}, {self.hidden_size}"

    def _weight_grads(self, xt, hs, dA):
        """dWx, dWh, db as three matrix products over all steps at once (hs[t-1] meets dA[t])."""
        T, N, _ = xt.shape
        G = dA.shape[2]
        dA2 = dA.reshape(T * N, G)
        self.grads["Wx"] = xt.reshape(T * N, -1).T @ dA2                          # (D, G)
        H = hs.shape[2]
        self.grads["Wh"] = hs[:-1].reshape((T - 1) * N, H).T @ dA[1:].reshape((T - 1) * N, G)   # (H, G)
        self.grads["b"] = dA2.sum(axis=0)                                          # (G,)
        dx = (dA2 @ self.params["Wx"].T).reshape(T, N, -1)                         # (T, N, D)
        return np.ascontiguousarray(dx.transpose(1, 0, 2))                         # (N, T, D)


class RNN(_Recurrent):
    """s_t = tanh(x_t Wx + s_{t-1} Wh + b), s_0 = 0; returns every state.

    Shapes: x (N, T, D) -> s (N, T, H); Wx (D, H), Wh (H, H), b (H,).
    """

    def forward(self, x):
        x = _check_sequence(x, self.input_size, "RNN.forward")
        xt = _time_major(x)                                                  # (T, N, D)
        T, N, _ = xt.shape
        A = (xt.reshape(T * N, -1) @ self.params["Wx"]).reshape(T, N, -1)    # (T, N, H), hoisted
        A += self.params["b"]
        Wh = self.params["Wh"]
        hs = A                                                               # overwritten step by step
        h = np.tanh(A[0], out=hs[0])
        for t in range(1, T):
            a = hs[t]
            a += h @ Wh
            h = np.tanh(a, out=a)
        self._cache = (xt, hs)
        return np.ascontiguousarray(hs.transpose(1, 0, 2))                   # (N, T, H)

    def backward(self, dout):
        xt, hs = self._saved()
        T, N, H = hs.shape
        dout = self._check_dout(dout, (N, T, H))
        Wh_T = self.params["Wh"].T
        dA = np.empty_like(hs)                                               # (T, N, H): dL/d(pre-activation)
        dh = np.zeros((N, H), dtype=hs.dtype)
        for t in range(T - 1, -1, -1):
            dh += dout[:, t]
            h = hs[t]
            np.multiply(dh, 1 - h * h, out=dA[t])
            dh = dA[t] @ Wh_T                                                # flows to s_{t-1}
        return self._weight_grads(xt, hs, dA)


class LSTM(_Recurrent):
    """An LSTM with gates in the order input, forget, cell candidate, output (i, f, g, o).

    a = x_t Wx + s_{t-1} Wh + b;  i, f, o = sigmoid(a_i, a_f, a_o);  g = tanh(a_g)
    C_t = f * C_{t-1} + i * g;  s_t = o * tanh(C_t);  s_0 = C_0 = 0.
    Shapes: x (N, T, D) -> s (N, T, H); Wx (D, 4H), Wh (H, 4H), b (4H,).
    """

    gates = 4

    def _scaled(self):
        # sigmoid(a) = (1 + tanh(a / 2)) / 2: halve the i, f, o columns so that one tanh serves all gates.
        H = self.hidden_size
        s = np.ones(4 * H, dtype=self.params["Wx"].dtype)
        s[:2 * H] = 0.5
        s[3 * H:] = 0.5
        return s

    def forward(self, x):
        x = _check_sequence(x, self.input_size, "LSTM.forward")
        xt = _time_major(x)                                                  # (T, N, D)
        T, N, _ = xt.shape
        H = self.hidden_size
        s = self._scaled()
        Wx, Wh, b = self.params["Wx"] * s, self.params["Wh"] * s, self.params["b"] * s
        acts = (xt.reshape(T * N, -1) @ Wx).reshape(T, N, 4 * H)             # (T, N, 4H), hoisted
        acts += b
        cs = np.empty((T, N, H), dtype=acts.dtype)                           # cell states
        tcs = np.empty_like(cs)                                              # tanh of the cell states
        hs = np.empty_like(cs)
        c = np.zeros((N, H), dtype=acts.dtype)
        for t in range(T):
            a = acts[t]                                                      # (N, 4H)
            if t:
                a += hs[t - 1] @ Wh
            np.tanh(a, out=a)
            a[:, :2 * H] *= 0.5
            a[:, :2 * H] += 0.5
            a[:, 3 * H:] *= 0.5
            a[:, 3 * H:] += 0.5
            i, f, g, o = a[:, :H], a[:, H:2 * H], a[:, 2 * H:3 * H], a[:, 3 * H:]
            c = np.multiply(f, c, out=cs[t])
            c += i * g
            np.tanh(c, out=tcs[t])
            np.multiply(o, tcs[t], out=hs[t])
        self._cache = (xt, acts, cs, tcs, hs)
        return np.ascontiguousarray(hs.transpose(1, 0, 2))                   # (N, T, H)

    def backward(self, dout):
        xt, acts, cs, tcs, hs = self._saved()
        T, N, H = hs.shape
        dout = self._check_dout(dout, (N, T, H))
        Wh_T = self.params["Wh"].T
        dA = np.empty_like(acts)                                             # (T, N, 4H): dL/d(pre-activations)
        dh = np.zeros((N, H), dtype=hs.dtype)
        dc = np.zeros((N, H), dtype=hs.dtype)
        zeros = np.zeros((N, H), dtype=hs.dtype)
        for t in range(T - 1, -1, -1):
            a = acts[t]
            i, f, g, o = a[:, :H], a[:, H:2 * H], a[:, 2 * H:3 * H], a[:, 3 * H:]
            tc = tcs[t]
            c_prev = cs[t - 1] if t else zeros
            dh += dout[:, t]
            dc += dh * o * (1 - tc * tc)
            d = dA[t]
            np.multiply(dc * g, i * (1 - i), out=d[:, :H])                   # input gate
            np.multiply(dc * c_prev, f * (1 - f), out=d[:, H:2 * H])         # forget gate
            np.multiply(dc * i, 1 - g * g, out=d[:, 2 * H:3 * H])            # cell candidate
            np.multiply(dh * tc, o * (1 - o), out=d[:, 3 * H:])              # output gate
            dc *= f                                                          # flows to C_{t-1}
            dh = d @ Wh_T                                                    # flows to s_{t-1}
        return self._weight_grads(xt, hs, dA)
