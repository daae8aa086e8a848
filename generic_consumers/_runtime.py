"""Running one consumer for one message: the single place sync and async meet."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from typing import Any

from ._context import current_origin, pending_sends
from ._envelope import Pending, flush
from ._threads import SyncThread, sync_threads
from .exceptions import ChannelSocketException
from .message import Message

logger = logging.getLogger("generic_consumers")


async def run_consumer(
    consumer: Callable[..., Any],
    on_loop: bool,
    message: Message,
    kwargs: dict[str, Any],
    *,
    origin: object,
    executor: SyncThread | None,
) -> Any:
    """Call ``consumer(message, **kwargs)`` and flush what it sent.

    With ``on_loop`` (async consumers, and sync handlers that cannot block) it runs
    here on the loop; otherwise in ``executor`` (one thread hop).
    Buffered sends are flushed even when the consumer raises (1.x did); the exception
    then propagates to the caller, which applies the policy for its kind of channel.
    """
    pending: list[Pending] = []
    try:
        if on_loop:
            pending_token = pending_sends.set(pending)
            origin_token = current_origin.set(origin)
            try:
                result = consumer(message, **kwargs)
                if inspect.isawaitable(result):
                    result = await result
            except ChannelSocketException as exc:
                exc.run(message)
                result = None
            finally:
                pending_sends.reset(pending_token)
                current_origin.reset(origin_token)
            return result
        return await sync_threads.run(
            executor or sync_threads.pick(),
            _call_sync,
            consumer,
            message,
            kwargs,
            pending,
            origin,
        )
    finally:
        if pending:
            await flush(pending, origin)


def _call_sync(
    consumer: Callable[..., Any],
    message: Message,
    kwargs: dict[str, Any],
    pending: list[Pending],
    origin: object,
) -> Any:
    # Runs in a copied context inside the worker thread: these sets die with it.
    pending_sends.set(pending)
    current_origin.set(origin)
    try:
        return consumer(message, **kwargs)
    except ChannelSocketException as exc:
        exc.run(message)
        return None


def consumer_name(consumer: Any) -> str:
    return getattr(consumer, "__qualname__", None) or repr(consumer)


def log_consumer_error(consumer: Any, message: Message, exc: BaseException) -> None:
    logger.error(
        "Consumer %s raised %s while handling %r (path %r)",
        consumer_name(consumer),
        type(exc).__name__,
        message.channel_name,
        message.content.get("path"),
        exc_info=exc,
    )
