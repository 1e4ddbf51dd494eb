"""Adversarial examples by the fast gradient sign method (Goodfellow, Shlens and Szegedy, 2015):
x_adv = clip(x + eps sign(dL/dx), 0, 1), on a small digits classifier (lesson 06).

backward already computes dL/dx, the gradient with respect to the input, on its way to the weights:
training ignores it, an attacker uses it. Pure functions on a trained dlteach model.
"""

import numpy as np

from dlteach import data, functional, layers, losses, optim, train
from dlteach._checks import float_array, positive, require_rng

__all__ = ["train_digits_classifier", "input_gradient", "fgsm", "fgsm_view", "smallest_flip_eps",
           "accuracy_under_attack", "accuracy_under_noise"]


def train_digits_classifier(*, hidden=64, epochs=20, seed=0, progress=False):
    """An MLP 64 -> hidden -> ReLU -> ... -> 10 trained with Adam on the 8x8 digits (pixels scaled to [0, 1]).

    hidden: the width of the one hidden layer, or a tuple of widths, one per hidden layer. The same
    seed gives the same train/test split (drawn first) whatever the architecture.
    Returns {"model", "X_train", "y_train", "X_test", "y_test", "history", "test_acc"}.
    Shapes: X_* (N, 64) in [0, 1], y_* (N,) labels 0..9.
    """
    widths = (hidden,) if not isinstance(hidden, (tuple, list)) else tuple(hidden)
    widths = [positive(h, "train_digits_classifier", "hidden", integer=True) for h in widths]
    if not widths:
        raise ValueError("train_digits_classifier: argument 'hidden' is empty; expected a width or a tuple of widths")
    rng = np.random.default_rng(seed)
    X, y = data.load_digits(layout="flat", scale=True)                      # (1797, 64), (1797,)
    X_train, X_test, y_train, y_test = data.train_test_split(X, y, test_size=0.25, rng=rng)
    stack = []
    for d_in, d_out in zip([64] + widths[:-1], widths):
        stack += [layers.Linear(d_in, d_out, rng=rng), layers.ReLU()]
    model = layers.Sequential(*stack, layers.Linear(widths[-1], 10, rng=rng))
    history = train.fit(model, losses.softmax_cross_entropy, optim.Adam(model, lr=3e-3), (X_train, y_train),
                        epochs, batch_size=64, val_data=(X_test, y_test), rng=rng, progress=progress)
    return {"model": model, "X_train": X_train, "y_train": y_train, "X_test": X_test, "y_test": y_test,
            "history": history, "test_acc": history["val_acc"][-1]}


def _labels(y, N, where):
    y = np.atleast_1d(np.asarray(y))
    if y.dtype.kind not in "iu" or y.shape != (N,):
        raise ValueError(f"{where}: argument 'y' has dtype {y.dtype} and shape {y.shape}; "
                         f"expected {N} integer labels")
    return y


def input_gradient(model, X, y):
    """dL/dX for L = -log softmax(model(x_n))_{y_n} of each example on its own (not averaged).

    Runs forward and backward in eval mode (the model's weight gradients are overwritten).
    Shapes: X (N, D), y (N,) -> (N, D).
    """
    X = float_array(X, "input_gradient", "X", ndim=2)
    y = _labels(y, len(X), "input_gradient")
    was_training = model.training
    model.eval()
    try:
        _, dlogits = losses.softmax_cross_entropy(model(X), y)
        return model.backward(dlogits * len(X))     # undo the batch mean: one example's own gradient
    finally:
        if was_training:
            model.train()


def fgsm(model, X, y, eps, *, low=0.0, high=1.0):
    """x_adv = clip(x + eps sign(dL/dx), low, high): every pixel moves by eps in the direction that raises L.

    Shapes: X (N, D), y (N,) -> (N, D).
    """
    positive(eps, "fgsm", "eps", allow_zero=True)
    return np.clip(X + eps * np.sign(input_gradient(model, X, y)), low, high)


def _probs(model, X):
    return functional.softmax(train.predict(model, X))


def fgsm_view(model, x, label, eps):
    """What the adversarial widget shows for one image and one eps.

    Returns {"x", "x_adv", "delta" = x_adv - x, "p", "p_adv" (10,) probabilities, "pred", "pred_adv",
    "flipped" (pred_adv differs from pred), "linf" = max |delta|}. Shapes: x (D,).
    """
    x = float_array(x, "fgsm_view", "x", ndim=1)
    x_adv = fgsm(model, x[None, :], np.array([label]), eps)[0]             # (D,)
    p, p_adv = _probs(model, np.stack([x, x_adv]))                         # (10,) each
    delta = x_adv - x
    return {"x": x, "x_adv": x_adv, "delta": delta, "p": p, "p_adv": p_adv, "pred": int(p.argmax()),
            "pred_adv": int(p_adv.argmax()), "flipped": bool(p.argmax() != p_adv.argmax()),
            "linf": float(np.abs(delta).max())}


def smallest_flip_eps(model, x, label, epsilons):
    """The first eps of the increasing list epsilons whose FGSM image changes the prediction, or None.

    Shapes: x (D,), epsilons (K,).
    """
    epsilons = float_array(epsilons, "smallest_flip_eps", "epsilons", ndim=1)
    if np.any(np.diff(epsilons) <= 0):
        raise ValueError("smallest_flip_eps: argument 'epsilons' must be increasing")
    x = float_array(x, "smallest_flip_eps", "x", ndim=1)
    step = np.sign(input_gradient(model, x[None, :], np.array([label])))   # (1, D): the same for every eps
    candidates = np.clip(x + epsilons[:, None] * step, 0.0, 1.0)           # (K, D)
    preds = train.predict(model, np.vstack([x[None, :], candidates])).argmax(axis=1)
    flips = np.flatnonzero(preds[1:] != preds[0])
    return None if flips.size == 0 else float(epsilons[flips[0]])


def accuracy_under_attack(model, X, y, epsilons):
    """Test accuracy on FGSM images for each eps (eps = 0: the clean accuracy).

    Shapes: X (N, D), y (N,), epsilons (K,) -> (K,).
    """
    epsilons = float_array(epsilons, "accuracy_under_attack", "epsilons", ndim=1)
    step = np.sign(input_gradient(model, X, y))                            # (N, D)
    return np.array([float(np.mean(train.predict(model, np.clip(X + e * step, 0.0, 1.0)).argmax(axis=1) == y))
                     for e in epsilons])


def accuracy_under_noise(model, X, y, epsilons, rng):
    """Test accuracy on x + eps s, s a random sign per pixel (clipped to [0, 1]): FGSM's budget, no aim.

    The same signs for every eps, drawn once from rng. Shapes: X (N, D), y (N,), epsilons (K,) -> (K,).
    """
    epsilons = float_array(epsilons, "accuracy_under_noise", "epsilons", ndim=1)
    X = float_array(X, "accuracy_under_noise", "X", ndim=2)
    y = _labels(y, len(X), "accuracy_under_noise")
    require_rng(rng, "accuracy_under_noise")
    signs = rng.choice([-1.0, 1.0], size=X.shape)                         # (N, D)
    return np.array([float(np.mean(train.predict(model, np.clip(X + e * signs, 0.0, 1.0)).argmax(axis=1) == y))
                     for e in epsilons])
