"""The middleware interface: a factory taking the next handler, like Django's.

A middleware sees every ASGI event of a socket: the inbound ones (``websocket.connect``,
each ``websocket.receive``, ``websocket.disconnect``) before the consumer, and the
outbound ones (``websocket.accept``, ``websocket.send``, ``websocket.close``) before the
server. It is built once per application by ``factory(handler, **options)`` and
called as ``middleware(socket, event)`` for each event of each socket it serves.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from ..runtime.chain import INBOUND

__all__ = ["Event", "FrameMiddleware", "Handler", "Socket"]

#: An ASGI WebSocket event: ``{"type": "websocket.receive", "text": ...}`` and so on.
Event = dict[str, Any]


class Socket(Protocol):
    """What a middleware knows of the socket an event belongs to."""

    #: The connection's ASGI scope (path, headers, client; ``user`` and ``session``
    #: when Channels' ASGI middleware set them).
    scope: dict
    #: The request path.
    path: str
    #: The socket's reply channel name (set before its first event).
    reply_channel: str
    #: What the socket's ``websocket.connect`` routes to (None when nothing does).
    consumer: Any
    #: A dict of this socket's, free for middleware (key it by your middleware).
    state: dict[Any, Any]
    #: Whether a ``websocket.accept`` / ``websocket.close`` reached the server.
    accepted: bool
    closed: bool


#: The next stage: ``await handler(socket, event)`` passes an inbound event on toward
#: the consumer and an outbound one on toward the server. In a sync middleware it is
#: called without ``await``.
Handler = Callable[[Socket, Event], Awaitable[None] | None]


class FrameMiddleware:
    """A base class that splits the two directions into two hooks.

    Override :meth:`inbound` and/or :meth:`outbound`; each passes the event on with
    ``await self.handler(socket, event)`` (the default), or changes it, drops it
    (returns without passing it on) or answers (passes an outbound event, e.g.
    ``{"type": "websocket.close", "code": 1008}``, from :meth:`inbound`).
    """

    def __init__(self, handler: Handler) -> None:
        self.handler = handler

    async def __call__(self, socket: Socket, event: Event) -> None:
        if event["type"] in INBOUND:
            await self.inbound(socket, event)
        else:
            await self.outbound(socket, event)

    async def inbound(self, socket: Socket, event: Event) -> None:
        """Runs for each inbound event, in order, before the consumer (and before the
        middlewares inside this one) sees it."""
        await self.handler(socket, event)  # type: ignore[misc]

    async def outbound(self, socket: Socket, event: Event) -> None:
        """Runs for each outbound event, in order, after the middlewares inside this
        one and before the server (and the middlewares outside this one) sees it."""
        await self.handler(socket, event)  # type: ignore[misc]

    async def close(self, socket: Socket, code: int) -> None:
        """Close ``socket`` with ``code`` (before the accept: reject its handshake).

        The close goes through the middlewares outside this one only."""
        event = {"type": "websocket.close", "code": code}
        await self.handler(socket, event)  # type: ignore[misc]
