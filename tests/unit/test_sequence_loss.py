"""softmax_cross_entropy on sequences (N, T, C) with an optional mask: what the mask leaves out counts for
nothing, and the rest is the 2-D loss on the positions kept. Gradients: test_gradients.py; PyTorch:
test_torch_reference.py (both through the LOSS_CASES registry)."""

import numpy as np
import pytest

from dlteach import losses


def test_a_sequence_is_its_positions_as_rows():
    rng = np.random.default_rng(0)
    h, y = rng.standard_normal((3, 4, 5)), rng.integers(0, 5, (3, 4))
    loss, dh = losses.softmax_cross_entropy(h, y, temperature=1.5)
    flat_loss, flat_dh = losses.softmax_cross_entropy(h.reshape(12, 5), y.reshape(12), temperature=1.5)
    assert loss == pytest.approx(flat_loss, rel=1e-15)
    np.testing.assert_array_equal(dh, flat_dh.reshape(3, 4, 5))


def test_masked_positions_get_no_loss_no_gradient_and_their_labels_are_not_read():
    rng = np.random.default_rng(1)
    h, y = rng.standard_normal((3, 4, 5)), rng.integers(0, 5, (3, 4))
    mask = np.array([[1, 1, 1, 1], [1, 1, 0, 0], [1, 0, 0, 0]], dtype=bool)
    padded = np.where(mask, y, -1)                                 # padding labels out of range: never looked at
    loss, dh = losses.softmax_cross_entropy(h, padded, mask=mask)
    kept_loss, kept_dh = losses.softmax_cross_entropy(h[mask], y[mask])
    assert loss == pytest.approx(kept_loss, rel=1e-14)
    np.testing.assert_allclose(dh[mask], kept_dh, rtol=1e-14)
    assert np.array_equal(dh[~mask], np.zeros(((~mask).sum(), 5)))
    h2 = h.copy()
    h2[~mask] = 1e3                                                # whatever sits under the mask
    assert losses.softmax_cross_entropy(h2, padded, mask=mask)[0] == loss
    same = losses.softmax_cross_entropy(h, padded, mask=mask.astype(int))
    assert same[0] == loss and np.array_equal(same[1], dh)


def test_a_full_mask_is_no_mask_and_each_gradient_row_sums_to_zero():
    rng = np.random.default_rng(2)
    h, y = rng.standard_normal((2, 5, 3)), rng.integers(0, 3, (2, 5))
    a = losses.softmax_cross_entropy(h, y)
    b = losses.softmax_cross_entropy(h, y, mask=np.ones((2, 5), bool))
    assert a[0] == b[0] and np.array_equal(a[1], b[1])
    np.testing.assert_allclose(a[1].sum(axis=-1), 0, atol=1e-16)


def test_float32_sequences_stay_float32():
    rng = np.random.default_rng(3)
    h = rng.standard_normal((2, 3, 4), dtype=np.float32)
    _, dh = losses.softmax_cross_entropy(h, rng.integers(0, 4, (2, 3)), mask=np.array([[1, 1, 0], [1, 0, 0]], bool))
    assert dh.dtype == np.float32


@pytest.mark.parametrize("kwargs, exc, pattern", [
    ({"y": np.zeros((2, 4), int)}, ValueError, r"softmax_cross_entropy: integer labels 'y' must have shape \(2, 3\)"),
    ({"y": np.full((2, 3), 4)}, ValueError, r"label 4 in 'y' is out of range; expected 0 <= y < 4"),
    ({"y": np.ones((2, 3, 4))}, ValueError, r"row \(0, 0\) of 'y' is not a probability vector"),
    ({"y": np.zeros((2, 3), int), "mask": np.zeros((2, 3), bool)}, ValueError, r"argument 'mask' counts no position"),
    ({"y": np.zeros((2, 3), int), "mask": np.ones((3, 2), bool)}, ValueError,
     r"argument 'mask' has shape \(3, 2\); expected \(2, 3\)"),
    ({"y": np.zeros((2, 3), int), "mask": np.full((2, 3), 0.5)}, ValueError, r"argument 'mask' must hold only 0 and 1"),
    ({"y": np.zeros((2, 3), int), "mask": np.full((2, 3), "a")}, TypeError, r"argument 'mask' must hold booleans"),
    ({"y": np.zeros((2, 3), "U1")}, TypeError, r"argument 'y' must be integer labels \(N, T\) or probabilities \(N, T, C\)"),
])
def test_sequence_errors(kwargs, exc, pattern):
    with pytest.raises(exc, match=pattern):
        losses.softmax_cross_entropy(np.zeros((2, 3, 4)), **kwargs)
