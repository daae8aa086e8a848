"""Replies on one stream of a multiplexed socket: ``WebsocketMultiplexer``, and the
message and reply channel a stream consumer sees.

A frame is ``{"stream": "<name>", "payload": {...}}`` in both directions. The server
closes one stream, and only that one, with ``{"stream": "<name>", "close": true}`` (or
a close code instead of ``true``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..channel import Channel, Group
from ..exceptions import validate_close_code
from ..message import Message
from ..runtime import tasks
from .frames import UNDECODED, encode_json

if TYPE_CHECKING:
    from ..layers import ChannelLayerWrapper

__all__ = ["StreamMessage", "StreamReplyChannel", "WebsocketMultiplexer"]


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

    async def asend(self, payload: Any) -> None:
        """Async twin of :meth:`send`."""
        await self.reply_channel.asend(self.encode(self.stream, payload))

    def close(self, code: Any = True) -> None:
        """Close this stream only: the socket and its other streams stay open.

        The client gets ``{"stream": stream, "close": code}`` (``true``, or the close
        code given: 1000 or 3000-4999), which the WebSocketBridge hands to
        ``bridge.stream(name).onclose``. The stream's background tasks are cancelled;
        the stream stays routable, so a later frame from the client on it reaches its
        consumer again.
        """
        self.reply_channel.send(self.encode_close(self.stream, code))
        self._stop_tasks()

    async def aclose(self, code: Any = True) -> None:
        """Async twin of :meth:`close`."""
        await self.reply_channel.asend(self.encode_close(self.stream, code))
        self._stop_tasks()

    def _stop_tasks(self) -> None:
        socket = tasks.task_socket()
        if socket is not None:
            tasks.stop_stream(socket, self.stream)

    @classmethod
    def encode_json(cls, content: Any) -> str:
        """JSON with Django's encoder (dates, decimals, UUIDs); override to change."""
        return encode_json(content)

    @classmethod
    def encode(cls, stream: str, payload: Any) -> dict[str, Any]:
        """Reply content carrying ``payload`` on ``stream`` (a ``{"text": ...}``
        dict, ready for ``reply_channel.send`` or ``Group.send``)."""
        return {"text": cls.encode_json({"stream": stream, "payload": payload})}

    @classmethod
    def encode_close(cls, stream: str, code: Any = True) -> dict[str, Any]:
        """Reply content that closes ``stream`` only (see :meth:`close`); for named
        channel consumers (``mapping`` streams) and group sends."""
        return {
            "text": cls.encode_json(
                {"stream": stream, "close": validate_close_code(code)}
            )
        }

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


class StreamReplyChannel(Channel):
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


class StreamMessage(Message):
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
        decoded: Any = UNDECODED,
    ) -> None:
        super().__init__(content, channel_name, channel_layer)
        self.demultiplexer_stream = stream
        # The frame's payload, already decoded by the demultiplexer; ``text`` still
        # holds it as JSON for consumers that read it (1.x ones, bindings).
        self.decoded_payload = decoded

    @property
    def reply_channel(self) -> Channel | None:
        if self._reply_channel is False:
            name = self.content.get("reply_channel")
            self._reply_channel = (
                StreamReplyChannel(name, channel_layer=self.channel_layer)
                if name
                else None
            )
        return self._reply_channel  # type: ignore[return-value]
