"""What a migration run found: file changes, notes, and how they are printed."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Change", "Note", "Report"]


@dataclass(frozen=True, order=True)
class Note:
    """A human must act at ``path:line`` (lines of the file as migrated)."""

    path: str
    line: int
    text: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.text}"


@dataclass(frozen=True)
class Change:
    """One file's new text; ``before`` is ``None`` for a file the migration creates."""

    path: str
    before: str | None
    after: str

    def diff(self) -> str:
        before = [] if self.before is None else self.before.splitlines(keepends=True)
        after = self.after.splitlines(keepends=True)
        lines = list(
            difflib.unified_diff(
                before,
                after,
                "/dev/null" if self.before is None else f"a/{self.path}",
                f"b/{self.path}",
            )
        )
        # A last line without a newline would run into the next file's header.
        return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


@dataclass
class Report:
    """The result of :func:`generic_consumers.migrate.plan`; nothing written yet."""

    root: Path  # the directory the paths are relative to
    changes: list[Change] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        """Nothing would change and nothing needs a human (``--check`` passes)."""
        return not self.changes and not self.notes

    def apply(self) -> None:
        """Write every change (creating new files)."""
        for change in self.changes:
            path = self.root / change.path
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "w", encoding="utf-8", newline="") as file:
                file.write(change.after)

    def render(self, *, applied: bool) -> str:
        """The diff (or the files written), the notes, and a one-line summary."""
        parts: list[str] = []
        for change in self.changes:
            if applied:
                verb = "created" if change.before is None else "rewrote"
                parts.append(f"{verb} {change.path}\n")
            else:
                parts.append(change.diff())
        parts += [f"{note}\n" for note in self.notes]
        parts.append(self.summary(applied=applied) + "\n")
        return "".join(parts)

    def summary(self, *, applied: bool) -> str:
        if self.clean:
            return "Nothing to change and nothing needs a human."
        created = sum(change.before is None for change in self.changes)
        count = len(self.changes)
        files = f"{count} file{'s' if count != 1 else ''}"
        new = f" ({created} new)" if created else ""
        parts = []
        if count:
            parts.append(
                f"Changed {files}{new}" if applied else f"{files} would change{new}"
            )
        if self.notes:
            many = len(self.notes) != 1
            parts.append(
                f"{len(self.notes)} note{'s' if many else ''} "
                f"need{'' if many else 's'} a human"
            )
        line = "; ".join(parts) + "."
        if count and not applied:
            line += " Run with --apply to write the changes."
        return line
