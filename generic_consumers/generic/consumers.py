"""Generic WebSocket consumers with the 1.x API, and their async twins.

The sync and async classes share everything that is not I/O (dispatch, groups,
framing, JSON) through mixins; they differ only in ``def`` versus ``async def``.
Import them from ``generic_consumers.generic.websockets``, their 1.x path.
"""

from __future__ import annotations

from typing import Any, ClassVar

from ..channel import Channel, Group
from ..exceptions import SendNotAvailableOnDemultiplexer, validate_close_code
from ..message import Message
from ..runtime.counters import counters
from .base import AsyncBaseConsumer, BaseConsumer
from .frames import JsonMixin, reply_channel, reply_content
from .tasks import SocketTasksMixin

__all__ = [
    "AsyncJsonWebsocketConsumer",
    "AsyncWebsocketConsumer",
    "JsonWebsocketConsumer",
    "WebsocketConsumer",
    "WebsocketMixin",
]


class WebsocketMixin(SocketTasksMixin):
    """What both WebSocket consumer flavours share: routing, groups, the path, and
    the socket's tasks and keepalive."""

    method_mapping: ClassVar[dict[str, str]] = {
        "websocket.connect": "raw_connect",
        "websocket.receive": "raw_receive",
        "websocket.disconnect": "raw_disconnect",
    }
    http_user: bool = False
    http_user_and_session: bool = False
    strict_ordering: bool = False
    slight_ordering: bool = False
    groups: Any = None
    path: str
    channel_session_user: bool
    message: Message

    def get_handler(self, message: Message, **kwargs: Any) -> Any:
        if self.slight_ordering:
            raise ValueError(
                "slight_ordering is no longer supported (removed in Channels 1.0); "
                "per-socket ordering is always strict here."
            )
        if self.http_user or self.http_user_and_session:
            self.channel_session_user = True
        self.path = message["path"]
        handler = super().get_handler(message, **kwargs)  # type: ignore[misc]
        if self.http_user_and_session:
            from ..auth import channel_and_http_session_user_from_http

            handler = channel_and_http_session_user_from_http(handler)
        elif self.http_user:
            from ..auth import channel_session_user_from_http

            handler = channel_session_user_from_http(handler)
        # strict_ordering needs no wrapper: a socket's messages run one at a time.
        return handler

    def _ownreply_channel(self) -> Channel:
        """The socket's reply channel for this consumer's own ``send``.

        Behind a demultiplexer a stream consumer must reply through the ``multiplexer``
        keyword argument, which frames the payload for its stream.
        """
        stream = getattr(self.message, "demultiplexer_stream", None)
        if stream is not None:
            raise SendNotAvailableOnDemultiplexer(
                f"{type(self).__name__} runs for stream {stream!r} of a "
                "demultiplexer; reply with kwargs['multiplexer'].send(payload)."
            )
        return reply_channel(self.message)

    def connection_groups(self, **kwargs: Any) -> list[str]:
        """Groups the socket joins on connect and leaves on disconnect."""
        groups = self.groups
        if not groups:
            return []
        # 1.x iterated a string, joining one group per character; here it is one name.
        return [groups] if isinstance(groups, str) else list(groups)

    def _join_groups(self, message: Message, kwargs: dict[str, Any]) -> None:
        for group in self.connection_groups(**kwargs):
            Group(group, channel_layer=message.channel_layer).add(
                reply_channel(message)
            )

    def _leave_groups(self, message: Message, kwargs: dict[str, Any]) -> None:
        for group in self.connection_groups(**kwargs):
            Group(group, channel_layer=message.channel_layer).discard(
                reply_channel(message)
            )


class WebsocketConsumer(WebsocketMixin, BaseConsumer):
    """A WebSocket consumer: override ``connect``, ``receive`` and ``disconnect``.

    ``connect`` accepts by default. Sockets join ``connection_groups()`` before
    ``connect`` runs and leave them after ``disconnect`` (and whenever they go away).
    """

    @classmethod
    def loop_safe_channels(cls) -> frozenset[str]:
        """The default ``connect`` (accept) and ``disconnect`` (nothing) only buffer
        replies and group changes: with the default groups, dispatch and no session
        attributes, the runtime runs them on the loop and saves a thread hop."""
        base = WebsocketConsumer
        if (
            cls.channel_session
            or cls.channel_session_user
            or cls.http_user
            or cls.http_user_and_session
            or cls.slight_ordering
            or any(
                getattr(cls, name) is not getattr(base, name)
                for name in ("__init__", "dispatch", "get_handler", "connection_groups")
            )
        ):
            return frozenset()
        safe = set()
        if cls.raw_connect is base.raw_connect and cls.connect is base.connect:
            safe.add("websocket.connect")
        if (
            cls.raw_disconnect is base.raw_disconnect
            and cls.disconnect is base.disconnect
        ):
            safe.add("websocket.disconnect")
        return frozenset(safe)

    def raw_connect(self, message: Message, **kwargs: Any) -> None:
        self._start_keepalive(message)
        self._join_groups(message, kwargs)
        self.connect(message, **kwargs)

    def connect(self, message: Message, **kwargs: Any) -> None:
        """Runs on ``websocket.connect``; accepts the socket unless overridden."""
        reply_channel(message).send({"accept": True})

    def raw_receive(self, message: Message, **kwargs: Any) -> None:
        if "text" in message:
            self.receive(text=message["text"], **kwargs)
        else:
            self.receive(bytes=message["bytes"], **kwargs)

    def receive(
        self, text: str | None = None, bytes: bytes | None = None, **kwargs: Any
    ):
        """Runs for each frame: ``text`` or ``bytes`` is set."""

    def send(
        self, text: str | None = None, bytes: bytes | None = None, close: Any = False
    ) -> None:
        """Send a frame; ``close`` (True or a code) closes the socket after it.

        Behind a demultiplexer this raises ``SendNotAvailableOnDemultiplexer``: reply
        with the ``multiplexer`` keyword argument's ``send(payload)`` instead.
        """
        self._ownreply_channel().send(reply_content(text, bytes, close))

    @classmethod
    def group_send(
        cls,
        name: str,
        text: str | None = None,
        bytes: bytes | None = None,
        close: Any = False,
    ) -> None:
        """Send a frame to every socket in the group ``name``."""
        Group(name).send(reply_content(text, bytes, close))

    def close(self, status: Any = True) -> None:
        """Close the socket with ``status`` (True for 1000, or a code)."""
        reply_channel(self.message).send({"close": validate_close_code(status)})

    def raw_disconnect(self, message: Message, **kwargs: Any) -> None:
        self._leave_groups(message, kwargs)
        self.disconnect(message, **kwargs)

    def disconnect(self, message: Message, **kwargs: Any) -> None:
        """Runs once the socket has closed; sends no longer reach it."""


class JsonWebsocketConsumer(JsonMixin, WebsocketConsumer):
    """A WebSocket consumer that speaks JSON text frames.

    ``receive(content)`` gets the decoded frame. A frame that is binary or not JSON goes
    to :meth:`handle_invalid_frame` instead (logged; the socket stays open).
    """

    def raw_receive(self, message: Message, **kwargs: Any) -> None:
        content, invalid = self._decode_frame(message)
        if invalid is not None:
            counters.refused("invalid_frame")
            self.handle_invalid_frame(invalid, **kwargs)
        else:
            self.receive(content, **kwargs)

    def receive(self, content: Any = None, **kwargs: Any) -> None:  # type: ignore[override]
        """Runs for each frame with its decoded JSON ``content``."""

    def handle_invalid_frame(self, reason: str, **kwargs: Any) -> None:
        """Runs for a frame that cannot be used; logs a warning. Override to reply
        or close (``self.close(4000)``)."""
        self._log_invalid_frame(reason)

    def send(self, content: Any, close: Any = False) -> None:  # type: ignore[override]
        """Send ``content`` as a JSON text frame."""
        super().send(text=self.encode_json(content), close=close)

    @classmethod
    def group_send(  # type: ignore[override]
        cls, name: str, content: Any, close: Any = False
    ) -> None:
        Group(name).send(reply_content(cls.encode_json(content), None, close))


class AsyncWebsocketConsumer(WebsocketMixin, AsyncBaseConsumer):
    """The async twin of :class:`WebsocketConsumer`: same names, ``async def``
    handlers, awaited ``send`` / ``close`` / ``group_send``. Runs on the event loop."""

    async def raw_connect(self, message: Message, **kwargs: Any) -> None:
        self._start_keepalive(message)
        self._join_groups(message, kwargs)
        await self.connect(message, **kwargs)

    async def connect(self, message: Message, **kwargs: Any) -> None:
        """Runs on ``websocket.connect``; accepts the socket unless overridden."""
        await reply_channel(message).asend({"accept": True})

    async def raw_receive(self, message: Message, **kwargs: Any) -> None:
        if "text" in message:
            await self.receive(text=message["text"], **kwargs)
        else:
            await self.receive(bytes=message["bytes"], **kwargs)

    async def receive(
        self, text: str | None = None, bytes: bytes | None = None, **kwargs: Any
    ) -> None:
        """Runs for each frame: ``text`` or ``bytes`` is set."""

    async def send(
        self, text: str | None = None, bytes: bytes | None = None, close: Any = False
    ) -> None:
        await self._ownreply_channel().asend(reply_content(text, bytes, close))

    @classmethod
    async def group_send(
        cls,
        name: str,
        text: str | None = None,
        bytes: bytes | None = None,
        close: Any = False,
    ) -> None:
        await Group(name).asend(reply_content(text, bytes, close))

    async def close(self, status: Any = True) -> None:
        await reply_channel(self.message).asend({"close": validate_close_code(status)})

    async def raw_disconnect(self, message: Message, **kwargs: Any) -> None:
        self._leave_groups(message, kwargs)
        await self.disconnect(message, **kwargs)

    async def disconnect(self, message: Message, **kwargs: Any) -> None:
        """Runs once the socket has closed; sends no longer reach it."""


class AsyncJsonWebsocketConsumer(JsonMixin, AsyncWebsocketConsumer):
    """The async twin of :class:`JsonWebsocketConsumer`."""

    async def raw_receive(self, message: Message, **kwargs: Any) -> None:
        content, invalid = self._decode_frame(message)
        if invalid is not None:
            counters.refused("invalid_frame")
            await self.handle_invalid_frame(invalid, **kwargs)
        else:
            await self.receive(content, **kwargs)

    async def receive(self, content: Any = None, **kwargs: Any) -> None:  # type: ignore[override]
        """Runs for each frame with its decoded JSON ``content``."""

    async def handle_invalid_frame(self, reason: str, **kwargs: Any) -> None:
        """Runs for a frame that cannot be used; logs a warning."""
        self._log_invalid_frame(reason)

    async def send(self, content: Any, close: Any = False) -> None:  # type: ignore[override]
        await super().send(text=self.encode_json(content), close=close)

    @classmethod
    async def group_send(  # type: ignore[override]
        cls, name: str, content: Any, close: Any = False
    ) -> None:
        await Group(name).asend(reply_content(cls.encode_json(content), None, close))
