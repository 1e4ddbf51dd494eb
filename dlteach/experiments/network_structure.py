"""The structure of a network, as pure functions: the numbers behind lessons 00 and 02 and their widgets.

- activation_curves, activation_tangent: phi and phi' on a range, with a central-difference check
  of phi', and the tangent line at a point.
- neuron, dense_forward: a = phi(x . w + b) and the layer stack h_{l+1} = phi(h_l) W_l + b_{l+1}.
- softmax_report: probabilities, class = argmax, and both losses for one vector of logits.
- objective: J(w) = sum over training pairs of L(y, nn(x, w)).
- train_classifier / decision_surface: small two-layer nets on 2-D toy sets, trained once and
  cached, so a slider that picks a data set, a hidden size or an epoch only looks results up.

Nothing here imports ipywidgets; dlteach.widgets.network_structure draws these results.
"""

from functools import lru_cache

import numpy as np

from dlteach import activations, data, functional, layers, losses, optim, train
from dlteach._checks import float_array, positive

__all__ = ["activation_curves", "activation_tangent", "neuron", "dense_forward", "softmax_report", "squared_loss",
           "cross_entropy", "objective", "DATASETS", "HIDDEN_SIZES", "EPOCHS", "make_dataset",
           "two_layer_net", "train_classifier", "decision_surface", "precompute"]


def activation_curves(name, *, lo=-4.0, hi=4.0, n=401, h=1e-5):
    """phi(x), phi'(x) and the central difference (phi(x + h) - phi(x - h)) / 2h on n points of [lo, hi].

    Returns a dict: x, f, df, numeric (the central difference; NaN within h of a kink),
    max_error (largest |df - numeric| away from kinks), f_range (min, max of f) and
    max_slope (max |df|: 1/4 for the sigmoid, the reason its gradients vanish in deep stacks).
    Shapes: -> arrays (n,).
    """
    act = activations.get(name)
    if not hi > lo:
        raise ValueError(f"activation_curves: arguments 'lo' and 'hi' must satisfy lo < hi, got {lo!r} and {hi!r}")
    n = positive(n, "activation_curves", "n", integer=True)
    x = np.linspace(lo, hi, n)                                     # (n,)
    f, df = act.f(x), act.df(x)
    numeric = (act.f(x + h) - act.f(x - h)) / (2 * h)
    near_kink = np.zeros(n, dtype=bool)
    for k in act.kinks:
        near_kink |= np.abs(x - k) <= h
    numeric[near_kink] = np.nan                                    # the derivative does not exist there
    ok = ~near_kink
    max_error = float(np.max(np.abs(df[ok] - numeric[ok]))) if ok.any() else 0.0
    return {"x": x, "f": f, "df": df, "numeric": numeric, "max_error": max_error,
            "f_range": (float(f.min()), float(f.max())), "max_slope": float(np.abs(df).max())}


def activation_tangent(name, x0, *, lo=-5.0, hi=5.0, h=1e-5):
    """The tangent to phi at x0: t(x) = phi(x0) + phi'(x0) (x - x0), on the two ends lo and hi.

    Returns a dict: x0, f0 = phi(x0), df0 = phi'(x0), numeric (the central difference at x0;
    NaN within h of a kink), x (2,) and tangent (2,), the segment the widget draws.
    """
    act = activations.get(name)
    x0 = float(x0)
    f0, df0 = float(act.f(np.array([x0]))[0]), float(act.df(np.array([x0]))[0])
    if any(abs(x0 - k) <= h for k in act.kinks):
        numeric = float("nan")                                     # no derivative at a kink
    else:
        numeric = float((act.f(np.array([x0 + h])) - act.f(np.array([x0 - h])))[0] / (2 * h))
    x = np.array([lo, hi])
    return {"x0": x0, "f0": f0, "df0": df0, "numeric": numeric, "x": x, "tangent": f0 + df0 * (x - x0)}


def neuron(x, w, b, activation="sigmoid"):
    """a = phi(x . w + b): one unit weighs its inputs, adds a bias and squashes the sum.

    Shapes: x (N, D), w (D,), b scalar -> a (N,).
    """
    x = float_array(x, "neuron", "x", ndim=2)
    w = float_array(w, "neuron", "w", ndim=1)
    if x.shape[1] != w.shape[0]:
        raise ValueError(f"neuron: argument 'x' has {x.shape[1]} features but 'w' has {w.shape[0]} weights; "
                         "expected one weight per feature")
    return activations.get(activation).f(x @ w + b)               # (N,)


def dense_forward(x, weights, biases, activation="relu"):
    """h_1 = x W_0 + b_1, h_{l+1} = phi(h_l) W_l + b_{l+1}: the last h (the logits) and every h_l.

    Rows are examples, so the slide's h = W x + b reads h = x W + b here (W is stored transposed),
    and a batch X of N rows goes through at once: H = X W + b.
    Shapes: x (N, D); weights[l] (D_l, D_{l+1}); biases[l] (D_{l+1},) -> (N, D_L), list of (N, D_l).
    """
    x = float_array(x, "dense_forward", "x", ndim=2)
    if len(weights) != len(biases) or not weights:
        raise ValueError(f"dense_forward: arguments 'weights' and 'biases' must be non-empty lists of equal "
                         f"length, got {len(weights)} weights and {len(biases)} biases")
    phi = activations.get(activation).f
    hs, a = [], x
    for layer, (W, b) in enumerate(zip(weights, biases)):
        if a.shape[1] != W.shape[0]:
            raise ValueError(f"dense_forward: weights[{layer}] has shape {W.shape}, but its input has "
                             f"{a.shape[1]} features; expected ({a.shape[1]}, M)")
        h = a @ W + b                                              # (N, D_{l+1})
        hs.append(h)
        a = phi(h)
    return hs[-1], hs


def squared_loss(y, y_hat):
    """L = ||y - y_hat||^2 / 2 for each row: 0 exactly when y_hat = y.

    Shapes: y (N, C), y_hat (N, C) -> (N,).
    """
    y = float_array(y, "squared_loss", "y", ndim=2)
    y_hat = float_array(y_hat, "squared_loss", "y_hat", ndim=2)
    if y.shape != y_hat.shape:
        raise ValueError(f"squared_loss: 'y' has shape {y.shape} but 'y_hat' has shape {y_hat.shape}; expected equal shapes")
    return 0.5 * np.sum((y - y_hat) ** 2, axis=1)


def cross_entropy(y, y_hat, *, eps=1e-300):
    """L = -sum_j y_j log y_hat_j for each row: 0 when y_hat puts all its mass on the true class.

    eps keeps log finite when a probability underflows to 0. Shapes: y (N, C), y_hat (N, C) -> (N,).
    """
    y = float_array(y, "cross_entropy", "y", ndim=2)
    y_hat = float_array(y_hat, "cross_entropy", "y_hat", ndim=2)
    if y.shape != y_hat.shape:
        raise ValueError(f"cross_entropy: 'y' has shape {y.shape} but 'y_hat' has shape {y_hat.shape}; expected equal shapes")
    return -np.sum(y * np.log(np.maximum(y_hat, eps)), axis=1)


def softmax_report(logits, target):
    """For logits h and true class y: a = softmax(h), class = argmax a, both losses of a against one_hot(y).

    Returns a dict: probs, predicted, correct, one_hot, cross_entropy (-log a_y),
    squared (||one_hot(y) - a||^2 / 2), and dlogits = a - one_hot(y) (lesson 04 proves it).
    Shapes: logits (C,), target an int in [0, C) -> probs (C,).
    """
    h = float_array(logits, "softmax_report", "logits", ndim=1)
    C = h.shape[0]
    if isinstance(target, bool) or not isinstance(target, (int, np.integer)) or not 0 <= target < C:
        raise ValueError(f"softmax_report: argument 'target' is {target!r}; expected a class index in 0..{C - 1}")
    a = functional.softmax(h)                                      # (C,)
    y = functional.one_hot(np.array([target]), C)[0]               # (C,)
    predicted = int(np.argmax(a))
    return {"probs": a, "predicted": predicted, "correct": predicted == target, "one_hot": y,
            "cross_entropy": float(-functional.log_softmax(h)[target]),
            "squared": float(0.5 * np.sum((y - a) ** 2)), "dlogits": a - y}


def objective(model, X, y, loss="cross_entropy"):
    """J(w) = sum over the training pairs (x, y) of L(y, nn(x, w)): a sum, not the mean dlteach's losses return.

    loss: "cross_entropy" (on softmax of the outputs, y integer labels) or "squared" (y targets).
    Shapes: X (N, D), y (N,) labels or (N, M) targets -> float.
    """
    out = train.predict(model, X)
    if loss == "cross_entropy":
        mean, _ = losses.softmax_cross_entropy(out, y)
    elif loss == "squared":
        mean, _ = losses.mse(out, y)
    else:
        raise ValueError(f"objective: argument 'loss' is {loss!r}; expected 'cross_entropy' or 'squared'")
    return mean * len(X)


DATASETS = ("spirals", "moons", "xor")
HIDDEN_SIZES = (1, 2, 4, 8, 16, 32)
EPOCHS = 150
_DATA_ARGS = {"spirals": {"noise": 0.1}, "moons": {"noise": 0.1}, "xor": {"noise": 0.0}}


def make_dataset(name, *, n=200, seed=0):
    """One of the 2-D toy sets in DATASETS ("spirals", "moons", "xor"), seeded so it is the same everywhere.

    Shapes: -> X (n, 2) float64, y (n,) int64 in {0, 1}.
    """
    if name not in _DATA_ARGS:
        raise ValueError(f"make_dataset: argument 'name' is {name!r}; expected one of {list(DATASETS)}")
    return getattr(data, name)(n, rng=np.random.default_rng(seed), **_DATA_ARGS[name])


def two_layer_net(hidden, *, rng, inputs=2, classes=2, activation="relu"):
    """Linear(D, hidden) -> phi -> Linear(hidden, C): logits = phi(X W_0 + b_1) W_1 + b_2.

    Shapes: X (N, D) -> logits (N, C).
    """
    act = {"relu": layers.ReLU, "tanh": layers.Tanh, "sigmoid": layers.Sigmoid}
    if activation not in act:
        raise ValueError(f"two_layer_net: argument 'activation' is {activation!r}; expected one of {list(act)}")
    init = "he" if activation == "relu" else "glorot"
    return layers.Sequential(layers.Linear(inputs, hidden, rng=rng, init=init), act[activation](),
                             layers.Linear(hidden, classes, rng=rng, init=init))


def _copy_params(model):
    return {name: p.copy() for name, p, _ in model.parameters()}


def train_classifier(name, hidden, *, epochs=EPOCHS, seed=0, lr=0.03, batch_size=50):
    """Train two_layer_net(hidden) with Adam on make_dataset(name); cached, so each setting trains once.

    Returns a dict: model (trained; do not modify), X, y, history (fit's), and snapshots:
    a list of the parameters after each epoch (index 0 = before training), for an epoch slider.
    Shapes: snapshots[k][name] like the model's parameter name.
    """
    hidden = positive(hidden, "train_classifier", "hidden", integer=True)
    epochs = positive(epochs, "train_classifier", "epochs", integer=True)
    if name not in _DATA_ARGS:
        raise ValueError(f"train_classifier: argument 'name' is {name!r}; expected one of {list(DATASETS)}")
    # One positional key per setting: keyword and positional calls must share the cache entry.
    return _train(name, hidden, epochs, int(seed), float(lr), int(batch_size))


@lru_cache(maxsize=64)
def _train(name, hidden, epochs, seed, lr, batch_size):
    X, y = make_dataset(name, seed=seed)
    rng = np.random.default_rng(seed)
    model = two_layer_net(hidden, rng=rng)
    snapshots = [_copy_params(model)]
    history = train.fit(model, losses.softmax_cross_entropy, optim.Adam(model, lr=lr), (X, y), epochs,
                        batch_size=batch_size, rng=rng, progress=False,
                        callback=lambda epoch, hist: snapshots.append(_copy_params(model)))
    return {"model": model, "X": X, "y": y, "history": history, "snapshots": snapshots}


def _grid(X, size, margin=0.25):
    lo, hi = X.min(axis=0) - margin, X.max(axis=0) + margin       # (2,), (2,)
    return np.linspace(lo[0], hi[0], size), np.linspace(lo[1], hi[1], size)


def _net_probs(params, points):
    # Same maths as the model, from a snapshot: p(class 1) = softmax(relu(x W0 + b1) W1 + b2)[1].
    h = np.maximum(points @ params["0.W"] + params["0.b"], 0)      # (G*G, hidden)
    logits = h @ params["2.W"] + params["2.b"]                     # (G*G, 2)
    return functional.softmax(logits)[:, 1]


@lru_cache(maxsize=512)
def _surface(name, hidden, epoch, size, seed):
    run = train_classifier(name, hidden, seed=seed)
    X, y = run["X"], run["y"]
    params = run["snapshots"][epoch]
    gx, gy = _grid(X, size)
    xx, yy = np.meshgrid(gx, gy)                                   # (G, G) each
    prob = _net_probs(params, np.column_stack([xx.ravel(), yy.ravel()])).reshape(size, size)
    acc = float(np.mean((_net_probs(params, X) > 0.5) == (y == 1)))
    loss = run["history"]["loss"][epoch - 1] if epoch > 0 else float("nan")
    for arr in (xx, yy, prob):
        arr.flags.writeable = False                                # cached: callers must not change them
    return {"X": X, "y": y, "xx": xx, "yy": yy, "prob": prob, "accuracy": acc, "loss": loss,
            "history": run["history"], "params": params, "epoch": epoch}


def decision_surface(name, hidden, *, epoch=None, size=80, seed=0):
    """p(class 1 | x) of the trained two-layer net over a size x size grid around the data, plus its accuracy.

    epoch: which snapshot (0 = untrained, EPOCHS = trained, the default). Cached.
    Returns a dict: X, y, xx, yy, prob (read-only), accuracy, loss (training loss of that epoch),
    history, params, epoch. The decision boundary is the level set prob = 1/2.
    Shapes: xx, yy, prob (size, size).
    """
    if name not in _DATA_ARGS:
        raise ValueError(f"decision_surface: argument 'name' is {name!r}; expected one of {list(DATASETS)}")
    epochs = len(train_classifier(name, hidden, seed=seed)["snapshots"]) - 1
    epoch = epochs if epoch is None else epoch
    if isinstance(epoch, bool) or not isinstance(epoch, (int, np.integer)) or not 0 <= epoch <= epochs:
        raise ValueError(f"decision_surface: argument 'epoch' is {epoch!r}; expected an integer in 0..{epochs}")
    return _surface(name, int(hidden), int(epoch), int(size), int(seed))


def precompute(names=DATASETS, hiddens=HIDDEN_SIZES, *, seed=0):
    """Train every (data set, hidden size) pair now, so widgets never train while a slider moves."""
    for name in names:
        for hidden in hiddens:
            train_classifier(name, hidden, seed=seed)
