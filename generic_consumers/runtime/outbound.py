"""A bound on each socket's outbound data, whatever the ASGI server does with it.

A client that stops reading must not grow the server. ASGI gives the application no
flow control: Uvicorn's ``send`` waits while its transport is full (so the runtime's
own queue for the socket grows), Daphne's returns at once (so Twisted's write buffer
grows). :class:`Outbound` counts both for one socket — the replies the runtime holds
for it, and what the server still holds unwritten — and past
``GENERIC_CONSUMERS['MAX_OUTBOUND_BUFFER']`` closes the socket with 1008 and one log
line.

What the server holds is read through :func:`server_buffer`, a narrow adapter that
knows two transport families (asyncio's, Twisted's). Where it cannot see one (a
middleware that wraps ``send``), the runtime's own queue is still bounded. While the
server holds more than a little (:data:`HIGH_WATER`), a writer waits for it to drain
instead of piling on: a fast client then never sees more than that in the server's
buffer, so it is never closed for a burst.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from .counters import counters

__all__ = [
    "CLOSE_SLOW",
    "HIGH_WATER",
    "Inbox",
    "Outbound",
    "frame_size",
    "server_buffer",
]

logger = logging.getLogger("generic_consumers")

CLOSE_SLOW = 1008  # policy violation: the client did not read what it was sent
HIGH_WATER = 64 * 1024  # bytes the server may hold before a writer waits
POLL_MAX = 0.05  # seconds between looks at a full server buffer, at most


def frame_size(content: dict[str, Any]) -> int:
    """The size of the frame in reply ``content`` (characters for text: cheap, and
    what the bound is about is memory held, not bytes on the wire)."""
    text = content.get("text")
    if text is not None:
        return len(text)
    data = content.get("bytes")
    return len(data) if data is not None else 0


def server_buffer(send: Any) -> Callable[[], int] | None:
    """A probe of the bytes the server holds unwritten for the socket ``send``
    writes to (-1 once its transport is gone), or None when it cannot be seen.

    Uvicorn's ``send`` is a method of its protocol, Daphne's a ``partial`` of its
    server's ``handle_reply`` with the protocol first; either protocol has the
    ``transport`` the frames are written to.
    """
    owner = getattr(send, "__self__", None)
    if isinstance(send, functools.partial) and send.args:
        owner = send.args[0]
    transport = getattr(owner, "transport", None)
    if transport is None:
        return None
    if callable(getattr(transport, "get_write_buffer_size", None)):
        return functools.partial(_asyncio_pending, transport)
    if hasattr(transport, "_tempDataLen") and hasattr(transport, "dataBuffer"):
        return functools.partial(_twisted_pending, transport)
    return None


def _asyncio_pending(transport: asyncio.WriteTransport) -> int:
    if transport.is_closing():
        return -1
    return transport.get_write_buffer_size()


def _twisted_pending(transport: Any) -> int:
    # twisted.internet.abstract.FileDescriptor: what doWrite has not written yet.
    if transport.disconnected or transport.disconnecting:
        return -1
    return len(transport.dataBuffer) - transport.offset + transport._tempDataLen


class Outbound:
    """The outbound backlog of one socket, and its bound.

    ``close`` closes the socket at once (without waiting for a write in progress);
    ``closed`` says whether it is closed. Made only for a socket with a bound.
    """

    __slots__ = ("_close", "_closed", "_high", "_path", "_probe", "limit", "queued")

    def __init__(
        self,
        send: Any,
        limit: int,
        path: str,
        *,
        close: Callable[[int], None],
        closed: Callable[[], bool],
    ) -> None:
        self.limit = limit
        self.queued = 0  # bytes of replies the runtime holds for the socket
        self._path = path
        self._close = close
        self._closed = closed
        self._probe = server_buffer(send)
        self._high = min(HIGH_WATER, limit // 4)

    def hold(self, content: dict[str, Any]) -> bool:
        """``content`` joins the socket's queue; False if that is past the bound
        (the socket is then closed). Called when content is queued for the socket."""
        size = frame_size(content)
        held = self.queued
        # The server's buffer stays near the high-water mark (writers wait in room()
        # above it), so it is read only when it could make the difference: one read
        # per frame (full()) on the usual path, not two.
        if self._probe is not None and held + size + self._high > self.limit:
            held += self._probe()
        if held > 0 and held + size > self.limit:
            self._overflow(held + size)
            return False
        self.queued += size
        return True

    def release(self, content: dict[str, Any]) -> None:
        """``content`` left the queue, on its way to the server."""
        self.queued -= frame_size(content)

    def full(self) -> bool:
        """True while the server holds more than a little for the socket: the next
        frame should wait for :meth:`room`. Called before each frame is written."""
        return self._probe is not None and self._probe() > self._high

    async def room(self, size: int) -> bool:
        """Wait until the server has drained the socket's buffer below the high-water
        mark; False if the socket closed, or is closed now because ``size`` more bytes
        would be past the bound."""
        assert self._probe is not None  # see full()
        delay = 0.0
        while True:
            pending = self._probe()
            if pending < 0 or self._closed():
                return False
            if pending <= self._high:
                return True
            if pending + self.queued + size > self.limit:
                self._overflow(pending + self.queued + size)
                return False
            # Twisted has no "drained" event an application can wait on: look again
            # soon, less often the longer it takes. A stuck client ends here when the
            # server's ping timeout drops it (or when the queue passes the bound).
            await asyncio.sleep(delay)
            delay = min(delay * 2 or 0.001, POLL_MAX)

    def _overflow(self, held: int) -> None:
        if self._closed():
            return
        counters.refused("outbound_buffer")
        logger.warning(
            "Closing socket on %r with %d: the client is not reading; %d bytes of "
            "replies are waiting for it, over GENERIC_CONSUMERS"
            "['MAX_OUTBOUND_BUFFER'] (%d).",
            self._path,
            CLOSE_SLOW,
            held,
            self.limit,
        )
        self.queued = 0
        self._close(CLOSE_SLOW)


class Inbox:
    """Content waiting for one socket's own task to deliver it, in order (group sends
    on the in-memory layer: a slow client holds up no one else), counted against the
    socket's bound."""

    __slots__ = ("_deliver", "_outbound", "_queue", "_task")

    def __init__(
        self,
        deliver: Callable[[dict[str, Any], None], Awaitable[None]],
        outbound: Outbound | None,
    ) -> None:
        self._deliver = deliver
        self._outbound = outbound
        self._queue: deque[dict[str, Any]] = deque()
        self._task: asyncio.Task | None = None

    def push(self, content: dict[str, Any]) -> None:
        if self._outbound is not None and not self._outbound.hold(content):
            return  # past the bound: the socket is closed
        self._queue.append(content)
        if self._task is None or self._task.done():
            self._task = asyncio.ensure_future(self._drain())

    async def _drain(self) -> None:
        queue, outbound = self._queue, self._outbound
        while queue:  # filled by push while this runs
            content = queue.popleft()
            if outbound is not None:
                outbound.release(content)
            await self._deliver(content, None)

    def cancel(self) -> None:
        """The socket closed: nothing more is delivered."""
        self._queue.clear()
        if self._task is not None:
            self._task.cancel()
