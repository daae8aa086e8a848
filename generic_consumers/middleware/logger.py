"""``FrameLogMiddleware``: one log line per event of a socket, cut to a size."""

from __future__ import annotations

import logging
from typing import Any

from ..runtime.logs import shorten
from .base import Event, FrameMiddleware, Handler, Socket

__all__ = ["FrameLogMiddleware"]


class FrameLogMiddleware(FrameMiddleware):
    """Log every event of a socket, both directions, and pass it on unchanged.

    Options: ``logger`` (name, default ``"generic_consumers.frames"``), ``level``
    (default ``"INFO"``), ``limit`` (characters of a frame's content quoted, default
    200; 0 quotes none — the size is always given), ``inbound`` / ``outbound``
    (log that direction, default both). A line reads
    ``<- /chat/ websocket.receive text, 12 characters: '{"msg": "hi"}'``: ``<-`` came
    from the client, ``->`` goes to it. Nothing is formatted unless the logger is
    enabled for the level.
    """

    def __init__(
        self,
        handler: Handler,
        *,
        logger: str = "generic_consumers.frames",
        level: int | str = "INFO",
        limit: int = 200,
        inbound: bool = True,
        outbound: bool = True,
    ) -> None:
        super().__init__(handler)
        self.logger = logging.getLogger(logger)
        self.level = level if isinstance(level, int) else logging.getLevelName(level)
        if not isinstance(self.level, int):
            raise ValueError(f"FrameLogMiddleware: unknown level {level!r}.")
        if not isinstance(limit, int) or limit < 0:
            raise ValueError(
                f"FrameLogMiddleware: limit must be a number of characters (>= 0), "
                f"not {limit!r}."
            )
        self.limit = limit
        self.directions = {"<-": inbound, "->": outbound}

    async def inbound(self, socket: Socket, event: Event) -> None:
        self._log("<-", socket, event)
        await self.handler(socket, event)  # type: ignore[misc]

    async def outbound(self, socket: Socket, event: Event) -> None:
        self._log("->", socket, event)
        await self.handler(socket, event)  # type: ignore[misc]

    def _log(self, arrow: str, socket: Socket, event: Event) -> None:
        if not (self.directions[arrow] and self.logger.isEnabledFor(self.level)):
            return
        self.logger.log(
            self.level,
            "%s %s %s%s",
            arrow,
            socket.path,
            event["type"],
            self._what(event),
        )

    def _what(self, event: Event) -> str:
        text, data = event.get("text"), event.get("bytes")
        if text is not None:
            return f" text, {len(text)} characters{self._quote(text)}"
        if data is not None:
            return f" bytes, {len(data)} bytes{self._quote(data)}"
        details = [
            f"{key} {event[key]!r}"
            for key in ("code", "subprotocol", "reason")
            if event.get(key) is not None
        ]
        return (" " + ", ".join(details)) if details else ""

    def _quote(self, value: Any) -> str:
        return f": {shorten(value, self.limit)}" if self.limit else ""
