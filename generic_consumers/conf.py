"""The ``GENERIC_CONSUMERS`` setting, with defaults, read once and reset on change."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.signals import setting_changed

__all__ = ["DEFAULTS", "get_settings"]

DEFAULTS: dict[str, Any] = {
    # Dotted path to the routing (a list, a dict, or a Router); required.
    "ROUTING": None,
    # Channel layer alias used for reply channels, groups and named channels.
    "CHANNEL_LAYER": "default",
    # Consume every routed named channel inside each server process.
    "IN_PROCESS_WORKERS": True,
    # Named-channel messages handled at once per channel by an in-process worker.
    "WORKER_CONCURRENCY": 8,
    # Seconds a handshake may stay unanswered after the connect consumer returned;
    # below Daphne's own 5 s, so the warning comes before the client is dropped.
    "CONNECT_TIMEOUT": 4.0,
    # Consume the 1.x delay channel "asgi.delay" wherever named channels are consumed.
    "DELAY_CHANNEL": True,
    # Accept a socket whose connect consumer returned without accepting or rejecting
    # (pre-1.0 code, where sockets were open as soon as they connected).
    "ACCEPT_UNDECIDED": False,
    # Threads that run sync consumers (each socket sticks to one); None: CPU count + 4.
    "SYNC_THREADS": None,
    # How often a message whose consumer raised ConsumeLater is tried again.
    "MESSAGE_RETRIES": 10,
    # Reject handshakes that carry no Origin header.
    "REQUIRE_ORIGIN": False,
    # Honour ?session_key= on the handshake (1.x did; keys in URLs leak into logs).
    "SESSION_KEY_IN_QUERY": False,
    # Frame middleware every socket passes through, outermost first: dotted paths
    # (or (path, {options}) pairs); see generic_consumers.middleware.
    "MIDDLEWARE": [],
    # Largest inbound frame in bytes (text is measured UTF-8 encoded); None: no cap.
    "MAX_FRAME_SIZE": 1024 * 1024,
    # Bytes of outbound frames one socket may have waiting (in the runtime and in the
    # server's buffer) for a client that does not read; past it the socket is closed
    # with 1008. None: no bound (the server's own buffering decides).
    "MAX_OUTBOUND_BUFFER": 4 * 1024 * 1024,
    # Seconds between re-adds of every live socket's group memberships (survives the
    # layer's group_expiry and a Redis restart); 0 or None: never.
    "GROUP_REFRESH_INTERVAL": 30.0,
    # Group adds/discards in flight at once per process (keep below the layer's pool).
    "MEMBERSHIP_CONCURRENCY": 20,
    # Retries (with backoff) of a group add/discard that failed on a transient error.
    "MEMBERSHIP_RETRIES": 6,
    # Sends and group sends in flight at once per process (keep below the pool).
    "LAYER_CONCURRENCY": 50,
    # Where named channels travel: "auto" (Redis Streams on a channels_redis layer,
    # the layer itself otherwise), "streams" or "layer" (see runtime/named.py).
    "NAMED_CHANNELS": "auto",
    # None: a named-channel message is never delivered again, even if its worker
    # dies mid-message (at most once, as 1.x). Seconds: one left unacknowledged that
    # long is delivered once more to another worker (streams only).
    "REDELIVER_AFTER": None,
    # Seconds a send or group send is retried while the layer fails (an outage, a
    # Sentinel failover), before it is given up with an error line.
    "LAYER_RETRY_SECONDS": 10.0,
    # Seconds between keepalive pings of the WebSocket consumers that do not set
    # keepalive_interval themselves; None: no pings.
    "KEEPALIVE_INTERVAL": None,
    # Seconds between two writes of this process's counters to COUNTERS_DIR (what
    # manage.py socket_counters and the Prometheus collector read); 0: never.
    "COUNTERS_INTERVAL": 5.0,
    # Directory of the counters files; None: <tmp>/generic_consumers-<uid>/<settings>.
    "COUNTERS_DIR": None,
}

_cache: dict[str, Any] | None = None


def get_settings() -> dict[str, Any]:
    """The merged settings; unknown keys are kept so the system check can name them."""
    global _cache
    if _cache is None:
        _cache = {**DEFAULTS, **getattr(settings, "GENERIC_CONSUMERS", {})}
    return _cache


def _reset(*, setting: str, **kwargs: Any) -> None:
    global _cache
    if setting == "GENERIC_CONSUMERS":
        _cache = None


setting_changed.connect(_reset)
