"""``manage.py migrate_from_channels1 PATH [--dry-run]``: port a 1.x project."""

from __future__ import annotations

import difflib
import os
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ..._migrate import rewrite_source

SKIP_DIRS = {
    ".git",
    ".hg",
    ".tox",
    ".venv",
    "venv",
    "env",
    "node_modules",
    "__pycache__",
    "site-packages",
    "build",
    "dist",
}


def python_files(root: Path) -> list[Path]:
    if root.is_file():
        return [root]
    found = []
    for directory, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
        found += [Path(directory, f) for f in sorted(files) if f.endswith(".py")]
    return found


class Command(BaseCommand):
    help = (
        "Rewrite a Channels 1.x project for generic_consumers: imports from channels "
        "become generic_consumers, CHANNEL_LAYERS' ROUTING moves to "
        "GENERIC_CONSUMERS, and what needs a human is listed. --dry-run prints a "
        "unified diff and writes nothing."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="The project directory (or one file).")
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Print the changes as a unified diff; write nothing.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        root = Path(options["path"])
        if not root.exists():
            raise CommandError(f"No such file or directory: {str(root)!r}")
        dry_run = options["dry_run"]
        changed = 0
        human: list[str] = []
        for path in python_files(root):
            original = path.read_text(encoding="utf-8")
            result = rewrite_source(original)
            shown = path.relative_to(root) if path != root else path
            human += [f"{shown}:{note.line}: {note.text}" for note in result.notes]
            if not result.changed(original):
                continue
            changed += 1
            if dry_run:
                self.stdout.write(
                    "".join(
                        difflib.unified_diff(
                            original.splitlines(keepends=True),
                            result.source.splitlines(keepends=True),
                            f"a/{shown}",
                            f"b/{shown}",
                        )
                    ),
                    ending="",
                )
            else:
                path.write_text(result.source, encoding="utf-8")
        verb = "Would rewrite" if dry_run else "Rewrote"
        self.stdout.write(f"{verb} {changed} file(s).")
        if human:
            self.stdout.write(f"Needs a human ({len(human)}):")
            for line in human:
                self.stdout.write(f"  {line}")
        else:
            self.stdout.write("Nothing needs a human.")
