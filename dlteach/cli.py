"""The `dlteach` command: `dlteach lab` opens the course; further subcommands serve instructors and presenters."""

import argparse
import sys

from dlteach.course import commands


def build_parser():
    parser = argparse.ArgumentParser(prog="dlteach", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    commands.register(sub)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    return args.func(args) or 0


if __name__ == "__main__":
    sys.exit(main())
