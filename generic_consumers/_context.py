"""Per-consumer context: the send buffer and the socket the consumer runs for.

Both live in context variables, so a sync consumer in a worker thread (which runs in a
copy of the caller's context) and an async consumer on the loop see the same thing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any

from asgiref.sync import async_to_sync

from ._envelope import Pending

# Sends made while a consumer runs are collected here and flushed when it returns.
pending_sends: ContextVar[list[Pending] | None] = ContextVar(
    "generic_consumers_pending", default=None
)
# The socket whose consumer is running; its own replies skip the handshake hold.
current_origin: ContextVar[object] = ContextVar(
    "generic_consumers_origin", default=None
)


def run_sync(func: Callable[..., Awaitable[Any]], *args: Any, twin: str) -> Any:
    """Run the coroutine function ``func`` from sync code, refusing to block a loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return async_to_sync(func)(*args)
    raise RuntimeError(
        f"This sync method was called from async code, where it would block the event "
        f"loop; use 'await {twin}(...)' instead."
    )
