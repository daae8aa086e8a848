"""Frame middleware: one socket's passage through a stack.

A :class:`~.chain.Chain` is one middleware stack, built once per application. A
:class:`Wire` is one socket's passage through it. It stands between the ASGI server
and the socket (:mod:`.socket`): the socket's ``receive`` and the reply writer's
``send`` are the wire's, so inbound events run through the stack outermost first
before the socket sees them, and outbound events run through it innermost first
before the server does.

Inbound events are pulled by the socket one at a time, so the stack sees them in
order and one at a time, like the consumers. Outbound events pass while the reply
writer holds its lock: they keep their order too. A middleware may pass an event on,
change it, drop it or answer on its own (an outbound event sent from an inbound hook
goes through the middlewares outside it only). What reached the server is tracked
here, so the reply writer learns of an accept or a close a middleware made.

An exception in a middleware is logged and handled like a consumer's, for that socket
only: on a connect or an accept the handshake is rejected; a frame is dropped; a
disconnect or a close still goes on.
"""

from __future__ import annotations

import inspect
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from .chain import INBOUND, Chain, Event
from .logs import frame_warnings
from .replies import SocketState, send_event

__all__ = ["Wire"]

logger = logging.getLogger("generic_consumers")

CONNECT = "websocket.connect"
DISCONNECT = "websocket.disconnect"

Receive = Callable[[], Awaitable[Event]]
Send = Callable[[Event], Awaitable[None]]


class WiredSocket(Protocol):
    """What the wire needs from ``runtime.socket.WebsocketSocket``."""

    scope: dict
    path: str
    reply_channel: str
    writer: Any  # its ReplyWriter: ``state``, ``reject()``


def _name(thing: Any) -> str:
    kind = thing if inspect.isclass(thing) or inspect.isfunction(thing) else type(thing)
    module = getattr(kind, "__module__", "")
    qualname = getattr(kind, "__qualname__", repr(kind))
    return f"{module}.{qualname}" if module else qualname


class Wire:
    """One socket's passage through a stack, and the ``socket`` its middleware see.

    Middleware may read ``scope``, ``path``, ``reply_channel`` and ``consumer`` (what
    the socket's ``websocket.connect`` routes to), keep what they like in ``state``
    (a dict of this socket's), and read ``accepted`` / ``closed`` (what the server was
    sent so far).
    """

    def __init__(
        self,
        receive: Receive,
        send: Send,
        choose: Callable[[Wire], tuple[Chain | None, Any]],
    ) -> None:
        self._server_receive = receive
        self._server_send = send
        self._choose = choose
        self._chain: Chain | None = None
        self._chosen = False
        self._inbox: deque[Event] = deque()
        self._passed: set[str] = set()  # kinds of inbound event that got through
        self._collected: list[Event] | None = None  # see _Link.__call__
        self.socket: WiredSocket | None = None  # set once the socket is made
        self.consumer: Any = None
        self.state: dict[Any, Any] = {}
        self.accepted = False
        self.closed = False

    @property
    def scope(self) -> dict:
        assert self.socket is not None
        return self.socket.scope

    @property
    def path(self) -> str:
        assert self.socket is not None
        return self.socket.path

    @property
    def reply_channel(self) -> str:
        assert self.socket is not None
        return self.socket.reply_channel

    def __repr__(self) -> str:
        path = self.socket.path if self.socket is not None else "?"
        return f"<socket {path!r}>"

    # -- what the socket and its reply writer call ------------------------------------

    async def receive(self) -> Event:
        """The next inbound event, after the stack (the socket's ASGI ``receive``)."""
        inbox = self._inbox
        while not inbox:
            event = await self._server_receive()
            if not self._chosen:
                self._chosen = True
                self._chain, self.consumer = self._choose(self)
            if self._chain is None:
                return event  # this socket's route opted out
            kind = event.get("type")
            self._passed.discard(kind)
            await self._inward(0, event)
            if kind == DISCONNECT and DISCONNECT not in self._passed:
                # The socket must hear of it, or it would wait for events forever.
                logger.warning(
                    "A middleware dropped websocket.disconnect on %r; passed on "
                    "anyway (a disconnect can be changed, not dropped).",
                    self.path,
                )
                inbox.append(event)
            elif (
                kind == CONNECT
                and CONNECT not in self._passed
                and not self.closed
                and self._writer_state() is SocketState.HANDSHAKE
            ):
                logger.warning(
                    "A middleware dropped websocket.connect on %r without answering "
                    "it; rejecting the handshake (send a websocket.close to reject "
                    "on purpose).",
                    self.path,
                )
                await self._reject()
        return inbox.popleft()

    async def send(self, event: Event) -> None:
        """An outbound event, through the stack (the reply writer's ASGI ``send``)."""
        chain = self._chain
        if chain is None:
            await self._to_server(event)
        else:
            await self._outward(chain.size - 1, event)

    # -- stages -----------------------------------------------------------------------

    async def _inward(self, index: int, event: Event) -> None:
        chain = self._chain
        assert chain is not None
        if index >= chain.size:
            self._passed.add(event.get("type", ""))
            self._inbox.append(event)
            return
        # _inward and _outward each run their stage inline: a coroutine less per
        # middleware and event.
        try:
            if chain.links[index].sync:
                await self._run_sync(chain, index, event)
            else:
                await chain.middlewares[index](self, event)
        except Exception as exc:
            await self._failed(chain, index, event, exc)

    async def _outward(self, index: int, event: Event) -> None:
        if index < 0:
            await self._to_server(event)
            return
        chain = self._chain
        assert chain is not None
        try:
            if chain.links[index].sync:
                await self._run_sync(chain, index, event)
            else:
                await chain.middlewares[index](self, event)
        except Exception as exc:
            await self._failed(chain, index, event, exc)

    async def _run_sync(self, chain: Chain, index: int, event: Event) -> None:
        # A sync middleware runs on the loop (it must not block); what it passed on
        # goes on, in order, once it has returned.
        collected: list[Event] = []
        self._collected = collected
        try:
            chain.middlewares[index](self, event)
        finally:
            self._collected = None
        for passed in collected:
            if passed.get("type") in INBOUND:
                await self._inward(index + 1, passed)
            else:
                await self._outward(index - 1, passed)

    async def _failed(
        self, chain: Chain, index: int, event: Event, exc: Exception
    ) -> None:
        kind = event.get("type")
        consumer = self.consumer
        logger.error(
            "Middleware %s raised %s on %s for path %r (consumer %s)%s",
            chain.names[index],
            type(exc).__name__,
            kind,
            self.path,
            _name(consumer) if consumer is not None else "none routed",
            _hint(exc),
            exc_info=exc,
        )
        # Like a consumer error: a handshake is rejected, a frame is lost, and a
        # disconnect or close still happens. Only this socket is concerned.
        try:
            if kind == DISCONNECT:
                await self._inward(index + 1, event)
            elif kind == "websocket.close":
                await self._outward(index - 1, event)
            elif kind in (CONNECT, "websocket.accept"):
                if kind == CONNECT:
                    self._inbox.clear()
                if not self.accepted and not self.closed:
                    await self._outward(
                        index - 1, {"type": "websocket.close", "code": 1000}
                    )
        except Exception:  # the stages outside it failed too: reject directly
            logger.exception("Middleware error handling failed on %r", self.path)
            if kind in (CONNECT, "websocket.accept", "websocket.close"):
                await self._to_server({"type": "websocket.close", "code": 1000})

    # -- the server end -------------------------------------------------------------

    async def _to_server(self, event: Event) -> None:
        if self.closed:
            return  # nothing follows a close
        kind = event.get("type")
        if kind == "websocket.accept":
            if self.accepted:
                return  # an ASGI server refuses a second accept
            self.accepted = True
            if self._writer_state() is SocketState.HANDSHAKE:
                self._set_writer_state(SocketState.OPEN)
        elif kind == "websocket.close":
            self.closed = True
            self._set_writer_state(SocketState.CLOSED)
        elif kind == "websocket.send" and not self.accepted:
            frame_warnings.log(
                logger,
                logging.WARNING,
                f"socket {self.reply_channel!r}",
                "Dropped a frame for %r: a middleware held back the accept, and "
                "ASGI servers refuse frames before it.",
                self.path,
            )
            return
        try:
            # A protocol close code Daphne refuses goes out as 4000 + code there.
            await send_event(self._server_send, event)
        except OSError as exc:
            # The client went away (see ReplyWriter._send): nothing more is written.
            self.closed = True
            self._set_writer_state(SocketState.CLOSED)
            logger.debug("Client of %r went away before %s: %r", self.path, kind, exc)

    def _writer_state(self) -> SocketState | None:
        return self.socket.writer.state if self.socket is not None else None

    def _set_writer_state(self, state: SocketState) -> None:
        if self.socket is not None:
            self.socket.writer.state = state

    async def _reject(self) -> None:
        if self.socket is not None:
            await self.socket.writer.reject()


def _hint(exc: Exception) -> str:
    if type(exc).__name__ == "SynchronousOnlyOperation":
        return (
            ": sync middleware runs on the event loop; do blocking work in an async "
            "middleware, through asgiref's sync_to_async"
        )
    return ""
