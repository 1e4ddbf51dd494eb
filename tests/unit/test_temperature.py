"""Lesson 06, temperature: dlteach.temperature and the temperature explorer over it.

The gradient (softmax(h / T) - y) / T against central differences and dlteach.losses; the slide's
claims (high T: flat and small gradients; low T: peaked and big gradients) over the T slider's
range; the entropy's slope; the widget over a grid of slider settings.
"""

import matplotlib.pyplot as plt
import numpy as np
import pytest
from cases import is_png

from dlteach import functional, losses, temperature
from dlteach.gradcheck import numerical_gradient, rel_error
from dlteach.widgets import overfitting as widgets

TEMPS = widgets.TEMPERATURES[::10]      # the T slider's range, coarsely
C = len(widgets.LOGITS)


@pytest.mark.parametrize("T", [0.1, 0.5, 1.0, 2.0, 10.0])
@pytest.mark.parametrize("true_class", [0, 2, 4])
def test_tempered_grad_is_softmax_minus_y_over_T_and_matches_losses(T, true_class):
    h = np.random.default_rng(0).normal(scale=2.0, size=5)
    g = temperature.tempered_grad(h, true_class, T)
    probe = h.copy()
    num = numerical_gradient(lambda: -functional.log_softmax(probe / T)[true_class], probe)
    assert rel_error(g, num) < 1e-7, f"mine {g} vs central differences {num}"
    _, dlogits = losses.softmax_cross_entropy(h[None, :], np.array([true_class]), temperature=T)
    np.testing.assert_allclose(g, dlogits[0], rtol=1e-12, atol=1e-15)
    assert abs(g.sum()) < 1e-12 / T                     # a - y sums to 0, whatever T


def test_tempered_softmax_limits_and_shift_invariance():
    h = widgets.LOGITS
    assert np.allclose(temperature.tempered_softmax(h, 1e4), np.full(C, 1 / C), atol=1e-4)       # T -> inf: uniform
    assert np.allclose(temperature.tempered_softmax(h, 1e-3), np.eye(C)[0], atol=1e-12)          # T -> 0: argmax
    assert np.allclose(temperature.tempered_softmax(h + 7.0, 0.3), temperature.tempered_softmax(h, 0.3),
                       rtol=1e-13, atol=0)
    assert np.all(np.isfinite(temperature.tempered_softmax(np.array([800.0, 0.0]), 0.01)))    # no overflow


def test_entropy_limits_and_zero_probabilities():
    assert temperature.entropy(np.array([1.0, 0.0, 0.0])) == 0.0
    assert temperature.entropy(np.full(4, 0.25)) == pytest.approx(np.log(4), rel=1e-15)
    with pytest.raises(ValueError, match="'a'"):
        temperature.entropy(np.array([1.5, -0.5]))
    with pytest.raises(ValueError, match="'T'"):
        temperature.tempered_softmax(np.zeros(3), 0.0)
    with pytest.raises(ValueError, match="'true_class'"):
        temperature.tempered_grad(np.zeros(3), 3, 1.0)
    with pytest.raises(ValueError, match="'temperatures'"):
        temperature.temperature_sweep(np.zeros(3), np.array([1.0, -1.0]), 0)


@pytest.mark.parametrize("T", [0.2, 1.0, 5.0])
def test_entropy_slope_is_the_variance_of_h_over_T_cubed(T):
    # H(T) = log Z - E_a[h] / T  =>  dH/dT = Var_a(h) / T^3 > 0: the lesson's derivation.
    h = widgets.LOGITS
    a = temperature.tempered_softmax(h, T)
    var = a @ h ** 2 - (a @ h) ** 2
    probe = np.array([T])
    num = numerical_gradient(lambda: float(temperature.entropy(temperature.tempered_softmax(h, probe[0]))), probe)
    assert rel_error(num, np.array([var / T ** 3])) < 1e-7


@pytest.mark.parametrize("true_class", range(C))
def test_slide_claims_hold_over_the_slider_range(true_class):
    sweep = temperature.temperature_sweep(widgets.LOGITS, widgets.TEMPERATURES, true_class)
    # High T: low peakiness (entropy up, the peak down); low T: high peakiness.
    assert np.all(np.diff(sweep["entropy"]) > 0)
    assert np.all(np.diff(sweep["peak"]) < 0)
    assert sweep["entropy"][-1] > 0.99 * np.log(C) and sweep["peak"][0] > 0.999
    # Low T: big gradients (for a label the net gets wrong); high T: small ones, whatever the label.
    assert np.all(np.diff(sweep["worst_grad_norm"]) < 0)
    assert np.all(sweep["grad_norm"] <= sweep["worst_grad_norm"] * (1 + 1e-12))
    assert sweep["worst_grad_norm"][0] > 20 and sweep["grad_norm"][-1] < 0.06
    if true_class != 0:   # not the argmax: the gradient grows without bound as T -> 0, like sqrt(2) / T
        assert sweep["grad_norm"][0] == pytest.approx(np.sqrt(2) / sweep["T"][0], rel=1e-6)


def test_temperature_view_is_consistent_for_every_slider_setting():
    for T in TEMPS:
        for c in range(C):
            view = temperature.temperature_view(widgets.LOGITS, float(T), c)
            assert view["a"].sum() == pytest.approx(1.0, abs=1e-12)
            assert 0 <= view["entropy"] <= np.log(C) + 1e-12
            assert view["grad_norm"] == pytest.approx(np.linalg.norm(view["grad"]), rel=1e-12)
            worst = max(np.linalg.norm(temperature.tempered_grad(widgets.LOGITS, k, float(T))) for k in range(C))
            assert view["worst_grad_norm"] == pytest.approx(worst, rel=1e-9)


def test_temperature_explorer_over_its_sliders():
    explorer = widgets.TemperatureExplorer()
    pictures = set()
    for T in TEMPS:
        for c in (0, 3):
            png = explorer.update(T=float(T), true_class=c)
            assert is_png(png)
            assert f"T = {float(T):.3g}" in explorer.caption
            pictures.add(png)
    assert len(pictures) == 2 * len(TEMPS)             # every setting draws a different picture


def test_temperature_overview_draws():
    fig = widgets.temperature_overview()
    assert len(fig.axes) == 5
    plt.close(fig)
