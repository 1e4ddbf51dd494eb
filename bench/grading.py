"""A class of 100 submissions of exercise 04 graded with `--jobs 2`: the time, its overheads, and fairness.

python -m bench.grading [--size N] [--jobs J] [--keep FOLDER]

The class: 60 correct answers in varied styles (the solution; loops instead of matrix algebra; debug
prints; a DeprecationWarning; metadata stripped by another tool; cells out of order), 20 with one
part wrong, 10 blank, 5 raising, 3 endless loops and 2 crashing their process. Every submission
carries what a fair grade is; the run reports how many got it, and per submission the time to start
the grader, to start the student's sandboxed process and to run the checks. The sandbox's own cost is
measured apart: the student's process started with and without bubblewrap.
"""

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXERCISE = ROOT / "exercises" / "04_softmax_gradient.ipynb"
SOLUTION = ROOT / "solutions" / "04_softmax_gradient.ipynb"
POINTS = {"softmax_jacobian": 2, "cross_entropy_grad": 2, "network_backward": 3}
LIMIT_S = 180

CORRECT = {
    "softmax_jacobian": [
        None,     # the solution's own
        '''def softmax_jacobian(h):
    a = np.exp(h - h.max())
    a = a / a.sum()
    C = len(a)
    J = np.empty((C, C))
    for j in range(C):
        for k in range(C):
            J[j, k] = a[j] * ((j == k) - a[k])
    return J
''',
        '''def softmax_jacobian(h):
    a = functional.softmax(h)
    return np.diagflat(a) - a[:, None] * a[None, :]
''',
    ],
    "cross_entropy_grad": [
        None,
        '''def cross_entropy_and_grad(H, Y):
    N = len(H)
    Z = H - H.max(axis=1, keepdims=True)
    logp = Z - np.log(np.exp(Z).sum(axis=1, keepdims=True))
    return float(-(Y * logp).sum() / N), (np.exp(logp) - Y) / N
''',
    ],
    "network_backward": [
        None,
        '''def network_backward(X, Y, W, b):
    H = X @ W + b
    R = np.maximum(0, H)
    A = np.exp(R - R.max(1, keepdims=True))
    A /= A.sum(1, keepdims=True)
    G = (A - Y) * (H > 0) / len(X)
    return X.T @ G, np.sum(G, axis=0)
''',
    ],
}

# One plausible slip per submission: (part, the solution's text, the slip).
WRONG = [
    ("softmax_jacobian", "np.diag(a) - np.outer(a, a)", "np.outer(a, a) - np.diag(a)"),
    ("softmax_jacobian", "np.diag(a) - np.outer(a, a)", "np.diag(a) + np.outer(a, a)"),
    ("cross_entropy_grad", "(functional.softmax(H) - Y) / N", "functional.softmax(H) - Y"),
    ("cross_entropy_grad", "(functional.softmax(H) - Y) / N", "(Y - functional.softmax(H)) / N"),
    ("network_backward", "/ X.shape[0] * (H > 0)", "/ X.shape[0]"),
    ("network_backward", "return X.T @ G, G.sum(axis=0)", "return X.T @ G, -G.sum(axis=0)"),
    ("network_backward", "return X.T @ G, G.sum(axis=0)", "return -X.T @ G, G.sum(axis=0)"),
    ("network_backward", "/ X.shape[0] * (H > 0)", "* (H > 0)"),
]

RAISING = [
    ("softmax_jacobian", "def softmax_jacobian(h):\n    return np.diag(a) - np.outer(a, a)\n"),            # NameError
    ("cross_entropy_grad", "def cross_entropy_and_grad(H, Y):\n    raise ValueError('not finished')\n"),
    ("network_backward", "def network_backward(X, Y, W, b):\n    return (X.T @ (X @ W),)[1]\n"),          # IndexError
    ("softmax_jacobian", "this is not python\n"),                                                      # SyntaxError
    ("cross_entropy_grad", "undefined_helper()\n"),                                          # fails at definition
]
LOOPS = [
    ("softmax_jacobian", "def softmax_jacobian(h):\n    while True:\n        pass\n"),
    ("network_backward", "def network_backward(X, Y, W, b):\n    n = 0\n    while n >= 0:\n        n += 1\n"),
    ("cross_entropy_grad", "while True:\n    pass\n"),                                         # at definition
]
CRASHES = [
    ("cross_entropy_grad", "import os\nos._exit(3)\n"),
    ("network_backward", "def network_backward(X, Y, W, b):\n    import ctypes\n    ctypes.string_at(0)\n"),
]


def _answers(nb):
    return {c["metadata"]["dlteach"]["id"]: c for c in nb["cells"]
            if c["metadata"].get("dlteach", {}).get("role") == "answer"}


def solved(part):
    """The solution's answer to part with its markers dropped."""
    source = "".join(_answers(json.loads(SOLUTION.read_text()))[part]["source"])
    return "\n".join(ln for ln in source.splitlines() if "### BEGIN SOLUTION" not in ln and "### END SOLUTION" not in ln)


def filled(**answers):
    """The released exercise with the given answer sources (default: the solution's)."""
    nb = json.loads(EXERCISE.read_text())
    for part, cell in _answers(nb).items():
        cell["source"] = answers.get(part, solved(part))
    return nb


def build(size=100):
    """[(file name, notebook, {part: "full" | "less" | "zero"}, {part: reason fragment})] for a class of size."""
    full = dict.fromkeys(POINTS, "full")
    subs = []
    counts = {"correct": 60, "wrong": 20, "blank": 10, "raising": 5, "loop": 3, "crash": 2}
    if size != 100:
        scale = size / 100
        counts = {k: max(1, round(v * scale)) for k, v in counts.items()}
    for i in range(counts["correct"]):
        style = {part: variants[i % len(variants)] for part, variants in CORRECT.items()}
        nb = filled(**{part: source for part, source in style.items() if source is not None})
        kind = i % 6
        cells = _answers(nb)
        if kind == 1:        # a debug print inside a correct function
            cells["cross_entropy_grad"]["source"] = cells["cross_entropy_grad"]["source"].replace(
                "def cross_entropy_and_grad(H, Y):\n", "def cross_entropy_and_grad(H, Y):\n    print('debug', H.shape)\n")
        elif kind == 2:      # a DeprecationWarning while it runs
            cells["softmax_jacobian"]["source"] = ("import warnings\n" + cells["softmax_jacobian"]["source"]).replace(
                "def softmax_jacobian(h):\n", "def softmax_jacobian(h):\n    warnings.warn('old', DeprecationWarning)\n")
        elif kind == 3:      # another tool stripped every cell's metadata and id
            for cell in nb["cells"]:
                cell["metadata"] = {}
                cell.pop("id", None)
            nb["metadata"] = {}
            nb["nbformat_minor"] = 4
        elif kind == 4:      # a scratch cell above, answers below
            nb["cells"].insert(3, {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
                                   "id": "scratch", "source": "x = np.arange(3)\nprint(x)"})
        subs.append((f"correct_{i:02d}", nb, dict(full), {}))
    for i in range(counts["wrong"]):
        part, old, new = WRONG[i % len(WRONG)]
        source = solved(part)
        assert old in source, f"the slip {old!r} -> {new!r} no longer applies to the solution"
        subs.append((f"wrong_{i:02d}", filled(**{part: source.replace(old, new)}), {**full, part: "less"}, {}))
    for i in range(counts["blank"]):
        subs.append((f"blank_{i:02d}", json.loads(EXERCISE.read_text()), dict.fromkeys(POINTS, "zero"),
                     dict.fromkeys(POINTS, "not attempted")))
    for i in range(counts["raising"]):
        part, source = RAISING[i % len(RAISING)]
        subs.append((f"raising_{i:02d}", filled(**{part: source}), {**full, part: "zero"}, {}))
    for i in range(counts["loop"]):
        part, source = LOOPS[i % len(LOOPS)]
        subs.append((f"loop_{i:02d}", filled(**{part: source}), {**full, part: "zero"}, {part: "timed out"}))
    for i in range(counts["crash"]):
        part, source = CRASHES[i % len(CRASHES)]
        subs.append((f"crash_{i:02d}", filled(**{part: source}), {**full, part: "zero"}, {part: "process"}))
    return subs


def write(folder, subs):
    """One folder per student, the notebook under the exercise's name, as a class hands it in."""
    for student, nb, _, _ in subs:
        (Path(folder) / student).mkdir(parents=True, exist_ok=True)
        (Path(folder) / student / EXERCISE.name).write_text(json.dumps(nb, indent=1), encoding="utf-8")


def unfair(result, expected, reasons):
    """What is unfair about one graded result ("" when it is fair)."""
    if result.error:
        return f"could not grade: {result.error}"
    parts = {p.id: p for p in result.parts}
    for part, want in expected.items():
        p = parts.get(part)
        if p is None:
            return f"{part} missing"
        ok = {"full": p.earned == POINTS[part], "less": p.earned < POINTS[part], "zero": p.earned == 0}[want]
        if not ok:
            return f"{part}: earned {p.earned}, expected {want} ({p.reason})"
        if part in reasons and reasons[part] not in p.reason:
            return f"{part}: reason {p.reason!r} lacks {reasons[part]!r}"
    return ""


def sandbox_cost(repeats=5):
    """Median seconds to start the student's process (import numpy and dlteach) with and without bubblewrap."""
    from dlteach.course import sandbox
    probe = [sys.executable, "-c", "import numpy, dlteach.course.wire"]
    times = {}
    for name, argv in (("bare", probe), ("sandboxed", sandbox.command(probe, read_fd=0, write_fd=1))):
        samples = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            subprocess.run(argv, check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           env=None if name == "sandboxed" else sandbox.unconfined_env(),
                           preexec_fn=sandbox.preexec(sandbox.Limits()))
            samples.append(time.perf_counter() - t0)
        times[name] = statistics.median(samples)
    return times


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.grading", description=__doc__)
    parser.add_argument("--size", type=int, default=100, help="submissions in the class (default 100)")
    parser.add_argument("--jobs", type=int, default=2, help="dlteach grade --jobs (default 2)")
    parser.add_argument("--keep", default=None, metavar="FOLDER", help="build the class and the grades in FOLDER")
    args = parser.parse_args(argv)
    from dlteach.course import grade

    subs = build(args.size)
    with tempfile.TemporaryDirectory(prefix="dlteach-class-") as tmp:
        folder = Path(args.keep or tmp) / "submitted"
        write(folder, subs)
        t0 = time.perf_counter()
        results = grade.grade([folder], root=ROOT, jobs=args.jobs)
        wall = time.perf_counter() - t0
    by_student = {r.student: r for r in results}
    problems = [(s, unfair(by_student[s], expected, reasons)) for s, _, expected, reasons in subs]
    problems = [(s, why) for s, why in problems if why]
    timings = [r.timings for r in results if r.timings]

    def med(key):
        return statistics.median(t.get(key, 0) for t in timings)

    print(f"grading {len(subs)} submissions of exercise 04 with --jobs {args.jobs}: {wall:.1f} s "
          f"(limit {LIMIT_S * len(subs) / 100:.0f} s)  {'ok' if wall <= LIMIT_S * len(subs) / 100 else 'OVER'}")
    print(f"graded fairly: {len(subs) - len(problems)} of {len(subs)}")
    for student, why in problems:
        print(f"  unfair: {student}: {why}")
    grader = statistics.median(t["total"] - t.get("student_start", 0) - t.get("checks", 0) for t in timings)
    print(f"per submission, median: {med('total'):.2f} s = grader process start and reading {grader:.2f} s "
          f"+ student process start (sandbox, imports, the exercise's cells) {med('student_start'):.2f} s "
          f"+ checks and comparison {med('checks'):.2f} s")
    cost = sandbox_cost()
    print(f"student process start alone: {cost['bare']:.2f} s bare, {cost['sandboxed']:.2f} s in bubblewrap "
          f"(the sandbox adds {cost['sandboxed'] - cost['bare']:+.2f} s)")
    slowest = sorted(results, key=lambda r: -r.timings.get("total", 0))[:3]
    print("slowest: " + ", ".join(f"{r.student} {r.timings.get('total', 0):.1f} s" for r in slowest))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
