"""Two-parameter loss surfaces J(w), w = (w_1, w_2), with exact and minibatch gradients (lesson 05).

Every surface evaluates J and its gradient on any stack of points (..., 2) at once, so a contour
grid, a whole trajectory or a single point cost one numpy call. Each knows its minimum, a plotting
window, a starting point and a learning rate that works for plain gradient descent.

J is the mean of a loss over N training examples. `minibatch_gradients` draws the gradient of J_B,
the mean over a random batch B of the examples: the logistic regression samples its real data;
the analytic surfaces add the noise a batch mean of B per-example gradients would have.
"""

import numpy as np

from dlteach._checks import positive, require_rng

__all__ = ["Surface", "Quadratic", "Rosenbrock", "Cliff", "LogisticRegression", "SURFACES", "make",
           "minibatch_std"]

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
        """The gradient at one point, without the checks and broadcasting: the optimizers' inner loop.

        Shapes: w (2,) -> (2,).
        """
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
        """A function g(t, w): the gradient of J_B at w for step t's batch B (|B| = batch_size).

        The batches for all steps are drawn up front from rng, so runs that share a seed share
        their noise. batch_size None or N gives the exact gradient. Shapes: w (2,) -> (2,).
        """
        if batch_size is None or batch_size == self.n_examples:
            return lambda t, w: self.point_gradient(w)
        require_rng(rng, "Surface.minibatch_gradients")
        std = minibatch_std(self.sigma, batch_size, self.n_examples)
        noise = std * rng.standard_normal((steps, 2))          # (steps, 2)
        return lambda t, w: self.point_gradient(w) + noise[t]


class Quadratic(Surface):
    """J(w) = 1/2 w^T A w with A = R diag(1/kappa, 1) R^T (R a rotation by angle): condition number kappa.

    Eigenvalues lambda_min = 1/kappa, lambda_max = 1, so one step-size range serves every kappa;
    the minimum is w* = 0. Shapes: w (..., 2) -> (...).
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

    b = 10 rather than the classic 100 keeps a few hundred steps enough to see the valley end.
    """

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
    - softplus((e - h - w_2) / delta)], r = ||w - c||.

    The bracket is a smoothed ramp: for w_2 between e - h and e the loss falls with slope S (the
    cliff face), above e it is flat. A step taken on the face gets a gradient of size ~S and is
    thrown S * eta away, where the quartic term (weights that have exploded) makes the gradients
    larger still: plain GD blows up. Clipping bounds every step by eta tau.
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
    on N one-dimensional examples x_i with labels s_i = +-1 (a real, seeded data set).

    The inputs are not centred (mean 2), so w and b trade off: the valley is long and tilted.
    Shapes: X (N,), s (N,); w (..., 2) holds (w, b).
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
    if name == "quadratic":
        return Quadratic(kappa)
    if name == "rosenbrock":
        return Rosenbrock()
    if name == "cliff":
        return Cliff()
    if name == "logistic":
        return LogisticRegression()
    raise ValueError(f"surfaces.make: argument 'name' is {name!r}; expected one of {list(SURFACES)}")
