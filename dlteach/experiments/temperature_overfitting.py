"""Lesson 06's experiments: temperature, overfitting and adversarial examples.

Temperature: the probabilities softmax(h / T), their entropy, and how big the cross-entropy gradient
(softmax(h / T) - y) / T is, as T moves.

Overfitting in one picture: a one-hidden-layer tanh network fitting a few noisy points of sin(pi x), for
a grid of capacities (hidden units), training-set sizes and L2 weight decays lambda. The objective is
J(w) = L(y, nn(x, w)) + lambda/2 ||w||^2 with L = (1/2N) sum_n (nn(x_n) - y_n)^2 (losses.mse), trained by
full-batch gradient descent with momentum, exactly as optim.SGD(weight_decay=lambda) does it (every
parameter decays, biases included). `train_grid` trains every network of the grid at once (all networks
of one width side by side in one array), so a whole grid costs a few seconds and a widget only looks
results up. `grid_network` + optim.SGD is the same computation with the library's layers, one network
at a time; the tests and the lesson check that the two agree. Early stopping: `EarlyStopping`, a
callback for train.fit that keeps the best weights, and `early_stop_step` on a recorded curve.

Adversarial examples by the fast gradient sign method (Goodfellow, Shlens and Szegedy, 2015):
x_adv = clip(x + eps sign(dL/dx), 0, 1), on a small digits classifier. backward already computes
dL/dx on its way to the weights: training ignores it, an attacker uses it.

Pure functions on arrays and trained dlteach models: the widgets draw what they return, the tests call them.
"""

import numpy as np

from dlteach import data, functional, layers, losses, optim, train
from dlteach._checks import float_array, positive, require_rng

__all__ = ["tempered_softmax", "entropy", "tempered_grad", "temperature_view", "temperature_sweep", "TARGET", "NOISE", "INIT_SCALE", "OUTPUT_SCALE", "make_network", "noisy_points", "training_points", "weight_penalty", "penalized_mse", "grid_network", "train_grid", "grid_view", "capacity_curve", "early_stop_step", "EarlyStopping", "train_digits_classifier", "input_gradient", "fgsm", "fgsm_view", "smallest_flip_eps", "accuracy_under_attack", "accuracy_under_noise"]


def tempered_softmax(h, T):
    """a = softmax(h / T): T > 1 flattens the probabilities, T < 1 sharpens them.

    Shapes: h (..., C) -> a (..., C), each row summing to 1.
    """
    h = float_array(h, "tempered_softmax", "h")
    positive(T, "tempered_softmax", "T")
    return functional.softmax(h / T)


def entropy(a):
    """H(a) = -sum_j a_j log a_j in nats, with 0 log 0 = 0; from 0 (one-hot) to log C (uniform).

    Shapes: a (..., C) probability rows -> (...,).
    """
    a = float_array(a, "entropy", "a")
    if a.min() < 0:
        raise ValueError(f"entropy: argument 'a' holds {a.min():.3g}; expected probabilities >= 0")
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(a > 0, a * np.log(a), 0.0)     # a -> 0 contributes a log a -> 0
    return -terms.sum(axis=-1)


def tempered_grad(h, true_class, T):
    """dL/dh = (softmax(h / T) - y) / T for L = -log softmax(h / T)_y: the chain rule's extra 1/T.

    Shapes: h (C,), true_class an int -> (C,).
    """
    h = float_array(h, "tempered_grad", "h", ndim=1)
    C = h.shape[0]
    if isinstance(true_class, bool) or not isinstance(true_class, (int, np.integer)) or not 0 <= true_class < C:
        raise ValueError(f"tempered_grad: argument 'true_class' is {true_class!r}; expected an int in [0, {C})")
    g = tempered_softmax(h, T)
    g[true_class] -= 1
    return g / T


def temperature_view(h, T, true_class):
    """Everything the temperature widget shows for one T.

    Returns {"a": softmax(h/T), "entropy": H(a), "peak": max a, "grad": (a - y)/T, "grad_norm": ||grad||,
    "worst_grad_norm": max over labels y of ||(a - y)/T||, reached by the least likely class}.
    Shapes: h (C,) -> a, grad (C,); the rest floats.
    """
    a = tempered_softmax(float_array(h, "temperature_view", "h", ndim=1), T)
    grad = tempered_grad(h, true_class, T)
    # ||a - e_y||^2 = sum a^2 - 2 a_y + 1 is largest for the smallest a_y.
    worst = np.sqrt(max(float(a @ a) - 2 * float(a.min()) + 1, 0.0)) / T
    return {"a": a, "entropy": float(entropy(a)), "peak": float(a.max()), "grad": grad,
            "grad_norm": float(np.linalg.norm(grad)), "worst_grad_norm": float(worst)}


def temperature_sweep(h, temperatures, true_class):
    """The entropy, the peak probability and the gradient sizes of temperature_view along many T.

    Shapes: h (C,), temperatures (K,) -> dict of (K,) arrays, plus "a" (K, C).
    """
    temperatures = float_array(temperatures, "temperature_sweep", "temperatures", ndim=1)
    if temperatures.min() <= 0:
        raise ValueError(f"temperature_sweep: argument 'temperatures' holds {temperatures.min():g}; "
                         "expected every T > 0")
    views = [temperature_view(h, float(T), true_class) for T in temperatures]
    out = {key: np.array([v[key] for v in views])
           for key in ("entropy", "peak", "grad_norm", "worst_grad_norm")}
    out["a"] = np.stack([v["a"] for v in views])          # (K, C)
    out["T"] = temperatures
    return out


TARGET = "sin"          # data.target_function(TARGET) is the function the points come from
NOISE = 0.25            # standard deviation of the noise on every y
INIT_SCALE = 4.0        # first-layer weights N(0, 4^2) with kinks -b/w spread over [-1, 1]: room to wiggle
OUTPUT_SCALE = 0.1      # the initial network's output spread: it starts nearly flat


def make_network(hidden, rng):
    """nn(x) = W2 tanh(W1 x + b1) + b2 with `hidden` units, built from dlteach layers.

    W1 ~ N(0, INIT_SCALE^2) and b1 ~ U(-INIT_SCALE, INIT_SCALE): steep units whose centres -b1/W1
    spread over the data instead of all sitting at x = 0. W2 ~ N(0, OUTPUT_SCALE^2 / hidden), b2 = 0:
    the network starts almost flat (output spread about OUTPUT_SCALE, whatever the width), so
    training has to build every wiggle, and early stopping can stop before the noisy ones.
    Shapes: x (N, 1) -> (N, 1).
    """
    hidden = positive(hidden, "make_network", "hidden", integer=True)
    require_rng(rng, "make_network")
    net = layers.Sequential(layers.Linear(1, hidden, rng=rng, init=INIT_SCALE), layers.Tanh(),
                            layers.Linear(hidden, 1, rng=rng, init=OUTPUT_SCALE / np.sqrt(hidden)))
    net[0].params["b"][...] = rng.uniform(-INIT_SCALE, INIT_SCALE, hidden)
    return net


def noisy_points(n, rng):
    """n points x ~ U(-1, 1), y = sin(pi x) + NOISE * eps: a validation set.

    Shapes: -> x (n, 1), y (n, 1).
    """
    return data.sample_1d(TARGET, n, noise=NOISE, rng=rng)


def _van_der_corput(n):
    """0, 1/2, 1/4, 3/4, 1/8, 5/8, ...: the binary digits of i mirrored after the point; any first k spread out."""
    out = np.zeros(n)
    for i in range(n):
        bits = f"{i:b}"
        out[i] = int(bits[::-1], 2) / 2 ** len(bits)
    return out


def training_points(n, rng):
    """n training points y = sin(pi x) + NOISE * eps, with x spread so that every first k of them cover [-1, 1].

    x = 2u - 1 with u the van der Corput sequence, shifted by one random offset and each jittered by up
    to half of 1/n (mod 1). Ten uniform draws typically leave a gap a quarter of the interval wide:
    the network's errors there would be guesses about unseen ground, not overfitting. The noise is
    as in noisy_points.
    Shapes: -> x (n, 1), y (n, 1).
    """
    n = positive(n, "training_points", "n", integer=True)
    require_rng(rng, "training_points")
    u = (_van_der_corput(n) + rng.uniform() + rng.uniform(-0.5, 0.5, n) / n) % 1.0     # (n,)
    x = (2 * u - 1)[:, None]                                                              # (n, 1)
    y = data.target_function(TARGET)(x) + NOISE * rng.standard_normal((n, 1))            # (n, 1)
    return x, y


def weight_penalty(model, weight_decay):
    """R(w) = lambda/2 ||w||^2 summed over every parameter; its gradient is lambda w.

    Returns (R, {name: lambda w}). Shapes: each gradient like its parameter.
    """
    positive(weight_decay, "weight_penalty", "weight_decay", allow_zero=True)
    penalty, grads = 0.0, {}
    for name, p, _ in model.parameters():
        penalty += 0.5 * weight_decay * float(np.vdot(p, p))
        grads[name] = weight_decay * p
    return penalty, grads


def penalized_mse(model, x, y, weight_decay):
    """J = L + lambda/2 ||w||^2 with L = (1/2N) sum_n (nn(x_n) - y_n)^2; returns (J, L, {name: dJ/dw}).

    Runs forward and backward on model. Shapes: x (N, 1), y (N, 1).
    """
    out = model(x)
    diff = out - y                                   # (N, 1)
    loss = float(np.vdot(diff, diff)) / (2 * len(x))
    model.backward(diff / len(x))
    penalty, dpenalty = weight_penalty(model, weight_decay)
    grads = {name: g + dpenalty[name] for name, _, g in model.parameters()}
    return loss + penalty, loss, grads


def _check_sizes(values, where, name, *, integer, allow_zero=False):
    values = [positive(v, where, name, integer=integer, allow_zero=allow_zero) for v in values]
    if not values:
        raise ValueError(f"{where}: argument '{name}' is empty; expected at least one value")
    return values


def _train_group(init, n_m, lam_m, x, y, x_eval, *, steps, lr, momentum, record_every):
    """Train M networks of H units at once, network m on the first n_m[m] points with decay lam_m[m].

    init: make_network's parameters, flattened (W1 (H,), b1 (H,), W2 (H,), b2 (1,)), shared by all M.
    The R = sum(n_m) (network, point) pairs are the rows of one array, each network's rows together:
    a network works on its own points only (not on all N, most of them masked), and np.add.reduceat
    sums each network's rows into its gradient.
    Returns per record: data loss on (x, y) (M,), outputs on x_eval (M, E), ||w|| (M,), and the steps.
    Shapes: x, y (N,); x_eval (E,); n_m, lam_m (M,).
    """
    M = len(n_m)
    w1, b1, w2 = (np.tile(p, (M, 1)) for p in init[:3])             # (M, H) each
    b2 = np.repeat(init[3], M)                                       # (M,)
    lam = lam_m[:, None]                                             # (M, 1)
    net = np.repeat(np.arange(M), n_m)                               # (R,): the network of each row
    xr, yr = (np.concatenate([v[:n] for n in n_m]) for v in (x, y))  # (R,) each: its point
    starts = np.concatenate([[0], np.cumsum(n_m)[:-1]])              # (M,): where each network's rows begin
    inv_n = (1.0 / n_m[net]).astype(x.dtype)                        # (R,): L is a mean over the network's n points
    params = [w1, b1, w2, b2]
    velocity = [np.zeros_like(p) for p in params]

    def outputs(xs):                                                 # xs (K,) -> out (M, K), every network on xs
        act = np.tanh(xs[None, :, None] * w1[:, None, :] + b1[:, None, :])
        return (act @ w2[:, :, None])[:, :, 0] + b2[:, None]

    rec = {"loss": [], "out": [], "norm": [], "step": []}
    for step in range(steps + 1):
        w1r, b1r, w2r = w1[net], b1[net], w2[net]                    # (R, H) each: every row's network
        act = np.tanh(xr[:, None] * w1r + b1r)                       # (R, H)
        res = np.einsum("rh,rh->r", act, w2r) + b2[net] - yr         # (R,): prediction - y
        if step % record_every == 0 or step == steps:
            rec["loss"].append(0.5 * np.add.reduceat(res * res * inv_n, starts))
            rec["out"].append(outputs(x_eval))
            rec["norm"].append(np.sqrt((w1 * w1 + b1 * b1 + w2 * w2).sum(axis=1) + b2 * b2))
            rec["step"].append(step)
        if step == steps:
            break
        dpred = res * inv_n                                          # (R,): dL/dprediction
        dz = dpred[:, None] * w2r * (1 - act * act)                  # (R, H)
        grads = [np.add.reduceat(xr[:, None] * dz, starts) + lam * w1, np.add.reduceat(dz, starts) + lam * b1,
                 np.add.reduceat(dpred[:, None] * act, starts) + lam * w2, np.add.reduceat(dpred, starts) + lam_m * b2]
        for p, g, v in zip(params, grads, velocity):
            v *= momentum
            v -= lr * g
            p += v
    return rec


def grid_network(hidden, seed=0):
    """The network train_grid(..., seed=seed) starts from for this width: make_network on its own stream.

    Shapes: x (N, 1) -> (N, 1).
    """
    return make_network(hidden, np.random.default_rng([seed, 1]))


def train_grid(hidden_sizes, train_sizes, weight_decays, *, steps=2000, lr=0.05, momentum=0.5,
               record_every=20, seed=0, num_val=200, num_grid=80, dtype=np.float64):
    """Train nn on the first n points for every (hidden, n, lambda), side by side; record every few steps.

    The networks share one training pool (the first n of training_points(max(train_sizes)), so a
    larger set adds points), one validation set (noisy_points, drawn next from the same generator
    np.random.default_rng([seed, 0])) and, for equal hidden, the same initial weights
    grid_network(hidden, seed), from a stream of their own: the weights owe nothing to the data.
    Update: v <- mu v - eta (dL/dw + lambda w), w <- w + v, with full batches. dtype: what the networks
    compute in; np.float32 takes about half the time of float64 (tanh is most of it) and ends within
    about 1e-5 of it. Returns a dict:
      "train_loss", "val_loss": (nH, nN, nL, R) data losses L (no penalty) at the recorded steps;
      "fit": (nH, nN, nL, R, G) nn on x_grid; "weight_norm": (nH, nN, nL, R) ||w||;
      "step": (R,) step numbers (0 = before training); "x_train", "y_train" (max n, 1);
      "x_val", "y_val" (num_val, 1); "x_grid" (G,); the three setting lists; "lr", "momentum", "seed", "dtype".
    """
    where = "train_grid"
    hidden_sizes = _check_sizes(hidden_sizes, where, "hidden_sizes", integer=True)
    train_sizes = _check_sizes(train_sizes, where, "train_sizes", integer=True)
    weight_decays = _check_sizes(weight_decays, where, "weight_decays", integer=False, allow_zero=True)
    steps = positive(steps, where, "steps", integer=True)
    record_every = positive(record_every, where, "record_every", integer=True)
    positive(lr, where, "lr")
    if not 0 <= momentum < 1:
        raise ValueError(f"{where}: argument 'momentum' must satisfy 0 <= momentum < 1, got {momentum!r}")

    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"{where}: argument 'dtype' is {dtype}; expected float32 or float64")
    rng = np.random.default_rng([seed, 0])
    x_train, y_train = training_points(max(train_sizes), rng)       # (Nmax, 1) each
    x_val, y_val = noisy_points(num_val, rng)                        # (V, 1) each
    x_grid = np.linspace(-1, 1, num_grid)                            # (G,)
    x_eval = np.concatenate([x_val[:, 0], x_grid])                   # (V + G,)
    n_m = np.repeat(np.array(train_sizes), len(weight_decays))       # (M,): the (n, lambda) pairs in order
    lam_m = np.tile(np.array(weight_decays, dtype=dtype), len(train_sizes))
    shape = (len(train_sizes), len(weight_decays))
    out = {"train_loss": [], "val_loss": [], "fit": [], "weight_norm": []}
    for H in hidden_sizes:
        init = [p.reshape(-1).astype(dtype) for _, p, _ in grid_network(H, seed).parameters()]
        rec = _train_group(init, n_m, lam_m, *(v.astype(dtype) for v in (x_train[:, 0], y_train[:, 0], x_eval)),
                           steps=steps, lr=lr, momentum=momentum, record_every=record_every)
        evals = np.stack(rec["out"], axis=1)                         # (M, R, V + G)
        val = 0.5 * ((evals[:, :, :num_val] - y_val[:, 0]) ** 2).mean(axis=2)   # (M, R)
        out["train_loss"].append(np.stack(rec["loss"], axis=1).reshape(shape + (-1,)))
        out["val_loss"].append(val.reshape(shape + (-1,)))
        out["fit"].append(evals[:, :, num_val:].reshape(shape + evals.shape[1:2] + (num_grid,)))
        out["weight_norm"].append(np.stack(rec["norm"], axis=1).reshape(shape + (-1,)))
    out = {key: np.stack(values) for key, values in out.items()}    # each (nH, nN, nL, R[, G])
    out.update(step=np.array(rec["step"]), x_train=x_train, y_train=y_train, x_val=x_val, y_val=y_val,
               x_grid=x_grid, hidden_sizes=hidden_sizes, train_sizes=train_sizes, weight_decays=weight_decays,
               lr=lr, momentum=momentum, seed=seed, dtype=dtype)
    return out


def _index(values, value, where, name):
    for i, v in enumerate(values):
        if np.isclose(v, value, rtol=1e-9, atol=0):
            return i
    raise ValueError(f"{where}: argument '{name}' is {value!r}; expected one of the grid's values {list(values)}")


def early_stop_step(val_loss, patience):
    """Index of the best validation loss seen before it failed to improve `patience` records in a row.

    This is what early stopping returns: the weights from that record. Shapes: val_loss (R,) -> int.
    """
    val_loss = float_array(val_loss, "early_stop_step", "val_loss", ndim=1)
    patience = positive(patience, "early_stop_step", "patience", integer=True)
    best, since = 0, 0
    for r in range(1, len(val_loss)):
        if val_loss[r] < val_loss[best]:
            best, since = r, 0
        else:
            since += 1
            if since >= patience:
                break
    return best


def grid_view(grid, hidden, n_train, weight_decay, step=None, *, patience=10):
    """Look one setting up in train_grid's result: curves, the fit at `step` and the early-stopping point.

    step: a recorded step number (None = the last). Returns {"step", "train_loss", "val_loss" (R,),
    "fit" (G,) at step, "stop" (record index chosen by early stopping), "stop_fit" (G,),
    "record" (index of step), "weight_norm" (R,), "n_train", "x_train", "y_train" (n, 1)}.
    """
    where = "grid_view"
    i = _index(grid["hidden_sizes"], hidden, where, "hidden")
    j = _index(grid["train_sizes"], n_train, where, "n_train")
    k = _index(grid["weight_decays"], weight_decay, where, "weight_decay")
    steps = grid["step"]
    r = len(steps) - 1 if step is None else _index(steps, step, where, "step")
    val = grid["val_loss"][i, j, k]
    stop = early_stop_step(val, patience)
    return {"step": steps, "train_loss": grid["train_loss"][i, j, k], "val_loss": val,
            "fit": grid["fit"][i, j, k, r], "record": r, "stop": stop, "stop_fit": grid["fit"][i, j, k, stop],
            "weight_norm": grid["weight_norm"][i, j, k], "n_train": int(n_train),
            "x_train": grid["x_train"][:n_train], "y_train": grid["y_train"][:n_train]}


def capacity_curve(grid, n_train, weight_decay, *, patience=10):
    """For each hidden size of the grid: the final training and validation losses, and early stopping's.

    Returns {"hidden" (K,), "train_loss", "val_loss" (K,) at the last step, "stopped_val_loss" (K,)
    at the record early_stop_step(patience) keeps}. Shapes: K = len(grid["hidden_sizes"]).
    """
    views = [grid_view(grid, h, n_train, weight_decay, patience=patience) for h in grid["hidden_sizes"]]
    return {"hidden": np.array(grid["hidden_sizes"]),
            "train_loss": np.array([v["train_loss"][-1] for v in views]),
            "val_loss": np.array([v["val_loss"][-1] for v in views]),
            "stopped_val_loss": np.array([v["val_loss"][v["stop"]] for v in views])}


class EarlyStopping:
    """A train.fit callback: stop when the validation loss has not improved for `patience` epochs,
    and keep a copy of the best weights so that restore() can put them back."""

    def __init__(self, model, patience):
        self.model = model
        self.patience = positive(patience, "EarlyStopping", "patience", integer=True)
        self.best_loss, self.best_epoch, self.best = np.inf, None, None

    def __call__(self, epoch, history):
        if not history["val_loss"]:
            raise ValueError("EarlyStopping: the history has no 'val_loss'; pass val_data to train.fit")
        loss = history["val_loss"][-1]
        if loss < self.best_loss:
            self.best_loss, self.best_epoch = loss, epoch
            self.best = {name: p.copy() for name, p, _ in self.model.parameters()}
        return epoch - self.best_epoch >= self.patience

    def restore(self):
        """Load the best weights seen into the model; returns the model."""
        if self.best is None:
            raise RuntimeError("EarlyStopping.restore: no epoch has been seen yet; run train.fit with this callback")
        for name, p, _ in self.model.parameters():
            p[...] = self.best[name]
        return self.model


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
