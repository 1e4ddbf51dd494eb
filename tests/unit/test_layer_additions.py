"""Embedding, BatchNorm1d/2d, Conv2d and MaxPool2d with pairs, and the check of parameters replaced by arrays
of the wrong shape or dtype. Gradients: test_gradients.py (the registry in cases.py); PyTorch: here where the
registry cannot say it (running statistics over several batches, pairs, padding at ties)."""

import copy

import numpy as np
import pytest
from cases import LAYER_CASES, tied_windows

from dlteach import layers, losses, optim

# ------------------------------------------------------------------ Embedding

def test_embedding_looks_rows_up_and_adds_the_gradients_of_repeated_tokens():
    rng = np.random.default_rng(0)
    emb = layers.Embedding(5, 3, rng=rng)
    idx = np.array([[0, 2, 2], [4, 2, 0]])
    out = emb(idx)
    assert out.shape == (2, 3, 3)
    np.testing.assert_array_equal(out, emb.params["W"][idx])
    out[0, 0] = 99.0
    assert not (emb.params["W"] == 99.0).any(), "the output is a new array, not a view of the table"
    dout = rng.standard_normal(out.shape)
    assert emb.backward(dout) is None
    dW = emb.grads["W"]
    np.testing.assert_allclose(dW[2], dout[0, 1] + dout[0, 2] + dout[1, 1], rtol=1e-15)
    np.testing.assert_allclose(dW[0], dout[0, 0] + dout[1, 2], rtol=1e-15)
    assert np.array_equal(dW[[1, 3]], np.zeros((2, 3)))           # tokens not seen: no gradient


@pytest.mark.parametrize("V, shape", [(7, (6, 5)), (3000, (20, 20)), (5000, (8, 50))])
def test_embedding_gradient_adds_repeated_rows_whether_by_product_or_in_rounds(V, shape):
    """A small table sums by a one-hot product, a large one (V * N T > 2^20) in rounds: both are np.add.at."""
    rng = np.random.default_rng(V)
    emb = layers.Embedding(V, 4, rng=rng)
    idx = rng.integers(0, V // 50 + 3, shape)                   # few distinct tokens: many repeats
    idx[0, 0] = V - 1
    emb(idx)
    dout = rng.standard_normal(shape + (4,))
    emb.backward(dout)
    expected = np.zeros((V, 4))
    np.add.at(expected, idx.reshape(-1), dout.reshape(-1, 4))
    np.testing.assert_allclose(emb.grads["W"], expected, rtol=1e-13, atol=1e-14)


def test_embedding_is_a_one_hot_row_times_the_table():
    rng = np.random.default_rng(1)
    emb = layers.Embedding(6, 4, rng=rng)
    idx = rng.integers(0, 6, 10)
    one_hot = np.eye(6)[idx]                                      # (10, 6)
    np.testing.assert_allclose(emb(idx), one_hot @ emb.params["W"], rtol=1e-15)
    dout = rng.standard_normal((10, 4))
    emb.backward(dout)
    np.testing.assert_allclose(emb.grads["W"], one_hot.T @ dout, rtol=1e-13, atol=1e-15)


def test_embedding_first_in_a_sequential_trains():
    rng = np.random.default_rng(2)
    model = layers.Sequential(layers.Embedding(4, 3, rng=rng), layers.Flatten(), layers.Linear(6, 4, rng=rng))
    X, y = rng.integers(0, 4, (16, 2)), rng.integers(0, 4, 16)
    opt = optim.Adam(model, 0.05)
    first = losses.softmax_cross_entropy(model(X), y)[0]
    for _ in range(50):
        _, dh = losses.softmax_cross_entropy(model(X), y)
        assert model.backward(dh) is None                        # integer input: no gradient to return
        opt.step()
    assert losses.softmax_cross_entropy(model(X), y)[0] < first - 0.5


@pytest.mark.parametrize("idx, exc, pattern", [
    (np.array([0, 5]), ValueError, r"Embedding.forward: index 5 in 'idx' is out of range; expected 0 <= idx < 5"),
    (np.array([-1, 2]), ValueError, r"index -1 in 'idx' is out of range"),
    (np.array([0.0, 1.0]), TypeError, r"Embedding.forward: argument 'idx' must hold integer token indices, got dtype float64"),
    (np.zeros((0, 3), int), ValueError, r"Embedding.forward: argument 'idx' is empty"),
])
def test_embedding_errors(idx, exc, pattern):
    with pytest.raises(exc, match=pattern):
        layers.Embedding(5, 2, rng=np.random.default_rng(0))(idx)


# ------------------------------------------------------------------ BatchNorm

@pytest.mark.parametrize("cls, shape", [(layers.BatchNorm1d, (8, 3)), (layers.BatchNorm1d, (4, 3, 5)),
                                        (layers.BatchNorm2d, (4, 3, 5, 2))])
def test_batchnorm_normalises_each_channel_of_a_training_batch(cls, shape):
    rng = np.random.default_rng(3)
    bn = cls(3)
    x = rng.standard_normal(shape) * 5 + 3
    out = bn(x)
    axes = (0,) + tuple(range(2, len(shape)))
    np.testing.assert_allclose(out.mean(axis=axes), 0, atol=1e-12)
    np.testing.assert_allclose(out.var(axis=axes), 1, atol=1e-3)   # var / (var + eps)
    M = x.size // 3
    np.testing.assert_allclose(bn.running_mean, 0.1 * x.mean(axis=axes), rtol=1e-12)
    np.testing.assert_allclose(bn.running_var, 0.9 + 0.1 * x.var(axis=axes) * M / (M - 1), rtol=1e-12)


def test_batchnorm_eval_uses_the_running_statistics_and_is_an_affine_map():
    rng = np.random.default_rng(4)
    bn = layers.BatchNorm1d(2, momentum=0.5)
    for _ in range(5):
        bn(rng.standard_normal((10, 2)) * 3 - 1)
    bn.eval()
    x = rng.standard_normal((3, 2))
    expected = (x - bn.running_mean) / np.sqrt(bn.running_var + bn.eps) * bn.params["gamma"] + bn.params["beta"]
    mean, var = bn.running_mean.copy(), bn.running_var.copy()
    np.testing.assert_allclose(bn(x), expected, rtol=1e-14)
    np.testing.assert_allclose(bn(x[:1]), expected[:1], rtol=1e-14)          # one example is fine in eval
    assert np.array_equal(bn.running_mean, mean) and np.array_equal(bn.running_var, var)


def test_batchnorm_running_statistics_match_torch_over_several_batches():
    torch = pytest.importorskip("torch", reason="PyTorch is not installed")
    rng = np.random.default_rng(5)
    for cls, shape in ((layers.BatchNorm1d, (6, 4, 3)), (layers.BatchNorm2d, (3, 4, 5, 2))):
        bn = cls(4, momentum=0.3, eps=1e-3)
        ref = getattr(torch.nn, cls.__name__)(4, momentum=0.3, eps=1e-3).double()
        for _ in range(4):
            x = rng.standard_normal(shape) * 2 + 1
            np.testing.assert_allclose(bn(x), ref(torch.tensor(x)).detach().numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(bn.running_mean, ref.running_mean.numpy(), rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(bn.running_var, ref.running_var.numpy(), rtol=1e-12)
        x = rng.standard_normal(shape)
        np.testing.assert_allclose(bn.eval()(x), ref.eval()(torch.tensor(x)).detach().numpy(), rtol=1e-10, atol=1e-12)


def test_batchnorm_float32_stays_float32_and_errors():
    rng = np.random.default_rng(6)
    bn = layers.BatchNorm2d(3, dtype=np.float32)
    x = rng.standard_normal((2, 3, 4, 4), dtype=np.float32)
    out = bn(x)
    assert out.dtype == np.float32 and bn.backward(np.ones_like(out)).dtype == np.float32
    with pytest.raises(ValueError, match=r"BatchNorm1d.forward: argument 'x' has 1 value per channel"):
        layers.BatchNorm1d(3)(np.ones((1, 3)))
    with pytest.raises(ValueError, match=r"BatchNorm2d.forward: argument 'x' has 2 features .*expected C = 3"):
        bn(np.ones((2, 2, 4, 4), np.float32))
    with pytest.raises(ValueError, match=r"BatchNorm2d.forward: argument 'x' must be 4-D"):
        bn(np.ones((2, 3), np.float32))
    with pytest.raises(ValueError, match=r"BatchNorm1d: argument 'momentum' must satisfy 0 <= momentum <= 1"):
        layers.BatchNorm1d(3, momentum=1.5)


# ------------------------------------------------------------------ Conv2d and MaxPool2d with pairs

def test_kernel_padding_and_stride_pairs_give_the_output_size_of_each_axis():
    """d2l.ai 7.3 on an 8 x 8 input: kernel (5, 3) with padding (2, 1) keeps 8 x 8; kernel (3, 5), padding
    (0, 1), stride (3, 4) gives 2 x 2; and kernel (5, 3), padding (2, 1), stride (3, 4) gives
    ((8 + 4 - 5) // 3 + 1, (8 + 2 - 3) // 4 + 1) = (3, 2). repr keeps the pairs; an int stays an int."""
    rng = np.random.default_rng(7)
    x = rng.standard_normal((1, 1, 8, 8))
    assert layers.Conv2d(1, 1, (5, 3), padding=(2, 1), rng=rng)(x).shape == (1, 1, 8, 8)
    assert layers.Conv2d(1, 1, (3, 5), padding=(0, 1), stride=(3, 4), rng=rng)(x).shape == (1, 1, 2, 2)
    conv = layers.Conv2d(1, 1, (5, 3), padding=(2, 1), stride=(3, 4), rng=rng)
    assert conv(x).shape == (1, 1, 3, 2)
    assert conv.params["W"].shape == (1, 1, 5, 3)
    assert repr(conv) == "Conv2d(1, 1, kernel_size=(5, 3), stride=(3, 4), padding=(2, 1))"
    assert repr(layers.Conv2d(2, 3, 3, padding=1, rng=rng)) == "Conv2d(2, 3, kernel_size=3, stride=1, padding=1)"
    assert repr(layers.MaxPool2d(2)) == "MaxPool2d(kernel_size=2, stride=2)"
    assert repr(layers.MaxPool2d((3, 2), padding=1)) == "MaxPool2d(kernel_size=(3, 2), stride=(3, 2), padding=1)"


@pytest.mark.parametrize("kernel, stride, padding, shape", [
    ((5, 3), (3, 4), (2, 1), (2, 3, 17, 19)), (3, (2, 1), (1, 0), (2, 2, 9, 8)), ((1, 2), (1, 2), 0, (3, 2, 4, 6)),
    (2, 1, (0, 1), (2, 2, 5, 5)), (4, 2, 3, (1, 2, 6, 7)),
])
def test_conv2d_with_pairs_matches_torch(kernel, stride, padding, shape):
    torch = pytest.importorskip("torch", reason="PyTorch is not installed")
    rng = np.random.default_rng(8)
    conv = layers.Conv2d(shape[1], 4, kernel, stride=stride, padding=padding, rng=rng)
    conv.params["b"][:] = rng.standard_normal(4)
    x = rng.standard_normal(shape)
    out = conv(x)
    dout = rng.standard_normal(out.shape)
    dx = conv.backward(dout)
    ref = torch.nn.Conv2d(shape[1], 4, kernel, stride=stride, padding=padding).double()
    ref.weight.data, ref.bias.data = torch.tensor(conv.params["W"]), torch.tensor(conv.params["b"])
    xt = torch.tensor(x, requires_grad=True)
    out_t = ref(xt)
    out_t.backward(torch.tensor(dout))
    close = dict(rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(out, out_t.detach().numpy(), **close)
    np.testing.assert_allclose(dx, xt.grad.numpy(), **close)
    np.testing.assert_allclose(conv.grads["W"], ref.weight.grad.numpy(), **close)
    np.testing.assert_allclose(conv.grads["b"], ref.bias.grad.numpy(), **close)


@pytest.mark.parametrize("kernel, stride, padding", [((3, 2), (2, 1), (1, 1)), (2, 2, 1), (3, 1, 1), ((2, 4), None, (1, 2))])
def test_maxpool_with_padding_matches_torch_even_where_windows_tie(kernel, stride, padding):
    torch = pytest.importorskip("torch", reason="PyTorch is not installed")
    rng = np.random.default_rng(9)
    x = rng.integers(-2, 1, size=(2, 3, 8, 7)).astype(np.float64)    # all <= 0: padding must never win
    pool = layers.MaxPool2d(kernel, stride, padding)
    out = pool(x)
    dout = rng.standard_normal(out.shape)
    xt = torch.tensor(x, requires_grad=True)
    out_t = torch.nn.MaxPool2d(kernel, stride, padding)(xt)
    out_t.backward(torch.tensor(dout))
    np.testing.assert_array_equal(out, out_t.detach().numpy())
    np.testing.assert_allclose(pool.backward(dout), xt.grad.numpy(), rtol=1e-12, atol=1e-15)
    assert tied_windows(x, 2, 2) > 0.4


def test_pair_arguments_are_checked():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match=r"Conv2d: argument 'kernel_size' is \(3, 3, 3\); expected an int or a pair"):
        layers.Conv2d(1, 1, (3, 3, 3), rng=rng)
    with pytest.raises(ValueError, match=r"Conv2d: argument 'stride' must be > 0, got 0"):
        layers.Conv2d(1, 1, 3, stride=(1, 0), rng=rng)
    with pytest.raises(ValueError, match=r"MaxPool2d: argument 'padding' is 2; expected at most half the kernel"):
        layers.MaxPool2d(3, padding=2)
    with pytest.raises(ValueError, match=r"Conv2d.forward: kernel_size \(5, 3\) is larger than the padded input 4x8"):
        layers.Conv2d(1, 1, (5, 3), rng=rng)(np.ones((1, 1, 4, 8)))


# ------------------------------------------------------------------ parameters replaced by wrong arrays

def _layers_with_parameters():
    rng = np.random.default_rng(10)
    found = {}
    for name, (make_layer, make_input) in LAYER_CASES.items():
        layer = make_layer(rng)
        if layer.params and not isinstance(layer, layers.Sequential):
            found.setdefault(type(layer).__name__, (layer, make_input(rng)))
    return found


WITH_PARAMETERS = _layers_with_parameters()


@pytest.mark.parametrize("kind", sorted(WITH_PARAMETERS))
def test_a_parameter_of_the_wrong_shape_or_dtype_is_named_at_the_next_forward(kind):
    layer, x = WITH_PARAMETERS[kind]
    layer = copy.deepcopy(layer)
    layer.forward(x)
    for name, p in list(layer.params.items()):
        layer.params[name] = np.zeros(1)                           # e.g. a (1,) bias
        shape = str(p.shape).replace("(", r"\(").replace(")", r"\)")
        with pytest.raises(ValueError, match=rf"{kind}.forward: parameter '{name}' has shape \(1,\); expected {shape}"):
            layer.forward(x)
        layer.params[name] = p.astype(np.float32)
        with pytest.raises(TypeError, match=rf"{kind}.forward: parameter '{name}' has dtype float32; expected float64"):
            layer.forward(x)
        layer.params[name] = p.tolist()
        with pytest.raises(TypeError, match=rf"{kind}.forward: parameter '{name}' is a list; expected a numpy array"):
            layer.forward(x)
        del layer.params[name]
        with pytest.raises(KeyError, match=rf"{kind}.forward: parameter '{name}' is missing from params"):
            layer.forward(x)
        layer.params[name] = p
    layer.params["extra"] = np.zeros(2)
    with pytest.raises(KeyError, match=rf"{kind}.forward: params has the unknown key\(s\) \['extra'\]"):
        layer.forward(x)
    del layer.params["extra"]
    layer.params[name][...] = 0.5                                  # writing into the array is the way
    layer.forward(x)


def test_a_wrong_parameter_inside_a_sequential_names_its_layer():
    rng = np.random.default_rng(11)
    model = layers.Sequential(layers.Linear(4, 3, rng=rng), layers.ReLU(), layers.Linear(3, 2, rng=rng))
    model[2].params["b"] = np.zeros(1)
    with pytest.raises(ValueError, match=r"Linear.forward: parameter 'b' has shape \(1,\); expected \(2,\) "
                                         r"\(the shape Linear\(3, 2\) was built with\)"):
        model(np.ones((5, 4)))
