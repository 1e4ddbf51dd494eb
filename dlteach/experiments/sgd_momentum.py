"""Lesson 05's experiments: two-parameter loss surfaces J(w), w = (w_1, w_2), and optimizers walking them.

Surfaces evaluate J and its gradient on any stack of points (..., 2) in one numpy call, and know their
minimum, a plotting window, a start and a learning rate plain GD handles. J is a mean over N examples;
`minibatch_gradients` draws the gradient of J_B over a random batch B (the logistic regression samples
its real data, the analytic surfaces add the noise a batch mean would have). The optimizers are
dlteach.optim's update rules applied to one point w (2,): paths, losses and the rates they reach.
Everything is pure: the same arguments and seed give the same path.
"""

import numpy as np

from dlteach import optim
from dlteach._checks import positive, require_rng

__all__ = ["Surface", "Quadratic", "Rosenbrock", "Cliff", "LogisticRegression", "SURFACES", "make", "minibatch_std", "METHODS", "run", "run_many", "compare", "rate_view", "polyak_path", "distances", "measured_rate", "gd_rate", "momentum_rate", "optimal_gd", "optimal_momentum", "quadratic_rate"]


N_EXAMPLES = 128     # training-set size behind every surface: batch sizes run 1..128


def minibatch_std(sigma, batch_size, n):
    """sigma_B = sigma sqrt((N - B) / (B (N - 1))): the std of a mean of B of N values drawn without
    replacement, each with std sigma. B = N gives 0 (the full gradient), B = 1 gives sigma.
    """
    B = positive(batch_size, "minibatch_std", "batch_size", integer=True)
    if B > n:
        raise ValueError(f"minibatch_std: argument 'batch_size' is {B}; expected at most N = {n} examples")
    return 0.0 if n == 1 else sigma * np.sqrt((n - B) / (B * (n - 1)))


def _points(w, where):
    w = np.asarray(w, dtype=np.float64)
    if w.shape[-1:] != (2,):
        raise ValueError(f"{where}: argument 'w' has shape {w.shape}; expected points (..., 2)")
    return w


class Surface:
    """J(w) for w in R^2: loss(w) (..., 2) -> (...), gradient(w) (..., 2) -> (..., 2).

    Attributes: name, title, minimum (2,), bounds ((lo_1, hi_1), (lo_2, hi_2)), start (2,),
    lr (a step size plain GD handles), n_examples N, sigma (std of one example's gradient).
    """

    name = "surface"
    title = "J(w)"
    n_examples = N_EXAMPLES
    sigma = 1.0

    def loss(self, w):
        raise NotImplementedError

    def gradient(self, w):
        raise NotImplementedError

    def point_gradient(self, w):
        """The gradient at one point, no checks or broadcasting (the optimizers' inner loop): (2,) -> (2,)."""
        return self.gradient(w)

    @property
    def min_loss(self):
        return float(self.loss(self.minimum))

    def grid(self, resolution=160):
        """J on a resolution x resolution grid over bounds. Shapes: -> w1 (R,), w2 (R,), J (R, R) [w2, w1]."""
        (a, b), (c, d) = self.bounds
        w1, w2 = np.linspace(a, b, resolution), np.linspace(c, d, resolution)
        W = np.stack(np.meshgrid(w1, w2), axis=-1)              # (R, R, 2), rows follow w2
        return w1, w2, self.loss(W)

    def minibatch_gradients(self, batch_size, steps, rng):
        """A function g(t, w): the gradient of J_B at w for step t's batch B (|B| = batch_size), w (2,) -> (2,).

        All batches are drawn up front from rng: runs that share a seed share their noise. None or N: exact.
        """
        if batch_size is None or batch_size == self.n_examples:
            return lambda t, w: self.point_gradient(w)
        require_rng(rng, "Surface.minibatch_gradients")
        std = minibatch_std(self.sigma, batch_size, self.n_examples)
        noise = std * rng.standard_normal((steps, 2))          # (steps, 2)
        return lambda t, w: self.point_gradient(w) + noise[t]


class Quadratic(Surface):
    """J(w) = 1/2 w^T A w with A = R diag(1/kappa, 1) R^T (R a rotation by angle): condition number kappa.

    Eigenvalues 1/kappa and 1, so one step-size range serves every kappa; w* = 0. Shapes: w (..., 2) -> (...).
    """

    name = "quadratic"
    bounds = ((-2.2, 2.2), (-1.5, 1.5))
    sigma = 0.2

    def __init__(self, kappa=10.0, *, angle=0.0):
        self.kappa = float(positive(kappa, "Quadratic", "kappa"))
        if self.kappa < 1:
            raise ValueError(f"Quadratic: argument 'kappa' is {kappa!r}; a condition number is >= 1")
        c, s = np.cos(angle), np.sin(angle)
        R = np.array([[c, -s], [s, c]])
        self.eigenvalues = np.array([1.0 / self.kappa, 1.0])
        self.A = R @ np.diag(self.eigenvalues) @ R.T              # (2, 2)
        self.minimum = np.zeros(2)
        self.start = np.array([-2.0, 1.2])
        self.lr = 1.0
        self.title = f"quadratic, kappa = {self.kappa:g}"

    def loss(self, w):
        w = _points(w, "Quadratic.loss")
        return 0.5 * np.einsum("...i,ij,...j->...", w, self.A, w)

    def gradient(self, w):
        return _points(w, "Quadratic.gradient") @ self.A          # A is symmetric: A w

    def point_gradient(self, w):
        (a, b), (_, d) = self.A.tolist()                          # Python floats: ~10x faster than
        x, y = w.tolist()                                          # numpy calls on 2 numbers
        return np.array([a * x + b * y, b * x + d * y])


class Rosenbrock(Surface):
    """J(w) = (1 - w_1)^2 + b (w_2 - w_1^2)^2: a curved, narrow valley with its minimum at (1, 1).
    b = 10 rather than the classic 100 keeps a few hundred steps enough to see the valley end."""

    name = "rosenbrock"
    bounds = ((-2.0, 2.0), (-1.0, 3.0))
    sigma = 1.0

    def __init__(self, b=10.0):
        self.b = float(positive(b, "Rosenbrock", "b"))
        self.minimum = np.array([1.0, 1.0])
        self.start = np.array([-1.5, 2.5])
        self.lr = 0.01
        self.title = f"Rosenbrock, b = {self.b:g}"

    def loss(self, w):
        w = _points(w, "Rosenbrock.loss")
        x, y = w[..., 0], w[..., 1]
        return (1 - x) ** 2 + self.b * (y - x ** 2) ** 2

    def gradient(self, w):
        w = _points(w, "Rosenbrock.gradient")
        x, y = w[..., 0], w[..., 1]
        r = y - x ** 2
        return np.stack([-2 * (1 - x) - 4 * self.b * x * r, 2 * self.b * r], axis=-1)

    def point_gradient(self, w):
        x, y = w.tolist()
        r = y - x * x
        return np.array([-2 * (1 - x) - 4 * self.b * x * r, 2 * self.b * r])


def _softplus(z):
    return np.logaddexp(0.0, z)


def _sigmoid(z):
    return 0.5 * np.tanh(0.5 * z) + 0.5      # never overflows, unlike 1 / (1 + exp(-z))


class Cliff(Surface):
    """A bowl below a cliff: J(w) = a/2 r^2 + q/4 r^4 + S delta [softplus((e - w_2) / delta)
    - softplus((e - h - w_2) / delta)], r = ||w - c||. The bracket is a smoothed ramp: the loss falls
    with slope S for w_2 between e - h and e (the cliff face) and is flat above e. A step on the face is
    thrown S * eta away, where the quartic term makes the gradients larger still: plain GD blows up.
    Clipping bounds every step by eta tau.
    """

    name = "cliff"
    bounds = ((-3.0, 3.0), (-3.0, 2.5))
    sigma = 0.5

    def __init__(self, *, slope=400.0, height=0.5, width=0.05):
        self.a, self.q, self.edge = 1.0, 0.2, 0.0
        self.S = float(positive(slope, "Cliff", "slope"))
        self.h = float(positive(height, "Cliff", "height"))
        self.delta = float(positive(width, "Cliff", "width"))
        self.centre = np.array([0.5, 1.0])
        self.start = np.array([-1.5, -1.6])
        self.lr = 0.1
        self.minimum = np.array([self.centre[0], self._bottom()])
        self.title = "a cliff"

    def _bottom(self):
        # Near c the w_2 part of the gradient rises monotonically along w_1 = c_1: bisect for its zero.
        lo, hi = self.centre[1] - 0.5, self.centre[1] + 0.5
        for _ in range(100):
            mid = 0.5 * (lo + hi)
            if self.gradient(np.array([self.centre[0], mid]))[1] > 0:
                hi = mid
            else:
                lo = mid
        return 0.5 * (lo + hi)

    def _z(self, w2):
        return (self.edge - w2) / self.delta, (self.edge - self.h - w2) / self.delta

    def loss(self, w):
        w = _points(w, "Cliff.loss")
        d = w - self.centre
        r2 = np.sum(d * d, axis=-1)
        top, bottom = self._z(w[..., 1])
        ramp = self.S * self.delta * (_softplus(top) - _softplus(bottom))
        return 0.5 * self.a * r2 + 0.25 * self.q * r2 * r2 + ramp

    def gradient(self, w):
        w = _points(w, "Cliff.gradient")
        d = w - self.centre
        r2 = np.sum(d * d, axis=-1, keepdims=True)
        g = (self.a + self.q * r2) * d
        top, bottom = self._z(w[..., 1])
        g[..., 1] -= self.S * (_sigmoid(top) - _sigmoid(bottom))
        return g


class LogisticRegression(Surface):
    """J(w, b) = (1/N) sum_i log(1 + exp(-s_i (w x_i + b))): the cross-entropy of p(y=1|x) = sigmoid(w x + b)
    on N one-dimensional examples x_i with labels s_i = +-1 (a real, seeded data set). The inputs are not
    centred (mean 2), so w and b trade off: the valley is long and tilted. X (N,), s (N,); w (..., 2) is (w, b).
    """

    name = "logistic"
    title = "logistic regression on 128 points"

    def __init__(self, *, n=N_EXAMPLES, seed=0):
        self.n_examples = positive(n, "LogisticRegression", "n", integer=True)
        rng = np.random.default_rng(seed)
        self.X = rng.normal(2.0, 1.0, size=self.n_examples)                   # (N,)
        p = _sigmoid(1.5 * self.X - 3.0)                                       # labels from a true model
        self.s = np.where(rng.random(self.n_examples) < p, 1.0, -1.0)         # (N,)
        self.minimum = self._newton()
        w, b = self.minimum
        self.bounds = ((w - 2.5, w + 2.5), (b - 5.0, b + 5.0))
        self.start = np.array([w - 2.0, b + 4.0])
        self.lr = 0.5

    def _margins(self, w, X, s):
        return s * (w[..., :1] * X + w[..., 1:])                             # (..., N)

    def loss(self, w):
        w = _points(w, "LogisticRegression.loss")
        return _softplus(-self._margins(w, self.X, self.s)).mean(axis=-1)

    def _gradient_on(self, w, X, s):
        coef = -s * _sigmoid(-self._margins(w, X, s))                          # (..., B) dL_i/dz_i
        return np.stack([(coef * X).mean(axis=-1), coef.mean(axis=-1)], axis=-1)

    def gradient(self, w):
        return self._gradient_on(_points(w, "LogisticRegression.gradient"), self.X, self.s)

    def _newton(self):
        w = np.zeros(2)
        for _ in range(50):       # J is convex and the classes overlap: Newton converges fast
            p = _sigmoid(w[0] * self.X + w[1])
            F = np.stack([self.X, np.ones_like(self.X)], axis=1)               # (N, 2)
            H = (F * (p * (1 - p))[:, None]).T @ F / self.n_examples          # (2, 2)
            w = w - np.linalg.solve(H, self.gradient(w))
        return w

    def minibatch_gradients(self, batch_size, steps, rng):
        """The gradient of J_B over a real random batch B of the examples at each step (see Surface)."""
        if batch_size is None or batch_size == self.n_examples:
            return lambda t, w: self.gradient(w)
        require_rng(rng, "LogisticRegression.minibatch_gradients")
        B = positive(batch_size, "LogisticRegression.minibatch_gradients", "batch_size", integer=True)
        if B > self.n_examples:
            raise ValueError(f"LogisticRegression.minibatch_gradients: argument 'batch_size' is {B}; "
                             f"expected at most N = {self.n_examples}")
        idx = np.argsort(rng.random((steps, self.n_examples)), axis=1)[:, :B]  # (steps, B) without replacement
        Xb, sb = self.X[idx], self.s[idx]                                       # (steps, B)
        return lambda t, w: self._point_gradient_on(w, Xb[t], sb[t])

    def _point_gradient_on(self, w, X, s):
        w0, b0 = w.tolist()
        coef = -s * _sigmoid(-s * (w0 * X + b0))                  # (B,)
        return np.array([coef @ X, coef.sum()]) / len(X)

    def point_gradient(self, w):
        return self._point_gradient_on(w, self.X, self.s)

    def example_gradients(self, w):
        """The per-example gradients dL_i/d(w, b). Shapes: w (2,) -> (N, 2)."""
        w = _points(w, "LogisticRegression.example_gradients")
        coef = -self.s * _sigmoid(-self._margins(w, self.X, self.s))         # (N,)
        return np.stack([coef * self.X, coef], axis=1)


SURFACES = ("quadratic", "rosenbrock", "cliff", "logistic")


def make(name, *, kappa=10.0):
    """The surface called name (one of SURFACES); kappa is the quadratic's condition number."""
    makers = {"quadratic": lambda: Quadratic(kappa), "rosenbrock": Rosenbrock, "cliff": Cliff,
              "logistic": LogisticRegression}
    if name not in makers:
        raise ValueError(f"surfaces.make: argument 'name' is {name!r}; expected one of {list(SURFACES)}")
    return makers[name]()


METHODS = ("gd", "sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam")
BLOW_UP = 1e6        # |w| beyond this: the run has diverged and stops


class _Point:
    """A single parameter vector dressed as a dlteach model, so optim's optimizer classes can step it."""
    def __init__(self, w):
        self.w, self.g = w, np.zeros_like(w)

    def parameters(self):
        yield "w", self.w, self.g


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
        return lambda g: optim.adagrad_update(w, g, r, lr=lr)
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
    the running mean of the iterates after t0 (optim.PolyakAverage). (T+1, 2) -> (T+1, 2); NaN rows stay NaN.
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
    """run() for each method, each with its own np.random.default_rng(seed): the same batches. {method: run}."""
    return {m: run(surface, m, start, steps, rng=np.random.default_rng(seed), **settings) for m in methods}


def distances(path, minimum):
    """||w(t) - w*|| along a path. Shapes: path (T+1, 2), minimum (2,) -> (T+1,)."""
    return np.linalg.norm(np.asarray(path) - np.asarray(minimum), axis=-1)


def measured_rate(path, minimum, *, window=(0.5, 1.0)):
    """The rate rho in ||w(t) - w*|| ~ rho^t: exp of the least-squares slope of log ||w(t) - w*|| over the
    steps in window (fractions of the run; by default the late half, past the transient). path (T+1, 2) -> float.
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
    """The optimizer lab's runs: each method on surface with the same settings and batches; {method: run}.

    "polyak" is SGD's path averaged from step average_start (default steps // 2). AdaGrad, RMSProp and
    Adam take adaptive_lr (their step is ~eta whatever the gradient's size); the others take lr.
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
    """Everything the rate explorer shows for the quadratic with condition number kappa: {"lrs" (R,), "mus" (R,),
    "map" (R, R) momentum's rate over [mu, eta], "rate_gd", "rate_momentum" (the rates at lr, momentum), "best_gd"
    (eta*, rate), "best_momentum" (eta*, mu*, rate), "dist_gd", "dist_momentum" (steps+1,) the runs' distances to w*}.
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
