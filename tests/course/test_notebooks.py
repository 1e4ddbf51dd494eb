"""Stored-notebook checks and the canonical form `dlteach execute` writes (no kernel started here)."""

import base64
import io

import numpy as np
import pytest
from PIL import Image
from nbformat.v4 import new_code_cell, new_notebook, new_output

from dlteach.course import notebooks


def stored(*cells):
    return new_notebook(cells=list(cells))


def write(tmp_path, nb):
    path = tmp_path / "lesson.ipynb"
    path.write_bytes(notebooks.to_bytes(nb))
    return path


def test_a_clean_notebook_has_no_problems(tmp_path):
    nb = stored(new_code_cell("x = 1", execution_count=1), new_code_cell("", execution_count=None),
                new_code_cell("print(x)", execution_count=2, outputs=[new_output("stream", text="1\n")]))
    assert notebooks.problems(write(tmp_path, nb)) == []


@pytest.mark.parametrize("cells, expected", [
    ([new_code_cell("x = 1", execution_count=None)], "never executed"),
    ([new_code_cell("x = 1", execution_count=2), new_code_cell("y = 1", execution_count=1)], "out of order"),
    ([new_code_cell("1/0", execution_count=1,
                    outputs=[new_output("error", ename="ZeroDivisionError", evalue="division by zero", traceback=[])])],
     "error output (ZeroDivisionError"),
    ([new_code_cell("show()", execution_count=1, outputs=[new_output(
        "display_data", data={"image/png": base64.b64encode(b"\0" * 160 * 1024).decode()})])], "image of 160 KB"),
])
def test_problems_are_flagged(tmp_path, cells, expected):
    found = notebooks.problems(write(tmp_path, stored(*cells)))
    assert found and expected in found[0]


def test_tagged_errors_and_skipped_cells_are_allowed(tmp_path):
    error = new_output("error", ename="ValueError", evalue="bad", traceback=[])
    nb = stored(new_code_cell("raise ValueError('bad')", execution_count=1, outputs=[error],
                              metadata={"tags": ["raises-exception"]}),
                new_code_cell("slow()", execution_count=None, metadata={"tags": ["skip-execution"]}))
    assert notebooks.problems(write(tmp_path, nb)) == []


def test_canonicalize_fixes_kernel_drops_timing_and_sanitizes(tmp_path):
    nb = stored(new_code_cell("f", execution_count=1, metadata={"execution": {"iopub.status.busy": "2024"}},
                              outputs=[new_output("execute_result", execution_count=1,
                                                  data={"text/plain": "<function f at 0x7f3a2b1c0d90>"})]))
    nb.metadata["kernelspec"] = {"name": "myenv", "display_name": "Mine", "language": "python"}
    nb.metadata["language_info"] = {"name": "python", "version": "3.11.9"}
    rules = notebooks.sanitize_rules(notebooks.course_root())
    out = notebooks.canonicalize(nb, "lesson", rules)
    assert out.metadata["kernelspec"]["name"] == "python3" and "version" not in out.metadata["language_info"]
    assert "execution" not in out.cells[0].metadata
    assert out.cells[0].outputs[0].data["text/plain"] == "<function f at 0xADDRESS>"
    assert notebooks.canonicalize(out, "lesson", rules) == out


def test_widget_model_ids_are_renumbered_the_same_way_every_run():
    def run(view, layout):
        view_output = new_output("display_data", data={
            "text/plain": "IntSlider(value=1)",
            notebooks.WIDGET_VIEW: {"model_id": view, "version_major": 2, "version_minor": 0}})
        nb = stored(new_code_cell("IntSlider()", execution_count=1, outputs=[view_output], id="slider"))
        nb.metadata["widgets"] = {notebooks.WIDGET_STATE: {"version_major": 2, "version_minor": 0, "state": {
            view: {"model_name": "IntSliderModel", "state": {"layout": f"IPY_MODEL_{layout}"}},
            layout: {"model_name": "LayoutModel", "state": {}}}}}
        return notebooks.to_bytes(notebooks.canonicalize(nb, "lesson"))
    first = run("a" * 32, "b" * 32)
    assert first == run("c" * 32, "d" * 32)
    assert b"a" * 32 not in first and b"IPY_MODEL_" in first


@pytest.mark.parametrize("space", [" ", "\u2007"], ids=["space", "figure-space"])
def test_progress_bar_rates_in_widget_state_are_sanitized(space):
    # tqdm's notebook bar separates its fields with U+2007 (figure space), its text bar with spaces.
    bar = f"{space}1500/1500{space}[00:07&lt;00:00,{space}410.95batch/s,{space}loss=1.495e-05]"
    nb = stored(new_code_cell("train()", execution_count=1, id="train"))
    nb.metadata["widgets"] = {notebooks.WIDGET_STATE: {"version_major": 2, "version_minor": 0, "state": {
        "e" * 32: {"model_name": "HTMLModel", "state": {"value": bar}}}}}
    out = notebooks.canonicalize(nb, "lesson", notebooks.sanitize_rules(notebooks.course_root()))
    (model,) = out.metadata["widgets"][notebooks.WIDGET_STATE]["state"].values()
    assert model["state"]["value"] == f"{space}1500/1500{space}[TIME,{space}loss=1.495e-05]"


def _png(pixels):
    buf = io.BytesIO()
    Image.fromarray(np.asarray(pixels, dtype=np.uint8)).save(buf, format="png")
    return base64.b64encode(buf.getvalue()).decode()


def _with_image(png, text="accuracy 97.2%"):
    nb = stored(new_code_cell("plot()", execution_count=1, id="plot", outputs=[
        new_output("display_data", data={"image/png": png, "text/plain": "<Figure>"}),
        new_output("stream", text=text)]))
    return notebooks.to_bytes(nb)


def test_stale_outputs_tolerate_a_few_moved_pixels_but_not_a_changed_plot():
    image = np.full((40, 50, 3), 255)
    image[10:30, 20] = 0                                        # a vertical line
    stored_nb = _with_image(_png(image))
    assert notebooks.stale_outputs(stored_nb, stored_nb) == []
    nudged = image.copy()
    nudged[10, 21] = 120                                        # antialiasing of one pixel moved
    assert notebooks.stale_outputs(stored_nb, _with_image(_png(nudged))) == []
    moved = np.full((40, 50, 3), 255)
    moved[10:30, 35:40] = 0                                     # the plot changed
    (problem,) = notebooks.stale_outputs(stored_nb, _with_image(_png(moved)))
    assert "of the pixels differ" in problem
    (problem,) = notebooks.stale_outputs(stored_nb, _with_image(_png(image[:, :45])))
    assert "size 50x40 stored, 45x40 fresh" in problem


def test_stale_outputs_compare_text_exactly():
    png = _png(np.full((4, 4, 3), 255))
    (problem,) = notebooks.stale_outputs(_with_image(png), _with_image(png, "accuracy 97.3%"))
    assert "accuracy 97.2%" in problem and "accuracy 97.3%" in problem
