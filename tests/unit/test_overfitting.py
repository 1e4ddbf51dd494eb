"""Lesson 06, overfitting: dlteach.overfitting and the overfitting explorer over it.

J = L + lambda/2 ||w||^2 and its gradient against central differences; the batched grid against the
library's layers and optim.SGD; the training design; overfitting and its cures on a small grid;
early stopping (on a curve and as a train.fit callback); the widget over a grid of slider settings.
"""

import functools

import matplotlib.pyplot as plt
import numpy as np
import pytest
from cases import is_png

from dlteach import losses, optim, overfitting, train
from dlteach.gradcheck import numerical_gradient, rel_error
from dlteach.widgets import overfitting as widgets


def test_penalized_mse_gradient_matches_central_differences():
    model = overfitting.make_network(4, np.random.default_rng(0))
    x, y = overfitting.noisy_points(6, np.random.default_rng(1))
    lam = 0.03
    J, L, grads = overfitting.penalized_mse(model, x, y, lam)
    w2 = sum(float(np.vdot(p, p)) for _, p, _ in model.parameters())
    assert J == pytest.approx(L + lam / 2 * w2, rel=1e-14)
    assert L == pytest.approx(losses.mse(model(x), y)[0], rel=1e-14)
    for name, p, _ in model.parameters():
        num = numerical_gradient(lambda: overfitting.penalized_mse(model, x, y, lam)[0], p)
        assert rel_error(grads[name], num) < 1e-7, f"{name}: mine {grads[name]} vs numerical {num}"


def test_weight_penalty_is_what_optim_sgd_adds():
    model = overfitting.make_network(3, np.random.default_rng(2))
    lam, lr = 0.1, 0.5
    R, dR = overfitting.weight_penalty(model, lam)
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
        overfitting.weight_penalty(model, -1.0)


@pytest.mark.parametrize("hidden,n,lam", [(3, 5, 0.0), (7, 12, 1e-2), (20, 8, 1e-3)])
def test_batched_grid_is_the_library_network_trained_by_sgd(hidden, n, lam):
    steps = 60
    grid = overfitting.train_grid([hidden], [n, 15], [0.0, lam], steps=steps, record_every=steps, seed=3)
    model = overfitting.grid_network(hidden, seed=3)
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
    x, y = overfitting.training_points(40, np.random.default_rng(5))
    assert x.shape == y.shape == (40, 1) and x.min() >= -1 and x.max() < 1
    for k in range(2, 41):
        u = np.sort((x[:k, 0] + 1) / 2)                              # the first k points, on [0, 1)
        gaps = np.diff(np.concatenate([u, [u[0] + 1]]))              # around the circle: the design wraps
        assert gaps.max() <= 3 / k, f"the first {k} points leave a gap of {gaps.max():.3f} > 3/k"
    noise = y[:, 0] - np.sin(np.pi * x[:, 0])
    assert 0.15 < noise.std() < 0.35                                  # NOISE = 0.25
    np.testing.assert_array_equal(x, overfitting.training_points(40, np.random.default_rng(5))[0])


@functools.lru_cache(maxsize=1)
def small_grid():
    return overfitting.train_grid([2, 20], [5, 40], [0.0, 3e-3], steps=400)


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
        stop = overfitting.early_stop_step(val, 5)
        seen = min(stop + 6, len(val))
        assert val[stop] == val[:seen].min() and (seen == len(val) or np.all(val[stop + 1:seen] >= val[stop]))


def test_capacity_curve_reads_the_grid():
    g = small_grid()
    curve = overfitting.capacity_curve(g, 5, 0.0, patience=5)
    np.testing.assert_array_equal(curve["hidden"], [2, 20])
    for i, h in enumerate((2, 20)):
        view = overfitting.grid_view(g, h, 5, 0.0, patience=5)
        assert curve["train_loss"][i] == view["train_loss"][-1] and curve["val_loss"][i] == view["val_loss"][-1]
        assert curve["stopped_val_loss"][i] == view["val_loss"][view["stop"]] <= view["val_loss"][0]


def test_early_stop_step_waits_for_patience():
    curve = np.array([5.0, 4.0, 3.0, 3.5, 3.2, 2.9, 3.0, 3.1, 3.2, 1.0])
    assert overfitting.early_stop_step(curve, 2) == 2        # 3.5, 3.2: two records without a new best
    assert overfitting.early_stop_step(curve, 3) == 5
    assert overfitting.early_stop_step(curve, 5) == 9
    with pytest.raises(ValueError, match="'hidden'"):
        overfitting.grid_view(small_grid(), 7, 5, 0.0)
    with pytest.raises(ValueError, match="'patience'"):
        overfitting.early_stop_step(curve, 0)


def test_early_stopping_callback_restores_the_best_weights():
    rng = np.random.default_rng(0)
    model = overfitting.make_network(30, rng)
    x, y = overfitting.training_points(8, rng)
    xv, yv = overfitting.noisy_points(50, rng)
    stopper = overfitting.EarlyStopping(model, patience=20)
    history = train.fit(model, losses.mse, optim.SGD(model, lr=0.05, momentum=0.5), (x, y), 2000,
                        batch_size=8, val_data=(xv, yv), progress=False, callback=stopper)
    assert len(history["val_loss"]) == stopper.best_epoch + 21 < 2000
    stopper.restore()
    assert train.evaluate(model, losses.mse, (xv, yv))[0] == pytest.approx(min(history["val_loss"]), rel=1e-12)
    with pytest.raises(RuntimeError, match="restore"):
        overfitting.EarlyStopping(model, patience=3).restore()


def test_overfit_explorer_over_its_sliders():
    grid = small_grid()
    explorer = widgets.OverfitExplorer(grid)
    for hidden in grid["hidden_sizes"]:
        for n in grid["train_sizes"]:
            for lam in grid["weight_decays"]:
                for step in (0, 200, 400):
                    assert is_png(explorer.update(hidden, n, lam, step))
                    view = overfitting.grid_view(grid, hidden, n, lam, step, patience=widgets.PATIENCE)
                    assert f"training loss {view['train_loss'][view['record']]:.4f}" in explorer.caption
                    assert f"keeps step {view['step'][view['stop']]}:" in explorer.caption


def test_overfit_overview_draws():
    fig = widgets.overfit_overview([(2, 5, 0.0), (20, 40, 3e-3)], grid=small_grid())
    assert len(fig.axes) == 4
    plt.close(fig)
