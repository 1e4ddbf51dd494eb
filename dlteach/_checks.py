"""Input checks shared by the library: every message names where, which argument, what came and what was expected."""

import numpy as np


def float_array(x, where, name="x", *, ndim=None, finite=True, allow_empty=False):
    """Return x as a floating-point ndarray, or raise a TypeError/ValueError that says what is wrong.

    where: the function or layer method, e.g. "Linear.forward"; name: the argument's name.
    ndim: the rank expected (an int, or a tuple of allowed ranks), with a shape hint in messages.
    """
    if not isinstance(x, np.ndarray):
        if isinstance(x, (list, tuple, float, int)) and not isinstance(x, bool):
            x = np.asarray(x, dtype=float) if _all_numbers(x) else np.asarray(x, dtype=object)
        else:
            raise TypeError(f"{where}: argument '{name}' must be a numpy array of floats, "
                            f"got {type(x).__name__}")
    if x.dtype.kind != "f":
        raise TypeError(f"{where}: argument '{name}' has dtype {x.dtype}; expected a floating-point "
                        f"array (float32 or float64), e.g. {name}.astype(np.float64)")
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if x.ndim not in allowed:
            want = " or ".join(f"{k}-D" for k in allowed)
            raise ValueError(f"{where}: argument '{name}' must be {want}, got shape {x.shape} ({x.ndim}-D)")
    if not allow_empty and x.ndim > 0 and x.shape[0] == 0:
        raise ValueError(f"{where}: argument '{name}' is an empty batch (shape {x.shape}); "
                         "expected at least one example")
    if finite and not np.isfinite(np.add.reduce(x, axis=None)):
        # The sum is cheap; only when it is not finite do we look for the culprit entry.
        bad = ~np.isfinite(x)
        if bad.any():
            idx = tuple(int(i) for i in np.argwhere(bad)[0])
            raise ValueError(f"{where}: argument '{name}' contains {x[idx]} at index {idx}; "
                             "expected finite values (check the learning rate or the input data)")
    return x


def _all_numbers(x):
    try:
        return np.asarray(x).dtype.kind in "fiu"
    except (ValueError, TypeError):
        return False


def check_shape(x, expected, where, name="x"):
    """Raise a ValueError unless x.shape matches expected (None in expected matches any size)."""
    ok = x.ndim == len(expected) and all(e is None or e == s for e, s in zip(expected, x.shape))
    if not ok:
        want = "(" + ", ".join("*" if e is None else str(e) for e in expected) + ("," if len(expected) == 1 else "") + ")"
        raise ValueError(f"{where}: argument '{name}' has shape {x.shape}; expected {want}")


def positive(value, where, name, *, allow_zero=False, integer=False):
    """Return value after checking that it is a positive (or non-negative) finite number."""
    kind = "an integer" if integer else "a number"
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{where}: argument '{name}' must be {kind}, got {type(value).__name__} {value!r}")
    if integer and not float(value).is_integer():
        raise TypeError(f"{where}: argument '{name}' must be an integer, got {value!r}")
    bad = value < 0 if allow_zero else value <= 0
    if bad or not np.isfinite(value):
        want = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{where}: argument '{name}' must be {want}, got {value!r}")
    return int(value) if integer else value


def require_rng(rng, where):
    """Check that rng is a numpy Generator: all randomness in dlteach is explicit and seeded."""
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"{where}: argument 'rng' must be a numpy Generator such as "
                        f"np.random.default_rng(0), got {type(rng).__name__}")
    return rng
