"""Universal approximation by hand (lesson 01): steps, bumps, staircases, ReLU hats, 2-D towers,
the deep sawtooth against its shallow equivalent, and a one-hidden-layer net trained by gradient descent.

Every network here is F(x) = c + sum_i v_i phi(w_i x + b_i) or a composition of such layers.
All functions are pure (no plotting, no widgets): the lesson, its widgets and the tests call them.
"""

from dataclasses import dataclass

import numpy as np

from dlteach import layers, losses, optim, train
from dlteach._checks import float_array, positive, require_rng
from dlteach.data import target_function
from dlteach.functional import sigmoid

__all__ = [
    "ShallowNet", "relu", "step", "bump", "bump_network", "staircase", "hat", "relu_interpolant",
    "as_sequential", "grid", "sup_error", "mean_error", "approximate", "error_vs_units",
    "loglog_slope", "fit_summary", "error_curves", "TARGETS_2D", "target_2d", "tower", "tower_network", "tent", "sawtooth",
    "sawtooth_closed_form", "sawtooth_network", "sawtooth_shallow", "count_linear_pieces",
    "shallow_units_needed", "depth_vs_width", "train_shallow",
]


def relu(x):
    """relu(x) = max(x, 0).  Shapes: any -> same."""
    return np.maximum(x, 0.0)


_PHI = {"sigmoid": sigmoid, "relu": relu}


@dataclass(frozen=True)
class ShallowNet:
    """F(x) = c + sum_i v_i phi(w_i x + b_i): one hidden layer of M units, one input, one output.

    Shapes: w, b, v (M,); c a float; x (N,) -> F(x) (N,).
    """

    w: np.ndarray
    b: np.ndarray
    v: np.ndarray
    c: float = 0.0
    activation: str = "sigmoid"

    def __post_init__(self):
        if self.activation not in _PHI:
            raise ValueError(f"ShallowNet: argument 'activation' is {self.activation!r}; "
                             f"expected one of {sorted(_PHI)}")
        shapes = {name: np.shape(getattr(self, name)) for name in ("w", "b", "v")}
        if len(set(shapes.values())) != 1 or len(shapes["w"]) != 1:
            raise ValueError(f"ShallowNet: arguments 'w', 'b', 'v' must be 1-D of one length M, got shapes {shapes}")

    @property
    def num_units(self):
        return len(self.w)

    def __call__(self, x):
        x = float_array(x, "ShallowNet", "x", ndim=1, allow_empty=True)
        h = np.multiply.outer(x, self.w)         # (N, M)
        h += self.b
        return _PHI[self.activation](h) @ self.v + self.c    # (N,)


def step(x, s, w):
    """sigma(w x + b) with b = -w s: a smoothed step from 0 to 1 at s = -b/w, sharper as w grows.

    Shapes: x any -> same.
    """
    return sigmoid(w * (np.asarray(x, dtype=float) - s))


def bump(x, left, right, height, w):
    """height * (sigma(w (x - left)) - sigma(w (x - right))): ~height on (left, right), ~0 outside.

    Shapes: x any -> same.
    """
    return height * (step(x, left, w) - step(x, right, w))


def _edges_heights(edges, heights, where):
    edges = float_array(edges, where, "edges", ndim=1)
    heights = float_array(heights, where, "heights", ndim=1)
    if len(edges) != len(heights) + 1:
        raise ValueError(f"{where}: {len(heights)} heights need {len(heights) + 1} edges, got {len(edges)} "
                         "edges; bump i spans edges[i] to edges[i + 1]")
    if np.any(np.diff(edges) <= 0):
        raise ValueError(f"{where}: argument 'edges' must be strictly increasing, got {np.round(edges, 4)}")
    return edges, heights


def bump_network(edges, heights, *, w):
    """F(x) = sum_i heights_i (sigma(w (x - e_i)) - sigma(w (x - e_{i+1}))): two sigmoid units per bump.

    Bump i sits on [edges[i], edges[i+1]]. Unit 2i steps up at e_i (v = +h_i), unit 2i+1 steps
    down at e_{i+1} (v = -h_i); each has weight w and bias b = -w * edge.
    Shapes: edges (n+1,), heights (n,) -> a ShallowNet with M = 2n sigmoid units.
    """
    edges, heights = _edges_heights(edges, heights, "bump_network")
    w = positive(w, "bump_network", "w")
    s = np.stack([edges[:-1], edges[1:]], axis=1).ravel()        # (2n,) step positions
    v = np.stack([heights, -heights], axis=1).ravel()            # (2n,) up, then down
    ws = np.full(len(s), float(w))
    return ShallowNet(ws, -ws * s, v, 0.0, "sigmoid")


def _interval(low, high, where):
    if not high > low:
        raise ValueError(f"{where}: arguments 'low' and 'high' must satisfy low < high, got {low!r} and {high!r}")


def _cells(low, high, n, where):
    """Edges and midpoints of n equal cells on [low, high], the two outer edges pushed one cell outwards.

    A step sits at half height on its edge: pushing the outer edges out keeps F from dropping to
    f/2 at the ends of the interval. Shapes: -> edges (n+1,), mids (n,).
    """
    n = positive(n, where, "n", integer=True)
    _interval(low, high, where)
    edges = np.linspace(low, high, n + 1)                        # (n+1,)
    mids = 0.5 * (edges[:-1] + edges[1:])                        # (n,)
    width = (high - low) / n
    edges[0] -= width
    edges[-1] += width
    return edges, mids


def staircase(f, n, *, w, low=-1.0, high=1.0):
    """n bumps over n equal cells of [low, high], bump i at height f(midpoint_i): F tracks f as a staircase.

    The first and last bumps reach one cell past the interval, so the ends are not half-height.
    Shapes: f maps (K,) -> (K,); returns a ShallowNet with 2n sigmoid units.
    """
    edges, mids = _cells(low, high, n, "staircase")
    return bump_network(edges, f(mids), w=w)


def hat(x, left, peak, right):
    """relu(x - l)/(p - l) - relu(x - p)(1/(p - l) + 1/(r - p)) + relu(x - r)/(r - p): 1 at p, 0 outside (l, r).

    Three ReLUs make a hat (tent) function. Shapes: x any -> same.
    """
    if not left < peak < right:
        raise ValueError(f"hat: arguments must satisfy left < peak < right, got {left!r}, {peak!r}, {right!r}")
    x = np.asarray(x, dtype=float)
    a, b = 1.0 / (peak - left), 1.0 / (right - peak)
    return a * relu(x - left) - (a + b) * relu(x - peak) + b * relu(x - right)


def relu_interpolant(f, n, *, low=-1.0, high=1.0):
    """F = sum_j f(t_j) hat_j: the piecewise-linear interpolant of f at n + 1 evenly spaced knots t_j.

    As a network: F(x) = f(t_0) + sum_j (s_j - s_{j-1}) relu(x - t_j), with s_j the slope on
    [t_j, t_{j+1}] and s_{-1} = 0: one ReLU per knot where the slope changes.
    Shapes: returns a ShallowNet with n ReLU units, exact at the knots.
    """
    n = positive(n, "relu_interpolant", "n", integer=True)
    _interval(low, high, "relu_interpolant")
    t = np.linspace(low, high, n + 1)                            # (n+1,)
    ft = f(t)
    slopes = np.diff(ft) / np.diff(t)                            # (n,)
    v = np.diff(slopes, prepend=0.0)                             # (n,) change of slope at t_0..t_{n-1}
    ones = np.ones(n)
    return ShallowNet(ones, -t[:-1], v, float(ft[0]), "relu")


def as_sequential(net, *, rng):
    """The same F as a dlteach model: Linear(1, M) -> Sigmoid or ReLU -> Linear(M, 1).

    Shapes: the model maps x (N, 1) -> F (N, 1).
    """
    M = net.num_units
    first, second = layers.Linear(1, M, rng=rng), layers.Linear(M, 1, rng=rng)
    first.params["W"][...] = net.w[None, :]                      # (1, M)
    first.params["b"][...] = net.b                               # (M,)
    second.params["W"][...] = net.v[:, None]                     # (M, 1)
    second.params["b"][...] = net.c
    act = layers.Sigmoid() if net.activation == "sigmoid" else layers.ReLU()
    return layers.Sequential(first, act, second)


def grid(low=-1.0, high=1.0, n=2001):
    """n evenly spaced points on [low, high], where errors are measured.  Shapes: -> (n,)."""
    _interval(low, high, "grid")
    return np.linspace(low, high, positive(n, "grid", "n", integer=True))


def sup_error(F, f, x):
    """max_x |F(x) - f(x)| over the points x: the epsilon of the theorem, measured on a grid.

    Shapes: x (K,) -> float.
    """
    return float(np.max(np.abs(F(x) - f(x))))


def mean_error(F, f, x):
    """(1/K) sum_x |F(x) - f(x)|: the average error over the points x.  Shapes: x (K,) -> float."""
    return float(np.mean(np.abs(F(x) - f(x))))


def _target(target):
    return target_function(target) if isinstance(target, str) else target


def approximate(target, n, *, kind="sigmoid", w=None, low=-1.0, high=1.0):
    """The hand-built net for a target: kind "sigmoid" is staircase(f, n, w=w), "relu" is relu_interpolant(f, n).

    target: a name from dlteach.data.TARGETS or a function. With w=None the steepness grows with n,
    w = 40 n / (high - low), so each step takes about a tenth of a bump's width.
    Shapes: -> a ShallowNet (2n sigmoid units or n ReLU units).
    """
    f = _target(target)
    if kind == "sigmoid":
        return staircase(f, n, w=40.0 * n / (high - low) if w is None else w, low=low, high=high)
    if kind == "relu":
        return relu_interpolant(f, n, low=low, high=high)
    raise ValueError(f"approximate: argument 'kind' is {kind!r}; expected 'sigmoid' or 'relu'")


def error_vs_units(target, ns, *, kind="sigmoid", low=-1.0, high=1.0, points=2001):
    """sup error of approximate(target, n, kind=kind) for each n in ns, with w growing as 40 n / (high - low).

    Shapes: ns (K,) -> (units (K,) hidden units used, errors (K,) sup errors).
    """
    f = _target(target)
    x = grid(low, high, points)
    ns = np.asarray(ns, dtype=int)
    nets = [approximate(f, int(n), kind=kind, low=low, high=high) for n in ns]
    units = np.array([net.num_units for net in nets])
    return units, np.array([sup_error(net, f, x) for net in nets])


def loglog_slope(units, errors):
    """p in errors ~ C * units^p: the least-squares slope of log(errors) against log(units).

    Shapes: units (K,), errors (K,) -> float (about -1 for staircases, -2 for ReLU interpolants of smooth f).
    """
    units, errors = np.asarray(units, dtype=float), np.asarray(errors, dtype=float)
    if np.any(errors <= 0) or np.any(units <= 0):
        raise ValueError("loglog_slope: arguments 'units' and 'errors' must be positive to take logarithms, "
                         f"got min units {units.min()} and min error {errors.min()}")
    return float(np.polyfit(np.log(units), np.log(errors), 1)[0])


def fit_summary(target, n, *, w=None, kind="sigmoid", points=801):
    """What the N-units widget shows: f and F = approximate(target, n, kind=kind, w=w) on [-1, 1], and the sup error.

    Returns a dict: x, f, F (points,), units, sup_error, mean_error.
    """
    f = _target(target)
    net = approximate(f, n, kind=kind, w=w)
    x = grid(-1.0, 1.0, points)                                  # (points,)
    fx, Fx = f(x), net(x)
    err = np.abs(Fx - fx)
    return {"x": x, "f": fx, "F": Fx, "units": net.num_units,
            "sup_error": float(err.max()), "mean_error": float(err.mean())}


def error_curves(target, ns=(2, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96), *, points=1001, fit_from=8):
    """Sup error against hidden units for the sigmoid staircase and the ReLU interpolant of one target.

    The slope is loglog_slope over the points with n >= fit_from bumps or knots only: with fewer, the
    cells are so coarse that the error is capped near max|f| (about 1) and the power law has not set in,
    which would bend the fitted line (sin's staircase fits -0.92 over all points, -0.99 from 8 on).
    Returns {kind: (units (K,), errors (K,), slope)}; slope is nan when an error in the fitted range
    is 0 (an exact fit) so no power law applies.
    """
    ns = np.asarray(ns, dtype=int)
    fitted = ns >= fit_from
    if np.count_nonzero(fitted) < 2:
        raise ValueError(f"error_curves: argument 'fit_from' is {fit_from}; at least two of ns = {ns.tolist()} "
                         "must reach it to fit a slope")
    out = {}
    for kind in ("sigmoid", "relu"):
        units, errors = error_vs_units(target, ns, kind=kind, points=points)
        exact = not np.all(errors[fitted] > 0)
        slope = float("nan") if exact else loglog_slope(units[fitted], errors[fitted])
        out[kind] = (units, errors, slope)
    return out


TARGETS_2D = {
    "peak": lambda x, y: np.exp(-4.0 * (x * x + y * y)),
    "ripple": lambda x, y: 0.5 + 0.5 * np.sin(np.pi * x) * np.cos(np.pi * y),
    "ridge": lambda x, y: np.exp(-6.0 * (x - y) ** 2),
}


def target_2d(name):
    """f(x, y) on [-1, 1]^2 by name: "peak", "ripple" or "ridge".  Shapes: (K, L), (K, L) -> (K, L)."""
    if name not in TARGETS_2D:
        raise ValueError(f"target_2d: argument 'name' is {name!r}; expected one of {list(TARGETS_2D)}")
    return TARGETS_2D[name]


def tower(x, y, x_edges, y_edges, height, *, w, w_out=None):
    """height * sigma(w_out (bump_x(x) + bump_y(y) - 3/2)): a tower over the rectangle x_edges x y_edges.

    bump_x + bump_y is 2 on the rectangle, 1 on the cross-shaped arms, 0 elsewhere; the output unit
    thresholds at 3/2 to keep only the rectangle. w_out defaults to w / 4.
    Shapes: x, y broadcastable (e.g. (K, 1) and (1, L)) -> their broadcast shape.
    """
    w_out = w / 4.0 if w_out is None else w_out
    plus = bump(x, *x_edges, 1.0, w) + bump(y, *y_edges, 1.0, w)
    return height * sigmoid(w_out * (plus - 1.5))


def tower_network(f2, n, *, w, low=-1.0, high=1.0, points=61):
    """F(x, y) = sum_ij f2(c_i, c_j) sigma(w_out (bx_i(x) + by_j(y) - 3/2)) over an n x n grid of towers.

    Two hidden layers: 2 (n + 1) step units (n + 1 edges in x and in y, shared by all towers), then
    n^2 threshold units, one per tower; w_out = w / 4.
    Shapes: -> (xs (points,), F (points, points) indexed [y, x], f2 on the same grid, units (first, second)).
    """
    edges, mids = _cells(low, high, n, "tower_network")          # (n+1,), (n,)
    xs = np.linspace(low, high, points)                          # (P,)
    steps = sigmoid(w * (xs[:, None] - edges[None, :]))          # (P, n+1): shared by x and y
    bumps = steps[:, :-1] - steps[:, 1:]                         # (P, n)
    heights = f2(mids[None, :], mids[:, None])                   # (n, n) indexed [j (y), i (x)]
    P, n = bumps.shape
    pre = bumps[:, None, :, None] + bumps[None, :, None, :]     # (Py, Px, n_y, n_x)
    pre -= 1.5
    pre *= w / 8.0                                               # sigma(z) = (1 + tanh(z / 2)) / 2
    np.tanh(pre, out=pre)
    F = pre.reshape(P * P, n * n) @ (0.5 * heights.ravel())      # (Py * Px,)
    F = F.reshape(P, P) + 0.5 * heights.sum()                    # (Py, Px)
    truth = f2(xs[None, :], xs[:, None])                         # (Py, Px)
    return xs, F, truth, (2 * (n + 1), n * n)


def tent(x):
    """g(x) = 2 relu(x) - 4 relu(x - 1/2): up from 0 to 1 on [0, 1/2], down to 0 on [1/2, 1].  Shapes: any."""
    return 2.0 * relu(x) - 4.0 * relu(x - 0.5)


def sawtooth(x, k):
    """g^k(x) = g(g(...g(x))) with k tents: 2^(k-1) teeth, 2^k linear pieces on [0, 1].  Shapes: any."""
    k = positive(k, "sawtooth", "k", integer=True)
    out = np.asarray(x, dtype=float)
    for _ in range(k):
        out = tent(out)
    return out


def sawtooth_closed_form(x, k):
    """g^k(x) = 1 - |1 - 2 frac(2^(k-1) x)| for x in [0, 1]: a triangle wave of period 2^(1-k).  Shapes: any."""
    k = positive(k, "sawtooth_closed_form", "k", integer=True)
    u = 2.0 ** (k - 1) * np.asarray(x, dtype=float)
    return 1.0 - np.abs(1.0 - 2.0 * (u - np.floor(u)))


def sawtooth_network(k, *, rng):
    """g^k as a dlteach model: k blocks Linear(1, 2) -> ReLU -> Linear(2, 1), 2k hidden units in all.

    Each block computes the tent: units relu(x) and relu(x - 1/2), output 2 u_1 - 4 u_2.
    Shapes: the model maps x (N, 1) -> g^k(x) (N, 1).
    """
    k = positive(k, "sawtooth_network", "k", integer=True)
    blocks = []
    for _ in range(k):
        inner, outer = layers.Linear(1, 2, rng=rng), layers.Linear(2, 1, rng=rng)
        inner.params["W"][...] = [[1.0, 1.0]]
        inner.params["b"][...] = [0.0, -0.5]
        outer.params["W"][...] = [[2.0], [-4.0]]
        outer.params["b"][...] = 0.0
        blocks += [inner, layers.ReLU(), outer]
    return layers.Sequential(*blocks)


def sawtooth_shallow(k):
    """The same g^k on [0, 1] with ONE hidden layer: a ReLU at each of the 2^k breakpoints j / 2^k, j < 2^k.

    Slopes alternate +2^k and -2^k, so the first unit has v = 2^k and every later one v = -+2^(k+1).
    Shapes: returns a ShallowNet with 2^k ReLU units.
    """
    k = positive(k, "sawtooth_shallow", "k", integer=True)
    P = 2 ** k
    t = np.arange(P) / P                                         # (P,) breakpoints, the first at 0
    v = np.where(np.arange(P) % 2 == 1, -2.0, 2.0) * P           # slope change at each breakpoint
    v[0] = P                                                     # from slope 0 to +2^k at x = 0
    return ShallowNet(np.ones(P), -t, v, 0.0, "relu")


def count_linear_pieces(F, low, high, points):
    """Number of maximal intervals on which F is linear, from slopes between neighbouring grid points.

    Exact for g^k on a dyadic grid (points - 1 a power of 2 larger than 2^k): every value is a dyadic
    rational, so the slopes +-2^k come out exactly. Shapes: F maps (K,) -> (K,); -> int.
    """
    x = np.linspace(low, high, points)
    slopes = np.diff(F(x)) / np.diff(x)                          # (K-1,)
    return int(1 + np.count_nonzero(~np.isclose(slopes[1:], slopes[:-1], rtol=1e-9, atol=1e-9)))


def shallow_units_needed(k):
    """2^k - 1: a one-hidden-layer ReLU net on a line bends at most once per unit, so 2^k pieces need 2^k - 1 units."""
    return 2 ** positive(k, "shallow_units_needed", "k", integer=True) - 1


def depth_vs_width(k, *, points=1025):
    """The deep sawtooth g^k (2k units) next to a shallow net with the same 2k units.

    The shallow net has ReLUs at 2k evenly spaced knots in [0, 1) and output weights fitted by least
    squares to g^k: the best such net in mean squared error, not in sup error. With fewer than 2^k - 1
    units no shallow net beats sup error 1/2 (the flat line 1/2, with no units at all, reaches it):
    g^k alternates between 0 and 1 at x = j / 2^k, so a net within 1/2 everywhere would cross 1/2
    upwards and downwards 2^k times, and each turn from up to down costs a bend, one per unit.
    Returns a dict: x (points,), deep, shallow (points,), deep_units, shallow_units_needed,
    shallow_sup_error, shallow_rms_error (root mean square of shallow - deep), best_shallow_sup_error
    (1/2 when 2k < 2^k - 1, else 0), pieces.
    """
    k = positive(k, "depth_vs_width", "k", integer=True)
    x = np.linspace(0.0, 1.0, points)                            # (P,)
    deep = sawtooth(x, k)                                        # (P,)
    knots = np.arange(2 * k) / (2 * k)                           # (2k,)
    A = np.column_stack([np.ones_like(x), relu(x[:, None] - knots[None, :])])   # (P, 2k+1)
    # Normal equations on a (2k+1)-square system: tiny, and cheaper than lstsq's SVD on a busy machine.
    coef = np.linalg.solve(A.T @ A, A.T @ deep)                  # (2k+1,)
    shallow = A @ coef                                           # (P,)
    gap = shallow - deep                                         # (P,)
    return {
        "x": x, "deep": deep, "shallow": shallow, "deep_units": 2 * k,
        "shallow_units_needed": shallow_units_needed(k),
        "shallow_sup_error": float(np.max(np.abs(gap))),
        "shallow_rms_error": float(np.sqrt(np.mean(gap ** 2))),
        "best_shallow_sup_error": 0.5 if 2 * k < shallow_units_needed(k) else 0.0,
        "pieces": 2 ** k,
    }


def train_shallow(target, units, *, rng, epochs=1500, lr=0.02, points=200, progress=False):
    """Fit F(x) = c + sum_i v_i sigma(w_i x + b_i) to f on [-1, 1] by full-batch gradient descent (Adam) on
    the squared error.

    The first layer starts with w_i ~ N(0, 5^2) and b_i ~ U(-5, 5), so the initial steps sit at
    s = -b/w spread over the interval instead of all at 0.
    Shapes: -> (model mapping (N, 1) -> (N, 1), history dict from train.fit).
    """
    f = _target(target)
    require_rng(rng, "train_shallow")
    units = positive(units, "train_shallow", "units", integer=True)
    x = np.linspace(-1.0, 1.0, positive(points, "train_shallow", "points", integer=True))[:, None]   # (P, 1)
    first = layers.Linear(1, units, rng=rng, init=5.0)
    first.params["b"][...] = rng.uniform(-5.0, 5.0, size=units)
    model = layers.Sequential(first, layers.Sigmoid(), layers.Linear(units, 1, rng=rng, init="glorot"))
    history = train.fit(model, losses.mse, optim.Adam(model, lr=lr), (x, f(x)), epochs,
                        batch_size=len(x), rng=None, progress=progress)
    return model, history
