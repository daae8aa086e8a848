"""What a consumer's result means, for every kind of channel, in one place.

- It returns: ``DONE``.
- It raises ``ChannelSocketException``: the exception's ``run(message)`` acts, in a
  turn of its own after the consumer's sends; ``DONE``.
- It raises ``ConsumeLater``: ``RETRY`` while tries are left (a socket queues the event
  behind newer ones, a worker sends the message back onto its channel), then
  ``GAVE_UP``, logged.
- It raises ``DenyConnection``: ``DENIED`` on a socket (the handshake is rejected, or
  the socket closed once open); on a named channel it is logged and ignored.
- It raises anything else: ``FAILED``, logged with the consumer, channel and path. A
  socket rejects its handshake when that happens during connect; otherwise it stays
  open (1.x).
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable
from typing import Any

from ..exceptions import (
    ChannelSocketException,
    ConsumeLater,
    DenyConnection,
    WebsocketCloseException,
)
from .context import Turn
from .counters import counters
from .host import LocalSocket
from .invoke import run_turn
from .placement import runs_on_loop
from .threads import SyncThread

__all__ = ["Outcome", "consume", "consumer_name"]

logger = logging.getLogger("generic_consumers")


class Outcome(enum.Enum):
    DONE = "done"
    RETRY = "retry"
    GAVE_UP = "gave up"
    DENIED = "denied"
    FAILED = "failed"


def consumer_name(consumer: Any) -> str:
    return getattr(consumer, "__qualname__", None) or repr(consumer)


async def consume(
    consumer: Callable[..., Any],
    message: Any,
    kwargs: dict[str, Any],
    *,
    socket: LocalSocket | None = None,
    thread: SyncThread | None = None,
    tries: int = 0,
    max_retries: int = 10,
    turn: Turn | None = None,
) -> Outcome:
    """Run ``consumer`` for ``message`` and say what its result means."""
    channel = message.channel_name
    try:
        await run_turn(
            consumer,
            message,
            kwargs,
            on_loop=runs_on_loop(consumer, channel),
            socket=socket,
            thread=thread,
            turn=turn,
        )
    except ChannelSocketException as exc:
        # Ours only buffers a reply; a user's subclass may block: give it the thread.
        loop_safe = type(exc) is WebsocketCloseException
        try:
            await run_turn(
                _run_exception,
                message,
                {"exc": exc},
                on_loop=loop_safe,
                socket=socket,
                thread=thread,
            )
        except Exception as error:
            _log_error(consumer, message, error)
            return Outcome.FAILED
    except ConsumeLater:
        if tries < max_retries:
            return Outcome.RETRY
        logger.warning(
            "Dropped %r for path %r: %s raised ConsumeLater %d times",
            channel,
            message.content.get("path"),
            consumer_name(consumer),
            tries + 1,
        )
        return Outcome.GAVE_UP
    except DenyConnection:
        if socket is None:
            logger.warning(
                "%s raised DenyConnection on %r, which has no handshake to deny; "
                "ignored.",
                consumer_name(consumer),
                channel,
            )
            return Outcome.DONE
        return Outcome.DENIED
    except Exception as exc:
        _log_error(consumer, message, exc)
        return Outcome.FAILED
    return Outcome.DONE


def _run_exception(message: Any, exc: ChannelSocketException) -> None:
    exc.run(message)


def _log_error(consumer: Any, message: Any, exc: BaseException) -> None:
    counters.add("consumer_errors")
    logger.error(
        "Consumer %s raised %s while handling %r (path %r)",
        consumer_name(consumer),
        type(exc).__name__,
        message.channel_name,
        message.content.get("path"),
        exc_info=exc,
    )
