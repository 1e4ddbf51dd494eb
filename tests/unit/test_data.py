"""dlteach.data: seeded synthetic sets, minibatches, splits, the digits and the IDX reader."""

import gzip

import numpy as np
import pytest

from dlteach import data

CLASSIFICATION_SETS = [data.spirals, data.moons, data.xor, data.blobs]


def rng(seed=0):
    return np.random.default_rng(seed)


@pytest.mark.parametrize("make", CLASSIFICATION_SETS)
def test_2d_sets_shapes_dtypes_and_determinism(make):
    X, y = make(101, rng=rng(1))
    assert X.shape == (101, 2) and X.dtype == np.float64
    assert y.shape == (101,) and y.dtype == np.int64
    assert np.all(np.isfinite(X))
    X2, y2 = make(101, rng=rng(1))
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)
    X3, _ = make(101, rng=rng(2))
    assert not np.array_equal(X, X3)


@pytest.mark.parametrize("make", [data.spirals, data.moons, data.blobs])
def test_2d_sets_are_balanced_and_shuffled(make):
    _, y = make(100, rng=rng())
    counts = np.bincount(y)
    assert counts.max() - counts.min() <= 1
    assert len(np.unique(y[:20])) == len(counts)     # shuffled: the first rows hold every class


def test_spirals_classes_and_xor_labels():
    _, y = data.spirals(90, classes=3, rng=rng())
    assert set(np.unique(y)) == {0, 1, 2}
    X, y = data.xor(200, rng=rng())
    np.testing.assert_array_equal(y, (X[:, 0] * X[:, 1] < 0).astype(np.int64))


def test_blobs_with_given_centers():
    centers = np.array([[0.0, 0.0], [10.0, 10.0]])
    X, y = data.blobs(200, centers=centers, std=0.1, rng=rng())
    np.testing.assert_allclose(X[y == 1].mean(axis=0), [10, 10], atol=0.05)


@pytest.mark.parametrize("call, match", [
    (lambda: data.spirals(10), r"spirals: argument 'rng' must be a numpy Generator.*got NoneType"),
    (lambda: data.moons(10, rng=0), r"moons: argument 'rng' must be a numpy Generator.*got int"),
    (lambda: data.xor(0, rng=rng()), r"xor: argument 'n' must be > 0, got 0"),
    (lambda: data.spirals(10, noise=-1.0, rng=rng()), r"spirals: argument 'noise' must be >= 0, got -1.0"),
    (lambda: data.blobs(10, centers=np.zeros((3, 3)), rng=rng()),
     r"blobs: argument 'centers' has shape \(3, 3\); expected \(C, 2\) or an int"),
    (lambda: data.memory_task(10, symbols=1, rng=rng()),
     r"memory_task: argument 'symbols' must be >= 2 to make a choice, got 1"),
    (lambda: data.target_function("cos"), r"target_function: argument 'name' is 'cos'; expected one of"),
    (lambda: data.sample_1d("sin", 10, low=1.0, high=0.0, rng=rng()),
     r"sample_1d: arguments 'low' and 'high' must satisfy low < high, got 1.0 and 0.0"),
])
def test_synthetic_errors(call, match):
    with pytest.raises((TypeError, ValueError), match=match):
        call()


def test_spirals_classes_type_error():
    with pytest.raises(TypeError, match=r"spirals: argument 'classes' must be an integer, got 2.5"):
        data.spirals(10, classes=2.5, rng=rng())


@pytest.mark.parametrize("name", data.TARGETS)
def test_targets_and_1d_sampler(name):
    f = data.target_function(name)
    grid = np.linspace(-1, 1, 11)
    assert f(grid).shape == grid.shape
    x, y = data.sample_1d(name, 50, rng=rng())
    assert x.shape == (50, 1) and y.shape == (50, 1) and x.dtype == y.dtype == np.float64
    np.testing.assert_allclose(y, f(x))              # noise=0: the samples lie on the target
    assert x.min() >= -1 and x.max() <= 1
    xn, yn = data.sample_1d(name, 50, noise=0.1, rng=rng())
    np.testing.assert_array_equal(x, xn)             # same seed, same x; only y gets noise
    assert 0.05 < np.std(yn - f(xn)) < 0.2


def test_target_values():
    assert data.target_function("step")(np.array([-0.5, 0.5])).tolist() == [0.0, 1.0]
    assert data.target_function("abs")(np.array([-0.5])).tolist() == [0.5]
    np.testing.assert_allclose(data.target_function("sin")(np.array([0.5])), [1.0])


def test_memory_task():
    X, y = data.memory_task(64, length=12, symbols=3, distractors=5, rng=rng())
    assert X.shape == (64, 12, 8) and X.dtype == np.float64 and y.shape == (64,) and y.dtype == np.int64
    np.testing.assert_array_equal(X.sum(axis=2), 1.0)                 # one-hot at every step
    np.testing.assert_array_equal(X[:, 0].argmax(axis=1), y)          # the answer is the first symbol
    assert X[:, 1:, :3].sum() == 0                                    # later steps are distractors only
    assert set(np.unique(y)) == {0, 1, 2}
    X2, y2 = data.memory_task(64, length=12, symbols=3, distractors=5, rng=rng())
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)


def test_minibatches_in_order_keeps_last_partial_batch():
    X, y = np.arange(20.0).reshape(10, 2), np.arange(10)
    batches = list(data.minibatches(X, y, 4))
    assert [len(b[1]) for b in batches] == [4, 4, 2]
    np.testing.assert_array_equal(np.concatenate([b[1] for b in batches]), y)
    np.testing.assert_array_equal(batches[0][0], X[:4])


def test_minibatches_shuffled_cover_everything_once_and_repeat_with_seed():
    X, y = np.arange(20.0).reshape(10, 2), np.arange(10)
    seen = np.concatenate([yb for _, yb in data.minibatches(X, y, 3, rng=rng(5))])
    assert sorted(seen.tolist()) == list(range(10)) and seen.tolist() != list(range(10))
    again = np.concatenate([yb for _, yb in data.minibatches(X, y, 3, rng=rng(5))])
    np.testing.assert_array_equal(seen, again)
    for Xb, yb in data.minibatches(X, y, 3, rng=rng(5)):
        np.testing.assert_array_equal(Xb[:, 0], 2 * yb)          # rows stay paired with labels


@pytest.mark.parametrize("call, exc, match", [
    (lambda: data.minibatches(np.zeros((5, 2)), np.zeros(4), 2), ValueError,
     r"minibatches: arguments 'X' and 'y' must have the same length, got 5 examples in X and 4 in y"),
    (lambda: data.minibatches(np.zeros((5, 2)), np.zeros(5), 0), ValueError,
     r"minibatches: argument 'batch_size' must be > 0, got 0"),
    (lambda: data.minibatches(np.zeros((5, 2)), np.zeros(5), 2, rng=3), TypeError,
     r"minibatches: argument 'rng' must be a numpy Generator"),
    (lambda: data.minibatches(np.float64(1.0), np.zeros(5), 2), ValueError,
     r"minibatches: arguments 'X' and 'y' must be arrays with a batch axis, got shapes \(\) and \(5,\)"),
])
def test_minibatches_errors_raise_at_call(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_train_test_split():
    X, y = np.arange(40.0).reshape(20, 2), np.arange(20)
    X_train, X_test, y_train, y_test = data.train_test_split(X, y, test_size=0.25, rng=rng())
    assert X_train.shape == (15, 2) and X_test.shape == (5, 2) and y_test.shape == (5,)
    assert sorted(np.concatenate([y_train, y_test]).tolist()) == list(range(20))
    np.testing.assert_array_equal(X_test[:, 0], 2 * y_test)
    again = data.train_test_split(X, y, test_size=0.25, rng=rng())
    np.testing.assert_array_equal(again[3], y_test)
    assert len(data.train_test_split(X, y, test_size=3, rng=rng())[1]) == 3


@pytest.mark.parametrize("kwargs, exc, match", [
    ({"test_size": 1.5, "rng": rng()}, ValueError,
     r"train_test_split: argument 'test_size' is 1.5; expected a fraction strictly between 0 and 1"),
    ({"test_size": 20, "rng": rng()}, ValueError,
     r"train_test_split: argument 'test_size' \(20\) leaves 20 of 20 examples for testing"),
    ({"test_size": 0.2}, TypeError, r"train_test_split: argument 'rng' must be a numpy Generator"),
])
def test_train_test_split_errors(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        data.train_test_split(np.zeros((20, 2)), np.zeros(20), **kwargs)


def test_load_digits():
    X, y = data.load_digits()
    assert X.shape == (1797, 8, 8) and X.dtype == np.float64
    assert y.shape == (1797,) and y.dtype == np.int64
    assert X.min() == 0 and X.max() == 16 and np.array_equal(X, np.round(X))
    assert sorted(np.unique(y).tolist()) == list(range(10))
    assert np.bincount(y).min() >= 170                      # about 180 images per digit
    # The first image is a zero (as in the UCI file): a ring of ink with an empty centre.
    assert y[0] == 0 and X[0, 3:5, 3:5].mean() < 3 < X[0, 1:7, 1:7].mean()


def test_load_digits_layouts_scale_dtype_and_copies():
    X, _ = data.load_digits()
    flat, _ = data.load_digits(layout="flat", scale=True)
    assert flat.shape == (1797, 64) and flat.max() == 1.0
    np.testing.assert_array_equal(flat * 16, X.reshape(1797, 64))
    nchw, _ = data.load_digits(layout="nchw", dtype=np.float32)
    assert nchw.shape == (1797, 1, 8, 8) and nchw.dtype == np.float32
    X[:] = -1                                                # the caller's copy, not the cache
    assert data.load_digits()[0].min() == 0


@pytest.mark.parametrize("kwargs, exc, match", [
    ({"layout": "nhwc"}, ValueError, r"load_digits: argument 'layout' is 'nhwc'; expected one of"),
    ({"dtype": np.int64}, TypeError, r"load_digits: argument 'dtype' is int64; expected a float type"),
])
def test_load_digits_errors(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        data.load_digits(**kwargs)


def write_idx(path, array, type_code, *, compress=False):
    """Write array in the IDX format: 00 00 type ndim, big-endian uint32 sizes, big-endian data."""
    header = bytes([0, 0, type_code, array.ndim]) + np.array(array.shape, dtype=">u4").tobytes()
    raw = header + array.astype(array.dtype.newbyteorder(">")).tobytes()
    path.write_bytes(gzip.compress(raw) if compress else raw)
    return path


@pytest.mark.parametrize("dtype, code", [
    (np.uint8, 0x08), (np.int8, 0x09), (np.int16, 0x0B), (np.int32, 0x0C), (np.float32, 0x0D), (np.float64, 0x0E),
])
@pytest.mark.parametrize("compress", [False, True])
def test_idx_round_trip(tmp_path, dtype, code, compress):
    array = (np.arange(2 * 3 * 4) * 3 - 10).reshape(2, 3, 4).astype(dtype)
    path = write_idx(tmp_path / "a.idx", array, code, compress=compress)
    back = data.load_idx(path)
    assert back.dtype == np.dtype(dtype) and back.dtype.isnative and back.shape == (2, 3, 4)
    np.testing.assert_array_equal(back, array)
    back[0, 0, 0] = 1                                        # writable
    assert data.load_idx(str(path)).shape == (2, 3, 4)       # str paths work too


def test_idx_errors(tmp_path):
    bad_magic = tmp_path / "bad_magic"
    bad_magic.write_bytes(b"\x08\x03\x00\x01rest")
    with pytest.raises(ValueError, match=r"does not start with an IDX magic number: got bytes 08 03 00 01; "
                                         r"expected 00 00 <type> <ndim>"):
        data.load_idx(bad_magic)
    bad_type = tmp_path / "bad_type"
    bad_type.write_bytes(b"\x00\x00\x07\x01")
    with pytest.raises(ValueError, match=r"got bytes 00 00 07 01"):
        data.load_idx(bad_type)
    short = tmp_path / "short"
    short.write_bytes(write_idx(tmp_path / "x", np.zeros((3, 4), np.uint8), 0x08).read_bytes()[:-1])
    with pytest.raises(ValueError, match=r"holds 23 bytes; its header \(shape \(3, 4\), uint8 values\) "
                                         r"expects 24 bytes"):
        data.load_idx(short)
    truncated = tmp_path / "truncated"
    truncated.write_bytes(b"\x00\x00\x08\x03\x00\x00\x00\x02")
    with pytest.raises(ValueError, match=r"is truncated: its header needs 16 bytes for 3 sizes, "
                                         r"but the file holds 8 bytes"):
        data.load_idx(truncated)
    with pytest.raises(FileNotFoundError, match=r"load_idx: argument 'path' is '.*nope', which is not a file"):
        data.load_idx(tmp_path / "nope")


def write_mnist(folder, split, images, labels, *, dot=False, compress=True):
    stem = {"train": "train", "test": "t10k"}[split]
    sep, gz = ("." if dot else "-"), (".gz" if compress else "")
    write_idx(folder / f"{stem}-images{sep}idx3-ubyte{gz}", images, 0x08, compress=compress)
    write_idx(folder / f"{stem}-labels{sep}idx1-ubyte{gz}", labels, 0x08, compress=compress)


def test_load_mnist_from_tiny_files(tmp_path):
    images = np.arange(5 * 28 * 28, dtype=np.int64).reshape(5, 28, 28) % 256
    labels = np.array([3, 1, 4, 1, 5])
    write_mnist(tmp_path, "train", images.astype(np.uint8), labels.astype(np.uint8))
    write_mnist(tmp_path, "test", images[:2].astype(np.uint8), labels[:2].astype(np.uint8), dot=True, compress=False)
    X, y = data.load_mnist(tmp_path)
    assert X.shape == (5, 28, 28) and X.dtype == np.float64 and y.dtype == np.int64
    np.testing.assert_array_equal(X, images)
    np.testing.assert_array_equal(y, labels)
    Xs, ys = data.load_mnist(tmp_path, split="test", scale=True, dtype=np.float32)
    assert Xs.shape == (2, 28, 28) and Xs.dtype == np.float32 and Xs.max() == 1.0
    np.testing.assert_array_equal(ys, labels[:2])


def test_load_mnist_errors(tmp_path):
    with pytest.raises(ValueError, match=r"load_mnist: argument 'split' is 'val'; expected 'train' or 'test'"):
        data.load_mnist(tmp_path, split="val")
    with pytest.raises(FileNotFoundError, match=r"load_mnist: argument 'folder' is '.*missing', which is not a folder"):
        data.load_mnist(tmp_path / "missing")
    with pytest.raises(FileNotFoundError, match=r"load_mnist: no train-images file in .*; expected one of"):
        data.load_mnist(tmp_path)
    write_mnist(tmp_path, "train", np.zeros((3, 28, 28), np.uint8), np.zeros(2, np.uint8))
    with pytest.raises(ValueError, match=r"the train-labels file holds shape \(2,\); expected \(3,\), one label per image"):
        data.load_mnist(tmp_path)
    write_idx(tmp_path / "t10k-images-idx3-ubyte", np.zeros((2, 28, 28), np.int32), 0x0C)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.zeros(2, np.uint8), 0x08)
    with pytest.raises(ValueError, match=r"the t10k-images file holds int32 data of shape \(2, 28, 28\); expected uint8"):
        data.load_mnist(tmp_path, split="test")
