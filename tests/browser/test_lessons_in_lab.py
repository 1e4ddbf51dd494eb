"""Every lesson, opened in JupyterLab in headless Chromium: it runs without errors, and moving one
of its sliders with the keyboard redraws a plot.

nbval compares text outputs and skips images and widget views, so only a browser can tell that a
widget renders, answers its slider and redraws its figure. Run these alone with
`.venv/bin/pytest -m browser tests/browser`; they need /usr/bin/chromium and playwright (see
conftest.py).
"""

import time

import pytest
from conftest import KERNEL_READY_JS, PROMPTS_JS, SETTLE_POLL_S, images_js, wait_until_images_settle

pytestmark = pytest.mark.browser

RUN_ALL_TIMEOUT_S = 180       # a lesson runs in under 20 s; a shared 2-core machine may be slower
SLIDERS_TO_TRY = 3
KEY_PRESSES = 4

# Errors as the notebook model holds them (exact), from the app JupyterLab exposes to tests.
MODEL_ERRORS_JS = """() => {
    const app = window.jupyterapp;
    if (!app || !app.shell.currentWidget || !app.shell.currentWidget.content.model) return null;
    const cells = app.shell.currentWidget.content.model.toJSON().cells;
    const errors = [];
    cells.forEach((cell, i) => (cell.outputs || []).forEach(out => {
        if (out.output_type === 'error') errors.push(`cell ${i}: ${out.ename}: ${out.evalue}`);
    }));
    return errors;
}"""

# Errors as the learner sees them, including those inside widget outputs (a callback that
# raised) and widgets that failed to render, which the notebook model does not hold.
SHOWN_ERRORS_JS = """() => {
    const found = [];
    for (const out of document.querySelectorAll(
            '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output')) {
        const text = out.textContent || '';
        const mime = out.dataset.mimeType || '';
        const traceback = mime === 'application/vnd.jupyter.stderr'
                          && /Traceback \\(most recent call last\\)/.test(text);
        if (traceback || /Error displaying widget|Error rendering output/.test(text)) {
            found.push(text.trim().split('\\n').slice(-3).join(' | ').slice(0, 300));
        }
    }
    return found;
}"""

# A digest per image in the visible notebook's outputs (conftest.images_js).
IMAGES_JS = images_js(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output img")


def _kernel_idle(page):
    status = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook-ExecutionIndicator")
    return status.get_attribute("data-status") == "idle"


def _run_all_cells(page):
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator(".lm-Menu-itemLabel").get_by_text("Run All Cells", exact=True).click()


def _wait_until_run(page):
    """Wait until no cell is queued or running and the kernel is idle; return the prompts."""
    deadline = time.monotonic() + RUN_ALL_TIMEOUT_S
    while time.monotonic() < deadline:
        prompts = page.evaluate(PROMPTS_JS)
        ran = any(p.strip("[]: ").isdigit() for p in prompts)
        if ran and not any("*" in p for p in prompts) and _kernel_idle(page):
            return prompts
        time.sleep(SETTLE_POLL_S)
    pytest.fail(f"the cells had not all run after {RUN_ALL_TIMEOUT_S} s; prompts: {prompts}")


def _wait_until_settled(page):
    """Wait until the kernel is idle and the images stop changing; return their digests."""
    return wait_until_images_settle(page, IMAGES_JS, idle=lambda: _kernel_idle(page),
                                    what="the images were still changing (or the kernel busy)")


def _assert_no_errors(page, when):
    model_errors = page.evaluate(MODEL_ERRORS_JS)
    assert model_errors is not None, "JupyterLab did not expose its app (expose_app_in_browser)"
    assert not model_errors, f"{when}, cells hold error outputs: {model_errors}"
    shown = page.evaluate(SHOWN_ERRORS_JS)
    assert not shown, f"{when}, the notebook shows errors: {shown}"


def _move(handle):
    """Press ArrowRight on a slider handle; at the top of its range, press ArrowLeft instead."""
    readout = handle.locator("xpath=ancestor::div[contains(@class, 'widget-slider')][1]")
    readout = readout.locator(".widget-readout")
    before = readout.first.text_content() if readout.count() else None
    for _ in range(KEY_PRESSES):
        handle.press("ArrowRight")
    if readout.count() and readout.first.text_content() == before:
        for _ in range(KEY_PRESSES):
            handle.press("ArrowLeft")
    return before, readout.first.text_content() if readout.count() else None


def test_lesson_runs_and_its_slider_redraws_the_plot(lab_page, lab_server, lesson):
    """`lesson` is each lessons/*.ipynb in turn (conftest.py parametrises it)."""
    page = lab_page
    page_errors = []
    page.on("pageerror", lambda error: page_errors.append(str(error)))

    page.goto(f"{lab_server}lab/tree/lessons/{lesson.name}?reset")
    page.wait_for_function(KERNEL_READY_JS, timeout=90_000)
    _run_all_cells(page)
    prompts = _wait_until_run(page)
    _assert_no_errors(page, "after Run All Cells")
    never_ran = [i for i, p in enumerate(prompts) if not p.strip("[]: ").isdigit()]
    assert not never_ran, f"code cells {never_ran} did not run (prompts: {prompts})"

    handles = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea .noUi-handle")
    assert handles.count() > 0, (
        f"{lesson.name} shows no ipywidgets slider after running; every lesson needs one "
        f"(JavaScript errors on the page: {page_errors or 'none'})"
    )
    before = _wait_until_settled(page)
    tried = []
    for index in range(min(handles.count(), SLIDERS_TO_TRY)):
        handle = handles.nth(index)
        handle.scroll_into_view_if_needed()
        values = _move(handle)
        after = _wait_until_settled(page)
        _assert_no_errors(page, f"after moving slider {index} from {values[0]} to {values[1]}")
        if after != before:
            return
        tried.append(f"slider {index}: {values[0]} -> {values[1]}")
        before = after
    pytest.fail(
        f"moving a slider changed no plot image in {lesson.name} ({'; '.join(tried)}; "
        f"{len(before)} images in the outputs; JavaScript errors: {page_errors or 'none'})"
    )
