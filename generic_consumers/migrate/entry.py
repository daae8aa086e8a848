"""The project's ASGI entry point: where settings live, and ``asgi.py``.

The settings module comes from ``manage.py`` (``os.environ.setdefault(
"DJANGO_SETTINGS_MODULE", ...)``), the ``asgi.py`` goes next to it in the top-level
package, as ``startproject`` lays it out. A 1.x ``asgi.py`` (``channel_layer =
get_channel_layer()``) is rewritten to ``application = get_application()``.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

from .source import Edits, LineNote, assigned

__all__ = ["Layout", "asgi_source", "find_layout", "rewrite_entry"]


@dataclass(frozen=True)
class Layout:
    """Where the project's modules are importable from, and its settings."""

    source_root: Path  # the directory manage.py runs from (first on sys.path)
    settings_module: str

    @property
    def asgi_module(self) -> str:
        package, _, _ = self.settings_module.partition(".")
        return f"{package}.asgi" if "." in self.settings_module else "asgi"

    @property
    def asgi_path(self) -> Path:
        return self.source_root.joinpath(*self.asgi_module.split(".")).with_suffix(
            ".py"
        )


def settings_module_of(manage_py: str) -> str | None:
    """The DJANGO_SETTINGS_MODULE a manage.py sets by default."""
    try:
        tree = ast.parse(manage_py)
    except SyntaxError:
        return None
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "setdefault"
            and len(node.args) == 2
            and all(isinstance(a, ast.Constant) for a in node.args)
            and node.args[0].value == "DJANGO_SETTINGS_MODULE"  # type: ignore[attr-defined]
            and isinstance(node.args[1].value, str)  # type: ignore[attr-defined]
        ):
            return str(node.args[1].value)  # type: ignore[attr-defined]
    return None


def find_layout(root: Path, texts: dict[Path, str]) -> Layout | None:
    """The layout from the shallowest manage.py that names existing settings."""
    manages = sorted(
        (p for p in texts if p.name == "manage.py"), key=lambda p: len(p.parts)
    )
    for manage in manages:
        module = settings_module_of(texts[manage])
        if module is None:
            continue
        base = manage.parent.joinpath(*module.split("."))
        if base.with_suffix(".py") in texts or base / "__init__.py" in texts:
            return Layout(manage.parent, module)
    return None


def asgi_source(settings_module: str, asgi_module: str) -> str:
    return f'''"""ASGI entry point: Django for HTTP, the 1.x routing for WebSockets.

Written by ``python -m generic_consumers.migrate``. Serve it with
``daphne {asgi_module}:application`` (or ``uvicorn``); ``runserver`` does once
``"daphne"`` is first in ``INSTALLED_APPS``.
"""

import os

from generic_consumers.asgi import get_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "{settings_module}")

application = get_application()
'''


def rewrite_entry(tree: ast.Module, edits: Edits) -> list[LineNote]:
    """Rewrite a 1.x ``asgi.py`` of the usual shape; anything else is left alone."""
    imports = [
        node
        for node in tree.body
        if isinstance(node, ast.ImportFrom)
        and node.module == "channels.asgi"
        and [(a.name, a.asname) for a in node.names] == [("get_channel_layer", None)]
    ]
    calls = [
        node
        for node in tree.body
        if isinstance(node, ast.Assign)
        and len(node.targets) == 1
        and isinstance(node.targets[0], ast.Name)
        and isinstance(node.value, ast.Call)
        and isinstance(node.value.func, ast.Name)
        and node.value.func.id == "get_channel_layer"
        and not node.value.args
        and not node.value.keywords
    ]
    if len(imports) != 1 or len(calls) != 1 or assigned(tree, "application"):
        return []
    target = calls[0].targets[0]
    assert isinstance(target, ast.Name)
    uses = [
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.Name) and n.id in (target.id, "get_channel_layer")
    ]
    if len(uses) != 2:  # the assignment's target and its call, nothing else
        return []
    edits.replace(imports[0], "from generic_consumers.asgi import get_application")
    edits.replace(calls[0], "application = get_application()")
    return []  # Procfile & co. naming :channel_layer get a note (notes.py)
