"""``RateLimitMiddleware``: frames per second per socket, else close 1008."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from ..runtime.counters import counters
from .base import Event, FrameMiddleware, Handler, Socket

__all__ = ["RateLimitMiddleware"]

logger = logging.getLogger("generic_consumers")

POLICY_VIOLATION = 1008


class RateLimitMiddleware(FrameMiddleware):
    """Close a socket whose client sends frames faster than ``rate`` per second.

    A token bucket per socket: it holds ``burst`` frames (default: ``rate``, at least
    one) and refills at ``rate`` frames per second. The frame that finds it empty is
    dropped, the socket is closed with ``code`` (default 1008, policy violation) and
    one warning line says so; frames still in flight after that reach no consumer.
    Only ``websocket.receive`` events count. ``clock`` (seconds, default
    ``time.monotonic``) is for tests.
    """

    def __init__(
        self,
        handler: Handler,
        *,
        rate: float = 20.0,
        burst: int | None = None,
        code: int = POLICY_VIOLATION,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(handler)
        if isinstance(rate, bool) or not isinstance(rate, int | float) or rate <= 0:
            raise ValueError(
                f"RateLimitMiddleware: rate must be a positive number of frames per "
                f"second, not {rate!r}."
            )
        if burst is None:
            burst = max(1, int(rate))
        if isinstance(burst, bool) or not isinstance(burst, int) or burst < 1:
            raise ValueError(
                f"RateLimitMiddleware: burst must be a whole number of frames >= 1, "
                f"not {burst!r}."
            )
        self.rate = float(rate)
        self.burst = burst
        self.code = code
        self.clock = clock

    async def inbound(self, socket: Socket, event: Event) -> None:
        if event["type"] != "websocket.receive":
            await self.handler(socket, event)  # type: ignore[misc]
            return
        now = self.clock()
        bucket = socket.state.get(self)
        if bucket is None:
            bucket = socket.state[self] = [float(self.burst), now]
        tokens = bucket[0]
        if tokens < 0:  # already closed by us: what is still in flight goes nowhere
            return
        tokens = min(self.burst, tokens + (now - bucket[1]) * self.rate)
        bucket[1] = now
        if tokens < 1:
            bucket[0] = -1.0
            counters.refused("rate_limit")
            logger.warning(
                "Closing socket on %r with %d: its client sent more than %s frames "
                "per second (burst %d).",
                socket.path,
                self.code,
                _number(self.rate),
                self.burst,
            )
            await self.close(socket, self.code)
            return
        bucket[0] = tokens - 1
        await self.handler(socket, event)  # type: ignore[misc]


def _number(value: float) -> str:
    return str(int(value)) if value == int(value) else str(value)
