"""The LSTM reuses its internal buffers from call to call: nothing it hands out may alias them."""

import numpy as np
import pytest

from dlteach import layers


@pytest.mark.parametrize("N, T", [(1, 5), (3, 1), (2, 4)])
def test_lstm_outputs_survive_the_next_forward(N, T):
    # The LSTM reuses its internal buffers from call to call; what it returned must not change.
    rng = np.random.default_rng(2)
    lstm = layers.LSTM(3, 4, rng=rng)
    first_x = rng.standard_normal((N, T, 3))
    first = lstm(first_x)
    kept = first.copy()
    lstm(rng.standard_normal((N, T, 3)))
    assert np.array_equal(first, kept)
    dx = lstm.backward(np.ones((N, T, 4)))
    assert dx.shape == first_x.shape
