"""A lesson as a talk: which part of each cell goes on the slide and which to the speaker notes.

One source, the lesson, and one rule (the README's contributing section states it for authors):
- A cell whose slide metadata is "slide" or "subslide" starts a slide; "notes" cells are speaker notes.
- From a markdown cell, the slide shows its headings, formulas ($$ ... $$), lists, tables and images,
  and the paragraphs marked as key sentences: a line `<!-- key -->` before the paragraph. Every other
  paragraph, and everything after a line `<!-- notes -->`, goes to that slide's speaker notes. The two
  marks are HTML comments: the lesson, read in JupyterLab, shows neither.
- What only a presenter needs (what to ask the room, how long the slide takes: "(about 2 min)") is
  written in a comment block `<!-- presenter ... -->` in the cell: the speaker notes show it first, the
  lesson does not show it. When a cell's text moves to the notes, the notes repeat the formulas, lists
  and key sentences of the slide in their places, so that the text reads whole.
- From a code cell, the slide shows its figures. Its code only when the cell is tagged `slide-code`
  (at most MAX_CODE_LINES lines), its printed text only when tagged `slide-output`. A live widget
  shows as a link to the lesson served by Voila; the static figures the lesson draws beside it stay.
- A slide with nothing left on it is dropped (its start moves to the next cell that shows something).
- A notes paragraph that opens with "**Your turn.**" is the learner's exercise at the keyboard: the
  notes label it LIVE_ONLY, so a presenter knows it needs the lesson running, not the deck.

deck_report() measures what the rule leaves on each slide (words of prose, code lines, notes, phrases
that ask the audience to do what a deck cannot) and estimates the talk's length from the notes.
"""

import copy
import re

import nbformat

from dlteach.course import notebooks

MAX_WORDS = 60            # prose on one slide, titles and formulas not counted
MAX_CODE_LINES = 12
WORDS_PER_MINUTE = 130    # speaking from notes
MIN_SLIDE_S = 30          # a slide with few notes still takes this long to show and say
TALK_SLIDES = (20, 35)     # a lesson's deck: at least, at most
TALK_MINUTES = (30, 45)    # a lesson's talk by its notes' timings (talk_minutes, rounded)
KEY, NOTES, PRESENTER = "<!-- key -->", "<!-- notes -->", "<!-- presenter"
TIME_NOTE = re.compile(r"\((?:about |~)?(\d+(?:\.\d+)?) min(?:utes?)?\)")
# What a deck cannot do: the audience has no kernel and no slider.
ASKS = re.compile(r"\b(try it|your turn|in the cell below|run the cell|move the slider|drag the slider|"
                  r"use the slider|run this cell|edit the code)\b", re.IGNORECASE)
DISPLAY_MATH = re.compile(r"^\s*(\$\$|\\\[|\\begin\{)")
FROM_LESSON = "*From the lesson:*"       # after the presenter's notes, the cell's own text
YOUR_TURN = "**Your turn.**"
LIVE_ONLY = "**Your turn, live only** (the lesson in JupyterLab, or `make voila`; not from the deck):"


def _blocks(source):
    """Markdown split into blocks: (kind, text) with kind heading, math, list, table, image, html, key,
    notes-mark or prose. A display formula spanning lines stays one block."""
    lines, blocks, i = source.splitlines(), [], 0
    key_next = False
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if not stripped:
            i += 1
            continue
        if stripped == NOTES:
            blocks.append(("notes-mark", ""))
            i += 1
            continue
        if stripped.startswith(PRESENTER):
            j = i
            while j < len(lines) and "-->" not in lines[j]:
                j += 1
            inner = "\n".join(lines[i:j + 1])
            inner = inner.strip()[len(PRESENTER):]
            blocks.append(("presenter", inner[:inner.rfind("-->")].strip()))
            i = j + 1
            continue
        if stripped == KEY:
            key_next = True
            i += 1
            continue
        if stripped.startswith("$$"):
            j = i
            if not (stripped.endswith("$$") and len(stripped) > 2):
                j = i + 1
                while j < len(lines) and "$$" not in lines[j]:
                    j += 1
            blocks.append(("math", "\n".join(lines[i:j + 1])))
            i = j + 1
            continue
        j = i + 1
        in_list = re.match(r"^\s*([-*+]|\d+\.)\s", line) is not None
        # A paragraph ends at a blank line, a mark, or a display formula on its own line (outside a list).
        while j < len(lines) and lines[j].strip() and lines[j].strip() not in (KEY, NOTES) \
                and not lines[j].strip().startswith(PRESENTER) \
                and (in_list or not lines[j].lstrip().startswith("$$")):
            j += 1
        text = "\n".join(lines[i:j])
        if stripped.startswith("#"):
            kind = "heading"
            if j > i + 1:         # a heading followed directly by text: split them
                blocks.append(("heading", lines[i]))
                rest = "\n".join(lines[i + 1:j])
                blocks.append((_kind(rest, key_next), rest))
                key_next = False
                i = j
                continue
        else:
            kind = _kind(text, key_next)
        key_next = False
        blocks.append((kind, text))
        i = j
    return blocks


def _kind(text, key):
    first = text.lstrip()
    if key:
        return "key"
    if DISPLAY_MATH.match(first) or (first.startswith("$$") and first.rstrip().endswith("$$")):
        return "math"
    if re.match(r"^([-*+]|\d+\.)\s", first):
        return "list"
    if first.startswith("|"):
        return "table"
    if first.startswith("!["):
        return "image"
    if first.startswith("<") and not first.startswith("<!--"):
        return "html"         # <details> answers and the like: for the notes
    return "prose"


def split_markdown(source):
    """(what goes on the slide, what goes to the notes) of one markdown cell, by the rule above.

    The notes open with the presenter's blocks. When some of the cell's text moves to the notes, the
    notes then give the cell's text in order, with the formulas, lists and key sentences the slide
    shows in their places, so that the lesson's sentences read whole (not "that is" before a gap).
    """
    slide, presenter, lesson, moved, after_mark = [], [], [], False, False
    for kind, text in _blocks(source):
        if kind == "notes-mark":
            after_mark = True
        elif kind == "presenter":
            presenter.append(text)
        elif after_mark or kind in ("prose", "html"):
            lesson.append(_live_only(text))
            moved = True
        else:
            slide.append(text)
            if kind in ("math", "key", "list"):
                lesson.append(text)
    if not moved:
        lesson = []
    elif presenter:
        lesson = [FROM_LESSON] + lesson
    return "\n\n".join(slide), "\n\n".join(presenter + lesson)


def _live_only(text):
    """Notes text, each paragraph that opens an exercise for the learner at the keyboard labelled as such."""
    return re.sub(r"(^|\n[ \t]*\n)[ \t]*" + re.escape(YOUR_TURN), lambda m: m.group(1) + LIVE_ONLY, text)


def prose_words(markdown):
    """Words a viewer reads on a slide: not headings' markup, not formulas, not image links."""
    words = 0
    for kind, text in _blocks(markdown):
        if kind in ("math", "image", "notes-mark", "presenter"):
            continue
        text = re.sub(r"\$[^$]*\$", "x", text)             # an inline formula reads as one word
        text = re.sub(r"[#*_`|>-]+", " ", text)
        words += len(text.split())
    return words


def _tags(cell):
    return set(cell.metadata.get("tags", []))


def _kind_of(cell):
    return cell.metadata.get("slideshow", {}).get("slide_type", "-") or "-"


def _set_kind(cell, kind):
    cell.metadata.setdefault("slideshow", {})["slide_type"] = kind


def for_slides(nb, *, lesson_number=None):
    """A copy of nb that nbconvert's reveal exporter turns into the deck the rule describes.

    Code inputs to hide carry the tag "dlteach-hide-input" (the exporter's TagRemovePreprocessor drops them).
    """
    nb = copy.deepcopy(nb)
    cells, pending_start = [], None
    for cell in nb.cells:
        kind = _kind_of(cell)
        if kind == "skip":
            continue
        if kind == "notes":
            cell.source = _live_only(cell.source)
            cells.append(cell)
            continue
        if kind == "fragment":         # everything on a slide shows at once: one key press, one slide
            _set_kind(cell, "-")
        shown, notes = _for_slide(cell, lesson_number)
        if shown is None:                        # nothing to show: its slide start moves on
            if kind in ("slide", "subslide"):
                pending_start = pending_start or kind
            if notes:
                cells.append(notes)
            continue
        if pending_start and _kind_of(shown) not in ("slide", "subslide"):
            _set_kind(shown, pending_start)
        pending_start = None
        cells.append(shown)
        if notes:
            cells.append(notes)
    nb.cells = cells
    return nb


def _notes_cell(text):
    cell = nbformat.v4.new_markdown_cell(text)
    _set_kind(cell, "notes")
    return cell


def _for_slide(cell, lesson_number):
    """(the cell as the slide shows it or None, a notes cell or None)."""
    if cell.cell_type == "markdown":
        slide, notes = split_markdown(cell.source)
        notes_cell = _notes_cell(notes) if notes.strip() else None
        if not slide.strip():
            return None, notes_cell
        cell.source = slide
        return cell, notes_cell
    if cell.cell_type != "code":
        return None, None
    tags = _tags(cell)
    outputs, live = [], False
    for out in cell.get("outputs", []):
        data = out.get("data", {})
        if notebooks.WIDGET_VIEW in data:
            live = True
            continue
        if out.get("output_type") == "stream" or ("image/png" not in data and "image/svg+xml" not in data):
            if "slide-output" in tags and out.get("output_type") != "error":
                outputs.append(out)
            continue
        outputs.append(out)
    if live:
        where = f"make voila LESSON={lesson_number}" if lesson_number else "make voila LESSON=NN"
        link = nbformat.v4.new_markdown_cell(
            f'<p class="dlteach-live">Live: <code>{where}</code> serves this lesson with its sliders at '
            f'<a href="http://127.0.0.1:8866/">127.0.0.1:8866</a>; the figures here are its fixed settings.</p>')
        link.metadata["slideshow"] = dict(cell.metadata.get("slideshow", {}))
        return link, None
    cell.outputs = outputs
    if "slide-code" not in tags:
        cell.metadata["tags"] = sorted(tags | {"dlteach-hide-input"})
        if not outputs:
            return None, None
    return cell, None


def slides_of(nb):
    """The deck's slides in order: [{"title", "cells": [...], "notes": [...]}] of a for_slides() notebook."""
    slides = []
    for cell in nb.cells:
        kind = _kind_of(cell)
        if kind in ("slide", "subslide") or (not slides and kind != "notes"):
            slides.append({"title": "", "cells": [], "notes": []})
        if not slides:
            slides.append({"title": "", "cells": [], "notes": []})
        target = slides[-1]
        if kind == "notes":
            target["notes"].append(cell.source)
            continue
        target["cells"].append(cell)
        if not target["title"] and cell.cell_type == "markdown":
            heading = re.search(r"^#+\s*(.+)$", cell.source, flags=re.M)
            target["title"] = heading.group(1).strip() if heading else ""
    return slides


def deck_report(nb):
    """Per slide of the deck made from nb: its title, prose words, code lines, notes words, estimated
    seconds and problems (each a sentence naming what breaks the rule). talk_minutes(rows) adds them up."""
    rows = []
    for number, slide in enumerate(slides_of(for_slides(nb)), start=1):
        words = sum(prose_words(c.source) for c in slide["cells"] if c.cell_type == "markdown")
        code = [c for c in slide["cells"] if c.cell_type == "code" and "dlteach-hide-input" not in _tags(c)]
        code_lines = max([len(c.source.splitlines()) for c in code] or [0])
        notes = "\n".join(slide["notes"])
        notes_words = len(notes.split())
        stated = TIME_NOTE.search(notes)
        seconds = float(stated.group(1)) * 60 if stated else max(MIN_SLIDE_S, notes_words / WORDS_PER_MINUTE * 60)
        problems = []
        if not slide["title"]:
            problems.append("no title (a markdown heading)")
        if words > MAX_WORDS:
            problems.append(f"{words} words of prose on the slide (at most {MAX_WORDS}; move the rest to the notes)")
        if code_lines > MAX_CODE_LINES:
            problems.append(f"{code_lines} lines of code shown (at most {MAX_CODE_LINES})")
        if not notes.strip():
            problems.append("no speaker notes")
        dangling = _dangling_end(slide["cells"])
        if dangling:
            problems.append(f"breaks off a sentence at {dangling!r} (the rest is in the notes, or a new one "
                            "starts); finish it on the slide")
        shown = "\n".join(c.source for c in slide["cells"] if c.cell_type == "markdown")
        asked = ASKS.search(shown)
        if asked:
            problems.append(f"asks the audience to {asked.group(0)!r}, which a deck cannot do")
        rows.append({"number": number, "title": slide["title"], "words": words, "code_lines": code_lines,
                     "notes_words": notes_words, "seconds": seconds, "problems": problems})
    return rows


def _dangling_end(cells):
    """Where the slide breaks off a sentence, else None: text or a formula that ends on a comma, colon or
    semicolon and is followed on the slide by a new sentence (a capital letter), or by nothing (a colon
    may lead into the figure that follows). The words are returned. A list's item may end so: the list
    goes on over the next slide; a formula may go on in another, and a sentence in lower case."""
    for n, cell in enumerate(cells):
        if cell.cell_type != "markdown":
            continue
        blocks = _blocks(cell.source)        # the slide's part only: for_slides moved marks and presenter blocks out
        for k, (kind, text) in enumerate(blocks):
            if kind in ("list", "table", "image", "heading"):
                continue
            end = re.sub(r"(\$\$|\\\]|\\end\{\w+\*?\})\s*$", "", text.rstrip()).rstrip()
            if not end.endswith((",", ":", ";")):
                continue
            if k + 1 < len(blocks):
                after_kind, after = blocks[k + 1]
                broken = after_kind in ("key", "prose") and re.match(r"[*_]*[A-Z]", after.lstrip()) is not None
            else:
                broken = not end.endswith(":") or n == len(cells) - 1
            if broken:
                return re.sub(r"^\s*(\$\$|\\\[)", "", end.split("\n")[-1])[-30:].strip()
    return None


def talk_minutes(rows):
    """The talk's estimated length in minutes, from deck_report's rows."""
    return sum(r["seconds"] for r in rows) / 60
