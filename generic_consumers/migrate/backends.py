"""ASGI 1 channel layer backends in ``CHANNEL_LAYERS``, translated to Channels 4 ones.

``asgi_redis`` layers become ``channels_redis.core.RedisChannelLayer`` (Sentinel
set-ups in the ``hosts=[{"sentinels": [...], "master_name": ...}]`` form that
channels_redis 4.1+ reads); ``asgi_ipc`` and ``asgiref.inmemory`` become
``channels.layers.InMemoryChannelLayer``. ``CONFIG`` keys the new layer would refuse
are dropped with a note; what cannot be translated safely is left alone (the
settings notes then name it).
"""

from __future__ import annotations

import ast

from .source import Edits, LineNote, const_str, dict_items

__all__ = ["ASGI1_PREFIXES", "backend_note", "layer_notes", "translate_layer"]

REDIS = "channels_redis.core.RedisChannelLayer"
IN_MEMORY = "channels.layers.InMemoryChannelLayer"
ASGI1_PREFIXES = ("asgi_redis.", "asgi_ipc.", "asgi_rabbitmq.", "asgiref.inmemory.")

_KINDS = {
    "asgi_redis.RedisChannelLayer": "redis",
    "asgi_redis.core.RedisChannelLayer": "redis",
    "asgi_redis.RedisLocalChannelLayer": "local",
    "asgi_redis.local.RedisLocalChannelLayer": "local",
    "asgi_redis.RedisSentinelChannelLayer": "sentinel",
    "asgi_redis.sentinel.RedisSentinelChannelLayer": "sentinel",
    "asgi_ipc.IPCChannelLayer": "ipc",
    "asgi_ipc.core.IPCChannelLayer": "ipc",
    "asgiref.inmemory.ChannelLayer": "memory",
}
# CONFIG keys the ASGI 1 layer took and the Channels 4 one refuses (TypeError).
_DROPPED = {
    "redis": {"stats_prefix"},
    "local": {"stats_prefix", "local_prefix", "local_capacity", "local_expiry"},
    "sentinel": {"stats_prefix", "services", "sentinel_refresh_interval"},
    "ipc": {"prefix"},
    "memory": set(),
}
_WHY_DROPPED = {
    "stats_prefix": "channels_redis keeps no statistics",
    "local_prefix": "there is no local-IPC shortcut in channels_redis",
    "local_capacity": "there is no local-IPC shortcut in channels_redis",
    "local_expiry": "there is no local-IPC shortcut in channels_redis",
    "sentinel_refresh_interval": "redis-py's Sentinel pool asks the Sentinels for "
    "the master whenever it connects",
    "prefix": "the in-memory layer has no key prefix",
}
_IPC = (
    "asgi_ipc.IPCChannelLayer became channels.layers.InMemoryChannelLayer: IPC was "
    "shared by every process on the machine, the in-memory layer lives in one "
    "process. If workers or several server processes send to each other, use "
    "channels_redis.core.RedisChannelLayer instead"
)
_LOCAL = (
    "asgi_redis.RedisLocalChannelLayer became channels_redis.core.RedisChannelLayer "
    "(there is no local-IPC shortcut in Channels 4)"
)
_SENTINEL = (
    "asgi_redis.RedisSentinelChannelLayer became channels_redis.core."
    "RedisChannelLayer with one {'sentinels': ..., 'master_name': ...} host per "
    "service"
)
_NO_SERVICES = (
    "asgi_redis.RedisSentinelChannelLayer without 'services' asked the Sentinels for "
    "every master; channels_redis needs them named: set BACKEND to "
    f"{REDIS!r} and CONFIG['hosts'] to [{{'sentinels': [(host, port), ...], "
    "'master_name': 'mymaster'}]"
)
_TEST_CONFIG = (
    "TEST_CONFIG removed: generic_consumers.test gives each ChannelTestCase fresh "
    "in-memory layers, and ChannelLiveServerTestCase serves CHANNEL_LAYERS as it is"
)
_CONNECTION_KWARGS = (
    "channels_redis has no 'connection_kwargs': write each hosts entry as a dict "
    "and put the options in it, e.g. {'address': 'redis://host:6379', "
    "'socket_timeout': 5} (Sentinel: {'sentinels': ..., 'master_name': ..., "
    "'sentinel_kwargs': {...}, **options})"
)


def _entries(node: ast.Dict) -> dict[str, tuple[ast.expr, ast.expr]]:
    """String-keyed entries of a dict literal: key → (key node, value node)."""
    return {
        key: (key_node, value)
        for key, key_node, value in dict_items(node)
        if key is not None and key_node is not None
    }


def _value(items: dict[str, tuple[ast.expr, ast.expr]], key: str) -> ast.expr | None:
    return items[key][1] if key in items else None


def translate_layer(layer: ast.Dict, edits: Edits) -> list[LineNote]:
    """Translate one ``CHANNEL_LAYERS[alias]`` dict literal in place."""
    notes: list[LineNote] = []
    items = _entries(layer)
    if "TEST_CONFIG" in items:
        key_node, value = items["TEST_CONFIG"]
        edits.remove_element(key_node, value)
        notes.append(LineNote(layer.lineno, _TEST_CONFIG))
    backend_node = _value(items, "BACKEND")
    backend = const_str(backend_node)
    kind = _KINDS.get(backend or "")
    if kind is None or not isinstance(backend_node, ast.Constant):
        return notes
    config = _value(items, "CONFIG")
    if kind == "sentinel":
        if not isinstance(config, ast.Dict) or not _sentinel_hosts(config, edits):
            return notes  # backend_note() names it
        notes.append(LineNote(backend_node.lineno, _SENTINEL))
    edits.replace_string(
        backend_node, IN_MEMORY if kind in ("ipc", "memory") else REDIS
    )
    if kind == "ipc":
        notes.append(LineNote(backend_node.lineno, _IPC))
    elif kind == "local":
        notes.append(LineNote(backend_node.lineno, _LOCAL))
    if isinstance(config, ast.Dict):
        config_line = items["CONFIG"][0].lineno
        for key, (entry, value) in _entries(config).items():
            if key in _DROPPED[kind]:
                edits.remove_element(entry, value)
                if key in _WHY_DROPPED:
                    notes.append(
                        LineNote(
                            config_line,
                            f"CONFIG[{key!r}] removed: {_WHY_DROPPED[key]}",
                        )
                    )
    elif config is not None and _DROPPED[kind] - {"services"}:
        notes.append(
            LineNote(
                config.lineno,
                f"CONFIG is not a dict literal: make sure it has none of "
                f"{sorted(_DROPPED[kind])} (the new layer refuses them)",
            )
        )
    return notes


def _sentinel_hosts(config: ast.Dict, edits: Edits) -> bool:
    """Rewrite ``hosts`` + ``services`` into channels_redis' Sentinel hosts."""
    items = _entries(config)
    if "services" not in items:
        return False
    services = items["services"][1]
    if "hosts" in items:
        sentinels = edits.segment(items["hosts"][1])
    else:
        sentinels = '[("localhost", 26379)]'  # asgi_redis' default
    quote = edits.quote_of(items["services"][0])

    def host(master: str) -> str:
        return (
            f"{{{quote}sentinels{quote}: {sentinels}, "
            f"{quote}master_name{quote}: {master}}}"
        )

    if isinstance(services, ast.List | ast.Tuple):
        if not services.elts:
            return False
        entries = [host(edits.segment(e)) for e in services.elts]
        indent = edits.indent_of(items["hosts"][0]) if "hosts" in items else None
        if len(entries) > 1 and indent is not None:
            inner = "".join(f"{indent}    {entry},\n" for entry in entries)
            hosts = f"[\n{inner}{indent}]"
        else:
            hosts = "[" + ", ".join(entries) + "]"
    else:
        hosts = f"[{host('name')} for name in {edits.segment(services)}]"
    if "hosts" in items:
        edits.replace(items["hosts"][1], hosts)
    else:
        edits.insert_before(items["services"][0], f"{quote}hosts{quote}: {hosts}")
    return True


def backend_note(value: str) -> str | None:
    """The note for an ASGI 1 backend path still in the (rewritten) source."""
    if not value.startswith(ASGI1_PREFIXES):
        return None
    kind = _KINDS.get(value)
    if kind == "sentinel":
        return _NO_SERVICES
    if kind is not None:
        target = IN_MEMORY if kind in ("ipc", "memory") else REDIS
        return (
            f"{value!r} is an ASGI 1 layer backend: use {target!r} (this one is not in "
            "a CHANNEL_LAYERS dict literal, so it was not translated)"
        )
    return (
        f"{value!r} is an ASGI 1 layer backend with no Channels 4 translation: use "
        f"{REDIS!r} (or {IN_MEMORY!r} for one process)"
    )


def layer_notes(layer: ast.Dict) -> list[LineNote]:
    """What is left to do by hand in one (already translated) layer."""
    notes: list[LineNote] = []
    items = _entries(layer)
    backend = const_str(_value(items, "BACKEND")) or ""
    config = _value(items, "CONFIG")
    if backend.startswith("channels_redis.") and isinstance(config, ast.Dict):
        entries = _entries(config)
        if "connection_kwargs" in entries:
            line = entries["connection_kwargs"][0].lineno
            notes.append(LineNote(line, _CONNECTION_KWARGS))
    return notes
