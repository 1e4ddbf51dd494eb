"""Every layer and loss: analytic gradients against central differences, in float64."""

import numpy as np
import pytest
from cases import LAYER_CASES, LOSS_CASES, layer_class_names

from dlteach import gradcheck, layers
from dlteach.base import Layer

TOL = 1e-7


def test_registry_covers_every_layer():
    exported = {name for name in layers.__all__
                if isinstance(getattr(layers, name), type) and issubclass(getattr(layers, name), Layer)
                and getattr(layers, name) is not Layer}
    covered = {layer_class_names(name) for name in LAYER_CASES}
    assert exported - covered == set(), f"layers without a gradient check in tests/unit/cases.py: {exported - covered}"


def check_parameters_only(layer, idx, rng, tol):
    """check_layer for a layer whose input is integer indices (Embedding): the parameters' gradients only."""
    out = layer.forward(idx)
    dout = rng.standard_normal(out.shape)

    def objective():
        return float(np.sum(layer.forward(idx) * dout))

    layer.forward(idx)
    assert layer.backward(dout) is None, "integer indices have no gradient"
    return {name: gradcheck.assert_close_gradient(g.copy(), gradcheck.numerical_gradient(objective, p),
                                                  f"gradient of '{name}'", tol)
            for name, p, g in layer.parameters()}


@pytest.mark.parametrize("name", sorted(LAYER_CASES))
def test_layer_gradients(name):
    rng = np.random.default_rng(7)
    make_layer, make_input = LAYER_CASES[name]
    layer = make_layer(rng)
    x = make_input(rng)
    if x.dtype.kind in "iu":
        errors = check_parameters_only(layer, x, rng, TOL)
        expected = {n for n, _, _ in layer.parameters()}
    else:
        errors = gradcheck.check_layer(layer, x, rng=rng, tol=TOL)
        expected = {"x"} | {n for n, _, _ in layer.parameters()}
    assert set(errors) == expected
    assert max(errors.values()) < TOL


@pytest.mark.parametrize("name", sorted(LOSS_CASES))
def test_loss_gradients(name):
    rng = np.random.default_rng(3)
    loss_fn, make_logits, make_target, kwargs = LOSS_CASES[name]
    err = gradcheck.check_loss(loss_fn, make_logits(rng), make_target(rng), tol=TOL, **kwargs)
    assert err < TOL


def test_check_layer_catches_a_wrong_backward():
    class WrongReLU(layers.ReLU):
        def backward(self, dout):
            return super().backward(dout) * 1.01

    x = np.array([[1.0, -2.0, 3.0]])
    with pytest.raises(AssertionError, match=r"gradient of 'x'.*worst entry"):
        gradcheck.check_layer(WrongReLU(), x)


def test_check_loss_catches_a_wrong_gradient():
    def bad_loss(h, y):
        return float((h ** 2).sum()), h      # the true gradient is 2h

    with pytest.raises(AssertionError, match=r"check_loss\(bad_loss\).*rel. error"):
        gradcheck.check_loss(bad_loss, np.ones((2, 2)), None)


def test_numerical_gradient_leaves_input_unchanged():
    x = np.linspace(-1, 1, 6).reshape(2, 3)
    before = x.copy()
    g = gradcheck.numerical_gradient(lambda: float(np.sum(np.sin(x))), x)
    assert np.array_equal(x, before)
    assert gradcheck.rel_error(g, np.cos(x)) < 1e-9


def test_numerical_gradient_restores_input_when_f_raises():
    x = np.ones(3)

    def boom():
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        gradcheck.numerical_gradient(boom, x)
    assert np.array_equal(x, np.ones(3))


def test_rel_error_is_scale_free():
    a = np.array([1.0, 2.0, 3.0])
    assert gradcheck.rel_error(a, a) == 0.0
    assert gradcheck.rel_error(a * 1e6, a * 1e6 * (1 + 1e-8)) == pytest.approx(gradcheck.rel_error(a, a * (1 + 1e-8)))
