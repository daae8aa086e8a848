"""Exceptions a consumer may raise or catch, with the 1.x names."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from channels.exceptions import ChannelFull

if TYPE_CHECKING:
    from .message import Message

__all__ = [
    "ChannelFull",
    "ChannelSocketException",
    "ConsumeLater",
    "DenyConnection",
    "SendNotAvailableOnDemultiplexer",
    "WebsocketCloseException",
]


class ConsumeLater(Exception):
    """Raise to have the current message handled again later.

    On a socket the message goes back behind the socket's pending events; on a named
    channel it is sent back onto that channel. After ``MESSAGE_RETRIES`` attempts it is
    dropped with a warning.
    """


class DenyConnection(Exception):
    """Raise in a ``websocket.connect`` consumer to reject the handshake (HTTP 403).

    Raised after the socket was accepted, it closes the socket.
    """


class ChannelSocketException(Exception):
    """Base class for exceptions that act on the socket instead of being logged.

    The runtime calls :meth:`run` with the message being handled.
    """

    def run(self, message: Message) -> None:
        raise NotImplementedError(
            f"{type(self).__name__} must implement run(message) to act on the socket."
        )


def validate_close_code(code: Any) -> int | bool:
    """Return ``code`` if it is a valid application close code, else ValueError."""
    if code is True:
        return True
    if isinstance(code, int) and not isinstance(code, bool):
        if code == 1000 or 3000 <= code <= 4999:
            return code
    raise ValueError(
        f"Invalid WebSocket close code {code!r}: use True (1000), 1000, or 3000-4999."
    )


class WebsocketCloseException(ChannelSocketException):
    """Raise in a WebSocket consumer to close the socket with ``code`` (or 1000)."""

    def __init__(self, code: int | None = None) -> None:
        super().__init__(code)
        self._code = validate_close_code(code) if code is not None else True

    def run(self, message: Message) -> None:
        if message.reply_channel is None:
            raise ValueError(
                "WebsocketCloseException raised while handling "
                f"{message.channel.name!r}, "
                "which has no reply_channel to close."
            )
        message.reply_channel.send({"close": self._code})


class SendNotAvailableOnDemultiplexer(Exception):
    """A consumer behind a demultiplexer must reply through its ``multiplexer``."""
