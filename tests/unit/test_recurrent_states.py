"""Initial and final states of RNN, LSTM and GRU (h0, c0 in; h_n, c_n out; dh_n, dc_n in; dh0, dc0 out),
and the single-step functions: central differences in float64 with asserted thresholds, PyTorch where
it is installed (test_torch_reference.py compares the layers without states)."""

import numpy as np
import pytest

from dlteach import gradcheck, layers, recurrent

TOL = 1e-7
KINDS = ("RNN", "LSTM", "GRU")


def make(kind, rng, D=3, H=4):
    layer = getattr(layers, kind)(D, H, rng=rng)
    layer.params["b"][:] = rng.standard_normal(layer.params["b"].shape) * 0.5
    if kind == "GRU":
        layer.params["bhn"][:] = rng.standard_normal(H) * 0.5
    return layer


def run(layer, x, h0, c0):
    """forward with the states the layer takes."""
    return layer.forward(x, h0, c0) if isinstance(layer, layers.LSTM) else layer.forward(x, h0)


def backprop(layer, dout, dh_n, dc_n):
    return layer.backward(dout, dh_n, dc_n) if isinstance(layer, layers.LSTM) else layer.backward(dout, dh_n)


@pytest.mark.parametrize("kind", KINDS)
def test_gradients_of_initial_states_inputs_and_weights_with_a_nonzero_start(kind):
    """L = sum(h * dout) + sum(h_n * dh_n) (+ sum(c_n * dc_n)): every gradient against central differences."""
    rng = np.random.default_rng(21)
    N, T, D, H = 2, 5, 3, 4
    layer = make(kind, rng, D, H)
    lstm = kind == "LSTM"
    x, h0, c0 = rng.standard_normal((N, T, D)), rng.standard_normal((N, H)), rng.standard_normal((N, H))
    dout, dh_n, dc_n = rng.standard_normal((N, T, H)), rng.standard_normal((N, H)), rng.standard_normal((N, H))

    def objective():
        h = run(layer, x, h0, c0 if lstm else None)
        value = np.sum(h * dout) + np.sum(layer.h_n * dh_n)
        return float(value + (np.sum(layer.c_n * dc_n) if lstm else 0.0))

    run(layer, x, h0, c0 if lstm else None)
    dx = backprop(layer, dout, dh_n, dc_n if lstm else None)
    analytic = {"x": dx, "h0": layer.dh0, **{name: g.copy() for name, _, g in layer.parameters()}}
    wrt = {"x": x, "h0": h0, **{name: p for name, p, _ in layer.parameters()}}
    if lstm:
        analytic["c0"], wrt["c0"] = layer.dc0, c0
    errors = {name: gradcheck.assert_close_gradient(analytic[name], gradcheck.numerical_gradient(objective, a, 1e-6),
                                                    f"{kind}: gradient of '{name}'", TOL)
              for name, a in wrt.items()}
    assert max(errors.values()) < TOL
    assert set(errors) >= {"x", "h0", "Wx", "Wh", "b"}


@pytest.mark.parametrize("kind", KINDS)
def test_no_initial_state_is_the_zero_state_and_dh0_is_its_gradient(kind):
    rng = np.random.default_rng(3)
    layer = make(kind, rng)
    x, dout = rng.standard_normal((2, 4, 3)), rng.standard_normal((2, 4, 4))
    zeros = np.zeros((2, 4))
    out = layer.forward(x)
    dx = layer.backward(dout)
    grads = {k: g.copy() for k, g in layer.grads.items()}
    dh0 = layer.dh0.copy()
    np.testing.assert_allclose(run(layer, x, zeros, zeros), out, rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(backprop(layer, dout, None, None), dx, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(layer.dh0, dh0, rtol=1e-13, atol=1e-15)
    for k, g in grads.items():
        np.testing.assert_allclose(layer.grads[k], g, rtol=1e-13, atol=1e-15, err_msg=k)


@pytest.mark.parametrize("kind", KINDS)
def test_two_halves_with_the_state_carried_over_are_the_whole_sequence(kind):
    """Truncated BPTT's forward: the last state of the first half, passed as h0 (and c0), continues exactly."""
    rng = np.random.default_rng(4)
    layer = make(kind, rng)
    x = rng.standard_normal((3, 8, 3))
    whole = layer.forward(x)
    h_n, c_n = layer.h_n, getattr(layer, "c_n", None)
    first = layer.forward(x[:, :5])
    second = run(layer, x[:, 5:], layer.h_n, getattr(layer, "c_n", None))
    np.testing.assert_allclose(np.concatenate([first, second], axis=1), whole, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(layer.h_n, h_n, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(layer.h_n, whole[:, -1], rtol=0, atol=0)
    if kind == "LSTM":
        np.testing.assert_allclose(layer.c_n, c_n, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("kind", KINDS)
def test_final_states_and_their_gradients_are_new_arrays_that_later_calls_leave_alone(kind):
    rng = np.random.default_rng(5)
    layer = make(kind, rng)
    x = rng.standard_normal((2, 3, 3))
    h0 = rng.standard_normal((2, 4))
    h0_kept = h0.copy()
    run(layer, x, h0, np.zeros((2, 4)))
    h_n = layer.h_n
    kept = h_n.copy()
    backprop(layer, np.ones((2, 3, 4)), None, None)
    dh0 = layer.dh0
    dh0_kept = dh0.copy()
    run(layer, rng.standard_normal((2, 3, 3)), h_n, h_n)      # the state passed back in, as training does
    backprop(layer, np.ones((2, 3, 4)), None, None)
    assert np.array_equal(h_n, kept) and np.array_equal(dh0, dh0_kept) and np.array_equal(h0, h0_kept)
    assert layer.h_n is not h_n


@pytest.mark.parametrize("kind", KINDS)
def test_float32_states_stay_float32(kind):
    rng = np.random.default_rng(6)
    layer = getattr(layers, kind)(3, 4, rng=rng, dtype=np.float32)
    x, h0 = rng.standard_normal((2, 3, 3), dtype=np.float32), rng.standard_normal((2, 4), dtype=np.float32)
    out = run(layer, x, h0, h0)
    backprop(layer, np.ones_like(out), h0, h0)
    states = [layer.h_n, layer.dh0] + ([layer.c_n, layer.dc0] if kind == "LSTM" else [])
    assert out.dtype == np.float32 and all(s.dtype == np.float32 for s in states)


@pytest.mark.parametrize("call, pattern", [
    (lambda r: layers.RNN(3, 4, rng=r).forward(np.ones((2, 5, 3)), np.ones((3, 4))),
     r"RNN.forward: argument 'h0' has shape \(3, 4\); expected \(N, H\) = \(2, 4\)"),
    (lambda r: layers.LSTM(3, 4, rng=r).forward(np.ones((2, 5, 3)), None, np.ones((2, 5))),
     r"LSTM.forward: argument 'c0' has shape \(2, 5\); expected \(N, H\) = \(2, 4\)"),
    (lambda r: layers.GRU(3, 4, rng=r).forward(np.ones((2, 5, 3)), np.ones(4)),
     r"GRU.forward: argument 'h0' must be 2-D, got shape \(4,\)"),
    (lambda r: layers.LSTM(3, 4, rng=r).forward(np.ones((2, 5, 3)), np.full((2, 4), np.nan)),
     r"LSTM.forward: argument 'h0' contains nan"),
    (lambda r: _forwarded(layers.LSTM(3, 4, rng=r)).backward(np.ones((2, 5, 4)), None, np.ones((1, 4))),
     r"LSTM.backward: argument 'dc_n' has shape \(1, 4\)"),
    (lambda r: _forwarded(layers.GRU(3, 4, rng=r)).backward(np.ones((2, 5, 4)), np.ones((2, 3))),
     r"GRU.backward: argument 'dh_n' has shape \(2, 3\)"),
    (lambda r: recurrent.lstm_step(np.ones((2, 3)), np.ones((2, 4)), np.ones((2, 5)), np.ones((3, 16)),
                                   np.ones((4, 16)), np.ones(16)),
     r"lstm_step: argument 'c_prev' has shape \(2, 5\); expected \(2, 4\)"),
    (lambda r: recurrent.gru_step(np.ones((2, 3)), np.ones((2, 4)), np.ones((3, 12)), np.ones((4, 12)),
                                  np.ones(12), np.ones(12)),
     r"gru_step: argument 'bhn' has shape \(12,\); expected \(4,\)"),
    (lambda r: recurrent.rnn_step(np.ones((2, 3)), np.ones((1, 4)), np.ones((3, 4)), np.ones((4, 4)), np.ones(4)),
     r"rnn_step: argument 'x' has shape \(2, 3\); expected \(1, \*\)"),
])
def test_state_errors_name_the_argument_and_the_expected_shape(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call(np.random.default_rng(0))


def _forwarded(layer):
    layer.forward(np.ones((2, 5, 3)))
    return layer


# ------------------------------------------------------------------ the single steps

def step_forward(kind, x, h, c, p):
    if kind == "RNN":
        h, cache = recurrent.rnn_step(x, h, p["Wx"], p["Wh"], p["b"])
    elif kind == "LSTM":
        h, c, cache = recurrent.lstm_step(x, h, c, p["Wx"], p["Wh"], p["b"])
    else:
        h, cache = recurrent.gru_step(x, h, p["Wx"], p["Wh"], p["b"], p["bhn"])
    return h, c, cache


def step_backward(kind, dh, dc, cache):
    """(dx, dh_prev, dc_prev, {param: grad}) whatever the kind."""
    if kind == "RNN":
        dx, dh, dWx, dWh, db = recurrent.rnn_step_backward(dh, cache)
        return dx, dh, None, {"Wx": dWx, "Wh": dWh, "b": db}
    if kind == "LSTM":
        dx, dh, dc, dWx, dWh, db = recurrent.lstm_step_backward(dh, dc, cache)
        return dx, dh, dc, {"Wx": dWx, "Wh": dWh, "b": db}
    dx, dh, dWx, dWh, db, dbhn = recurrent.gru_step_backward(dh, cache)
    return dx, dh, None, {"Wx": dWx, "Wh": dWh, "b": db, "bhn": dbhn}


@pytest.mark.parametrize("kind", KINDS)
def test_steps_chained_are_the_layer_forward_and_backward(kind):
    rng = np.random.default_rng(8)
    layer = make(kind, rng)
    N, T = 2, 6
    x, h0, c0 = rng.standard_normal((N, T, 3)), rng.standard_normal((N, 4)), rng.standard_normal((N, 4))
    dout, dh_n, dc_n = rng.standard_normal((N, T, 4)), rng.standard_normal((N, 4)), rng.standard_normal((N, 4))
    lstm = kind == "LSTM"
    out = run(layer, x, h0, c0 if lstm else None)
    dx = backprop(layer, dout, dh_n, dc_n if lstm else None)
    h, c, caches, hs = h0, c0, [], []
    for t in range(T):
        h, c, cache = step_forward(kind, x[:, t], h, c, layer.params)
        caches.append(cache)
        hs.append(h)
    np.testing.assert_allclose(np.stack(hs, axis=1), out, rtol=1e-12, atol=1e-14)
    dh, dc = dh_n, dc_n if lstm else None
    grads = {k: 0.0 for k in layer.params}
    dxs = [None] * T
    for t in reversed(range(T)):
        dxs[t], dh, dc, g = step_backward(kind, dh + dout[:, t], dc, caches[t])
        for k in g:
            grads[k] = grads[k] + g[k]
    np.testing.assert_allclose(np.stack(dxs, axis=1), dx, rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(dh, layer.dh0, rtol=1e-11, atol=1e-13)
    if lstm:
        np.testing.assert_allclose(dc, layer.dc0, rtol=1e-11, atol=1e-13)
    for k in layer.params:
        np.testing.assert_allclose(grads[k], layer.grads[k], rtol=1e-11, atol=1e-13, err_msg=k)


@pytest.mark.parametrize("kind", KINDS)
def test_step_backward_against_central_differences(kind):
    """L = sum(R_h * h) (+ sum(R_c * c)): dh = R_h and dc = R_c."""
    rng = np.random.default_rng(9)
    N, D, H = 3, 2, 4
    G = {"RNN": 1, "LSTM": 4, "GRU": 3}[kind]
    x, h, c = rng.standard_normal((N, D)), rng.standard_normal((N, H)), rng.standard_normal((N, H))
    p = {"Wx": rng.standard_normal((D, G * H)) * 0.7, "Wh": rng.standard_normal((H, G * H)) * 0.7,
         "b": rng.standard_normal(G * H), "bhn": rng.standard_normal(H)}
    R_h, R_c = rng.standard_normal((N, H)), rng.standard_normal((N, H))
    kept = {"x": x.copy(), "h": h.copy(), **{k: v.copy() for k, v in p.items()}}

    def loss():
        h_new, c_new, _ = step_forward(kind, x, h, c, p)
        return float(np.sum(R_h * h_new) + (np.sum(R_c * c_new) if kind == "LSTM" else 0.0))

    _, _, cache = step_forward(kind, x, h, c, p)
    dx, dh, dc, grads = step_backward(kind, R_h, R_c if kind == "LSTM" else None, cache)
    assert np.array_equal(x, kept["x"]) and np.array_equal(h, kept["h"]), "a step changed its arguments"
    checks = [("dx", dx, x), ("dh_prev", dh, h)] + [(f"d{k}", g, p[k]) for k, g in grads.items()]
    if kind == "LSTM":
        checks.append(("dc_prev", dc, c))
    for name, mine, wrt in checks:
        err = gradcheck.rel_error(mine, gradcheck.numerical_gradient(loss, wrt, 1e-6))
        assert err < TOL, f"{kind} step: {name} rel. error {err:.2g}"


# ------------------------------------------------------------------ against PyTorch

def _torch():
    torch = pytest.importorskip("torch", reason="PyTorch is not installed: pip install torch==2.13.0 to compare")
    from test_torch_reference import recurrent_grads, recurrent_twin
    return torch, recurrent_twin, recurrent_grads


@pytest.mark.parametrize("kind", KINDS)
def test_states_and_their_gradients_match_torch(kind):
    torch, recurrent_twin, recurrent_grads = _torch()
    rng = np.random.default_rng(10)
    N, T, D, H = 3, 6, 3, 4
    layer = make(kind, rng, D, H)
    lstm = kind == "LSTM"
    x, h0, c0 = rng.standard_normal((N, T, D)), rng.standard_normal((N, H)), rng.standard_normal((N, H))
    dout, dh_n, dc_n = rng.standard_normal((N, T, H)), rng.standard_normal((N, H)), rng.standard_normal((N, H))
    out = run(layer, x, h0, c0 if lstm else None)
    dx = backprop(layer, dout, dh_n, dc_n if lstm else None)

    m = recurrent_twin(layer)
    tt = lambda a, grad=False: torch.tensor(a, dtype=torch.float64, requires_grad=grad)   # noqa: E731
    xt, h0t, c0t = tt(x, True), tt(h0[None], True), tt(c0[None], True)
    out_t, state = m(xt, (h0t, c0t) if lstm else h0t)
    h_n_t = state[0] if lstm else state
    total = (out_t * tt(dout)).sum() + (h_n_t[0] * tt(dh_n)).sum()
    if lstm:
        total = total + (state[1][0] * tt(dc_n)).sum()
    total.backward()
    close = dict(rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(out, out_t.detach().numpy(), **close, err_msg=f"{kind} forward: dlteach vs torch")
    np.testing.assert_allclose(layer.h_n, h_n_t[0].detach().numpy(), **close, err_msg="h_n")
    np.testing.assert_allclose(dx, xt.grad.numpy(), **close, err_msg="dx")
    np.testing.assert_allclose(layer.dh0, h0t.grad[0].numpy(), **close, err_msg="dh0")
    if lstm:
        np.testing.assert_allclose(layer.c_n, state[1][0].detach().numpy(), **close, err_msg="c_n")
        np.testing.assert_allclose(layer.dc0, c0t.grad[0].numpy(), **close, err_msg="dc0")
    for k, g in recurrent_grads(layer, m).items():
        np.testing.assert_allclose(layer.grads[k], g.numpy(), rtol=1e-9, atol=1e-12, err_msg=f"{kind} grad of {k}")


@pytest.mark.parametrize("kind", KINDS)
def test_one_step_matches_torchs_cell(kind):
    torch, recurrent_twin, _ = _torch()
    rng = np.random.default_rng(12)
    layer = make(kind, rng)
    x, h, c = rng.standard_normal((2, 3)), rng.standard_normal((2, 4)), rng.standard_normal((2, 4))
    h_new, c_new, _ = step_forward(kind, x, h, c, layer.params)
    m = recurrent_twin(layer)
    cell = getattr(torch.nn, kind + "Cell")(3, 4).double()
    for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
        getattr(cell, name).data = getattr(m, name + "_l0").data.clone()
    tt = lambda a: torch.tensor(a, dtype=torch.float64)   # noqa: E731
    ref = cell(tt(x), (tt(h), tt(c)) if kind == "LSTM" else tt(h))
    h_ref = ref[0] if kind == "LSTM" else ref
    np.testing.assert_allclose(h_new, h_ref.detach().numpy(), rtol=1e-12, atol=1e-14)
    if kind == "LSTM":
        np.testing.assert_allclose(c_new, ref[1].detach().numpy(), rtol=1e-12, atol=1e-14)
