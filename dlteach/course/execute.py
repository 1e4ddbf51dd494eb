"""Re-execute notebooks in place with nbclient and store outputs so that a second run changes no byte."""

import os
from pathlib import Path

from jupyter_client.manager import KernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from nbval.kernel import CURRENT_ENV_KERNEL_NAME, NbvalKernelspecManager

from dlteach.course import notebooks


class ExecutionFailed(Exception):
    """A notebook raised while being executed; the message names the notebook and the cell."""


def kernel_env():
    """The kernel's environment: ours, minus settings that would change what a notebook stores.

    MPLBACKEND would replace the inline backend (no figures stored); a fixed PYTHONHASHSEED keeps set
    and string-hash order, hence any printed set, the same from run to run.
    """
    env = {k: v for k, v in os.environ.items() if k not in ("MPLBACKEND",)}
    env["PYTHONHASHSEED"] = "0"
    return env


def execute_notebook(path, *, root, timeout=600, write=True):
    """Run the notebook at path top to bottom in a fresh kernel; return its canonical bytes.

    The kernel is this Python's (like nbval's --nbval-current-env) and runs in the notebook's folder,
    as in JupyterLab and nbval. With write=True the file is rewritten only if its bytes change.
    Raises ExecutionFailed when a cell not tagged raises-exception raises.
    """
    path = Path(path).resolve()
    nb = notebooks.read(path)
    km = KernelManager(kernel_name=CURRENT_ENV_KERNEL_NAME, kernel_spec_manager=NbvalKernelspecManager())
    client = NotebookClient(nb, km=km, timeout=timeout, allow_errors=False, record_timing=False,
                            coalesce_streams=True, store_widget_state=True,
                            resources={"metadata": {"path": str(path.parent)}})
    try:
        client.execute(env=kernel_env())
    except CellExecutionError as exc:
        first = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise ExecutionFailed(f"{path}: a cell raised while executing: {first}") from exc
    data = notebooks.to_bytes(notebooks.canonicalize(nb, path.stem, notebooks.sanitize_rules(root)))
    if write:
        notebooks.write_if_changed(path, data)
    return data
