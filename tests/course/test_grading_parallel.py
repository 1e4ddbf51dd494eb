"""dlteach grade --jobs 2 on a folder of ten submissions gives the grades of one-at-a-time grading."""

import json

from grading_cases import ROOT, TIMEOUT, snapshot

from dlteach.cli import main


def test_ten_submissions_with_two_jobs_score_as_one_at_a_time(submissions, capsys, tmp_path):
    folder, cases = submissions
    before = snapshot(folder)
    out = tmp_path / "grades.json"
    code = main(["grade", str(folder), "--jobs", "2", "--timeout", str(TIMEOUT), "--json", str(out), "--course", str(ROOT)])
    results = json.loads(out.read_text())["submissions"]
    assert code == 0 and len(results) == len(cases) == 10
    # One-at-a-time grading (test_grading.py) is held to these same expected parts.
    for (name, _, earned, _), r in zip(sorted(cases), results):
        assert r["submission"].endswith(name)
        assert {p["id"]: p["earned"] for p in r["parts"]} == earned, name
    assert snapshot(folder) == before

    table = capsys.readouterr().out          # with --json FILE the tables still go to the terminal
    assert table.count("04_softmax_gradient)") == 10
    assert "softmax_jacobian       0 / 2   fail     not attempted" in table
    assert "network_backward       3 / 3   pass" in table
    assert "why_sum_to_one         - / 1   pending  written answer, graded by hand" in table
    assert "total                  0 / 8  (1 pending)" in table and "total                  7 / 8  (1 pending)" in table
