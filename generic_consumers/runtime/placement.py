"""Where a consumer runs: on the event loop or in a worker thread.

Decided once per consumer and channel, then cached: consumers are classes and
functions, asked about for every message.
"""

from __future__ import annotations

import functools
import inspect
import weakref
from typing import Any


def is_async_consumer(consumer: Any) -> bool:
    """True for ``async def`` functions and classes that declare ``is_async = True``.

    Async consumers run on the event loop; everything else runs in a worker thread.
    Answers are cached: consumers are classes and functions, asked about per message.
    """
    try:
        return _async_answers[consumer]
    except (KeyError, TypeError):
        pass
    answer = _inspect_async(consumer)
    try:
        _async_answers[consumer] = answer
    except TypeError:  # unhashable: inspected each time
        pass
    return answer


# Weak keys: a consumer class defined inside a test or a factory may go away.
_async_answers: weakref.WeakKeyDictionary[Any, bool] = weakref.WeakKeyDictionary()


def _inspect_async(consumer: Any) -> bool:
    while isinstance(consumer, functools.partial):
        consumer = consumer.func
    if inspect.isclass(consumer):
        return bool(getattr(consumer, "is_async", False))
    return inspect.iscoroutinefunction(consumer) or inspect.iscoroutinefunction(
        getattr(consumer, "__call__", None)  # noqa: B004 - callables with async __call__
    )


def runs_on_loop(consumer: Any, channel: str) -> bool:
    """True when ``consumer`` may run on the event loop for ``channel`` (cached)."""
    try:
        return _loop_answers[consumer][channel]
    except KeyError:
        pass
    except TypeError:  # unhashable or not weakly referenceable: decide every time
        return _decide_loop(consumer, channel)
    answer = _decide_loop(consumer, channel)
    try:
        _loop_answers.setdefault(consumer, {})[channel] = answer
    except TypeError:  # not weakly referenceable: decided again next time
        pass
    return answer


_loop_answers: weakref.WeakKeyDictionary[Any, dict[str, bool]] = (
    weakref.WeakKeyDictionary()
)


def _decide_loop(consumer: Any, channel: str) -> bool:
    """True when ``consumer`` may run on the event loop for ``channel``.

    That is every async consumer, and a sync class whose handler for ``channel`` is
    library code that cannot block (its ``loop_safe_channels()``, e.g. the default
    accept of ``WebsocketConsumer.connect``): a thread hop would buy nothing there.
    """
    if is_async_consumer(consumer):
        return True
    safe = getattr(consumer, "loop_safe_channels", None)
    return inspect.isclass(consumer) and safe is not None and channel in safe()
