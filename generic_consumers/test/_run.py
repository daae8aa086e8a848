"""Run one consumer the way 1.x tests did: now, in the caller's thread.

The production path (``runtime.invoke.run_turn``) hops to a worker thread; a test
wants the consumer in its own thread (so it shares the test's database transaction)
and its sends visible the moment ``consume()`` returns. The buffering is the
production one: the consumer runs in a ``Turn`` and its sends are carried out with
``runtime.delivery.finish`` in a ``finally``, even when it raises.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from asgiref.sync import async_to_sync

from ..exceptions import ChannelSocketException
from ..message import Message
from ..runtime.context import Turn, entered
from ..runtime.delivery import finish
from ..runtime.invoke import run_turn
from ..runtime.placement import is_async_consumer


def call_consumer(
    consumer: Callable[..., Any], message: Message, kwargs: dict[str, Any]
) -> Any:
    """Call ``consumer(message, **kwargs)`` and flush its sends; return its result.

    ``ChannelSocketException`` is turned into its ``run(message)``; every other
    exception propagates (1.x's test client did the same, unlike its worker).
    """
    if is_async_consumer(consumer):
        # The async path of the runtime, on a loop of its own; the consumer's database
        # calls (database_sync_to_async) come back to this thread.
        return async_to_sync(_run_async)(consumer, message, kwargs)
    # No loop in this thread: membership changes happen as they are called.
    turn = Turn(strict=True)
    try:
        with entered(turn):
            try:
                return consumer(message, **kwargs)
            except ChannelSocketException as exc:
                exc.run(message)
                return None
    finally:
        if turn.pending:
            async_to_sync(finish)(turn)


async def _run_async(
    consumer: Callable[..., Any], message: Message, kwargs: dict[str, Any]
) -> Any:
    turn = Turn(loop=asyncio.get_running_loop(), strict=True)
    try:
        return await run_turn(consumer, message, kwargs, on_loop=True, turn=turn)
    except ChannelSocketException as exc:
        await run_turn(exc.run, message, {}, on_loop=True)
        return None
