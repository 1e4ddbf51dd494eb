"""Verdicts for exercise check cells: print "part: ok", or raise an AssertionError saying what is wrong.

Check cells print nothing else, never raw floats, so that every machine (another BLAS, another
CPU) prints the same text and nbval can compare it with the stored output.
"""

import numpy as np

from dlteach.gradcheck import rel_error


def ok(part):
    """Print the passing verdict "part: ok"."""
    print(f"{part}: ok")


def expect(part, condition, message):
    """Raise AssertionError("part: message") unless condition holds."""
    if not condition:
        raise AssertionError(f"{part}: {message}")


def expect_array(part, name, value, shape):
    """Check that value is a finite float ndarray of the given shape; return it.

    Shapes: value must be exactly shape.
    """
    expect(part, isinstance(value, np.ndarray),
           f"{name} should be a numpy array of shape {shape}, got {type(value).__name__}")
    expect(part, value.shape == tuple(shape), f"{name} has shape {value.shape}, expected {tuple(shape)}")
    expect(part, value.dtype.kind == "f", f"{name} has dtype {value.dtype}, expected floats")
    expect(part, bool(np.all(np.isfinite(value))), f"{name} holds inf or nan")
    return value


def expect_close(part, name, value, reference, *, tol=1e-7, against="central differences"):
    """Check shape and rel_error(value, reference) <= tol, naming what value was compared against."""
    reference = np.asarray(reference, dtype=np.float64)
    expect_array(part, name, value, reference.shape)
    err = rel_error(value, reference)
    expect(part, err <= tol, f"{name} differs from {against} (relative error {err:.0e}, allowed {tol:.0e})")
