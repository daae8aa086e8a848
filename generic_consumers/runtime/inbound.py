"""What a socket's ASGI events become: 1.x message content, and the line logged when
no consumer is routed for one.

Pure functions of the socket's state and the event: ``socket.py`` decides when they
run and what happens next.
"""

from __future__ import annotations

import logging
from typing import Any

from .counters import counters
from .logs import frame_warnings
from .replies import CLOSE_NORMAL

__all__ = [
    "CONNECT",
    "DISCONNECT",
    "RECEIVE",
    "connect_content",
    "disconnect_content",
    "oversized",
    "receive_content",
    "report_unrouted",
]

logger = logging.getLogger("generic_consumers")

CONNECT = "websocket.connect"
RECEIVE = "websocket.receive"
DISCONNECT = "websocket.disconnect"
# Paths whose unrouted disconnects were already reported (once each, at INFO: many
# apps route no disconnect consumer, and that is fine).
_quiet_disconnects: set[str] = set()


def connect_content(socket: Any) -> dict[str, Any]:
    """The content of ``socket``'s ``websocket.connect`` message."""
    scope = socket.scope
    return {
        "reply_channel": socket.reply_channel,
        "path": socket.path,
        "headers": [list(pair) for pair in scope.get("headers", ())],
        "query_string": scope.get("query_string", b""),
        "client": list(scope["client"]) if scope.get("client") else None,
        "server": list(scope["server"]) if scope.get("server") else None,
        "subprotocols": list(scope.get("subprotocols", ())),
        "order": 0,
    }


def receive_content(socket: Any, event: dict[str, Any]) -> dict[str, Any]:
    """The content of a ``websocket.receive`` message, numbered ``socket.order``."""
    content: dict[str, Any] = {
        "reply_channel": socket.reply_channel,
        "path": socket.path,
        "order": socket.order,
    }
    text = event.get("text")
    if text is not None:
        content["text"] = text
    else:
        content["bytes"] = event.get("bytes") or b""
    return content


def oversized(content: dict[str, Any], limit: int | None) -> int | None:
    """The frame size in bytes if over ``limit`` (falsy: no limit), else None."""
    if not limit:
        return None
    text = content.get("text")
    if text is not None:
        # n characters are at most 4n bytes of UTF-8: encode (to measure exactly) only
        # when the frame could be over the cap.
        if len(text) * 4 <= limit:
            return None
        size = len(text.encode())
    else:
        size = len(content["bytes"])
    return size if size > limit else None


def disconnect_content(socket: Any, event: dict[str, Any]) -> dict[str, Any]:
    return {
        "reply_channel": socket.reply_channel,
        "path": socket.path,
        "code": event.get("code", CLOSE_NORMAL),
        "order": socket.order + 1,
    }


def report_unrouted(socket: Any, channel: str) -> None:
    """Log that no consumer is routed for ``channel`` on ``socket``'s path."""
    if channel != DISCONNECT:
        counters.refused("unrouted")
    if channel == CONNECT:
        logger.warning(
            "No route matched 'websocket.connect' for path %r; rejecting the "
            "handshake. Add a route for it to GENERIC_CONSUMERS['ROUTING'].",
            socket.path,
        )
    elif channel == DISCONNECT:
        if socket.path not in _quiet_disconnects:
            _quiet_disconnects.add(socket.path)
            logger.info(
                "No route for 'websocket.disconnect' on path %r (reported once).",
                socket.path,
            )
    else:
        frame_warnings.log(
            logger,
            logging.WARNING,
            f"socket {socket.reply_channel!r}",
            "No route matched %r for path %r; message dropped.",
            channel,
            socket.path,
        )
