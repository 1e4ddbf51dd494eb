"""The `dlteach` command: `dlteach lab` opens the course; further subcommands serve instructors and presenters."""

import argparse
import os
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
    from dlteach.course import serve
    root = course_root()
    cmd = serve.module_command("jupyterlab", command="lab")
    cmd += [f"--ServerApp.root_dir={root}", "--ip", args.ip, "--port", str(args.port),
            # Offline: no news feed and no update check reaching for the internet.
            "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    if args.no_browser:
        cmd.append("--no-browser")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")      # containers and cloud machines often run as root; Jupyter refuses by default
    target = "lessons/00_welcome.ipynb" if (root / "lessons" / "00_welcome.ipynb").exists() else ""
    if target:
        cmd.append(f"--LabApp.default_url=/lab/tree/{target}")
    print(f"dlteach lab: starting JupyterLab on {args.ip}, port {args.port} (or the next free one); "
          "open the URL it prints below. Ctrl-C stops it and its kernels.", flush=True)
    return serve.run(cmd, name="dlteach lab", env=os.environ.copy())


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
