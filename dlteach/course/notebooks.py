"""Notebook files of the course: where they are, their canonical bytes, and the checks on stored notebooks.

The checks answer "does this stored notebook show what it claims?": every code cell executed, in
order, no error outputs (unless the cell is tagged raises-exception), no image over 150 KB.
"""

import base64
import hashlib
import json
import re
from pathlib import Path

import nbformat

__all__ = ["course_root", "course_notebooks", "read", "to_bytes", "write_if_changed", "sanitize_rules",
           "canonicalize", "graded", "problems", "stale_outputs", "MAX_IMAGE_BYTES", "SANITIZE_FILE"]

NOTEBOOK_FOLDERS = ("lessons", "solutions")
SANITIZE_FILE = Path("tests") / "nbval_sanitize.cfg"
MAX_IMAGE_BYTES = 150 * 1024
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
RAISES_TAG = "raises-exception"          # honoured by nbclient and by nbval alike
SKIP_TAG = "skip-execution"              # nbclient leaves such cells unexecuted
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
VOLATILE_CELL_METADATA = ("execution", "ExecuteTime")


COURSE_FOLDERS = ("lessons", "solutions", "exercises")


class NoCourse(SystemExit):
    """No course folder where one is needed: the message says where it looked and what to do."""


def course_root(start=None, *, course=None, writes=True, command="dlteach"):
    """The course folder: course (--course) when given, else the nearest folder at or above start (the
    cwd) holding lessons/, solutions/ or exercises/.

    A command that writes never guesses further: outside a course folder it stops with NoCourse. One
    that only reads (writes=False: lab, voila) falls back to the checkout dlteach runs from, so that
    `dlteach lab` from anywhere opens the course of an editable install.
    """
    if course is not None:
        folder = Path(course).resolve()
        if not any((folder / f).is_dir() for f in COURSE_FOLDERS):
            raise NoCourse(f"{command}: --course {course}: not a course folder (it has none of "
                           f"{', '.join(f + '/' for f in COURSE_FOLDERS)})")
        return folder
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if any((folder / f).is_dir() for f in COURSE_FOLDERS):
            return folder
    package_repo = Path(__file__).resolve().parents[2]
    if not writes and (package_repo / "lessons").is_dir():
        return package_repo
    raise NoCourse(f"{command}: no course folder (one with lessons/, solutions/ or exercises/) in {here} or above; "
                   "run it from the course folder or give --course FOLDER")


def course_notebooks(root, folders=NOTEBOOK_FOLDERS):
    """Return every .ipynb under root/<folder> for the given folders, sorted, skipping checkpoints."""
    found = []
    for folder in folders:
        base = Path(root) / folder
        if base.is_dir():
            found += [p for p in base.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts]
    return sorted(found)


def read(path):
    """Read a notebook as nbformat 4, raising a ValueError that names the file if it is not one."""
    try:
        return nbformat.read(str(path), as_version=4)
    except Exception as exc:   # nbformat raises several unrelated types for broken files
        raise ValueError(f"{path}: not a readable Jupyter notebook ({type(exc).__name__}: {exc})") from exc


def to_bytes(nb):
    """The canonical file contents: nbformat's sorted-key JSON with one-space indents and a final newline."""
    text = nbformat.writes(nb)
    return (text if text.endswith("\n") else text + "\n").encode("utf-8")


def write_if_changed(path, data):
    """Write data to path unless the file already holds exactly these bytes; return whether it wrote."""
    path = Path(path)
    if path.exists() and path.read_bytes() == data:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return True


def sanitize_rules(root):
    """The (regex, replacement) pairs of the course's shared nbval sanitize file, in file order."""
    path = Path(root) / SANITIZE_FILE
    if not path.exists():
        return []
    # The same parser nbval uses, so that stored outputs and nbval's comparison agree.
    from nbval.plugin import get_sanitize_patterns
    return [(re.compile(regex), replace) for regex, replace in get_sanitize_patterns(path.read_text())]


def _sanitize(text, rules):
    for regex, replace in rules:
        text = regex.sub(replace, text)
    return text


def graded(cell):
    """The cell's grading metadata ({"id", "role", "points"}), or None for an ungraded cell."""
    meta = cell.get("metadata", {}).get("dlteach")
    return meta if isinstance(meta, dict) and "role" in meta else None


def canonicalize(nb, name, rules=()):
    """Make an executed notebook byte-stable: fixed kernelspec, no timestamps, stable ids, sanitized text.

    name seeds the ids given to cells that lack one and to ipywidgets models (random uuids otherwise).
    Text outputs pass through the shared sanitize rules, so timings and addresses are stored as
    placeholders rather than as values that change from run to run. Returns a new notebook.
    """
    nb = nbformat.from_dict(json.loads(json.dumps(nb)))
    nb.nbformat, nb.nbformat_minor = 4, max(5, nb.get("nbformat_minor", 5))
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nb.metadata.get("language_info", {}).pop("version", None)   # differs between machines, not runs
    seen = set()
    for index, cell in enumerate(nb.cells):
        for key in VOLATILE_CELL_METADATA:
            cell.metadata.pop(key, None)
        if not cell.get("id") or cell.id in seen:
            cell.id = hashlib.sha1(f"{name}:{index}".encode()).hexdigest()[:12]
        seen.add(cell.id)
        for out in cell.get("outputs", []):
            if out.output_type == "stream":
                out.text = _sanitize(out.text, rules)
            elif "data" in out and isinstance(out.data.get("text/plain"), str):
                out.data["text/plain"] = _sanitize(out.data["text/plain"], rules)
    for model in nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {}).values():
        model["state"] = _sanitize_leaves(model.get("state", {}), rules)   # e.g. a tqdm bar's rate
    return _renumber_widgets(nb, name)


def _sanitize_leaves(value, rules):
    if isinstance(value, str):
        return _sanitize(value, rules)
    if isinstance(value, dict):
        return {k: _sanitize_leaves(v, rules) for k, v in value.items()}
    if isinstance(value, list):
        return [_sanitize_leaves(v, rules) for v in value]
    return value


def _renumber_widgets(nb, name):
    """Replace the random ipywidgets model ids by ids derived from name and the order models are reached."""
    state = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    views = [out.data[WIDGET_VIEW]["model_id"] for cell in nb.cells for out in cell.get("outputs", [])
             if WIDGET_VIEW in out.get("data", {})]
    if not views and not state:
        nb.metadata.pop("widgets", None)
        return nb
    order, queue = [], list(views)
    while queue:                  # breadth-first through IPY_MODEL_ references: same structure, same order
        model = queue.pop(0)
        if model in order:
            continue
        order.append(model)
        queue += re.findall(r"IPY_MODEL_([0-9a-f]{32})", json.dumps(state.get(model, {}), sort_keys=True))
    masked = {m: re.sub(r"[0-9a-f]{32}", "", json.dumps(s, sort_keys=True)) for m, s in state.items()}
    order += sorted((m for m in state if m not in order), key=lambda m: masked[m])
    text = json.dumps(nb)
    for i, model in enumerate(order):
        text = text.replace(model, hashlib.md5(f"{name}:widget:{i}".encode()).hexdigest())
    return nbformat.from_dict(json.loads(text))


def problems(path):
    """List what is wrong with a stored lesson or solution notebook (an empty list when nothing is).

    Flags code cells never executed, executed out of order, holding an error output without the
    raises-exception tag, and images over MAX_IMAGE_BYTES.
    """
    nb = read(path)
    found, expected_count = [], 1
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    for index, cell in enumerate(code_cells):
        where = f"{path}: code cell {index}"
        tags = cell.metadata.get("tags", [])
        count = cell.get("execution_count")
        if count is None:
            if cell.source.strip() and SKIP_TAG not in tags:
                found.append(f"{where} was never executed (execution_count is null); "
                             "run `dlteach execute` on this notebook")
        else:
            if count != expected_count:
                found.append(f"{where} has execution_count {count}, expected {expected_count}: "
                             "the notebook was run out of order; run `dlteach execute` on it")
            expected_count = count + 1
        for out in cell.get("outputs", []):
            if out.output_type == "error" and RAISES_TAG not in tags:
                found.append(f"{where} holds an error output ({out.ename}: {out.evalue}); fix it, or tag the "
                             f"cell '{RAISES_TAG}' if the error is the lesson")
            for mime, data in out.get("data", {}).items():
                size = _image_bytes(mime, data)
                if size > MAX_IMAGE_BYTES:
                    found.append(f"{where} holds a {mime} image of {size // 1024} KB, over the "
                                 f"{MAX_IMAGE_BYTES // 1024} KB limit; lower the figure's dpi or size")
    return found


def _image_bytes(mime, data):
    if not mime.startswith("image/"):
        return 0
    text = "".join(data) if isinstance(data, list) else str(data)
    if mime == "image/svg+xml":
        return len(text.encode("utf-8"))
    return len(base64.b64decode(text))


PNG_B64_START = "iVBORw0KGgo"        # base64 of the PNG signature
MAX_DIFFERING_PIXELS = 0.02          # a figure may move this share of its pixels, and no more


def stale_outputs(stored, fresh):
    """What differs between a stored notebook's bytes and a fresh execution's, as a list of messages.

    Text, structure and widget state must match exactly. PNG images (outputs and widget buffers) must
    have the same size and differ in at most MAX_DIFFERING_PIXELS of their pixels: the last bits of
    np.tanh or of a BLAS sum differ between CPUs and move an antialiased edge here and there, while a
    plot that really changed moves far more. On one machine `dlteach execute` is byte-for-byte
    reproducible (tests/course/test_execute.py checks that).
    """
    images = ([], [])
    masked = [_mask_pngs(json.loads(data), found) for data, found in zip((stored, fresh), images)]
    if masked[0] != masked[1]:
        return [_first_difference(*masked)]
    found = []
    for index, (a, b) in enumerate(zip(*images)):
        if a != b:
            problem = _pixel_difference(a, b)
            if problem:
                found.append(f"image {index}: {problem}")
    return found


def _mask_pngs(value, found):
    if isinstance(value, str) and value.startswith(PNG_B64_START):
        found.append(value)
        return "<png>"
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value) \
            and value[0].startswith(PNG_B64_START):
        found.append("".join(value))
        return "<png>"
    if isinstance(value, dict):
        return {k: _mask_pngs(v, found) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask_pngs(v, found) for v in value]
    return value


def _first_difference(a, b, where="notebook"):
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b), key=str):
            if a.get(key) != b.get(key):
                return _first_difference(a.get(key), b.get(key), f"{where}[{key!r}]")
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            if x != y:
                return _first_difference(x, y, f"{where}[{i}]")
    return f"{where}: stored {str(a)[:200]!r}, fresh run gives {str(b)[:200]!r}"


def _pixel_difference(a, b):
    import io

    import numpy as np
    from PIL import Image

    pa, pb = (np.asarray(Image.open(io.BytesIO(base64.b64decode(x))).convert("RGB")) for x in (a, b))
    if pa.shape != pb.shape:
        return f"size {pa.shape[1]}x{pa.shape[0]} stored, {pb.shape[1]}x{pb.shape[0]} fresh"
    share = float(np.any(np.abs(pa.astype(int) - pb.astype(int)) > 16, axis=-1).mean())
    if share > MAX_DIFFERING_PIXELS:
        return f"{share:.1%} of the pixels differ (at most {MAX_DIFFERING_PIXELS:.0%} allowed)"
    return None
