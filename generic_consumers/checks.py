"""System checks for ``GENERIC_CONSUMERS`` (``manage.py check``, runserver)."""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings
from django.core import checks

from .conf import DEFAULTS, get_settings
from .middleware.stack import check_middleware, routed_consumers

# Seconds Daphne (autobahn's openHandshakeTimeout) gives a handshake to be answered.
DAPHNE_HANDSHAKE_TIMEOUT = 5


@checks.register("generic_consumers")
def check_settings(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    errors: list[checks.CheckMessage] = []
    raw = getattr(settings, "GENERIC_CONSUMERS", None)
    if raw is not None and not isinstance(raw, dict):
        return [
            checks.Error(
                f"GENERIC_CONSUMERS must be a dict, not {raw!r}.",
                id="generic_consumers.E001",
            )
        ]
    for key in sorted(set(raw or {}) - set(DEFAULTS)):
        errors.append(
            checks.Error(
                f"Unknown GENERIC_CONSUMERS key {key!r}.",
                hint="Known keys: " + ", ".join(sorted(DEFAULTS)),
                id="generic_consumers.E002",
            )
        )
    conf = get_settings()
    consumers: list[Any] = []  # the routed ones, whose middleware is checked too
    routing = conf["ROUTING"]
    if routing is None:
        errors.append(
            checks.Error(
                "GENERIC_CONSUMERS['ROUTING'] is not set.",
                hint="Set it to the dotted path of your routing list, e.g. "
                "'mysite.routing.channel_routing'.",
                id="generic_consumers.E003",
            )
        )
    else:
        from .routing import Router

        try:
            router = Router(routing)
        except Exception as exc:
            errors.append(
                checks.Error(
                    f"GENERIC_CONSUMERS['ROUTING'] = {routing!r} cannot be loaded: "
                    f"{exc}",
                    id="generic_consumers.E004",
                )
            )
        else:
            consumers = routed_consumers(router)
    errors += check_middleware(conf, consumers)
    for key, kind in (
        ("CONNECT_TIMEOUT", (int, float)),
        ("MESSAGE_RETRIES", int),
        ("WORKER_CONCURRENCY", int),
        ("MEMBERSHIP_RETRIES", int),
        ("LAYER_RETRY_SECONDS", (int, float)),
        ("COUNTERS_INTERVAL", (int, float)),
    ):
        value = conf[key]
        if not isinstance(value, kind) or isinstance(value, bool) or value < 0:
            errors.append(
                checks.Error(
                    f"GENERIC_CONSUMERS[{key!r}] must be a non-negative number, "
                    f"not {value!r}.",
                    id="generic_consumers.E005",
                )
            )
    for key in (
        "SYNC_THREADS",
        "MAX_FRAME_SIZE",
        "MAX_OUTBOUND_BUFFER",
        "MEMBERSHIP_CONCURRENCY",
    ):
        value = conf[key]
        if value is not None and (not isinstance(value, int) or value < 1):
            errors.append(
                checks.Error(
                    f"GENERIC_CONSUMERS[{key!r}] must be a positive integer or None, "
                    f"not {value!r}.",
                    id="generic_consumers.E006",
                )
            )
    concurrency = conf["LAYER_CONCURRENCY"]
    if (
        not isinstance(concurrency, int)
        or isinstance(concurrency, bool)
        or (concurrency < 1)
    ):
        errors.append(
            checks.Error(
                "GENERIC_CONSUMERS['LAYER_CONCURRENCY'] must be a positive integer, "
                f"not {concurrency!r}.",
                id="generic_consumers.E006",
            )
        )
    for key in (
        "IN_PROCESS_WORKERS",
        "REQUIRE_ORIGIN",
        "SESSION_KEY_IN_QUERY",
        "ACCEPT_UNDECIDED",
        "DELAY_CHANNEL",
    ):
        if not isinstance(conf[key], bool):
            errors.append(
                checks.Error(
                    f"GENERIC_CONSUMERS[{key!r}] must be True or False, not "
                    f"{conf[key]!r}.",
                    id="generic_consumers.E007",
                )
            )
    timeout = conf["CONNECT_TIMEOUT"]
    if isinstance(timeout, (int, float)) and timeout >= DAPHNE_HANDSHAKE_TIMEOUT:
        errors.append(
            checks.Warning(
                f"GENERIC_CONSUMERS['CONNECT_TIMEOUT'] is {timeout!r} s: Daphne drops "
                f"a handshake still unanswered after {DAPHNE_HANDSHAKE_TIMEOUT} s, "
                "before this timeout can reject it with a warning.",
                hint="Keep it below 5 s (the default is 4).",
                id="generic_consumers.W003",
            )
        )
    errors += _check_group_refresh(conf)
    errors += _check_keepalive(conf["KEEPALIVE_INTERVAL"])
    errors += _check_named_channels(conf)
    directory = conf["COUNTERS_DIR"]
    if directory is not None and not isinstance(directory, (str, os.PathLike)):
        errors.append(
            checks.Error(
                "GENERIC_CONSUMERS['COUNTERS_DIR'] must be a directory path or None, "
                f"not {directory!r}.",
                id="generic_consumers.E012",
            )
        )
    if conf["CHANNEL_LAYER"] not in getattr(settings, "CHANNEL_LAYERS", {}):
        errors.append(
            checks.Warning(
                f"CHANNEL_LAYERS has no {conf['CHANNEL_LAYER']!r} layer: groups and "
                "named "
                "channels will not work.",
                hint="Add CHANNEL_LAYERS = {'default': {'BACKEND': "
                "'channels.layers.InMemoryChannelLayer'}}.",
                id="generic_consumers.W001",
            )
        )
    return errors


def _check_group_refresh(conf: dict[str, Any]) -> list[checks.CheckMessage]:
    interval = conf["GROUP_REFRESH_INTERVAL"]
    if interval is None:
        return []
    if (
        not isinstance(interval, (int, float))
        or isinstance(interval, bool)
        or (interval < 0)
    ):
        return [
            checks.Error(
                "GENERIC_CONSUMERS['GROUP_REFRESH_INTERVAL'] must be a non-negative "
                f"number of seconds or None, not {interval!r}.",
                id="generic_consumers.E005",
            )
        ]
    layer = getattr(settings, "CHANNEL_LAYERS", {}).get(conf["CHANNEL_LAYER"], {})
    expiry = (layer.get("CONFIG") or {}).get("group_expiry")
    if interval and isinstance(expiry, (int, float)) and interval * 2 > expiry:
        return [
            checks.Warning(
                f"GENERIC_CONSUMERS['GROUP_REFRESH_INTERVAL'] ({interval!r} s) is not "
                f"well below the layer's group_expiry ({expiry!r} s): long-lived "
                "sockets may drop out of their groups between refreshes.",
                hint="Keep the interval under half the group_expiry.",
                id="generic_consumers.W002",
            )
        ]
    return []


def _check_keepalive(interval: Any) -> list[checks.CheckMessage]:
    if interval is None or (
        isinstance(interval, (int, float))
        and not isinstance(interval, bool)
        and interval >= 0
    ):
        return []
    return [
        checks.Error(
            "GENERIC_CONSUMERS['KEEPALIVE_INTERVAL'] must be a non-negative number of "
            f"seconds (0: no pings) or None, not {interval!r}.",
            hint="For example 20 (seconds), below your proxies' idle timeout.",
            id="generic_consumers.E005",
        )
    ]


def _check_named_channels(conf: dict[str, Any]) -> list[checks.CheckMessage]:
    """Refuse settings under which a named-channel message could reach two readers."""
    from .runtime.named import CHOICES, layer_kind

    choice = conf["NAMED_CHANNELS"]
    if choice not in CHOICES:
        return [
            checks.Error(
                f"GENERIC_CONSUMERS['NAMED_CHANNELS'] must be one of {CHOICES!r}, "
                f"not {choice!r}.",
                hint="'auto' uses Redis Streams on a channels_redis layer.",
                id="generic_consumers.E008",
            )
        ]
    layer = getattr(settings, "CHANNEL_LAYERS", {}).get(conf["CHANNEL_LAYER"], {})
    backend = layer.get("BACKEND", "")
    kind = layer_kind(backend)
    errors: list[checks.CheckMessage] = []
    if choice == "streams" and kind not in ("redis", "pubsub"):
        errors.append(
            checks.Error(
                "GENERIC_CONSUMERS['NAMED_CHANNELS'] = 'streams' needs a "
                f"channels_redis layer, and {backend!r} has no Redis to keep them in.",
                hint="Use 'auto' (streams on Redis, the layer itself otherwise).",
                id="generic_consumers.E008",
            )
        )
    if choice == "layer" and kind == "pubsub":
        errors.append(
            checks.Error(
                f"{backend!r} gives every named-channel message to every process "
                "listening on the channel, and drops those sent while none is: with "
                "NAMED_CHANNELS = 'layer' a message can run many times, or never.",
                hint="Set GENERIC_CONSUMERS['NAMED_CHANNELS'] to 'auto' (Redis "
                "Streams, one reader per message).",
                id="generic_consumers.E011",
            )
        )
    if choice == "layer" and kind == "redis":
        errors.append(
            checks.Warning(
                f"With NAMED_CHANNELS = 'layer', {backend!r} can hand a named-channel "
                "message to two readers when several processes read the channel "
                "(their in-flight messages are put back by each other).",
                hint="Use 'auto' (Redis Streams), or run exactly one reader per "
                "named channel (IN_PROCESS_WORKERS off and one worker process).",
                id="generic_consumers.W004",
            )
        )
    redeliver = conf["REDELIVER_AFTER"]
    expiry = (layer.get("CONFIG") or {}).get("expiry", 60)
    if redeliver is not None and (
        not isinstance(redeliver, (int, float))
        or isinstance(redeliver, bool)
        or not 0 < redeliver < expiry
    ):
        errors.append(
            checks.Error(
                "GENERIC_CONSUMERS['REDELIVER_AFTER'] must be None (at most once) or "
                f"seconds above 0 and below the layer's expiry ({expiry!r} s), not "
                f"{redeliver!r}.",
                id="generic_consumers.E009",
            )
        )
    return errors
