"""backward(dout, input_grad=False): the parameter gradients without d(loss)/d(input), for training,
where the data needs no gradient (as autograd skips an input that does not require one)."""

import numpy as np
import pytest

from dlteach import layers, losses


def models(rng):
    mlp = layers.Sequential(layers.Linear(6, 5, rng=rng), layers.ReLU(), layers.Linear(5, 3, rng=rng))
    cnn = layers.Sequential(layers.Conv2d(2, 3, 3, padding=1, rng=rng), layers.ReLU(), layers.Flatten(),
                            layers.Linear(3 * 4 * 4, 3, rng=rng))
    rnn = layers.Sequential(layers.Tanh(), layers.Linear(6, 3, rng=rng))     # first layer cannot skip
    return [(mlp, rng.standard_normal((4, 6))), (cnn, rng.standard_normal((4, 2, 4, 4))),
            (rnn, rng.standard_normal((4, 6)))]


@pytest.mark.parametrize("index", [0, 1, 2], ids=["mlp", "cnn", "tanh-first"])
def test_skipping_the_input_gradient_leaves_every_parameter_gradient_alone(index):
    model, x = models(np.random.default_rng(0))[index]
    y = np.array([0, 2, 1, 0])
    _, dlogits = losses.softmax_cross_entropy(model(x), y)
    dx = model.backward(dlogits)
    full = {name: g.copy() for name, g in model.grads.items()}
    assert dx.shape == x.shape
    model(x)
    assert model.backward(dlogits, input_grad=False) is None
    assert full.keys() == model.grads.keys()
    for name, g in model.grads.items():
        assert np.array_equal(g, full[name]), name


def test_linear_and_conv_return_none_without_the_input_gradient():
    rng = np.random.default_rng(1)
    lin = layers.Linear(4, 2, rng=rng)
    lin(rng.standard_normal((3, 4)))
    assert lin.backward(np.ones((3, 2)), input_grad=False) is None and lin.grads["W"].shape == (4, 2)
    conv = layers.Conv2d(1, 2, 3, rng=rng)
    conv(rng.standard_normal((2, 1, 5, 5)))
    assert conv.backward(np.ones((2, 2, 3, 3)), input_grad=False) is None and conv.grads["W"].shape == (2, 1, 3, 3)

