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

For the last two, ``refresher`` re-adds the live sockets' memberships.

An outage (or a Sentinel failover) can outlast the retries. A live socket's join is
then *owed* (:func:`owed_joins`): a group send of this process to that group makes it
good first (:func:`make_good_joins`), so a message sent after the join reaches the
socket, and the refresher retries it every ``OWED_RETRY`` seconds until the layer
takes it. A discard is kept as a *leftover* (:func:`pending_discards`) that the
refresher retries each round until the layer takes it.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..conf import get_settings
from .logs import Throttle
from .outage import is_transient, outage
from .registry import core_redis, sockets

if TYPE_CHECKING:
    from channels.layers import BaseChannelLayer

logger = logging.getLogger("generic_consumers")

RETRY_FIRST = 0.05  # seconds before the first retry of a membership change; doubles
RETRY_MAX = 2.0
LEFTOVERS_MAX = 100_000  # failed discards kept per loop; past it they expire instead
OWED_RETRY = 0.5  # seconds between the refresher's tries of the joins an outage owes

_limits: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
    weakref.WeakKeyDictionary()
)
# (group, channel) -> layer, for discards an outage defeated; retried by the refresher.
_leftovers: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, dict[tuple[str, str], Any]
] = weakref.WeakKeyDictionary()
# (group, channel) -> layer, for live sockets' joins an outage defeated. Only loops
# that owe a join have an entry, so a group send checks it in one lookup.
_owed: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, dict[tuple[str, str], Any]
] = weakref.WeakKeyDictionary()
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
    method = raw.group_add if joined else raw.group_discard
    await _retried(lambda: method(group, channel), retries)
    _settled(group, channel, joined)


def _settled(group: str, channel: str, joined: bool) -> None:
    # The layer took a change of this pair: what an outage left of it is void.
    if joined:
        pending_discards().pop((group, channel), None)  # joined again: keep it
    _forget_owed(group, channel)


def _forget_owed(group: str, channel: str) -> None:
    loop = asyncio.get_running_loop()
    owed = _owed.get(loop)
    if owed is not None:
        owed.pop((group, channel), None)
        if not owed:
            del _owed[loop]


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
    if core_redis(raw):
        await _retried(lambda: _pipeline(raw, changes))
        for group, channel, joined in changes:
            _settled(group, channel, joined)
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


def pending_discards() -> dict[tuple[str, str], Any]:
    return _leftovers.setdefault(asyncio.get_running_loop(), {})


def owed_joins() -> dict[tuple[str, str], Any]:
    """This loop's joins of live sockets that an outage defeated (a copy)."""
    return dict(_owed.get(asyncio.get_running_loop(), {}))


def owes_joins() -> bool:
    return asyncio.get_running_loop() in _owed


def _owe(raw: BaseChannelLayer, group: str, channel: str) -> None:
    _owed.setdefault(asyncio.get_running_loop(), {})[(group, channel)] = raw


async def make_good_joins(raw: BaseChannelLayer, group: str | None = None) -> None:
    """Send the layer the joins this loop owes (to ``group``, or all); raises the
    first failure. A socket that closed or left the group since owes nothing.

    Called by a group send before it goes (inside its retries), so the members a
    socket of this process joined before the send are on the layer when it arrives.
    """
    owed = _owed.get(asyncio.get_running_loop())
    if not owed:
        return
    for (owed_group, channel), owed_raw in list(owed.items()):
        if owed_raw is not raw or (group is not None and owed_group != group):
            continue
        socket = sockets.get(channel)
        if socket is not None and owed_group in socket.groups:
            await raw.group_add(owed_group, channel)
            _settled(owed_group, channel, True)
        else:  # what it owes now, if anything, is a discard (a leftover)
            _forget_owed(owed_group, channel)


async def retry_owed_joins() -> bool:
    """The refresher's quick round: every owed join, once; False if the layer is
    still down."""
    layers = {id(raw): raw for raw in owed_joins().values()}
    for raw in layers.values():
        try:
            async with _limit():
                await make_good_joins(raw)
        except Exception as exc:
            if not is_transient(exc):
                raise
            return False
    if layers:
        outage.recovered()
    return True


def _keep_leftover(raw: BaseChannelLayer, group: str, channel: str) -> None:
    pending = pending_discards()
    if len(pending) < LEFTOVERS_MAX:
        pending[(group, channel)] = raw
    else:  # it expires after the layer's group_expiry
        outage.gave_up()


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
        _defer(raw, group, channel, joined, kept, exc)


async def change_many_or_defer(
    raw: BaseChannelLayer,
    changes: list[tuple[str, str, bool]],
    *,
    kept: Callable[[str], bool],
) -> None:
    """:func:`change_many`, made good later like :func:`change_or_defer` when the
    layer stays down (ZADD, ZREM and EXPIRE are idempotent, so redoing a change that
    went through does no harm). ``kept(channel)`` says whether a live socket's record
    holds that channel's groups."""
    try:
        await change_many(raw, changes)
    except Exception as exc:
        if not is_transient(exc):
            raise
        for group, channel, joined in changes:
            _defer(raw, group, channel, joined, kept(channel), exc)


def _defer(
    raw: BaseChannelLayer,
    group: str,
    channel: str,
    joined: bool,
    kept: bool,
    exc: BaseException,
) -> None:
    what = f"group_{'add' if joined else 'discard'}({group!r})"
    outage.failed(what, exc)
    if not joined:
        _keep_leftover(raw, group, channel)
    elif sockets.get(channel) is not None:
        _owe(raw, group, channel)
    elif not kept:
        outage.gave_up()
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
