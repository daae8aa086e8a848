"""Editing Python source text at ``ast`` positions, so formatting and comments survive.

Every rewrite of the migration records ``(start, end, replacement)`` edits against the
original text; they are applied at once, last first, so positions never shift under
each other.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

__all__ = ["Edits", "LineNote", "assigned", "const_str", "dict_items", "literal_key"]

_NEWLINE = re.compile(r"\r\n|\r|\n")  # what Python's tokenizer counts as a line end


@dataclass(frozen=True)
class LineNote:
    """Something a human must decide, at ``line`` of one file (1-based; 0: the file)."""

    line: int
    text: str


def const_str(node: ast.AST | None) -> str | None:
    """The value of a string literal, else ``None``."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def literal_key(key: ast.expr | None) -> str | None:
    return const_str(key)


def dict_items(node: ast.Dict) -> list[tuple[str | None, ast.expr | None, ast.expr]]:
    """``(key string or None, key node, value)`` per entry (``**x``: key None)."""
    return [
        (literal_key(key), key, value)
        for key, value in zip(node.keys, node.values, strict=True)
    ]


def assigned(tree: ast.Module, name: str) -> ast.Assign | ast.AnnAssign | None:
    """The last module-level ``name = ...`` (or ``name: T = ...``) statement."""
    found: ast.Assign | ast.AnnAssign | None = None
    for statement in tree.body:
        if isinstance(statement, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == name for t in statement.targets
        ):
            found = statement
        elif (
            isinstance(statement, ast.AnnAssign)
            and isinstance(statement.target, ast.Name)
            and statement.target.id == name
            and statement.value is not None
        ):
            found = statement
    return found


class Edits:
    """Pending replacements in one source text, addressed by ``ast`` positions."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.starts = [0] + [m.end() for m in _NEWLINE.finditer(text)]
        if self.starts[-1] != len(text):
            self.starts.append(len(text))
        self.edits: list[tuple[int, int, str]] = []

    def __bool__(self) -> bool:
        return bool(self.edits)

    def line_start(self, line: int) -> int:
        return self.starts[min(line, len(self.starts)) - 1]

    def line_end(self, line: int) -> int:
        """The offset just past the line's newline (or the end of the text)."""
        return self.starts[line] if line < len(self.starts) else len(self.text)

    def offset(self, line: int, col: int) -> int:
        # ast columns are UTF-8 byte offsets.
        start = self.line_start(line)
        line_text = self.text[start : self.line_end(line)]
        return start + len(line_text.encode()[:col].decode(errors="ignore"))

    def start_of(self, node: ast.AST) -> int:
        return self.offset(node.lineno, node.col_offset)  # type: ignore[attr-defined]

    def end_of(self, node: ast.AST) -> int:
        return self.offset(
            node.end_lineno or node.lineno,  # type: ignore[attr-defined]
            node.end_col_offset or 0,  # type: ignore[attr-defined]
        )

    def segment(self, node: ast.AST) -> str:
        return self.text[self.start_of(node) : self.end_of(node)]

    def add(self, start: int, end: int, replacement: str) -> None:
        self.edits.append((start, end, replacement))

    def replace(self, node: ast.AST, replacement: str) -> None:
        self.add(self.start_of(node), self.end_of(node), replacement)

    def replace_string(self, node: ast.Constant, value: str) -> None:
        """Replace a one-line string literal, keeping its quote style."""
        text = self.segment(node)
        quote = text[-1] if text and text[-1] in "'\"" else '"'
        self.replace(node, f"{quote}{value}{quote}")

    def quote_of(self, node: ast.AST | None) -> str:
        text = self.segment(node) if node is not None else ""
        return text[-1] if text and text[-1] in "'\"" else '"'

    def indent_of(self, node: ast.AST) -> str | None:
        """The node's indentation when it starts its line, else ``None``."""
        start = self.start_of(node)
        before = self.text[self.line_start(node.lineno) : start]  # type: ignore[attr-defined]
        return before if not before.strip() else None

    # -- list and dict literals -------------------------------------------------

    def _own_line_after(self, node: ast.AST) -> bool:
        """True when only a comma and/or a comment follow ``node`` on its last line."""
        end = self.end_of(node)
        rest = self.text[end : self.line_end(node.end_lineno or node.lineno)]  # type: ignore[attr-defined]
        return re.fullmatch(r"[ \t]*,?[ \t]*(#.*)?\s*", rest) is not None

    def insert_before(self, first: ast.AST, item: str) -> None:
        """Insert ``item`` as the element before ``first`` (in a list or dict)."""
        indent = self.indent_of(first)
        if indent is not None:
            start = self.line_start(first.lineno)  # type: ignore[attr-defined]
            self.add(start, start, f"{indent}{item},\n")
        else:
            start = self.start_of(first)
            self.add(start, start, f"{item}, ")

    def insert_after(self, last: ast.AST, *items: str) -> None:
        """Insert ``items`` as the elements after ``last`` (in a list or dict)."""
        end = self.end_of(last)
        comma = re.compile(r"[ \t]*,").match(self.text, end)
        indent = self.indent_of(last)
        if indent is not None and self._own_line_after(last):
            if comma is None:
                self.add(end, end, ",")
            line_end = self.line_end(last.end_lineno or last.lineno)  # type: ignore[attr-defined]
            newline = "" if self.text[:line_end].endswith("\n") else "\n"
            lines = "".join(f"{indent}{item},\n" for item in items)
            self.add(line_end, line_end, newline + lines)
        else:
            self.add(end, end, "".join(f", {item}" for item in items))

    def insert_statement_after(self, statement: ast.stmt, text: str) -> None:
        """Insert whole lines of ``text`` after a module-level statement."""
        line_end = self.line_end(statement.end_lineno or statement.lineno)
        ends_line = self.text[:line_end].endswith("\n") or any(
            start == end == line_end and new.startswith("\n")
            for start, end, new in self.edits
        )
        self.add(line_end, line_end, ("" if ends_line else "\n") + text)

    def insert_into_empty(self, container: ast.AST, item: str) -> None:
        """Fill ``[]`` / ``{}`` / ``()`` with one element."""
        text = self.segment(container)
        start = self.start_of(container)
        self.add(start + 1, start + len(text) - 1, item)

    def remove_element(self, first: ast.AST, last: ast.AST | None = None) -> None:
        """Remove one list element or dict entry (``first`` key to ``last`` value)."""
        last = last or first
        text = self.text
        start = self.start_of(first)
        end = self.end_of(last)
        after = re.compile(r"[ \t]*,[ \t]*(?=\S)|[ \t]*,").match(text, end)
        if after:
            end = after.end()
        else:  # the last element: take the comma before it instead
            before = re.search(r",\s*$", text[:start])
            if before:
                start = before.start()
        line_start = text.rfind("\n", 0, start) + 1
        line_end = text.find("\n", end)
        line_end = len(text) if line_end == -1 else line_end + 1
        rest = text[end:line_end]
        if not text[line_start:start].strip() and (
            not rest.strip() or rest.strip().startswith("#")
        ):
            start, end = line_start, line_end  # the element had its own line(s)
        self.add(start, end, "")

    # -- results ----------------------------------------------------------------

    def apply(self) -> str:
        text = self.text
        # Several inserts at one offset keep the order in which they were recorded.
        ordered = sorted(
            enumerate(self.edits), key=lambda e: (e[1][0], e[1][1], e[0]), reverse=True
        )
        for _, (start, end, replacement) in ordered:
            text = text[:start] + replacement + text[end:]
        return text

    def new_line(self, line: int, applied: str | None = None) -> int:
        """Where ``line`` of the original text ends up once the edits are applied."""
        if line <= 0:
            return line
        offset = self.line_start(line)
        shift = 0
        for start, end, replacement in self.edits:
            if end <= offset:  # inserts at the line's start push it down too
                shift += len(replacement) - (end - start)
            elif start < offset:  # the line starts inside a replaced span
                shift += start - offset
        text = self.apply() if applied is None else applied
        return len(_NEWLINE.findall(text[: offset + shift])) + 1
