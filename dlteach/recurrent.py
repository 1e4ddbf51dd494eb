"""Recurrent layers RNN, LSTM and GRU on batch-first sequences, with backpropagation through time,
and their single steps as plain functions: rnn_step, lstm_step, gru_step and their *_backward.

States. forward(x, h0=None) (the LSTM also takes c0) starts from the given state, zeros by default.
Afterwards the layer's h_n (and c_n) hold the last state (N, H): new arrays the caller may keep,
e.g. to pass as the next batch's h0 (truncated backpropagation through time; a numpy array carries
no graph, so passing it on is already "detached"). backward(dout, dh_n=None) (the LSTM also takes
dc_n) adds the gradients flowing into the last state, if any, and leaves the gradients with respect
to the initial state in the layer's dh0 (and dc0), (N, H), whether h0 was given or zero.

Speed. The layers hoist what does not depend on the previous state out of the time loop: the input
projection x_t Wx for every t is one matrix product before the loop, the weight gradients one
product each after it. Arrays are time-major (T, N, .) inside, so that step t's slice is contiguous,
and the work arrays are reused from call to call (Layer._buffer).
"""

import numpy as np

from dlteach._checks import check_shape, float_array, positive, require_rng
from dlteach.base import Layer, _init_dtype

__all__ = ["RNN", "LSTM", "GRU", "rnn_step", "rnn_step_backward", "lstm_step", "lstm_step_backward",
           "gru_step", "gru_step_backward"]


def _sigmoid(a):
    # The tanh form never overflows: exp(-a) would for a < -709.
    return 0.5 * np.tanh(0.5 * a) + 0.5


def _step_args(where, x, states, Wx, Wh, biases, gates):
    """Check one step's arrays; return x and the states as float arrays.  states: [(name, array)]."""
    x = float_array(x, where, "x", ndim=2)
    first = float_array(states[0][1], where, states[0][0], ndim=2)
    N, H = first.shape
    checked = [first]
    for name, value in states[1:]:
        value = float_array(value, where, name)
        check_shape(value, (N, H), where, name)
        checked.append(value)
    check_shape(x, (N, None), where, "x")
    for name, value, shape in (("Wx", Wx, (x.shape[1], gates * H)), ("Wh", Wh, (H, gates * H)), *biases):
        check_shape(float_array(value, where, name), shape, where, name)
    return x, checked


def rnn_step(x, h_prev, Wx, Wh, b):
    """h = tanh(x Wx + h_prev Wh + b), one step of layers.RNN.

    Shapes: x (N, D), h_prev (N, H), Wx (D, H), Wh (H, H), b (H,) -> h (N, H), cache (dict for rnn_step_backward).
    """
    x, (h_prev,) = _step_args("rnn_step", x, [("h_prev", h_prev)], Wx, Wh, [("b", b, (np.shape(h_prev)[-1],))], 1)
    h = np.tanh(x @ Wx + h_prev @ Wh + b)                          # (N, H)
    return h, {"x": x, "h_prev": h_prev, "Wx": Wx, "Wh": Wh, "h": h}


def rnn_step_backward(dh, cache):
    """da = dh (1 - h^2);  dx = da Wx^T, dh_prev = da Wh^T, dWx = x^T da, dWh = h_prev^T da, db = sum_n da.

    dh is all of dL/dh (from the loss at this step and from the next step).
    Shapes: dh (N, H) -> dx (N, D), dh_prev (N, H), dWx (D, H), dWh (H, H), db (H,).
    """
    h = cache["h"]
    da = dh * (1 - h * h)                                          # (N, H)
    return da @ cache["Wx"].T, da @ cache["Wh"].T, cache["x"].T @ da, cache["h_prev"].T @ da, da.sum(axis=0)


def lstm_step(x, h_prev, c_prev, Wx, Wh, b):
    """One step of layers.LSTM, gates in the order i, f, g, o (each H columns of a):

    a = x Wx + h_prev Wh + b;  i, f, o = sigmoid(a_i, a_f, a_o);  g = tanh(a_g);
    c = f c_prev + i g;  h = o tanh(c).
    Shapes: x (N, D), h_prev c_prev (N, H), Wx (D, 4H), Wh (H, 4H), b (4H,) -> h (N, H), c (N, H),
    cache (dict with "x", "h_prev", "c_prev", "Wx", "Wh", "i", "f", "g", "o", "c", for lstm_step_backward).
    """
    x, (h_prev, c_prev) = _step_args("lstm_step", x, [("h_prev", h_prev), ("c_prev", c_prev)], Wx, Wh,
                                     [("b", b, (4 * np.shape(h_prev)[-1],))], 4)
    H = h_prev.shape[1]
    a = x @ Wx + h_prev @ Wh + b                                   # (N, 4H)
    i, f, o = _sigmoid(a[:, :H]), _sigmoid(a[:, H:2 * H]), _sigmoid(a[:, 3 * H:])
    g = np.tanh(a[:, 2 * H:3 * H])
    c = f * c_prev + i * g                                         # keep some old memory, write some new
    h = o * np.tanh(c)
    return h, c, {"x": x, "h_prev": h_prev, "c_prev": c_prev, "Wx": Wx, "Wh": Wh,
                  "i": i, "f": f, "g": g, "o": o, "c": c}


def lstm_step_backward(dh, dc, cache):
    """Gradients of one LSTM step from dh = dL/dh (all of it) and dc = dL/dc along the cell (from step t + 1).

    dc_total = dc + dh o (1 - tanh^2 c);  da = [dc_total g i(1-i), dc_total c_prev f(1-f),
    dc_total i (1-g^2), dh tanh(c) o(1-o)];  dc_prev = dc_total f; the rest as for a linear layer.
    Shapes: dh dc (N, H) -> dx (N, D), dh_prev (N, H), dc_prev (N, H), dWx (D, 4H), dWh (H, 4H), db (4H,).
    """
    i, f, g, o, c = (cache[k] for k in "ifgoc")
    tc = np.tanh(c)
    dc_total = dc + dh * o * (1 - tc * tc)                         # (N, H)
    da = np.concatenate([dc_total * g * i * (1 - i), dc_total * cache["c_prev"] * f * (1 - f),
                         dc_total * i * (1 - g * g), dh * tc * o * (1 - o)], axis=1)   # (N, 4H)
    return (da @ cache["Wx"].T, da @ cache["Wh"].T, dc_total * f, cache["x"].T @ da, cache["h_prev"].T @ da,
            da.sum(axis=0))


def gru_step(x, h_prev, Wx, Wh, b, bhn):
    """One step of layers.GRU, PyTorch's convention, gates in the order r, z, n (each H columns):

    r, z = sigmoid(x Wx_rz + h_prev Wh_rz + b_rz);  n = tanh(x Wx_n + b_n + r (h_prev Wh_n + bhn));
    h = (1 - z) n + z h_prev.  bhn, the hidden side's bias of n, sits inside r (.): it is not b_n.
    Shapes: x (N, D), h_prev (N, H), Wx (D, 3H), Wh (H, 3H), b (3H,), bhn (H,) -> h (N, H), cache (dict).
    """
    H = np.shape(h_prev)[-1]
    x, (h_prev,) = _step_args("gru_step", x, [("h_prev", h_prev)], Wx, Wh, [("b", b, (3 * H,)), ("bhn", bhn, (H,))], 3)
    ax, ah = x @ Wx + b, h_prev @ Wh                               # (N, 3H) each
    r, z = _sigmoid(ax[:, :H] + ah[:, :H]), _sigmoid(ax[:, H:2 * H] + ah[:, H:2 * H])
    hn = ah[:, 2 * H:] + bhn                                       # (N, H)
    n = np.tanh(ax[:, 2 * H:] + r * hn)
    h = n + z * (h_prev - n)
    return h, {"x": x, "h_prev": h_prev, "Wx": Wx, "Wh": Wh, "r": r, "z": z, "n": n, "hn": hn}


def gru_step_backward(dh, cache):
    """Gradients of one GRU step from dh = dL/dh (all of it).

    da_n = dh (1 - z)(1 - n^2);  da_z = dh (h_prev - n) z(1 - z);  da_r = da_n hn r(1 - r);
    the input side gets [da_r, da_z, da_n], the hidden side [da_r, da_z, da_n r]; dh_prev adds dh z.
    Shapes: dh (N, H) -> dx (N, D), dh_prev (N, H), dWx (D, 3H), dWh (H, 3H), db (3H,), dbhn (H,).
    """
    r, z, n, hn, h_prev = (cache[k] for k in ("r", "z", "n", "hn", "h_prev"))
    da_n = dh * (1 - z) * (1 - n * n)                              # (N, H)
    da_z = dh * (h_prev - n) * z * (1 - z)
    da_r = da_n * hn * r * (1 - r)
    dax = np.concatenate([da_r, da_z, da_n], axis=1)               # (N, 3H) input side
    dah = np.concatenate([da_r, da_z, da_n * r], axis=1)           # (N, 3H) hidden side
    return (dax @ cache["Wx"].T, dh * z + dah @ cache["Wh"].T, cache["x"].T @ dax, h_prev.T @ dah,
            dax.sum(axis=0), dah[:, 2 * r.shape[1]:].sum(axis=0))


def _check_sequence(x, features, where):
    x = float_array(x, where, "x", ndim=3)
    if x.shape[2] != features:
        raise ValueError(f"{where}: argument 'x' has {x.shape[2]} features per step (shape {x.shape}, "
                         f"expected (N, T, {features}))")
    if x.shape[1] == 0:
        raise ValueError(f"{where}: argument 'x' has no time steps (shape {x.shape}); expected T >= 1")
    return x


def _check_state(state, N, H, where, name):
    """An initial or final state (or its gradient) of shape (N, H), or None."""
    if state is None:
        return None
    state = float_array(state, where, name, ndim=2)
    if state.shape != (N, H):
        raise ValueError(f"{where}: argument '{name}' has shape {state.shape}; expected (N, H) = ({N}, {H}), "
                         "one state per sequence of the batch")
    return state


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
        self.h_n = self.dh0 = None
        self._freeze_param_spec()

    def extra_repr(self):
        return f"{self.input_size}, {self.hidden_size}"

    def _start(self, x, h0, where):
        """Checked x as time-major (T, N, D), the states buffer hs (T + 1, N, H) with hs[0] = h0 (or 0)."""
        self._check_params()
        x = _check_sequence(x, self.input_size, where)
        N, T, D = x.shape
        H = self.hidden_size
        h0 = _check_state(h0, N, H, where, "h0")
        dtype = np.result_type(x, self.params["Wx"])
        xt = self._buffer("xt", (T, N, D), dtype)
        np.copyto(xt, x.transpose(1, 0, 2))
        hs = self._buffer("hs", (T + 1, N, H), dtype)                        # hs[t + 1] is the state after step t
        hs[0] = 0 if h0 is None else h0
        return xt, hs, h0 is not None

    def _finish_backward(self, xt, hs, dA, dWx_cols=None):
        """dWx, dWh, db as one matrix product each over all steps (hs[t] meets dA[t]); return dx (N, T, D).

        dWx_cols: the input side's dA when it differs from the hidden side's (the GRU's candidate).
        """
        T, N, G = dA.shape
        dAx = (dA if dWx_cols is None else dWx_cols).reshape(T * N, G)
        self.grads["Wx"] = xt.reshape(T * N, -1).T @ dAx                            # (D, G)
        self.grads["Wh"] = hs[:T].reshape(T * N, -1).T @ dA.reshape(T * N, G)       # (H, G)
        ones = self._buffer("ones", (T * N,), dAx.dtype)
        ones.fill(1)
        self.grads["b"] = ones @ dAx                                                 # (G,) ~3x dAx.sum(axis=0)
        dx = self._buffer("dx_t", (T, N, xt.shape[2]), dAx.dtype)
        np.matmul(dAx, self.params["Wx"].T, out=dx.reshape(T * N, -1))
        return np.ascontiguousarray(dx.transpose(1, 0, 2))                          # (N, T, D), a new array

    def _grad_start(self, dout, dh_n, N, T, where):
        H = self.hidden_size
        dout = self._check_dout(dout, (N, T, H))
        dh_n = _check_state(dh_n, N, H, where, "dh_n")
        return dout, (np.zeros((N, H), dtype=np.result_type(dout, self.params["Wh"])) if dh_n is None
                      else dh_n.astype(np.result_type(dout, dh_n, self.params["Wh"]), copy=True))


class RNN(_Recurrent):
    """h_t = tanh(x_t Wx + h_{t-1} Wh + b), from h_0 = h0 (zeros by default); returns every state.

    forward(x, h0=None) -> h (N, T, H) and sets h_n, the last state. backward(dout, dh_n=None) ->
    dx, fills grads and sets dh0 = dL/dh0 (see the module's docstring).
    Shapes: x (N, T, D) -> h (N, T, H); h0, h_n, dh_n, dh0 (N, H); Wx (D, H), Wh (H, H), b (H,).
    """

    def forward(self, x, h0=None):
        xt, hs, has_h0 = self._start(x, h0, "RNN.forward")
        T, N, D = xt.shape
        Wh = self.params["Wh"]
        A = hs[1:]                                                           # (T, N, H): tanh'd in place
        np.matmul(xt.reshape(T * N, D), self.params["Wx"], out=A.reshape(T * N, -1))   # hoisted
        A += self.params["b"]
        recur = self._buffer("recur", hs.shape[1:], hs.dtype)
        for t in range(T):
            a = A[t]
            if t or has_h0:
                a += np.matmul(hs[t], Wh, out=recur)
            np.tanh(a, out=a)
        self._cache = (xt, hs)
        self.h_n = hs[T].copy()
        return hs[1:].transpose(1, 0, 2).copy()                              # (N, T, H), a new array

    def backward(self, dout, dh_n=None):
        xt, hs = self._saved()
        T, N, D = xt.shape
        dout, dh = self._grad_start(dout, dh_n, N, T, "RNN.backward")
        Wh_T = np.ascontiguousarray(self.params["Wh"].T)
        dA = self._buffer("dA", (T, N, self.hidden_size), dh.dtype)         # (T, N, H): dL/d(pre-activation)
        for t in range(T - 1, -1, -1):
            dh += dout[:, t]
            h = hs[t + 1]
            np.multiply(dh, 1 - h * h, out=dA[t])
            np.matmul(dA[t], Wh_T, out=dh)                                   # flows to h_{t-1}
        self.dh0 = dh
        return self._finish_backward(xt, hs, dA)


class LSTM(_Recurrent):
    """An LSTM with gates in the order input, forget, cell candidate, output (i, f, g, o).

    a = x_t Wx + h_{t-1} Wh + b;  i, f, o = sigmoid(a_i, a_f, a_o);  g = tanh(a_g)
    c_t = f * c_{t-1} + i * g;  h_t = o * tanh(c_t);  h_0 = h0 and c_0 = c0 (zeros by default).
    forward(x, h0=None, c0=None) -> h (N, T, H), and sets h_n, c_n (the last states).
    backward(dout, dh_n=None, dc_n=None) -> dx, fills grads and sets dh0, dc0 (see the module's docstring).
    Shapes: x (N, T, D) -> h (N, T, H); states and their gradients (N, H); Wx (D, 4H), Wh (H, 4H), b (4H,).
    """

    gates = 4

    def __init__(self, input_size, hidden_size, *, rng, dtype=np.float64):
        super().__init__(input_size, hidden_size, rng=rng, dtype=dtype)
        self.c_n = self.dc0 = None

    def forward(self, x, h0=None, c0=None):
        xt, hs, has_h0 = self._start(x, h0, "LSTM.forward")
        T, N, D = xt.shape
        H = self.hidden_size
        c0 = _check_state(c0, N, H, "LSTM.forward", "c0")
        dtype = hs.dtype
        # sigmoid(a) = 1 / (1 + exp(-a)) and tanh(a) = 2 sigmoid(2a) - 1: with the i, f, o columns of the
        # weights negated and the g columns times -2, one exp, one add and one division give all four
        # gates (numpy's exp is vectorised, its tanh is not: bench/, about twice as fast).
        scale = np.full(4 * H, -1.0, dtype=dtype)
        scale[2 * H:3 * H] = -2.0
        Wx, Wh, b = self.params["Wx"] * scale, self.params["Wh"] * scale, self.params["b"] * scale
        acts = self._buffer("acts", (T, N, 4 * H), dtype)                    # (T, N, 4H): gate values
        np.matmul(xt.reshape(T * N, D), Wx, out=acts.reshape(T * N, 4 * H))  # hoisted input projection
        acts += b
        cs = self._buffer("cs", (T + 1, N, H), dtype)                        # cs[t + 1]: cell after step t
        cs[0] = 0 if c0 is None else c0
        tcs = self._buffer("tcs", (T, N, H), dtype)                          # tanh of the cell states
        recur, ig = self._buffer("recur", (N, 4 * H), dtype), self._buffer("ig", (N, H), dtype)
        with np.errstate(over="ignore"):                                     # exp = inf: the gate is 0
            for t in range(T):
                a = acts[t]                                                  # (N, 4H)
                if t or has_h0:
                    a += np.matmul(hs[t], Wh, out=recur)
                np.exp(a, out=a)
                a += 1
                np.divide(1, a, out=a)                                       # i, f, o; and sigmoid(2 a_g)
                i, f, g, o = a[:, :H], a[:, H:2 * H], a[:, 2 * H:3 * H], a[:, 3 * H:]
                g *= 2
                g -= 1                                                       # tanh(a_g)
                c = cs[t + 1]
                np.multiply(f, cs[t], out=c)
                c += np.multiply(i, g, out=ig)
                np.tanh(c, out=tcs[t])
                np.multiply(o, tcs[t], out=hs[t + 1])
        self._cache = (xt, acts, cs, tcs, hs)
        self.h_n, self.c_n = hs[T].copy(), cs[T].copy()
        return hs[1:].transpose(1, 0, 2).copy()      # (N, T, H), never a view of the reused buffer

    def backward(self, dout, dh_n=None, dc_n=None):
        xt, acts, cs, tcs, hs = self._saved()
        T, N, _ = xt.shape
        H = self.hidden_size
        dout, dh = self._grad_start(dout, dh_n, N, T, "LSTM.backward")
        dc_n = _check_state(dc_n, N, H, "LSTM.backward", "dc_n")
        dtype = dh.dtype
        dc = np.zeros((N, H), dtype=dtype) if dc_n is None else dc_n.astype(dtype, copy=True)
        gate = acts.reshape(T, N, 4, H)
        i, f, g, o = gate[:, :, 0], gate[:, :, 1], gate[:, :, 2], gate[:, :, 3]   # (T, N, H) each
        # Everything that does not depend on the gradient flowing back, for all steps at once:
        # dc_t += dh_t P_t; da_{i,f,g} = dc_t F_{i,f,g}; da_o = dh_t F_o. F starts as s (1 - s) for every
        # gate s, two passes over the whole (T, N, 4H) block, and each gate's factor completes it.
        F = self._buffer("F", (T, N, 4, H), dtype)
        np.subtract(1, gate, out=F)
        F *= gate
        F[:, :, 0] *= g                                                      # input gate: g i (1 - i)
        F[:, :, 1] *= cs[:T]                                                 # forget gate: c_{t-1} f (1 - f)
        np.multiply(g, g, out=F[:, :, 2])
        np.subtract(1, F[:, :, 2], out=F[:, :, 2])
        F[:, :, 2] *= i                                                      # cell candidate: i (1 - g^2)
        F[:, :, 3] *= tcs                                                    # output gate: tanh(c_t) o (1 - o)
        P = self._buffer("P", (T, N, H), dtype)
        np.multiply(tcs, tcs, out=P)
        np.subtract(1, P, out=P)
        P *= o                                                               # o (1 - tanh^2 c_t)
        dout_t = self._buffer("dout_t", (T, N, H), dtype)
        np.copyto(dout_t, dout.transpose(1, 0, 2))                           # (T, N, H)
        dA = self._buffer("dA", (T, N, 4 * H), dtype)                        # (T, N, 4H): dL/d(pre-activations)
        dA4 = dA.reshape(T, N, 4, H)
        Wh_T = np.ascontiguousarray(self.params["Wh"].T)
        tmp = np.empty((N, H), dtype=dtype)
        for t in range(T - 1, -1, -1):
            dh += dout_t[t]
            dc += np.multiply(dh, P[t], out=tmp)
            np.multiply(dc[:, None, :], F[t, :, :3], out=dA4[t, :, :3])      # input, forget, candidate
            np.multiply(dh, F[t, :, 3], out=dA4[t, :, 3])                    # output gate
            dc *= f[t]                                                       # flows to c_{t-1}
            np.matmul(dA[t], Wh_T, out=dh)                                   # flows to h_{t-1}
        self.dh0, self.dc0 = dh, dc
        return self._finish_backward(xt, hs, dA)


class GRU(_Recurrent):
    """A GRU in PyTorch's convention, gates in the order reset, update, candidate (r, z, n):

    r, z = sigmoid(x_t Wx_rz + h_{t-1} Wh_rz + b_rz);  n = tanh(x_t Wx_n + b_n + r * (h_{t-1} Wh_n + bhn));
    h_t = (1 - z) * n + z * h_{t-1};  h_0 = h0 (zeros by default).
    bhn is the hidden side's bias of the candidate: it sits inside r * (.), so it cannot be merged into
    b (PyTorch: bias_ih = b, bias_hh = (0, 0, bhn)). The same API as LSTM without the cell:
    forward(x, h0=None) sets h_n, backward(dout, dh_n=None) sets dh0.
    Shapes: x (N, T, D) -> h (N, T, H); states (N, H); Wx (D, 3H), Wh (H, 3H), b (3H,), bhn (H,).
    """

    gates = 3

    def __init__(self, input_size, hidden_size, *, rng, dtype=np.float64):
        super().__init__(input_size, hidden_size, rng=rng, dtype=dtype)
        self.params["bhn"] = np.zeros(self.hidden_size, dtype=self.dtype)   # (H,)
        self._freeze_param_spec()

    def forward(self, x, h0=None):
        xt, hs, _ = self._start(x, h0, "GRU.forward")
        T, N, D = xt.shape
        H = self.hidden_size
        dtype = hs.dtype
        # Negated r, z columns: sigmoid(a) = 1 / (1 + exp(-a)) by one exp, add and division (see LSTM).
        scale = np.ones(3 * H, dtype=dtype)
        scale[:2 * H] = -1.0
        Wx, Wh, b = self.params["Wx"] * scale, self.params["Wh"] * scale, self.params["b"] * scale
        acts = self._buffer("acts", (T, N, 3 * H), dtype)                    # pre-activations, then r, z, n
        np.matmul(xt.reshape(T * N, D), Wx, out=acts.reshape(T * N, 3 * H))  # hoisted input projection
        acts += b
        hn = self._buffer("hn", (T, N, H), dtype)                            # h_{t-1} Wh_n + bhn
        recur, tmp = self._buffer("recur", (N, 3 * H), dtype), self._buffer("tmp", (N, H), dtype)
        bhn = self.params["bhn"]
        with np.errstate(over="ignore"):                                     # exp = inf: the gate is 0
            for t in range(T):
                a = acts[t]
                np.matmul(hs[t], Wh, out=recur)
                rz = a[:, :2 * H]
                rz += recur[:, :2 * H]
                np.exp(rz, out=rz)
                rz += 1
                np.divide(1, rz, out=rz)                                     # r, z
                np.add(recur[:, 2 * H:], bhn, out=hn[t])
                n = a[:, 2 * H:]
                n += np.multiply(rz[:, :H], hn[t], out=tmp)
                np.tanh(n, out=n)
                h = hs[t + 1]
                np.subtract(hs[t], n, out=h)
                h *= rz[:, H:]
                h += n                                                       # n + z (h_{t-1} - n)
        self._cache = (xt, acts, hn, hs)
        self.h_n = hs[T].copy()
        return hs[1:].transpose(1, 0, 2).copy()                              # (N, T, H), a new array

    def backward(self, dout, dh_n=None):
        xt, acts, hn, hs = self._saved()
        T, N, _ = xt.shape
        H = self.hidden_size
        dout, dh = self._grad_start(dout, dh_n, N, T, "GRU.backward")
        dtype = dh.dtype
        gate = acts.reshape(T, N, 3, H)
        r, z, n = gate[:, :, 0], gate[:, :, 1], gate[:, :, 2]               # (T, N, H) each
        # Every pre-activation gradient is dh_t times a factor known before the loop:
        # da_n = dh Pn, da_z = dh Qz, da_r = dh Pn hn r (1 - r), and the hidden side's n block dh Pn r.
        F = self._buffer("F", (T, N, 3, H), dtype)                           # hidden side: r, z, n factors
        Pn, tmp3 = self._buffer("Pn", (T, N, H), dtype), self._buffer("tmp3", (T, N, H), dtype)
        np.multiply(n, n, out=Pn)
        np.subtract(1, Pn, out=Pn)
        np.subtract(1, z, out=tmp3)
        Pn *= tmp3                                                           # (1 - z)(1 - n^2)
        np.subtract(hs[:T], n, out=F[:, :, 1])
        F[:, :, 1] *= z
        F[:, :, 1] *= tmp3                                                   # (h_{t-1} - n) z (1 - z)
        np.subtract(1, r, out=tmp3)
        tmp3 *= r
        tmp3 *= hn
        np.multiply(Pn, tmp3, out=F[:, :, 0])                                # Pn hn r (1 - r)
        np.multiply(Pn, r, out=F[:, :, 2])                                   # Pn r
        DH = self._buffer("DH", (T, N, H), dtype)                            # dL/dh_t, all of it
        np.copyto(DH, dout.transpose(1, 0, 2))
        dR = self._buffer("dA", (T, N, 3 * H), dtype)                        # hidden side's dL/d(pre-activations)
        dR4 = dR.reshape(T, N, 3, H)
        Wh_T = np.ascontiguousarray(self.params["Wh"].T)
        tmp = np.empty((N, H), dtype=dtype)
        for t in range(T - 1, -1, -1):
            DH[t] += dh
            np.multiply(DH[t][:, None, :], F[t], out=dR4[t])
            np.matmul(dR[t], Wh_T, out=dh)
            dh += np.multiply(DH[t], z[t], out=tmp)                          # flows to h_{t-1}
        self.dh0 = dh
        dAx = self._buffer("dAx", (T, N, 3 * H), dtype)                      # input side: r, z as above, n differs
        dAx4 = dAx.reshape(T, N, 3, H)
        dAx4[:, :, :2] = dR4[:, :, :2]
        np.multiply(DH, Pn, out=dAx4[:, :, 2])
        self.grads["bhn"] = dR4[:, :, 2].sum(axis=(0, 1))                   # (H,)
        return self._finish_backward(xt, hs, dR, dWx_cols=dAx)
