"""Lesson 06, adversarial examples: dlteach.adversarial and the FGSM explorer over it.

The input gradient against central differences and PyTorch; FGSM's budget and its effect on the
loss, on single digits and on the test set, against random signs of the same size; the widget
over a grid of slider settings.
"""

import functools

import matplotlib.pyplot as plt
import numpy as np
import pytest
from cases import is_png

from dlteach import adversarial, layers, losses, train
from dlteach.gradcheck import numerical_gradient, rel_error
from dlteach.widgets import overfitting as widgets


@functools.lru_cache(maxsize=1)
def classifier():
    return adversarial.train_digits_classifier(epochs=10)


def test_classifier_architectures_share_the_split():
    deep = adversarial.train_digits_classifier(hidden=(16, 8), epochs=1)
    linear_layers = [layer for layer in deep["model"].layers if isinstance(layer, layers.Linear)]
    assert [(l.in_features, l.out_features) for l in linear_layers] == [(64, 16), (16, 8), (8, 10)]
    np.testing.assert_array_equal(deep["y_test"], classifier()["y_test"])
    with pytest.raises(ValueError, match="'hidden'"):
        adversarial.train_digits_classifier(hidden=(), epochs=1)
    with pytest.raises(ValueError, match="'hidden'"):
        adversarial.train_digits_classifier(hidden=0, epochs=1)


def test_input_gradient_matches_central_differences():
    clf = classifier()
    X, y = clf["X_test"][:3].copy(), clf["y_test"][:3]
    g = adversarial.input_gradient(clf["model"], X, y)
    num = numerical_gradient(lambda: 3 * losses.softmax_cross_entropy(clf["model"](X), y)[0], X)
    assert rel_error(g, num) < 1e-7


def test_input_gradient_matches_pytorch():
    torch = pytest.importorskip("torch", reason="PyTorch is not installed")
    clf = classifier()
    X, y = clf["X_test"][:8], clf["y_test"][:8]
    first, last = clf["model"][0], clf["model"][2]
    xt = torch.tensor(X, dtype=torch.float64, requires_grad=True)
    W1, b1, W2, b2 = (torch.tensor(p, dtype=torch.float64) for p in
                      (first.params["W"], first.params["b"], last.params["W"], last.params["b"]))
    logits = torch.relu(xt @ W1 + b1) @ W2 + b2
    torch.nn.functional.cross_entropy(logits, torch.tensor(y), reduction="sum").backward()
    theirs = xt.grad.numpy()
    mine = adversarial.input_gradient(clf["model"], X, y)
    assert rel_error(mine, theirs) < 1e-10, f"mine {mine[0, :4]} vs torch {theirs[0, :4]}"


def test_fgsm_moves_every_pixel_by_at_most_eps_and_raises_the_loss():
    clf = classifier()
    model, X, y = clf["model"], clf["X_test"][:50], clf["y_test"][:50]
    assert clf["test_acc"] > 0.93
    for eps in (0.0, 0.05, 0.1, 0.2):
        X_adv = adversarial.fgsm(model, X, y, eps)
        assert np.abs(X_adv - X).max() <= eps + 1e-15 and X_adv.min() >= 0 and X_adv.max() <= 1
        if eps:
            before = losses.softmax_cross_entropy(train.predict(model, X), y)[0]
            assert losses.softmax_cross_entropy(train.predict(model, X_adv), y)[0] > before
    acc = adversarial.accuracy_under_attack(model, X, y, np.array([0.0, 0.1, 0.3]))
    assert acc[0] > 0.9 and acc[2] < 0.2 and np.all(np.diff(acc) <= 0)


def test_fgsm_is_the_first_order_best_step():
    # Unclipped, L(x + eps sign(g)) - L(x) ~ eps ||g||_1, the largest first-order rise with |delta_i| <= eps.
    clf = classifier()
    x, label = clf["X_test"][:1], clf["y_test"][:1]
    g = adversarial.input_gradient(clf["model"], x, label)[0]
    eps = 1e-4
    x_adv = adversarial.fgsm(clf["model"], x, label, eps, low=-np.inf, high=np.inf)
    rise = (losses.softmax_cross_entropy(train.predict(clf["model"], x_adv), label)[0]
            - losses.softmax_cross_entropy(train.predict(clf["model"], x), label)[0])
    assert rise == pytest.approx(eps * np.abs(g).sum(), rel=1e-2)


def test_random_signs_of_the_same_size_do_far_less():
    clf = classifier()
    model, X, y = clf["model"], clf["X_test"], clf["y_test"]
    eps = np.array([0.0, 0.05, 0.1, 0.2])
    attack = adversarial.accuracy_under_attack(model, X, y, eps)
    noise = adversarial.accuracy_under_noise(model, X, y, eps, np.random.default_rng(0))
    assert noise[0] == attack[0] == pytest.approx(clf["test_acc"])
    assert np.all(noise[1:] > attack[1:] + 0.1) and noise[-1] > 0.8
    with pytest.raises(TypeError, match="'rng'"):
        adversarial.accuracy_under_noise(model, X, y, eps, 0)


def test_smallest_flip_eps_really_flips():
    clf = classifier()
    eps_grid = np.linspace(0.01, 0.3, 30)
    for i in range(5):
        x, label = clf["X_test"][i], clf["y_test"][i]
        eps = adversarial.smallest_flip_eps(clf["model"], x, label, eps_grid)
        assert eps is not None
        assert adversarial.fgsm_view(clf["model"], x, label, eps)["flipped"]
        below = eps_grid[eps_grid < eps]
        assert all(not adversarial.fgsm_view(clf["model"], x, label, float(e))["flipped"] for e in below)
    with pytest.raises(ValueError, match="increasing"):
        adversarial.smallest_flip_eps(clf["model"], clf["X_test"][0], clf["y_test"][0], np.array([0.2, 0.1]))


def test_attack_explorer_over_its_sliders():
    clf = classifier()
    explorer = widgets.AttackExplorer(clf)
    for index in (0, 5, len(clf["y_test"]) - 1):
        for eps in np.linspace(0.0, widgets.EPS_MAX, 4):
            assert is_png(explorer.update(index=index, eps=float(eps)))
            view = adversarial.fgsm_view(clf["model"], clf["X_test"][index], clf["y_test"][index], float(eps))
            assert ("flipped!" in explorer.caption) == view["flipped"]
            assert view["linf"] <= eps + 1e-15


def test_attack_overview_draws():
    fig = widgets.attack_overview(classifier(), [0, 1], 0.1)
    assert len(fig.axes) == 8
    plt.close(fig)
