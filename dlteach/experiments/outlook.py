"""Autoencoders (lesson 09): an encoder squeezes x into a short code z, a decoder draws x back from z,
and both learn from x alone: L = (1/N) sum_n ||dec(enc(x_n)) - x_n||^2 / 2 (losses.mse).

The model is a layers.Sequential(encoder, decoder) made of the library's layers, so train.fit,
optim.Adam and gradcheck work on it unchanged. Beside it: the two baselines the lesson measures it
against (the mean image and PCA), a k-nearest-neighbour score that says how well a code separates
the classes, a fit callback that keeps the parameters after every epoch, and the pure functions
behind lesson 09's widgets (code_view, decoder_map, replay_view).
"""

import numpy as np

from dlteach import layers, losses, train
from dlteach._checks import check_shape, float_array, positive, require_rng

__all__ = ["ACTIVATIONS", "build", "build_linear", "encode", "decode", "reconstruct",
           "reconstruction_error", "mean_image_error", "pca", "pca_encode", "pca_decode",
           "knn_predict", "knn_accuracy", "ParameterHistory", "load_parameters",
           "code_spacing", "code_view", "decoder_map", "replay_view"]

# Each hidden activation with the initial scale that keeps its layers' activations spread (lesson 03).
ACTIVATIONS = {"tanh": (layers.Tanh, "glorot"), "relu": (layers.ReLU, "he"), "sigmoid": (layers.Sigmoid, "glorot")}


def build(features=64, hidden=32, code_size=2, *, rng, activation="tanh", dtype=np.float64):
    """z = W2 phi(W1 x + b1) + b2;  x_hat = sigmoid(W4 phi(W3 z + b3) + b4): Sequential(encoder, decoder).

    encoder: Linear(D, hidden), phi, Linear(hidden, code_size); decoder: Linear(code_size, hidden), phi,
    Linear(hidden, D), Sigmoid (pixels lie in [0, 1]). The code is linear: it may use the whole plane.
    Weights are drawn from rng in that order, layer by layer. model[0] is the encoder, model[1] the decoder.
    Shapes: x (N, D) -> z (N, code_size) -> x_hat (N, D).
    """
    where = "autoencoder.build"
    D = positive(features, where, "features", integer=True)
    H = positive(hidden, where, "hidden", integer=True)
    K = positive(code_size, where, "code_size", integer=True)
    require_rng(rng, where)
    if activation not in ACTIVATIONS:
        raise ValueError(f"{where}: argument 'activation' is {activation!r}; expected one of {list(ACTIVATIONS)}")
    act, init = ACTIVATIONS[activation]
    encoder = layers.Sequential(layers.Linear(D, H, rng=rng, init=init, dtype=dtype), act(),
                                layers.Linear(H, K, rng=rng, init="glorot", dtype=dtype))
    decoder = layers.Sequential(layers.Linear(K, H, rng=rng, init=init, dtype=dtype), act(),
                                layers.Linear(H, D, rng=rng, init="glorot", dtype=dtype), layers.Sigmoid())
    return layers.Sequential(encoder, decoder)


def build_linear(features=64, code_size=2, *, rng, dtype=np.float64):
    """z = x W1 + b1;  x_hat = z W2 + b2: the linear autoencoder, whose best code is PCA's (Baldi & Hornik 1989).

    Shapes: x (N, D) -> z (N, code_size) -> x_hat (N, D).
    """
    where = "autoencoder.build_linear"
    D = positive(features, where, "features", integer=True)
    K = positive(code_size, where, "code_size", integer=True)
    require_rng(rng, where)
    return layers.Sequential(layers.Sequential(layers.Linear(D, K, rng=rng, init="glorot", dtype=dtype)),
                             layers.Sequential(layers.Linear(K, D, rng=rng, init="glorot", dtype=dtype)))


def _parts(model, where):
    """(encoder, decoder) of an autoencoder made by build or build_linear, or a clear error."""
    if not isinstance(model, layers.Sequential) or len(model) != 2 \
            or not all(isinstance(part, layers.Layer) for part in model.layers):
        raise TypeError(f"{where}: argument 'model' must be an autoencoder, layers.Sequential(encoder, decoder) "
                        f"as autoencoder.build makes; got {type(model).__name__}"
                        + (f" of {len(model)} layers" if isinstance(model, layers.Sequential) else ""))
    return model.layers[0], model.layers[1]


def _code_size(model):
    return model.layers[1].layers[0].in_features


def encode(model, X):
    """z = enc(x), in eval mode, batch by batch.  Shapes: X (N, D) -> Z (N, code_size)."""
    encoder, _ = _parts(model, "autoencoder.encode")
    return train.predict(encoder, float_array(X, "autoencoder.encode", "X", ndim=2))


def decode(model, Z):
    """x_hat = dec(z), in eval mode: any point of the code space becomes an image.

    Shapes: Z (N, code_size) -> (N, D).
    """
    _, decoder = _parts(model, "autoencoder.decode")
    Z = float_array(Z, "autoencoder.decode", "Z", ndim=2)
    check_shape(Z, (None, _code_size(model)), "autoencoder.decode", "Z")
    return train.predict(decoder, Z)


def reconstruct(model, X):
    """x_hat = dec(enc(x)).  Shapes: X (N, D) -> (N, D)."""
    _parts(model, "autoencoder.reconstruct")
    return train.predict(model, float_array(X, "autoencoder.reconstruct", "X", ndim=2))


def reconstruction_error(model, X):
    """(1/N) sum_n ||x_hat_n - x_n||^2 / 2, the training loss (losses.mse) measured on X.  Shapes: X (N, D) -> float."""
    return losses.mse(reconstruct(model, X), X)[0]


def mean_image_error(X_train, X):
    """(1/N) sum_n ||m - x_n||^2 / 2 with m the mean image of X_train: the best guess that ignores its input.

    Shapes: X_train (M, D), X (N, D) -> float.
    """
    X_train = float_array(X_train, "mean_image_error", "X_train", ndim=2)
    X = float_array(X, "mean_image_error", "X", ndim=2)
    check_shape(X, (None, X_train.shape[1]), "mean_image_error", "X")
    return losses.mse(np.broadcast_to(X_train.mean(axis=0), X.shape).copy(), X)[0]


def pca(X, k):
    """Principal components: the top-k eigenvectors of the covariance S = (X - m)^T (X - m) / N.

    Returns (m (D,), components (k, D) with orthonormal rows, variances (D,) the eigenvalues of S, largest
    first). The best rank-k reconstruction leaves the error (1/2) sum_{i > k} variances_i (Eckart-Young).
    Shapes: X (N, D) -> (D,), (k, D), (D,).
    """
    X = float_array(X, "pca", "X", ndim=2)
    k = positive(k, "pca", "k", integer=True)
    if k > X.shape[1]:
        raise ValueError(f"pca: argument 'k' is {k}; expected at most D = {X.shape[1]} components")
    m = X.mean(axis=0)                                              # (D,)
    _, s, Vt = np.linalg.svd(X - m, full_matrices=False)            # rows of Vt: the eigenvectors of S
    variances = np.zeros(X.shape[1])
    variances[:len(s)] = s ** 2 / len(X)                            # eigenvalues of S (0 beyond rank N)
    components = Vt[:k]                                             # (k, D)
    # An eigenvector's sign is arbitrary: make each one's largest entry positive, so plots never flip.
    components = components * np.sign(components[np.arange(k), np.abs(components).argmax(axis=1)])[:, None]
    return m, components, variances


def pca_encode(X, mean, components):
    """z = (x - m) V^T, the coordinates along the principal directions.  Shapes: X (N, D) -> (N, k)."""
    X = float_array(X, "pca_encode", "X", ndim=2)
    check_shape(X, (None, components.shape[1]), "pca_encode", "X")
    return (X - mean) @ components.T


def pca_decode(Z, mean, components):
    """x_hat = m + z V, the best linear reconstruction from k numbers.  Shapes: Z (N, k) -> (N, D)."""
    Z = float_array(Z, "pca_decode", "Z", ndim=2)
    check_shape(Z, (None, components.shape[0]), "pca_decode", "Z")
    return Z @ components + mean


def _labels(y, n, where, name="y"):
    y = np.asarray(y)
    if y.dtype.kind not in "iu" or y.shape != (n,) or (n and y.min() < 0):
        raise ValueError(f"{where}: argument '{name}' must be integer labels 0, 1, ... of shape ({n},), "
                         f"got dtype {y.dtype} and shape {y.shape}" + (f", minimum {y.min()}" if y.size else ""))
    return y


def _squared_distances(A, B):
    """|a - b|^2 = |a|^2 - 2 a.b + |b|^2 for every pair, as one matrix product of augmented rows
    [a, 1, |a|^2] . [-2b, |b|^2, 1]: a single (N, M) array, where the term-by-term sum would allocate
    three (and faulting those pages in costs more than the arithmetic). Shapes: (N, K), (M, K) -> (N, M)."""
    left = np.hstack([A, np.ones((len(A), 1)), (A * A).sum(axis=1, keepdims=True)])        # (N, K + 2)
    # Built as (K + 2, M) rows, not transposed: a contiguous right operand keeps BLAS on its fast path.
    right = np.vstack([-2 * B.T, (B * B).sum(axis=1), np.ones(len(B))])                   # (K + 2, M)
    d2 = left @ right
    return np.maximum(d2, 0, out=d2)          # rounding may leave -1e-15 where a = b


def knn_predict(Z_ref, y_ref, Z, k=5):
    """The majority label among the k nearest reference codes (Euclidean); ties go to the nearest of the tied.

    Shapes: Z_ref (M, K), y_ref (M,) integers, Z (N, K) -> (N,) labels.
    """
    where = "knn_predict"
    Z_ref = float_array(Z_ref, where, "Z_ref", ndim=2)
    Z = float_array(Z, where, "Z", ndim=2)
    check_shape(Z, (None, Z_ref.shape[1]), where, "Z")
    y_ref = _labels(y_ref, len(Z_ref), where, "y_ref")
    k = positive(k, where, "k", integer=True)
    if k > len(Z_ref):
        raise ValueError(f"{where}: argument 'k' is {k}; expected at most the {len(Z_ref)} reference codes")
    d2 = _squared_distances(Z, Z_ref)                                                  # (N, M)
    # The k smallest of each row (a partition is ~5x faster than sorting all M), then those k in order.
    near = np.argpartition(d2, k - 1, axis=1)[:, :k] if k < len(Z_ref) else np.tile(np.arange(k), (len(Z), 1))
    order = np.argsort(np.take_along_axis(d2, near, axis=1), axis=1, kind="stable")
    near = np.take_along_axis(near, order, axis=1)                                     # (N, k), nearest first
    votes = y_ref[near]                                                                # (N, k)
    C = int(y_ref.max()) + 1
    counts = np.zeros((len(Z), C), dtype=np.int64)                                     # (N, C)
    np.add.at(counts, (np.arange(len(Z))[:, None], votes), 1)
    # Break ties by rank: the first of the winning labels to appear among the neighbours, nearest first.
    winners = counts[np.arange(len(Z))[:, None], votes] == counts.max(axis=1, keepdims=True)   # (N, k)
    return votes[np.arange(len(Z)), winners.argmax(axis=1)]


def knn_accuracy(Z_ref, y_ref, Z, y, k=5):
    """Share of codes whose k nearest reference codes vote for their own label, overall and per class.

    Chance is about 1/C; a code that keeps the classes apart scores near 1. Classes absent from y get NaN.
    Shapes: Z_ref (M, K), y_ref (M,), Z (N, K), y (N,) -> (float, (C,) recall per class).
    """
    y = _labels(y, len(np.asarray(Z)), "knn_accuracy")
    pred = knn_predict(Z_ref, y_ref, Z, k)
    C = int(max(np.max(y_ref), y.max())) + 1
    hits = np.bincount(y, weights=(pred == y).astype(np.float64), minlength=C)
    totals = np.bincount(y, minlength=C)
    per_class = np.where(totals > 0, hits / np.maximum(totals, 1), np.nan)
    return float(np.mean(pred == y)), per_class


def _copy_parameters(model):
    return {name: p.copy() for name, p, _ in model.parameters()}


def load_parameters(model, params):
    """Copy params ({name: array}, e.g. from ParameterHistory) into model's arrays, in place."""
    names = [name for name, _, _ in model.parameters()]
    if sorted(names) != sorted(params):
        raise ValueError(f"load_parameters: argument 'params' has names {sorted(params)}; expected the model's "
                         f"{sorted(names)}")
    for name, p, _ in model.parameters():
        if params[name].shape != p.shape:
            raise ValueError(f"load_parameters: parameter '{name}' has shape {params[name].shape}; "
                             f"expected {p.shape}")
        p[...] = params[name]
    return model


class ParameterHistory:
    """A train.fit callback that keeps a copy of the model's parameters after every `every` epochs.

    It keeps the initial parameters as epoch 0 when made, so make it just before fit. epochs lists the
    epochs kept; parameters(epoch) returns a copy, load(epoch, model) puts them into a model.
    """

    def __init__(self, model, *, every=1):
        self.every = positive(every, "ParameterHistory", "every", integer=True)
        self.model = model
        self._saved = {0: _copy_parameters(model)}

    def __call__(self, epoch, history):
        done = epoch + 1                       # fit counts epochs from 0; after the first, 1 is done
        if done % self.every == 0:
            self._saved[done] = _copy_parameters(self.model)
        return False                           # never stop training

    @property
    def epochs(self):
        return sorted(self._saved)

    def parameters(self, epoch):
        if epoch not in self._saved:
            raise KeyError(f"ParameterHistory.parameters: epoch {epoch!r} was not kept; kept: {self.epochs}")
        return {name: p.copy() for name, p in self._saved[epoch].items()}

    def load(self, epoch, model):
        """Put the parameters of `epoch` into model (one with the same parameter names); returns model."""
        if epoch not in self._saved:
            raise KeyError(f"ParameterHistory.load: epoch {epoch!r} was not kept; kept: {self.epochs}")
        return load_parameters(model, self._saved[epoch])


def code_spacing(Z):
    """The median distance from a code to its nearest other code: the typical gap between data points.

    Uses the first 1,000 codes. Shapes: Z (M, code_size) with M >= 2 -> float.
    """
    Z = float_array(Z, "code_spacing", "Z", ndim=2)[:1000]
    if len(Z) < 2:
        raise ValueError(f"code_spacing: argument 'Z' holds {len(Z)} code; expected at least 2")
    d2 = _squared_distances(Z, Z)                                  # (M, M)
    np.fill_diagonal(d2, np.inf)
    return float(np.median(np.sqrt(d2.min(axis=1))))


def code_view(model, z, Z_ref, y_ref, k=5, *, spacing=None):
    """What the decoder draws at the code point z, and which reference codes lie nearest to it.

    Returns {"image": x_hat (D,), "neighbours": the k nearest labels (nearest first), "nearest": the index
    of the nearest reference code, "distance": to it, "spacing": code_spacing(Z_ref) unless given}. A
    distance of many spacings means z is off the data: the decoder was never trained there, and what it
    draws there is a guess.
    Shapes: z (code_size,), Z_ref (M, code_size), y_ref (M,).
    """
    where = "code_view"
    z = float_array(z, where, "z", ndim=1)
    check_shape(z, (_code_size(model),), where, "z")
    Z_ref = float_array(Z_ref, where, "Z_ref", ndim=2)
    check_shape(Z_ref, (None, len(z)), where, "Z_ref")
    y_ref = _labels(y_ref, len(Z_ref), where, "y_ref")
    k = positive(k, where, "k", integer=True)
    d = np.sqrt(((Z_ref - z) ** 2).sum(axis=1))                    # (M,)
    near = np.argsort(d, kind="stable")[:k]
    return {"image": decode(model, z[None, :])[0], "neighbours": y_ref[near], "nearest": int(near[0]),
            "distance": float(d[near[0]]), "spacing": code_spacing(Z_ref) if spacing is None else float(spacing)}


def decoder_map(model, z1_values, z2_values):
    """The decoder's images on a grid of the code plane: row i, column j decodes (z1_values[j], z2_values[i]).

    Shapes: z1_values (n1,), z2_values (n2,) -> (n2, n1, D).
    """
    if _code_size(model) != 2:
        raise ValueError(f"decoder_map: the model's code has {_code_size(model)} numbers; expected a 2-D code")
    z1 = float_array(z1_values, "decoder_map", "z1_values", ndim=1)
    z2 = float_array(z2_values, "decoder_map", "z2_values", ndim=1)
    g1, g2 = np.meshgrid(z1, z2)                                      # (n2, n1) each
    images = decode(model, np.stack([g1.ravel(), g2.ravel()], axis=1))  # (n2 * n1, D)
    return images.reshape(len(z2), len(z1), -1)


def replay_view(model, history, epoch, X_show, X_eval, y_eval, *, X_ref=None, y_ref=None, k=5):
    """The autoencoder as it was after `epoch` epochs: codes, reconstructions, error and code quality.

    Loads history's parameters for epoch into model (pass a copy you own). Returns {"codes": Z of X_eval
    standardised per axis (mean 0, std 1, so every epoch fills the same axes), "recon": x_hat of X_show,
    "error": the reconstruction error on X_eval, "knn": the k-NN accuracy of the codes of X_eval against
    those of X_ref (None without X_ref)}.
    Shapes: X_show (S, D), X_eval (N, D), y_eval (N,) -> codes (N, code_size), recon (S, D).
    """
    history.load(epoch, model)
    Z = encode(model, X_eval)                                        # (N, K)
    std = Z.std(axis=0)
    codes = (Z - Z.mean(axis=0)) / np.where(std > 0, std, 1.0)
    view = {"codes": codes, "recon": reconstruct(model, X_show), "error": reconstruction_error(model, X_eval),
            "knn": None}
    if X_ref is not None:
        view["knn"] = knn_accuracy(encode(model, X_ref), y_ref, Z, y_eval, k)[0]
    return view
