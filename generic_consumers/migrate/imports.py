"""Import rewriting: ``from channels... import`` 1.x names become ``generic_consumers``.

Only imports whose names all exist in Channels 1.x are rewritten, so Channels 2+ code
(``from channels.routing import URLRouter``) is left alone. A few names exist at the
same path in 1.x and in Channels 4 (``channels.exceptions.DenyConnection``,
``channels.utils.name_that_thing``); in a file that also imports Channels 2+ names,
those stay as they are.
"""

from __future__ import annotations

import ast
import re

from .source import Edits, LineNote

__all__ = ["import_notes", "rewrite_imports"]

ANY = None  # every name of the module moved

_ROUTING = {
    "route",
    "route_class",
    "include",
    "Router",
    "Route",
    "RouteClass",
    "Include",
}
_MODULES: dict[str, list[tuple[str, frozenset[str] | None]]] = {
    "channels": [
        (
            "generic_consumers",
            frozenset(
                {"Channel", "Group", "route", "route_class", "include"}
                | {"channel_layers", "DEFAULT_CHANNEL_LAYER"}
            ),
        )
    ],
    "channels.routing": [("generic_consumers.routing", frozenset(_ROUTING))],
    "channels.channel": [
        ("generic_consumers.channel", frozenset({"Channel", "Group"}))
    ],
    "channels.message": [("generic_consumers.message", frozenset({"Message"}))],
    "channels.exceptions": [
        (
            "generic_consumers.exceptions",
            frozenset(
                {"ConsumeLater", "DenyConnection", "ChannelSocketException"}
                | {"WebsocketCloseException", "SendNotAvailableOnDemultiplexer"}
                | {"ChannelFull"}
            ),
        )
    ],
    "channels.asgi": [
        ("generic_consumers", frozenset({"channel_layers"})),
        (
            "generic_consumers.layers",
            frozenset({"channel_layers", "ChannelLayerWrapper", "ChannelLayerManager"}),
        ),
    ],
    "channels.generic": [("generic_consumers.generic", frozenset({"BaseConsumer"}))],
    "channels.generic.base": [("generic_consumers.generic.base", ANY)],
    "channels.generic.websockets": [("generic_consumers.generic.websockets", ANY)],
    "channels.sessions": [
        (
            "generic_consumers.sessions",
            frozenset(
                {"channel_session", "http_session", "channel_and_http_session"}
                | {"enforce_ordering", "session_for_reply_channel"}
            ),
        )
    ],
    "channels.auth": [
        (
            "generic_consumers.auth",
            frozenset(
                {"channel_session_user", "http_session_user", "transfer_user"}
                | {"channel_session_user_from_http"}
                | {"channel_and_http_session_user_from_http"}
            ),
        )
    ],
    "channels.test": [("generic_consumers.test", ANY)],
    "channels.tests": [("generic_consumers.test", ANY)],
    "channels.binding": [("generic_consumers.binding", ANY)],
    "channels.binding.base": [("generic_consumers.binding.base", ANY)],
    "channels.binding.websockets": [("generic_consumers.binding.websockets", ANY)],
    "channels.security.websockets": [("generic_consumers.security.websockets", ANY)],
    "channels.handler": [("generic_consumers.handler", frozenset({"AsgiRequest"}))],
    "channels.utils": [("generic_consumers.utils", frozenset({"name_that_thing"}))],
    "channels.delay.models": [
        ("generic_consumers.delay.models", frozenset({"DelayedMessage"}))
    ],
}
# Names found at the same path in Channels 4: left alone in Channels 2+ files.
_AMBIGUOUS = {
    "channels": {"DEFAULT_CHANNEL_LAYER"},
    "channels.exceptions": {"DenyConnection", "ChannelFull"},
    "channels.utils": {"name_that_thing"},
}
_CHANNELS4_MODULES = {
    "channels.layers",
    "channels.consumer",
    "channels.db",
    "channels.middleware",
    "channels.testing",
    "channels.generic.websocket",
    "channels.generic.http",
    "channels.security.websocket",
}
_NO_EQUIVALENT = {
    # Names 1.x had that are gone here (_GONE says what to write instead).
    "channels.routing": {"null_consumer", "connect_consumer"},
    "channels.asgi": {"get_channel_layer"},
}
_HTTP = (
    "HTTP consumers are gone: HTTP is served by Django's own ASGI handler inside "
    "get_application(); move them to views"
)
_HUMAN_MODULES = {
    "channels.delay": "channels.delay is now generic_consumers.delay: send "
    "{'channel': ..., 'delay': ms, 'content': {...}} to the 'asgi.delay' channel and "
    "generic_consumers' workers deliver it",
    "channels.handler": _HTTP,
    "channels.staticfiles": "StaticFilesConsumer is gone: serve static files with "
    "Django (runserver) or your web server",
    "channels.worker": "the 1.x worker is gone: named channels run in-process or "
    "under 'manage.py runworkers'",
    "channels.signals": "consumer_started/consumer_finished/worker_ready are not "
    "sent; Django's close_old_connections still runs around every sync consumer",
    "channels.management": "the 1.x management commands are gone: use "
    "'manage.py runworkers' (and Daphne's runserver)",
    "asgi_redis": "asgi_redis is an ASGI 1 layer: use channels_redis (a Channels 4 "
    "layer; CHANNEL_LAYERS['...']['CONFIG']['hosts'] carries over)",
    "asgi_ipc": "asgi_ipc is an ASGI 1 layer: use channels_redis (several processes) "
    "or channels.layers.InMemoryChannelLayer (one process)",
    "asgi_rabbitmq": "asgi_rabbitmq is an ASGI 1 layer: use channels_redis",
    "asgiref.inmemory": "asgiref.inmemory is gone: use "
    "channels.layers.InMemoryChannelLayer",
}
_GONE = {
    "null_consumer": "channels.routing.null_consumer is not provided: define "
    "'def null_consumer(message): pass' where you route to it",
    "connect_consumer": "channels.routing.connect_consumer is not provided: define "
    "'def connect_consumer(message): message.reply_channel.send({\"accept\": True})'",
    "get_channel_layer": "channels.asgi.get_channel_layer is gone: asgi.py exposes "
    "'application = get_application()' (from generic_consumers.asgi); for the 1.x "
    "layer API use generic_consumers.channel_layers[alias], for the Channels 4 layer "
    "channels.layers.get_channel_layer()",
}
_TESTS_MOVED = (
    "channels.tests (deprecated since Channels 1.1) became generic_consumers.test; "
    "write new tests against generic_consumers.test"
)


def _target(module: str, names: set[str]) -> str | None:
    for target, allowed in _MODULES.get(module, []):
        if allowed is None or names <= allowed:
            return target
    return None


def _known(module: str) -> set[str] | None:
    known: set[str] = set()
    for _, allowed in _MODULES.get(module, []):
        if allowed is None:
            return None
        known |= allowed
    return known


def _is_channels4(tree: ast.Module) -> bool:
    """Whether the file imports names that only Channels 2+ has."""
    for node in ast.walk(tree):
        if not (isinstance(node, ast.ImportFrom) and node.level == 0 and node.module):
            continue
        if node.module in _CHANNELS4_MODULES:
            return True
        known = _known(node.module)
        if node.module in _MODULES and known is not None:
            names = {alias.name for alias in node.names}
            extra = names - known - _NO_EQUIVALENT.get(node.module, set())
            if extra:
                return True
    return False


def _human_module(module: str) -> str | None:
    for prefix, reason in _HUMAN_MODULES.items():
        if module == prefix or module.startswith(prefix + "."):
            return reason
    return None


def rewrite_imports(tree: ast.Module, edits: Edits) -> list[LineNote]:
    """Rewrite the 1.x imports of one module; notes only for what was rewritten."""
    notes: list[LineNote] = []
    channels4 = _is_channels4(tree)
    for node in ast.walk(tree):
        if not (isinstance(node, ast.ImportFrom) and node.level == 0 and node.module):
            continue
        module = node.module
        names = {alias.name for alias in node.names}
        target = _target(module, names)
        if target is None:
            continue
        if channels4 and names <= _AMBIGUOUS.get(module, set()):
            continue
        start = edits.start_of(node)
        found = re.compile(r"from\s+" + re.escape(module) + r"(?![\w.])").match(
            edits.text, start, edits.line_end(node.lineno)
        )
        if found is None:  # "from" and the module on different lines: leave it
            continue
        edits.add(found.start(), found.end(), f"from {target}")
        if module == "channels.tests":
            notes.append(LineNote(node.lineno, _TESTS_MOVED))
    return notes


def import_notes(tree: ast.Module) -> list[LineNote]:
    """What is left of 1.x in the imports of one (already rewritten) module."""
    notes: list[LineNote] = []
    channels4 = _is_channels4(tree)
    channels_aliases: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            notes += _from_notes(node, channels4)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "channels":
                    channels_aliases.add(alias.asname or "channels")
                elif reason := _human_module(alias.name):
                    notes.append(LineNote(node.lineno, reason))
                elif alias.name in _MODULES and not channels4:
                    notes.append(
                        LineNote(
                            node.lineno,
                            f"'import {alias.name}': import the names you use from "
                            f"{_MODULES[alias.name][-1][0]} instead",
                        )
                    )
    one_x = _known("channels") or set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in channels_aliases
            and node.attr in one_x - _AMBIGUOUS["channels"]
        ):
            notes.append(
                LineNote(
                    node.lineno,
                    f"'{node.value.id}.{node.attr}': import {node.attr} from "
                    "generic_consumers instead",
                )
            )
    return notes


def _from_notes(node: ast.ImportFrom, channels4: bool) -> list[LineNote]:
    module = node.module or ""
    names = {alias.name for alias in node.names}
    if module == "channels.handler" and names <= {"AsgiRequest"}:
        return []
    if module == "channels.worker" and channels4:
        return []  # Channels 4 has a channels.worker too
    if reason := _human_module(module):
        return [LineNote(node.lineno, reason)]
    known = _known(module)
    if module not in _MODULES or known is None:
        return []
    gone = names & _NO_EQUIVALENT.get(module, set())
    moved = names & known
    unknown = names - known - gone
    if channels4 and moved <= _AMBIGUOUS.get(module, set()) and not gone:
        return []
    target = _MODULES[module][-1][0]
    rest = f"; import {', '.join(sorted(moved))} from {target}" if moved else ""
    notes = [LineNote(node.lineno, _GONE[name] + rest) for name in sorted(gone)]
    if moved and unknown:
        notes.append(
            LineNote(
                node.lineno,
                f"'from {module} import' mixes 1.x names ({', '.join(sorted(moved))}, "
                f"now in {target}) with {', '.join(sorted(unknown))}: split the "
                "import",
            )
        )
    return notes
