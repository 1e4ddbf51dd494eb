"""The grading engine's fairness rules, one at a time: time limits per part, a process that fails to start,
one mistake marked once (reference versions of earlier parts), arrays shared with callbacks, commands
that need a course folder, the solution's own grade at release, and grading on a Dask cluster."""

import json
import os
import shutil
import threading
import time

import numpy as np
import pytest
from grading_cases import ROOT, solved

from bench import grading as bench_grading
from dlteach.cli import main
from dlteach.course import grade, notebooks, wire


def course_copy(tmp_path, name="04_softmax_gradient"):
    """A scratch course holding one exercise and its solution."""
    root = tmp_path / "course"
    for folder in ("exercises", "solutions"):
        (root / folder).mkdir(parents=True)
        shutil.copyfile(ROOT / folder / f"{name}.ipynb", root / folder / f"{name}.ipynb")
    return root


def edit(path, change):
    nb = json.loads(path.read_text())
    change(nb)
    path.write_text(json.dumps(nb, indent=1))


def graded_cell(nb, part, role):
    return next(c for c in nb["cells"] if c["metadata"].get("dlteach", {}).get("id") == part
                and c["metadata"]["dlteach"]["role"] == role)


def test_an_endless_loop_costs_its_parts_time_limit_set_in_the_solution(tmp_path):
    root = course_copy(tmp_path)
    edit(root / "solutions" / "04_softmax_gradient.ipynb",
         lambda nb: graded_cell(nb, "softmax_jacobian", "check")["metadata"]["dlteach"].update(time_limit=1))
    sub = tmp_path / "loop.ipynb"
    sub.write_text(json.dumps(bench_grading.filled(softmax_jacobian="def softmax_jacobian(h):\n    while True:\n"
                                                                    "        pass\n")))
    t0 = time.monotonic()
    (result,) = grade.grade([sub], root=root)
    elapsed = time.monotonic() - t0
    parts = {p.id: p for p in result.parts}
    assert parts["softmax_jacobian"].reason == "timed out after 1 s (this part's time limit)"
    assert parts["softmax_jacobian"].time_limit == 1 and parts["network_backward"].time_limit == 5
    assert parts["cross_entropy_grad"].earned == 2 and parts["network_backward"].earned == 3
    assert elapsed < 1 + 8, elapsed       # the limit, a restart, the other parts: not a minute per cell


CRASH_ONCE = """
import os, sys, pathlib
_mark = pathlib.Path({mark!r})
if sys.argv[0].endswith("runner.py") and ({always} or not _mark.exists()):
    _mark.touch()
    os._exit(1)
"""


@pytest.mark.parametrize("always", [False, True])
def test_a_student_process_that_fails_to_start_is_started_once_more(tmp_path, always):
    root = course_copy(tmp_path)
    mark = tmp_path / "started-once"
    edit(root / "exercises" / "04_softmax_gradient.ipynb", lambda nb: nb["cells"][2].update(
        source="".join(nb["cells"][2]["source"]) + CRASH_ONCE.format(mark=str(mark), always=always)))
    sub = tmp_path / "04_softmax_gradient.ipynb"
    sub.write_text(json.dumps(bench_grading.filled()))
    (result,) = grade.grade([sub], root=root, sandboxed=False)     # unsandboxed: the mark must be seen
    if always:
        assert result.status.startswith("could not grade: the process for the student's code did not start")
        assert result.parts == []
    else:
        assert mark.exists() and result.error == "" and result.score == 7


def test_one_mistake_is_marked_once_later_parts_get_the_reference_version(tmp_path):
    name = "08_lstm"
    solution = notebooks.read(ROOT / "solutions" / f"{name}.ipynb")
    exercise = json.loads((ROOT / "exercises" / f"{name}.ipynb").read_text())
    answers = {}
    for cell in solution.cells:
        meta = cell.metadata.get("dlteach", {})
        if meta.get("role") == "answer":
            answers[meta["id"]] = "\n".join(ln for ln in cell.source.splitlines() if "### " not in ln)
    forward = answers["lstm_step_forward"]
    slip = forward.replace("c = f * c_prev + i * g", "c = i * c_prev + f * g")     # the two gates swapped
    assert slip != forward, "the slip no longer applies to the solution"
    answers["lstm_step_forward"] = slip
    for part, source in answers.items():
        graded_cell(exercise, part, "answer")["source"] = source
    sub = tmp_path / f"{name}.ipynb"
    sub.write_text(json.dumps(exercise))
    (result,) = grade.grade([sub], root=ROOT)
    parts = {p.id: p for p in result.parts}
    assert parts["lstm_step_forward"].earned < parts["lstm_step_forward"].points
    assert parts["lstm_step_backward"].status == "pass"
    bptt = parts["lstm_bptt"]          # it calls the learner's lstm_step_forward: graded with the reference one
    assert bptt.status == "pass" and bptt.earned == bptt.points, bptt
    assert "graded with the reference lstm_step_forward in place of yours" in bptt.note
    # without the slip, nothing is replaced
    (honest,) = grade.grade([ROOT / "solutions" / f"{name}.ipynb"], root=ROOT)
    assert all(p.note == "" and p.status == "pass" for p in honest.parts)


def test_a_callback_sees_the_arrays_the_other_side_changed_in_place():
    """numerical_gradient(f, x) in the student's process nudges its copy of x, then calls f() back in the
    grader, where f reads the grader's x: the nudge must be there before f runs."""
    a_read, b_write = os.pipe()
    b_read, a_write = os.pipe()
    student, grader = wire.Channel(a_read, a_write), wire.Channel(b_read, b_write)

    def numerical_gradient(f, x, h=1e-5):
        grad = np.zeros_like(x)
        for i in range(x.size):
            old = x.flat[i]
            x.flat[i] = old + h
            up = f()
            x.flat[i] = old - h
            down = f()
            x.flat[i] = old
            grad.flat[i] = (up - down) / (2 * h)
        return grad

    ref = student.encode(numerical_gradient)["__ref__"]
    serving = threading.Thread(target=lambda: student.answer(student.receive()), daemon=True)
    serving.start()
    x = np.array([1.0, -2.0, 3.0])
    remote = wire.Remote(grader, ref, "function", "numerical_gradient")
    grad = remote(lambda: float(np.sum(x ** 2)), x)
    serving.join(5)
    assert np.allclose(grad, 2 * x, rtol=1e-8)
    assert np.array_equal(x, [1.0, -2.0, 3.0])     # restored, and written back as the student left it
    for fd in (a_read, b_write, b_read, a_write):
        os.close(fd)


@pytest.mark.parametrize("command", [["release"], ["execute"], ["slides"], ["site"], ["grade", "x.ipynb"]])
def test_a_command_that_writes_refuses_to_run_outside_a_course_folder(tmp_path, monkeypatch, command):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exc:
        main(command)
    assert "no course folder" in str(exc.value) and "--course" in str(exc.value)
    with pytest.raises(SystemExit) as exc:
        main([*command, "--course", str(tmp_path)])
    assert f"--course {tmp_path}: not a course folder" in str(exc.value)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", ["lab", "execute", "release", "grade", "slides", "site", "voila"])
def test_every_command_takes_course(command, capsys):
    with pytest.raises(SystemExit):
        main([command, "--help"])
    assert "--course FOLDER" in capsys.readouterr().out


def test_release_refuses_a_solution_its_own_check_fails(tmp_path, capsys):
    root = course_copy(tmp_path)

    def break_check(nb):
        check = graded_cell(nb, "cross_entropy_grad", "check")     # edited, and never run on the solution
        check["source"] = "assert 1 + 1 == 3, 'a typo in the check'\n" + "".join(check["source"])
    edit(root / "solutions" / "04_softmax_gradient.ipynb", break_check)
    before = (root / "exercises" / "04_softmax_gradient.ipynb").read_bytes()
    assert main(["release", "--course", str(root)]) == 1
    err = capsys.readouterr().err
    assert "solutions/04_softmax_gradient.ipynb: part cross_entropy_grad earns" in err
    assert (root / "exercises" / "04_softmax_gradient.ipynb").read_bytes() == before
    assert main(["release", "--course", str(root), "--no-verify"]) == 0


def test_a_class_grades_the_same_on_a_dask_cluster(tmp_path):
    distributed = pytest.importorskip("distributed")
    folder = tmp_path / "submitted"
    subs = [s for s in bench_grading.build(13) if s[0] in ("correct_00", "wrong_00", "blank_00")]
    bench_grading.write(folder, subs)
    local = {r.student: r.to_dict() for r in grade.grade([folder], root=ROOT)}
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as cluster:
        remote = {r.student: r.to_dict() for r in grade.grade([folder], root=ROOT, scheduler=cluster.scheduler_address)}
    assert remote == local and sorted(local) == ["blank_00", "correct_00", "wrong_00"]


def test_a_scheduler_that_is_not_there_is_named(tmp_path, capsys):
    sub = tmp_path / "04_softmax_gradient.ipynb"
    sub.write_text(json.dumps(bench_grading.filled(softmax_jacobian=solved("softmax_jacobian"))))
    assert main(["grade", str(sub), "--scheduler", "tcp://127.0.0.1:9", "--course", str(ROOT)]) == 2
    assert "--scheduler tcp://127.0.0.1:9: cannot reach a Dask scheduler there" in capsys.readouterr().err
