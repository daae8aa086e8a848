"""One WebSocket: ASGI events in, 1.x messages to consumers, reply content out.

Inbound events are handled strictly one after another. Outbound reply content is
written as it arrives (from this socket's consumers, a group, a worker or another
process), except while the connect consumer runs: content from elsewhere is held until
the handshake's outcome is known, then delivered (accepted) or dropped (rejected).
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections import deque
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ImproperlyConfigured
from django.utils.crypto import get_random_string

from ._envelope import MEMBERSHIP, MESSAGE, local_sockets
from ._outage import receive
from ._runtime import consumer_name, log_consumer_error, run_consumer
from ._threads import sync_threads
from .channel import Channel
from .exceptions import ConsumeLater, DenyConnection, validate_close_code
from .message import Message
from .sessions import release_channel_session

if TYPE_CHECKING:
    from .asgi import RoutingApplication
    from .layers import ChannelLayerWrapper

logger = logging.getLogger("generic_consumers")

CLOSE_NORMAL = 1000
CLOSE_TOO_BIG = 1009
REPLY_KEYS = frozenset({"accept", "text", "bytes", "close", "subprotocol"})
RETRY_DELAY = 0.05  # seconds a ConsumeLater'd frame waits for newer events


class SocketState(enum.Enum):
    HANDSHAKE = "handshake"
    OPEN = "open"
    CLOSED = "closed"


class WebsocketSocket:
    def __init__(self, app: RoutingApplication, scope: dict, receive: Any, send: Any):
        self.app = app
        self.scope = scope
        self.path: str = scope.get("path", "")
        self._receive = receive
        self._send = send
        self.state = SocketState.HANDSHAKE
        self.groups: set[str] = set()
        self.order = 0
        self.reply_channel = ""
        self.executor = sync_threads.pick()
        self._settings = app.settings
        self._connecting = False
        self._held: list[dict[str, Any]] = []
        self._write_lock = asyncio.Lock()
        self._listener: asyncio.Task | None = None
        self._timeout: asyncio.TimerHandle | None = None
        self._retries: deque[tuple[str, dict[str, Any], int]] = deque()
        self._next: asyncio.Future | None = None
        # The layer carrying this socket's reply channel and groups; None without one.
        self.layer: ChannelLayerWrapper | None = None
        self.loop: asyncio.AbstractEventLoop | None = None

    # -- lifecycle ---------------------------------------------------------------------

    async def run(self) -> None:
        self.loop = asyncio.get_running_loop()
        # Messages carry the wrapper even without a layer: Group and named channels then
        # say what is missing, while the socket's own replies never need the layer.
        self._wrapper = wrapper = self.app.layer
        try:
            self.reply_channel = await wrapper.raw.new_channel()
            self.layer = wrapper
        except ImproperlyConfigured:
            self.reply_channel = "generic_consumers.local!" + get_random_string(12)
        self._reply = Channel(self.reply_channel, channel_layer=wrapper)
        local_sockets[self.reply_channel] = self
        if self.layer is not None:
            self._listener = asyncio.ensure_future(self._listen())
        try:
            while True:
                event = await self._next_event()
                kind = event["type"]
                if kind == "websocket.receive":
                    await self._on_receive(event)
                elif kind == "websocket.connect":
                    await self._on_connect(event)
                elif kind == "websocket.disconnect":
                    await self._on_disconnect(event)
                    return
                elif kind == "retry":
                    await self._handle(event["channel"], event["content"], event["n"])
        finally:
            await self._cleanup()

    async def _next_event(self) -> dict[str, Any]:
        if not self._retries and self._next is None:
            return await self._receive()
        # A frame is waiting to be retried (ConsumeLater): events that are already
        # there go first, then the retry.
        if self._next is None:
            self._next = asyncio.ensure_future(self._receive())
        if self._retries:
            done, _ = await asyncio.wait({self._next}, timeout=RETRY_DELAY)
            if not done:
                channel, content, n = self._retries.popleft()
                return {"type": "retry", "channel": channel, "content": content, "n": n}
        event, self._next = await self._next, None
        return event

    async def _cleanup(self) -> None:
        self.state = SocketState.CLOSED
        local_sockets.pop(self.reply_channel, None)
        if self._timeout is not None:
            self._timeout.cancel()
        for task in (self._listener, self._next):
            if task is not None:
                task.cancel()
        if self.groups and self.layer is not None:
            await self.app.discard_memberships(self.reply_channel, self.groups)
            self.groups.clear()
        await release_channel_session(self.reply_channel, self.executor)

    # -- inbound -----------------------------------------------------------------------

    def _message(self, channel: str, content: dict[str, Any]) -> Message:
        message = Message(content, channel, self._wrapper)
        message.scope = self.scope
        # Every message of the socket shares one reply Channel, built once.
        message._reply_channel = self._reply
        return message

    async def _on_connect(self, event: dict[str, Any]) -> None:
        scope = self.scope
        content = {
            "reply_channel": self.reply_channel,
            "path": self.path,
            "headers": [list(pair) for pair in scope.get("headers", ())],
            "query_string": scope.get("query_string", b""),
            "client": list(scope["client"]) if scope.get("client") else None,
            "server": list(scope["server"]) if scope.get("server") else None,
            "subprotocols": list(scope.get("subprotocols", ())),
            "order": 0,
        }
        message = self._message("websocket.connect", content)
        match = self.app.router.match(message)
        if match is None:
            logger.warning(
                "No route matched 'websocket.connect' for path %r; rejecting the "
                "handshake. Add a route for it to GENERIC_CONSUMERS['ROUTING'].",
                self.path,
            )
            await self._reject()
            return
        consumer, kwargs = match
        denied = failed = False
        self._connecting = True
        for attempt in range(self._settings["MESSAGE_RETRIES"] + 1):
            try:
                await self._run(consumer, message, kwargs)
                break
            except ConsumeLater:
                if attempt == self._settings["MESSAGE_RETRIES"]:
                    logger.warning(
                        "Dropped websocket.connect for %r: retried too often "
                        "(ConsumeLater)",
                        self.path,
                    )
                    failed = True
                else:
                    await asyncio.sleep(RETRY_DELAY)
            except DenyConnection:
                denied = True
                break
            except Exception as exc:
                log_consumer_error(consumer, message, exc)
                failed = True
                break
        self._connecting = False
        if self.state is SocketState.HANDSHAKE:
            if denied or failed:
                await self._reject()
            else:
                self._timeout = asyncio.get_running_loop().call_later(
                    self._settings["CONNECT_TIMEOUT"], self._expire_handshake
                )
        elif denied and self.state is SocketState.OPEN:
            await self._apply({"close": True})
        held, self._held = self._held, []
        for reply in held:
            await self._apply(reply)

    async def _on_receive(self, event: dict[str, Any]) -> None:
        self.order += 1
        content: dict[str, Any] = {
            "reply_channel": self.reply_channel,
            "path": self.path,
            "order": self.order,
        }
        text = event.get("text")
        if text is not None:
            content["text"] = text
            # n characters are at most 4n bytes of UTF-8: encode (to measure exactly)
            # only when the frame could be over the cap.
            size = len(text)
            if size * 4 > (limit := self._settings["MAX_FRAME_SIZE"] or size * 4):
                size = len(text.encode())
        else:
            content["bytes"] = data = event.get("bytes") or b""
            size = len(data)
            limit = self._settings["MAX_FRAME_SIZE"] or size
        if size > limit:
            logger.warning(
                "Closing socket on %r: inbound frame of %d bytes exceeds "
                "GENERIC_CONSUMERS['MAX_FRAME_SIZE'] (%d).",
                self.path,
                size,
                limit,
            )
            await self._close(CLOSE_TOO_BIG)
            return
        await self._handle("websocket.receive", content, 0)

    async def _on_disconnect(self, event: dict[str, Any]) -> None:
        self.state = SocketState.CLOSED
        content = {
            "reply_channel": self.reply_channel,
            "path": self.path,
            "code": event.get("code", CLOSE_NORMAL),
            "order": self.order + 1,
        }
        await self._handle("websocket.disconnect", content, 0)

    async def _handle(self, channel: str, content: dict[str, Any], tries: int) -> None:
        message = self._message(channel, content)
        match = self.app.router.match(message)
        if match is None:
            logger.warning(
                "No route matched %r for path %r; message dropped.", channel, self.path
            )
            return
        consumer, kwargs = match
        try:
            await self._run(consumer, message, kwargs)
        except ConsumeLater:
            if tries >= self._settings["MESSAGE_RETRIES"]:
                logger.warning(
                    "Dropped %r for path %r: %s raised ConsumeLater %d times",
                    channel,
                    self.path,
                    consumer_name(consumer),
                    tries + 1,
                )
            elif self.state is not SocketState.CLOSED:
                self._retries.append((channel, content, tries + 1))
        except DenyConnection:
            if self.state is SocketState.OPEN:
                await self._apply({"close": True})
        except Exception as exc:
            log_consumer_error(consumer, message, exc)

    async def _run(self, consumer: Any, message: Message, kwargs: dict) -> None:
        await run_consumer(
            consumer,
            self.app.router.on_loop(consumer, message.channel_name),
            message,
            kwargs,
            origin=self,
            executor=self.executor,
        )

    # -- outbound ----------------------------------------------------------------------

    async def deliver(self, content: dict[str, Any], origin: object) -> None:
        """Reply content for this socket, from anywhere."""
        if self._connecting and origin is not self:
            self._held.append(content)
        else:
            await self._apply(content)

    async def _listen(self) -> None:
        assert self.layer is not None  # only started with a layer
        raw = self.layer.raw
        while True:
            # Survives layer outages and Redis restarts; logs once per outage.
            envelope = await receive(raw, self.reply_channel, "receiving on sockets")
            kind = envelope.get("type")
            if kind == MESSAGE:
                await self.deliver(envelope["content"], None)
            elif kind == MEMBERSHIP:
                (self.groups.add if envelope["joined"] else self.groups.discard)(
                    envelope["group"]
                )
            else:
                logger.warning(
                    "Ignored a message of type %r on reply channel %r",
                    kind,
                    self.reply_channel,
                )

    async def _apply(self, content: dict[str, Any]) -> None:
        """Apply 1.x reply content (accept / text / bytes / close) to the socket."""
        if self.state is SocketState.CLOSED:
            return
        if not REPLY_KEYS.issuperset(content):
            logger.warning(
                "Ignored reply %r for %r: reply content may only have the keys "
                "accept, text, bytes, close.",
                content,
                self.path,
            )
            return
        async with self._write_lock:
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
                self.state = SocketState.OPEN
                if self._timeout is not None:
                    self._timeout.cancel()
            if text is not None:
                await self._send({"type": "websocket.send", "text": text})
            elif data is not None:
                await self._send({"type": "websocket.send", "bytes": data})
            if close:
                try:
                    code = validate_close_code(close)
                except ValueError as exc:
                    logger.warning("%s Closing %r with 1000 instead.", exc, self.path)
                    code = True
                await self._send(
                    {
                        "type": "websocket.close",
                        "code": CLOSE_NORMAL if code is True else code,
                    }
                )
                self.state = SocketState.CLOSED

    async def _close(self, code: int) -> None:
        """Close with a protocol code of the runtime (not limited like replies)."""
        async with self._write_lock:
            if self.state is SocketState.OPEN:
                await self._send({"type": "websocket.close", "code": code})
            elif self.state is SocketState.HANDSHAKE:
                await self._reject_locked()
            self.state = SocketState.CLOSED

    async def _reject(self) -> None:
        async with self._write_lock:
            await self._reject_locked()

    async def _reject_locked(self) -> None:
        if self.state is SocketState.HANDSHAKE:
            # A close before the accept makes the server answer the handshake with 403.
            await self._send({"type": "websocket.close", "code": CLOSE_NORMAL})
            self.state = SocketState.CLOSED

    def _expire_handshake(self) -> None:
        if self.state is SocketState.HANDSHAKE:
            logger.warning(
                "Rejecting the handshake for %r: nothing accepted or rejected it "
                "within "
                "GENERIC_CONSUMERS['CONNECT_TIMEOUT'] (%s s).",
                self.path,
                self._settings["CONNECT_TIMEOUT"],
            )
            asyncio.ensure_future(self._reject())
