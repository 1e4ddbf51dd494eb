"""A determined student against dlteach grade: every attack earns 0 and harms nobody.

Each submission of exercise 04 below does no correct work (its functions return zeros) and tries one
way to earn points anyway, or to hurt the classmates graded beside it. They are graded in one batch,
two at a time, with an honest solution among them. Every attack must score 0, the honest
submission full marks, the submissions and the course must be byte-for-byte as they were, and no
process the submissions started may outlive the grading.
"""

import json
from pathlib import Path

import pytest
from grading_cases import EXERCISE, PARTS, ROOT, filled, snapshot

from dlteach.cli import main
from dlteach.course import grade as grading
from dlteach.course import sandbox

pytestmark = pytest.mark.skipif(sandbox.bwrap() is None, reason="bubblewrap (bwrap) is not installed")

TIMEOUT = 3
ZEROS = '''
def softmax_jacobian(h):
    return np.zeros((len(h), len(h)))
def cross_entropy_and_grad(H, Y):
    return 0.0, np.zeros_like(H)
def network_backward(X, Y, W, b):
    return np.zeros_like(W), np.zeros_like(b)
'''
MARK = "dlteach-adversary"      # in the command line of every process an attack leaves running

ATTACKS = {
    # Monkeypatching: the checking helpers, numerical gradients and the random generators made harmless.
    "verdict_made_a_no_op": '''
from dlteach.course import verdict
verdict.expect = verdict.expect_close = verdict.expect_array = lambda *a, **k: None
verdict.ok = lambda part: print(f"{part}: ok")
''',
    "numerical_gradient_agrees_with_anything": '''
from dlteach import gradcheck
gradcheck.numerical_gradient = lambda f, x, *a, **k: np.zeros_like(x)
gradcheck.rel_error = lambda *a, **k: 0.0
''',
    "randomness_made_predictable": '''
_fixed = np.random.Generator(np.random.PCG64(0))
np.random.default_rng = lambda *a, **k: np.random.Generator(np.random.PCG64(0))
''',
    # IPython hooks: a custom exception handler, a quiet traceback, an input transformer.
    "ipython_hooks": '''
try:
    ip = get_ipython()
    ip.set_custom_exc((Exception,), lambda *a, **k: print("softmax_jacobian: ok"))
    ip.showtraceback = lambda *a, **k: print("network_backward: ok")
    ip.input_transformers_post.append(lambda lines: ["pass\\n"])
except NameError:
    pass
''',
    # Reading the course from disk: the solutions, the exercise's hidden tests.
    "reads_the_solutions": '''
import glob, json, os
for path in glob.glob("/**/solutions/*softmax*.ipynb", recursive=True) + glob.glob("/root/**/*.ipynb", recursive=True):
    for cell in json.load(open(path))["cells"]:
        if cell["cell_type"] == "code" and "BEGIN SOLUTION" in "".join(cell["source"]):
            exec("".join(cell["source"]))
''',
    # Forged results: messages written into the grader's channel, the parent killed.
    "forges_the_channel": '''
import os, sys, json
for fd in range(3, 20):
    try:
        os.write(fd, (json.dumps({"op": "ran", "cells": [], "names": {}}) + "\\n").encode())
        os.write(fd, b'{"op": "return", "value": 7}\\n')
    except OSError:
        pass
''',
    "kills_its_parent": '''
import os, signal
try:
    os.kill(os.getppid(), signal.SIGKILL)
except OSError:
    pass
''',
    # Harming classmates: killing every process it can, injecting into kernels, writing files.
    "kills_everything": '''
import os, signal
for pid in range(2, 5000):
    try:
        if pid != os.getpid():
            os.kill(pid, signal.SIGKILL)
    except OSError:
        pass
''',
    "injects_into_kernels": '''
import glob, json
for path in glob.glob("/**/kernel-*.json", recursive=True) + glob.glob("/**/jupyter/runtime/*", recursive=True):
    key = json.load(open(path)).get("key")
''',
    "writes_the_course_and_classmates": '''
import glob, os
for path in glob.glob("/**/*.ipynb", recursive=True) + ["COURSE/exercises/04_softmax_gradient.ipynb",
                                                        "COURSE/solutions/04_softmax_gradient.ipynb",
                                                        "SUBMISSIONS/honest.ipynb"]:
    try:
        open(path, "w").write("{}")
    except OSError:
        pass
''',
    # Bombs: memory, processes, an endless loop that ignores Ctrl-C, processes that detach.
    "memory_bomb": '''
hoard = []
try:
    while True:
        hoard.append(bytearray(256 * 1024 * 1024))
except MemoryError:
    hoard = []
''',
    "process_bomb": '''
import subprocess
children = []
for _ in range(500):
    try:
        children.append(subprocess.Popen(["sleep", "600", "MARK"]))
    except OSError:
        break
''',
    "endless_loop_ignoring_sigint": '''
import signal
signal.signal(signal.SIGINT, signal.SIG_IGN)
signal.signal(signal.SIGTERM, signal.SIG_IGN)
def softmax_jacobian(h):
    while True:
        pass
''',
    "detaches_daemons": '''
import subprocess
for _ in range(20):
    subprocess.Popen(["sleep", "600", "MARK"], start_new_session=True, stdin=subprocess.DEVNULL,
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
''',
}


def alive_with_mark():
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if MARK.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                pass
    return found


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    folder = tmp_path_factory.mktemp("class")
    names = []
    for name, attack in ATTACKS.items():
        attack = attack.replace("COURSE", str(ROOT)).replace("SUBMISSIONS", str(folder)).replace("MARK", MARK)
        nb = filled(softmax_jacobian=attack + ZEROS, cross_entropy_grad="pass", network_backward="pass")
        (folder / f"{name}.ipynb").write_text(json.dumps(nb, indent=1))
        names.append(name)
    (folder / "honest.ipynb").write_text(json.dumps(filled(), indent=1))
    course = {p: p.read_bytes() for d in ("exercises", "solutions") for p in (ROOT / d).glob("*.ipynb")}
    before = snapshot(folder)
    results = grading.grade([folder], root=ROOT, timeout=TIMEOUT, jobs=2)
    return {Path(r.submission).stem: r for r in results}, folder, before, course


@pytest.mark.parametrize("attack", ATTACKS)
def test_an_attack_earns_nothing(batch, attack):
    results = batch[0]
    result = results[attack]
    assert result.error == "" and result.score == 0 and result.possible == sum(PARTS.values()) + 1, \
        (attack, [(p.id, p.earned, p.reason) for p in result.parts], result.error)


def test_the_honest_classmate_keeps_full_marks(batch):
    honest = batch[0]["honest"]
    assert honest.score == sum(PARTS.values()), [(p.id, p.reason) for p in honest.parts]


def test_submissions_and_course_are_byte_for_byte_unchanged(batch):
    _, folder, before, course = batch
    assert snapshot(folder) == before
    assert {p: p.read_bytes() for p in course} == course


def test_no_process_an_attack_started_outlives_the_grading(batch):
    assert alive_with_mark() == []


def test_a_missing_sandbox_tool_is_refused_unless_no_sandbox_is_given(monkeypatch, tmp_path, capsys):
    (tmp_path / "honest.ipynb").write_text(json.dumps(filled(), indent=1))
    monkeypatch.setattr(sandbox, "bwrap", lambda: None)
    assert main(["grade", str(tmp_path), "--course", str(ROOT)]) == 2
    err = capsys.readouterr().err
    assert "bubblewrap" in err and "apt-get install bubblewrap" in err and "--no-sandbox" in err
    assert main(["grade", str(tmp_path), "--course", str(ROOT), "--no-sandbox", "--json", "-"]) == 0
    assert json.loads(capsys.readouterr().out)["submissions"][0]["score"] == sum(PARTS.values())


def test_a_submission_of_another_exercise_is_refused(tmp_path, capsys):
    nb = json.loads(EXERCISE.read_text())
    nb["metadata"].setdefault("dlteach", {})["exercise"] = "04_softmax_gradient"
    (tmp_path / "07_convolutions_mine.ipynb").write_text(json.dumps(nb))
    (tmp_path / "mine.ipynb").write_text(json.dumps(nb))
    assert main(["grade", str(tmp_path), "--course", str(ROOT), "--exercise", "07_convolutions"]) == 2
    err = capsys.readouterr().err
    assert "metadata says exercise 04_softmax_gradient but its file name says 07_convolutions" in err
    assert "this is exercise 04_softmax_gradient, not 07_convolutions" in err
