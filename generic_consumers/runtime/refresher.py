"""The membership refresher: every live socket's groups, re-added on the layer.

channels_redis forgets a member after ``group_expiry`` seconds, and a Redis restarted
without persistence forgets every group. A refresher task per event loop re-adds
every (group, reply channel) pair of the live sockets of this process every
``GROUP_REFRESH_INTERVAL`` seconds, and at once when the layer answers again after an
outage; it also retries the discards an outage defeated (``membership``'s leftovers).
While the loop owes joins an outage defeated, it tries those every ``OWED_RETRY``
seconds: a socket that joined during a failover is a member again within that
interval of the layer answering, whichever process sends to its group.
"""

from __future__ import annotations

import asyncio
import logging
import random
import weakref
from typing import Any

from ..conf import get_settings
from .membership import (
    OWED_RETRY,
    change,
    change_or_defer,
    owes_joins,
    pending_discards,
    retry_owed_joins,
)
from .outage import is_transient, on_recovery, outage
from .registry import one_process, sockets

__all__ = ["refresh_once", "start_refresher", "stop_refresher"]

logger = logging.getLogger("generic_consumers")

REFRESH_BATCH = 200  # pairs re-added per batch; the semaphore bounds concurrency

_refreshers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Task] = (
    weakref.WeakKeyDictionary()
)
_wakeups: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Event] = (
    weakref.WeakKeyDictionary()
)
# Refresh rounds that failed in a row, per loop.
_failed_rounds: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, int] = (
    weakref.WeakKeyDictionary()
)


# -- the refresher --------------------------------------------------------------------


def start_refresher() -> None:
    """Start this event loop's membership refresher, once (no-op if disabled)."""
    loop = asyncio.get_running_loop()
    interval = get_settings()["GROUP_REFRESH_INTERVAL"]
    if not interval or loop in _refreshers:
        return
    wake = _wakeups[loop] = asyncio.Event()
    _refreshers[loop] = loop.create_task(
        _refresh_forever(float(interval), wake),
        name="generic_consumers:group-refresher",
    )


async def stop_refresher() -> None:
    _wakeups.pop(asyncio.get_running_loop(), None)
    task = _refreshers.pop(asyncio.get_running_loop(), None)
    if task is not None:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def _wake_refreshers() -> None:
    # The layer answers again: a Redis restarted without persistence forgot every
    # group, so re-add now rather than up to GROUP_REFRESH_INTERVAL later.
    for loop, wake in list(_wakeups.items()):
        if not loop.is_closed():
            loop.call_soon_threadsafe(wake.set)


on_recovery.append(_wake_refreshers)


async def _refresh_forever(interval: float, wake: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    # Jitter: processes started together do not refresh in lock-step.
    due = loop.time() + interval * random.uniform(0.8, 1.0)
    while True:
        timeout = due - loop.time()
        if owes_joins():
            timeout = min(timeout, OWED_RETRY)
        try:
            await asyncio.wait_for(wake.wait(), max(timeout, 0))
        except TimeoutError:
            pass
        try:
            if wake.is_set() or loop.time() >= due:
                wake.clear()
                due = loop.time() + interval * random.uniform(0.8, 1.0)
                await refresh_once()
            else:  # only the joins an outage owes
                await retry_owed_joins()
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
    if not await _discard_leftovers():
        return 0
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
                    _failed_rounds[loop] = failed = _failed_rounds.get(loop, 0) + 1
                    # Once may be a stale connection; two rounds in a row is an outage.
                    outage.failed(
                        "refreshing group memberships", result, first=failed == 1
                    )
                    return done
                logger.error("Refreshing a group membership failed: %r", result)
            else:
                done += 1
    _failed_rounds.pop(loop, None)
    return done


async def _refresh_pair(socket: Any, group: str, channel: str) -> None:
    raw = socket.layer.raw
    await change(raw, group, channel, True, retries=0)
    # The socket may have left the group, or closed, while the add was in flight (its
    # discard may even have reached the layer first): undo the add then.
    current = sockets.get(channel)
    if current is None or current is not socket or group not in current.groups:
        await change_or_defer(raw, group, channel, False, kept=False)


async def _discard_leftovers() -> bool:
    """Retry the discards an outage defeated; False if the layer is still down."""
    pending = pending_discards()
    for (group, channel), raw in list(pending.items()):
        socket = sockets.get(channel)
        if socket is not None and group in socket.groups:
            pending.pop((group, channel), None)  # joined again since
            continue
        try:
            await change(raw, group, channel, False, retries=0)
        except Exception as exc:
            if is_transient(exc):
                loop = asyncio.get_running_loop()
                _failed_rounds[loop] = failed = _failed_rounds.get(loop, 0) + 1
                outage.failed("discarding group memberships", exc, first=failed == 1)
                return False
            pending.pop((group, channel), None)
            logger.error("Could not remove %r from group %r: %r", channel, group, exc)
        else:
            pending.pop((group, channel), None)
    return True
