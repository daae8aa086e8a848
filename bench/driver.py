"""A tiny in-process WebSocket driver: an ASGI app fed through two asyncio queues.

No sockets, no ``WebsocketCommunicator`` (its timeouts and task wrapping cost more than
a small echo); the same few lines drive every application, so what differs between
two rows is the application.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

CONNECT = {"type": "websocket.connect"}
DISCONNECT = {"type": "websocket.disconnect", "code": 1000}


def websocket_scope(path: str) -> dict[str, Any]:
    return {
        "type": "websocket",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "scheme": "ws",
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 50000),
        "root_path": "",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(b"host", b"127.0.0.1:8000")],
        "subprotocols": [],
        "extensions": {},
    }


class DriverError(AssertionError):
    pass


class Socket:
    """One socket's ASGI instance: ``inbox`` is what the app receives.

    By default what the app sends is queued in ``outbox``; with ``on_send`` each event
    is handed to that callback instead (the fan-out part counts arrivals that way).
    """

    def __init__(
        self,
        app: Any,
        path: str = "/echo/",
        on_send: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        self.inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._on_send = on_send
        self.task = asyncio.ensure_future(
            app(websocket_scope(path), self.inbox.get, self._send)
        )

    async def _send(self, event: dict[str, Any]) -> None:
        if self._on_send is not None and event["type"] == "websocket.send":
            self._on_send(event)
        else:
            self.outbox.put_nowait(event)

    async def _next(self) -> dict[str, Any]:
        if self.task.done() and self.outbox.empty():
            self.task.result()  # raise what the app raised
            raise DriverError("the application returned without answering")
        return await self.outbox.get()

    async def _next_or_failure(self) -> dict[str, Any]:
        # Slower than _next() (two extra tasks), but an app that crashes before it
        # answers fails the run at once instead of at the time limit.
        getter = asyncio.ensure_future(self.outbox.get())
        await asyncio.wait({getter, self.task}, return_when=asyncio.FIRST_COMPLETED)
        if getter.done():
            return getter.result()
        getter.cancel()
        self.task.result()
        raise DriverError("the application returned without answering")

    async def connect(self, *, watch: bool = False) -> None:
        """Open the socket; ``watch`` also notices an app that dies meanwhile."""
        self.inbox.put_nowait(CONNECT)
        event = await (self._next_or_failure() if watch else self._next())
        if event["type"] != "websocket.accept":
            raise DriverError(f"expected websocket.accept, got {event!r}")

    async def round_trip(self, text: str) -> dict[str, Any]:
        self.inbox.put_nowait({"type": "websocket.receive", "text": text})
        return await self._next()

    async def close(self) -> None:
        self.inbox.put_nowait(DISCONNECT)
        await self.task


async def bounded(coro: Any, seconds: float) -> Any:
    """Run ``coro`` with an overall time limit (a benchmark never hangs)."""
    return await asyncio.wait_for(coro, seconds)
