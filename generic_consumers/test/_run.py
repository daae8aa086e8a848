"""Run one consumer the way 1.x tests did: now, in the caller's thread.

The production path (``_runtime.run_consumer``) hops to a worker thread; a test wants
the consumer in its own thread (so it shares the test's database transaction) and its
sends visible the moment ``consume()`` returns. The buffering is the production one:
sends go into ``_context.pending_sends`` and are flushed with ``_envelope.flush`` in a
``finally``, even when the consumer raises.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from asgiref.sync import async_to_sync

from .. import _envelope
from .._context import current_origin, pending_sends
from .._runtime import run_consumer
from ..exceptions import ChannelSocketException
from ..message import Message


def call_consumer(
    consumer: Callable[..., Any],
    is_async: bool,
    message: Message,
    kwargs: dict[str, Any],
) -> Any:
    """Call ``consumer(message, **kwargs)`` and flush its sends; return its result.

    ``ChannelSocketException`` is turned into its ``run(message)``; every other
    exception propagates (1.x's test client did the same, unlike its worker).
    """
    if is_async:
        # The async path of the runtime, on a loop of its own; the consumer's database
        # calls (database_sync_to_async) come back to this thread.
        return async_to_sync(run_consumer)(
            consumer, True, message, kwargs, origin=None, executor=None
        )
    pending: list[_envelope.Pending] = []
    pending_token = pending_sends.set(pending)
    origin_token = current_origin.set(None)
    try:
        try:
            result = consumer(message, **kwargs)
        except ChannelSocketException as exc:
            exc.run(message)
            result = None
        return result
    finally:
        pending_sends.reset(pending_token)
        current_origin.reset(origin_token)
        if pending:
            async_to_sync(_envelope.flush)(pending, None)
