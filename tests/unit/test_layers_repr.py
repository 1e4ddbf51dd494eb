"""How a model prints: one layer a line, nested Sequentials indented under their parent."""

import numpy as np

from dlteach import layers


def test_sequential_prints_one_layer_a_line_and_indents_nested_ones():
    rng = np.random.default_rng(0)
    flat = layers.Sequential(layers.Linear(2, 3, rng=rng), layers.ReLU())
    assert repr(flat) == "Sequential(\n  Linear(2, 3),\n  ReLU()\n)"
    nested = layers.Sequential(flat, layers.Linear(3, 1, rng=rng))
    assert repr(nested) == "Sequential(\n  Sequential(\n    Linear(2, 3),\n    ReLU()\n  ),\n  Linear(3, 1)\n)"
