"""The registry of every layer and loss under test: one small float64 case each.

tests/unit/test_gradients.py fails if a layer exported by dlteach.layers is missing here, so a new
layer cannot go unchecked.
"""

import numpy as np

from dlteach import layers, losses


def away_from_kinks(x, margin=1e-2):
    """Move entries off ReLU's kink at 0, where central differences are not defined."""
    return np.where(np.abs(x) < margin, np.copysign(margin, x) * 3, x)


def distinct(x):
    """Spread entries so that no two in a pooling window are within the finite-difference step."""
    flat = np.argsort(np.argsort(x.reshape(-1))).reshape(x.shape)
    return flat * 0.01 + x * 1e-3


def tied_windows(x, K, stride):
    """The fraction of MaxPool2d's K x K windows (at this stride) whose maximum occurs more than once.
    Shapes: x (N, C, H, W) -> float."""
    windows = np.lib.stride_tricks.sliding_window_view(x, (K, K), axis=(2, 3))[:, :, ::stride, ::stride]
    maxima = (windows == windows.max(axis=(-2, -1), keepdims=True)).sum(axis=(-2, -1))   # (N, C, Ho, Wo)
    return float((maxima > 1).mean())


class FixedMaskDropout(layers.Dropout):
    """Dropout whose mask is the same on every forward, so that finite differences see one function."""

    def forward(self, x):
        self.rng = np.random.default_rng(1234)
        return super().forward(x)


def _lstm(rng):
    layer = layers.LSTM(3, 4, rng=rng)
    layer.params["b"][:] = rng.standard_normal(16) * 0.5   # non-zero biases exercise every gate path
    return layer


def _rnn(rng):
    layer = layers.RNN(3, 4, rng=rng)
    layer.params["b"][:] = rng.standard_normal(4) * 0.5
    return layer


def _gru(rng):
    layer = layers.GRU(3, 4, rng=rng)
    layer.params["b"][:] = rng.standard_normal(12) * 0.5
    layer.params["bhn"][:] = rng.standard_normal(4) * 0.5   # inside r * (.): its own gradient path
    return layer


def _batchnorm(cls, rng, shape, *, eval_mode=False):
    """A BatchNorm with random gamma and beta; in eval mode, with running statistics from a few batches."""
    layer = cls(shape[1], momentum=0.3)
    layer.params["gamma"][:] = rng.standard_normal(shape[1])
    layer.params["beta"][:] = rng.standard_normal(shape[1])
    if eval_mode:
        for _ in range(3):
            layer.forward(rng.standard_normal(shape) * 2 + 1)
        layer.eval()
    return layer


def _linear(rng):
    layer = layers.Linear(4, 3, rng=rng)
    layer.params["b"][:] = rng.standard_normal(3)
    return layer


def _conv(rng, **kw):
    kw = {"kernel_size": 3, **kw}
    layer = layers.Conv2d(2, 3, rng=rng, **kw)
    layer.params["b"][:] = rng.standard_normal(3)
    return layer


# name -> (factory(rng) -> layer, input(rng) -> x)
LAYER_CASES = {
    "Linear": (_linear, lambda rng: rng.standard_normal((5, 4))),
    "ReLU": (lambda rng: layers.ReLU(), lambda rng: away_from_kinks(rng.standard_normal((5, 4)))),
    "Sigmoid": (lambda rng: layers.Sigmoid(), lambda rng: rng.standard_normal((5, 4)) * 3),
    "Tanh": (lambda rng: layers.Tanh(), lambda rng: rng.standard_normal((5, 4))),
    "Dropout": (lambda rng: FixedMaskDropout(0.3, rng=rng), lambda rng: rng.standard_normal((6, 5))),
    "Flatten": (lambda rng: layers.Flatten(), lambda rng: rng.standard_normal((2, 3, 2, 2))),
    "Conv2d": (lambda rng: _conv(rng, padding=1), lambda rng: rng.standard_normal((2, 2, 5, 5))),
    "Conv2d-stride": (lambda rng: _conv(rng, stride=2, padding=2), lambda rng: rng.standard_normal((2, 2, 6, 7))),
    # Pairs (after d2l.ai 7.3): kernel (5, 3), padding (2, 1), stride (3, 4) on an 8 x 8 input -> 3 x 2.
    "Conv2d-pairs": (lambda rng: _conv(rng, kernel_size=(5, 3), padding=(2, 1), stride=(3, 4)),
                     lambda rng: rng.standard_normal((2, 2, 8, 8))),
    "MaxPool2d": (lambda rng: layers.MaxPool2d(2), lambda rng: distinct(rng.standard_normal((2, 2, 4, 6)))),
    "MaxPool2d-overlap": (lambda rng: layers.MaxPool2d(3, stride=2),
                          lambda rng: distinct(rng.standard_normal((2, 2, 7, 7)))),
    "MaxPool2d-padding": (lambda rng: layers.MaxPool2d((3, 2), stride=(2, 1), padding=(1, 1)),
                          lambda rng: distinct(rng.standard_normal((2, 2, 7, 6)))),
    "RNN": (_rnn, lambda rng: rng.standard_normal((2, 5, 3))),
    "LSTM": (_lstm, lambda rng: rng.standard_normal((2, 5, 3))),
    "GRU": (_gru, lambda rng: rng.standard_normal((2, 5, 3))),
    "Embedding": (lambda rng: layers.Embedding(6, 3, rng=rng), lambda rng: rng.integers(0, 6, (4, 5))),
    "BatchNorm1d": (lambda rng: _batchnorm(layers.BatchNorm1d, rng, (6, 4)), lambda rng: rng.standard_normal((6, 4))),
    "BatchNorm1d-sequence": (lambda rng: _batchnorm(layers.BatchNorm1d, rng, (3, 4, 5)),
                             lambda rng: rng.standard_normal((3, 4, 5))),
    "BatchNorm1d-eval": (lambda rng: _batchnorm(layers.BatchNorm1d, rng, (6, 4), eval_mode=True),
                         lambda rng: rng.standard_normal((6, 4))),
    "BatchNorm2d": (lambda rng: _batchnorm(layers.BatchNorm2d, rng, (2, 3, 4, 5)),
                    lambda rng: rng.standard_normal((2, 3, 4, 5))),
    "BatchNorm2d-eval": (lambda rng: _batchnorm(layers.BatchNorm2d, rng, (2, 3, 4, 5), eval_mode=True),
                         lambda rng: rng.standard_normal((2, 3, 4, 5))),
    "Sequential": (lambda rng: layers.Sequential(_linear(rng), layers.Tanh(), layers.Linear(3, 2, rng=rng)),
                   lambda rng: rng.standard_normal((5, 4))),
}


def _probabilities(rng, shape):
    p = rng.random(shape) + 0.1
    return p / p.sum(axis=-1, keepdims=True)


# name -> (loss_fn, logits(rng), target(rng), kwargs)
LOSS_CASES = {
    "softmax_cross_entropy-labels": (losses.softmax_cross_entropy, lambda rng: rng.standard_normal((6, 4)),
                                     lambda rng: rng.integers(0, 4, 6), {}),
    "softmax_cross_entropy-probs": (losses.softmax_cross_entropy, lambda rng: rng.standard_normal((6, 4)),
                                    lambda rng: _probabilities(rng, (6, 4)), {}),
    "softmax_cross_entropy-temperature": (losses.softmax_cross_entropy, lambda rng: rng.standard_normal((6, 4)) * 3,
                                          lambda rng: rng.integers(0, 4, 6), {"temperature": 2.5}),
    "softmax_cross_entropy-sequence": (losses.softmax_cross_entropy, lambda rng: rng.standard_normal((3, 4, 5)),
                                       lambda rng: rng.integers(0, 5, (3, 4)), {}),
    "softmax_cross_entropy-sequence-mask": (losses.softmax_cross_entropy, lambda rng: rng.standard_normal((3, 4, 5)),
                                            lambda rng: rng.integers(0, 5, (3, 4)),
                                            {"mask": np.array([[1, 1, 1, 1], [1, 1, 0, 0], [1, 0, 0, 0]], bool)}),
    "softmax_cross_entropy-sequence-probs": (losses.softmax_cross_entropy, lambda rng: rng.standard_normal((2, 3, 4)),
                                             lambda rng: _probabilities(rng, (2, 3, 4)),
                                             {"mask": np.array([[1, 0, 1], [1, 1, 0]], bool), "temperature": 0.7}),
    "mse": (losses.mse, lambda rng: rng.standard_normal((6, 3)), lambda rng: rng.standard_normal((6, 3)), {}),
}


def layer_class_names(case_name):
    return case_name.split("-")[0]


def descendants(widget, kind):
    """Every descendant of an ipywidgets box (the box included) that is an instance of kind."""
    found = [widget] if isinstance(widget, kind) else []
    for child in getattr(widget, "children", ()):
        found += descendants(child, kind)
    return found


def is_png(data):
    """True for the bytes of a PNG file (its 8-byte signature), as a widget's update returns them."""
    return isinstance(data, bytes) and data[:8] == b"\x89PNG\r\n\x1a\n"
