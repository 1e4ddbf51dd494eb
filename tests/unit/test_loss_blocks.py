"""softmax_cross_entropy works on blocks of rows (cache-sized, shared out to threads when large):
the blocks must give exactly what one pass over the whole batch gives, and bad entries anywhere must
still be named."""

import numpy as np
import pytest

from dlteach import functional, losses


def reference(h, y, T=1.0):
    """The formula in one pass, float64: L = mean(-log softmax(h / T)_y), dL/dh = (softmax(h / T) - y) / (N T)."""
    h = h.astype(np.float64) / T
    p = functional.softmax(h)
    Y = functional.one_hot(y, h.shape[1]) if y.ndim == 1 else y
    return float(-(Y * functional.log_softmax(h)).sum() / len(h)), (p - Y) / (len(h) * T)


@pytest.mark.parametrize("T", [1.0, 0.5, 3.0])
@pytest.mark.parametrize("targets", ["labels", "probs"])
def test_blocks_threads_and_one_pass_agree(monkeypatch, T, targets):
    rng = np.random.default_rng(0)
    h = rng.standard_normal((700, 3000)) * 4                        # 16.8 MB of float64: several blocks, threads
    y = rng.integers(0, 3000, 700)
    if targets == "probs":
        y = rng.random((700, 3000))
        y /= y.sum(axis=1, keepdims=True)
    assert h.nbytes >= losses.PARALLEL_BYTES and h.nbytes > 4 * losses.BLOCK_BYTES
    threaded = losses.softmax_cross_entropy(h, y, temperature=T)
    monkeypatch.setattr(losses, "PARALLEL_BYTES", 1 << 62)           # the same blocks, one after another
    serial = losses.softmax_cross_entropy(h, y, temperature=T)
    monkeypatch.setattr(losses, "BLOCK_BYTES", 1 << 62)              # one block: the whole batch
    whole = losses.softmax_cross_entropy(h, y, temperature=T)
    assert threaded[0] == serial[0] and np.array_equal(threaded[1], serial[1])
    ref_loss, ref_grad = reference(h, y, T)
    for loss, grad in (serial, whole):
        assert abs(loss - ref_loss) < 1e-12 * abs(ref_loss)
        assert np.abs(grad - ref_grad).max() < 1e-15


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_a_bad_entry_in_a_late_block_is_named(bad):
    rng = np.random.default_rng(1)
    h = rng.standard_normal((3000, 1000)).astype(np.float32)        # 12 MB: threads, 12 blocks
    h[2999, 17] = bad
    with pytest.raises(ValueError, match=r"softmax_cross_entropy: argument 'logits' contains .* at index \(2999, 17\)"):
        losses.softmax_cross_entropy(h, rng.integers(0, 1000, 3000))
