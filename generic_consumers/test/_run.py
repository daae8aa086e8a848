"""Run one consumer the way 1.x tests did: now, in the caller's thread.

The production path (``_runtime.run_consumer``) hops to a worker thread; a test wants
the consumer in its own thread (so it shares the test's database transaction) and its
sends visible the moment ``consume()`` returns. The buffering is the production one:
the consumer runs through ``_runtime._call_sync``, and its sends are flushed with
``_envelope.flush`` in a ``finally``, even when it raises.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from typing import Any

from asgiref.sync import async_to_sync

from .. import _envelope
from .._runtime import _call_sync, run_consumer
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
    try:
        # The runtime's own sync call, in a copy of this context (as in a worker
        # thread), so the buffer it sets ends with the call.
        return contextvars.copy_context().run(
            _call_sync, consumer, message, kwargs, pending, None
        )
    finally:
        if pending:
            async_to_sync(_envelope.flush)(pending, None)
