"""What a human must decide: 1.x idioms that have no mechanical rewrite.

Notes are computed on the migrated text, so they keep appearing until the code is
changed (that is what ``--check`` waits for). A line containing ``migrate: ok``
(``# migrate: ok`` in Python) silences the notes on that line.
"""

from __future__ import annotations

import ast
import re

from .backends import backend_note
from .source import LineNote, const_str

__all__ = ["SILENCE", "python_notes", "script_notes", "session_key_notes"]

SILENCE = "migrate: ok"

_GROUP_NAMES = (
    "group_names(self, instance, action) is the 0.17 form: it runs with 0.17's "
    "behaviour (each save goes to the groups returned for its action); the current "
    "1.x form, '@classmethod def group_names(cls, instance)', returns the groups that "
    "should see the instance as it is now and sends create/update/delete as that set "
    "changes. Port it, or keep it with '# migrate: ok'"
)
_SLIGHT = (
    "slight ordering was removed in Channels 1.0 and is refused: drop it; a socket's "
    "messages always run one at a time, in order"
)
_CHECK_DEFAULT = (
    "Router.check_default() is gone: there are no default routes and unrouted "
    "sockets are refused (403); route websocket.connect/receive/disconnect yourself "
    "where you relied on them"
)
_SESSION_KEY = (
    "?session_key= in a URL: generic_consumers ignores it unless "
    'GENERIC_CONSUMERS["SESSION_KEY_IN_QUERY"] = True, because a session key in a URL '
    "ends up in access logs and browser history. Same-origin sockets send the session "
    "cookie: drop the parameter, or turn the setting on"
)
_DELAY_APP = (
    "'channels.delay' is now 'generic_consumers.delay' (in INSTALLED_APPS, then run "
    "'manage.py migrate'); requests to the 'asgi.delay' channel keep their 1.x form "
    "and generic_consumers' workers deliver them (no rundelay)"
)
_HTTP_ROUTE = (
    "HTTP consumer route: HTTP is served by Django's own ASGI handler inside "
    "get_application(); move the consumer to a view"
)


def python_notes(tree: ast.Module, *, session_key_in_query: bool) -> list[LineNote]:
    """1.x idioms in one (already rewritten) module."""
    notes: list[LineNote] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            notes += _class_notes(node)
        elif isinstance(node, ast.Attribute) and node.attr == "check_default":
            notes.append(LineNote(node.lineno, _CHECK_DEFAULT))
        elif isinstance(node, ast.Call):
            notes += _call_notes(node)
        elif isinstance(node, ast.Dict) and _routes_http(node):
            notes.append(LineNote(node.lineno, _HTTP_ROUTE))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            value = node.value
            if value == "channels.delay":
                notes.append(LineNote(node.lineno, _DELAY_APP))
            elif "session_key=" in value and not session_key_in_query:
                notes.append(LineNote(node.lineno, _SESSION_KEY))
            elif (note := backend_note(value)) is not None:
                notes.append(LineNote(node.lineno, note))
    return notes


def _routes_http(node: ast.Dict) -> bool:
    """A 1.x dict routing with an HTTP channel (not a channel_capacity, say)."""
    return any(
        const_str(key) in ("http.request", "http.disconnect")
        and not (isinstance(value, ast.Constant) and isinstance(value.value, int))
        for key, value in zip(node.keys, node.values, strict=True)
    )


def _class_notes(node: ast.ClassDef) -> list[LineNote]:
    notes: list[LineNote] = []
    for item in node.body:
        if isinstance(item, ast.FunctionDef) and item.name == "group_names":
            params = [a.arg for a in item.args.posonlyargs + item.args.args]
            decorators = {getattr(d, "id", None) for d in item.decorator_list}
            if len(params) >= 3 and "classmethod" not in decorators:
                notes.append(LineNote(item.lineno, _GROUP_NAMES))
        elif isinstance(item, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "slight_ordering" for t in item.targets
        ):
            if isinstance(item.value, ast.Constant) and item.value.value:
                notes.append(LineNote(item.lineno, _SLIGHT))
    return notes


def _call_notes(node: ast.Call) -> list[LineNote]:
    for keyword in node.keywords:
        if (
            keyword.arg == "slight"
            and isinstance(keyword.value, ast.Constant)
            and keyword.value.value
        ):
            return [LineNote(node.lineno, _SLIGHT)]
    func = node.func
    name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
    if name in ("route", "Route") and node.args:
        channel = node.args[0]
        names = (
            [const_str(e) for e in channel.elts]
            if isinstance(channel, ast.List | ast.Tuple)
            else [const_str(channel)]
        )
        if {"http.request", "http.disconnect"} & set(names):
            return [LineNote(node.lineno, _HTTP_ROUTE)]
    return []


# -- process definitions (Procfile, shell scripts, compose files, supervisor, ...) ----

_RUNWORKER = re.compile(r"\brunworker\b(?=\s*(?:$|-|[;&|#)\"']))")
_RUNDELAY = re.compile(r"\brundelay\b")
_DAPHNE_LAYER = re.compile(r"\b([\w.]+):channel_layer\b")
_NOWORKER = re.compile(r"\brunserver\b.*--noworker\b")
_SCRIPT_NOTES = [
    (
        _RUNWORKER,
        "runworker (1.x: every channel): use 'python manage.py runworkers' (every "
        "routed named channel; --layer, --only-channels and --exclude-channels carry "
        "over, --threads does not). Server processes also consume named channels "
        "themselves unless GENERIC_CONSUMERS['IN_PROCESS_WORKERS'] is False",
    ),
    (
        _RUNDELAY,
        "rundelay is gone: the delay channel (asgi.delay) runs inside "
        "generic_consumers' workers (in-process or runworkers); remove this process",
    ),
    (
        _DAPHNE_LAYER,
        "{0}:channel_layer was the 1.x entry point: serve {0}:application (asgi.py "
        "now has 'application = get_application()')",
    ),
    (
        _NOWORKER,
        "Daphne's runserver has no --noworker: named channels run in the server "
        "process unless GENERIC_CONSUMERS['IN_PROCESS_WORKERS'] is False",
    ),
]


def _lines(text: str) -> list[tuple[int, str]]:
    return [
        (number, line)
        for number, line in enumerate(text.splitlines(), start=1)
        if SILENCE not in line
    ]


def script_notes(text: str) -> list[LineNote]:
    """Worker and server invocations of 1.x in a process definition file."""
    notes: list[LineNote] = []
    for number, line in _lines(text):
        for pattern, message in _SCRIPT_NOTES:
            found = pattern.search(line)
            if found:
                notes.append(LineNote(number, message.format(*found.groups())))
    return notes


def session_key_notes(text: str, *, session_key_in_query: bool) -> list[LineNote]:
    """``session_key=`` in a template or a script (the 1.x cross-origin login)."""
    if session_key_in_query:
        return []
    return [
        LineNote(number, _SESSION_KEY)
        for number, line in _lines(text)
        if "session_key=" in line
    ]
