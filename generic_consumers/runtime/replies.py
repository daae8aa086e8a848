"""1.x reply content (``accept`` / ``text`` / ``bytes`` / ``close``) to ASGI events.

:class:`ReplyWriter` owns the ASGI connection's state (handshake, open, closed) and is
the only thing that writes to the server. ASGI 3 servers refuse a frame before an
explicit accept, so the first frame of a socket still in its handshake is preceded by
a ``websocket.accept`` (1.x accepted on the first send); a close or ``{"accept":
False}`` during the handshake rejects it (the server answers HTTP 403).
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from ..exceptions import validate_close_code
from .counters import counters
from .logs import shorten
from .outbound import Outbound, frame_size

__all__ = [
    "CLOSE_NORMAL",
    "CLOSE_TOO_BIG",
    "REPLY_KEYS",
    "ReplyWriter",
    "SocketState",
    "send_event",
]

logger = logging.getLogger("generic_consumers")

CLOSE_NORMAL = 1000
CLOSE_TOO_BIG = 1009
REPLY_KEYS = frozenset({"accept", "text", "bytes", "close", "subprotocol"})


async def send_event(
    send: Callable[[dict[str, Any]], Awaitable[None]], event: dict[str, Any]
) -> None:
    """``await send(event)``; a close with a protocol code (1001-2999) that the server
    refuses goes out as 4000 + the code's last three digits (1009 as 4009).

    Daphne (autobahn) lets a server send only 1000 and 3000-4999, and raises for the
    rest; Uvicorn sends them as they are.
    """
    try:
        await send(event)
    except OSError:
        raise
    except Exception:
        code = event.get("code")
        if event.get("type") != "websocket.close" or not (
            isinstance(code, int) and 1000 < code < 3000
        ):
            raise
        await send({**event, "code": 4000 + code % 1000})


class SocketState(enum.Enum):
    HANDSHAKE = "handshake"
    OPEN = "open"
    CLOSED = "closed"


class ReplyWriter:
    """Writes one socket's replies, one at a time, in the order they arrive.

    ``on_open`` runs when the socket is accepted; ``on_reject`` when its handshake is
    refused (whoever refused it). ``limit`` bounds the bytes waiting for the client
    (``MAX_OUTBOUND_BUFFER``, see :mod:`.outbound`); ``server_send`` is the
    server's own ``send`` when ``send`` wraps it (frame middleware), so the bound can
    see what the server holds.
    """

    def __init__(
        self,
        send: Callable[[dict[str, Any]], Awaitable[None]],
        path: str,
        *,
        on_open: Callable[[], None],
        on_reject: Callable[[], None],
        limit: int | None = None,
        server_send: Any = None,
    ) -> None:
        self._server_send = send
        self._path = path
        self._on_open = on_open
        self._on_reject = on_reject
        self._lock = asyncio.Lock()
        self.state = SocketState.HANDSHAKE
        self.outbound: Outbound | None = None
        if limit is not None:
            self.outbound = Outbound(
                send if server_send is None else server_send,
                limit,
                path,
                close=self.abort,
                closed=self._closed,
            )
        self._aborting: asyncio.Task | None = None

    def _closed(self) -> bool:
        return self.state is SocketState.CLOSED

    async def apply(self, content: dict[str, Any]) -> None:
        """Apply 1.x reply content to the socket."""
        if self.state is SocketState.CLOSED:
            return
        if not REPLY_KEYS.issuperset(content):
            logger.warning(
                "Ignored reply %s for %r: reply content may only have the keys "
                "accept, text, bytes, close.",
                shorten(content),
                self._path,
            )
            return
        outbound = self.outbound
        if outbound is not None and not outbound.hold(content):
            return  # past the bound: the socket is closed
        try:
            await self._lock.acquire()
        finally:
            if outbound is not None:
                outbound.release(content)
        try:
            await self._apply_locked(content)
        finally:
            self._lock.release()

    async def _apply_locked(self, content: dict[str, Any]) -> None:
        text, data = content.get("text"), content.get("bytes")
        close = content.get("close")
        if self.state is SocketState.HANDSHAKE:
            accept = content.get("accept")
            if accept is False or (
                close and text is None and data is None and not accept
            ):
                await self._reject_locked()
                return
            if not (accept or text is not None or data is not None):
                return
            await self._send(
                {
                    "type": "websocket.accept",
                    "subprotocol": content.get("subprotocol"),
                }
            )
            if self.state is SocketState.CLOSED:
                return  # the client left during the handshake
            self.state = SocketState.OPEN
            self._on_open()
        if self.state is not SocketState.OPEN:
            return  # closed while waiting for the lock
        if text is not None or data is not None:
            outbound = self.outbound
            if outbound is not None and outbound.full():
                if not await outbound.room(frame_size(content)):
                    return  # closed while waiting for the client to read
            counters.bump("frames_sent")
            if text is not None:
                await self._send({"type": "websocket.send", "text": text})
            else:
                await self._send({"type": "websocket.send", "bytes": data})
        if self.state is SocketState.CLOSED:
            return
        if close:
            try:
                code = validate_close_code(close)
            except ValueError as exc:
                logger.warning("%s Closing %r with 1000 instead.", exc, self._path)
                code = True
            await self._send(
                {
                    "type": "websocket.close",
                    "code": CLOSE_NORMAL if code is True else code,
                }
            )
            self.state = SocketState.CLOSED

    async def close(self, code: int) -> None:
        """Close with a protocol code of the runtime (not limited like replies)."""
        async with self._lock:
            if self.state is SocketState.OPEN:
                await self._send({"type": "websocket.close", "code": code})
                self.state = SocketState.CLOSED
            elif self.state is SocketState.HANDSHAKE:
                await self._reject_locked()

    def abort(self, code: int) -> None:
        """Close now with ``code``, without waiting for a write in progress: the
        client is not reading, so that write may never finish. Called by the bound."""
        if self.state is SocketState.OPEN:
            self.state = SocketState.CLOSED
            self._aborting = asyncio.ensure_future(
                self._send({"type": "websocket.close", "code": code})
            )

    async def reject(self) -> None:
        async with self._lock:
            await self._reject_locked()

    async def _reject_locked(self) -> None:
        if self.state is SocketState.HANDSHAKE:
            # A close before the accept makes the server answer the handshake with 403.
            await self._send({"type": "websocket.close", "code": CLOSE_NORMAL})
            self.state = SocketState.CLOSED
            self._on_reject()

    async def _send(self, event: dict[str, Any]) -> None:
        try:
            await send_event(self._server_send, event)
        except OSError as exc:
            # ASGI servers raise an OSError (uvicorn: ClientDisconnected) for a send on
            # a connection the client already closed. A client going away is normal:
            # nothing more is written, and its disconnect event follows.
            self.state = SocketState.CLOSED
            logger.debug(
                "Client of %r went away before %s: %r", self._path, event["type"], exc
            )

    def gone(self) -> None:
        """The client went away: nothing may be written any more."""
        self.state = SocketState.CLOSED
