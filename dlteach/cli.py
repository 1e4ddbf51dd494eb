"""The `dlteach` command: `dlteach lab` opens the course; further subcommands serve instructors and presenters."""

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path


def course_root(start=None):
    """Return the folder holding lessons/ (the repository), searching upwards from start or the cwd."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "lessons").is_dir():
            return folder
    package_repo = Path(__file__).resolve().parent.parent
    if (package_repo / "lessons").is_dir():
        return package_repo
    raise SystemExit("dlteach: no lessons/ folder found here or above; run this from the course repository")


def cmd_lab(args):
    root = course_root()
    jupyter = shutil.which("jupyter-lab") or shutil.which("jupyter")
    if jupyter is None:
        raise SystemExit("dlteach lab: JupyterLab is not installed here; run `make lab` or `pip install -e .`")
    cmd = [jupyter] if jupyter.endswith("jupyter-lab") else [jupyter, "lab"]
    cmd += [f"--ServerApp.root_dir={root}", "--ip", args.ip, "--port", str(args.port)]
    if args.no_browser:
        cmd.append("--no-browser")
    target = "lessons/00_welcome.ipynb" if (root / "lessons" / "00_welcome.ipynb").exists() else ""
    if target:
        cmd.append(f"--LabApp.default_url=/lab/tree/{target}")
    print("dlteach lab:", " ".join(cmd), flush=True)
    return subprocess.call(cmd, env=os.environ.copy())


def build_parser():
    parser = argparse.ArgumentParser(prog="dlteach", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    lab = sub.add_parser("lab", help="open the course in JupyterLab, starting at lessons/00_welcome.ipynb")
    lab.add_argument("--ip", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    lab.add_argument("--port", type=int, default=8888)
    lab.add_argument("--no-browser", action="store_true", help="do not open a browser window")
    lab.set_defaults(func=cmd_lab)

    _add_course_commands(sub)
    return parser


def _add_course_commands(sub):
    """Course tooling (execute, release, grade, ...) registers its subcommands here."""
    try:
        from dlteach.course import commands
    except ImportError:
        return
    commands.register(sub)


def main(argv=None):
    args = build_parser().parse_args(argv)
    return args.func(args) or 0


if __name__ == "__main__":
    sys.exit(main())
