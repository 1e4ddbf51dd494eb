"""The sandbox a submission's code runs in: bubblewrap (bwrap) namespaces, an unprivileged user, limits.

Inside: no network; its own PID, IPC and UTS namespaces (it sees and can signal no other process); a
private /tmp; read-only the system, this Python and the dlteach package, and nothing else of the disk
(not the course's solutions/ or exercises/, no submission, no kernel's connection file, no home). It
runs as the user nobody when grading runs as root, and under limits on memory, CPU time, processes,
open files and the size of what it writes. When the grader stops it, or dies, every process in it ends.
"""

import os
import resource
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import dlteach

INSTALL_HINT = ("install bubblewrap (Debian and Ubuntu: `apt-get install bubblewrap`; Fedora: `dnf install "
                "bubblewrap`), or pass --no-sandbox to run submissions unconfined (only for code you trust)")
NOBODY = 65534


@dataclass(frozen=True)
class Limits:
    """What one submission may use; each settable with `dlteach grade --memory ... --cpu ...`."""
    memory_mb: int = 2048          # address space of each process
    cpu_s: int = 120               # CPU seconds of each process
    processes: int = 64            # processes and threads of the sandbox's user
    open_files: int = 256
    output_mb: int = 64            # the largest file it may write (its captured output included)


def bwrap():
    """The path of bwrap, or None where it is missing."""
    return shutil.which("bwrap") or next((p for p in ("/usr/bin/bwrap", "/bin/bwrap") if os.path.exists(p)), None)


def _readonly_paths():
    """Everything the runner needs to start Python and import dlteach, numpy and matplotlib."""
    package = Path(dlteach.__file__).resolve().parent
    paths = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc",
             sys.base_prefix, sys.prefix, str(package)]
    paths += [p for p in sys.path if p and os.path.isdir(p) and "site-packages" in p]
    seen, kept = set(), []
    for path in paths:
        real = os.path.realpath(path)
        if os.path.exists(path) and real not in seen:
            seen.add(real)
            kept.append(path)
    return kept


def command(argv, *, read_fd, write_fd):
    """The bwrap argv that runs argv (a command of this Python) inside the sandbox, keeping two fds."""
    tool = bwrap()
    if tool is None:
        raise FileNotFoundError(f"bwrap not found: {INSTALL_HINT}")
    cmd = [tool, "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try",
           "--die-with-parent", "--new-session", "--clearenv",
           "--proc", "/proc", "--dev", "/dev", "--perms", "1777", "--tmpfs", "/tmp", "--chdir", "/tmp"]
    if os.geteuid() != 0:
        cmd.insert(1, "--unshare-user")       # an unprivileged user gets namespaces through a user namespace
    paths = _readonly_paths()
    parents = {str(parent) for path in paths for parent in Path(path).parents if str(parent) != "/"} - set(paths)
    for parent in sorted(parents, key=lambda p: p.count("/")):    # traversable by the unprivileged user
        cmd += ["--perms", "0755", "--dir", parent]
    for path in paths:
        cmd += ["--ro-bind", path, path]
    for name, value in {"HOME": "/tmp", "PATH": "/usr/bin:/bin", "MPLBACKEND": "Agg", "MPLCONFIGDIR": "/tmp",
                        "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1", "OPENBLAS_NUM_THREADS": "1",
                        "OMP_NUM_THREADS": "1", "DLTEACH_SANDBOX_UID": str(NOBODY)}.items():
        cmd += ["--setenv", name, value]
    for name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):     # the machine's own settings for its CPU
        if name in os.environ:
            cmd += ["--setenv", name, os.environ[name]]
    return cmd + ["--", *argv]


def unconfined_env():
    """The environment of a runner started with --no-sandbox."""
    env = {k: v for k, v in os.environ.items() if k not in ("MPLBACKEND",)}
    env.update(MPLBACKEND="Agg", PYTHONHASHSEED="0", OPENBLAS_NUM_THREADS="1")
    return env


def preexec(limits):
    """In the child before exec: its own session and the limits (inherited by everything it starts)."""
    def apply():
        os.setsid()
        mb = 1024 * 1024
        for which, value in ((resource.RLIMIT_AS, limits.memory_mb * mb), (resource.RLIMIT_CPU, limits.cpu_s),
                             (resource.RLIMIT_NOFILE, limits.open_files), (resource.RLIMIT_FSIZE, limits.output_mb * mb),
                             (resource.RLIMIT_CORE, 0)):
            resource.setrlimit(which, (value, value))
        # Counted per user: the runner switches to nobody inside the sandbox (drop_privileges), where it applies.
        resource.setrlimit(resource.RLIMIT_NPROC, (limits.processes, limits.processes))
    return apply


def drop_privileges():
    """In the runner, first thing: become nobody if the sandbox asks for it and this process is root."""
    uid = os.environ.get("DLTEACH_SANDBOX_UID")
    if uid and os.geteuid() == 0:
        os.setgroups([])
        os.setgid(int(uid))
        os.setuid(int(uid))
