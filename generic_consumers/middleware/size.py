"""``MessageSizeMiddleware``: a cap on frame sizes, per direction."""

from __future__ import annotations

import logging

from ..runtime.counters import counters
from ..runtime.logs import frame_warnings
from .base import Event, FrameMiddleware, Handler, Socket

__all__ = ["MessageSizeMiddleware"]

logger = logging.getLogger("generic_consumers")

MESSAGE_TOO_BIG = 1009


def frame_size(event: Event) -> int:
    """The frame's size in bytes (text is measured UTF-8 encoded)."""
    text = event.get("text")
    if text is not None:
        return len(text.encode())
    return len(event.get("bytes") or b"")


def _over(event: Event, limit: int) -> int | None:
    """The frame's size if it is over ``limit`` bytes, else None (cheaply: a text of
    n characters is at most 4n bytes, so most are never encoded)."""
    text = event.get("text")
    if text is not None and len(text) * 4 <= limit:
        return None
    size = frame_size(event)
    return size if size > limit else None


class MessageSizeMiddleware(FrameMiddleware):
    """Refuse frames over a size, for one route or every socket.

    ``max_bytes`` (default 64 KiB; None: no cap) caps inbound frames: the first one
    over it is dropped and the socket closed with ``code`` (default 1009, message
    too big), with one warning line. ``max_outbound_bytes`` (default None) caps what
    consumers send: a frame over it is dropped with a warning (rate-limited) and the
    socket stays open. ``GENERIC_CONSUMERS["MAX_FRAME_SIZE"]`` still applies after
    this, to every socket.
    """

    def __init__(
        self,
        handler: Handler,
        *,
        max_bytes: int | None = 64 * 1024,
        max_outbound_bytes: int | None = None,
        code: int = MESSAGE_TOO_BIG,
    ) -> None:
        super().__init__(handler)
        for name, value in (
            ("max_bytes", max_bytes),
            ("max_outbound_bytes", max_outbound_bytes),
        ):
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or value < 0
            ):
                raise ValueError(
                    f"MessageSizeMiddleware: {name} must be a number of bytes or "
                    f"None, not {value!r}."
                )
        self.max_bytes = max_bytes
        self.max_outbound_bytes = max_outbound_bytes
        self.code = code

    async def inbound(self, socket: Socket, event: Event) -> None:
        limit = self.max_bytes
        if limit is not None and event["type"] == "websocket.receive":
            if socket.state.get(self):
                return  # closed by us: frames still in flight go nowhere
            size = _over(event, limit)
            if size is not None:
                socket.state[self] = True
                counters.refused("frame_too_large")
                logger.warning(
                    "Closing socket on %r with %d: inbound frame of %d bytes is over "
                    "the %d allowed.",
                    socket.path,
                    self.code,
                    size,
                    limit,
                )
                await self.close(socket, self.code)
                return
        await self.handler(socket, event)  # type: ignore[misc]

    async def outbound(self, socket: Socket, event: Event) -> None:
        limit = self.max_outbound_bytes
        if limit is not None and event["type"] == "websocket.send":
            size = _over(event, limit)
            if size is not None:
                counters.refused("outbound_too_large")
                frame_warnings.log(
                    logger,
                    logging.WARNING,
                    f"socket {socket.reply_channel!r}",
                    "Dropped an outbound frame of %d bytes on %r: over the %d "
                    "allowed (MessageSizeMiddleware max_outbound_bytes).",
                    size,
                    socket.path,
                    limit,
                )
                return
        await self.handler(socket, event)  # type: ignore[misc]
