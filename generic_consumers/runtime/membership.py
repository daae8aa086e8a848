"""Group membership that survives: bounded changes, retries, and a refresher.

Three problems of channel-layer groups at scale, and what this module does about them:

- **Storms.** When a thousand sockets close at once, a thousand ``group_discard`` calls
  start at once; channels_redis' connection pool (100 connections by default) refuses
  most of them with ``MaxConnectionsError`` and the memberships stay behind. Every
  membership change of the process therefore passes one per-loop semaphore sized below
  the pool (``MEMBERSHIP_CONCURRENCY``), and a transient failure is retried with
  backoff (``MEMBERSHIP_RETRIES``).
- **Expiry.** channels_redis forgets a member after ``group_expiry`` seconds (one day
  by default), however long the socket lives.
- **Restarts.** A Redis restarted without persistence forgets every group.

For the last two, a refresher task per event loop re-adds every (group, reply channel)
pair of the live sockets of this process every ``GROUP_REFRESH_INTERVAL`` seconds.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import weakref
from typing import TYPE_CHECKING, Any

from ..conf import get_settings
from .outage import is_transient, outage
from .registry import one_process, sockets

if TYPE_CHECKING:
    from channels.layers import BaseChannelLayer

logger = logging.getLogger("generic_consumers")

RETRY_FIRST = 0.05  # seconds before the first retry of a membership change; doubles
RETRY_MAX = 2.0
REFRESH_BATCH = 200  # pairs re-added per batch; the semaphore bounds concurrency

_limits: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
    weakref.WeakKeyDictionary()
)
_refreshers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Task] = (
    weakref.WeakKeyDictionary()
)


def _limit() -> asyncio.Semaphore:
    loop = asyncio.get_running_loop()
    limit = _limits.get(loop)
    if limit is None:
        limit = _limits[loop] = asyncio.Semaphore(
            get_settings()["MEMBERSHIP_CONCURRENCY"]
        )
    return limit


async def change(
    raw: BaseChannelLayer,
    group: str,
    channel: str,
    joined: bool,
    *,
    retries: int | None = None,
) -> None:
    """``group_add`` (``joined``) or ``group_discard``, bounded and retried.

    Raises the last error when every attempt failed.
    """
    method = raw.group_add if joined else raw.group_discard
    await _retried(lambda: method(group, channel), retries)


async def change_many(
    raw: BaseChannelLayer, changes: list[tuple[str, str, bool]]
) -> None:
    """Several (group, channel, joined) changes, in order; raises the first error.

    On channels_redis' ``RedisChannelLayer`` they go in one pipeline per shard, a
    single round trip, bounded and retried like one change (ZADD, EXPIRE and ZREM
    are idempotent, so a retried pipeline does no harm).
    """
    if len(changes) == 1:
        await change(raw, *changes[0])
        return
    if _pipelines(raw):
        await _retried(lambda: _pipeline(raw, changes))
        return
    # Elsewhere: pairs side by side, each pair's changes in order.
    by_pair: dict[tuple[str, str], list[bool]] = {}
    for group, channel, joined in changes:
        by_pair.setdefault((group, channel), []).append(joined)

    async def in_order(group: str, channel: str, steps: list[bool]) -> None:
        for joined in steps:
            await change(raw, group, channel, joined)

    results = await asyncio.gather(
        *(in_order(g, c, steps) for (g, c), steps in by_pair.items()),
        return_exceptions=True,
    )
    for result in results:
        if isinstance(result, BaseException):
            raise result


def _pipelines(raw: Any) -> bool:
    try:
        from channels_redis.core import RedisChannelLayer
    except ImportError:  # channels_redis is an optional extra
        return False
    # Exactly that class: a subclass may have changed how groups are stored.
    return type(raw) is RedisChannelLayer


async def _pipeline(raw: Any, changes: list[tuple[str, str, bool]]) -> None:
    # The same keys and commands as RedisChannelLayer.group_add / group_discard.
    shards: dict[int, list[tuple[str, str, bool]]] = {}
    for group, channel, joined in changes:
        raw.require_valid_group_name(group)  # they raise TypeError, as group_add
        raw.require_valid_channel_name(channel)
        shards.setdefault(raw.consistent_hash(group), []).append(
            (group, channel, joined)
        )
    for index, items in shards.items():
        pipe = raw.connection(index).pipeline(transaction=False)
        for group, channel, joined in items:
            key = raw._group_key(group)
            if joined:
                pipe.zadd(key, {channel: time.time()})
                pipe.expire(key, raw.group_expiry)
            else:
                pipe.zrem(key, channel)
        await pipe.execute()


async def _retried(call: Any, retries: int | None = None) -> None:
    if retries is None:
        retries = get_settings()["MEMBERSHIP_RETRIES"]
    delay = RETRY_FIRST
    for attempt in range(retries + 1):
        try:
            async with _limit():
                await call()
        except Exception as exc:
            if attempt == retries or not is_transient(exc):
                raise
            # Jittered, and outside the semaphore: others go on while this one waits.
            await asyncio.sleep(delay / 2 + random.uniform(0, delay / 2))
            delay = min(delay * 2, RETRY_MAX)
        else:
            outage.recovered()
            return


async def discard_all(raw: BaseChannelLayer, channel: str, groups: set[str]) -> None:
    """Leave every group in ``groups`` (a departing socket's); never raises."""
    groups = set(groups)
    results = await asyncio.gather(
        *(change(raw, group, channel, False) for group in groups),
        return_exceptions=True,
    )
    for group, result in zip(groups, results, strict=True):
        if isinstance(result, BaseException):
            if is_transient(result):
                # The layer is down: one line per outage, not one per socket. A
                # membership left behind expires after the layer's group_expiry.
                outage.failed(f"group_discard({group!r})", result)
            else:
                logger.error(
                    "Could not remove %r from group %r: %r", channel, group, result
                )


# -- the refresher --------------------------------------------------------------------


def start_refresher() -> None:
    """Start this event loop's membership refresher, once (no-op if disabled)."""
    loop = asyncio.get_running_loop()
    interval = get_settings()["GROUP_REFRESH_INTERVAL"]
    if not interval or loop in _refreshers:
        return
    _refreshers[loop] = loop.create_task(
        _refresh_forever(float(interval)), name="generic_consumers:group-refresher"
    )


async def stop_refresher() -> None:
    task = _refreshers.pop(asyncio.get_running_loop(), None)
    if task is not None:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def _refresh_forever(interval: float) -> None:
    while True:
        # Jitter: processes started together do not refresh in lock-step.
        await asyncio.sleep(interval * random.uniform(0.8, 1.0))
        try:
            await refresh_once()
        except asyncio.CancelledError:
            raise
        except Exception:  # never let the refresher die
            logger.exception("Refreshing group memberships failed")


def _live_pairs(loop: asyncio.AbstractEventLoop) -> list[tuple[Any, str, str]]:
    pairs: list[tuple[Any, str, str]] = []
    for socket in sockets.of_loop(loop):
        # In-memory memberships live in the registry and never expire.
        if socket.layer is not None and not one_process(socket.layer.raw):
            channel = socket.reply_channel
            pairs.extend((socket, group, channel) for group in list(socket.groups))
    return pairs


async def refresh_once() -> int:
    """Re-add every live (group, reply channel) pair of this loop; return the count.

    Stops at the first transient failure (the layer is down; the next round tries
    again) so an outage costs one attempt per round, not one per socket.
    """
    loop = asyncio.get_running_loop()
    pairs = _live_pairs(loop)
    done = 0
    for start in range(0, len(pairs), REFRESH_BATCH):
        batch = pairs[start : start + REFRESH_BATCH]
        results = await asyncio.gather(
            *(
                _refresh_pair(socket, group, channel)
                for socket, group, channel in batch
            ),
            return_exceptions=True,
        )
        for result in results:
            if isinstance(result, BaseException):
                if is_transient(result):
                    outage.failed("refreshing group memberships", result)
                    return done
                logger.error("Refreshing a group membership failed: %r", result)
            else:
                done += 1
    return done


async def _refresh_pair(socket: Any, group: str, channel: str) -> None:
    raw = socket.layer.raw
    await change(raw, group, channel, True, retries=0)
    # The socket may have left the group, or closed, while the add was in flight (its
    # discard may even have reached the layer first): undo the add then.
    current = sockets.get(channel)
    if current is None or current is not socket or group not in current.groups:
        await change(raw, group, channel, False)
