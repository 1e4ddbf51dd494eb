"""Verdicts for exercise check cells: every check of a part is run, every failure is named, with a hint.

A check cell builds one `Part`, runs its checks, and ends with `done()`:

    check = verdict.Part("network_backward")
    check.close("dW", dW, dW_num)               # compared with central differences
    check.close("db", db, db_num)
    check.done()                                # prints "network_backward: ok", or raises PartFailed

A failed check does not stop the cell: `done()` reports every check that failed, once per name (a
hidden test repeating a failure on other shapes adds "and in 3 more cases"), each with a hint where
the numbers show a common mistake (a flipped sign, a constant factor such as 1/N, a transposed
result, gates out of order, a missing term). The grader gives each name its share of the part's
points (equal shares unless `weights=` says otherwise), and shows the learner the same text the
notebook shows. Check cells print nothing else, never raw floats, so that every machine prints the
same text and nbval can compare it with the stored output.

`expect`, `expect_array`, `expect_close` and `ok` are the older one-failure-stops-the-cell form; they
still work (a part checked with them earns all or nothing).
"""

from itertools import permutations

import numpy as np

from dlteach.gradcheck import rel_error

SCALE_TOL = 1e-6           # how exactly value / reference must be one constant to call it a missing factor


class PartFailed(AssertionError):
    """A part's checks failed: the message lists them; passed and total are the weights that passed and ran."""

    def __init__(self, message, *, failures, passed, total):
        super().__init__(message)
        self.failures, self.passed, self.total = failures, passed, total


class Part:
    """The checks of one exercise part, collected so that every failure is reported, not just the first.

    weights: {check name: weight}; a name not listed weighs 1. A name is one check however often it
    runs (a hidden test repeats it on other shapes): it passes when every run of it passed.
    """

    def __init__(self, part, *, weights=None):
        if not isinstance(part, str) or not part:
            raise TypeError(f"Part: argument part should be the part's id (a non-empty str), got {part!r}")
        self.part, self.weights = part, dict(weights or {})
        self.results = {}      # name -> [failure dicts], in the order the names were first checked

    def _record(self, name, passed, message="", hint=""):
        failures = self.results.setdefault(name, [])
        if not passed:
            failures.append({"name": name, "message": message, "hint": hint})
        return passed

    def that(self, condition, message, *, name=None):
        """Check that condition holds; message says what is wrong when it does not. Return condition.

        name groups the check for points (default: the message itself).
        """
        try:
            passed = bool(condition)
        except Exception as exc:     # an array's truth value, say: the check is failed, not the cell
            passed, message = False, f"{message} (the condition could not be evaluated: {exc})"
        return self._record(message if name is None else name, passed, message)

    def array(self, name, value, shape, *, where=""):
        """Check that value is a finite float ndarray of exactly the given shape. Return whether it is."""
        label = _label(name, where)
        problem = _array_problem(label, value, tuple(shape))
        return self._record(name, not problem, problem, _transpose_hint(value, tuple(shape)) if problem else "")

    def equal(self, name, value, expected, *, where=""):
        """Check value == expected exactly (integers, tuples, strings). Return whether it is."""
        try:
            passed = (isinstance(value, bool) == isinstance(expected, bool)) and bool(value == expected)
        except Exception:          # an array compared with a number, say
            passed = False
        return self._record(name, passed, f"{_label(name, where)} is {value!r}, expected {expected!r}")

    def close(self, name, value, reference, *, tol=1e-7, against="central differences", where="",
              n=None, blocks=None, terms=None):
        """Check shape and rel_error(value, reference) <= tol. Return whether both hold.

        On a failure the hint names a common mistake when the numbers show it: value = -reference (a
        sign), value = c * reference (a factor; n names the batch size so that c = n reads as "1/N
        missing"), value.T = reference (transposed), value equal to reference with its blocks along
        the last axis in another order (blocks: their names, e.g. "ifgo"), or value = reference -/+
        term for a term of terms ({"description": array}).
        """
        label = _label(name, where)
        reference = np.asarray(reference, dtype=np.float64)
        problem = _array_problem(label, value, reference.shape)
        if problem:
            return self._record(name, False, problem, _transpose_hint(value, reference.shape, reference, tol))
        err = rel_error(value, reference)
        if err <= tol:
            return self._record(name, True)
        message = f"{label} differs from {against} (relative error {err:.0e}, allowed {tol:.0e})"
        return self._record(name, False, message, diagnose(value, reference, tol, n=n, blocks=blocks, terms=terms))

    def failures(self):
        """The failed names' first failures, each with how many more runs of that name failed."""
        return [{**runs[0], "more": len(runs) - 1} for runs in self.results.values() if runs]

    def done(self):
        """Print "part: ok" when every check passed; raise PartFailed listing every failed check otherwise."""
        failed = self.failures()
        total = sum(self.weights.get(name, 1) for name in self.results)
        if not failed and self.results:
            print(f"{self.part}: ok")
            return
        if not self.results:
            raise PartFailed(f"{self.part}: no check ran", failures=[], passed=0, total=0)
        passed = total - sum(self.weights.get(f["name"], 1) for f in failed)
        lines = [f"{self.part}: {len(failed)} of {len(self.results)} checks failed"]
        for f in failed:
            lines.append(f"- {f['message']}" + _more(f["more"]))
            if f["hint"]:
                lines.append(f"  hint: {f['hint']}")
        raise PartFailed("\n".join(lines), failures=failed, passed=passed, total=total)


def _more(count):
    return "" if not count else f" (and in {count} more case{'s' if count > 1 else ''})"


def diagnose(value, reference, tol, *, n=None, blocks=None, terms=None):
    """A hint naming the mistake that turns reference into value, or "" when none fits."""
    value = np.asarray(value, dtype=np.float64)
    loose = max(tol, SCALE_TOL)
    for description, term in (terms or {}).items():
        term = np.asarray(term, dtype=np.float64)
        if term.shape == reference.shape and np.any(term):
            if rel_error(value, reference - term) <= loose:
                return f"{description} is missing"
            if rel_error(value, reference + term) <= loose:
                return f"{description} is counted twice"
            if rel_error(value, reference - 2 * term) <= loose:
                return f"{description} has the wrong sign"
    if np.any(reference) and rel_error(value, -reference) <= loose:
        return "the sign is flipped: yours is minus the expected value"
    if blocks and reference.ndim >= 1 and reference.shape[-1] % len(blocks) == 0:
        split = np.split(reference, len(blocks), axis=-1)
        for order in permutations(range(len(blocks))):
            if list(order) != sorted(order) and rel_error(value, np.concatenate([split[i] for i in order], -1)) <= loose:
                return (f"the blocks are out of order: expected {', '.join(blocks)}, "
                        f"yours are {', '.join(blocks[i] for i in order)}")
    norm = float(np.sum(reference * reference))
    if norm > 0:
        c = float(np.sum(value * reference)) / norm
        # One entry is always "a constant times" another: only a factor seen over many entries is a hint.
        if value.size > 1 and c != 0 and abs(c - 1) > 1e-3 and rel_error(value, c * reference) <= loose:
            return _factor_hint(c, n)
    return ""


def _factor_hint(c, n):
    if n is not None and n > 1 and np.isclose(c, n, rtol=1e-6):
        return f"yours is N = {n:g} times the expected value: is a factor 1/N missing?"
    if n is not None and n > 1 and np.isclose(c, 1 / n, rtol=1e-6):
        return f"yours is 1/N = 1/{n:g} of the expected value: is it divided by N twice?"
    k = round(c)
    if k > 1 and np.isclose(c, k, rtol=1e-6):
        return f"yours is {k} times the expected value: is a factor 1/{k} missing?"
    k = round(1 / c)
    if k > 1 and np.isclose(1 / c, k, rtol=1e-6):
        return f"yours is 1/{k} of the expected value: is a factor {k} too many?"
    return f"yours is {c:.3g} times the expected value everywhere: a constant factor is off"


def _transpose_hint(value, shape, reference=None, tol=1e-7):
    if not isinstance(value, np.ndarray) or value.ndim != 2 or value.shape[::-1] != shape or shape[0] == shape[1]:
        return ""
    if reference is None:
        return "it has the transposed shape: is it transposed?"
    try:
        if rel_error(value.T, reference) <= max(tol, SCALE_TOL):
            return "it is the transpose of the expected value"
    except (TypeError, ValueError):
        return ""
    return "it has the transposed shape: is it transposed?"


def _label(name, where):
    return f"{name} ({where})" if where else name


def _array_problem(label, value, shape):
    """What is wrong with value as a finite float array of this shape, or "" when nothing is."""
    if not isinstance(value, np.ndarray):
        return f"{label} should be a numpy array of shape {shape}, got {type(value).__name__}"
    if value.shape != shape:
        return f"{label} has shape {value.shape}, expected {shape}"
    if value.dtype.kind != "f":
        return f"{label} has dtype {value.dtype}, expected floats"
    if not np.all(np.isfinite(value)):
        return f"{label} holds inf or nan"
    return ""


# The older form: the first failure raises.
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
    problem = _array_problem(name, value, tuple(shape))
    expect(part, not problem, problem)
    return value


def expect_close(part, name, value, reference, *, tol=1e-7, against="central differences"):
    """Check shape and rel_error(value, reference) <= tol, naming what value was compared against."""
    reference = np.asarray(reference, dtype=np.float64)
    expect_array(part, name, value, reference.shape)
    err = rel_error(value, reference)
    expect(part, err <= tol, f"{name} differs from {against} (relative error {err:.0e}, allowed {tol:.0e})")
