"""Optimizers that own their state and update a model's arrays in place: SGD (momentum, Nesterov,
weight decay, clipping), RMSProp, Adam, and Polyak averaging of the parameters.

The update rules are also plain functions on arrays (sgd_update, clip_by_norm, ...) so that a
lesson can run them on a 2-D loss surface without a model.
"""

from contextlib import contextmanager

import numpy as np

from dlteach._checks import positive


def clip_by_norm(grads, tau):
    """If ||g|| > tau then g <- tau g / ||g||, with ||g|| the norm of all gradients together.

    grads: a list of arrays, scaled in place. Returns the norm before clipping.
    """
    norm = float(np.sqrt(sum(float(np.vdot(g, g)) for g in grads)))
    if norm > tau:
        for g in grads:
            g *= tau / norm
    return norm


def sgd_update(w, g, v, *, lr, momentum=0.0, nesterov=False):
    """v <- mu v - eta g;  w <- w + v (heavy ball), or w <- w + mu v - eta g (Nesterov).

    Updates w and v in place (v is unused when momentum is 0). Shapes: w, g, v alike.
    With lr = 0 a point at rest stays; a velocity v still carries w on (by mu v, or mu^2 v for Nesterov).
    """
    if momentum:
        v *= momentum
        v -= lr * g
        if nesterov:
            w += momentum * v - lr * g
        else:
            w += v
    else:
        w -= lr * g
    return w


def adagrad_update(w, g, r, *, lr, eps=1e-8):
    """r <- r + g^2;  w <- w - eta g / (sqrt(r) + eps): each coordinate's step shrinks with its history.

    Updates w and r in place. Shapes: w, g, r alike.
    """
    r += g * g
    w -= lr * g / (np.sqrt(r) + eps)
    return w


def _model_parameters(model, where):
    if not hasattr(model, "parameters"):
        raise TypeError(f"{where}: argument 'model' must be a Layer (with .parameters()), "
                        f"got {type(model).__name__}")
    params = [(name, p) for name, p, _ in model.parameters()]
    if not params:
        raise ValueError(f"{where}: the model has no parameters to optimize")
    return params


class Optimizer:
    """Base: keeps the model, its parameter arrays and the hyper-parameters shared by all."""

    def __init__(self, model, lr, weight_decay=0.0, clip_norm=None):
        where = type(self).__name__
        self.model = model
        self.names = [name for name, _ in _model_parameters(model, where)]
        self.lr = positive(lr, where, "lr")
        self.weight_decay = positive(weight_decay, where, "weight_decay", allow_zero=True)
        self.clip_norm = None if clip_norm is None else positive(clip_norm, where, "clip_norm")
        self.steps = 0
        self.last_grad_norm = None

    def _gradients(self):
        """The model's (param, grad) pairs after clipping and weight decay: J = L + lambda/2 ||w||^2."""
        pairs = []
        for name, p, g in self.model.parameters():
            if g is None:
                raise RuntimeError(f"{type(self).__name__}.step: parameter '{name}' has no gradient; "
                                   "call backward before step")
            pairs.append((p, g))
        grads = [g for _, g in pairs]
        if self.clip_norm is not None:
            grads = [g.copy() for g in grads]     # clipping must not change the model's stored grads
            self.last_grad_norm = clip_by_norm(grads, self.clip_norm)
        if self.weight_decay:
            grads = [g + self.weight_decay * p for (p, _), g in zip(pairs, grads)]
        return [(p, g) for (p, _), g in zip(pairs, grads)]

    def step(self):
        self.steps += 1
        for k, (p, g) in enumerate(self._gradients()):
            self._update(k, p, g)

    def _update(self, k, p, g):
        raise NotImplementedError


class SGD(Optimizer):
    """w <- w - eta g; with momentum mu: v <- mu v - eta g, w <- w + v; Nesterov looks ahead by mu v.

    weight_decay lambda adds lambda w to g; clip_norm tau rescales g to norm tau when larger.
    """

    def __init__(self, model, lr, *, momentum=0.0, nesterov=False, weight_decay=0.0, clip_norm=None):
        super().__init__(model, lr, weight_decay, clip_norm)
        if isinstance(momentum, bool) or not isinstance(momentum, (int, float)) or not 0 <= momentum < 1:
            raise ValueError(f"SGD: argument 'momentum' must satisfy 0 <= momentum < 1, got {momentum!r}")
        if nesterov and not momentum:
            raise ValueError("SGD: nesterov=True needs a momentum > 0, got momentum=0")
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)
        self.velocity = [np.zeros_like(p) for _, p, _ in model.parameters()] if momentum else None

    def _update(self, k, p, g):
        sgd_update(p, g, self.velocity[k] if self.momentum else None,
                   lr=self.lr, momentum=self.momentum, nesterov=self.nesterov)


class RMSProp(Optimizer):
    """r <- alpha r + (1 - alpha) g^2;  w <- w - eta g / (sqrt(r) + eps).

    Steps are large for parameters whose gradients have been small so far.
    """

    def __init__(self, model, lr=0.01, *, alpha=0.99, eps=1e-8, weight_decay=0.0, clip_norm=None):
        super().__init__(model, lr, weight_decay, clip_norm)
        if not 0 <= alpha < 1:
            raise ValueError(f"RMSProp: argument 'alpha' must satisfy 0 <= alpha < 1, got {alpha!r}")
        self.alpha, self.eps = float(alpha), positive(eps, "RMSProp", "eps")
        self.square_avg = [np.zeros_like(p) for _, p, _ in model.parameters()]

    def _update(self, k, p, g):
        r = self.square_avg[k]
        r *= self.alpha
        r += (1 - self.alpha) * g * g
        p -= self.lr * g / (np.sqrt(r) + self.eps)


class Adam(Optimizer):
    """m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g^2;  w <- w - eta m_hat / (sqrt(v_hat) + eps),
    with the bias corrections m_hat = m / (1 - b1^t), v_hat = v / (1 - b2^t)."""

    def __init__(self, model, lr=1e-3, *, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, clip_norm=None):
        super().__init__(model, lr, weight_decay, clip_norm)
        b1, b2 = betas
        if not (0 <= b1 < 1 and 0 <= b2 < 1):
            raise ValueError(f"Adam: argument 'betas' must both lie in [0, 1), got {betas!r}")
        self.b1, self.b2, self.eps = float(b1), float(b2), positive(eps, "Adam", "eps")
        self.m = [np.zeros_like(p) for _, p, _ in model.parameters()]
        self.v = [np.zeros_like(p) for _, p, _ in model.parameters()]

    def _update(self, k, p, g):
        m, v, t = self.m[k], self.v[k], self.steps
        m *= self.b1
        m += (1 - self.b1) * g
        v *= self.b2
        v += (1 - self.b2) * g * g
        step = self.lr / (1 - self.b1 ** t)
        denom = np.sqrt(v / (1 - self.b2 ** t))
        denom += self.eps
        p -= step * m / denom


class PolyakAverage:
    """w_bar(t) = w_bar(t-1) + (w(t) - w_bar(t-1)) / (t - t0): the running mean of the iterates.

    Call update() after each optimizer step; steps before `start` are not averaged.
    `with avg.swapped(): ...` puts the averaged weights into the model for evaluation.
    """

    def __init__(self, model, *, start=0):
        self.model = model
        self.names = [name for name, _ in _model_parameters(model, "PolyakAverage")]
        self.start = positive(start, "PolyakAverage", "start", allow_zero=True, integer=True)
        self.t = 0
        self.average = {name: p.copy() for name, p, _ in model.parameters()}

    def update(self):
        self.t += 1
        if self.t <= self.start:
            for name, p, _ in self.model.parameters():
                self.average[name][...] = p
            return
        k = self.t - self.start
        for name, p, _ in self.model.parameters():
            w_bar = self.average[name]
            w_bar += (p - w_bar) / k

    @contextmanager
    def swapped(self):
        """Temporarily load the averaged parameters into the model (restored afterwards)."""
        saved = {name: p.copy() for name, p, _ in self.model.parameters()}
        try:
            for name, p, _ in self.model.parameters():
                p[...] = self.average[name]
            yield self.model
        finally:
            for name, p, _ in self.model.parameters():
                p[...] = saved[name]
