"""Living through channel-layer faults: which errors pass, backoff, quiet logging.

When Redis goes away, every socket's listener, every worker loop and every membership
change fails at once. Each of them retries on its own (with jittered backoff, so a
thousand sockets do not hammer a recovering server in lock-step), but the process logs
the outage once, and once more when the layer answers again: one line per outage per
process, not one per socket per second.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import weakref
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

from ..conf import get_settings
from .counters import counters
from .logs import Throttle

T = TypeVar("T")

logger = logging.getLogger("generic_consumers")

# Backoff for loops that must keep going (listeners, workers): first retry after
# about BACKOFF_FIRST seconds, doubling up to BACKOFF_MAX.
BACKOFF_FIRST = 0.25
BACKOFF_MAX = 5.0


def _transient_types() -> tuple[type[BaseException], ...]:
    types: list[type[BaseException]] = [OSError, asyncio.TimeoutError, EOFError]
    try:  # redis-py is only there with the "redis" extra
        from redis.exceptions import ConnectionError as RedisConnectionError
        from redis.exceptions import TimeoutError as RedisTimeoutError
    except ImportError:  # pragma: no cover - depends on the installed extras
        pass
    else:
        types += [RedisConnectionError, RedisTimeoutError]
    return tuple(types)


TRANSIENT = _transient_types()
TIMEOUTS: tuple[type[BaseException], ...] = tuple(
    t for t in TRANSIENT if issubclass(t, TimeoutError) or t.__name__ == "TimeoutError"
)
# A receive that timed out after at least this long was idle, not failing: redis-py 8
# reports channels_redis' idle 5-second BZPOPMIN as a TimeoutError.
IDLE_TIMEOUT_MIN = 1.0


def is_transient(exc: BaseException) -> bool:
    """True for errors that mean "the layer is unreachable or busy, try later"."""
    return isinstance(exc, TRANSIENT)


def backoff(first: float = BACKOFF_FIRST, cap: float = BACKOFF_MAX) -> Iterator[float]:
    """Endless jittered exponential delays, from ``first`` doubling up to ``cap``."""
    delay = first
    while True:
        # "Equal jitter": at least half the delay, so retries never bunch up at zero.
        yield delay / 2 + random.uniform(0, delay / 2)
        delay = min(delay * 2, cap)


# An outage ends once the layer has answered for this long without a failure: after a
# Redis restart every stale pooled connection fails once, between successes, and that
# is one outage, not one per connection.
SETTLE_SECONDS = 1.0
# Called when the layer answers again after failing (the membership refresher re-adds
# the groups a restarted Redis forgot), on the loop that saw the success.
on_recovery: list[Callable[[], None]] = []


class OutageLog:
    """Logs the start and the end of a layer outage once per process."""

    def __init__(self) -> None:
        self.down_since: float | None = None
        self.up_since: float | None = None
        self.announced = False  # the start line was logged
        self.failures = 0
        self.lost = 0
        self._ending: asyncio.TimerHandle | None = None

    def failed(self, what: str, exc: BaseException, *, first: bool = False) -> None:
        """Report a failed layer operation; only the first of an outage is an error.

        ``first``: the operation's first attempt, about to be retried. A failure that
        its retry mends (a stale pooled connection after a Redis restart) is no
        outage; the outage starts at a failure that repeats.
        """
        if (
            self.up_since is not None
            and time.monotonic() - self.up_since >= SETTLE_SECONDS
        ):
            self._end()  # it had ended (its timer's loop is gone): this is a new one
        self.failures += 1
        counters.add("layer_failures")
        self.up_since = None
        if self._ending is not None:  # not over yet: the same outage goes on
            self._ending.cancel()
            self._ending = None
        if self.down_since is None:
            self.down_since = time.monotonic()
        if not self.announced and not first:
            self.announced = True
            logger.error(
                "Channel layer unreachable (%s failed: %r). Sockets stay open; "
                "listeners, workers and group memberships retry quietly until it "
                "is back.",
                what,
                exc,
            )
        else:
            logger.debug("Channel layer still unreachable (%s failed: %r)", what, exc)

    def gave_up(self) -> None:
        """Count an operation given up for good (its own error line names it)."""
        self.lost += 1
        counters.add("layer_given_up")

    def recovered(self) -> None:
        """Report a successful layer operation (cheap when nothing was wrong).

        The end of the outage is logged once the layer has answered for
        ``SETTLE_SECONDS`` without a failure.
        """
        if self.down_since is None or self.up_since is not None:
            return
        self.up_since = time.monotonic()
        for hook in list(on_recovery):
            hook()
        if not self.announced:
            _blips.log(
                logger,
                logging.INFO,
                "layer",
                "Channel layer connections failed %d time(s) and worked on retry "
                "(stale connections after a Redis restart or failover look so).",
                self.failures,
            )
            self._reset()
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is None or SETTLE_SECONDS <= 0:
            self._end()
        else:
            self._ending = loop.call_later(SETTLE_SECONDS, self._end)

    def _reset(self) -> None:
        self.down_since = self.up_since = None
        self.announced = False
        self.failures = 0
        self.lost = 0

    def _end(self) -> None:
        self._ending = None
        if self.down_since is None or self.up_since is None:
            return
        logger.warning(
            "Channel layer reachable again after %.1f s (%d failed attempts "
            "retried in between, %d operations given up).",
            self.up_since - self.down_since,
            self.failures,
            self.lost,
        )
        self._reset()


outage = OutageLog()
# Mended failures: one line a minute at most, the rest counted.
_blips = Throttle(burst=1, window=60.0)


def _cancel_pending() -> bool:
    task = asyncio.current_task()
    cancelling = getattr(task, "cancelling", None)  # Python 3.11+
    return bool(cancelling and cancelling())


async def receive(raw: Any, channel: str, what: str) -> dict[str, Any]:
    """``raw.receive(channel)`` until a message arrives, whatever the layer does.

    Failures are retried with jittered backoff and reported to the outage log; an
    idle receive that merely timed out is retried at once, silently.
    """
    while True:
        message = await receive_retrying(lambda: raw.receive(channel), what)
        if message is not None:
            return message


async def receive_retrying(call: Callable[[], Awaitable[T]], what: str) -> T | None:
    """``await call()`` (a blocking receive) until it answers, as :func:`receive`
    does; None when it timed out idle (a blocking pop that found nothing)."""
    delays: Iterator[float] | None = None
    while True:
        started = time.monotonic()
        try:
            message = await call()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if _cancel_pending():
                # A cancellation that raced a timeout inside the layer's client came
                # out as that timeout: honour it, or shutdown would wait forever.
                raise asyncio.CancelledError from exc
            if (
                isinstance(exc, TIMEOUTS)
                and time.monotonic() - started >= IDLE_TIMEOUT_MIN
            ):
                if delays is not None:  # it waited the whole pop: the layer answers
                    outage.recovered()
                return None
            if is_transient(exc):
                outage.failed(what, exc, first=delays is None)
            else:
                logger.error("%s failed: %r; retrying", what, exc)
            delays = delays or backoff()
            await asyncio.sleep(next(delays))
            continue
        if delays is not None:
            outage.recovered()
        return message


# One line per target per window when a layer operation is given up.
_given_up = Throttle(burst=1, window=10.0)
_limits: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
    weakref.WeakKeyDictionary()
)


def _limit() -> asyncio.Semaphore:
    loop = asyncio.get_running_loop()
    limit = _limits.get(loop)
    if limit is None:
        limit = _limits[loop] = asyncio.Semaphore(get_settings()["LAYER_CONCURRENCY"])
    return limit


async def layer_call(call: Callable[[], Awaitable[T]], what: str) -> T:
    """Run the layer operation ``call`` (a send or a group send), bounded and retried.

    At most ``LAYER_CONCURRENCY`` such operations of this loop are in flight, so a
    burst cannot exhaust channels_redis' connection pool (redis-py raises
    ``MaxConnectionsError`` past 100 connections). A transient failure — a stale
    connection after a Redis restart, a failover, an outage — is retried with jittered
    backoff for up to ``LAYER_RETRY_SECONDS``, counted by the outage log; then the
    operation is given up with one error line per target (``what``) and the error
    raised. (A connection that dies after the layer executed a send but before it
    answered can make that message arrive twice: rare, and better than losing it.)
    """
    delays: Iterator[float] | None = None
    deadline = 0.0
    while True:
        try:
            async with _limit():
                result = await call()
        except Exception as exc:
            if not is_transient(exc):
                raise
            now = time.monotonic()
            first = delays is None
            if delays is None:
                delays = backoff(first=0.05, cap=1.0)
                deadline = now + float(get_settings()["LAYER_RETRY_SECONDS"])
            outage.failed(what, exc, first=first)
            if now >= deadline:
                outage.gave_up()
                _given_up.log(
                    logger,
                    logging.ERROR,
                    what,
                    "Gave up on %s: the channel layer failed for %s s (%r).",
                    what,
                    get_settings()["LAYER_RETRY_SECONDS"],
                    exc,
                )
                raise
            await asyncio.sleep(next(delays))
        else:
            if delays is not None:
                outage.recovered()
            return result
