"""Forward and backward of every layer and loss against PyTorch (optional: skipped without torch)."""

import numpy as np
import pytest
from cases import LAYER_CASES, LOSS_CASES, layer_class_names, tied_windows

from dlteach import layers, losses, optim

torch = pytest.importorskip("torch", reason="PyTorch is not installed: pip install torch==2.13.0 to compare")
torch.set_default_dtype(torch.float64)
nn = torch.nn
TOL = 1e-10


def t(a, grad=False):
    return torch.tensor(np.asarray(a), dtype=torch.float64, requires_grad=grad)


def torch_twin(layer):
    """A PyTorch module computing the same function as a dlteach layer, sharing its weights."""
    kind = type(layer).__name__
    p = {k: t(v) for k, v in layer.params.items()}
    if kind == "Linear":
        m = nn.Linear(layer.in_features, layer.out_features)
        m.weight.data, m.bias.data = p["W"].T.clone(), p["b"].clone()
        return m, lambda m: {"W": m.weight.grad.T, "b": m.bias.grad}
    if kind == "Conv2d":
        m = nn.Conv2d(layer.in_channels, layer.out_channels, layer.kernel_size, stride=layer.stride,
                      padding=layer.padding)
        m.weight.data, m.bias.data = p["W"].clone(), p["b"].clone()
        return m, lambda m: {"W": m.weight.grad, "b": m.bias.grad}
    if kind in ("RNN", "LSTM", "GRU"):
        m = recurrent_twin(layer)
        wrapped = _FirstOutput(m)
        return wrapped, lambda w: recurrent_grads(layer, w.m)
    if kind == "Embedding":
        m = nn.Embedding(layer.num_embeddings, layer.embedding_dim)
        m.weight.data = p["W"].clone()
        return m, lambda m: {"W": m.weight.grad}
    if kind in ("BatchNorm1d", "BatchNorm2d"):
        m = getattr(nn, kind)(layer.num_features, eps=layer.eps, momentum=layer.momentum)
        m.weight.data, m.bias.data = p["gamma"].clone(), p["beta"].clone()
        m.running_mean.data, m.running_var.data = t(layer.running_mean).clone(), t(layer.running_var).clone()
        m.train(layer.training)
        return m, lambda m: {"gamma": m.weight.grad, "beta": m.bias.grad}
    simple = {"ReLU": nn.ReLU(), "Sigmoid": nn.Sigmoid(), "Tanh": nn.Tanh(), "Flatten": nn.Flatten()}
    if kind in simple:
        return simple[kind], lambda m: {}
    if kind == "MaxPool2d":
        return nn.MaxPool2d(layer.kernel_size, layer.stride, layer.padding), lambda m: {}
    raise KeyError(kind)


def recurrent_twin(layer):
    """torch.nn.RNN / LSTM / GRU with a dlteach recurrent layer's weights (batch_first).

    dlteach keeps one bias b (torch's bias_ih; bias_hh is zero), and the GRU its bhn, torch's bias_hh_n.
    """
    kind = type(layer).__name__
    H = layer.hidden_size
    m = getattr(nn, kind)(layer.input_size, H, batch_first=True)
    m.weight_ih_l0.data = t(layer.params["Wx"]).T.clone()
    m.weight_hh_l0.data = t(layer.params["Wh"]).T.clone()
    m.bias_ih_l0.data = t(layer.params["b"]).clone()
    m.bias_hh_l0.data.zero_()
    if kind == "GRU":
        m.bias_hh_l0.data[2 * H:] = t(layer.params["bhn"])
    return m


def recurrent_grads(layer, m):
    grads = {"Wx": m.weight_ih_l0.grad.T, "Wh": m.weight_hh_l0.grad.T, "b": m.bias_ih_l0.grad}
    if type(layer).__name__ == "GRU":
        grads["bhn"] = m.bias_hh_l0.grad[2 * layer.hidden_size:]
    return grads


class _FirstOutput(nn.Module):
    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, x):
        return self.m(x)[0]


COMPARABLE = sorted(n for n in LAYER_CASES if layer_class_names(n) not in ("Dropout", "Sequential"))


@pytest.mark.parametrize("name", COMPARABLE)
def test_layer_matches_torch(name):
    rng = np.random.default_rng(11)
    make_layer, make_input = LAYER_CASES[name]
    layer = make_layer(rng)
    x = make_input(rng)
    module, torch_grads = torch_twin(layer)
    out = layer.forward(x)
    dout = rng.standard_normal(out.shape)
    dx = layer.backward(dout)

    indices = x.dtype.kind in "iu"                    # Embedding: no gradient for its input
    xt = torch.tensor(x) if indices else t(x, grad=True)
    out_t = module(xt)
    out_t.backward(t(dout))
    np.testing.assert_allclose(out, out_t.detach().numpy(), rtol=TOL, atol=TOL,
                               err_msg=f"{name} forward: dlteach (actual) vs torch (desired)")
    if indices:
        assert dx is None
    else:
        np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=TOL, atol=TOL,
                                   err_msg=f"{name} d(input): dlteach vs torch")
    for key, g in torch_grads(module).items():
        np.testing.assert_allclose(layer.grads[key], g.numpy(), rtol=1e-9, atol=TOL,
                                   err_msg=f"{name} grad of {key}: dlteach vs torch")


@pytest.mark.parametrize("K, stride", [(2, 2), (3, 2), (2, 1)])
def test_maxpool_breaks_ties_as_torch_does(K, stride):
    """Both send a tied window's gradient to its first maximum; the registry's inputs have no ties."""
    rng = np.random.default_rng(3)
    x = rng.integers(0, 3, size=(2, 3, 8, 7)).astype(np.float64)    # three values: many windows tie
    assert tied_windows(x, K, stride) > 0.4
    pool = layers.MaxPool2d(K, stride)
    out = pool.forward(x)
    dout = rng.standard_normal(out.shape)
    xt = t(x, grad=True)
    out_t = nn.MaxPool2d(K, stride)(xt)
    out_t.backward(t(dout))
    np.testing.assert_array_equal(out, out_t.detach().numpy())
    np.testing.assert_allclose(pool.backward(dout), xt.grad.numpy(), rtol=1e-12, atol=1e-15,
                               err_msg=f"MaxPool2d({K}, stride={stride}) d(input) at ties: dlteach vs torch")


def test_dropout_matches_torch_in_eval_and_scales_in_training():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((50, 40))
    layer = layers.Dropout(0.25, rng=rng)
    assert np.array_equal(layer.eval().forward(x), nn.Dropout(0.25).eval()(t(x)).numpy())
    out = layer.train().forward(x)
    kept = out != 0
    np.testing.assert_allclose(out[kept], x[kept] / 0.75)
    assert abs(kept.mean() - 0.75) < 0.03


@pytest.mark.parametrize("name", sorted(LOSS_CASES))
def test_loss_matches_torch(name):
    rng = np.random.default_rng(5)
    loss_fn, make_logits, make_target, kwargs = LOSS_CASES[name]
    h, y = make_logits(rng), make_target(rng)
    loss, dh = loss_fn(h, y, **kwargs)
    ht = t(h, grad=True)
    if loss_fn is losses.mse:
        ref = 0.5 * ((ht - t(y)) ** 2).sum() / h.shape[0]
    else:
        C = h.shape[-1]
        target = torch.tensor(y.reshape(-1)) if y.dtype.kind in "iu" else t(y.reshape(-1, C))
        per_position = nn.functional.cross_entropy(ht.reshape(-1, C) / kwargs.get("temperature", 1.0), target,
                                                   reduction="none")
        counted = torch.tensor(kwargs["mask"].reshape(-1)) if "mask" in kwargs else slice(None)
        ref = per_position[counted].mean()
    ref.backward()
    assert loss == pytest.approx(ref.item(), rel=1e-12)
    np.testing.assert_allclose(dh, ht.grad.numpy(), rtol=1e-9, atol=TOL)


def _model_pair(rng):
    model = layers.Sequential(layers.Linear(4, 5, rng=rng), layers.Tanh(), layers.Linear(5, 3, rng=rng))
    ref = nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 3))
    for i in (0, 2):
        ref[i].weight.data = t(model[i].params["W"].T).clone()
        ref[i].bias.data = t(model[i].params["b"]).clone()
    return model, ref


OPTIMIZERS = {
    "sgd": (lambda m: optim.SGD(m, 0.1), lambda p: torch.optim.SGD(p, 0.1)),
    "momentum": (lambda m: optim.SGD(m, 0.1, momentum=0.9, weight_decay=0.01),
                 lambda p: torch.optim.SGD(p, 0.1, momentum=0.9, weight_decay=0.01)),
    "nesterov": (lambda m: optim.SGD(m, 0.05, momentum=0.8, nesterov=True),
                 lambda p: torch.optim.SGD(p, 0.05, momentum=0.8, nesterov=True)),
    "rmsprop": (lambda m: optim.RMSProp(m, 0.01), lambda p: torch.optim.RMSprop(p, 0.01)),
    "adam": (lambda m: optim.Adam(m, 0.01, weight_decay=0.001),
             lambda p: torch.optim.Adam(p, 0.01, weight_decay=0.001)),
}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_optimizer_matches_torch(name):
    rng = np.random.default_rng(2)
    model, ref = _model_pair(rng)
    mine, theirs = OPTIMIZERS[name]
    opt, opt_t = mine(model), theirs(ref.parameters())
    x, y = rng.standard_normal((8, 4)), rng.integers(0, 3, 8)
    for _ in range(5):
        _, dh = losses.softmax_cross_entropy(model(x), y)
        model.backward(dh)
        opt.step()
        opt_t.zero_grad()
        nn.functional.cross_entropy(ref(t(x)), torch.tensor(y)).backward()
        opt_t.step()
    np.testing.assert_allclose(model[0].params["W"], ref[0].weight.detach().numpy().T, rtol=1e-9, atol=1e-12,
                               err_msg=f"{name}: dlteach W after 5 steps vs torch")
    np.testing.assert_allclose(model[2].params["b"], ref[2].bias.detach().numpy(), rtol=1e-9, atol=1e-12)
