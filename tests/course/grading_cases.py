"""Ten submissions of exercise 04, built from the committed exercise and solution, with their expected grades.

A plain module (not conftest.py: tests/unit has one too, and both would be imported as `conftest`).
"""

import json
from pathlib import Path

from dlteach.course import release

ROOT = Path(__file__).resolve().parents[2]
EXERCISE = ROOT / "exercises" / "04_softmax_gradient.ipynb"
SOLUTION = ROOT / "solutions" / "04_softmax_gradient.ipynb"
PARTS = {"softmax_jacobian": 2, "cross_entropy_grad": 2, "network_backward": 3}
TIMEOUT = 10   # seconds per cell: the checks take milliseconds, the endless loop costs this much

WRONG = {   # a plausible slip per part
    "softmax_jacobian": ("np.diag(a) - np.outer(a, a)", "np.diag(a) + np.outer(a, a)"),
    "cross_entropy_grad": ("(functional.softmax(H) - Y) / N", "functional.softmax(H) - Y"),
    "network_backward": ("/ X.shape[0] * (H > 0)", "/ X.shape[0]"),
}


def cell(nb, part, role):
    return next(c for c in nb["cells"] if c["metadata"].get("dlteach") == {**c["metadata"].get("dlteach", {}),
                                                                           "id": part, "role": role})


def solved(part, wrong=False):
    """The solution's answer to part, markers dropped; with wrong=True, with the part's slip in it."""
    source = "".join(cell(json.loads(SOLUTION.read_text()), part, "answer")["source"])
    source = "\n".join(ln for ln in source.splitlines() if ln.strip() not in (release.BEGIN_SOLUTION, release.END_SOLUTION))
    if wrong:
        old, new = WRONG[part]
        assert old in source, f"the slip for {part} no longer applies to the solution"
        source = source.replace(old, new)
    return source


def filled(**answers):
    """The released exercise with the given answer sources (default: the correct ones)."""
    nb = json.loads(EXERCISE.read_text())
    for part in PARTS:
        cell(nb, part, "answer")["source"] = answers.get(part, solved(part))
    return nb


def build():
    """Return [(file name, notebook dict, expected {part: earned}, expected reason fragments)]."""
    full = dict(PARTS)
    subs = [("00_as_shipped.ipynb", json.loads(EXERCISE.read_text()), dict.fromkeys(PARTS, 0),
             dict.fromkeys(PARTS, "not attempted"))]
    solution = json.loads(SOLUTION.read_text())
    solution["metadata"].pop("dlteach", None)          # found by its answer ids, not by metadata
    subs.append(("01_solution.ipynb", solution, full, {}))
    for i, part in enumerate(PARTS):
        nb = filled(**{part: solved(part, wrong=True)})
        if part == "cross_entropy_grad":               # also: cells reordered, a huge print
            nb["cells"].reverse()
            cell(nb, "softmax_jacobian", "answer")["source"] += "\nprint('x' * 10_000_000)"
        # The cross-entropy slip leaves the loss right: that check's share (1 of 2 points) is kept.
        kept = 1 if part == "cross_entropy_grad" else 0
        subs.append((f"0{2 + i}_wrong_{part}.ipynb", nb, {**full, part: kept}, {part: part}))

    nb = filled(softmax_jacobian=solved("softmax_jacobian", wrong=True))
    cell(nb, "softmax_jacobian", "check")["source"] = 'print("softmax_jacobian: ok")'
    subs.append(("05_check_edited.ipynb", nb, {**full, "softmax_jacobian": 0}, {"softmax_jacobian": "J differs"}))

    nb = filled(cross_entropy_grad=solved("cross_entropy_grad", wrong=True))
    nb["cells"].remove(cell(nb, "cross_entropy_grad", "check"))
    subs.append(("06_check_deleted.ipynb", nb, {**full, "cross_entropy_grad": 1}, {"cross_entropy_grad": "dH differs"}))

    nb = filled(network_backward=solved("network_backward", wrong=True))
    check = cell(nb, "network_backward", "check")
    check["source"] = 'print("network_backward: close enough")'
    check["outputs"] = [{"output_type": "stream", "name": "stdout", "text": ["network_backward: close enough\n"]}]
    subs.append(("07_output_edited.ipynb", nb, {**full, "network_backward": 0}, {"network_backward": "dW differs"}))

    nb = filled(softmax_jacobian="def softmax_jacobian(h):\n    while True:\n        pass")
    subs.append(("08_endless_loop.ipynb", nb, {**full, "softmax_jacobian": 0}, {"softmax_jacobian": "timed out"}))

    nb = filled(cross_entropy_grad="import os\nos._exit(1)")
    subs.append(("09_kernel_dies.ipynb", nb, {**full, "cross_entropy_grad": 0},     # the later part still graded
                 {"cross_entropy_grad": "the process ended while running this cell"}))
    return subs


def write_submissions(folder):
    """Write the ten submissions into folder; return the cases as built by build()."""
    cases = build()
    for name, nb, _, _ in cases:
        (folder / name).write_text(json.dumps(nb, indent=1), encoding="utf-8")
    return cases


def snapshot(folder):
    """Bytes and modification time of every file in folder: grading must leave both alone."""
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(folder.iterdir())}
