"""One WebSocket: ASGI events in, 1.x messages to consumers, reply content out.

Inbound events are handled strictly one after another, so a socket's consumers never
overlap (1.x ``strict_ordering`` holds by construction). Outbound reply content is
written as it arrives (from this socket's consumers, a group, a worker or another
process), except while the connect consumer runs: content from elsewhere is held until
the handshake's outcome is known, then delivered (accepted) or dropped (rejected).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.utils.crypto import get_random_string

from . import envelope, inbound, mailbox
from .context import Turn
from .counters import counters
from .host import Host, Layer
from .inbound import CONNECT, DISCONNECT, RECEIVE
from .logs import frame_warnings
from .membership import discard_all
from .outbound import Inbox
from .outcome import Outcome, consume, consumer_name
from .registry import one_process, sockets
from .replies import CLOSE_TOO_BIG, ReplyWriter, SocketState
from .tasks import SocketTasks
from .threads import sync_threads

__all__ = ["WebsocketSocket"]

logger = logging.getLogger("generic_consumers")

RETRY_DELAY = 0.05  # seconds a ConsumeLater'd event waits for newer events


class WebsocketSocket:
    def __init__(
        self, host: Host, scope: dict, receive: Any, send: Any, server_send: Any = None
    ) -> None:
        self.host = host
        self.scope = scope
        self.path: str = scope.get("path", "")
        self._receive = receive
        self.writer = ReplyWriter(
            send,
            self.path,
            on_open=self._opened,
            on_reject=self._rejected,
            limit=host.settings["MAX_OUTBOUND_BUFFER"],
            server_send=server_send,
        )
        self.groups: set[str] = set()
        self.order = 0
        self.reply_channel = ""
        self.thread = sync_threads.pick()
        self._settings = host.settings
        self._connecting = False
        self._held: list[dict[str, Any]] = []
        self._listener: asyncio.Task | None = None
        self._timeout: asyncio.TimerHandle | None = None
        # Events waiting to be retried (ConsumeLater), oldest first; rarely any.
        self._retries: list[tuple[str, dict[str, Any], int]] = []
        self._next: asyncio.Future | None = None
        # Group content for this socket from local group sends (in-memory layer),
        # made on first use.
        self._inbox: Inbox | None = None
        # The layer carrying this socket's reply channel and groups; None without one.
        self.layer: Layer | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        # Filled by the host: what every message of this socket shares (its reply
        # Channel), built once.
        self.shared: Any = None
        # Background tasks and keepalive (runtime.tasks), made on first use.
        self.tasks: SocketTasks | None = None

    @property
    def state(self) -> SocketState:
        return self.writer.state

    # -- lifecycle ---------------------------------------------------------------------

    async def run(self) -> None:
        self.loop = asyncio.get_running_loop()
        layer = self.host.layer
        try:
            self.reply_channel = await mailbox.new_channel(layer.raw)
            self.layer = layer
        except ImproperlyConfigured:
            # No layer: the socket's own replies never need one; Group and named
            # channels say what is missing when used.
            self.reply_channel = "generic_consumers.local!" + get_random_string(12)
        sockets.add(self)
        counters.bump("sockets_opened")
        if self.layer is not None and not one_process(self.layer.raw):
            # On the in-memory layer everything for this socket is delivered to it
            # directly (see ``delivery``), so its reply channel needs no listener.
            # The mailbox opens now: what is sent from here on waits in it.
            next_message = mailbox.receiver(self.layer.raw, self.reply_channel)
            self._listener = asyncio.ensure_future(self._listen(next_message))
        try:
            while True:
                event = await self._next_event()
                kind = event["type"]
                if kind == RECEIVE:
                    await self._on_receive(event)
                elif kind == CONNECT:
                    await self._on_connect()
                elif kind == DISCONNECT:
                    await self._on_disconnect(event)
                    return
                elif kind == "retry":
                    await self._dispatch(event["channel"], event["content"], event["n"])
        finally:
            await self._cleanup()

    async def _next_event(self) -> dict[str, Any]:
        if not self._retries and self._next is None:
            return await self._receive()
        # An event is waiting to be retried (ConsumeLater): events that are already
        # there go first, then the retry.
        if self._next is None:
            self._next = asyncio.ensure_future(self._receive())
        if self._retries:
            done, _ = await asyncio.wait({self._next}, timeout=RETRY_DELAY)
            if not done:
                channel, content, n = self._retries.pop(0)
                return {"type": "retry", "channel": channel, "content": content, "n": n}
        event, self._next = await self._next, None
        return event

    async def _cleanup(self) -> None:
        self.writer.gone()
        sockets.remove(self)
        frame_warnings.forget(f"socket {self.reply_channel!r}")
        if self._timeout is not None:
            self._timeout.cancel()
        if self.tasks is not None:
            self.tasks.cancel_all()
        for task in (self._listener, self._next):
            if task is not None:
                task.cancel()
        if self._inbox is not None:
            self._inbox.cancel()
        if self.layer is not None:
            mailbox.close(self.layer.raw, self.reply_channel)
        await self._leave_groups()
        counters.bump("sockets_closed")
        await self.host.socket_closed(self)

    async def _leave_groups(self) -> None:
        if self.groups and self.layer is not None:
            groups, self.groups = self.groups, set()
            counters.add("group_discards", len(groups))
            raw = self.layer.raw
            if one_process(raw):
                for group in groups:
                    sockets.leave(group, self)
            else:
                await discard_all(raw, self.reply_channel, groups)

    # -- inbound -----------------------------------------------------------------------

    async def _on_connect(self) -> None:
        self._connecting = True
        await self._dispatch(CONNECT, self.connect_content(), 0)

    def connect_content(self) -> dict[str, Any]:
        """The content of this socket's ``websocket.connect`` message."""
        return inbound.connect_content(self)

    async def _on_receive(self, event: dict[str, Any]) -> None:
        self.order += 1
        counters.bump("frames_received")
        content = inbound.receive_content(self, event)
        limit = self._settings["MAX_FRAME_SIZE"]
        size = inbound.oversized(content, limit)
        if size is not None:
            counters.refused("frame_too_large")
            logger.warning(
                "Closing socket on %r: inbound frame of %d bytes exceeds "
                "GENERIC_CONSUMERS['MAX_FRAME_SIZE'] (%d).",
                self.path,
                size,
                limit,
            )
            await self.writer.close(CLOSE_TOO_BIG)
            return
        await self._dispatch(RECEIVE, content, 0)

    async def _on_disconnect(self, event: dict[str, Any]) -> None:
        self.writer.gone()
        await self._dispatch(DISCONNECT, inbound.disconnect_content(self, event), 0)

    async def _dispatch(self, channel: str, content: dict[str, Any], tries: int):
        """Route one event and act on its outcome."""
        message = self.host.message(channel, content, self)
        match = self.host.route(message)
        if match is None:
            await self._unrouted(channel)
            return
        consumer, kwargs = match
        turn = Turn(self, self.thread, self.loop)
        outcome = await consume(
            consumer,
            message,
            kwargs,
            socket=self,
            thread=self.thread,
            tries=tries,
            max_retries=self._settings["MESSAGE_RETRIES"],
            turn=turn,
        )
        if outcome is Outcome.RETRY:
            if self.state is not SocketState.CLOSED:
                self._retries.append((channel, content, tries + 1))
                return
            outcome = Outcome.GAVE_UP
        if channel == CONNECT:
            await self._connected(outcome, consumer, turn.forwarded)
        elif outcome is Outcome.DENIED and self.state is SocketState.OPEN:
            await self.writer.apply({"close": True})

    async def _unrouted(self, channel: str) -> None:
        inbound.report_unrouted(self, channel)
        if channel == CONNECT:
            self._connecting = False
            await self.writer.reject()

    async def _connected(self, outcome: Outcome, consumer: Any, forwarded: bool):
        """The connect consumer is done for good: settle the handshake."""
        self._connecting = False
        replies_held = bool(self._held)
        if self.state is SocketState.HANDSHAKE:
            if outcome is not Outcome.DONE:
                await self.writer.reject()
            elif self._settings["ACCEPT_UNDECIDED"]:
                # Pre-1.0 code: the socket was open as soon as it connected.
                await self.writer.apply({"accept": True})
            else:
                if not (forwarded or replies_held):
                    # Nothing it sent can answer for it: say so now, not at the
                    # timeout, by which time the server may have dropped the client.
                    logger.warning(
                        "%s returned from websocket.connect on %r without accepting "
                        "or rejecting, and sent nothing that could: the handshake "
                        "waits for CONNECT_TIMEOUT. Send {'accept': True} on "
                        "message.reply_channel (1.0+), or set GENERIC_CONSUMERS"
                        "['ACCEPT_UNDECIDED'] = True for pre-1.0 code.",
                        consumer_name(consumer),
                        self.path,
                    )
                self._timeout = asyncio.get_running_loop().call_later(
                    self._settings["CONNECT_TIMEOUT"], self._expire_handshake
                )
        elif outcome is Outcome.DENIED and self.state is SocketState.OPEN:
            await self.writer.apply({"close": True})
        held, self._held = self._held, []
        for reply in held:
            await self.writer.apply(reply)

    # -- outbound ----------------------------------------------------------------------

    async def deliver(self, content: dict[str, Any], origin: object) -> None:
        """Reply content for this socket, from anywhere."""
        if self._connecting and origin is not self:
            self._held.append(content)
        else:
            await self.writer.apply(content)

    def deliver_soon(self, content: dict[str, Any]) -> None:
        """Queue group content; this socket's own task delivers it, in order."""
        if self.state is SocketState.CLOSED:
            return
        if self._inbox is None:
            self._inbox = Inbox(self.deliver, self.writer.outbound)
        self._inbox.push(content)

    async def _listen(self, next_message: Any) -> None:
        while True:
            # Survives layer outages and Redis restarts; logs once per outage.
            message = await next_message()
            kind = message.get("type")
            if kind == envelope.MESSAGE:
                await self.deliver(message["content"], None)
            elif kind == envelope.MEMBERSHIP:
                (self.groups.add if message["joined"] else self.groups.discard)(
                    message["group"]
                )
            else:
                logger.warning(
                    "Ignored a message of type %r on reply channel %r",
                    kind,
                    self.reply_channel,
                )

    def _opened(self) -> None:
        if self._timeout is not None:
            self._timeout.cancel()

    def _rejected(self) -> None:
        # A refused socket leaves its groups now, not when the disconnect arrives.
        self._held.clear()
        if self.groups and self.layer is not None:
            asyncio.ensure_future(self._leave_groups())

    def _expire_handshake(self) -> None:
        if self.state is SocketState.HANDSHAKE:
            counters.refused("handshake_timeout")
            logger.warning(
                "Rejecting the handshake for %r: nothing accepted or rejected it "
                "within GENERIC_CONSUMERS['CONNECT_TIMEOUT'] (%s s).",
                self.path,
                self._settings["CONNECT_TIMEOUT"],
            )
            asyncio.ensure_future(self.writer.reject())
