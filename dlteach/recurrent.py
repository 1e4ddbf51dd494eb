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

    def __init__(self, input_size, hidden_size, *, rng, dtype=np.float64):
        super().__init__(input_size, hidden_size, rng=rng, dtype=dtype)
        self._buffers = {}

    def _buffer(self, name, shape, dtype):
        # Reused from call to call: a fresh multi-megabyte array is returned to the OS when freed and
        # faulted back page by page on the next step (bench/: about a quarter of the time).
        buf = self._buffers.get(name)
        if buf is None or buf.shape != shape or buf.dtype != dtype:
            buf = self._buffers[name] = np.empty(shape, dtype=dtype)
        return buf

    def _scaled(self):
        # sigmoid(a) = (1 + tanh(a / 2)) / 2: halve the i, f, o columns so that one tanh serves all gates;
        # afterwards out = scale * tanh + shift turns those columns into sigmoids and leaves g's alone.
        H = self.hidden_size
        scale = np.full(4 * H, 0.5, dtype=self.params["Wx"].dtype)
        scale[2 * H:3 * H] = 1.0
        return scale, np.where(scale == 0.5, 0.5, 0.0).astype(scale.dtype)

    def forward(self, x):
        x = _check_sequence(x, self.input_size, "LSTM.forward")
        xt = _time_major(x)                                                  # (T, N, D)
        T, N, D = xt.shape
        H = self.hidden_size
        scale, shift = self._scaled()
        Wx, Wh, b = self.params["Wx"] * scale, self.params["Wh"] * scale, self.params["b"] * scale
        dtype = np.result_type(xt, Wx)
        acts = self._buffer("acts", (T, N, 4 * H), dtype)                    # (T, N, 4H): gate values
        np.matmul(xt.reshape(T * N, D), Wx, out=acts.reshape(T * N, 4 * H))  # hoisted input projection
        acts += b
        cs = self._buffer("cs", (T, N, H), dtype)                            # cell states
        tcs = self._buffer("tcs", (T, N, H), dtype)                          # tanh of the cell states
        hs = self._buffer("hs", (T, N, H), dtype)
        recur, ig = self._buffer("recur", (N, 4 * H), dtype), self._buffer("ig", (N, H), dtype)
        for t in range(T):
            a = acts[t]                                                      # (N, 4H)
            if t:
                a += np.matmul(hs[t - 1], Wh, out=recur)
            np.tanh(a, out=a)
            a *= scale
            a += shift                                                       # i, f, o sigmoids; g tanh
            i, f, g, o = a[:, :H], a[:, H:2 * H], a[:, 2 * H:3 * H], a[:, 3 * H:]
            c = cs[t]
            if t:
                np.multiply(f, cs[t - 1], out=c)
                c += np.multiply(i, g, out=ig)
            else:
                np.multiply(i, g, out=c)
            np.tanh(c, out=tcs[t])
            np.multiply(o, tcs[t], out=hs[t])
        self._cache = (xt, acts, cs, tcs, hs)
        return hs.transpose(1, 0, 2).copy()          # (N, T, H), never a view of the reused buffer

    def backward(self, dout):
        xt, acts, cs, tcs, hs = self._saved()
        T, N, H = hs.shape
        dout = self._check_dout(dout, (N, T, H))
        gate = acts.reshape(T, N, 4, H)
        i, f, g, o = gate[:, :, 0], gate[:, :, 1], gate[:, :, 2], gate[:, :, 3]   # (T, N, H) each
        dtype = acts.dtype
        # Everything that does not depend on the gradient flowing back, for all steps at once:
        # dC_t += ds_t P_t; da_{i,f,g} = dC_t Q_t; da_o = ds_t R_t.
        P, R, tmp3 = (self._buffer(name, (T, N, H), dtype) for name in ("P", "R", "tmp3"))
        np.multiply(tcs, tcs, out=P)
        np.subtract(1, P, out=P)
        P *= o                                                               # o (1 - tanh^2 C_t)
        np.subtract(1, o, out=R)
        R *= o
        R *= tcs                                                             # tanh(C_t) o (1 - o)
        Q = self._buffer("Q", (T, N, 3, H), dtype)                           # (T, N, 3, H)
        np.subtract(1, i, out=tmp3)
        tmp3 *= i
        np.multiply(g, tmp3, out=Q[:, :, 0])                                 # input gate: g i (1 - i)
        np.subtract(1, f, out=tmp3)
        tmp3 *= f
        Q[0, :, 1] = 0                                                       # forget gate: C_{t-1} f (1 - f)
        np.multiply(cs[:-1], tmp3[1:], out=Q[1:, :, 1])
        np.multiply(g, g, out=tmp3)
        np.subtract(1, tmp3, out=tmp3)
        np.multiply(i, tmp3, out=Q[:, :, 2])                                 # cell candidate: i (1 - g^2)
        dout_t = self._buffer("dout_t", (T, N, H), dtype)
        np.copyto(dout_t, dout.transpose(1, 0, 2))                           # (T, N, H)
        dA = self._buffer("dA", (T, N, 4 * H), dtype)                        # (T, N, 4H): dL/d(pre-activations)
        dA4 = dA.reshape(T, N, 4, H)
        Wh_T = np.ascontiguousarray(self.params["Wh"].T)
        dh = np.zeros((N, H), dtype=dtype)
        dc = np.zeros((N, H), dtype=dtype)
        tmp = np.empty((N, H), dtype=dtype)
        for t in range(T - 1, -1, -1):
            dh += dout_t[t]
            dc += np.multiply(dh, P[t], out=tmp)
            np.multiply(dc[:, None, :], Q[t], out=dA4[t, :, :3])             # input, forget, candidate
            np.multiply(dh, R[t], out=dA4[t, :, 3])                          # output gate
            dc *= f[t]                                                       # flows to C_{t-1}
            np.matmul(dA[t], Wh_T, out=dh)                                   # flows to s_{t-1}
        return self._weight_grads(xt, hs, dA)
