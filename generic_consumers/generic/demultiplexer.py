"""``WebsocketDemultiplexer``: many JSON streams over one WebSocket.

The demultiplexer hands an inbound payload either to a consumer class running for this
socket (``consumers``, the 1.0/1.1 code) or to a named channel (``mapping``, the 0.17
code that the 1.x docs still describe). Import the classes from
``generic_consumers.generic.websockets``.
"""

from __future__ import annotations

import copy
import functools
import inspect
import logging
from collections.abc import Callable
from typing import Any, ClassVar

from ..channel import Channel
from ..exceptions import (
    ChannelSocketException,
    ConsumeLater,
    DenyConnection,
    SendNotAvailableOnDemultiplexer,
)
from ..message import Message
from ..runtime.context import buffering, current_turn
from ..runtime.counters import counters
from ..runtime.logs import shorten
from ..runtime.placement import is_async_consumer
from ..runtime.threads import run_blocking
from .consumers import AsyncJsonWebsocketConsumer, JsonWebsocketConsumer
from .frames import UNDECODED, reply_channel
from .multiplexer import StreamMessage, WebsocketMultiplexer

__all__ = ["AsyncWebsocketDemultiplexer", "WebsocketDemultiplexer"]

logger = logging.getLogger("generic_consumers")

# What session and auth decorators hang on a message; a stream consumer's own copy of
# the message keeps them, so it sees the demultiplexer's session and user.
_MESSAGE_ATTRIBUTES = ("channel_session", "http_session", "user")


class DemultiplexerMixin:
    """Everything the sync and async demultiplexers share: checking frames, building
    each stream consumer's own message, forwarding to a mapped channel."""

    #: ``{stream: consumer}``: run for this socket with a ``multiplexer`` kwarg.
    consumers: ClassVar[dict[str, Any]] = {}
    #: ``{stream: "channel.name"}``: payloads are sent onto that named channel.
    mapping: ClassVar[dict[str, str]] = {}
    #: The class of the ``multiplexer`` handed to stream consumers.
    multiplexer_class: ClassVar[type[WebsocketMultiplexer]] = WebsocketMultiplexer

    message: Message
    path: str
    encode_json: Callable[[Any], str]

    def _parse(self, content: Any) -> tuple[str, Any, Any, str | None] | str:
        """``(stream, payload, consumer, mapped channel)`` for a good frame, or the
        reason it is refused."""
        if not isinstance(content, dict):
            return (
                f"frame is a JSON {type(content).__name__}, not an object with "
                "'stream' and 'payload'"
            )
        stream = content.get("stream")
        if not isinstance(stream, str) or "payload" not in content:
            return "frame needs a string 'stream' and a 'payload'"
        consumer = self.consumers.get(stream)
        target = None if consumer is not None else self.mapping.get(stream)
        if consumer is None and target is None:
            return f"unknown stream {shorten(stream)}"
        payload = content["payload"]
        if not isinstance(payload, dict):
            return f"payload of stream {shorten(stream)} is not a JSON object"
        return stream, payload, consumer, target

    def _frame_for(self, payload: dict[str, Any]) -> dict[str, Any]:
        """The receive message a stream consumer sees: its payload as a JSON frame."""
        content = self.message.content
        return {
            "reply_channel": content["reply_channel"],
            "path": self.path,
            "order": content.get("order"),
            "text": self.encode_json(payload),
        }

    def _forward_to_channel(self, target: str, payload: dict[str, Any]) -> None:
        # The payload was decoded for this frame alone, so it is ours to extend. The
        # server's values win: a client must not pick where replies go. Inside a
        # consumer this send is only buffered, so it never blocks the loop.
        message = self.message
        payload["reply_channel"] = message.content["reply_channel"]
        payload["path"] = self.path
        Channel(target, channel_layer=message.channel_layer).send(payload)

    def _stream_call(
        self,
        stream: str,
        message: Message,
        content: dict[str, Any],
        kwargs: dict,
        decoded: Any = UNDECODED,
    ) -> tuple[Message, dict[str, Any]]:
        """The message and kwargs for one stream consumer call."""
        stream_message = StreamMessage(
            content, message.channel_name, message.channel_layer, stream, decoded
        )
        for name in _MESSAGE_ATTRIBUTES:
            value = getattr(message, name, None)
            if value is not None:
                setattr(stream_message, name, value)
        multiplexer = self.multiplexer_class(stream, reply_channel(message))
        return stream_message, {**kwargs, "multiplexer": multiplexer}

    def _log_stream_error(
        self, stream: str, consumer: Any, message: Message, exc: BaseException
    ) -> None:
        counters.add("consumer_errors")
        logger.error(
            "Stream %r of %s: %s raised %s while handling %r on path %r",
            stream,
            type(self).__name__,
            getattr(consumer, "__qualname__", None) or repr(consumer),
            type(exc).__name__,
            message.channel_name,
            getattr(self, "path", None),
            exc_info=exc,
        )

    def _connect_copies(self, message: Message, deep: bool):
        # Each consumer gets its own copy: one must never see another's changes.
        for stream, consumer in self.consumers.items():
            content = copy.deepcopy(message.content) if deep else dict(message.content)
            yield stream, consumer, content

    def send(self, *args: Any, **kwargs: Any) -> Any:
        """Not available: reply through a stream's ``multiplexer.send(payload)``."""
        raise SendNotAvailableOnDemultiplexer(
            f"{type(self).__name__} cannot send by itself: reply on a stream with "
            "multiplexer.send(payload), or send "
            "WebsocketDemultiplexer.encode(stream, payload) to the reply channel."
        )

    @classmethod
    def group_send(cls, *args: Any, **kwargs: Any) -> Any:
        """Not available: use ``WebsocketMultiplexer.group_send(group, stream,
        payload)``."""
        raise SendNotAvailableOnDemultiplexer(
            f"{cls.__name__}.group_send() is not available; use "
            f"{cls.multiplexer_class.__name__}.group_send(group, stream, payload)."
        )

    @classmethod
    def encode(cls, stream: str, payload: Any) -> dict[str, Any]:
        """Reply content for ``payload`` on ``stream``; delegates to
        ``multiplexer_class.encode``."""
        return cls.multiplexer_class.encode(stream, payload)


# Exceptions a stream consumer may raise on purpose: they act on the whole socket.
_SOCKET_EXCEPTIONS = (DenyConnection, ChannelSocketException, ConsumeLater)


def _mark() -> int:
    turn = buffering()
    return len(turn.pending) if turn is not None else 0


def _accept_first(mark: int) -> None:
    # A stream that raised DenyConnection never gets here, so the handshake can still
    # be refused; otherwise the accept leads what the streams buffered (1.x sent it
    # first), which the 1.x test client's check_accept expects.
    turn = buffering()
    if turn is not None:
        turn.hoist_since(mark)


def _isolated() -> bool:
    """Whether a stream consumer's error stays with its stream (the server) rather
    than propagating (the 1.x test client, as in 1.x)."""
    turn = current_turn.get()
    return turn is None or not turn.strict


class WebsocketDemultiplexer(DemultiplexerMixin, JsonWebsocketConsumer):
    """Routes ``{"stream": ..., "payload": {...}}`` frames by stream name.

    ``consumers = {stream: ConsumerClass}`` runs the class for this socket: every
    stream's consumer gets ``connect`` and ``disconnect``, and the payload of a frame
    as if it were a JSON frame of its own, each with a ``multiplexer`` keyword argument
    to reply through. ``mapping = {stream: "channel.name"}`` sends the payload, with
    ``reply_channel`` and ``path`` set by the server, onto that named channel, where
    routed consumers answer with ``message.reply_channel.send(
    WebsocketDemultiplexer.encode(stream, payload))``. A stream in both goes to
    ``consumers``. Both dicts are the whitelist: any other stream is an invalid frame
    (see :meth:`handle_invalid_frame`). A stream consumer that raises is logged and
    the other streams carry on; ``DenyConnection`` and ``WebsocketCloseException``
    act on the whole socket.
    """

    def connect(self, message: Message, **kwargs: Any) -> None:
        """Runs on ``websocket.connect``: forwards it to every stream consumer, then
        accepts the socket (once), ahead of what the streams sent."""
        mark = _mark()
        for stream, consumer, content in self._connect_copies(message, deep=True):
            self._call(stream, consumer, message, content, kwargs)
        reply_channel(message).send({"accept": True})
        _accept_first(mark)

    def disconnect(self, message: Message, **kwargs: Any) -> None:
        """Runs once the socket has closed: forwards it to every stream consumer."""
        for stream, consumer, content in self._connect_copies(message, deep=False):
            self._call(stream, consumer, message, content, kwargs)

    def receive(self, content: Any = None, **kwargs: Any) -> None:  # type: ignore[override]
        """Runs for each frame: checks it and hands its payload to its stream."""
        parsed = self._parse(content)
        if isinstance(parsed, str):
            counters.refused("invalid_frame")
            return self.handle_invalid_frame(parsed, **kwargs)
        stream, payload, consumer, target = parsed
        if consumer is not None:
            self._call(
                stream,
                consumer,
                self.message,
                self._frame_for(payload),
                kwargs,
                payload,
            )
        elif target is not None:
            self._forward_to_channel(target, payload)
        return None

    def _call(
        self, stream, consumer, message, content, kwargs, decoded=UNDECODED
    ) -> None:
        stream_message, call_kwargs = self._stream_call(
            stream, message, content, kwargs, decoded
        )
        try:
            if is_async_consumer(consumer):
                # An async stream consumer under a sync demultiplexer: run it on the
                # loop from this worker thread.
                from asgiref.sync import async_to_sync

                async def run() -> None:
                    await consumer(stream_message, **call_kwargs)

                async_to_sync(run)()
            else:
                consumer(stream_message, **call_kwargs)
        except _SOCKET_EXCEPTIONS:
            raise
        except Exception as exc:
            if not _isolated():
                raise
            self._log_stream_error(stream, consumer, message, exc)


class AsyncWebsocketDemultiplexer(DemultiplexerMixin, AsyncJsonWebsocketConsumer):
    """The async twin of :class:`WebsocketDemultiplexer`: runs on the event loop.

    Async stream consumers (``AsyncJsonWebsocketConsumer`` subclasses, ``async def``
    functions) run with no thread hop; sync ones hop to the socket's thread.
    """

    async def connect(self, message: Message, **kwargs: Any) -> None:
        mark = _mark()
        for stream, consumer, content in self._connect_copies(message, deep=True):
            await self._call(stream, consumer, message, content, kwargs)
        await reply_channel(message).asend({"accept": True})
        _accept_first(mark)

    async def disconnect(self, message: Message, **kwargs: Any) -> None:
        for stream, consumer, content in self._connect_copies(message, deep=False):
            await self._call(stream, consumer, message, content, kwargs)

    async def receive(self, content: Any = None, **kwargs: Any) -> None:  # type: ignore[override]
        parsed = self._parse(content)
        if isinstance(parsed, str):
            counters.refused("invalid_frame")
            await self.handle_invalid_frame(parsed, **kwargs)
            return
        stream, payload, consumer, target = parsed
        if consumer is not None:
            await self._call(
                stream,
                consumer,
                self.message,
                self._frame_for(payload),
                kwargs,
                payload,
            )
        elif target is not None:
            self._forward_to_channel(target, payload)

    async def _call(
        self, stream, consumer, message, content, kwargs, decoded=UNDECODED
    ) -> None:
        stream_message, call_kwargs = self._stream_call(
            stream, message, content, kwargs, decoded
        )
        try:
            if is_async_consumer(consumer):
                result = consumer(stream_message, **call_kwargs)
                if inspect.isawaitable(result):
                    await result
            else:
                # A sync stream consumer: one hop to the socket's own thread, in this
                # context, so its sends join the demultiplexer's buffer.
                await run_blocking(
                    functools.partial(consumer, **call_kwargs), stream_message
                )
        except _SOCKET_EXCEPTIONS:
            raise
        except Exception as exc:
            if not _isolated():
                raise
            self._log_stream_error(stream, consumer, message, exc)
