"""Walking a 1.x project: which files to rewrite, in what order, and the notes.

Everything is read as text and parsed with ``ast``; no project module is imported and
no Django settings are needed, so this runs on a project whose settings, routing and
apps still import Channels 1.x names.
"""

from __future__ import annotations

import ast
import os
from pathlib import Path

from .connect import connect_notes
from .entry import Layout, asgi_source, find_layout, rewrite_entry
from .imports import import_notes, rewrite_imports
from .notes import SILENCE, python_notes, script_notes, session_key_notes
from .report import Change, Note, Report
from .settings import (
    generic_setting,
    is_settings,
    lists_app,
    rewrite_settings,
    settings_notes,
)
from .source import Edits, LineNote, assigned, const_str
from .templates import is_template, rewrite_template

__all__ = ["SKIP_DIRS", "plan", "rewrite_python"]

SKIP_DIRS = {
    "node_modules",
    "__pycache__",
    "site-packages",
    "venv",
    "env",
    "build",
    "dist",
    "htmlcov",
}
_SCRIPT_SUFFIXES = {".sh", ".yml", ".yaml", ".ini", ".conf"}
_SCRIPT_NAMES = {"Makefile", "makefile", "GNUmakefile"}
_SCRIPT_PREFIXES = ("Procfile", "Dockerfile")
_JS_SUFFIXES = {".js", ".mjs", ".jsx", ".ts", ".tsx"}
_MAX_SIZE = 2_000_000


def _is_script(path: Path) -> bool:
    return (
        path.suffix in _SCRIPT_SUFFIXES
        or path.name in _SCRIPT_NAMES
        or path.name.startswith(_SCRIPT_PREFIXES)
    )


def _wanted(path: Path) -> bool:
    return (
        path.suffix == ".py"
        or is_template(path)
        or _is_script(path)
        or path.suffix in _JS_SUFFIXES
    )


def walk(root: Path) -> list[Path]:
    """The files the migration reads (virtualenvs, VCS and build output skipped)."""
    if root.is_file():
        return [root]
    found: list[Path] = []
    for directory, dirs, files in os.walk(root):
        dirs[:] = sorted(
            d for d in dirs if d not in SKIP_DIRS and not d.startswith(".")
        )
        found += [
            path
            for f in sorted(files)
            # Relative: a "templates" directory above the project does not count.
            if _wanted((path := Path(directory, f)).relative_to(root))
        ]
    return found


def _read(path: Path) -> str | None:
    try:
        if path.stat().st_size > _MAX_SIZE:
            return None
        with open(path, encoding="utf-8", newline="") as file:
            return file.read()
    except (OSError, UnicodeDecodeError):
        return None


def rewrite_python(
    text: str, *, asgi_module: str | None = None
) -> tuple[str, list[LineNote]]:
    """One module rewritten (imports, settings, 1.x asgi.py) and notes on what changed.

    Notes from here come with the rewrite; the lines are those of the new text.
    """
    try:
        tree = ast.parse(text)
    except SyntaxError as exc:
        return text, [
            LineNote(exc.lineno or 0, f"cannot parse ({exc.msg}): not rewritten")
        ]
    edits = Edits(text)
    notes = rewrite_imports(tree, edits)
    notes += rewrite_settings(tree, edits, asgi_module)
    notes += rewrite_entry(tree, edits)
    if not edits:
        return text, notes
    new = edits.apply()
    return new, [LineNote(edits.new_line(n.line, new), n.text) for n in notes]


def _module_names(paths: list[Path], roots: list[Path]) -> dict[Path, str]:
    """Dotted module names, relative to the deepest source root holding each file."""
    names: dict[Path, str] = {}
    for path in paths:
        for root in sorted(roots, key=lambda r: -len(r.parts)):
            if root in path.parents:
                parts = list(path.relative_to(root).with_suffix("").parts)
                if parts[-1] == "__init__":
                    parts.pop()
                if parts and all(p.isidentifier() for p in parts):
                    names[path] = ".".join(parts)
                break
    return names


def plan(root: str | os.PathLike[str]) -> Report:
    """Everything the migration would change in ``root`` and what needs a human.

    Nothing is written: call :meth:`Report.apply` for that.
    """
    root = Path(root)
    base = root if root.is_dir() else root.parent
    texts = {p: t for p in walk(root) if (t := _read(p)) is not None}
    layout = find_layout(root, texts) if root.is_dir() else None
    asgi_module = layout.asgi_module if layout else None
    new: dict[Path, str] = {}
    line_notes: dict[Path, list[LineNote]] = {}

    for path, text in texts.items():
        if path.suffix == ".py":
            new[path], line_notes[path] = rewrite_python(text, asgi_module=asgi_module)
        elif is_template(path.relative_to(base)):
            new[path] = rewrite_template(text)
        else:
            new[path] = text
    if layout is not None:
        _add_entry_point(layout, new)

    trees: dict[Path, ast.Module] = {}
    for path, text in new.items():
        if path.suffix == ".py":
            try:
                trees[path] = ast.parse(text)
            except SyntaxError:
                pass  # already noted
    session_key_in_query = any(
        generic_setting(t, "SESSION_KEY_IN_QUERY") is True for t in trees.values()
    )
    accept_undecided = any(
        generic_setting(t, "ACCEPT_UNDECIDED") is True for t in trees.values()
    )
    for path, tree in trees.items():
        notes = line_notes.setdefault(path, [])
        notes += import_notes(tree)
        notes += settings_notes(tree, new[path])
        notes += python_notes(tree, session_key_in_query=session_key_in_query)
        if is_settings(tree):
            notes += _app_notes(tree, trees)
    for path, text in new.items():
        if _is_script(path):
            line_notes.setdefault(path, []).extend(script_notes(text))
        elif is_template(path.relative_to(base)) or path.suffix in _JS_SUFFIXES:
            line_notes.setdefault(path, []).extend(
                session_key_notes(text, session_key_in_query=session_key_in_query)
            )
    if not accept_undecided:
        roots = [base] + ([layout.source_root] if layout else [])
        names = _module_names(list(trees), roots)
        by_name = {names[p]: trees[p] for p in trees if p in names}
        packages = {names[p] for p in trees if p in names and p.name == "__init__.py"}
        paths = {name: path for path, name in names.items()}
        for name, notes in connect_notes(by_name, packages).items():
            line_notes.setdefault(paths[name], []).extend(notes)

    report = Report(base)
    for path in sorted(new):
        shown = path.relative_to(base).as_posix()
        if new[path] != texts.get(path):
            report.changes.append(Change(shown, texts.get(path), new[path]))
        lines = new[path].splitlines()
        for note in line_notes.get(path, []):
            if 0 < note.line <= len(lines) and SILENCE in lines[note.line - 1]:
                continue
            report.notes.append(Note(shown, note.line, note.text))
    report.notes = sorted(set(report.notes))
    return report


def _add_entry_point(layout: Layout, new: dict[Path, str]) -> None:
    """Create asgi.py when a settings module now points ASGI_APPLICATION at it."""
    wanted = f"{layout.asgi_module}.application"
    for path, text in list(new.items()):
        if path.suffix != ".py" or "ASGI_APPLICATION" not in text:
            continue
        try:
            tree = ast.parse(text)
        except SyntaxError:
            continue
        statement = assigned(tree, "ASGI_APPLICATION")
        if statement is not None and const_str(statement.value) == wanted:
            if layout.asgi_path not in new and layout.asgi_path.parent.is_dir():
                new[layout.asgi_path] = asgi_source(
                    layout.settings_module, layout.asgi_module
                )
            return


def _app_notes(tree: ast.Module, trees: dict[Path, ast.Module]) -> list[LineNote]:
    """INSTALLED_APPS this migration could not fix (built by code, or not found)."""
    if any(lists_app(t, "generic_consumers") for t in trees.values()):
        return []
    statement = assigned(tree, "CHANNEL_LAYERS")
    assert statement is not None
    return [
        LineNote(
            statement.lineno,
            "no INSTALLED_APPS list literal of the project names 'generic_consumers' "
            "(it is built by code, or lives elsewhere): put 'daphne' first and add "
            "'channels' and 'generic_consumers' by hand",
        )
    ]
