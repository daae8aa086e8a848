"""Rewriting a Channels 1.x project for generic_consumers (``migrate_from_channels1``).

Works on source text with positions from ``ast``, so formatting and comments survive.
Only imports whose names all exist in 1.x are rewritten (Channels 2+ code importing
``channels.routing.URLRouter`` and the like is left alone); what cannot be rewritten
safely becomes a note for a human.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

ANY = None
_1X_NAMES: dict[str, tuple[str, frozenset[str] | None]] = {
    "channels": (
        "generic_consumers",
        frozenset(
            {
                "Channel",
                "Group",
                "route",
                "route_class",
                "include",
                "channel_layers",
                "DEFAULT_CHANNEL_LAYER",
            }
        ),
    ),
    "channels.routing": (
        "generic_consumers.routing",
        frozenset(
            {
                "route",
                "route_class",
                "include",
                "Router",
                "Route",
                "RouteClass",
                "Include",
            }
        ),
    ),
    "channels.channel": ("generic_consumers.channel", frozenset({"Channel", "Group"})),
    "channels.message": ("generic_consumers.message", frozenset({"Message"})),
    "channels.exceptions": (
        "generic_consumers.exceptions",
        frozenset(
            {
                "ConsumeLater",
                "DenyConnection",
                "ChannelSocketException",
                "WebsocketCloseException",
                "SendNotAvailableOnDemultiplexer",
                "ChannelFull",
            }
        ),
    ),
    "channels.asgi": ("generic_consumers.layers", frozenset({"channel_layers"})),
    "channels.generic": ("generic_consumers.generic", frozenset({"BaseConsumer"})),
    "channels.generic.base": ("generic_consumers.generic.base", ANY),
    "channels.generic.websockets": ("generic_consumers.generic.websockets", ANY),
    "channels.sessions": (
        "generic_consumers.sessions",
        frozenset(
            {
                "channel_session",
                "http_session",
                "channel_and_http_session",
                "enforce_ordering",
                "session_for_reply_channel",
            }
        ),
    ),
    "channels.auth": (
        "generic_consumers.auth",
        frozenset(
            {
                "channel_session_user",
                "http_session_user",
                "channel_session_user_from_http",
                "channel_and_http_session_user_from_http",
                "transfer_user",
            }
        ),
    ),
    "channels.test": ("generic_consumers.test", ANY),
    "channels.tests": ("generic_consumers.test", ANY),
    "channels.binding": ("generic_consumers.binding", ANY),
    "channels.binding.base": ("generic_consumers.binding.base", ANY),
    "channels.binding.websockets": ("generic_consumers.binding.websockets", ANY),
    "channels.security.websockets": ("generic_consumers.security.websockets", ANY),
}

_HUMAN_MODULES = {
    "channels.delay": "the delay server (channels.delay, rundelay) has no "
    "equivalent; schedule delayed sends with a task queue (e.g. Celery)",
    "channels.handler": "HTTP consumers (AsgiHandler/AsgiRequest): HTTP is served by "
    "Django's ASGI handler in get_application(); move them to views",
    "channels.staticfiles": "StaticFilesConsumer: serve static files with Django or "
    "your web server",
    "channels.worker": "the 1.x worker is gone: named channels run in-process or "
    "under Channels' runworker",
    "channels.signals": "consumer_started/consumer_finished/worker_ready are not sent",
    "asgi_redis": "asgi_redis layer: use channels_redis.core.RedisChannelLayer "
    "(CONFIG['hosts'] carries over)",
    "asgi_ipc": "asgi_ipc layer: no Channels 4 equivalent; use channels_redis",
    "asgi_rabbitmq": "asgi_rabbitmq layer: no Channels 4 equivalent; use "
    "channels_redis",
}
_GET_CHANNEL_LAYER = (
    "channels.asgi.get_channel_layer: asgi.py must now expose "
    "'application = get_application()' (from generic_consumers.asgi) and settings "
    "ASGI_APPLICATION must point at it"
)
_HUMAN_STRINGS = [
    (
        re.compile(r"^http\.(request|disconnect)$"),
        "HTTP consumer route: HTTP goes to Django views through get_application()",
    ),
    (
        re.compile(r"^asgi_(redis|ipc|rabbitmq)\."),
        "1.x layer backend: use channels_redis.core.RedisChannelLayer (or "
        "channels.layers.InMemoryChannelLayer)",
    ),
]
_STRING_REWRITES = {
    "asgiref.inmemory.ChannelLayer": "channels.layers.InMemoryChannelLayer"
}


@dataclass
class Note:
    line: int
    text: str


@dataclass
class Result:
    source: str
    notes: list[Note]

    def changed(self, original: str) -> bool:
        return self.source != original


class _Edits:
    def __init__(self, text: str) -> None:
        self.text = text
        self.starts = [0]
        for line in text.splitlines(keepends=True):
            self.starts.append(self.starts[-1] + len(line))
        self.edits: list[tuple[int, int, str]] = []

    def offset(self, line: int, col: int) -> int:
        # ast columns are UTF-8 byte offsets.
        start = self.starts[line - 1]
        line_text = self.text[start : self.starts[line]]
        return start + len(line_text.encode()[:col].decode())

    def add(self, start: int, end: int, replacement: str) -> None:
        self.edits.append((start, end, replacement))

    def apply(self) -> str:
        text = self.text
        for start, end, replacement in sorted(self.edits, reverse=True):
            text = text[:start] + replacement + text[end:]
        return text


def rewrite_source(text: str) -> Result:
    """The rewritten source of one module and the notes for a human."""
    try:
        tree = ast.parse(text)
    except SyntaxError as exc:
        return Result(text, [Note(exc.lineno or 0, f"cannot parse: {exc.msg}")])
    edits = _Edits(text)
    notes: list[Note] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            _rewrite_import_from(node, edits, notes)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                top = alias.name.split(".")[0]
                if alias.name in _HUMAN_MODULES or top in _HUMAN_MODULES:
                    notes.append(Note(node.lineno, _HUMAN_MODULES[top]))
                elif top == "channels" and _is_1x_module(alias.name):
                    notes.append(
                        Note(
                            node.lineno,
                            f"'import {alias.name}': rename the module and its uses "
                            "to generic_consumers by hand",
                        )
                    )
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            _check_string(node, edits, notes)
    _rewrite_settings(tree, text, edits, notes)
    notes.sort(key=lambda note: note.line)
    return Result(edits.apply(), notes)


def _is_1x_module(name: str) -> bool:
    return name in _1X_NAMES or name in _HUMAN_MODULES


def _rewrite_import_from(node: ast.ImportFrom, edits: _Edits, notes: list[Note]):
    module = node.module or ""
    names = {alias.name for alias in node.names}
    for prefix, reason in _HUMAN_MODULES.items():
        if module == prefix or module.startswith(prefix + "."):
            notes.append(Note(node.lineno, reason))
            return
    if module == "channels.asgi" and "get_channel_layer" in names:
        notes.append(Note(node.lineno, _GET_CHANNEL_LAYER))
        return
    if module not in _1X_NAMES:
        return
    target, allowed = _1X_NAMES[module]
    if allowed is not None and not names <= allowed:
        unknown = sorted(names - allowed)
        if names & allowed:
            notes.append(
                Note(
                    node.lineno,
                    f"'from {module} import' mixes 1.x names with "
                    f"{', '.join(unknown)}; split the import by hand",
                )
            )
        return  # not 1.x code (e.g. Channels 2+ names): leave it alone
    start = edits.offset(node.lineno, node.col_offset)
    line_end = edits.starts[node.lineno]
    found = re.compile(r"from\s+" + re.escape(module) + r"\b").match(
        edits.text, start, line_end
    )
    if found is None:  # pragma: no cover - "from" and the module on one line
        notes.append(Note(node.lineno, f"could not rewrite 'from {module}'"))
        return
    edits.add(found.start(), found.end(), f"from {target}")


def _check_string(node: ast.Constant, edits: _Edits, notes: list[Note]) -> None:
    value = str(node.value)
    if value in _STRING_REWRITES and node.lineno == node.end_lineno:
        start = edits.offset(node.lineno, node.col_offset)
        end = edits.offset(node.lineno, node.end_col_offset or 0)
        quote = edits.text[start]
        edits.add(start, end, f"{quote}{_STRING_REWRITES[value]}{quote}")
        return
    for pattern, reason in _HUMAN_STRINGS:
        if pattern.search(value):
            notes.append(Note(node.lineno, f"{value!r}: {reason}"))


def _assigned(tree: ast.Module, name: str) -> ast.Assign | None:
    for statement in tree.body:
        if isinstance(statement, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == name for t in statement.targets
        ):
            return statement
    return None


def _rewrite_settings(
    tree: ast.Module, text: str, edits: _Edits, notes: list[Note]
) -> None:
    layers = _assigned(tree, "CHANNEL_LAYERS")
    if layers is None:
        return
    if not isinstance(layers.value, ast.Dict):
        notes.append(
            Note(
                layers.lineno,
                "CHANNEL_LAYERS is not a dict literal: move each alias' ROUTING to "
                "GENERIC_CONSUMERS = {'ROUTING': ...} by hand",
            )
        )
        return
    routing_source = None
    for key, value in zip(layers.value.keys, layers.value.values, strict=True):
        alias = key.value if isinstance(key, ast.Constant) else None
        if not isinstance(value, ast.Dict):
            continue
        for inner_key, inner_value in zip(value.keys, value.values, strict=True):
            if not (
                isinstance(inner_key, ast.Constant) and inner_key.value == "ROUTING"
            ):
                continue
            source = ast.get_source_segment(text, inner_value)
            if alias == "default" or len(layers.value.keys) == 1:
                routing_source = source
                _remove_entry(edits, inner_key, inner_value)
            else:
                notes.append(
                    Note(
                        inner_key.lineno,
                        f"layer {alias!r} has its own ROUTING; generic_consumers "
                        "serves one routing (GENERIC_CONSUMERS['ROUTING'], on "
                        "GENERIC_CONSUMERS['CHANNEL_LAYER'])",
                    )
                )
    if routing_source is not None:
        if _assigned(tree, "GENERIC_CONSUMERS") is not None:
            notes.append(
                Note(
                    layers.lineno,
                    "GENERIC_CONSUMERS already exists: set its 'ROUTING' to "
                    f"{routing_source} by hand",
                )
            )
        else:
            end = edits.starts[layers.end_lineno or layers.lineno]
            edits.add(
                end, end, f'GENERIC_CONSUMERS = {{"ROUTING": {routing_source}}}\n'
            )
    _add_installed_app(tree, edits)
    if _assigned(tree, "ASGI_APPLICATION") is None:
        notes.append(
            Note(
                layers.lineno,
                "add 'daphne' first in INSTALLED_APPS and set ASGI_APPLICATION to a "
                "module with 'application = get_application()' "
                "(from generic_consumers.asgi)",
            )
        )


def _remove_entry(edits: _Edits, key: ast.expr, value: ast.expr) -> None:
    text = edits.text
    start = edits.offset(key.lineno, key.col_offset)
    end = edits.offset(value.end_lineno or value.lineno, value.end_col_offset or 0)
    after = re.compile(r"[ \t]*,[ \t]*(?=\S)|[ \t]*,").match(text, end)
    if after:
        end = after.end()
    else:  # the last entry: take the comma before it instead
        before = re.search(r",\s*$", text[:start])
        if before:
            start = before.start()
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    line_end = len(text) if line_end == -1 else line_end + 1
    if not text[line_start:start].strip() and not text[end:line_end].strip():
        start, end = line_start, line_end  # the entry had its own line(s)
    edits.add(start, end, "")


def _add_installed_app(tree: ast.Module, edits: _Edits) -> None:
    apps = _assigned(tree, "INSTALLED_APPS")
    if apps is None or not isinstance(apps.value, ast.List | ast.Tuple):
        return
    values = [e.value for e in apps.value.elts if isinstance(e, ast.Constant)]
    if "generic_consumers" in values:
        return
    for element in apps.value.elts:
        if isinstance(element, ast.Constant) and element.value == "channels":
            start = edits.offset(element.lineno, element.col_offset)
            end = edits.offset(element.lineno, element.end_col_offset or 0)
            quote = edits.text[start]
            line_start = edits.starts[element.lineno - 1]
            indent = edits.text[line_start:start]
            comma = re.compile(r"[ \t]*,").match(edits.text, end)
            if not indent.strip() and comma:
                line_end = edits.starts[element.lineno]
                edits.add(
                    line_end, line_end, f"{indent}{quote}generic_consumers{quote},\n"
                )
            else:
                edits.add(end, end, f", {quote}generic_consumers{quote}")
            return
