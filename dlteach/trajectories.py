"""Optimizers walking a 2-D loss surface: the paths and losses of GD, SGD, momentum, Nesterov,
Polyak averaging, clipping, AdaGrad, RMSProp and Adam, and the convergence rates they reach.

The update rules are dlteach.optim's (sgd_update, clip_by_norm, RMSProp, Adam, PolyakAverage),
applied to a single point w (2,); only AdaGrad, which optim does not have, is written here.
Everything is pure: the same arguments and seed give the same path.
"""

import numpy as np

from dlteach import optim
from dlteach._checks import positive, require_rng
from dlteach.surfaces import Quadratic, Surface

__all__ = ["METHODS", "run", "run_many", "compare", "rate_view", "polyak_path", "adagrad_update", "distances",
           "measured_rate", "gd_rate", "momentum_rate", "optimal_gd", "optimal_momentum",
           "quadratic_rate"]

METHODS = ("gd", "sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam")
BLOW_UP = 1e6        # |w| beyond this: the run has diverged and stops


class _Point:
    """A single parameter vector dressed as a dlteach model, so optim's optimizer classes can step it."""

    def __init__(self, w):
        self.w, self.g = w, np.zeros_like(w)

    def parameters(self):
        yield "w", self.w, self.g


def adagrad_update(w, g, r, *, lr, eps=1e-8):
    """r <- r + g^2;  w <- w - eta g / (sqrt(r) + eps): each coordinate's step shrinks with its history.

    Updates w and r in place. Shapes: w, g, r alike.
    """
    r += g * g
    w -= lr * g / (np.sqrt(r) + eps)
    return w


def _stepper(method, w, *, lr, momentum, rms_decay, betas):
    """A function step(g) that applies one update of method to w in place."""
    if method in ("gd", "sgd"):
        return lambda g: optim.sgd_update(w, g, None, lr=lr)
    if method in ("momentum", "nesterov"):
        v = np.zeros_like(w)
        nesterov = method == "nesterov"
        return lambda g: optim.sgd_update(w, g, v, lr=lr, momentum=momentum, nesterov=nesterov)
    if method == "adagrad":
        r = np.zeros_like(w)
        return lambda g: adagrad_update(w, g, r, lr=lr)
    point = _Point(w)
    opt = (optim.RMSProp(point, lr, alpha=rms_decay) if method == "rmsprop"
           else optim.Adam(point, lr, betas=betas))

    def step(g):
        point.g[...] = g
        opt.step()
    return step


def run(surface, method, start, steps, *, lr, momentum=0.9, batch_size=None, clip=None, rng=None,
        rms_decay=0.9, betas=(0.9, 0.999)):
    """Take `steps` steps of method on surface from start; return the path and J along it.

    method: one of METHODS. "gd" always uses the exact gradient of J; the others use the gradient
    of J_B over batches of batch_size examples (None: all of them, so "sgd" is then GD).
    clip: tau, or None; when ||g|| > tau the step uses tau g / ||g|| (optim.clip_by_norm).
    A run that leaves |w| < 1e6 or meets inf/nan stops: the rest of its path is NaN.
    Returns {"method", "path" (steps+1, 2), "loss" (steps+1,), "diverged": step index or None}.
    """
    if not isinstance(surface, Surface):
        raise TypeError(f"run: argument 'surface' must be a surfaces.Surface, got {type(surface).__name__}")
    if method not in METHODS:
        raise ValueError(f"run: argument 'method' is {method!r}; expected one of {list(METHODS)}")
    steps = positive(steps, "run", "steps", integer=True)
    lr = positive(lr, "run", "lr")
    if method in ("momentum", "nesterov") and not 0 <= momentum < 1:
        raise ValueError(f"run: argument 'momentum' is {momentum!r}; expected 0 <= momentum < 1")
    if clip is not None:
        positive(clip, "run", "clip")
    start = np.asarray(start, dtype=np.float64)
    if start.shape != (2,):
        raise ValueError(f"run: argument 'start' has shape {start.shape}; expected a point (2,)")
    if method != "gd" and batch_size is not None and batch_size != surface.n_examples:
        require_rng(rng, "run")
    gradient = surface.minibatch_gradients(None if method == "gd" else batch_size, steps, rng)

    w = start.copy()
    step = _stepper(method, w, lr=lr, momentum=momentum, rms_decay=rms_decay, betas=betas)
    path = np.full((steps + 1, 2), np.nan)
    path[0] = w
    diverged = None
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(steps):
            g = gradient(t, w)
            if clip is not None:
                optim.clip_by_norm([g], clip)
            step(g)
            if not (np.isfinite(w).all() and abs(w).max() < BLOW_UP):
                diverged = t + 1
                break
            path[t + 1] = w
        loss = surface.loss(path)                   # one vectorised call for the whole path
    return {"method": method, "path": path, "loss": loss, "diverged": diverged}


def polyak_path(path, start=0):
    """w_bar(t) = w_bar(t-1) + (w(t) - w_bar(t-1)) / (t - t0) for t > t0 = start, w_bar(t) = w(t) before:
    the running mean of the iterates after t0, via optim.PolyakAverage.

    Shapes: path (T+1, 2) -> (T+1, 2); NaN rows (a diverged run) stay NaN.
    """
    path = np.asarray(path, dtype=np.float64)
    point = _Point(path[0].copy())
    avg = optim.PolyakAverage(point, start=positive(start, "polyak_path", "start", allow_zero=True, integer=True))
    out = np.empty_like(path)
    out[0] = path[0]
    for t in range(1, len(path)):
        point.w[...] = path[t]
        avg.update()
        out[t] = avg.average["w"]
    return out


def run_many(surface, methods, start, steps, *, seed=0, **settings):
    """run() for each method with the same settings; each stochastic run gets its own
    np.random.default_rng(seed), so all see the same batches. Returns {method: run}.
    """
    return {m: run(surface, m, start, steps, rng=np.random.default_rng(seed), **settings) for m in methods}


def distances(path, minimum):
    """||w(t) - w*|| along a path. Shapes: path (T+1, 2), minimum (2,) -> (T+1,)."""
    return np.linalg.norm(np.asarray(path) - np.asarray(minimum), axis=-1)


def measured_rate(path, minimum, *, window=(0.5, 1.0)):
    """The rate rho in ||w(t) - w*|| ~ rho^t: exp of the least-squares slope of log ||w(t) - w*||
    over the steps in window (fractions of the run; the late half by default, past the transient).

    Shapes: path (T+1, 2), minimum (2,) -> float.
    """
    d = distances(path, minimum)
    lo, hi = int(window[0] * (len(d) - 1)), int(window[1] * (len(d) - 1)) + 1
    t = np.arange(lo, hi)
    keep = np.isfinite(d[lo:hi]) & (d[lo:hi] > 0)
    if keep.sum() < 2:
        raise ValueError("measured_rate: fewer than two finite, non-zero distances in the window; "
                         "run fewer steps or widen the window")
    slope = np.polyfit(t[keep], np.log(d[lo:hi][keep]), 1)[0]
    return float(np.exp(slope))


def gd_rate(kappa):
    """(kappa - 1) / (kappa + 1): GD's best rate on a quadratic with condition number kappa."""
    kappa = np.asarray(kappa, dtype=np.float64)
    return (kappa - 1) / (kappa + 1)


def momentum_rate(kappa):
    """(sqrt(kappa) - 1) / (sqrt(kappa) + 1): heavy-ball momentum's best rate on that quadratic."""
    root = np.sqrt(np.asarray(kappa, dtype=np.float64))
    return (root - 1) / (root + 1)


def optimal_gd(lam_min, lam_max):
    """eta* = 2 / (lambda_min + lambda_max): the step that balances the slowest and fastest directions."""
    return 2.0 / (lam_min + lam_max)


def optimal_momentum(lam_min, lam_max):
    """eta* = 4 / (sqrt(lambda_max) + sqrt(lambda_min))^2, mu* = ((sqrt(kappa) - 1) / (sqrt(kappa) + 1))^2."""
    a, b = np.sqrt(lam_min), np.sqrt(lam_max)
    return 4.0 / (a + b) ** 2, float(((b - a) / (b + a)) ** 2)


def quadratic_rate(eigenvalues, lr, momentum=0.0):
    """max over eigenvalues lambda of the largest |z| with z^2 - (1 + mu - eta lambda) z + mu = 0:
    the rate of heavy-ball momentum (GD when mu = 0) on a quadratic with those eigenvalues.

    Shapes: eigenvalues (E,); lr and momentum broadcast together -> their broadcast shape.
    """
    lam = np.asarray(eigenvalues, dtype=np.float64)
    lr, mu = np.broadcast_arrays(np.asarray(lr, dtype=np.float64), np.asarray(momentum, dtype=np.float64))
    b = (1 + mu[..., None] - lr[..., None] * lam)               # (..., E)
    disc = np.sqrt((b * b - 4 * mu[..., None]).astype(complex))
    roots = np.maximum(np.abs((b + disc) / 2), np.abs((b - disc) / 2))
    return roots.max(axis=-1)


def compare(surface, methods, start, steps, *, lr, adaptive_lr=0.1, momentum=0.9, batch_size=None, clip=None,
            seed=0, average_start=None):
    """The optimizer lab's runs: each method of methods on surface with the same settings and batches.

    methods may include "polyak": SGD's path averaged from step average_start (default steps // 2).
    AdaGrad, RMSProp and Adam take adaptive_lr (their step is ~eta whatever the gradient's size);
    the others take lr. Returns {method: run} as run() makes them.
    """
    runs, plain = {}, [m for m in methods if m != "polyak"]
    if "polyak" in methods and "sgd" not in plain:
        plain.append("sgd")
    for m in plain:
        step = adaptive_lr if m in ("adagrad", "rmsprop", "adam") else lr
        runs[m] = run(surface, m, start, steps, lr=step, momentum=momentum, batch_size=batch_size,
                      clip=clip, rng=np.random.default_rng(seed))
    if "polyak" in methods:
        sgd = runs["sgd"]
        t0 = steps // 2 if average_start is None else average_start
        path = polyak_path(sgd["path"], t0)
        with np.errstate(over="ignore", invalid="ignore"):
            runs["polyak"] = {"method": "polyak", "path": path, "loss": surface.loss(path),
                              "diverged": sgd["diverged"], "average_start": t0}
    return {m: runs[m] for m in methods}


def rate_view(kappa, lr, momentum, *, steps=150, resolution=90):
    """Everything the rate explorer shows for the quadratic with condition number kappa.

    Returns {"lrs" (R,), "mus" (R,), "map" (R, R) momentum's rate over [mu, eta], "rate_gd",
    "rate_momentum" (the rates at lr, momentum), "best_gd" (eta*, rate), "best_momentum"
    (eta*, mu*, rate), "dist_gd", "dist_momentum" (steps+1,) distances to w* of the two runs}.
    """
    lam = np.array([1.0 / kappa, 1.0])
    lrs = np.linspace(0.02, 4.0, resolution)
    mus = np.linspace(0.0, 0.99, resolution)
    rate_map = quadratic_rate(lam, lrs[None, :], mus[:, None])          # (R, R): rows mu, columns eta
    eta_gd = optimal_gd(*lam)
    eta_m, mu_m = optimal_momentum(*lam)
    surface = Quadratic(kappa)
    d_gd = distances(run(surface, "gd", surface.start, steps, lr=lr)["path"], surface.minimum)
    d_m = (distances(run(surface, "momentum", surface.start, steps, lr=lr, momentum=momentum)["path"],
                     surface.minimum) if momentum > 0 else d_gd)
    return {"lrs": lrs, "mus": mus, "map": rate_map,
            "rate_gd": float(quadratic_rate(lam, lr)), "rate_momentum": float(quadratic_rate(lam, lr, momentum)),
            "best_gd": (eta_gd, float(gd_rate(kappa))), "best_momentum": (eta_m, mu_m, float(momentum_rate(kappa))),
            "dist_gd": d_gd, "dist_momentum": d_m}
