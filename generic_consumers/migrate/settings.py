"""Settings rewriting: ``CHANNEL_LAYERS``, ``GENERIC_CONSUMERS``, apps, ``asgi``.

A settings module is any ``.py`` file that assigns ``CHANNEL_LAYERS`` at module level.
The 1.x ``ROUTING`` moves out of the layer (Channels 4 refuses it) into
``GENERIC_CONSUMERS``, layer backends are translated (``backends.py``),
``INSTALLED_APPS`` gets ``"daphne"`` first and ``"generic_consumers"`` after
``"channels"``, and ``ASGI_APPLICATION`` is set. Shapes too dynamic to edit safely
(a ``CHANNEL_LAYERS`` built by code) are left alone and named in a note.
"""

from __future__ import annotations

import ast
from typing import Any

from .backends import layer_notes, translate_layer
from .source import Edits, LineNote, assigned, const_str, dict_items

__all__ = [
    "generic_setting",
    "is_settings",
    "lists_app",
    "rewrite_settings",
    "settings_notes",
]


def is_settings(tree: ast.Module) -> bool:
    return assigned(tree, "CHANNEL_LAYERS") is not None


def generic_setting(tree: ast.Module, key: str) -> Any:
    """``GENERIC_CONSUMERS[key]`` if this module sets it to a literal, else ``None``."""
    value: Any = None
    for statement in tree.body:
        if isinstance(statement, ast.Assign | ast.AnnAssign) and isinstance(
            statement.value, ast.Dict
        ):
            if statement is assigned(tree, "GENERIC_CONSUMERS"):
                for name, _, node in dict_items(statement.value):
                    if name == key and isinstance(node, ast.Constant):
                        value = node.value
        elif isinstance(statement, ast.Assign):
            for target in statement.targets:
                if (
                    isinstance(target, ast.Subscript)
                    and isinstance(target.value, ast.Name)
                    and target.value.id == "GENERIC_CONSUMERS"
                    and const_str(target.slice) == key
                    and isinstance(statement.value, ast.Constant)
                ):
                    value = statement.value.value
    return value


def lists_app(tree: ast.Module, app: str) -> bool:
    """Whether ``app`` is a string anywhere in a module that touches INSTALLED_APPS."""
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    if "INSTALLED_APPS" not in names:
        return False
    return any(const_str(n) == app for n in ast.walk(tree))


def _layers(tree: ast.Module) -> list[tuple[str | None, ast.Dict]]:
    statement = assigned(tree, "CHANNEL_LAYERS")
    if statement is None or not isinstance(statement.value, ast.Dict):
        return []
    return [
        (alias, value)
        for alias, _, value in dict_items(statement.value)
        if isinstance(value, ast.Dict)
    ]


def _entry(node: ast.Dict, key: str) -> tuple[ast.expr, ast.expr] | None:
    for name, key_node, value in dict_items(node):
        if name == key and key_node is not None:
            return key_node, value
    return None


def rewrite_settings(
    tree: ast.Module, edits: Edits, asgi_module: str | None
) -> list[LineNote]:
    """Rewrite one module's settings; notes for what was changed or could not be."""
    notes: list[LineNote] = []
    layers_statement = assigned(tree, "CHANNEL_LAYERS")
    layers = _layers(tree)
    for _, layer in layers:
        notes += translate_layer(layer, edits)
    after = layers_statement
    first_alias = (
        layers_statement.value.keys[0]
        if layers_statement is not None
        and isinstance(layers_statement.value, ast.Dict)
        and layers_statement.value.keys
        else None
    )
    quote = edits.quote_of(first_alias)
    routing = [
        (alias, entry)
        for alias, layer in layers
        if (entry := _entry(layer, "ROUTING")) is not None
        and (alias == "default" or len(layers) == 1)
    ]
    if routing and layers_statement is not None:
        alias, (key_node, value) = routing[0]
        source = edits.segment(value)
        if _move_routing(tree, edits, source, alias, layers_statement, quote):
            edits.remove_element(key_node, value)
    if layers_statement is not None or _lists_channels(tree):
        notes += _rewrite_installed_apps(tree, edits)
    if layers_statement is not None and assigned(tree, "ASGI_APPLICATION") is None:
        if asgi_module is None:
            notes.append(
                LineNote(
                    layers_statement.lineno,
                    "set ASGI_APPLICATION to '<module>.application', a module with "
                    "'application = get_application()' (from generic_consumers.asgi); "
                    "no manage.py said which package holds the settings",
                )
            )
        else:
            assert after is not None
            edits.insert_statement_after(
                after, f"ASGI_APPLICATION = {quote}{asgi_module}.application{quote}\n"
            )
    return notes


def _move_routing(
    tree: ast.Module,
    edits: Edits,
    source: str,
    alias: str | None,
    layers_statement: ast.stmt,
    quote: str,
) -> bool:
    """Put the routing into GENERIC_CONSUMERS; False when that needs a human."""
    existing = assigned(tree, "GENERIC_CONSUMERS")
    if existing is None:
        entries = f"{quote}ROUTING{quote}: {source}"
        if alias not in (None, "default"):
            entries += f", {quote}CHANNEL_LAYER{quote}: {quote}{alias}{quote}"
        edits.insert_statement_after(
            layers_statement, f"GENERIC_CONSUMERS = {{{entries}}}\n"
        )
        return True
    if not isinstance(existing.value, ast.Dict):
        return False
    current = _entry(existing.value, "ROUTING")
    if current is not None:
        return edits.segment(current[1]) == source
    first_key = next((k for k in existing.value.keys if k is not None), None)
    quote = edits.quote_of(first_key)
    item = f"{quote}ROUTING{quote}: {source}"
    if first_key is None:
        if existing.value.keys:
            return False  # only **spread entries: leave it to a human
        edits.insert_into_empty(existing.value, item)
    else:
        edits.insert_before(first_key, item)
    return True


def _lists_channels(tree: ast.Module) -> bool:
    apps = assigned(tree, "INSTALLED_APPS")
    return (
        apps is not None
        and isinstance(apps.value, ast.List | ast.Tuple)
        and any(const_str(e) == "channels" for e in apps.value.elts)
    )


_DELAY_MOVED = (
    "'channels.delay' became 'generic_consumers.delay': run 'manage.py migrate' to "
    "create its table; generic_consumers' workers deliver 'asgi.delay' (no rundelay)"
)


def _rewrite_installed_apps(tree: ast.Module, edits: Edits) -> list[LineNote]:
    apps = assigned(tree, "INSTALLED_APPS")
    if apps is None or not isinstance(apps.value, ast.List | ast.Tuple):
        return []
    elts = apps.value.elts
    values = [const_str(e) for e in elts]
    if not elts:
        edits.insert_into_empty(apps.value, '"daphne", "channels", "generic_consumers"')
        return []
    notes: list[LineNote] = []
    for element, value in zip(elts, values, strict=True):
        if value == "channels.delay" and isinstance(element, ast.Constant):
            # The same database-backed delay as 1.x, with a model of the same name.
            edits.replace_string(element, "generic_consumers.delay")
            notes.append(LineNote(element.lineno, _DELAY_MOVED))
    quote = edits.quote_of(elts[0])

    def q(name: str) -> str:
        return f"{quote}{name}{quote}"

    # Daphne's runserver must come before staticfiles' to serve ASGI.
    if "daphne" not in values:
        edits.insert_before(elts[0], q("daphne"))
    elif values.index("daphne") != 0:
        edits.remove_element(elts[values.index("daphne")])
        edits.insert_before(elts[0], q("daphne"))
    if "channels" not in values:
        edits.insert_after(elts[-1], q("channels"), q("generic_consumers"))
    elif "generic_consumers" not in values:
        edits.insert_after(elts[values.index("channels")], q("generic_consumers"))
    return notes


_ROUTING_LEFT = (
    "CHANNEL_LAYERS[{alias!r}] still has ROUTING ({source}), which Channels 4 "
    "refuses: generic_consumers serves one routing, GENERIC_CONSUMERS['ROUTING'] "
    "(on the layer GENERIC_CONSUMERS['CHANNEL_LAYER']); move it there and remove it "
    "here"
)


def settings_notes(tree: ast.Module, text: str) -> list[LineNote]:
    """What is left to do by hand in one (already rewritten) settings module."""
    notes: list[LineNote] = []
    statement = assigned(tree, "CHANNEL_LAYERS")
    if statement is None:
        return notes
    strings = {const_str(n) for n in ast.walk(tree)} - {None}
    if not isinstance(statement.value, ast.Dict):
        if "ROUTING" in strings:
            notes.append(
                LineNote(
                    statement.lineno,
                    "CHANNEL_LAYERS is built by code, so it was not rewritten: move "
                    "each layer's ROUTING to GENERIC_CONSUMERS = {'ROUTING': ...} and "
                    "translate ASGI 1 backends by hand",
                )
            )
        return notes
    for alias, layer in _layers(tree):
        entry = _entry(layer, "ROUTING")
        if entry is not None:
            source = ast.get_source_segment(text, entry[1]) or "..."
            notes.append(
                LineNote(
                    entry[0].lineno, _ROUTING_LEFT.format(alias=alias, source=source)
                )
            )
        notes += layer_notes(layer)
    return notes
