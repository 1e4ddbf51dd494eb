"""Lesson 06's experiments (dlteach.experiments.temperature_overfitting).

Lesson 06, temperature: dlteach.experiments.temperature_overfitting and the temperature explorer over it.

The gradient (softmax(h / T) - y) / T against central differences and dlteach.losses; the slide's
claims (high T: flat and small gradients; low T: peaked and big gradients) over the T slider's
range; the entropy's slope; the widget over a grid of slider settings.

Lesson 06, overfitting: dlteach.experiments.temperature_overfitting and the overfitting explorer over it.

J = L + lambda/2 ||w||^2 and its gradient against central differences; the batched grid against the
library's layers and optim.SGD; the training design; overfitting and its cures on a small grid;
early stopping (on a curve and as a train.fit callback); the widget over a grid of slider settings.

Lesson 06, adversarial examples: dlteach.experiments.temperature_overfitting and the FGSM explorer over it.

The input gradient against central differences and PyTorch; FGSM's budget and its effect on the
loss, on single digits and on the test set, against random signs of the same size; the widget
over a grid of slider settings.
"""

import functools

import matplotlib.pyplot as plt
import numpy as np
import pytest
from cases import is_png

from dlteach import functional, layers, losses, optim, train
from dlteach.experiments import temperature_overfitting
from dlteach.gradcheck import numerical_gradient, rel_error
from dlteach.widgets import temperature_overfitting as widgets

TEMPS = widgets.TEMPERATURES[::10]      # the T slider's range, coarsely
C = len(widgets.LOGITS)


@pytest.mark.parametrize("T", [0.1, 0.5, 1.0, 2.0, 10.0])
@pytest.mark.parametrize("true_class", [0, 2, 4])
def test_tempered_grad_is_softmax_minus_y_over_T_and_matches_losses(T, true_class):
    h = np.random.default_rng(0).normal(scale=2.0, size=5)
    g = temperature_overfitting.tempered_grad(h, true_class, T)
    probe = h.copy()
    num = numerical_gradient(lambda: -functional.log_softmax(probe / T)[true_class], probe)
    assert rel_error(g, num) < 1e-7, f"mine {g} vs central differences {num}"
    _, dlogits = losses.softmax_cross_entropy(h[None, :], np.array([true_class]), temperature=T)
    np.testing.assert_allclose(g, dlogits[0], rtol=1e-12, atol=1e-15)
    assert abs(g.sum()) < 1e-12 / T                     # a - y sums to 0, whatever T


def test_tempered_softmax_limits_and_shift_invariance():
    h = widgets.LOGITS
    assert np.allclose(temperature_overfitting.tempered_softmax(h, 1e4), np.full(C, 1 / C), atol=1e-4)       # T -> inf: uniform
    assert np.allclose(temperature_overfitting.tempered_softmax(h, 1e-3), np.eye(C)[0], atol=1e-12)          # T -> 0: argmax
    assert np.allclose(temperature_overfitting.tempered_softmax(h + 7.0, 0.3), temperature_overfitting.tempered_softmax(h, 0.3),
                       rtol=1e-13, atol=0)
    assert np.all(np.isfinite(temperature_overfitting.tempered_softmax(np.array([800.0, 0.0]), 0.01)))    # no overflow


def test_entropy_limits_and_zero_probabilities():
    assert temperature_overfitting.entropy(np.array([1.0, 0.0, 0.0])) == 0.0
    assert temperature_overfitting.entropy(np.full(4, 0.25)) == pytest.approx(np.log(4), rel=1e-15)
    with pytest.raises(ValueError, match="'a'"):
        temperature_overfitting.entropy(np.array([1.5, -0.5]))
    with pytest.raises(ValueError, match="'T'"):
        temperature_overfitting.tempered_softmax(np.zeros(3), 0.0)
    with pytest.raises(ValueError, match="'true_class'"):
        temperature_overfitting.tempered_grad(np.zeros(3), 3, 1.0)
    with pytest.raises(ValueError, match="'temperatures'"):
        temperature_overfitting.temperature_sweep(np.zeros(3), np.array([1.0, -1.0]), 0)


@pytest.mark.parametrize("T", [0.2, 1.0, 5.0])
def test_entropy_slope_is_the_variance_of_h_over_T_cubed(T):
    # H(T) = log Z - E_a[h] / T  =>  dH/dT = Var_a(h) / T^3 > 0: the lesson's derivation.
    h = widgets.LOGITS
    a = temperature_overfitting.tempered_softmax(h, T)
    var = a @ h ** 2 - (a @ h) ** 2
    probe = np.array([T])
    num = numerical_gradient(lambda: float(temperature_overfitting.entropy(temperature_overfitting.tempered_softmax(h, probe[0]))), probe)
    assert rel_error(num, np.array([var / T ** 3])) < 1e-7


@pytest.mark.parametrize("true_class", range(C))
def test_slide_claims_hold_over_the_slider_range(true_class):
    sweep = temperature_overfitting.temperature_sweep(widgets.LOGITS, widgets.TEMPERATURES, true_class)
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
            view = temperature_overfitting.temperature_view(widgets.LOGITS, float(T), c)
            assert view["a"].sum() == pytest.approx(1.0, abs=1e-12)
            assert 0 <= view["entropy"] <= np.log(C) + 1e-12
            assert view["grad_norm"] == pytest.approx(np.linalg.norm(view["grad"]), rel=1e-12)
            worst = max(np.linalg.norm(temperature_overfitting.tempered_grad(widgets.LOGITS, k, float(T))) for k in range(C))
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



def test_penalized_mse_gradient_matches_central_differences():
    model = temperature_overfitting.make_network(4, np.random.default_rng(0))
    x, y = temperature_overfitting.noisy_points(6, np.random.default_rng(1))
    lam = 0.03
    J, L, grads = temperature_overfitting.penalized_mse(model, x, y, lam)
    w2 = sum(float(np.vdot(p, p)) for _, p, _ in model.parameters())
    assert J == pytest.approx(L + lam / 2 * w2, rel=1e-14)
    assert L == pytest.approx(losses.mse(model(x), y)[0], rel=1e-14)
    for name, p, _ in model.parameters():
        num = numerical_gradient(lambda: temperature_overfitting.penalized_mse(model, x, y, lam)[0], p)
        assert rel_error(grads[name], num) < 1e-7, f"{name}: mine {grads[name]} vs numerical {num}"


def test_weight_penalty_is_what_optim_sgd_adds():
    model = temperature_overfitting.make_network(3, np.random.default_rng(2))
    lam, lr = 0.1, 0.5
    R, dR = temperature_overfitting.weight_penalty(model, lam)
    assert R == pytest.approx(lam / 2 * sum(float(np.vdot(p, p)) for _, p, _ in model.parameters()), rel=1e-14)
    before = {name: p.copy() for name, p, _ in model.parameters()}
    for layer in model.layers:                  # a zero data gradient: the step is the decay alone
        for name in layer.params:
            layer.grads[name] = np.zeros_like(layer.params[name])
    optim.SGD(model, lr, weight_decay=lam).step()
    for name, p, _ in model.parameters():
        np.testing.assert_allclose(p, before[name] - lr * dR[name], rtol=1e-14, atol=1e-15)
        np.testing.assert_allclose(p, (1 - lr * lam) * before[name], rtol=1e-14, atol=1e-15)
    with pytest.raises(ValueError, match="'weight_decay'"):
        temperature_overfitting.weight_penalty(model, -1.0)


@pytest.mark.parametrize("hidden,n,lam", [(3, 5, 0.0), (7, 12, 1e-2), (20, 8, 1e-3)])
def test_batched_grid_is_the_library_network_trained_by_sgd(hidden, n, lam):
    steps = 60
    grid = temperature_overfitting.train_grid([hidden], [n, 15], [0.0, lam], steps=steps, record_every=steps, seed=3)
    model = temperature_overfitting.grid_network(hidden, seed=3)
    x, y = grid["x_train"][:n], grid["y_train"][:n]
    opt = optim.SGD(model, lr=grid["lr"], momentum=grid["momentum"], weight_decay=lam)
    for _ in range(steps):
        _, dout = losses.mse(model(x), y)
        model.backward(dout)
        opt.step()
    fit = model(grid["x_grid"][:, None])[:, 0]
    np.testing.assert_allclose(grid["fit"][0, 0, 1, -1], fit, rtol=0, atol=1e-10)
    assert grid["train_loss"][0, 0, 1, -1] == pytest.approx(losses.mse(model(x), y)[0], rel=1e-9)
    val = losses.mse(model(grid["x_val"]), grid["y_val"])[0]
    assert grid["val_loss"][0, 0, 1, -1] == pytest.approx(val, rel=1e-9)
    norm = np.sqrt(sum(float(np.vdot(p, p)) for _, p, _ in model.parameters()))
    assert grid["weight_norm"][0, 0, 1, -1] == pytest.approx(norm, rel=1e-9)


def test_training_points_cover_the_interval_in_every_prefix():
    x, y = temperature_overfitting.training_points(40, np.random.default_rng(5))
    assert x.shape == y.shape == (40, 1) and x.min() >= -1 and x.max() < 1
    for k in range(2, 41):
        u = np.sort((x[:k, 0] + 1) / 2)                              # the first k points, on [0, 1)
        gaps = np.diff(np.concatenate([u, [u[0] + 1]]))              # around the circle: the design wraps
        assert gaps.max() <= 3 / k, f"the first {k} points leave a gap of {gaps.max():.3f} > 3/k"
    noise = y[:, 0] - np.sin(np.pi * x[:, 0])
    assert 0.15 < noise.std() < 0.35                                  # NOISE = 0.25
    np.testing.assert_array_equal(x, temperature_overfitting.training_points(40, np.random.default_rng(5))[0])


@functools.lru_cache(maxsize=1)
def small_grid():
    return temperature_overfitting.train_grid([2, 20], [5, 40], [0.0, 3e-3], steps=400)


def test_grid_shows_overfitting_and_its_cures():
    g = small_grid()
    final_train, final_val = g["train_loss"][..., -1], g["val_loss"][..., -1]
    assert g["train_loss"].shape == (2, 2, 2, 21) and g["fit"].shape == (2, 2, 2, 21, 80)
    # The big network on 5 points: training loss near 0, validation far above it (overfitting) ...
    assert final_train[1, 0, 0] < 0.01 and final_val[1, 0, 0] > 5 * final_train[1, 0, 0]
    # ... less so with more data, and weight decay keeps its weights smaller.
    assert final_val[1, 1, 0] < final_val[1, 0, 0]
    assert g["weight_norm"][1, 0, 1, -1] < g["weight_norm"][1, 0, 0, -1]
    # Early stopping keeps the best record it has seen, and it has seen `patience` records past it
    # (or the end): it can stop too early, which is why patience is a setting.
    for idx in np.ndindex(final_val.shape):
        val = g["val_loss"][idx]
        stop = temperature_overfitting.early_stop_step(val, 5)
        seen = min(stop + 6, len(val))
        assert val[stop] == val[:seen].min() and (seen == len(val) or np.all(val[stop + 1:seen] >= val[stop]))


def test_capacity_curve_reads_the_grid():
    g = small_grid()
    curve = temperature_overfitting.capacity_curve(g, 5, 0.0, patience=5)
    np.testing.assert_array_equal(curve["hidden"], [2, 20])
    for i, h in enumerate((2, 20)):
        view = temperature_overfitting.grid_view(g, h, 5, 0.0, patience=5)
        assert curve["train_loss"][i] == view["train_loss"][-1] and curve["val_loss"][i] == view["val_loss"][-1]
        assert curve["stopped_val_loss"][i] == view["val_loss"][view["stop"]] <= view["val_loss"][0]


def test_early_stop_step_waits_for_patience():
    curve = np.array([5.0, 4.0, 3.0, 3.5, 3.2, 2.9, 3.0, 3.1, 3.2, 1.0])
    assert temperature_overfitting.early_stop_step(curve, 2) == 2        # 3.5, 3.2: two records without a new best
    assert temperature_overfitting.early_stop_step(curve, 3) == 5
    assert temperature_overfitting.early_stop_step(curve, 5) == 9
    with pytest.raises(ValueError, match="'hidden'"):
        temperature_overfitting.grid_view(small_grid(), 7, 5, 0.0)
    with pytest.raises(ValueError, match="'patience'"):
        temperature_overfitting.early_stop_step(curve, 0)


def test_early_stopping_callback_restores_the_best_weights():
    rng = np.random.default_rng(0)
    model = temperature_overfitting.make_network(30, rng)
    x, y = temperature_overfitting.training_points(8, rng)
    xv, yv = temperature_overfitting.noisy_points(50, rng)
    stopper = temperature_overfitting.EarlyStopping(model, patience=20)
    history = train.fit(model, losses.mse, optim.SGD(model, lr=0.05, momentum=0.5), (x, y), 2000,
                        batch_size=8, val_data=(xv, yv), progress=False, callback=stopper)
    assert len(history["val_loss"]) == stopper.best_epoch + 21 < 2000
    stopper.restore()
    assert train.evaluate(model, losses.mse, (xv, yv))[0] == pytest.approx(min(history["val_loss"]), rel=1e-12)
    with pytest.raises(RuntimeError, match="restore"):
        temperature_overfitting.EarlyStopping(model, patience=3).restore()


def test_overfit_explorer_over_its_sliders():
    grid = small_grid()
    explorer = widgets.OverfitExplorer(grid)
    for hidden in grid["hidden_sizes"]:
        for n in grid["train_sizes"]:
            for lam in grid["weight_decays"]:
                for step in (0, 200, 400):
                    assert is_png(explorer.update(hidden, n, lam, step))
                    view = temperature_overfitting.grid_view(grid, hidden, n, lam, step, patience=widgets.PATIENCE)
                    assert f"training loss {view['train_loss'][view['record']]:.4f}" in explorer.caption
                    assert f"keeps step {view['step'][view['stop']]}:" in explorer.caption


def test_overfit_overview_draws():
    fig = widgets.overfit_overview([(2, 5, 0.0), (20, 40, 3e-3)], grid=small_grid())
    assert len(fig.axes) == 4
    plt.close(fig)



@functools.lru_cache(maxsize=1)
def classifier():
    return temperature_overfitting.train_digits_classifier(epochs=10)


def test_classifier_architectures_share_the_split():
    deep = temperature_overfitting.train_digits_classifier(hidden=(16, 8), epochs=1)
    linear_layers = [layer for layer in deep["model"].layers if isinstance(layer, layers.Linear)]
    assert [(l.in_features, l.out_features) for l in linear_layers] == [(64, 16), (16, 8), (8, 10)]
    np.testing.assert_array_equal(deep["y_test"], classifier()["y_test"])
    with pytest.raises(ValueError, match="'hidden'"):
        temperature_overfitting.train_digits_classifier(hidden=(), epochs=1)
    with pytest.raises(ValueError, match="'hidden'"):
        temperature_overfitting.train_digits_classifier(hidden=0, epochs=1)



def test_width_beats_depth_over_seeds_as_lesson_06_says():
    """Lesson 06, section 3: over seeds 0 to 7 a second layer of 64 changes the held-out accuracy by
    -0.4 to +1.6 points, widening 8 -> 64 gains 3.8 to 23 points, always more than depth."""
    wider, deeper = [], []
    for seed in range(8):
        acc = {h: temperature_overfitting.train_digits_classifier(hidden=h, seed=seed)["test_acc"]
               for h in ((8,), (64,), (64, 64))}
        wider.append(acc[(64,)] - acc[(8,)])
        deeper.append(acc[(64, 64)] - acc[(64,)])
    wider, deeper = np.array(wider), np.array(deeper)
    assert -0.01 < deeper.min() < 0 < deeper.max() < 0.02, f"second layer: {np.round(100 * deeper, 1)} points"
    assert 0.03 < wider.min() and wider.max() > 0.2, f"8 -> 64 units: {np.round(100 * wider, 1)} points"
    assert np.all(wider > deeper)

def test_input_gradient_matches_central_differences():
    clf = classifier()
    X, y = clf["X_test"][:3].copy(), clf["y_test"][:3]
    g = temperature_overfitting.input_gradient(clf["model"], X, y)
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
    mine = temperature_overfitting.input_gradient(clf["model"], X, y)
    assert rel_error(mine, theirs) < 1e-10, f"mine {mine[0, :4]} vs torch {theirs[0, :4]}"


def test_fgsm_moves_every_pixel_by_at_most_eps_and_raises_the_loss():
    clf = classifier()
    model, X, y = clf["model"], clf["X_test"][:50], clf["y_test"][:50]
    assert clf["test_acc"] > 0.93
    for eps in (0.0, 0.05, 0.1, 0.2):
        X_adv = temperature_overfitting.fgsm(model, X, y, eps)
        assert np.abs(X_adv - X).max() <= eps + 1e-15 and X_adv.min() >= 0 and X_adv.max() <= 1
        if eps:
            before = losses.softmax_cross_entropy(train.predict(model, X), y)[0]
            assert losses.softmax_cross_entropy(train.predict(model, X_adv), y)[0] > before
    acc = temperature_overfitting.accuracy_under_attack(model, X, y, np.array([0.0, 0.1, 0.3]))
    assert acc[0] > 0.9 and acc[2] < 0.2 and np.all(np.diff(acc) <= 0)


def test_fgsm_is_the_first_order_best_step():
    # Unclipped, L(x + eps sign(g)) - L(x) ~ eps ||g||_1, the largest first-order rise with |delta_i| <= eps.
    clf = classifier()
    x, label = clf["X_test"][:1], clf["y_test"][:1]
    g = temperature_overfitting.input_gradient(clf["model"], x, label)[0]
    eps = 1e-4
    x_adv = temperature_overfitting.fgsm(clf["model"], x, label, eps, low=-np.inf, high=np.inf)
    rise = (losses.softmax_cross_entropy(train.predict(clf["model"], x_adv), label)[0]
            - losses.softmax_cross_entropy(train.predict(clf["model"], x), label)[0])
    assert rise == pytest.approx(eps * np.abs(g).sum(), rel=1e-2)


def test_random_signs_of_the_same_size_do_far_less():
    clf = classifier()
    model, X, y = clf["model"], clf["X_test"], clf["y_test"]
    eps = np.array([0.0, 0.05, 0.1, 0.2])
    attack = temperature_overfitting.accuracy_under_attack(model, X, y, eps)
    noise = temperature_overfitting.accuracy_under_noise(model, X, y, eps, np.random.default_rng(0))
    assert noise[0] == attack[0] == pytest.approx(clf["test_acc"])
    assert np.all(noise[1:] > attack[1:] + 0.1) and noise[-1] > 0.8
    with pytest.raises(TypeError, match="'rng'"):
        temperature_overfitting.accuracy_under_noise(model, X, y, eps, 0)


def test_smallest_flip_eps_really_flips():
    clf = classifier()
    eps_grid = np.linspace(0.01, 0.3, 30)
    for i in range(5):
        x, label = clf["X_test"][i], clf["y_test"][i]
        eps = temperature_overfitting.smallest_flip_eps(clf["model"], x, label, eps_grid)
        assert eps is not None
        assert temperature_overfitting.fgsm_view(clf["model"], x, label, eps)["flipped"]
        below = eps_grid[eps_grid < eps]
        assert all(not temperature_overfitting.fgsm_view(clf["model"], x, label, float(e))["flipped"] for e in below)
    with pytest.raises(ValueError, match="increasing"):
        temperature_overfitting.smallest_flip_eps(clf["model"], clf["X_test"][0], clf["y_test"][0], np.array([0.2, 0.1]))


def test_attack_explorer_over_its_sliders():
    clf = classifier()
    explorer = widgets.AttackExplorer(clf)
    for index in (0, 5, len(clf["y_test"]) - 1):
        for eps in np.linspace(0.0, widgets.EPS_MAX, 4):
            assert is_png(explorer.update(index=index, eps=float(eps)))
            view = temperature_overfitting.fgsm_view(clf["model"], clf["X_test"][index], clf["y_test"][index], float(eps))
            assert ("flipped!" in explorer.caption) == view["flipped"]
            assert view["linf"] <= eps + 1e-15


def test_attack_overview_draws():
    fig = widgets.attack_overview(classifier(), [0, 1], 0.1)
    assert len(fig.axes) == 8
    plt.close(fig)
