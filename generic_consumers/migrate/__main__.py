"""``python -m generic_consumers.migrate [--apply | --check] PROJECT_DIR``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from . import plan

__all__ = ["main"]

DESCRIPTION = """\
Port a Channels 1.x project to generic_consumers. It never imports the project and
needs no Django settings, so it runs on the unported project. By default it prints a
unified diff of every change and writes nothing; it ends with the notes (what a human
must decide) as path:line: lines and a one-line summary. Line numbers are those of
the migrated files.
"""


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m generic_consumers.migrate", description=DESCRIPTION
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--apply",
        action="store_true",
        help="Write the changes (running it twice is harmless).",
    )
    mode.add_argument(
        "--check",
        action="store_true",
        help="Write nothing; exit 1 while something would change or needs a human.",
    )
    parser.add_argument("project_dir", metavar="PROJECT_DIR", type=Path)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if not args.project_dir.exists():
        print(
            f"No such file or directory: {str(args.project_dir)!r}; pass the "
            "directory that holds manage.py.",
            file=sys.stderr,
        )
        return 2
    report = plan(args.project_dir)
    if args.apply:
        report.apply()
    sys.stdout.write(report.render(applied=args.apply))
    return 1 if args.check and not report.clean else 0


if __name__ == "__main__":
    sys.exit(main())
