"""A JupyterLab server and a headless Chromium shared by every browser test of the session.

The server runs on 127.0.0.1 with a temporary HOME, Jupyter config, data, runtime, settings and
workspaces folders, so nothing the learner or another engineer has configured leaks in, and
nothing the tests do leaks out. It serves a temporary copy of the lessons, outputs stripped: running a
notebook in Lab marks it dirty, and the committed notebooks must never be rewritten by a test.

Without /usr/bin/chromium or the playwright package the tests skip, saying how to install them;
under CI=true they fail instead, so a CI run can never pass by skipping.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
INSTALL_HINT = (
    "install them with `apt-get update && apt-get install -y chromium` (as root) and "
    "`.venv/bin/pip install playwright`; never `playwright install`: the tests drive Debian's "
    "/usr/bin/chromium"
)
SERVER_START_TIMEOUT_S = 60
SERVER_STOP_TIMEOUT_S = 10

# JupyterLab user settings, written as <settings dir>/<package>/<plugin>.jupyterlab-settings.
LAB_SETTINGS = {
    # The news pop-up and the update check would cover the notebook and reach for the network.
    "@jupyterlab/apputils-extension/notification": {
        "fetchNews": "false",
        "checkForUpdates": False,
        "doNotDisturbMode": True,
    },
    # Every cell stays in the DOM, so the tests see every output, scrolled into view or not; and
    # the notebook's own kernel starts without a "Select Kernel" dialog.
    "@jupyterlab/notebook-extension/tracker": {
        "windowingMode": "none",
        "autoStartDefaultKernel": True,
    },
    "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
    # The extension manager would ask PyPI for listings.
    "@jupyterlab/extensionmanager-extension/plugin": {"enabled": False},
}


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "browser: runs the lessons in JupyterLab in headless Chromium (slow; needs chromium and "
        "playwright; deselect with -m 'not browser')",
    )


def pytest_generate_tests(metafunc):
    """Parametrise `lesson` with every notebook in the lesson folder, so new lessons join in."""
    if "lesson" in metafunc.fixturenames:
        lessons = sorted(lesson_dir().glob("*.ipynb"))
        metafunc.parametrize("lesson", lessons, ids=[path.stem for path in lessons])


def images_js(selector):
    """JavaScript returning a digest per image matching selector: data: URLs hash their text, blob: URLs
    (an ipywidgets Image) their bytes, so a redraw of the same picture does not count as a change."""
    return """async () => {
    const fnv = (bytes) => {
        let h = 0x811c9dc5;
        for (let i = 0; i < bytes.length; i++) { h ^= bytes[i]; h = Math.imul(h, 0x01000193); }
        return (h >>> 0).toString(16) + ':' + bytes.length;
    };
    const digests = [];
    for (const img of document.querySelectorAll(%s)) {
        const src = img.getAttribute('src') || '';
        if (src.startsWith('blob:')) {
            try {
                digests.push(fnv(new Uint8Array(await (await fetch(src)).arrayBuffer())));
            } catch (e) { digests.push('unreadable ' + src); }
        } else {
            digests.push(fnv(new TextEncoder().encode(src)));
        }
    }
    return digests;
}""" % json.dumps(selector)


# The visible notebook's toolbar: its kernel's name, and its status ("idle", "busy", ...).
KERNEL_READY_JS = """() => {
    const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
    if (!panel) return false;
    const name = panel.querySelector('.jp-Toolbar-kernelName');
    const status = panel.querySelector('.jp-Notebook-ExecutionIndicator');
    return Boolean(name && status && name.textContent.trim()
                   && !/No Kernel/.test(name.textContent) && status.dataset.status === 'idle');
}"""

# Prompts of the non-empty code cells: "[*]:" queued or running, "[3]:" done, "[ ]:" never run
# (Lab leaves an empty cell's prompt blank even when it "runs" it).
PROMPTS_JS = """() => [...document.querySelectorAll(
    '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell')]
    .filter(cell => (cell.querySelector('.jp-InputArea-editor') || cell).textContent.trim())
    .map(cell => cell.querySelector('.jp-InputPrompt').textContent.trim())"""

SETTLE_TIMEOUT_S = 60
SETTLE_POLL_S = 0.3
SETTLE_STABLE_POLLS = 4       # interact redraws once per intermediate value: wait until it stops


def wait_until_images_settle(page, script, *, idle=lambda: True, what="the images were still changing"):
    """Poll the digests that `script` (images_js) returns until they and idle() hold for a few polls;
    return the digests, or fail the test after SETTLE_TIMEOUT_S. Every image must be readable: a redraw
    could not be told from an image whose bytes the page could not fetch."""
    deadline = time.monotonic() + SETTLE_TIMEOUT_S
    previous, stable = None, 0
    while time.monotonic() < deadline:
        time.sleep(SETTLE_POLL_S)
        images = page.evaluate(script)
        stable = stable + 1 if images == previous and idle() else 0
        if stable >= SETTLE_STABLE_POLLS:
            unreadable = [digest for digest in images if digest.startswith("unreadable")]
            assert not unreadable, f"{len(unreadable)} of {len(images)} images could not be read: {unreadable[:3]}"
            return images
        previous = images
    pytest.fail(f"{what} after {SETTLE_TIMEOUT_S} s")


def lesson_dir():
    """The folder whose notebooks are tested: lessons/, or DLTEACH_BROWSER_LESSONS to try others."""
    return Path(os.environ.get("DLTEACH_BROWSER_LESSONS", REPO / "lessons")).resolve()


def _missing_requirement():
    """Why the browser tests cannot run here, or None when they can."""
    if not CHROMIUM.exists():
        return f"{CHROMIUM} not found"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright Python package is not installed"
    return None


def _skip_or_fail(reason):
    message = f"browser tests need Chromium and playwright: {reason}; {INSTALL_HINT}"
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true, so not skipping: {message}", pytrace=False)
    pytest.skip(message)


def _clear_outputs(path):
    """Strip stored outputs: Lab opens the notebook faster, and every output the tests then see
    (and every "[n]:" prompt) comes from this run, not from the stored one."""
    notebook = json.loads(path.read_text())
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
    path.write_text(json.dumps(notebook, indent=1))


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _write_settings(settings_dir):
    for plugin, values in LAB_SETTINGS.items():
        package, name = plugin.rsplit("/", 1)
        path = settings_dir / package / f"{name}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values, indent=2))


def _wait_until_answering(url, process, log_path, *, any_status=False):
    """Wait until url/api/status answers 200 (or, with any_status, until url answers at all)."""
    probe = url if any_status else f"{url}api/status"
    name = Path(process.args[2] if len(process.args) > 2 else process.args[0]).name
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"{name} exited with code {process.returncode} before answering; "
                f"its log:\n{log_path.read_text()[-3000:]}"
            )
        try:
            request = urllib.request.Request(probe, method="HEAD" if any_status else "GET")
            with urllib.request.urlopen(request, timeout=2) as response:
                if response.status == 200 or any_status:
                    return
        except urllib.error.HTTPError:
            if any_status:
                return          # it answered, if only to say no
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.25)
    raise RuntimeError(
        f"{name} did not answer {probe} within {SERVER_START_TIMEOUT_S} s; "
        f"its log:\n{log_path.read_text()[-3000:]}"
    )


def start_server(command, *, cwd, env, url, log_path, any_status=False):
    """Start a server (its own process, so that its pid is the server's) and wait until it answers."""
    with open(log_path, "w") as log:
        process = subprocess.Popen(command, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_until_answering(url, process, log_path, any_status=any_status)
    except BaseException:
        _stop(process)
        raise
    return process


def _stop(process):
    """Terminate the server by its pid, then kill it if it has not gone after a grace period."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=SERVER_STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=SERVER_STOP_TIMEOUT_S)


@pytest.fixture(scope="session")
def lab_server():
    """Base URL of a JupyterLab serving a temporary copy of the lessons (ends with '/')."""
    reason = _missing_requirement()
    if reason:
        _skip_or_fail(reason)
    tmp = Path(tempfile.mkdtemp(prefix="dlteach-lab-"))
    root = tmp / "root"
    shutil.copytree(lesson_dir(), root / "lessons")
    for notebook in (root / "lessons").glob("*.ipynb"):
        _clear_outputs(notebook)
    home = tmp / "home"
    home.mkdir()
    _write_settings(tmp / "settings")
    env = dict(
        os.environ,
        HOME=str(home),
        JUPYTER_CONFIG_DIR=str(tmp / "config"),
        JUPYTER_DATA_DIR=str(tmp / "data"),
        JUPYTER_RUNTIME_DIR=str(tmp / "runtime"),
        JUPYTERLAB_SETTINGS_DIR=str(tmp / "settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(tmp / "workspaces"),
    )
    env.pop("MPLBACKEND", None)   # the kernel must draw with the inline backend, as for a learner
    port = _free_port()
    log_path = tmp / "jupyterlab.log"
    command = [
        sys.executable, "-m", "jupyterlab",
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={port}",
        "--ServerApp.port_retries=0",
        "--IdentityProvider.token=",
        "--PasswordIdentityProvider.hashed_password=",
        # No token and a loopback address already; this lets the tests shut kernels down over REST.
        "--ServerApp.disable_check_xsrf=True",
        f"--ServerApp.root_dir={root}",
        "--ServerApp.terminals_enabled=False",
        "--LabApp.expose_app_in_browser=True",   # window.jupyterapp: the tests read cell outputs
    ]
    if os.geteuid() == 0:   # containers and CI runners are often root; Jupyter refuses by default
        command.append("--allow-root")
    url = f"http://127.0.0.1:{port}/"
    try:
        process = start_server(command, cwd=root, env=env, url=url, log_path=log_path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    try:
        yield url
    finally:
        _stop(process)
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="session")
def headless_chromium():
    """One headless Chromium for the session; each test opens its own context."""
    reason = _missing_requirement()
    if reason:
        _skip_or_fail(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="session")
def chromium(lab_server, headless_chromium):
    """The session's Chromium, once the JupyterLab server is up."""
    return headless_chromium


@pytest.fixture
def lab_page(request, chromium, lab_server):
    """A fresh page; on failure pytest_runtest_makereport saves its screenshot."""
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    request.node._dlteach_page = page
    try:
        yield page
    finally:
        _shutdown_kernels(lab_server)
        context.close()


def _shutdown_kernels(url):
    """Free the CPU for the next lesson: Lab keeps a kernel alive after its tab is gone."""
    try:
        with urllib.request.urlopen(f"{url}api/kernels", timeout=5) as response:
            kernels = json.load(response)
        for kernel in kernels:
            request = urllib.request.Request(f"{url}api/kernels/{kernel['id']}", method="DELETE")
            urllib.request.urlopen(request, timeout=10).close()
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        pass   # the server is going away anyway; a leftover kernel dies with it


_screenshot_dir = None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    page = getattr(item, "_dlteach_page", None)
    if page is None or not report.failed or report.when != "call":
        return
    global _screenshot_dir
    if _screenshot_dir is None:   # one folder per session, made only when something fails
        _screenshot_dir = Path(tempfile.mkdtemp(prefix="dlteach-browser-failures-"))
    path = _screenshot_dir / f"{item.callspec.id if hasattr(item, 'callspec') else item.name}.png"
    try:
        page.screenshot(path=str(path), full_page=True)
        note = f"screenshot saved to {path}"
    except Exception as error:  # a crashed page must not hide the original failure
        note = f"could not save a screenshot to {path}: {error}"
    report.sections.append(("browser screenshot", note))
    print(f"\n{item.nodeid}: {note}", file=sys.__stderr__)
