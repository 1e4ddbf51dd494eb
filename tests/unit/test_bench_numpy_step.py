"""bench/core.py's hand-written numpy MLP step, the floor it prints beside the library's step, must take
the same step as the library: otherwise the row would compare the products with a cheaper wrong step."""

import numpy as np

from bench import core
from dlteach import losses, optim


def test_the_hand_written_step_takes_the_library_s_steps():
    X, y, model = core.mlp_setup()
    Ws = [layer.params["W"].copy() for layer in model.layers[::2]]
    bs = [layer.params["b"].copy() for layer in model.layers[::2]]
    step = core.mlp_numpy_step(Ws, bs, X, y, lr=0.01, momentum=0.9)
    opt = optim.SGD(model, 0.01, momentum=0.9)
    for _ in range(3):                               # the third step depends on the velocity of the first two
        _, dh = losses.softmax_cross_entropy(model(X), y)
        model.backward(dh, input_grad=False)
        opt.step()
        step()
    start = core.mlp_setup()[2].layers[::2]
    for layer, first, W, b in zip(model.layers[::2], start, Ws, bs):
        assert np.abs(layer.params["W"] - first.params["W"]).max() > 1e-3   # moved: a no-op step would fail
        np.testing.assert_allclose(W, layer.params["W"], rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(b, layer.params["b"], rtol=1e-4, atol=1e-6)
