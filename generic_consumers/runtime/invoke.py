"""Running one consumer for one message: the single place sync and async meet.

A consumer runs in a :class:`~.context.Turn`: on the loop (async consumers, and sync
handlers that cannot block) or in one hop to its socket's sticky thread. What it sent
is carried out when it returns, even when it raised (1.x did); the exception then
propagates to :mod:`.outcome`, which decides what it means.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from typing import Any

from .context import Turn, entered
from .delivery import finish
from .host import LocalSocket
from .threads import SyncThread, sync_threads

__all__ = ["run_turn"]


async def run_turn(
    consumer: Callable[..., Any],
    message: Any,
    kwargs: dict[str, Any],
    *,
    on_loop: bool,
    socket: LocalSocket | None = None,
    thread: SyncThread | None = None,
    turn: Turn | None = None,
) -> Any:
    """Call ``consumer(message, **kwargs)`` in a turn (a new one unless given) and
    flush what it sent."""
    if turn is None:
        turn = Turn(socket, thread, asyncio.get_running_loop())
    try:
        with entered(turn):
            if on_loop:
                result = consumer(message, **kwargs)
                if inspect.isawaitable(result):
                    result = await result
                return result
            # The thread runs in a copy of this context: the turn goes with it.
            return await sync_threads.run(
                thread or sync_threads.pick(), _call, consumer, message, kwargs
            )
    finally:
        await finish(turn)


def _call(consumer: Callable[..., Any], message: Any, kwargs: dict[str, Any]) -> Any:
    return consumer(message, **kwargs)
