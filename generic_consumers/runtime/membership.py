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

An outage (or a Sentinel failover) can outlast the retries. A live socket's join is
then made good by the refresher (the socket's record has it); a discard is kept as a
*leftover* that the refresher retries each round until the layer takes it.
"""

from __future__ import annotations

import asyncio
import logging
import random
import weakref
from typing import TYPE_CHECKING, Any

from ..conf import get_settings
from .logs import Throttle
from .outage import is_transient, on_recovery, outage
from .registry import one_process, sockets

if TYPE_CHECKING:
    from channels.layers import BaseChannelLayer

logger = logging.getLogger("generic_consumers")

RETRY_FIRST = 0.05  # seconds before the first retry of a membership change; doubles
RETRY_MAX = 2.0
REFRESH_BATCH = 200  # pairs re-added per batch; the semaphore bounds concurrency
LEFTOVERS_MAX = 100_000  # failed discards kept per loop; past it they expire instead

_limits: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
    weakref.WeakKeyDictionary()
)
_refreshers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Task] = (
    weakref.WeakKeyDictionary()
)
_wakeups: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Event] = (
    weakref.WeakKeyDictionary()
)
# (group, channel) -> layer, for discards an outage defeated; retried by the refresher.
_leftovers: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, dict[tuple[str, str], Any]
] = weakref.WeakKeyDictionary()
# Refresh rounds that failed in a row, per loop.
_failed_rounds: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, int] = (
    weakref.WeakKeyDictionary()
)
# One line per (group, channel) per window for a join nothing can make good.
_lost_joins = Throttle(burst=1, window=10.0)


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
    if retries is None:
        retries = get_settings()["MEMBERSHIP_RETRIES"]
    method = raw.group_add if joined else raw.group_discard
    delay = RETRY_FIRST
    for attempt in range(retries + 1):
        try:
            async with _limit():
                await method(group, channel)
        except Exception as exc:
            if attempt == retries or not is_transient(exc):
                raise
            # Jittered, and outside the semaphore: others go on while this one waits.
            await asyncio.sleep(delay / 2 + random.uniform(0, delay / 2))
            delay = min(delay * 2, RETRY_MAX)
        else:
            outage.recovered()
            if joined:
                _pending().pop((group, channel), None)  # joined again: keep it
            return


def _pending() -> dict[tuple[str, str], Any]:
    return _leftovers.setdefault(asyncio.get_running_loop(), {})


def _keep_leftover(raw: BaseChannelLayer, group: str, channel: str) -> None:
    pending = _pending()
    if len(pending) < LEFTOVERS_MAX:
        pending[(group, channel)] = raw
    else:  # it expires after the layer's group_expiry
        outage.lost += 1


async def change_or_defer(
    raw: BaseChannelLayer, group: str, channel: str, joined: bool, *, kept: bool
) -> None:
    """:func:`change`, for callers that must go on when the layer stays down.

    Called for every membership change a consumer or ``Group.add``/``discard`` makes.
    A transient failure after the retries is counted by the outage log (one line per
    outage) and made good later: a discard is kept for the refresher; a join is
    re-added by the refresher when ``kept`` (a live socket's record holds it, here or,
    through the membership notice, in the process that owns the socket). Any other
    join is lost, said once per channel and group. Non-transient errors raise.
    """
    try:
        await change(raw, group, channel, joined)
    except Exception as exc:
        if not is_transient(exc):
            raise
        what = f"group_{'add' if joined else 'discard'}({group!r})"
        outage.failed(what, exc)
        if not joined:
            _keep_leftover(raw, group, channel)
        elif not kept:
            outage.lost += 1
            _lost_joins.log(
                logger,
                logging.ERROR,
                f"{channel!r} in {group!r}",
                "Could not add %r to group %r: the channel layer failed (%r). Add it "
                "again once the layer is back.",
                channel,
                group,
                exc,
            )


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
                # The layer is down: one line per outage, not one per socket; the
                # refresher retries the discard once it is back.
                outage.failed(f"group_discard({group!r})", result)
                _keep_leftover(raw, group, channel)
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
    while True:
        # Jitter: processes started together do not refresh in lock-step.
        try:
            await asyncio.wait_for(wake.wait(), interval * random.uniform(0.8, 1.0))
        except TimeoutError:
            pass
        wake.clear()
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
    pending = _pending()
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
