"""Generic WebSocket consumers with the 1.x API."""

from __future__ import annotations

import json
import logging
from typing import Any, ClassVar

from django.core.serializers.json import DjangoJSONEncoder

from ..channel import Channel, Group
from ..exceptions import SendNotAvailableOnDemultiplexer, validate_close_code
from ..message import Message
from .base import BaseConsumer

__all__ = [
    "JsonWebsocketConsumer",
    "WebsocketConsumer",
    "WebsocketDemultiplexer",
    "WebsocketMultiplexer",
]

logger = logging.getLogger("generic_consumers")

# One encoder instance serves every call: building one per message costs more than
# encoding a small frame.
_json_encoder = DjangoJSONEncoder(separators=(",", ":"))


def _groups(groups: Any) -> list[str]:
    # 1.x iterated a string, joining one group per character; a string is one name.
    if not groups:
        return []
    return [groups] if isinstance(groups, str) else list(groups)


def _reply_channel(message: Message) -> Channel:
    channel = message.reply_channel
    if channel is None:
        raise ValueError(f"{message!r} has no reply_channel to answer on.")
    return channel


def _reply(text: str | None, bytes: bytes | None, close: Any) -> dict[str, Any]:
    if text is not None:
        content: dict[str, Any] = {"text": text}
    elif bytes is not None:
        content = {"bytes": bytes}
    else:
        raise ValueError("send() needs text or bytes; use close() to just close.")
    if close:
        content["close"] = validate_close_code(close)
    return content


class WebsocketConsumer(BaseConsumer):
    """A WebSocket consumer: override ``connect``, ``receive`` and ``disconnect``.

    ``connect`` accepts by default. Sockets join ``connection_groups()`` before
    ``connect`` runs and leave them after ``disconnect`` (and whenever they go away).
    """

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

    def get_handler(self, message: Message, **kwargs: Any) -> Any:
        if self.slight_ordering:
            raise ValueError(
                "slight_ordering is no longer supported (removed in Channels 1.0); "
                "per-socket ordering is always strict here."
            )
        if self.http_user or self.http_user_and_session:
            self.channel_session_user = True
        self.path = message["path"]
        handler = super().get_handler(message, **kwargs)
        if self.http_user_and_session:
            from ..auth import channel_and_http_session_user_from_http

            handler = channel_and_http_session_user_from_http(handler)
        elif self.http_user:
            from ..auth import channel_session_user_from_http

            handler = channel_session_user_from_http(handler)
        # strict_ordering needs no wrapper: a socket's messages run one at a time.
        return handler

    def connection_groups(self, **kwargs: Any) -> list[str]:
        """Groups the socket joins on connect and leaves on disconnect."""
        return _groups(self.groups)

    def raw_connect(self, message: Message, **kwargs: Any) -> None:
        for group in self.connection_groups(**kwargs):
            Group(group, channel_layer=message.channel_layer).add(
                _reply_channel(message)
            )
        self.connect(message, **kwargs)

    def connect(self, message: Message, **kwargs: Any) -> None:
        """Runs on ``websocket.connect``; accepts the socket unless overridden."""
        _reply_channel(message).send({"accept": True})

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
        stream = getattr(self.message, "demultiplexer_stream", None)
        if stream is not None:
            raise SendNotAvailableOnDemultiplexer(
                f"{type(self).__name__} runs for stream {stream!r} of a "
                "demultiplexer; reply with kwargs['multiplexer'].send(payload)."
            )
        _reply_channel(self.message).send(_reply(text, bytes, close))

    @classmethod
    def group_send(
        cls,
        name: str,
        text: str | None = None,
        bytes: bytes | None = None,
        close: Any = False,
    ) -> None:
        """Send a frame to every socket in the group ``name``."""
        Group(name).send(_reply(text, bytes, close))

    def close(self, status: Any = True) -> None:
        """Close the socket with ``status`` (True for 1000, or a code)."""
        _reply_channel(self.message).send({"close": validate_close_code(status)})

    def raw_disconnect(self, message: Message, **kwargs: Any) -> None:
        for group in self.connection_groups(**kwargs):
            Group(group, channel_layer=message.channel_layer).discard(
                _reply_channel(message)
            )
        self.disconnect(message, **kwargs)

    def disconnect(self, message: Message, **kwargs: Any) -> None:
        """Runs once the socket has closed; sends no longer reach it."""


class JsonWebsocketConsumer(WebsocketConsumer):
    """A WebSocket consumer that speaks JSON text frames.

    ``receive(content)`` gets the decoded frame. A frame that is binary or not JSON goes
    to :meth:`handle_invalid_frame` instead (logged; the socket stays open).
    """

    def raw_receive(self, message: Message, **kwargs: Any) -> None:
        text = message.get("text")
        if text is None:
            self.handle_invalid_frame(
                "binary frame; a JSON text frame was expected", **kwargs
            )
            return
        try:
            content = self.decode_json(text)
        except ValueError as exc:
            self.handle_invalid_frame(f"not valid JSON ({exc})", **kwargs)
            return
        self.receive(content, **kwargs)

    def receive(self, content: Any = None, **kwargs: Any) -> None:  # type: ignore[override]
        """Runs for each frame with its decoded JSON ``content``."""

    def handle_invalid_frame(self, reason: str, **kwargs: Any) -> None:
        """Runs for a frame that cannot be decoded; logs a warning. Override to reply
        or close (``self.close(1003)``)."""
        logger.warning(
            "%s refused a frame on %r: %s",
            type(self).__name__,
            getattr(self, "path", None),
            reason,
        )

    def send(self, content: Any, close: Any = False) -> None:  # type: ignore[override]
        """Send ``content`` as a JSON text frame."""
        super().send(text=self.encode_json(content), close=close)

    @classmethod
    def group_send(  # type: ignore[override]
        cls, name: str, content: Any, close: Any = False
    ) -> None:
        Group(name).send(_reply(cls.encode_json(content), None, close))

    @classmethod
    def decode_json(cls, text: str) -> Any:
        return json.loads(text)

    @classmethod
    def encode_json(cls, content: Any) -> str:
        """JSON with Django's encoder, so dates, decimals and UUIDs serialise."""
        return _json_encoder.encode(content)


# Re-exported here, their 1.x import path. At the bottom: multiplexing subclasses
# JsonWebsocketConsumer, so it must find this module's classes defined.
from .multiplexing import WebsocketDemultiplexer, WebsocketMultiplexer  # noqa: E402
