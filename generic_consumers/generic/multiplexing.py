"""Many JSON streams over one WebSocket: ``WebsocketMultiplexer`` and
``WebsocketDemultiplexer``.

A frame is ``{"stream": "<name>", "payload": {...}}`` in both directions. The
demultiplexer hands an inbound payload either to a consumer class running for this
socket (``consumers``, the 1.0/1.1 code) or to a named channel (``mapping``, the 0.17
code that the 1.x docs still describe). Import the classes from
``generic_consumers.generic.websockets``.
"""

from __future__ import annotations

import copy
import logging
from typing import TYPE_CHECKING, Any, ClassVar

from ..channel import Channel, Group
from ..exceptions import (
    ChannelSocketException,
    ConsumeLater,
    DenyConnection,
    SendNotAvailableOnDemultiplexer,
    validate_close_code,
)
from ..message import Message
from .websockets import JsonWebsocketConsumer, _json_encoder, _reply_channel

if TYPE_CHECKING:
    from ..layers import ChannelLayerWrapper

__all__ = ["WebsocketDemultiplexer", "WebsocketMultiplexer"]

logger = logging.getLogger("generic_consumers")

# What session and auth decorators hang on a message; a stream consumer's own copy of
# the message keeps them, so it sees the demultiplexer's session and user.
_MESSAGE_ATTRIBUTES = ("channel_session", "http_session", "user")


class WebsocketMultiplexer:
    """Replies on one stream of one socket: ``multiplexer.send(payload)``.

    The demultiplexer passes one to each stream consumer as the ``multiplexer``
    keyword argument. Sends are buffered like any other send inside a consumer.
    """

    def __init__(self, stream: str, reply_channel: Channel) -> None:
        self.stream = stream
        self.reply_channel = reply_channel

    def send(self, payload: Any) -> None:
        """Send ``payload`` to this socket, framed for this stream."""
        self.reply_channel.send(self.encode(self.stream, payload))

    @classmethod
    def encode_json(cls, content: Any) -> str:
        """JSON with Django's encoder (dates, decimals, UUIDs); override to change."""
        return _json_encoder.encode(content)

    @classmethod
    def encode(cls, stream: str, payload: Any) -> dict[str, Any]:
        """Reply content carrying ``payload`` on ``stream`` (a ``{"text": ...}``
        dict, ready for ``reply_channel.send`` or ``Group.send``)."""
        return {"text": cls.encode_json({"stream": stream, "payload": payload})}

    @classmethod
    def group_send(
        cls, name: str, stream: str, payload: Any, close: Any = False
    ) -> None:
        """Send ``payload`` on ``stream`` to every socket in the group ``name``.

        ``close`` (True or a close code) closes each socket after the frame.
        """
        content = cls.encode(stream, payload)
        if close:
            content["close"] = validate_close_code(close)
        Group(name).send(content)


class _StreamReplyChannel(Channel):
    """The reply channel as a stream consumer sees it.

    The demultiplexer accepts the socket once, after every stream consumer's
    ``connect`` ran, so the accepts those send (``WebsocketConsumer.connect`` does by
    default) are dropped here; everything else reaches the socket unchanged.
    """

    def send(self, content: dict[str, Any], immediately: bool = False) -> None:
        if isinstance(content, dict) and content.get("accept") is True:
            content = {k: v for k, v in content.items() if k != "accept"}
            if not content:
                return
        super().send(content, immediately)

    async def asend(self, content: dict[str, Any], immediately: bool = False) -> None:
        if isinstance(content, dict) and content.get("accept") is True:
            content = {k: v for k, v in content.items() if k != "accept"}
            if not content:
                return
        await super().asend(content, immediately)


class _StreamMessage(Message):
    """A stream consumer's own copy of a socket message.

    ``demultiplexer_stream`` names the stream; ``WebsocketConsumer.send`` refuses to
    run on such a message (replies go through the ``multiplexer``).
    """

    def __init__(
        self,
        content: dict[str, Any],
        channel_name: str,
        channel_layer: ChannelLayerWrapper | None,
        stream: str = "",
    ) -> None:
        super().__init__(content, channel_name, channel_layer)
        self.demultiplexer_stream = stream

    @property
    def reply_channel(self) -> Channel | None:
        if self._reply_channel is False:
            name = self.content.get("reply_channel")
            self._reply_channel = (
                _StreamReplyChannel(name, channel_layer=self.channel_layer)
                if name
                else None
            )
        return self._reply_channel  # type: ignore[return-value]


class WebsocketDemultiplexer(JsonWebsocketConsumer):
    """Routes ``{"stream": ..., "payload": {...}}`` frames by stream name.

    ``consumers = {stream: ConsumerClass}`` runs the class for this socket: every
    stream's consumer gets ``connect`` and ``disconnect``, and the payload of a frame
    as if it were a JSON frame of its own, each with a ``multiplexer`` keyword argument
    to reply through. ``mapping = {stream: "channel.name"}`` sends the payload, with
    ``reply_channel`` and ``path`` set by the server, onto that named channel, where
    routed consumers answer with ``message.reply_channel.send(
    WebsocketDemultiplexer.encode(stream, payload))``. A stream in both goes to
    ``consumers``. Both dicts are the whitelist: any other stream is an invalid frame
    (see :meth:`handle_invalid_frame`).
    """

    #: ``{stream: consumer}``: run for this socket with a ``multiplexer`` kwarg.
    consumers: ClassVar[dict[str, Any]] = {}
    #: ``{stream: "channel.name"}``: payloads are sent onto that named channel.
    mapping: ClassVar[dict[str, str]] = {}
    #: The class of the ``multiplexer`` handed to stream consumers.
    multiplexer_class: ClassVar[type[WebsocketMultiplexer]] = WebsocketMultiplexer

    # -- connect / disconnect ----------------------------------------------------------

    def connect(self, message: Message, **kwargs: Any) -> None:
        """Runs on ``websocket.connect``: forwards it to every stream consumer, then
        accepts the socket (once).

        A stream consumer raising ``DenyConnection`` rejects the socket; any other
        exception is logged and the others still run.
        """
        self._forward_to_all(message, kwargs, deep=True)
        _reply_channel(message).send({"accept": True})

    def disconnect(self, message: Message, **kwargs: Any) -> None:
        """Runs once the socket has closed: forwards it to every stream consumer."""
        self._forward_to_all(message, kwargs, deep=False)

    def _forward_to_all(
        self, message: Message, kwargs: dict[str, Any], *, deep: bool
    ) -> None:
        for stream, consumer in self.consumers.items():
            # Each consumer gets its own copy: one must never see another's changes.
            content = copy.deepcopy(message.content) if deep else dict(message.content)
            try:
                self._call(stream, consumer, message, content, kwargs)
            except (DenyConnection, ChannelSocketException):
                raise
            except Exception as exc:
                self._log_stream_error(stream, consumer, message, exc)

    # -- frames ------------------------------------------------------------------------

    def receive(self, content: Any = None, **kwargs: Any) -> None:  # type: ignore[override]
        """Runs for each frame: checks it and hands its payload to its stream."""
        if not isinstance(content, dict):
            return self.handle_invalid_frame(
                f"frame is a JSON {type(content).__name__}, not an object with "
                "'stream' and 'payload'",
                **kwargs,
            )
        stream = content.get("stream")
        if not isinstance(stream, str) or "payload" not in content:
            return self.handle_invalid_frame(
                "frame needs a string 'stream' and a 'payload'", **kwargs
            )
        payload = content["payload"]
        consumer = self.consumers.get(stream)
        target: str | None = None
        if consumer is None:
            target = self.mapping.get(stream)
        if consumer is None and target is None:
            return self.handle_invalid_frame(f"unknown stream {stream!r}", **kwargs)
        if not isinstance(payload, dict):
            return self.handle_invalid_frame(
                f"payload of stream {stream!r} is not a JSON object", **kwargs
            )
        message = self.message
        if consumer is not None:
            frame = {
                "reply_channel": message.content["reply_channel"],
                "path": self.path,
                "order": message.content.get("order"),
                "text": self.encode_json(payload),
            }
            try:
                self._call(stream, consumer, message, frame, kwargs)
            except (DenyConnection, ChannelSocketException, ConsumeLater):
                raise
            except Exception as exc:
                self._log_stream_error(stream, consumer, message, exc)
        elif target is not None:
            # The payload was decoded for this frame alone, so it is ours to extend.
            # The server's values win: a client must not pick where replies go.
            payload["reply_channel"] = message.content["reply_channel"]
            payload["path"] = self.path
            Channel(target, channel_layer=message.channel_layer).send(payload)
        return None

    def _call(
        self,
        stream: str,
        consumer: Any,
        message: Message,
        content: dict[str, Any],
        kwargs: dict[str, Any],
    ) -> None:
        stream_message = _StreamMessage(
            content, message.channel_name, message.channel_layer, stream
        )
        for name in _MESSAGE_ATTRIBUTES:
            value = getattr(message, name, None)
            if value is not None:
                setattr(stream_message, name, value)
        reply_channel = _reply_channel(message)
        multiplexer = self.multiplexer_class(stream, reply_channel)
        consumer(stream_message, **{**kwargs, "multiplexer": multiplexer})

    def _log_stream_error(
        self, stream: str, consumer: Any, message: Message, exc: BaseException
    ) -> None:
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

    # -- sending -----------------------------------------------------------------------

    def send(self, *args: Any, **kwargs: Any) -> None:
        """Not available: reply through a stream's ``multiplexer.send(payload)``."""
        raise SendNotAvailableOnDemultiplexer(
            f"{type(self).__name__} cannot send by itself: reply on a stream with "
            "multiplexer.send(payload), or send "
            "WebsocketDemultiplexer.encode(stream, payload) to the reply channel."
        )

    @classmethod
    def group_send(cls, *args: Any, **kwargs: Any) -> None:
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
