"""Presenting without a kernel or a network: every lesson's deck, the static site, and one lesson in Voila,
each opened in headless Chromium with every request that leaves its folder (or server) blocked and recorded.

Decks: no request leaves the build folder, the formulas are typeset by MathJax with no TeX error,
the number of slides is what the cells' slide metadata says, the speaker notes are there, and the
arrow keys move between slides. Site: the index lists every lesson in course order with its title,
slides and exercise; every page opens offline, every internal link and image resolves to a file, every
lesson page shows its figures. Voila: a served lesson reaches no CDN, and moving a slider redraws its
plot (when the tested lessons include VOILA_LESSON: another folder given by DLTEACH_BROWSER_LESSONS may
not, and then there is no such test rather than a skipped one).
"""

import os
import shutil
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlparse

import nbformat
import pytest
from conftest import REPO, _free_port, _stop, images_js, lesson_dir, start_server, wait_until_images_settle

from dlteach.course import deck, deckcheck, notebooks, present

pytestmark = pytest.mark.browser

LESSONS = sorted(lesson_dir().glob("*.ipynb"))
VOILA_LESSON = "04_softmax_gradient.ipynb"     # quick to run; two sliders redraw its figures

IMAGES_JS = images_js("img")                    # every image on the page (conftest.images_js)

LINKS_JS = """() => [
    ...[...document.querySelectorAll('a[href]')].map(a => ['a', a.href]),
    ...[...document.querySelectorAll('img[src]')].map(i => ['img', i.src]),
    ...[...document.querySelectorAll('link[href]')].map(l => ['link', l.href]),
    ...[...document.querySelectorAll('script[src]')].map(s => ['script', s.src]),
]"""

SHOWN_FIGURES_JS = """() => [...document.querySelectorAll('.jp-OutputArea-output img')]
    .filter(img => img.complete && img.naturalWidth > 0).length"""


def offline_page(browser, allowed_prefix):
    """A page whose requests outside allowed_prefix (and data:/blob:) are aborted and recorded."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    outside = deckcheck.block_outside(page, allowed_prefix)
    failed, errors = [], []
    page.on("requestfailed", lambda request: failed.append(request.url))
    page.on("pageerror", lambda error: errors.append(str(error)))
    return context, page, outside, failed, errors


@pytest.fixture(scope="module")
def decks(tmp_path_factory):
    out = tmp_path_factory.mktemp("slides")
    return {deck.stem: deck for deck in present.build_slides(LESSONS, out)}, out


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    course = tmp_path_factory.mktemp("course")        # the tested lessons with the course's exercises
    shutil.copytree(lesson_dir(), course / "lessons")
    shutil.copytree(REPO / "exercises", course / "exercises")
    out = tmp_path_factory.mktemp("site")
    return present.build_site(course, out), out


def test_deck_is_offline_typesets_formulas_counts_slides_and_moves_with_the_arrows(headless_chromium, decks, lesson):
    """`lesson` is each lesson in turn (conftest.py parametrises it)."""
    built, folder = decks
    nb = notebooks.read(lesson)
    context, page, outside, failed, errors = offline_page(headless_chromium, folder.as_uri() + "/")
    try:
        page.goto(built[lesson.stem].as_uri())
        page.wait_for_function("() => window.Reveal && Reveal.isReady()")
        markdown = "".join(c.source for c in nb.cells if c.cell_type == "markdown"
                           and c.metadata.get("slideshow", {}).get("slide_type") != "skip")
        if "$" in markdown:
            page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise")
            page.evaluate("() => MathJax.startup.promise")
            assert page.locator("mjx-container").count() > 0, "no formula was typeset"
            bad = page.evaluate("() => [...document.querySelectorAll('mjx-merror')].map(e => e.textContent)")
            assert not bad, f"MathJax could not typeset: {bad[:3]}"

        assert page.evaluate("Reveal.getTotalSlides()") == present.expected_slide_count(nb)
        # The speaker view shows a copy of the notes: each formula must carry its own glyphs, not
        # point (<use href="#...">) into a font cache that only the deck's page has.
        dangling = page.evaluate("""() => [...document.querySelectorAll('aside.notes mjx-container')].filter(m =>
            [...m.querySelectorAll('use')].some(u => {
                const id = (u.getAttribute('href') || u.getAttribute('xlink:href') || '').replace('#', '');
                return !m.querySelector('[id="' + id + '"]'); })).length""")
        assert page.locator("aside.notes mjx-container").count() > 0 and dangling == 0, \
            f"{dangling} formulas in the notes draw glyphs from outside themselves"

        # Navigation is linear: the right arrow goes to the next slide, whether it sits beside or below.
        assert page.evaluate("Reveal.getIndices().h + (Reveal.getIndices().v || 0)") == 0
        page.keyboard.press("ArrowRight")
        page.wait_for_function("() => Reveal.getIndices().h + (Reveal.getIndices().v || 0) === 1")
        page.keyboard.press("ArrowLeft")
        page.wait_for_function("() => Reveal.getIndices().h + (Reveal.getIndices().v || 0) === 0")
        assert not outside, f"the deck asked for files outside its folder: {outside[:5]}"
        assert not failed, f"these requests failed (missing files?): {failed[:5]}"
        assert not errors, f"JavaScript errors: {errors[:3]}"
    finally:
        context.close()


def _local_file(url):
    parsed = urlparse(url)
    return Path(unquote(parsed.path)) if parsed.scheme == "file" else None


class IndexItems(HTMLParser):
    """The items of the index's list: per <li>, the text of its lesson link and the href of every link."""

    def __init__(self):
        super().__init__()
        self.items, self._in_title = [], False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "li":
            self.items.append({"title": "", "hrefs": []})
        elif tag == "a" and self.items:
            self.items[-1]["hrefs"].append(attrs.get("href"))
            self._in_title = "lesson" in (attrs.get("class") or "").split()

    def handle_endtag(self, tag):
        if tag == "a":
            self._in_title = False

    def handle_data(self, data):
        if self._in_title:
            self.items[-1]["title"] += data


def test_site_index_lists_every_lesson_in_course_order_with_its_title_slides_and_exercise(site):
    pages, folder = site
    parser = IndexItems()
    parser.feed((folder / "index.html").read_text(encoding="utf-8"))
    titles = {lesson.stem: present.lesson_title(notebooks.read(lesson), None) for lesson in LESSONS}
    assert None not in titles.values(), f"lessons without a level-1 heading to title them: {titles}"
    expected = []
    for lesson in LESSONS:
        hrefs = [f"lessons/{lesson.stem}.html", f"slides/{lesson.stem}.html"]
        if (REPO / "exercises" / lesson.name).exists():
            hrefs.append(f"exercises/{lesson.stem}.html")
        expected.append({"title": titles[lesson.stem], "hrefs": hrefs})
    assert parser.items == expected
    missing = [href for item in parser.items for href in item["hrefs"] if not (folder / href).is_file()]
    assert not missing, f"the index links to pages that were not built: {missing}"


def test_site_pages_open_offline_with_every_link_resolving_and_every_figure_shown(headless_chromium, site):
    pages, folder = site
    assert pages[0] == folder / "index.html"
    lesson_pages = [p for p in pages if p.parent.name == "lessons"]
    assert [p.stem for p in lesson_pages] == [p.stem for p in LESSONS], "the site lists the lessons in course order"
    context, page, outside, failed, errors = offline_page(headless_chromium, folder.as_uri() + "/")
    try:
        for path in [*pages, *sorted((folder / "slides").glob("*.html"))]:
            page.goto(path.as_uri())
            page.wait_for_load_state("load")
            broken = []
            for kind, url in page.evaluate(LINKS_JS):
                target = _local_file(url)
                if target is not None and not target.exists():
                    broken.append(f"{kind} {url}")
                elif url.startswith("http") and kind != "a":
                    broken.append(f"{kind} loads from the network: {url}")
            assert not broken, f"{path.relative_to(folder)}: {broken[:5]}"
            if path in lesson_pages:
                nb = notebooks.read(lesson_dir() / f"{path.stem}.ipynb")
                figures = sum("image/png" in out.get("data", {}) and notebooks.WIDGET_VIEW not in out.get("data", {})
                              for cell in nb.cells for out in cell.get("outputs", []))
                page.wait_for_function(f"() => ({SHOWN_FIGURES_JS})() >= {figures}")
                assert figures > 0, f"{path.stem} stores no figure"
        assert not outside, f"the site asked for files outside its folder: {outside[:5]}"
        assert not failed, f"these requests failed: {failed[:5]}"
        assert not errors, f"JavaScript errors: {errors[:3]}"
    finally:
        context.close()


# Another lesson folder (DLTEACH_BROWSER_LESSONS) may lack VOILA_LESSON: then this test is not collected,
# rather than skipped (under CI=true a skip fails the run).
if VOILA_LESSON in [lesson.name for lesson in LESSONS]:
    def test_voila_serves_a_lesson_offline_and_a_slider_redraws_its_plot(headless_chromium, tmp_path):
        lesson = lesson_dir() / VOILA_LESSON
        pytest.importorskip("voila", reason="voila is not installed (`pip install -e .[present]`)")
        served = tmp_path / "lessons"
        served.mkdir()
        # Voila only reads it; a copy keeps it so. The copy carries one more presenter block and one more
        # notes cell, with words that appear nowhere else, to look for on the page.
        nb = notebooks.read(lesson)
        nb.cells[-1].source += "\n\n<!-- presenter\nPRESENTER-ONLY-WORDS for the speaker view (about 1 min)\n-->"
        notes_cell = nbformat.v4.new_markdown_cell("NOTES-CELL-ONLY-WORDS for the speaker view")
        notes_cell.metadata["slideshow"] = {"slide_type": "notes"}
        nb.cells.append(notes_cell)
        # ... and a slider whose label is longer than ipywidgets' fixed label width (lesson 05's is "momentum mu").
        nb.cells.append(nbformat.v4.new_code_cell(
            'import ipywidgets\nipywidgets.FloatSlider(description="momentum mu, a long label")'))
        nbformat.write(nb, served / lesson.name)
        port = _free_port()
        argv, env = present.voila_command(served / lesson.name, port=port, template_root=tmp_path / "templates")
        home = tmp_path / "home"
        home.mkdir()
        env = {**os.environ, **env, "HOME": str(home), "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime")}
        env.pop("MPLBACKEND", None)
        url = f"http://127.0.0.1:{port}/"
        process = start_server(argv, cwd=served, env=env, url=url, log_path=tmp_path / "voila.log", any_status=True)
        context, page, outside, failed, errors = offline_page(headless_chromium, url)
        try:
            page.goto(url, timeout=120_000, wait_until="commit")
            # While the kernel runs the lesson, the page says so.
            page.wait_for_selector("#loading_text", timeout=60_000)
            assert "Running" in page.inner_text("#loading_text")
            handles = page.locator(".noUi-handle")
            handles.first.wait_for(timeout=120_000)
            shown = page.inner_text("body")
            assert "default_rng(0)" not in shown and page.locator(".jp-InputArea-editor").count() == 0, \
                "Voila shows the code; it should show only the text and the outputs"
            assert "Step 1" in shown, "the lesson's text is missing"
            # What is for the presenter (notes cells, <!-- presenter --> blocks) never reaches the audience.
            assert "PRESENTER-ONLY-WORDS" not in shown and "NOTES-CELL-ONLY-WORDS" not in shown, \
                "Voila shows the speaker notes to the audience"
            presenter = [" ".join(text.split()[:12]) for c in nb.cells if c.cell_type == "markdown"
                         for kind, text in deck._blocks(c.source) if kind == "presenter" and "$" not in text]
            assert presenter and not [n for n in presenter if n in " ".join(shown.split())], \
                "Voila shows the lesson's presenter notes to the audience"
            # A widget's label is shown whole, never cut to "momentu...".
            cut = page.evaluate("""() => [...document.querySelectorAll('.widget-label')]
                .filter(l => l.scrollWidth > l.clientWidth + 1).map(l => l.textContent)""")
            assert cut == [], f"widget labels cut off: {cut}"
            before = wait_until_images_settle(page, IMAGES_JS)
            handle = handles.first
            handle.scroll_into_view_if_needed()
            for _ in range(4):
                handle.press("ArrowRight")
            after = wait_until_images_settle(page, IMAGES_JS)
            assert after != before, "moving the slider changed no image"
            assert not outside, f"Voila's page asked for files outside the server: {outside[:5]}"
            assert not errors, f"JavaScript errors: {errors[:3]}"
        finally:
            context.close()
            _stop(process)


SCREENSHOT_DECKS = ("03_backpropagation", "05_sgd_momentum", "08_lstm")
SCREENSHOTS = REPO / "_build" / "deck-screenshots"     # test artifacts, for a person to look through


def test_deck_presents_as_a_talk_at_both_screen_sizes(headless_chromium, decks, lesson):
    """Every slide, reached with the right arrow alone, at 1280x720 and 1024x768: nothing below the bottom
    edge, no code cut off, figures large, speaker notes on every slide, nothing requested from outside the
    deck; Page Down and space step like the arrow; 20 to 35 slides, each within the rule's word and code
    limits, and 30 to 45 minutes by the notes' timings."""
    built, folder = decks
    nb = notebooks.read(lesson)
    report = deck.deck_report(nb)
    assert [f"slide {r['number']}: {p}" for r in report for p in r["problems"]] == []
    (fewest, most), (shortest, longest) = deck.TALK_SLIDES, deck.TALK_MINUTES          # 20-35 slides, 30-45 min
    assert fewest <= len(report) <= most, f"{lesson.stem}: {len(report)} slides"
    minutes = deck.talk_minutes(report)
    assert shortest <= round(minutes) <= longest, \
        f"{lesson.stem}: a talk of about {minutes:.0f} min (from its notes), not {shortest} to {longest}"
    for width, height in deckcheck.SIZES:
        context, page, outside, failed, errors = offline_page(headless_chromium, folder.as_uri() + "/")
        page.set_viewport_size({"width": width, "height": height})
        try:
            rows = deckcheck.walk(page, built[lesson.stem].as_uri())
            assert len(rows) == page.evaluate("Reveal.getTotalSlides()") == len(report), (width, height)
            assert deckcheck.problems(rows) == [], (width, height)
            # A clicker sends Page Down; a presenter may press space: each moves to the next slide, in order.
            for key in ("PageDown", "Space"):
                page.evaluate("() => Reveal.slide(0, 0)")
                page.keyboard.press(key)
                assert page.evaluate("() => Reveal.getState().indexh + Reveal.getState().indexv") == 1, key
            if lesson.stem in SCREENSHOT_DECKS:
                SCREENSHOTS.mkdir(parents=True, exist_ok=True)
                page.evaluate("() => Reveal.slide(0, 0)")
                for number in range(1, len(rows) + 1):
                    page.screenshot(path=str(SCREENSHOTS / f"{lesson.stem}-{width}x{height}-{number:02d}.png"))
                    page.keyboard.press("ArrowRight")
            assert not outside and not failed and not errors, (outside[:3], failed[:3], errors[:3])
        finally:
            context.close()
