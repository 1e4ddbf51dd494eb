"""A class's grades as files: a gradebook CSV, one offline feedback page per student, and the JSON.

`dlteach grade FOLDER --out GRADES/ [--manual written.csv]` writes
    GRADES/gradebook.csv       one row per submission: student, exercise, status, one column per part,
                               total, possible (hand-graded parts included), pending (their points not
                               graded yet)
    GRADES/grades.json         everything, for other tools
    GRADES/feedback/<student>.html
                               what passed, what failed and why, with the hints; no script, no link
    GRADES/.dlteach-grades     the mark that this folder is dlteach's: only such a folder (or a new or
                               empty one) is written into, and only these files are replaced
The manual CSV has a column student and one column per written part (the gradebook's own columns: an
instructor can fill in the gradebook's pending cells and pass it back); an empty cell stays pending.
Regrading the same submissions writes the same bytes.
"""

import csv
import html
import io
import json
from pathlib import Path

MARK = ".dlteach-grades"


class GradebookError(Exception):
    """The outputs cannot be written where asked, or the manual points do not fit; the message says why."""


def check_out_folder(out, submissions):
    """Refuse an output folder that is a notebook, a submission, inside a graded folder, or somebody's folder."""
    out = Path(out)
    resolved = out.resolve()
    for target in map(lambda s: Path(s).resolve(), submissions):
        if resolved == target or target in resolved.parents or (target.is_dir() and resolved in target.parents):
            raise GradebookError(f"--out {out}: refusing to write grades into or over the submissions ({target}); "
                                 "give a folder outside them, such as grades/")
    if out.suffix == ".ipynb" or (out.exists() and not out.is_dir()):
        raise GradebookError(f"--out {out}: is a file, not a folder; give a new folder such as grades/")
    if out.is_dir() and any(out.iterdir()) and not (out / MARK).exists():
        raise GradebookError(f"--out {out}: is a folder dlteach grade did not write (no {MARK} in it); "
                             "refusing to write into it. Give a new or empty folder")


def read_manual(path, results):
    """{student: {written part: points}} from the manual CSV, checked against the written parts graded."""
    written = {w["id"]: w["points"] for r in results for w in r.written}
    students = {r.student for r in results}
    try:
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
            columns = rows[0].keys() if rows else []
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise GradebookError(f"--manual {path}: cannot read it as CSV ({exc})") from None
    if rows and "student" not in columns:
        raise GradebookError(f"--manual {path}: has no column 'student'; expected student and the written parts "
                             f"({', '.join(written) or 'none'})")
    manual = {}
    for line, row in enumerate(rows, start=2):
        student = (row.get("student") or "").strip()
        if student not in students:
            raise GradebookError(f"--manual {path}, line {line}: student {student!r} has no graded submission here")
        for part, value in row.items():
            value = (value or "").strip()
            if part not in written or not value or value == "pending":
                continue
            try:
                points = float(value)
            except ValueError:
                raise GradebookError(f"--manual {path}, line {line}: {part} is {value!r}, expected a number of "
                                     f"points from 0 to {written[part]:g} (or empty: pending)") from None
            if not 0 <= points <= written[part]:
                raise GradebookError(f"--manual {path}, line {line}: {part} is {points:g}, expected 0 to "
                                     f"{written[part]:g}")
            manual.setdefault(student, {})[part] = points
    return manual


def merge_manual(results, manual):
    """Put the manual points into each result's written parts (earned), in place."""
    for r in results:
        for w in r.written:
            w["earned"] = manual.get(r.student, {}).get(w["id"])


def columns(results):
    """The part columns in the order the exercises list them: auto-graded parts, then the written ones."""
    auto, written = [], []
    for r in results:
        auto += [p.id for p in r.parts if p.id not in auto]
        written += [w["id"] for w in r.written if w["id"] not in written]
    return auto, written


def gradebook_csv(results):
    auto, written = columns(results)
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\n")
    out.writerow(["student", "exercise", "status", *auto, *written, "total", "possible", "pending", "submission"])
    for r in sorted(results, key=lambda r: (r.student, r.submission)):
        parts = {p.id: _num(p.earned) for p in r.parts}
        hand = {w["id"]: "pending" if w.get("earned") is None else _num(w["earned"]) for w in r.written}
        if r.error:
            row = [""] * (len(auto) + len(written)) + ["", "", ""]
        else:
            row = ([parts.get(a, "") for a in auto] + [hand.get(w, "") for w in written] +
                   [_num(r.score), _num(r.possible), _num(r.pending)])
        out.writerow([_text(r.student), r.exercise, _text(r.status), *row, _text(r.submission)])
    return buf.getvalue()


def feedback_page(r):
    """One student's feedback as a self-contained HTML page (inline style, no script, nothing loaded)."""
    e = html.escape
    head = (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{e(r.student)}: {e(r.exercise or 'submission')}</title>\n<style>{STYLE}</style></head><body>\n")
    body = [f"<h1>{e(r.exercise or 'Submission')}</h1>",
            f"<p class=\"who\">{e(r.student)} &middot; <code>{e(r.submission)}</code></p>"]
    if r.error:
        body.append(f"<p class=\"status fail\">Could not grade: {e(r.error)}</p>"
                    "<p>Nothing was graded, so this is not a score of 0. Ask your instructor.</p>")
    else:
        pending = f", {_num(r.pending)} still to be graded by hand" if r.pending else ""
        body.append(f"<p class=\"status\">Score: <b>{_num(r.score)} of {_num(r.possible)}</b>{pending}</p>")
        body.append("<table><tr><th>part</th><th>points</th><th>result</th></tr>")
        for p in r.parts:
            body.append(f"<tr class=\"{p.status}\"><td>{e(p.id)}</td><td>{_num(p.earned)} / {_num(p.points)}</td>"
                        f"<td>{_LABEL[p.status]}</td></tr>")
        for w in r.written:
            got = "to be graded by hand" if w.get("earned") is None else "graded by hand"
            points = "&ndash;" if w.get("earned") is None else _num(w["earned"])
            body.append(f"<tr class=\"written\"><td>{e(w['id'])}</td><td>{points} / {_num(w['points'])}</td>"
                        f"<td>{got}</td></tr>")
        body.append("</table>")
        for p in r.parts:
            if p.status == "pass" and not p.note:
                continue
            body.append(f"<section class=\"{p.status}\"><h2>{e(p.id)}: {_LABEL[p.status]} "
                        f"({_num(p.earned)} of {_num(p.points)})</h2>")
            if p.failures:
                body.append("<ul>")
                for f in p.failures:
                    more = f" (and in {f['more']} more case{'s' if f['more'] > 1 else ''})" if f.get("more") else ""
                    hint = f"<div class=\"hint\">Hint: {e(f['hint'])}</div>" if f.get("hint") else ""
                    body.append(f"<li>{e(f['message'])}{e(more)}{hint}</li>")
                body.append("</ul>")
            elif p.feedback or p.reason:
                body.append(f"<pre>{e(p.feedback or p.reason)}</pre>")
            if p.note:
                body.append(f"<p class=\"note\">{e(p.note)}</p>")
            body.append("</section>")
        if all(p.status == "pass" for p in r.parts):
            body.append("<p>Every automatically graded part passed.</p>")
    return head + "\n".join(body) + "\n</body></html>\n"


_LABEL = {"pass": "passed", "partial": "partly passed", "fail": "failed"}
STYLE = ("body{font:16px/1.5 system-ui,sans-serif;max-width:46em;margin:2em auto;padding:0 1em;color:#222}"
         "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.3em .8em;text-align:left}"
         "tr.pass td:last-child{color:#1a7f37}tr.fail td:last-child{color:#b3261e}"
         "tr.partial td:last-child{color:#9a6700}section{border-left:4px solid #ccc;padding:.2em 1em;margin:1em 0}"
         "section.fail{border-color:#b3261e}section.partial{border-color:#9a6700}"
         ".hint{color:#0b57d0;margin:.2em 0 .5em}pre{white-space:pre-wrap;background:#f6f8fa;padding:.6em}"
         ".note{color:#555;font-style:italic}.status.fail{color:#b3261e}.who{color:#555}")


def write(results, out, *, submissions, manual=None):
    """Write the gradebook, the feedback pages and the JSON into out; return the paths written.

    Feedback pages of an earlier run for students not in this one are removed (they are dlteach's own).
    """
    out = Path(out)
    check_out_folder(out, submissions)
    merge_manual(results, read_manual(manual, results) if manual else {})
    feedback = out / "feedback"
    feedback.mkdir(parents=True, exist_ok=True)
    (out / MARK).write_text("written by dlteach grade; its files are replaced when grading again\n", encoding="utf-8")
    files = {out / "gradebook.csv": gradebook_csv(results),
             out / "grades.json": json.dumps({"submissions": [r.to_dict() for r in results]}, indent=1) + "\n"}
    for r in results:
        files[feedback / f"{_safe(r.student)}.html"] = feedback_page(r)
    for old in feedback.glob("*.html"):
        if old not in files:
            old.unlink()
    for path, text in files.items():
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
    return sorted(files)


def _text(value):
    """A text cell a spreadsheet shows as text: one starting like a formula (=, +, -, @) gets a quote."""
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value


def _safe(name):
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name).strip(".") or "student"


def _num(x):
    return f"{x:g}"
