"""Presenting the course without a kernel or a network: reveal.js decks and a static site.

    build_slides(["lessons/03_backpropagation.ipynb"], "_build/slides")   # -> _build/slides/03_backpropagation.html
    build_site(root, "_build/site")                                      # -> _build/site/index.html, lessons/, ...

Decks come from the cells' slide metadata (nbconvert's reveal exporter): "slide" and "subslide"
start slides, "fragment" appears on a key press, "notes" become speaker notes (press S), "skip"
is left out. Widget cells are skipped on slides and replaced on the site by a line that says where to
run them live; every lesson shows the same widgets as static figures next to them. Everything a page
loads (reveal.js, MathJax, fonts) is copied into the output's assets/ folder (dlteach.course.assets).
"""

import html
import json
import re
import shutil
from pathlib import Path

import nbformat

from dlteach.course import assets, deck, notebooks

__all__ = ["for_presenting", "build_slides", "build_site", "lesson_title", "expected_slide_count"]

TEMPLATES = Path(__file__).with_name("templates")
NBVAL_MARKER = re.compile(r"^\s*#\s*NBVAL_[A-Z_]+\s*$")
PROGRESS_TEXT = re.compile(r"^\s*\d+%\|")             # a tqdm bar's text fallback
LIVE_NOTE = ("Live widget: open this lesson in JupyterLab (make lab) or Voila (make voila) to move its "
             "sliders; the static figures beside it show it at fixed settings.")
LINK = re.compile(r"\]\(([^)\s]+?)\.ipynb(#[^)\s]*)?\)")


def lesson_title(nb, fallback):
    """The text of the notebook's first level-1 heading ("03 · Backpropagation"), or fallback."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            match = re.search(r"^# (.+)$", cell.source, flags=re.M)
            if match:
                return match.group(1).strip()
    return fallback


def for_presenting(nb, link=lambda target: target + ".html", *, fold_notes=False):
    """A copy of nb for a deck or a page: no nbval markers, widgets and progress bars replaced, links to .html.

    link maps the target of each markdown link to a notebook (without .ipynb) to the page's href.
    fold_notes (for pages): speaker-notes cells go into a closed "Presenter notes" box.
    """
    nb = nbformat.from_dict(json.loads(json.dumps(nb)))
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = LINK.sub(lambda m: f"]({link(m.group(1))}{m.group(2) or ''})", cell.source)
            if fold_notes and cell.metadata.get("slideshow", {}).get("slide_type") == "notes":
                cell.source = (f'<details class="dlteach-notes"><summary>Presenter notes</summary>\n\n{cell.source}'
                               f"\n\n</details>")
        if cell.cell_type != "code":
            continue
        cell.source = "\n".join(line for line in cell.source.splitlines() if not NBVAL_MARKER.match(line))
        outputs, noted = [], False
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if notebooks.WIDGET_VIEW in data:
                if PROGRESS_TEXT.match(str(data.get("text/plain", ""))) or noted:
                    continue
                noted = True
                out = nbformat.v4.new_output("display_data", data={
                    "text/html": f'<p class="dlteach-live">{html.escape(LIVE_NOTE)}</p>', "text/plain": LIVE_NOTE})
            outputs.append(out)
        cell.outputs = outputs
    return nb


def expected_slide_count(nb):
    """How many slides (horizontal and vertical) the deck of lesson nb has (deck.for_slides applied).

    The rule of nbconvert's reveal exporter: "slide" and "subslide" cells start a slide; "skip"
    cells and "notes" are no slide; the first shown cell starts one whatever its type.
    """
    nb = for_presenting(deck.for_slides(nb))
    count, started = 0, False
    for cell in nb.cells:
        kind = cell.metadata.get("slideshow", {}).get("slide_type", "-") or "-"
        if kind == "skip":
            continue
        if kind in ("slide", "subslide") or (not started and kind != "notes"):
            count += 1
            started = True
    return count


def _exporter(kind, assets_href):
    from nbconvert import HTMLExporter, SlidesExporter
    common = dict(template_name=f"dlteach_{kind}", extra_template_basedirs=[str(TEMPLATES)],
                  extra_template_paths=[str(TEMPLATES)])
    if kind == "slides":
        from nbconvert.preprocessors import TagRemovePreprocessor
        exporter = SlidesExporter(reveal_url_prefix=f"{assets_href}/reveal.js", reveal_theme="white",
                                  reveal_transition="none", reveal_width="1280", reveal_height="720", **common)
        exporter.register_preprocessor(TagRemovePreprocessor(remove_input_tags={"dlteach-hide-input"}), enabled=True)
        return exporter
    return HTMLExporter(**common)


def _export(exporter, nb, name, resources):
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": name}, "dlteach": resources})
    return body


def build_slides(paths, out_dir, *, link=None, assets_href=None):
    """Write a reveal.js deck per notebook into out_dir (NAME.html) with out_dir/assets/; return the decks.

    link: as in for_presenting; by default lesson links point to the sibling deck and exercise links
    back to the repository's exercises/ (two folders up from _build/slides/). assets_href: where the
    decks find assets already installed elsewhere (the site's), instead of their own out_dir/assets/.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if assets_href is None:
        assets.install(out_dir / "assets")
        assets_href = "assets"
    link = link or (lambda target: "../" + target + ".ipynb" if target.startswith("../") else target + ".html")
    return _write_decks(((Path(p).stem, notebooks.read(p)) for p in paths), out_dir, link, assets_href)


def _write_decks(named_notebooks, out_dir, link, assets_href):
    exporter = _exporter("slides", assets_href)
    written = []
    for name, nb in named_notebooks:
        path = out_dir / f"{name}.html"
        number = name.split("_", 1)[0] if name[:2].isdigit() else None
        talk = for_presenting(deck.for_slides(nb, lesson_number=number), link)   # widgets still there for the rule
        notebooks.write_if_changed(path, _export(exporter, talk, name, {"assets": assets_href}).encode("utf-8"))
        written.append(path)
    return written


def _course(root):
    """[(name, lesson path, exercise path or None)] in course order."""
    lessons = notebooks.course_notebooks(root, ("lessons",))
    return [(p.stem, p, (root / "exercises" / p.name) if (root / "exercises" / p.name).exists() else None)
            for p in lessons]


def build_site(root, out_dir):
    """Render lessons, exercises and decks into out_dir with an index page in course order; return the pages.

    Layout: index.html, lessons/NAME.html, exercises/NAME.html (and NAME.ipynb to download),
    slides/NAME.html, assets/. Links between notebooks become links between their pages.
    """
    root, out_dir = Path(root), Path(out_dir)
    course = _course(root)
    lessons = {name: notebooks.read(lesson) for name, lesson, _ in course}          # each read once
    titles = {name: lesson_title(nb, name) for name, nb in lessons.items()}
    assets.install(out_dir / "assets")
    (out_dir / "slides").mkdir(parents=True, exist_ok=True)
    _write_decks(lessons.items(), out_dir / "slides", lambda target: target + ".html", "../assets")
    exporter = _exporter("site", "../assets")
    names = list(lessons)

    def neighbour(j):
        return {"href": f"{names[j]}.html", "label": titles[names[j]]} if 0 <= j < len(names) else None

    pages, index_rows = [], []
    for i, (name, _, exercise) in enumerate(course):
        nb, title = lessons[name], titles[name]
        extra = [{"href": f"../slides/{name}.html", "label": "Slides"}]
        if exercise:
            extra.append({"href": f"../exercises/{name}.html", "label": "Exercise"})
        nav = {"index": "../index.html", "extra": extra, "prev": neighbour(i - 1), "next": neighbour(i + 1)}
        page = out_dir / "lessons" / f"{name}.html"
        page.parent.mkdir(parents=True, exist_ok=True)
        notebooks.write_if_changed(page, _export(exporter, for_presenting(nb, fold_notes=True), name,
                                                 {"assets": "../assets", "nav": nav}).encode("utf-8"))
        pages.append(page)
        if exercise:
            ex_nav = {"index": "../index.html", "prev": None, "next": None,
                      "extra": [{"href": f"../lessons/{name}.html", "label": f"Lesson: {title}"},
                                {"href": f"{name}.ipynb", "label": "Download the notebook"}]}
            ex_page = out_dir / "exercises" / f"{name}.html"
            ex_page.parent.mkdir(parents=True, exist_ok=True)
            notebooks.write_if_changed(ex_page, _export(exporter, for_presenting(notebooks.read(exercise)), name,
                                                        {"assets": "../assets", "nav": ex_nav}).encode("utf-8"))
            shutil.copyfile(exercise, out_dir / "exercises" / f"{name}.ipynb")
            pages.append(ex_page)
        index_rows.append((name, title, exercise is not None))
    index = out_dir / "index.html"
    notebooks.write_if_changed(index, _index_page(index_rows).encode("utf-8"))
    return [index, *pages]


def _index_page(rows):
    items = []
    for name, title, has_exercise in rows:
        links = [f'<a href="slides/{name}.html">slides</a>']
        if has_exercise:
            links.append(f'<a href="exercises/{name}.html">exercise</a>')
        items.append(f'<li><a class="lesson" href="lessons/{name}.html">{html.escape(title)}</a> '
                     f'<span class="more">({", ".join(links)})</span></li>')
    return INDEX_PAGE.format(items="\n".join(items))


INDEX_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>dlteach: The Structure and Optimization of Deep Neural Networks</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 46em; margin: 2em auto; padding: 0 1em; line-height: 1.5; color: #1f2328; }}
ol {{ padding-left: 1.4em; }} li {{ margin: 0.4em 0; }} a.lesson {{ font-weight: 600; }} .more {{ color: #57606a; }}
</style>
</head>
<body>
<h1>The Structure and Optimization of Deep Neural Networks</h1>
<p>The dlteach course, rendered with every output as it was stored. Each lesson has a page, a slide deck
(arrow keys move, S opens the speaker notes) and, where there is one, an exercise to download and run
in JupyterLab. Sliders need a running kernel: here each widget shows as the static figures the lesson
draws beside it.</p>
<ol start="0">
{items}
</ol>
</body>
</html>
"""


FONT_AWESOME_CDN = re.compile(r'^\s*<link[^>]+cdn\.jsdelivr\.net/npm/@fortawesome[^>]*>\s*$', flags=re.M)


# ipywidgets gives every label a fixed width and cuts a longer one ("momentu..."): let it take its length.
# Its style sheet is added at run time, after this one: hence the "body" prefix and !important.
WIDGET_LABEL_CSS = """body .widget-inline-hbox .widget-label, body .jupyter-widget-inline-hbox .jupyter-widget-label {
      width: auto !important; min-width: var(--jp-widgets-inline-label-width); max-width: none !important;
      overflow: visible; text-overflow: clip; }
    """


def voila_template(folder):
    """Write the Voila template "dlteach" under folder (a JUPYTER_PATH entry); return the template's folder.

    It is Voila's own lab template without the two style sheets that it fetches from a CDN (Font
    Awesome; Voila's bundle carries the icons the widgets use), so a served lesson reaches no
    network, and with widget labels shown whole (WIDGET_LABEL_CSS). Made from the installed Voila's file, it follows Voila's upgrades.
    """
    import voila.paths
    source = None
    for base in voila.paths.collect_template_paths(["voila"], "lab"):
        if Path(base, "index.html.j2").exists():
            source = Path(base, "index.html.j2")
            break
    if source is None:
        raise ValueError("voila: cannot find Voila's lab template (index.html.j2); is voila installed?")
    target = Path(folder) / "voila" / "templates" / "dlteach"
    target.mkdir(parents=True, exist_ok=True)
    (target / "conf.json").write_text(json.dumps({"base_template": "lab"}) + "\n")
    text = FONT_AWESOME_CDN.sub("", source.read_text())
    if "/*Hide empty cells*/" in text:                 # inside Voila's own <style> element
        text = text.replace("/*Hide empty cells*/", WIDGET_LABEL_CSS + "/*Hide empty cells*/", 1)
    else:
        text = text.replace("{{ super() }}", f"<style>{WIDGET_LABEL_CSS}</style>\n{{{{ super() }}}}", 1)
    (target / "index.html.j2").write_text(text)
    return target


def for_audience(nb):
    """A copy of nb without what is meant for the presenter: speaker-notes cells."""
    nb = nbformat.from_dict(json.loads(json.dumps(nb)))
    nb.cells = [c for c in nb.cells if c.metadata.get("slideshow", {}).get("slide_type") != "notes"]
    return nb


def voila_command(lesson, *, port, template_root, python=None):
    """(argv, extra environment) that serve one lesson with Voila on 127.0.0.1:port, code hidden.

    template_root: a folder for voila_template; it is put first on JUPYTER_PATH.
    """
    import os
    import sys
    voila_template(template_root)
    # The audience's copy: the speaker notes left out. It is written beside the template, never into
    # the lessons, and the kernel still starts in the lesson's folder (the caller's cwd).
    served = Path(template_root) / "served" / Path(lesson).name
    served.parent.mkdir(parents=True, exist_ok=True)
    served.write_bytes(notebooks.to_bytes(for_audience(notebooks.read(lesson))))
    argv = [python or sys.executable, "-m", "voila", str(served), "--no-browser", "--Voila.ip=127.0.0.1",
            f"--Voila.port={int(port)}", "--Voila.port_retries=0", "--template=dlteach", "--strip_sources=True"]
    path = os.pathsep.join(p for p in (str(template_root), os.environ.get("JUPYTER_PATH", "")) if p)
    return argv, {"JUPYTER_PATH": path}
