"""Data sets for the lessons: seeded synthetic sets, minibatches, the 8x8 digits and an IDX (MNIST) reader.

Every random set takes an explicit ``rng=np.random.default_rng(seed)``: the same seed gives the
same data on every machine. Classification sets return X float64 (N, 2) and y int64 (N,).
"""

import gzip
import os
from functools import lru_cache
from importlib import resources

import numpy as np

from dlteach._checks import float_array, positive, require_rng

__all__ = [
    "TARGETS", "target_function", "sample_1d",
    "spirals", "moons", "xor", "blobs", "memory_task",
    "minibatches", "train_test_split",
    "load_digits", "load_idx", "load_mnist", "load_coriolanus",
]


def _wiggly(x):
    # Several frequencies and a slope: a target a handful of bumps cannot fit exactly.
    return 0.6 * np.sin(3 * np.pi * x) + 0.3 * np.cos(7 * x) + 0.4 * x


_TARGET_FUNCTIONS = {
    "sin": lambda x: np.sin(np.pi * x),
    "abs": np.abs,
    "step": lambda x: np.where(x > 0, 1.0, 0.0),
    "wiggly": _wiggly,
}
TARGETS = tuple(_TARGET_FUNCTIONS)


def target_function(name):
    """f(x) for lesson 01, by name: "sin" sin(pi x), "abs" |x|, "step" 1[x > 0], "wiggly".

    Shapes: the returned f maps any array x (on [-1, 1] by design) elementwise to the same shape.
    """
    if name not in _TARGET_FUNCTIONS:
        raise ValueError(f"target_function: argument 'name' is {name!r}; expected one of {list(TARGETS)}")
    return _TARGET_FUNCTIONS[name]


def sample_1d(name, n, *, noise=0.0, low=-1.0, high=1.0, rng=None):
    """x ~ U(low, high), y = f(x) + noise * eps with eps ~ N(0, 1), f = target_function(name).

    Shapes: -> x (n, 1), y (n, 1), both float64: columns, so they plug into Linear and mse.
    """
    f = target_function(name)
    require_rng(rng, "sample_1d")
    n = positive(n, "sample_1d", "n", integer=True)
    positive(noise, "sample_1d", "noise", allow_zero=True)
    if not high > low:
        raise ValueError(f"sample_1d: arguments 'low' and 'high' must satisfy low < high, got {low!r} and {high!r}")
    x = rng.uniform(low, high, size=(n, 1))                  # (n, 1)
    y = f(x) + noise * rng.standard_normal((n, 1))           # (n, 1)
    return x, y


def _shuffled(X, y, rng):
    # Generators below make points class by class; shuffling means any slice holds every class.
    order = rng.permutation(len(y))
    return X[order], y[order]


def _class_sizes(n, classes):
    return np.full(classes, n // classes) + (np.arange(classes) < n % classes)


def spirals(n=300, *, classes=2, noise=0.2, turns=1.5, rng=None):
    """Interleaved spiral arms, one per class: r = t, angle = 2 pi turns t + 2 pi c / classes + noise.

    Shapes: -> X (n, 2) float64, y (n,) int64 with labels 0..classes-1.
    """
    require_rng(rng, "spirals")
    n = positive(n, "spirals", "n", integer=True)
    classes = positive(classes, "spirals", "classes", integer=True)
    positive(noise, "spirals", "noise", allow_zero=True)
    positive(turns, "spirals", "turns")
    Xs, ys = [], []
    for c, m in enumerate(_class_sizes(n, classes)):
        t = np.linspace(0.05, 1.0, m)                        # (m,) radius; away from 0 where arms meet
        angle = 2 * np.pi * (turns * t + c / classes) + noise * rng.standard_normal(m)
        Xs.append(np.stack([t * np.cos(angle), t * np.sin(angle)], axis=1))   # (m, 2)
        ys.append(np.full(m, c, dtype=np.int64))
    return _shuffled(np.concatenate(Xs), np.concatenate(ys), rng)


def moons(n=300, *, noise=0.1, rng=None):
    """Two interleaving half circles: class 0 on the upper one, class 1 on the lower, shifted one.

    Shapes: -> X (n, 2) float64, y (n,) int64 with labels 0, 1.
    """
    require_rng(rng, "moons")
    n = positive(n, "moons", "n", integer=True)
    positive(noise, "moons", "noise", allow_zero=True)
    m0, m1 = _class_sizes(n, 2)
    a0 = np.linspace(0, np.pi, m0)
    a1 = np.linspace(0, np.pi, m1)
    X = np.concatenate([np.stack([np.cos(a0), np.sin(a0)], axis=1),                # (m0, 2)
                        np.stack([1 - np.cos(a1), 0.5 - np.sin(a1)], axis=1)])     # (m1, 2)
    X = X + noise * rng.standard_normal(X.shape)
    y = np.repeat(np.array([0, 1], dtype=np.int64), [m0, m1])
    return _shuffled(X, y, rng)


def xor(n=300, *, noise=0.0, rng=None):
    """XOR of the signs: y = 1[x1 > 0] xor 1[x2 > 0] for x ~ U(-1, 1)^2, then x jittered by noise.

    Shapes: -> X (n, 2) float64, y (n,) int64 with labels 0, 1. No linear classifier separates it.
    """
    require_rng(rng, "xor")
    n = positive(n, "xor", "n", integer=True)
    positive(noise, "xor", "noise", allow_zero=True)
    X = rng.uniform(-1.0, 1.0, size=(n, 2))
    y = ((X[:, 0] > 0) ^ (X[:, 1] > 0)).astype(np.int64)
    # Labels are fixed before the jitter, so noise > 0 blurs the boundary instead of moving it.
    return X + noise * rng.standard_normal((n, 2)), y


def blobs(n=300, *, centers=3, std=0.6, rng=None):
    """Gaussian clusters: x ~ N(center_c, std^2 I); int centers sit evenly on a circle of radius 3.

    Shapes: centers int C or array (C, 2) -> X (n, 2) float64, y (n,) int64 with labels 0..C-1.
    """
    require_rng(rng, "blobs")
    n = positive(n, "blobs", "n", integer=True)
    positive(std, "blobs", "std", allow_zero=True)
    if isinstance(centers, (int, np.integer)) and not isinstance(centers, bool):
        k = positive(centers, "blobs", "centers", integer=True)
        angle = 2 * np.pi * np.arange(k) / k
        centers = 3.0 * np.stack([np.cos(angle), np.sin(angle)], axis=1)          # (C, 2)
    else:
        centers = float_array(centers, "blobs", "centers", ndim=2)
        if centers.shape[1] != 2:
            raise ValueError(f"blobs: argument 'centers' has shape {centers.shape}; expected (C, 2) or an int")
    sizes = _class_sizes(n, len(centers))
    y = np.repeat(np.arange(len(centers), dtype=np.int64), sizes)
    X = centers[y] + std * rng.standard_normal((n, 2))
    return _shuffled(X, y, rng)


def memory_task(n=500, *, length=20, symbols=4, distractors=4, rng=None):
    """Long-range memory: a symbol s shown at step 0 must be named after step length-1; y = s.

    Steps 1..length-1 show random distractor symbols that carry no information about s.
    Shapes: -> X (n, T, D) float64 one-hot with T = length, D = symbols + distractors;
    y (n,) int64 in 0..symbols-1. Chance accuracy is 1 / symbols.
    """
    require_rng(rng, "memory_task")
    n = positive(n, "memory_task", "n", integer=True)
    length = positive(length, "memory_task", "length", integer=True)
    symbols = positive(symbols, "memory_task", "symbols", integer=True)
    distractors = positive(distractors, "memory_task", "distractors", integer=True)
    if symbols < 2:
        raise ValueError(f"memory_task: argument 'symbols' must be >= 2 to make a choice, got {symbols}")
    y = rng.integers(0, symbols, size=n).astype(np.int64)                             # (n,)
    tokens = np.empty((n, length), dtype=np.int64)                                    # (n, T)
    tokens[:, 0] = y
    # Distractors use their own indices, so the only cue to the answer is the first step.
    tokens[:, 1:] = symbols + rng.integers(0, distractors, size=(n, length - 1))
    X = np.zeros((n, length, symbols + distractors))                                  # (n, T, D)
    np.put_along_axis(X, tokens[:, :, None], 1.0, axis=2)
    return X, y


def _check_xy(X, y, where):
    X, y = np.asarray(X), np.asarray(y)
    if X.ndim == 0 or y.ndim == 0:
        raise ValueError(f"{where}: arguments 'X' and 'y' must be arrays with a batch axis, "
                         f"got shapes {X.shape} and {y.shape}")
    if len(X) != len(y):
        raise ValueError(f"{where}: arguments 'X' and 'y' must have the same length, "
                         f"got {len(X)} examples in X and {len(y)} in y")
    return X, y


def minibatches(X, y, batch_size, *, rng=None):
    """Yield (X[idx], y[idx]) over the whole set: in order, or shuffled when rng is given.

    The last batch keeps the remainder (it is smaller when batch_size does not divide N).
    Shapes: X (N, ...), y (N, ...) -> batches (B, ...), (B, ...) with B <= batch_size.
    """
    X, y = _check_xy(X, y, "minibatches")
    batch_size = positive(batch_size, "minibatches", "batch_size", integer=True)
    if rng is not None:
        require_rng(rng, "minibatches")
    return _batches(X, y, batch_size, rng)


def _batches(X, y, batch_size, rng):
    # A separate generator so that bad arguments raise at the call, not at the first next().
    order = np.arange(len(X)) if rng is None else rng.permutation(len(X))
    for start in range(0, len(X), batch_size):
        idx = order[start:start + batch_size]
        yield X[idx], y[idx]


def train_test_split(X, y, *, test_size=0.2, rng=None):
    """Shuffle, then hold out test_size (a fraction in (0, 1) or a count) of the examples.

    Shapes: X (N, ...), y (N, ...) -> X_train, X_test, y_train, y_test (same order as scikit-learn).
    """
    X, y = _check_xy(X, y, "train_test_split")
    require_rng(rng, "train_test_split")
    n = len(X)
    if isinstance(test_size, (float, np.floating)):
        if not 0.0 < test_size < 1.0:
            raise ValueError(f"train_test_split: argument 'test_size' is {test_size!r}; expected a fraction "
                             "strictly between 0 and 1, or an integer count")
        n_test = int(round(test_size * n))
    else:
        n_test = positive(test_size, "train_test_split", "test_size", integer=True)
    if not 0 < n_test < n:
        raise ValueError(f"train_test_split: argument 'test_size' ({test_size!r}) leaves {n_test} of {n} "
                         "examples for testing; expected at least one example in each part")
    order = rng.permutation(n)
    test, train = order[:n_test], order[n_test:]
    return X[train], X[test], y[train], y[test]


@lru_cache(maxsize=1)
def _digits_raw():
    # Read once per session (about 0.1 s); callers get copies, so the cache cannot be mutated.
    with resources.files(__name__).joinpath("digits.csv.gz").open("rb") as f:
        table = np.loadtxt(gzip.open(f, "rt"), delimiter=",", dtype=np.int64)   # (1797, 65)
    return table[:, :64].reshape(-1, 8, 8), table[:, 64]


_DIGIT_LAYOUTS = {"images": (8, 8), "flat": (64,), "nchw": (1, 8, 8)}


def load_digits(*, layout="images", scale=False, dtype=np.float64):
    """The UCI 8x8 handwritten digits (1,797 images, pixel counts 0..16, labels 0..9); see DIGITS.md.

    layout "images" -> (N, 8, 8); "flat" -> (N, 64) for an MLP; "nchw" -> (N, 1, 8, 8) for Conv2d.
    scale=True divides by 16 so pixels lie in [0, 1].
    Shapes: -> X (1797, *layout) dtype, y (1797,) int64.
    """
    if layout not in _DIGIT_LAYOUTS:
        raise ValueError(f"load_digits: argument 'layout' is {layout!r}; expected one of {list(_DIGIT_LAYOUTS)}")
    if np.dtype(dtype).kind != "f":
        raise TypeError(f"load_digits: argument 'dtype' is {np.dtype(dtype)}; expected a float type "
                        "such as np.float64 or np.float32")
    images, labels = _digits_raw()
    X = images.reshape((len(images),) + _DIGIT_LAYOUTS[layout]).astype(dtype)
    if scale:
        X /= 16
    return X, labels.copy()


@lru_cache(maxsize=1)
def load_coriolanus():
    """The opening of Shakespeare's Coriolanus (Act 1, Scene 1, to "The belly answer'd--"), a public-domain
    text of 4,506 characters (53 distinct) for a character-level language model; see CORIOLANUS.md.

    Shapes: -> str (a str is immutable, so the cached one can be shared).
    """
    return resources.files(__name__).joinpath("coriolanus.txt").read_text(encoding="utf-8")


# The third byte of an IDX file's magic number says the element type; data is big-endian.
_IDX_TYPES = {0x08: np.dtype("u1"), 0x09: np.dtype("i1"), 0x0B: np.dtype(">i2"),
              0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


def load_idx(path):
    """Read one IDX file (the MNIST format), gzipped or not: magic 00 00 type ndim, sizes, data.

    Shapes: -> an array of the sizes the header states, e.g. (60000, 28, 28) uint8 for MNIST images.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"load_idx: argument 'path' is {path!r}, which is not a file")
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == b"\x1f\x8b":          # gzip's magic: decide by content, whatever the file name
        raw = gzip.decompress(raw)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES:
        raise ValueError(f"load_idx: {path!r} does not start with an IDX magic number: got bytes "
                         f"{raw[:4].hex(' ') or 'none'}; expected 00 00 <type> <ndim> with type one of "
                         f"{', '.join(f'{t:02x}' for t in _IDX_TYPES)}")
    dtype, ndim = _IDX_TYPES[raw[2]], raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"load_idx: {path!r} is truncated: its header needs {header} bytes for {ndim} "
                         f"sizes, but the file holds {len(raw)} bytes")
    shape = tuple(int(s) for s in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    expected = header + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) != expected:
        raise ValueError(f"load_idx: {path!r} holds {len(raw)} bytes; its header (shape {shape}, "
                         f"{dtype.name} values) expects {expected} bytes")
    data = np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
    return data.astype(dtype.newbyteorder("="))    # native byte order, and a writable copy


# MNIST's own file names; some mirrors write "train-images.idx3-ubyte" with a dot instead.
_MNIST_FILES = {"train": ("train-images", "train-labels"), "test": ("t10k-images", "t10k-labels")}


def _find_idx(folder, stem, ndim):
    names = [f"{stem}{sep}idx{ndim}-ubyte{gz}" for sep in ("-", ".") for gz in ("", ".gz")]
    for name in names:
        if os.path.isfile(os.path.join(folder, name)):
            return os.path.join(folder, name)
    raise FileNotFoundError(f"load_mnist: no {stem} file in {folder!r}; expected one of {names}")


def load_mnist(folder, *, split="train", scale=False, dtype=np.float64):
    """MNIST (or Fashion-MNIST) from its four standard IDX files in a local folder; no download.

    scale=True divides by 255 so pixels lie in [0, 1].
    Shapes: -> X (N, 28, 28) dtype, y (N,) int64 (N = 60000 for "train", 10000 for "test").
    """
    if split not in _MNIST_FILES:
        raise ValueError(f"load_mnist: argument 'split' is {split!r}; expected 'train' or 'test'")
    folder = os.fspath(folder)
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"load_mnist: argument 'folder' is {folder!r}, which is not a folder")
    images_stem, labels_stem = _MNIST_FILES[split]
    images = load_idx(_find_idx(folder, images_stem, 3))
    labels = load_idx(_find_idx(folder, labels_stem, 1))
    if images.ndim != 3 or images.dtype != np.uint8:
        raise ValueError(f"load_mnist: the {images_stem} file holds {images.dtype} data of shape {images.shape}; "
                         "expected uint8 images (N, H, W)")
    if labels.ndim != 1 or len(labels) != len(images):
        raise ValueError(f"load_mnist: the {labels_stem} file holds shape {labels.shape}; expected "
                         f"({len(images)},), one label per image")
    X = images.astype(dtype)
    if scale:
        X /= 255
    return X, labels.astype(np.int64)
