"""How the runtime tells an async consumer from a sync one (decided once per route)."""

from __future__ import annotations

import functools
import inspect
from typing import Any


def is_async_consumer(consumer: Any) -> bool:
    """True for ``async def`` functions and classes that declare ``is_async = True``.

    Async consumers run on the event loop; everything else runs in a worker thread.
    """
    while isinstance(consumer, functools.partial):
        consumer = consumer.func
    if inspect.isclass(consumer):
        return bool(getattr(consumer, "is_async", False))
    return inspect.iscoroutinefunction(consumer) or inspect.iscoroutinefunction(
        getattr(consumer, "__call__", None)  # noqa: B004 - callables with async __call__
    )
