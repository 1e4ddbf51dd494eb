"""The instructor and presenter subcommands of `dlteach`: execute, release, grade, slides, site."""

import json
import sys
from pathlib import Path


def skip_slow_imports():
    """Keep jsonschema from importing rfc3987_syntax, which builds a parser for ~2 s of CPU at import.

    nbformat imports jsonschema, whose optional IRI format check (never used by notebooks) imports
    it. Only the command-line process and the grader's pytest process do this, never a kernel.
    """
    if "rfc3987_syntax" not in sys.modules:
        sys.modules["rfc3987_syntax"] = None   # None makes `import` raise ImportError, which jsonschema allows


def register(sub):
    """Add lab, execute, release, grade, slides, site and voila to the `dlteach` argparse subparsers object."""
    lab = sub.add_parser("lab", help="open the course in JupyterLab, starting at lessons/00_welcome.ipynb")
    lab.add_argument("--ip", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    lab.add_argument("--port", type=int, default=8888,
                     help="port (default 8888; when it is taken, JupyterLab takes the next free one)")
    lab.add_argument("--no-browser", action="store_true", help="do not open a browser window")
    lab.add_argument("--course", default=None, metavar="FOLDER", help="the course folder (default: found from here upwards)")
    lab.set_defaults(func=cmd_lab)

    ex = sub.add_parser("execute", help="re-run lessons and solutions in place, storing outputs reproducibly")
    ex.add_argument("notebooks", nargs="*", metavar="NOTEBOOK",
                    help="notebooks to run (default: every notebook in lessons/ and solutions/)")
    ex.add_argument("--timeout", type=float, default=600, help="seconds allowed per cell (default 600)")
    ex.add_argument("--course", default=None, metavar="FOLDER", help="the course folder (default: found from here upwards)")
    ex.set_defaults(func=cmd_execute)

    rel = sub.add_parser("release", help="write exercises/ from solutions/ (solutions and hidden tests removed)")
    rel.add_argument("names", nargs="*", metavar="NAME",
                     help="solutions to release, e.g. 04_softmax_gradient (default: all of solutions/)")
    rel.add_argument("--check", action="store_true",
                     help="write nothing; exit 1 if exercises/ differs from a fresh release")
    rel.add_argument("--no-verify", action="store_true",
                     help="skip grading each solution against its release (by default a solution that does not "
                          "earn full marks on its own exercise stops the release)")
    rel.add_argument("--course", default=None, metavar="FOLDER", help="the course folder (default: found from here upwards)")
    rel.set_defaults(func=cmd_release)

    gr = sub.add_parser("grade", help="grade submissions: their code in a sandbox, the checks outside it")
    gr.add_argument("submissions", nargs="+", metavar="SUBMISSION", help="submitted notebooks or folders of them")
    gr.add_argument("--timeout", type=float, default=5,
                    help="seconds allowed per part (default 5), for parts whose solution sets no time_limit")
    gr.add_argument("--jobs", "-j", type=int, default=1, help="submissions graded in parallel (default 1)")
    gr.add_argument("--json", default=None, metavar="FILE",
                    help="also write the grades as JSON to FILE; '-' writes them to standard output instead of the tables")
    gr.add_argument("--course", default=None, metavar="FOLDER",
                    help="course folder holding exercises/ and solutions/ (default: found from here upwards)")
    gr.add_argument("--out", default=None, metavar="FOLDER",
                    help="write gradebook.csv, grades.json and feedback/<student>.html into FOLDER (a new folder, "
                         "or one this command wrote before)")
    gr.add_argument("--manual", default=None, metavar="CSV",
                    help="points for the written answers: a CSV with a column student and one per written part")
    gr.add_argument("--scheduler", default=None, metavar="ADDRESS",
                    help="grade on a Dask cluster (dask.distributed scheduler address, e.g. tcp://10.0.0.5:8786), "
                         "one submission per task; needs the [dask] extra")
    gr.add_argument("--exercise", default=None, metavar="NAME",
                    help="the exercise being graded, e.g. 04_softmax_gradient: a submission of another is refused")
    gr.add_argument("--no-sandbox", action="store_true",
                    help="run the submissions' code without bubblewrap's sandbox (only for code you trust)")
    limits = sandbox_limits()
    gr.add_argument("--memory", type=int, default=limits.memory_mb, metavar="MB",
                    help=f"memory per process of a submission (default {limits.memory_mb} MB)")
    gr.add_argument("--cpu", type=int, default=limits.cpu_s, metavar="S",
                    help=f"CPU seconds per process of a submission (default {limits.cpu_s})")
    gr.add_argument("--processes", type=int, default=limits.processes, metavar="N",
                    help=f"processes and threads a submission may have (default {limits.processes})")
    gr.add_argument("--open-files", type=int, default=limits.open_files, metavar="N",
                    help=f"open files per process (default {limits.open_files})")
    gr.add_argument("--output", type=int, default=limits.output_mb, metavar="MB",
                    help=f"largest output a submission may write (default {limits.output_mb} MB)")
    gr.set_defaults(func=cmd_grade)

    sl = sub.add_parser("slides", help="build offline reveal.js decks of lessons into _build/slides/")
    sl.add_argument("notebooks", nargs="*", metavar="LESSON",
                    help="lessons or other notebooks, e.g. lessons/03_backpropagation.ipynb or 03 (default: every lesson)")
    sl.add_argument("--out", default=None, help="output folder (default: _build/slides in the course folder)")
    sl.add_argument("--no-browser-check", action="store_true",
                    help="skip opening each deck in headless Chromium to measure overflow at 1280x720 and 1024x768")
    sl.add_argument("--course", default=None, metavar="FOLDER", help="the course folder (default: found from here upwards)")
    sl.set_defaults(func=cmd_slides)

    si = sub.add_parser("site", help="render the lessons, exercises and decks as an offline static site in _build/site/")
    si.add_argument("--out", default=None, help="output folder (default: _build/site in the course folder)")
    si.add_argument("--course", default=None, metavar="FOLDER", help="the course folder (default: found from here upwards)")
    si.set_defaults(func=cmd_site)

    vo = sub.add_parser("voila", help="serve one lesson with Voila on 127.0.0.1: live widgets, no code shown")
    vo.add_argument("lesson", metavar="LESSON", help="a lesson's path, name or number, e.g. 05")
    vo.add_argument("--port", type=int, default=8866, help="port on 127.0.0.1 (default 8866)")
    vo.add_argument("--course", default=None, metavar="FOLDER", help="the course folder (default: found from here upwards)")
    vo.set_defaults(func=cmd_voila)


def cmd_lab(args):
    import os

    from dlteach.course import notebooks, serve
    root = notebooks.course_root(course=args.course, writes=False, command="dlteach lab")
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


def _is_notebook_or_submission(path, submissions):
    """Whether writing to path would destroy a notebook: an .ipynb name, an existing notebook, a submission."""
    if path.suffix == ".ipynb" or path.is_dir():
        return True
    targets = {Path(s).resolve() for s in submissions}
    if path.resolve() in targets or any(t in path.resolve().parents for t in targets if t.is_dir()):
        return True
    if path.exists():
        try:
            return "cells" in json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError):
            return False
    return False


def sandbox_limits(args=None):
    """The sandbox's limits: the defaults, or those given on the command line."""
    from dlteach.course.sandbox import Limits
    if args is None:
        return Limits()
    return Limits(memory_mb=args.memory, cpu_s=args.cpu, processes=args.processes, open_files=args.open_files,
                  output_mb=args.output)


def resolve_lessons(names, root):
    """Paths for LESSON arguments: a notebook path, a lesson's name (03_backpropagation) or its number (03)."""
    from dlteach.course import notebooks
    lessons = notebooks.course_notebooks(root, ("lessons",))
    paths = []
    for name in names:
        path = Path(name)
        if path.suffix == ".ipynb":
            if not path.exists():
                raise ValueError(f"argument LESSON {name} does not exist")
            paths.append(path)
            continue
        found = [p for p in lessons if p.stem == name or p.stem.split("_", 1)[0] == name]
        if len(found) != 1:
            raise ValueError(f"argument LESSON {name!r} matches {len(found)} lessons; expected a notebook path, "
                             f"a lesson name or number, one of {', '.join(p.stem for p in lessons)}")
        paths += found
    return paths or lessons


def cmd_slides(args):
    skip_slow_imports()
    from dlteach.course import deck, deckcheck, notebooks, present
    from dlteach.course.assets import AssetError
    root = notebooks.course_root(course=args.course, writes=True, command="dlteach slides")
    try:
        paths = resolve_lessons(args.notebooks, root)
        decks = present.build_slides(paths, Path(args.out) if args.out else root / "_build" / "slides")
    except (ValueError, AssetError) as exc:
        print(f"dlteach slides: {exc}", file=sys.stderr)
        return 1
    failed = []
    for path, built in zip(paths, decks):
        rows = deck.deck_report(notebooks.read(path))
        minutes = deck.talk_minutes(rows)
        print(f"{built}: {len(rows)} slides, about {minutes:.0f} min")
        if Path(path).parent.name == "lessons":            # a lesson is a talk
            (fewest, most), (shortest, longest) = deck.TALK_SLIDES, deck.TALK_MINUTES
            if not fewest <= len(rows) <= most:
                failed.append(f"{built.name}: {len(rows)} slides (a lesson's deck runs {fewest} to {most})")
            if not shortest <= round(minutes) <= longest:
                failed.append(f"{built.name}: about {minutes:.0f} min by its notes "
                              f"(a lesson's talk runs {shortest} to {longest})")
        for r in rows:
            for problem in r["problems"]:
                failed.append(f"{built.name}: slide {r['number']} ({r['title'][:40] or 'untitled'}): {problem}")
    if args.no_browser_check:
        print("dlteach slides: not measured in a browser (--no-browser-check): overflow unknown", file=sys.stderr)
    elif not deckcheck.available():
        print("dlteach slides: WARNING: overflow not measured: needs the playwright package and /usr/bin/chromium "
              "(`pip install playwright`, `apt-get install chromium`)", file=sys.stderr)
    else:
        for built, sizes in deckcheck.check_decks(decks).items():
            for (width, height), (rows, _, left) in sizes.items():     # notes: checked by deck_report above
                failed += [f"{built.name} at {width}x{height}: {p}" for p in deckcheck.problems(rows, notes=False)]
                failed += [f"{built.name} at {width}x{height}: a request left the deck: {url}" for url in left]
    for line in failed:
        print(f"dlteach slides: {line}", file=sys.stderr)
    return 1 if failed else 0


def cmd_site(args):
    skip_slow_imports()
    from dlteach.course import notebooks, present
    from dlteach.course.assets import AssetError
    root = notebooks.course_root(course=args.course, writes=True, command="dlteach site")
    out = Path(args.out) if args.out else root / "_build" / "site"
    try:
        pages = present.build_site(root, out)
    except (ValueError, AssetError) as exc:
        print(f"dlteach site: {exc}", file=sys.stderr)
        return 1
    print(f"{len(pages)} pages; open {pages[0]}")
    return 0


def cmd_voila(args):
    import os
    import tempfile

    from dlteach.course import notebooks, present, serve
    root = notebooks.course_root(course=args.course, writes=False, command="dlteach voila")
    try:
        (lesson,) = resolve_lessons([args.lesson], root)
    except ValueError as exc:
        print(f"dlteach voila: {exc}", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="dlteach-voila-") as folder:
        try:
            argv, env = present.voila_command(lesson, port=args.port, template_root=folder)
        except (ImportError, ValueError) as exc:
            print(f"dlteach voila: {exc}; install it with `make setup` or `pip install voila`", file=sys.stderr)
            return 1
        print(f"dlteach voila: serving {lesson.relative_to(root)} at http://127.0.0.1:{args.port}/ (Ctrl-C stops it)",
              flush=True)
        return serve.run(argv, name="dlteach voila", env={**os.environ, **env}, cwd=lesson.parent)


def cmd_execute(args):
    skip_slow_imports()
    from dlteach.course import notebooks
    from dlteach.course.execute import ExecutionFailed, execute_notebook
    root = notebooks.course_root(course=args.course, writes=True, command="dlteach execute")
    paths = [Path(p) for p in args.notebooks] or notebooks.course_notebooks(root)
    failed = 0
    for path in paths:
        if not path.exists():
            print(f"dlteach execute: argument NOTEBOOK {path} does not exist", file=sys.stderr)
            failed += 1
            continue
        before = path.read_bytes()
        try:
            after = execute_notebook(path, root=root, timeout=args.timeout)
        except ExecutionFailed as exc:
            print(f"dlteach execute: {exc}", file=sys.stderr)
            failed += 1
            continue
        print(f"{path}: {'updated' if after != before else 'unchanged'}")
    return 1 if failed else 0


def cmd_release(args):
    skip_slow_imports()
    from dlteach.course import notebooks
    from dlteach.course.release import ReleaseError, release, verify
    root = notebooks.course_root(course=args.course, writes=True, command="dlteach release")
    try:
        released = release(root, args.names, write=False)
        if not args.no_verify:
            verify(root, released)
    except (ReleaseError, ValueError) as exc:
        print(f"dlteach release: {exc}", file=sys.stderr)
        return 1
    drift = [p for p, data in released.items() if not p.exists() or p.read_bytes() != data]
    if args.check:
        stale = set(notebooks.course_notebooks(root, ("exercises",))) - set(released) if not args.names else set()
        for path in drift:
            print(f"{path.relative_to(root)}: differs from a fresh release; run `dlteach release`", file=sys.stderr)
        for path in sorted(stale):
            print(f"{path.relative_to(root)}: has no solution in solutions/", file=sys.stderr)
        return 1 if drift or stale else 0
    for path, data in released.items():
        notebooks.write_if_changed(path, data)
        print(f"{path.relative_to(root)}: {'updated' if path in drift else 'unchanged'}")
    return 0


def cmd_grade(args):
    skip_slow_imports()
    from dlteach.course import notebooks
    from dlteach.course.grade import GradingError, grade, table
    if args.jobs < 1 or args.timeout <= 0:
        print(f"dlteach grade: --jobs must be >= 1 and --timeout > 0, got --jobs {args.jobs} "
              f"--timeout {args.timeout:g}", file=sys.stderr)
        return 2
    root = notebooks.course_root(course=args.course, writes=True, command="dlteach grade")
    if args.json not in (None, "-") and _is_notebook_or_submission(Path(args.json), args.submissions):
        print(f"dlteach grade: --json {args.json}: refusing to write the grades over a notebook or a submission; "
              "give a new file name such as grades.json", file=sys.stderr)
        return 2
    from dlteach.course import gradebook
    if args.out is not None:
        try:
            gradebook.check_out_folder(Path(args.out), args.submissions)
        except gradebook.GradebookError as exc:
            print(f"dlteach grade: {exc}", file=sys.stderr)
            return 2
    if args.manual is not None and args.out is None:
        print("dlteach grade: --manual needs --out FOLDER: the manual points go into the gradebook there",
              file=sys.stderr)
        return 2
    try:
        results = grade(args.submissions, root=root, timeout=args.timeout, jobs=args.jobs,
                        sandboxed=not args.no_sandbox, limits=sandbox_limits(args), exercise=args.exercise,
                        scheduler=args.scheduler)
        if args.out is not None:
            written = gradebook.write(results, Path(args.out), submissions=args.submissions, manual=args.manual)
    except (GradingError, gradebook.GradebookError) as exc:
        print(f"dlteach grade: {exc}", file=sys.stderr)
        return 2
    if args.json != "-":
        for result in results:
            print(table(result))
    if args.json is not None:
        text = json.dumps({"submissions": [r.to_dict() for r in results]}, indent=1)
        if args.json == "-":
            print(text)
        else:
            Path(args.json).write_text(text + "\n", encoding="utf-8")
    if args.out is not None:
        graded = sum(not r.error for r in results)
        print(f"dlteach grade: {graded} of {len(results)} graded; wrote {Path(args.out) / 'gradebook.csv'}, "
              f"grades.json and {len(written) - 2} feedback pages in {Path(args.out) / 'feedback'}",
              file=sys.stderr if args.json == "-" else sys.stdout)
    errors = [r for r in results if r.error]
    for r in errors:
        print(f"dlteach grade: could not grade {r.submission}: {r.error}", file=sys.stderr)
    return 2 if errors else 0
