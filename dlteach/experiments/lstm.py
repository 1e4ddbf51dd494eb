"""Experiments behind lesson 08 (recurrent networks and LSTMs): gradients reaching back through
time, the exploding-gradient cliff and clipping, an LSTM cell run with hand-set gates, and RNN
against LSTM on a long-range memory task.

Every function is pure (same arguments, same result; randomness from a seed) and needs no
ipywidgets, so the tests call it over a grid of slider settings; dlteach.widgets.lstm draws it.
Training runs are slow next to a slider move, so memory_run caches its results by their settings.
"""

import ctypes
import glob
import os
from contextlib import contextmanager
from functools import lru_cache

import numpy as np

from dlteach import data, layers, losses, optim, train
from dlteach._checks import check_shape, float_array, positive
from dlteach.base import Layer

__all__ = ["spectral_radius", "recurrent_matrix", "gradient_through_time", "per_step_factor",
           "scalar_rnn_loss", "descend_scalar_rnn", "lstm_step", "lstm_trace", "cell_from_gates",
           "gated_cell", "lstm_for_gates", "memory_time", "single_thread_blas", "LastStep",
           "sequence_classifier", "memory_run", "gradient_reach", "MEMORY_LENGTHS"]

MEMORY_LENGTHS = (5, 10, 20, 40, 60)      # the memory widget's slider: the lesson trains each once


def spectral_radius(W):
    """rho(W) = max |lambda_i(W)|, the largest eigenvalue modulus.

    Shapes: W (H, H) -> float.
    """
    W = float_array(W, "spectral_radius", "W", ndim=2)
    if W.shape[0] != W.shape[1]:
        raise ValueError(f"spectral_radius: argument 'W' has shape {W.shape}; expected a square (H, H) matrix")
    return float(np.abs(np.linalg.eigvals(W)).max())


@lru_cache(maxsize=8)
def _unit_radius_matrix(hidden, seed):
    G = np.random.default_rng(seed).normal(size=(hidden, hidden)) / np.sqrt(hidden)   # (H, H)
    G /= spectral_radius(G)
    G.setflags(write=False)          # cached and shared: callers get scaled copies
    return G


def recurrent_matrix(radius, *, hidden=32, seed=0):
    """Wh = radius * G / rho(G) for a Gaussian G: a random recurrent matrix with spectral radius `radius`.

    The base G depends on (hidden, seed) only, so a slider over radius rescales one matrix.
    Shapes: -> Wh (H, H) with H = hidden, a new array.
    """
    radius = positive(radius, "recurrent_matrix", "radius", allow_zero=True)
    hidden = positive(hidden, "recurrent_matrix", "hidden", integer=True)
    return radius * _unit_radius_matrix(hidden, int(seed))


def gradient_through_time(radius, T, *, hidden=32, activation="tanh", input_scale=1.0, seed=0, grad_last=None):
    """||dL/ds_{T-k}|| for k = 0..T-1, from dL/ds_T = grad_last, back through s_t = phi(x_t Wx + s_{t-1} Wh).

    Backward, one step: dL/ds_{t-1} = (dL/ds_t * phi'(a_t)) Wh^T, so k steps multiply by k Jacobians.
    activation "linear" (phi' = 1: pure powers of Wh^T) or "tanh" (phi' = 1 - s_t^2 <= 1).
    The inputs x_t Wx are seeded Gaussian noise of std input_scale (0: the tanh RNN stays at s = 0,
    where it is linear). Wh = recurrent_matrix(radius, hidden=hidden, seed=seed); grad_last defaults
    to a seeded random vector of length 1.
    Shapes: grad_last (H,) -> norms (T,), norms[k] for the state k steps before the last.
    """
    where = "gradient_through_time"
    T = positive(T, where, "T", integer=True)
    positive(input_scale, where, "input_scale", allow_zero=True)
    if activation not in ("linear", "tanh"):
        raise ValueError(f"{where}: argument 'activation' is {activation!r}; expected 'linear' or 'tanh'")
    Wh = recurrent_matrix(radius, hidden=hidden, seed=seed)                    # (H, H)
    rng = np.random.default_rng(seed + 1)
    drive = rng.normal(scale=input_scale, size=(T, hidden))                    # (T, H): x_t Wx, one example
    if grad_last is None:
        g = rng.normal(size=hidden)
        g /= np.linalg.norm(g)                                                 # dL/ds_T, unit length
    else:
        g = float_array(grad_last, where, "grad_last", ndim=1)
        if g.shape != (hidden,):
            raise ValueError(f"{where}: argument 'grad_last' has shape {g.shape}; expected ({hidden},), one entry per unit")
    slopes = np.ones((T, hidden))                                              # (T, H): phi'(a_t)
    if activation == "tanh":
        s = np.zeros(hidden)
        for t in range(T):
            s = np.tanh(drive[t] + s @ Wh)
            slopes[t] = 1 - s * s
    norms = np.empty(T)
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        for k in range(T):
            norms[k] = np.linalg.norm(g)
            g = (g * slopes[T - 1 - k]) @ Wh.T                                 # to the state one step earlier
    return norms


def per_step_factor(norms):
    """The geometric mean factor per step, (norms[-1] / norms[0]) ** (1 / (T - 1)).

    Since ||W^k||^(1/k) -> rho(W) (the spectral radius formula), so for a linear RNN this tends to the spectral radius.
    Shapes: norms (T,) -> float.
    """
    norms = float_array(norms, "per_step_factor", "norms", ndim=1, finite=False)
    if len(norms) < 2:
        raise ValueError(f"per_step_factor: argument 'norms' has {len(norms)} entries; expected at least 2")
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        return float(np.exp((np.log(norms[-1]) - np.log(norms[0])) / (len(norms) - 1)))


def scalar_rnn_loss(w, T, *, target=2.0, s0=1.0):
    """L(w) = (s_T - target)^2 / 2 with s_T = w^T s0 (a one-unit linear RNN), and dL/dw = (s_T - target) T w^(T-1) s0.

    The gradient grows like T w^(T-1): a cliff just past |w| = 1.
    Shapes: w scalar or array -> (L, dL/dw) like w; inf where the numbers overflow.
    """
    T = positive(T, "scalar_rnn_loss", "T", integer=True)
    w = np.asarray(w, dtype=float)
    with np.errstate(over="ignore", invalid="ignore"):
        s_T = w ** T * s0
        err = s_T - target
        L = 0.5 * err ** 2
        dw = err * T * w ** (T - 1) * s0
    return L, dw


def descend_scalar_rnn(w0, *, T, lr, steps, clip=None, target=2.0):
    """Gradient descent w <- w - lr g on scalar_rnn_loss, with g clipped to |g| <= clip when clip is set.

    Stops early when w leaves [-1e6, 1e6] or a number overflows (the step off the cliff). Clipping
    is optim.clip_by_norm, as in lesson 05.
    Returns {"w": path (<= steps + 1,), "loss": L at each w of the path, "grad_norm": |g| before clipping}.
    """
    where = "descend_scalar_rnn"
    lr = positive(lr, where, "lr")
    steps = positive(steps, where, "steps", integer=True)
    if clip is not None:
        clip = positive(clip, where, "clip")
    w = float(w0)
    path, norms = [w], []
    for _ in range(steps):
        _, dw = scalar_rnn_loss(w, T, target=target)
        g = np.array([float(dw)])
        norms.append(abs(float(g[0])))
        if not np.isfinite(g[0]):
            break
        if clip is not None:
            optim.clip_by_norm([g], clip)
        w = w - lr * float(g[0])
        path.append(w)
        if not abs(w) <= 1e6:
            break
    path = np.array(path)
    return {"w": path, "loss": scalar_rnn_loss(path, T, target=target)[0], "grad_norm": np.array(norms)}


def _sigmoid(a):
    # The tanh form never overflows: exp(-a) would for a < -709.
    return 0.5 * np.tanh(0.5 * a) + 0.5


def lstm_step(x, s_prev, c_prev, Wx, Wh, b):
    """One LSTM step: a = x Wx + s_prev Wh + b, i f o = sigmoid, g = tanh of a's four blocks,
    c = f c_prev + i g, s = o tanh(c). Gates in dlteach's order i, f, g, o.

    A plain reference for the lesson and the exercise checks (layers.LSTM is the fast version).
    Shapes: x (N, D), s_prev c_prev (N, H), Wx (D, 4H), Wh (H, 4H), b (4H,) -> {"i", "f", "g", "o", "c", "s"}, each (N, H).
    """
    where = "lstm_step"
    x = float_array(x, where, "x", ndim=2)
    s_prev = float_array(s_prev, where, "s_prev", ndim=2)
    N, H = s_prev.shape
    for value, name, shape in ((c_prev, "c_prev", (N, H)), (Wx, "Wx", (x.shape[1], 4 * H)), (Wh, "Wh", (H, 4 * H)),
                               (b, "b", (4 * H,))):
        check_shape(float_array(value, where, name), shape, where, name)
    a = x @ Wx + s_prev @ Wh + b                                   # (N, 4H)
    i, f, o = _sigmoid(a[:, :H]), _sigmoid(a[:, H:2 * H]), _sigmoid(a[:, 3 * H:])
    g = np.tanh(a[:, 2 * H:3 * H])
    c = f * c_prev + i * g                                         # keep some old memory, write some new
    return {"i": i, "f": f, "g": g, "o": o, "c": c, "s": o * np.tanh(c)}


def lstm_trace(lstm, x):
    """Everything an LSTM layer computes on x, step by step from s_0 = C_0 = 0, with lstm_step.

    Shapes: x (N, T, D) -> {"i", "f", "g", "o", "c", "s"}, each (N, T, H).
    """
    if not isinstance(lstm, layers.LSTM):
        raise TypeError(f"lstm_trace: argument 'lstm' must be a layers.LSTM, got {type(lstm).__name__}")
    x = float_array(x, "lstm_trace", "x", ndim=3)
    N, T, _ = x.shape
    H = lstm.hidden_size
    s, c = np.zeros((N, H)), np.zeros((N, H))
    steps = []
    for t in range(T):
        step = lstm_step(x[:, t], s, c, lstm.params["Wx"], lstm.params["Wh"], lstm.params["b"])
        s, c = step["s"], step["c"]
        steps.append(step)
    return {k: np.stack([step[k] for step in steps], axis=1) for k in steps[0]}


def cell_from_gates(i, f, g, o):
    """C_t = f_t C_{t-1} + i_t g_t and s_t = o_t tanh(C_t), from C_{-1} = 0, for given gate values.

    Shapes: i, f, g, o (T,) or (T, H) -> (C, s) of the same shape.
    """
    i, f, g, o = (float_array(v, "cell_from_gates", name) for v, name in zip((i, f, g, o), "ifgo"))
    if not i.shape == f.shape == g.shape == o.shape:
        raise ValueError(f"cell_from_gates: arguments i, f, g, o must have one shape; "
                         f"got {i.shape}, {f.shape}, {g.shape}, {o.shape}")
    C = np.empty_like(g)
    c = np.zeros_like(g[0])
    for t in range(len(g)):
        c = f[t] * c + i[t] * g[t]            # forget some of the old memory, add some new
        C[t] = c
    return C, o * np.tanh(C)


def gated_cell(forget, input_gate, output, *, steps=40, value=1.0, write=1.0, erase_at=None, seed=0):
    """A one-unit LSTM cell with hand-set gates: step 0 writes `value` (input gate `write`); later
    steps see distractor candidates g_t ~ U(-1, 1) let in by `input_gate`, while `forget` keeps
    C_{t-1} and `output` exposes tanh(C_t). erase_at: a step whose forget gate is 0 (a reset).

    C_t = f_t C_{t-1} + i_t g_t, s_t = o tanh(C_t); kept_t = write * value * f_1 ... f_t is what
    remains of the written value (the rest of C_t comes from distractors).
    Returns {"t", "i", "f", "g", "o", "C", "s", "kept"}, each (steps,).
    """
    where = "gated_cell"
    steps = positive(steps, where, "steps", integer=True)
    for name, v in (("forget", forget), ("input_gate", input_gate), ("output", output), ("write", write)):
        if not 0 <= v <= 1:
            raise ValueError(f"{where}: argument '{name}' is a gate value and must lie in [0, 1], got {v!r}")
    if erase_at is not None and not (isinstance(erase_at, (int, np.integer)) and 0 < erase_at < steps):
        raise ValueError(f"{where}: argument 'erase_at' is {erase_at!r}; expected None or a step in 1..{steps - 1}")
    g = np.random.default_rng(seed).uniform(-1, 1, size=steps)          # (T,) distractor candidates
    g[0] = value
    i = np.full(steps, float(input_gate))
    i[0] = write
    f = np.full(steps, float(forget))
    if erase_at is not None:
        f[erase_at] = 0.0
    o = np.full(steps, float(output))
    C, s = cell_from_gates(i, f, g, o)
    kept = write * value * np.cumprod(np.concatenate([[1.0], f[1:]]))   # f_0 meets C_{-1} = 0: not counted
    return {"t": np.arange(steps), "i": i, "f": f, "g": g, "o": o, "C": C, "s": s, "kept": kept}


def lstm_for_gates(i, f, g, o):
    """A dlteach LSTM and an input x whose forward pass runs with exactly these gate values.

    D = 4, H = 1, Wx = I, Wh = 0, b = 0 and x_t = (logit i_t, logit f_t, artanh g_t, logit o_t): the
    pre-activations are x_t, so sigmoid and tanh give the gates back. Gates must lie in (0, 1), g in (-1, 1).
    Shapes: i, f, g, o (T,) -> (LSTM(4, 1), x (1, T, 4)).
    """
    i, f, g, o = (float_array(v, "lstm_for_gates", name, ndim=1) for v, name in zip((i, f, g, o), "ifgo"))
    if not (np.all((0 < i) & (i < 1)) and np.all((0 < f) & (f < 1)) and np.all((0 < o) & (o < 1))
            and np.all(np.abs(g) < 1)):
        raise ValueError("lstm_for_gates: a sigmoid gate reaches 0 or 1 (or |g| reaches 1) only at infinite "
                         "pre-activation; pass gates strictly inside (0, 1) and g inside (-1, 1)")
    lstm = layers.LSTM(4, 1, rng=np.random.default_rng(0))
    lstm.params["Wx"][...] = np.eye(4)
    lstm.params["Wh"][...] = 0.0
    lstm.params["b"][...] = 0.0

    def logit(p):
        return np.log(p) - np.log1p(-p)

    x = np.stack([logit(i), logit(f), np.arctanh(g), logit(o)], axis=1)[None]   # (1, T, 4)
    return lstm, x


def memory_time(forget_bias):
    """1 / (1 - f) = 1 + e^b for f = sigmoid(b): the steps a cell with forget bias b keeps a value.

    (f^t = e^(t log f) and -log f ~ 1 - f when f is near 1.) Shapes: scalar or array -> like it.
    """
    return 1.0 + np.exp(forget_bias)


@lru_cache(maxsize=1)
def _openblas():
    """numpy's bundled OpenBLAS as (get_num_threads, set_num_threads), or None if it is not found."""
    folder = os.path.dirname(np.__file__) + ".libs"        # where numpy's Linux wheels keep their OpenBLAS
    for path in sorted(glob.glob(os.path.join(folder, "*openblas*"))):
        try:
            lib = ctypes.CDLL(path)                        # already loaded by numpy: the same library
        except OSError:
            continue
        for prefix, suffix in (("scipy_openblas", "64_"), ("openblas", ""), ("openblas", "64_")):
            get, set_ = f"{prefix}_get_num_threads{suffix}", f"{prefix}_set_num_threads{suffix}"
            if hasattr(lib, get) and hasattr(lib, set_):
                get, set_ = getattr(lib, get), getattr(lib, set_)
                get.argtypes, get.restype = [], ctypes.c_int
                set_.argtypes, set_.restype = [ctypes.c_int], None
                return get, set_
    return None


@contextmanager
def single_thread_blas():
    """Run numpy's matrix products on one thread inside the block (a no-op if OpenBLAS is not found).

    The recurrent layers' hoisted products are just big enough for OpenBLAS to start a second
    thread, which then waits for a busy core: on a shared 2-core machine (load ~2.7) the lesson's ten
    memory runs took 8.2 s with two threads and 2.0 s with one (median of 3); on an idle machine the
    two are equally fast. Only the thread count is set, and restored; environment variables are left alone.
    """
    blas = _openblas()
    if blas is None:
        yield
        return
    get, set_ = blas
    before = get()
    set_(1)
    try:
        yield
    finally:
        set_(before)


class LastStep(Layer):
    """s_T = s[:, -1]: keep the last state of a sequence for a classifier on top.

    Shapes: s (N, T, H) -> (N, H); backward puts dout at step T and zeros elsewhere.
    """

    def forward(self, x):
        x = float_array(x, "LastStep.forward", "x", ndim=3)
        self._cache = x.shape
        return x[:, -1]

    def backward(self, dout):
        shape = self._saved()
        dout = self._check_dout(dout, (shape[0], shape[2]))
        dx = np.zeros(shape, dtype=dout.dtype)                # (N, T, H)
        dx[:, -1] = dout
        return dx


def sequence_classifier(kind, D, H, C, *, rng, forget_bias=4.0):
    """RNN or LSTM (D -> H), its last state, then Linear(H, C) to class scores.

    An LSTM starts as a memory: forget bias b_f = forget_bias (f = sigmoid(b_f) keeps a value for
    about memory_time(b_f) = 1 + e^b_f steps) and input bias b_i = -forget_bias (little is written
    until training opens the gate), the chrono initialisation of Tallec and Ollivier (2018) with one
    b_f for all units. With b = 0, f = 1/2 halves the cell at every step.
    Shapes: x (N, T, D) -> scores (N, C).
    """
    if kind not in ("rnn", "lstm"):
        raise ValueError(f"sequence_classifier: argument 'kind' is {kind!r}; expected 'rnn' or 'lstm'")
    if kind == "rnn":
        cell = layers.RNN(D, H, rng=rng)
    else:
        cell = layers.LSTM(D, H, rng=rng)
        cell.params["b"][:H] = -forget_bias                # gates in the order i, f, g, o
        cell.params["b"][H:2 * H] = forget_bias
    return layers.Sequential(cell, LastStep(), layers.Linear(H, C, rng=rng, init="glorot"))


def _memory_setup(where, T, kind, hidden, n_train, n_test, forget_bias, symbols, distractors, seed):
    """The data and the initial network of one memory run (shared by memory_run and gradient_reach)."""
    T = positive(T, where, "T", integer=True)
    rng = np.random.default_rng([seed, T])
    X, y = data.memory_task(n_train + n_test, length=T, symbols=symbols, distractors=distractors, rng=rng)
    model = sequence_classifier(kind, symbols + distractors, hidden, symbols, rng=rng, forget_bias=forget_bias)
    return (X[:n_train], y[:n_train]), (X[n_train:], y[n_train:]), model, rng


_MEMORY_CACHE = {}


def memory_run(T, kind, *, hidden=16, n_train=256, n_test=256, epochs=12, batch_size=32, lr=0.01,
               forget_bias=4.0, symbols=4, distractors=4, seed=0, progress=False):
    """Train a sequence_classifier on data.memory_task(length=T): name the symbol seen T - 1 steps ago.

    Adam with gradient clipping (norm 1), the same budget for RNN and LSTM. Cached by the settings
    (progress aside), so a widget can show every trained T without training again; the cached
    result is shared, so read it, do not change it.
    Returns {"history": fit's history with val = test set, "test_acc": float, "chance": 1 / symbols,
    "model": the trained network}.
    """
    key = (T, kind, hidden, n_train, n_test, epochs, batch_size, lr, forget_bias, symbols, distractors, seed)
    if key in _MEMORY_CACHE:
        return _MEMORY_CACHE[key]
    train_set, test_set, model, rng = _memory_setup("memory_run", T, kind, hidden, n_train, n_test,
                                                    forget_bias, symbols, distractors, seed)
    opt = optim.Adam(model, lr=lr, clip_norm=1.0)
    with single_thread_blas():
        history = train.fit(model, losses.softmax_cross_entropy, opt, train_set, epochs, batch_size=batch_size,
                            val_data=test_set, rng=rng, progress=progress)
    result = {"history": history, "test_acc": history["val_acc"][-1], "chance": 1 / symbols, "model": model}
    _MEMORY_CACHE[key] = result
    return result


def gradient_reach(T, kind, *, hidden=16, n_train=256, n_test=256, forget_bias=4.0, symbols=4, distractors=4,
                   seed=0):
    """How far back the loss's gradient reaches in memory_run's initial network, before any training:
    r_t = mean over the test sequences of ||dL/dx_t||, for L the loss on the last step's answer.

    r_0 is what training has to go on: the symbol to remember is x_0.
    Shapes: -> r (T,), r[t] for input step t.
    """
    _, (X, y), model, _ = _memory_setup("gradient_reach", T, kind, hidden, n_train, n_test, forget_bias,
                                   symbols, distractors, seed)
    with single_thread_blas():
        _, dout = losses.softmax_cross_entropy(model(X), y)
        dx = model.backward(dout)                                           # (N, T, D)
    return np.linalg.norm(dx, axis=2).mean(axis=0)
