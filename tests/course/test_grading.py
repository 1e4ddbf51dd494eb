"""dlteach grade on exercise 04, one submission at a time: the grades the issue asks for, part by part."""

import json

import pytest
from grading_cases import PARTS, ROOT, TIMEOUT, snapshot

from dlteach.cli import main


@pytest.fixture(scope="module")
def graded(submissions, tmp_path_factory):
    folder, cases = submissions
    before = snapshot(folder)
    out = tmp_path_factory.mktemp("grades") / "grades.json"
    paths = [str(folder / name) for name, *_ in cases]
    code = main(["grade", *paths, "--jobs", "1", "--timeout", str(TIMEOUT), "--json", str(out), "--course", str(ROOT)])
    results = json.loads(out.read_text())["submissions"]
    return code, {r["submission"].rsplit("/", 1)[-1]: r for r in results}, cases, before, folder


def test_grading_ran_and_exits_0_whatever_the_scores(graded):
    code, results, cases, _, _ = graded
    assert code == 0
    assert sorted(results) == sorted(name for name, *_ in cases)
    assert all(r["error"] == "" for r in results.values())


def test_each_submission_earns_exactly_the_expected_parts(graded):
    _, results, cases, _, _ = graded
    for name, _, earned, reasons in cases:
        parts = {p["id"]: p for p in results[name]["parts"]}
        assert {k: p["earned"] for k, p in parts.items()} == earned, name
        assert results[name]["possible"] == sum(PARTS.values()) + 1        # the written part, graded by hand
        assert results[name]["pending"] == 1 and results[name]["score"] == sum(earned.values())
        for part, fragment in reasons.items():
            assert fragment in parts[part]["reason"], (name, part, parts[part]["reason"])
        for part, p in parts.items():
            assert (p["status"] == "pass") == (p["earned"] == PARTS[part]), (name, part)


def test_the_exercise_as_shipped_is_not_attempted_and_the_solution_earns_full_marks(graded):
    _, results, _, _, _ = graded
    shipped = results["00_as_shipped.ipynb"]
    assert shipped["score"] == 0 and {p["reason"] for p in shipped["parts"]} == {"not attempted"}
    assert results["01_solution.ipynb"]["score"] == 7
    assert results["01_solution.ipynb"]["exercise"] == "04_softmax_gradient"
    assert shipped["written"] == [{"id": "why_sum_to_one", "points": 1}]


def test_reasons_are_one_short_line_even_after_a_huge_print(graded):
    _, results, _, _, _ = graded
    for r in results.values():
        for p in r["parts"]:
            assert "\n" not in p["reason"] and len(p["reason"]) <= 220


def test_submissions_are_byte_for_byte_unchanged(graded):
    _, _, _, before, folder = graded
    assert snapshot(folder) == before


def test_an_unreadable_submission_or_unknown_exercise_says_why_and_exits_nonzero(tmp_path, capsys):
    (tmp_path / "broken.ipynb").write_text("{not json")
    (tmp_path / "other.ipynb").write_text(json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    code = main(["grade", str(tmp_path), "--course", str(ROOT)])
    err = capsys.readouterr().err
    assert code == 2
    assert "broken.ipynb: not a readable Jupyter notebook" in err
    assert "other.ipynb: cannot tell which exercise this is" in err


def test_a_missing_submission_path_is_named(tmp_path, capsys):
    assert main(["grade", str(tmp_path / "nope.ipynb"), "--course", str(ROOT)]) == 2
    assert "nope.ipynb does not exist" in capsys.readouterr().err


@pytest.mark.parametrize("target", ["a.ipynb", "submission", "folder"])
def test_grades_are_never_written_over_a_notebook_or_a_submission(tmp_path, capsys, target):
    nb = tmp_path / "a.ipynb"
    nb.write_text(json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    other = tmp_path / "b.ipynb"
    other.write_bytes(nb.read_bytes())
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    out = {"a.ipynb": nb, "submission": other, "folder": tmp_path / "grades.json"}[target]
    args = ["grade", "--json", str(out), str(other if target != "folder" else tmp_path), "--course", str(ROOT)]
    if target == "submission":
        out = tmp_path / "copy"            # a JSON name that is not a notebook, but the notebook itself is
        args = ["grade", "--json", str(other), str(other), "--course", str(ROOT)]
    assert main(args) == 2
    assert "refusing to write the grades over a notebook or a submission" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
