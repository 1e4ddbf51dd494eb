"""Run a server of this Python's environment (JupyterLab, Voila) in the foreground, and stop it with every
process it started on Ctrl-C, SIGTERM or SIGHUP.

The server runs in a session of its own, so a Ctrl-C in the terminal reaches only `dlteach`, which asks
the server to shut down (it then stops its kernels), waits, and kills whatever it started that is still
there. Where the platform allows, the server also gets SIGTERM if `dlteach` itself dies.
"""

import importlib.util
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

GRACE_S = 10          # JupyterLab and Voila shut their kernels down within a few seconds of SIGTERM
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class _Stop(Exception):
    """Raised by the signal handler so that the server is stopped in one place."""


def module_command(module, *args, command):
    """[this Python, -m, module, *args], or SystemExit naming how to install it if it is missing.

    Programs are found in the environment of the Python running `dlteach`, never on PATH: a learner who
    runs `.venv/bin/dlteach` without activating the environment gets the JupyterLab installed beside it.
    """
    if importlib.util.find_spec(module) is None:
        raise SystemExit(f"dlteach {command}: the Python package {module!r} is not installed in {sys.prefix}; "
                         f"run `make setup` in the course folder, or `{sys.executable} -m pip install -e .[present]`")
    return [sys.executable, "-m", module, *args]


def _stat(pid):
    """(parent pid, start time) of a live process, from /proc; None once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[1]), fields[19]


def descendants(pid):
    """{pid: start time} of every live process below pid (empty where /proc is missing)."""
    children = {}
    for entry in Path("/proc").iterdir() if Path("/proc").is_dir() else ():
        if entry.name.isdigit() and (stat := _stat(int(entry.name))):
            children.setdefault(stat[0], []).append((int(entry.name), stat[1]))
    found, todo = {}, [pid]
    while todo:
        for child, started in children.get(todo.pop(), ()):
            found[child] = started
            todo.append(child)
    return found


def _alive(processes):
    """The processes of {pid: start time} still running (the same processes, not reused pids)."""
    return {pid: started for pid, started in processes.items() if (stat := _stat(pid)) and stat[1] == started}


def _die_with_parent():
    """In the child, before exec: ask Linux to send SIGTERM if `dlteach` dies without cleaning up."""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)   # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def stop(process, *, grace=GRACE_S):
    """SIGTERM the server, give it grace seconds to stop its kernels, then kill it and all it started."""
    started = descendants(process.pid)
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    # Kernels run in sessions of their own; a server that died or hung leaves them behind.
    deadline = time.monotonic() + grace
    while _alive(started) and time.monotonic() < deadline:
        time.sleep(0.1)
    for pid in _alive(started):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def run(argv, *, name, env=None, cwd=None):
    """Run argv until it exits or this process is asked to stop; return its exit code (0 when stopped)."""
    def on_signal(signum, frame):
        raise _Stop(signum)

    previous = {sig: signal.signal(sig, on_signal) for sig in STOP_SIGNALS}
    process = None
    try:
        process = subprocess.Popen(argv, env=env, cwd=cwd, start_new_session=True,
                                   preexec_fn=_die_with_parent if sys.platform == "linux" else None)
        return process.wait()
    except _Stop:
        print(f"\n{name}: stopping (its kernels too)...", file=sys.stderr, flush=True)
        return 0
    finally:
        for sig in STOP_SIGNALS:           # a second Ctrl-C must not interrupt the clean-up
            signal.signal(sig, signal.SIG_IGN)
        if process is not None:
            stop(process)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
