"""Teaching a class: a small class graded into a gradebook, feedback pages and JSON, fairly and idempotently.

The class is bench/grading.py's mix at 13 submissions (correct in varied styles, one part wrong,
blank, raising, an endless loop, a crash), plus a broken file and a submission missing an answer cell.
"""

import csv
import json
import shutil

import pytest
from grading_cases import ROOT, snapshot

from bench import grading as bench_grading
from dlteach.cli import main
from dlteach.course import grade, gradebook


def _tree(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory):
    base = tmp_path_factory.mktemp("class")
    folder = base / "submitted"
    subs = bench_grading.build(13)
    names = {"<script>": "def softmax_jacobian(h):\n    raise ValueError('<script>alert(1)</script>')\n"}
    subs.append(("zz_script", bench_grading.filled(softmax_jacobian=names["<script>"]),
                 {**dict.fromkeys(bench_grading.POINTS, "full"), "softmax_jacobian": "zero"}, {}))
    missing = bench_grading.filled()
    missing["cells"] = [c for c in missing["cells"] if c["metadata"].get("dlteach", {}).get("id") != "network_backward"
                        or c["metadata"]["dlteach"]["role"] != "answer"]
    subs.append(("zz_missing", missing, {**dict.fromkeys(bench_grading.POINTS, "full"), "network_backward": "zero"},
                 {"network_backward": "answer cell not found"}))
    bench_grading.write(folder, subs)
    (folder / "zz_broken").mkdir()
    (folder / "zz_broken" / "04_softmax_gradient.ipynb").write_text("{not json")
    manual = base / "written.csv"
    manual.write_text("student,why_sum_to_one\ncorrect_00,1\ncorrect_01,0.5\nblank_00,\n", encoding="utf-8")
    before = snapshot(folder / "correct_00")
    out = base / "grades"
    code = main(["grade", str(folder), "--out", str(out), "--manual", str(manual), "--jobs", "2",
                 "--course", str(ROOT)])
    return {"code": code, "out": out, "folder": folder, "subs": subs, "manual": manual, "before": before}


def _results(out):
    data = json.loads((out / "grades.json").read_text())["submissions"]
    results = []
    for d in data:
        r = grade.Result(submission=d["submission"], student=d["student"], exercise=d["exercise"],
                         parts=[grade.Part(**p) for p in d["parts"]], written=d["written"], error=d["error"])
        results.append(r)
    return {r.student: r for r in results}


def test_every_submission_of_the_class_is_graded_fairly(graded_class):
    results = _results(graded_class["out"])
    unfair = {s: bench_grading.unfair(results[s], expected, reasons) for s, _, expected, reasons in graded_class["subs"]}
    assert {s: why for s, why in unfair.items() if why} == {}
    assert graded_class["code"] == 2          # the broken file could not be graded: said, and the exit code shows it


def test_the_gradebook_has_a_row_per_submission_parts_total_possible_and_pending(graded_class):
    with open(graded_class["out"] / "gradebook.csv", newline="") as f:
        rows = {r["student"]: r for r in csv.DictReader(f)}
    assert len(rows) == len(graded_class["subs"]) + 1
    assert list(next(iter(rows.values())))[:7] == ["student", "exercise", "status", "softmax_jacobian",
                                                    "cross_entropy_grad", "network_backward", "why_sum_to_one"]
    full = rows["correct_00"]
    assert (full["softmax_jacobian"], full["network_backward"], full["why_sum_to_one"]) == ("2", "3", "1")
    assert (full["total"], full["possible"], full["pending"]) == ("8", "8", "0")
    assert rows["correct_01"]["why_sum_to_one"] == "0.5" and rows["correct_01"]["total"] == "7.5"
    assert rows["correct_02"]["why_sum_to_one"] == "pending" and rows["correct_02"]["pending"] == "1"
    assert rows["correct_02"]["possible"] == "8"          # the hand-graded part counts in what is possible
    assert rows["blank_00"]["status"] == "graded" and rows["blank_00"]["total"] == "0"
    broken = rows["zz_broken"]
    assert broken["status"].startswith("could not grade: not a readable Jupyter notebook")
    assert broken["total"] == "" and broken["softmax_jacobian"] == ""       # not a 0: nothing was graded


def test_feedback_pages_say_what_failed_why_and_the_hint_offline_and_escaped(graded_class):
    pages = graded_class["out"] / "feedback"
    assert sorted(p.stem for p in pages.glob("*.html")) == sorted([s for s, *_ in graded_class["subs"]] + ["zz_broken"])
    for page in pages.glob("*.html"):
        text = page.read_text()
        assert "<script" not in text and "http" not in text and " src=" not in text, page.name
    flipped = (pages / "wrong_00.html").read_text()    # the softmax Jacobian with its sign flipped
    assert "softmax_jacobian: failed" in flipped and "J differs from central differences" in flipped
    assert "Hint: the sign is flipped" in flipped
    assert "Score: <b>5 of 8</b>, 1 still to be graded by hand" in flipped
    wrong = (pages / "wrong_01.html").read_text()      # diag + outer: one term's sign
    assert "softmax_jacobian: failed" in wrong and "J differs from central differences" in wrong
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in (pages / "zz_script.html").read_text()
    assert "Could not grade: not a readable Jupyter notebook" in (pages / "zz_broken.html").read_text()
    assert "answer cell not found" in (pages / "zz_missing.html").read_text()


def test_regrading_writes_the_same_bytes_and_leaves_the_submissions_alone(graded_class):
    out = graded_class["out"]
    first = _tree(out)
    main(["grade", str(graded_class["folder"]), "--out", str(out), "--manual", str(graded_class["manual"]),
          "--jobs", "2", "--course", str(ROOT)])
    assert _tree(out) == first
    assert snapshot(graded_class["folder"] / "correct_00") == graded_class["before"]


@pytest.mark.parametrize("where", ["inside the submissions", "a notebook", "somebody's folder", "a submission"])
def test_an_output_folder_over_submissions_notebooks_or_other_files_is_refused(tmp_path, capsys, where):
    folder = tmp_path / "submitted" / "alice"
    folder.mkdir(parents=True)
    nb = folder / "04_softmax_gradient.ipynb"
    shutil.copyfile(ROOT / "exercises" / "04_softmax_gradient.ipynb", nb)
    other = tmp_path / "mine"
    other.mkdir()
    (other / "notes.txt").write_text("my notes")
    out = {"inside the submissions": tmp_path / "submitted" / "grades", "a notebook": tmp_path / "x.ipynb",
           "somebody's folder": other, "a submission": nb}[where]
    before = _tree(tmp_path)
    assert main(["grade", str(tmp_path / "submitted"), "--out", str(out), "--course", str(ROOT)]) == 2
    assert "--out" in capsys.readouterr().err
    assert _tree(tmp_path) == before


@pytest.mark.parametrize("manual, message", [
    ("student,why_sum_to_one\nmallory,1\n", "student 'mallory' has no graded submission"),
    ("student,why_sum_to_one\nalice,3\n", "why_sum_to_one is 3, expected 0 to 1"),
    ("student,why_sum_to_one\nalice,good\n", "why_sum_to_one is 'good', expected a number"),
    ("name,why_sum_to_one\nalice,1\n", "has no column 'student'"),
])
def test_manual_points_that_do_not_fit_are_refused_naming_the_line(tmp_path, capsys, manual, message):
    folder = tmp_path / "submitted" / "alice"
    folder.mkdir(parents=True)
    shutil.copyfile(ROOT / "exercises" / "04_softmax_gradient.ipynb", folder / "04_softmax_gradient.ipynb")
    (tmp_path / "m.csv").write_text(manual)
    code = main(["grade", str(tmp_path / "submitted"), "--out", str(tmp_path / "grades"), "--manual",
                 str(tmp_path / "m.csv"), "--course", str(ROOT)])
    assert code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "grades" / "gradebook.csv").exists()


def test_student_ids_come_from_the_folder_or_the_file_name(tmp_path):
    assert grade.student_id(tmp_path / "alice" / "04_x.ipynb", tmp_path, "04_x") == "alice"
    assert grade.student_id(tmp_path / "04_x_bob.ipynb", tmp_path, "04_x") == "bob"
    assert grade.student_id(tmp_path / "carol.ipynb", None, "04_x") == "carol"
    assert gradebook._safe("../../etc/passwd") == "_.._etc_passwd"
