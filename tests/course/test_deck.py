"""The one-source rule that makes a lesson a talk (dlteach.course.deck): what goes on a slide, what goes
to the speaker notes, and what deck_report counts against the presenting limits."""

from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from dlteach.course import deck, notebooks


def slide(cell, kind="-", tags=()):
    cell.metadata["slideshow"] = {"slide_type": kind}
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


LESSON_CELL = """## 2 · Momentum

$$v_{t+1} = \\mu v_t - \\eta \\nabla J(w_t)$$

<!-- key -->
Momentum averages the gradients of the last 1/(1 - mu) steps.

A long paragraph of the lesson that explains the ravine in detail and stays in the notes.

- a list item stays on the slide

<details><summary>Answer</summary>An answer for the learner.</details>
<!-- presenter
Ask the room: what happens at mu = 1? (about 2 min)
-->
<!-- notes -->
Everything after the mark goes to the notes, even a list:

- like this one
"""


def test_a_markdown_cell_splits_into_slide_and_notes_by_the_rule():
    shown, notes = deck.split_markdown(LESSON_CELL)
    assert shown.startswith("## 2 · Momentum") and "$$v_{t+1}" in shown
    assert "Momentum averages the gradients" in shown and "- a list item stays on the slide" in shown
    assert "long paragraph" not in shown and "long paragraph" in notes
    assert "<details>" not in shown and "An answer for the learner" in notes
    assert "Ask the room" not in shown and "Ask the room: what happens at mu = 1? (about 2 min)" in notes
    assert "presenter" not in notes and "-->" not in notes         # the comment's own marks are dropped
    assert "like this one" not in shown and "like this one" in notes
    # The presenter's words first; then the cell's text reads whole, the slide's formula in its place.
    assert notes.startswith("Ask the room") and notes.index(deck.FROM_LESSON) < notes.index("$$v_{t+1}") \
        < notes.index("long paragraph")
    assert "Momentum averages" in notes and "## 2" not in notes
    # A cell whose text all fits on the slide adds nothing of it to the notes.
    assert deck.split_markdown("## T\n\n$$a = b$$\n\n<!-- presenter\nSay it. (about 1 min)\n-->")[1] == "Say it. (about 1 min)"


def test_prose_words_count_what_a_viewer_reads_not_formulas_or_presenter_text():
    assert deck.prose_words("## Title\n\n$$a^2 + b^2$$\n\n<!-- presenter\nmany words here that nobody sees\n-->") == 1
    assert deck.prose_words("one two $x_1$ three") == 4                # an inline formula reads as one word


def _widget_output():
    return new_output("display_data", data={notebooks.WIDGET_VIEW: {"model_id": "x"}, "text/plain": "VBox()"})


def test_for_slides_hides_code_keeps_figures_and_turns_widgets_into_a_live_line():
    png = new_output("display_data", data={"image/png": "iVBORw0KGgo=", "text/plain": "<Figure>"})
    printed = new_output("stream", name="stdout", text="loss 0.25\n")
    nb = new_notebook(cells=[
        slide(new_markdown_cell("## Title\n\nProse only for the notes."), "slide"),
        slide(new_code_cell("plot()", outputs=[png, printed]), "-"),
        slide(new_code_cell("shown()", outputs=[printed]), "-", tags=["slide-code", "slide-output"]),
        slide(new_code_cell("x = 1", outputs=[]), "subslide"),                # nothing to show: dropped
        slide(new_markdown_cell("### Next one"), "fragment"),
        slide(new_code_cell("explore()", outputs=[_widget_output()]), "-"),
    ])
    out = deck.for_slides(nb, lesson_number="05").cells
    kinds = [(c.cell_type, c.metadata["slideshow"]["slide_type"]) for c in out]
    assert kinds == [("markdown", "slide"), ("markdown", "notes"), ("code", "-"), ("code", "-"),
                     ("markdown", "subslide"), ("markdown", "-")]
    assert "dlteach-hide-input" in out[2].metadata["tags"] and out[2].outputs == [png]   # figure, not text
    assert "dlteach-hide-input" not in out[3].metadata["tags"] and out[3].outputs == [printed]
    assert "make voila LESSON=05" in out[5].source and "127.0.0.1:8866" in out[5].source
    assert "Prose only for the notes." in out[1].source


def test_deck_report_names_each_broken_limit_and_reads_the_timing():
    nb = new_notebook(cells=[
        slide(new_markdown_cell("## Good\n\n<!-- presenter\nSay this. (about 3 min)\n-->"), "slide"),
        slide(new_markdown_cell("<!-- key -->\n" + "word " * 61), "slide"),
        slide(new_markdown_cell("## Try it\n\n- Try it: move the slider"), "slide"),
        slide(new_code_cell("\n".join(f"line{i}" for i in range(13)), outputs=[]), "slide", tags=["slide-code"]),
    ])
    rows = deck.deck_report(nb)
    assert [r["number"] for r in rows] == [1, 2, 3, 4]
    assert rows[0]["problems"] == [] and rows[0]["seconds"] == 180
    assert any("no title" in p for p in rows[1]["problems"])
    assert any("61 words of prose" in p for p in rows[1]["problems"])
    assert any("no speaker notes" in p for p in rows[1]["problems"])
    assert any("a deck cannot do" in p for p in rows[2]["problems"])
    assert any("13 lines of code" in p for p in rows[3]["problems"])
    assert rows[1]["seconds"] == deck.MIN_SLIDE_S                     # no notes: the shortest a slide takes


def test_deck_report_names_a_sentence_the_slide_breaks_off():
    """A formula ending on a comma whose sentence goes on in the notes (or is followed on the slide by a new
    sentence) is a problem; a list going on over the next slide, a formula chain, a lower-case
    continuation and a colon leading into the figure that follows are not."""
    notes = "<!-- presenter\nSay it. (about 1 min)\n-->"
    comma = slide(new_markdown_cell(f"## A\n\nSo\n$$y = f(x),$$\nwhere f is smooth.\n{notes}"), "slide")
    capital = slide(new_markdown_cell(f"## B\n\n$$y = f(x):$$\n\n<!-- key -->\nIt falls.\n{notes}"), "slide")
    fine = [
        slide(new_markdown_cell(f"## C\n\n- first item;\n- second item;\n{notes}"), "slide"),
        slide(new_markdown_cell(f"## D\n\n$$a = b,$$\n$$c = d.$$\n{notes}"), "slide"),
        slide(new_markdown_cell(f"## E\n\n<!-- key -->\nOne step gives\n$$a = b,$$\n\n<!-- key -->\n"
                                f"and so c = d.\n{notes}"), "slide"),
        slide(new_markdown_cell(f"## F\n\n<!-- key -->\nThe figure:\n{notes}"), "slide"),
        slide(new_code_cell("plot()", outputs=[new_output("display_data", data={"image/png": "iVBORw0KGgo="})])),
    ]
    rows = deck.deck_report(new_notebook(cells=[comma, capital] + fine))
    assert ["breaks off a sentence at 'y = f(x),'" in " ".join(rows[0]["problems"]),
            "breaks off a sentence at 'y = f(x):'" in " ".join(rows[1]["problems"])] == [True, True]
    assert [r["problems"] for r in rows[2:]] == [[], [], [], []]


def test_a_your_turn_exercise_reaches_the_notes_labelled_live_only():
    """A learner's exercise ("**Your turn.** Move the slider ...") is no instruction for the room: in the
    notes, from a lesson cell or a notes cell alike, it says it needs the lesson running."""
    cell = "### Rates\n\n<!-- notes -->\n**Your turn.** Move $\\eta$ in the explorer below.\n\nThe rest."
    nb = new_notebook(cells=[slide(new_markdown_cell(cell), "slide"),
                             slide(new_markdown_cell("**Your turn.** Drag the batch size."), "notes")])
    notes = [c.source for c in deck.for_slides(nb).cells if c.metadata["slideshow"]["slide_type"] == "notes"]
    assert len(notes) == 2 and all(n.startswith(deck.LIVE_ONLY) for n in notes), notes
    assert "Move $\\eta$ in the explorer below." in notes[0] and "The rest." in notes[0]
    assert deck.YOUR_TURN not in "".join(notes)
