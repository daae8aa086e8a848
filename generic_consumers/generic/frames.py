"""Frames shared by the WebSocket consumers and the (de)multiplexer: JSON encoding,
1.x reply content, and the reply channel a consumer answers on."""

from __future__ import annotations

import json
import logging
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder

from ..channel import Channel
from ..exceptions import validate_close_code
from ..message import Message
from ..runtime.logs import frame_warnings, shorten

__all__ = ["UNDECODED", "JsonMixin", "encode_json", "reply_channel", "reply_content"]

logger = logging.getLogger("generic_consumers")

# One encoder instance serves every call: building one per message costs more than
# encoding a small frame.
_json_encoder = DjangoJSONEncoder(separators=(",", ":"))


def encode_json(content: Any) -> str:
    """JSON with Django's encoder, so dates, decimals and UUIDs serialise."""
    return _json_encoder.encode(content)


# Marks a message whose payload was not decoded ahead of its consumer.
UNDECODED: Any = object()


def reply_channel(message: Message) -> Channel:
    channel = message.reply_channel
    if channel is None:
        raise ValueError(f"{message!r} has no reply_channel to answer on.")
    return channel


def reply_content(text: str | None, bytes: bytes | None, close: Any) -> dict[str, Any]:
    if text is not None:
        content: dict[str, Any] = {"text": text}
    elif bytes is not None:
        content = {"bytes": bytes}
    else:
        raise ValueError("send() needs text or bytes; use close() to just close.")
    if close:
        content["close"] = validate_close_code(close)
    return content


class JsonMixin:
    """JSON framing shared by the JSON consumers (and the demultiplexers)."""

    @classmethod
    def decode_json(cls, text: str) -> Any:
        return json.loads(text)

    @classmethod
    def encode_json(cls, content: Any) -> str:
        """JSON with Django's encoder, so dates, decimals and UUIDs serialise."""
        return encode_json(content)

    def _decode_frame(self, message: Message) -> tuple[Any, str | None]:
        """``(content, None)`` for a good frame, ``(None, reason)`` for a bad one."""
        # Behind a demultiplexer the payload arrives decoded already: with the default
        # decode_json, decoding its text again would give the same value.
        decoded = getattr(message, "decoded_payload", UNDECODED)
        if decoded is not UNDECODED and (
            type(self).decode_json.__func__ is _default_decode_json  # type: ignore[attr-defined]
        ):
            return decoded, None
        text = message.get("text")
        if text is None:
            return None, "binary frame; a JSON text frame was expected"
        try:
            return self.decode_json(text), None
        except ValueError as exc:
            return None, f"not valid JSON ({shorten(str(exc))})"
        except RecursionError:
            return None, "not valid JSON (nested too deeply)"

    def _log_invalid_frame(self, reason: str) -> None:
        message = getattr(self, "message", None)
        reply = message.content.get("reply_channel", "") if message else ""
        frame_warnings.log(
            logger,
            logging.WARNING,
            f"socket {reply!r}",
            "%s refused a frame on %r: %s",
            type(self).__name__,
            getattr(self, "path", None),
            reason,
        )


_default_decode_json = JsonMixin.decode_json.__func__  # type: ignore[attr-defined]
