"""Log lines an operator can live with: bounded in size, and not one per frame.

A client controls what it sends, so anything quoted from a frame is cut to a few
hundred characters, and the warnings one socket causes are rate-limited: a burst is
logged, then one line says how many were held back.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from typing import Any

__all__ = ["Throttle", "frame_warnings", "shorten"]

QUOTE_LIMIT = 200  # characters of a client's value quoted in a log line


def shorten(value: Any, limit: int = QUOTE_LIMIT) -> str:
    """``repr(value)``, cut to ``limit`` characters with the full length said."""
    text = repr(value)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text)} characters)"


class Throttle:
    """At most ``burst`` lines per key per ``window`` seconds; then a count."""

    def __init__(self, burst: int = 5, window: float = 10.0, keys: int = 10_000):
        self.burst = burst
        self.window = window
        self.keys = keys
        # key -> [window start, lines logged in it, lines held back]
        self._seen: OrderedDict[str, list[float]] = OrderedDict()
        # key -> where its held-back count goes when the key is forgotten
        self._sinks: dict[str, tuple[logging.Logger, int]] = {}

    def log(
        self, logger: logging.Logger, level: int, key: str, msg: str, *args: Any
    ) -> None:
        now = time.monotonic()
        entry = self._seen.get(key)
        if entry is None or now - entry[0] >= self.window:
            held = int(entry[2]) if entry is not None else 0
            if held:
                logger.log(level, "%d similar line(s) for %s were held back", held, key)
            entry = self._seen[key] = [now, 0, 0]
            self._seen.move_to_end(key)
            while len(self._seen) > self.keys:
                self._sinks.pop(self._seen.popitem(last=False)[0], None)
        if entry[1] < self.burst:
            entry[1] += 1
            logger.log(level, msg, *args)
        else:
            entry[2] += 1
            self._sinks[key] = (logger, level)

    def forget(self, key: str) -> None:
        """Drop ``key`` (its socket closed), saying how many lines were held back."""
        entry = self._seen.pop(key, None)
        sink = self._sinks.pop(key, None)
        if entry is not None and entry[2] and sink is not None:
            logger, level = sink
            logger.log(
                level, "%d similar line(s) for %s were held back", int(entry[2]), key
            )


# Warnings about what clients send, keyed by the socket's reply channel.
frame_warnings = Throttle()
