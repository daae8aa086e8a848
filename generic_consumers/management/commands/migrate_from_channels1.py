"""``manage.py migrate_from_channels1 PATH [--dry-run | --check]``: port a 1.x project.

The same migration as ``python -m generic_consumers.migrate``, for a project that
already starts (an unported 1.x project does not: its settings and routing import
names Channels 4 lacks; use the ``python -m`` form there).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ...migrate import plan


class Command(BaseCommand):
    help = (
        "Rewrite a Channels 1.x project for generic_consumers (the same as "
        "'python -m generic_consumers.migrate --apply PATH'): imports, settings, "
        "asgi.py, templates; then list what needs a human. --dry-run prints a "
        "unified diff and writes nothing."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="The project directory (or one file).")
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument(
            "--dry-run",
            action="store_true",
            help="Print the changes as a unified diff; write nothing.",
        )
        mode.add_argument(
            "--check",
            action="store_true",
            help="Write nothing; fail while something would change or needs a human.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        root = Path(options["path"])
        if not root.exists():
            raise CommandError(
                f"No such file or directory: {str(root)!r}; pass the directory that "
                "holds manage.py."
            )
        report = plan(root)
        write = not (options["dry_run"] or options["check"])
        if write:
            report.apply()
        self.stdout.write(report.render(applied=write), ending="")
        if options["check"] and not report.clean:
            raise CommandError("The migration is not finished (see above).")
