"""Slides, site and Voila tooling without a browser: what goes into a deck or page, and the pinned assets.

tests/browser/test_presenting.py opens the results in Chromium.
"""

import json

import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from dlteach.cli import main
from dlteach.course import assets, notebooks, present
from dlteach.course.commands import resolve_lessons

ROOT = notebooks.course_root()


def slide(cell, kind):
    cell.metadata["slideshow"] = {"slide_type": kind}
    return cell


def test_for_presenting_hides_nbval_markers_replaces_widgets_and_bars_and_links_pages():
    widget = {notebooks.WIDGET_VIEW: {"model_id": "a" * 32, "version_major": 2, "version_minor": 0}}
    nb = new_notebook(cells=[
        new_markdown_cell("See [lesson 03](03_backpropagation.ipynb#step-2) and [the exercise](../exercises/03_x.ipynb)."),
        new_code_cell("# NBVAL_IGNORE_OUTPUT\n_ = interact(f, n=(0, 5))", outputs=[
            new_output("display_data", data={**widget, "text/plain": "interactive(children=(IntSlider(...)))"}),
            new_output("display_data", data={**widget, "text/plain": "HBox(...)"})]),
        new_code_cell("fit(model)", outputs=[
            new_output("display_data", data={**widget, "text/plain": "  0%|          | 0/1500 [TIME]"}),
            new_output("stream", text="accuracy 97%\n")]),
    ])
    nb.metadata["widgets"] = {notebooks.WIDGET_STATE: {"state": {}}}
    before = json.dumps(nb, sort_keys=True)
    out = present.for_presenting(nb)
    assert json.dumps(nb, sort_keys=True) == before, "the notebook itself is left alone"
    assert out.cells[0].source == ("See [lesson 03](03_backpropagation.html#step-2) and "
                                   "[the exercise](../exercises/03_x.html).")
    assert out.cells[1].source == "_ = interact(f, n=(0, 5))"
    (note,) = out.cells[1].outputs                        # one note for the widget, however many views
    assert "Live widget" in note.data["text/plain"] and "make voila" in note.data["text/html"]
    assert [o.output_type for o in out.cells[2].outputs] == ["stream"], "progress bars are dropped"
    assert "widgets" not in out.metadata


def test_for_presenting_folds_speaker_notes_on_pages_only():
    nb = new_notebook(cells=[slide(new_markdown_cell("Ask the room first."), "notes")])
    assert present.for_presenting(nb).cells[0].source == "Ask the room first."
    folded = present.for_presenting(nb, fold_notes=True).cells[0].source
    assert folded.startswith('<details class="dlteach-notes"><summary>Presenter notes</summary>')
    assert "Ask the room first." in folded


@pytest.mark.parametrize("kinds, expected", [
    (["slide", "-", "subslide", "fragment", "slide"], 3),
    (["-", "-", "slide"], 2),                         # the first shown cell starts a slide
    (["skip", "notes", "-", "subslide"], 2),          # skipped cells and notes are no slide
    (["skip", "skip"], 0),
])
def test_expected_slide_count_follows_nbconverts_rule(kinds, expected):
    nb = new_notebook(cells=[slide(new_markdown_cell(f"# cell {i}"), k) for i, k in enumerate(kinds)])
    assert present.expected_slide_count(nb) == expected


def test_every_lesson_cell_has_slide_metadata():
    for path in notebooks.course_notebooks(ROOT, ("lessons",)):
        nb = notebooks.read(path)
        missing = [i for i, c in enumerate(nb.cells) if "slide_type" not in c.metadata.get("slideshow", {})]
        assert not missing, f"{path.name}: cells {missing} have no slideshow.slide_type"
        assert present.expected_slide_count(nb) >= 5, f"{path.name} makes a deck of fewer than 5 slides"


def test_lesson_title_is_the_first_heading():
    nb = new_notebook(cells=[new_markdown_cell("intro"), new_markdown_cell("# 03 · Backpropagation\n\ntext")])
    assert present.lesson_title(nb, "fallback") == "03 · Backpropagation"
    assert present.lesson_title(new_notebook(), "fallback") == "fallback"


def test_assets_refuse_a_tarball_whose_integrity_differs(tmp_path, monkeypatch):
    (tmp_path / "fake.tgz").write_bytes(b"not what the lock pinned")
    monkeypatch.setenv("DLTEACH_ASSET_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(assets, "packages", lambda: {"fake": {
        "version": "1.0.0", "tarball": (tmp_path / "fake.tgz").as_uri(), "integrity": "sha512-AAAA", "files": []}})
    with pytest.raises(assets.AssetError, match="has integrity sha512-.*expected sha512-AAAA"):
        assets.tarball("fake")
    assert not (tmp_path / "cache" / "fake.tgz").exists(), "a tarball that failed its check is not kept"


def test_assets_say_how_to_build_offline_when_the_registry_is_unreachable(tmp_path, monkeypatch):
    monkeypatch.setenv("DLTEACH_ASSET_CACHE", str(tmp_path))
    monkeypatch.setattr(assets, "packages", lambda: {"gone": {
        "version": "1.0.0", "tarball": (tmp_path / "missing" / "gone-1.0.0.tgz").as_uri(),
        "integrity": "sha512-AAAA", "files": []}})
    with pytest.raises(assets.AssetError, match="could not fetch gone 1.0.0.*put gone-1.0.0.tgz into"):
        assets.tarball("gone")


def test_the_lock_pins_every_package_by_version_and_sha512():
    for name, entry in assets.packages().items():
        assert entry["tarball"].startswith("https://registry.npmjs.org/") and entry["version"] in entry["tarball"]
        assert entry["integrity"].startswith("sha512-") and entry["files"], name


def test_lessons_are_named_by_path_name_or_number():
    lessons = notebooks.course_notebooks(ROOT, ("lessons",))
    first = lessons[0]
    assert resolve_lessons([first.stem.split("_")[0]], ROOT) == [first]
    assert resolve_lessons([first.stem], ROOT) == [first]
    assert resolve_lessons([], ROOT) == lessons
    with pytest.raises(ValueError, match="argument LESSON '99' matches 0 lessons"):
        resolve_lessons(["99"], ROOT)


def test_slides_command_builds_a_deck_with_its_assets(tmp_path, capsys):
    lesson = notebooks.course_notebooks(ROOT, ("lessons",))[0]
    assert main(["slides", str(lesson), "--out", str(tmp_path)]) == 0
    deck = tmp_path / f"{lesson.stem}.html"
    assert str(deck) in capsys.readouterr().out
    text = deck.read_text()
    assert "assets/reveal.js/dist/reveal.js" in text and "assets/mathjax/es5/tex-svg.js" in text
    assert "https://" not in "".join(line for line in text.splitlines() if "<script" in line or "<link" in line)
    assert (tmp_path / "assets" / "reveal.js" / "dist" / "reveal.js").exists()
    assert (tmp_path / "assets" / "mathjax" / "es5" / "tex-svg.js").exists()


def test_voila_template_drops_the_cdn_style_sheets(tmp_path):
    pytest.importorskip("voila")
    template = present.voila_template(tmp_path)
    text = (template / "index.html.j2").read_text()
    assert "cdn.jsdelivr.net" not in text and "extends" in text
    argv, env = present.voila_command("lessons/00_welcome.ipynb", port=8899, template_root=tmp_path)
    assert "--Voila.ip=127.0.0.1" in argv and "--template=dlteach" in argv and "--strip_sources=True" in argv
    assert env["JUPYTER_PATH"].split(":")[0] == str(tmp_path)
