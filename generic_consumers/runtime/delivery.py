"""Where a message goes: a socket of this process, or the channel layer.

Sockets of this process are reached without the layer at all (their reply channel
names are in ``registry.sockets``). Everything else is wrapped in an envelope and sent
through the layer. A consumer's sends are buffered in its :class:`~.context.Turn` and
carried out by :func:`finish`, in the order they were made, when the consumer returns.
Group-membership changes are never buffered: they start when called, and every later
send of the same turn waits for them.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from typing import Any

from channels.exceptions import ChannelFull

from . import envelope, named
from .context import Turn, current_turn, run_sync
from .counters import counters
from .host import Layer
from .membership import (
    change_many_or_defer,
    change_or_defer,
    make_good_joins,
    owes_joins,
)
from .outage import is_transient, layer_call
from .registry import one_process, sockets

__all__ = [
    "change_membership",
    "check_group_name",
    "finish",
    "group_send",
    "send",
    "send_retrying",
    "settle",
    "start_change",
]

logger = logging.getLogger("generic_consumers")

FLUSH_RETRY_SECONDS = 2.0
# The head of the line polls this often: often enough to take a freed slot first.
FLUSH_RETRY_STEP = 0.005

_GROUP_NAME = re.compile(r"^[a-zA-Z0-9\-_.]{1,99}$")


def check_group_name(name: Any) -> str:
    """``name`` if Channels 4 layers accept it as a group name, else ValueError."""
    if not isinstance(name, str) or not _GROUP_NAME.match(name):
        raise ValueError(
            f"Invalid group name {name!r}: use 1-99 ASCII letters, digits, '-', '_' "
            "or '.' (sanitise names derived from user input)."
        )
    return name


async def send(layer: Layer, name: str, content: dict[str, Any], origin: object):
    """Send 1.x ``content`` to the channel ``name`` now (may raise ChannelFull)."""
    socket = sockets.get(name)
    if socket is not None:
        await socket.deliver(content, origin)
    else:
        await named.send(layer, name, envelope.wrap(content))


async def group_send(layer: Layer, group: str, content: dict[str, Any]) -> None:
    counters.add("group_sends")
    raw = layer.raw
    if one_process(raw):
        # Each member's own task delivers it: a slow client holds up no one else.
        for socket in sockets.members(group):
            socket.deliver_soon(content)
        if group not in getattr(raw, "groups", {}):
            return  # no other members (named channels, native consumers)
    wrapped = envelope.wrap(content)
    what = f"group send to {group!r}"
    if not owes_joins():
        await layer_call(lambda: raw.group_send(group, wrapped), what)
        return

    async def joins_then_send() -> None:
        # Joins an outage defeated go first: a socket of this process that joined
        # before this send must be a member when it arrives.
        await make_good_joins(raw, group)
        await raw.group_send(group, wrapped)

    await layer_call(joins_then_send, what)


async def change_membership(
    layer: Layer, group: str, channel: str, joined: bool
) -> None:
    """Add ``channel`` to ``group`` (``joined``) or discard it, now."""
    if _change_in_place(layer, group, channel, joined):
        return
    raw = layer.raw
    remote = sockets.get(channel) is None and named.is_reply_channel(channel)
    # A live socket's record (here, or through the notice below in the process that
    # owns it) lets the refresher make good a change an outage defeated.
    await change_or_defer(raw, group, channel, joined, kept=_kept(channel))
    if remote:
        await _notify(raw, group, channel, joined)


def _kept(channel: str) -> bool:
    """Whether a live socket's record holds ``channel``'s groups (see above)."""
    return sockets.get(channel) is not None or named.is_reply_channel(channel)


def _change_in_place(layer: Layer, group: str, channel: str, joined: bool) -> bool:
    """Record the change on a socket of this process; True if that was all of it."""
    counters.add("group_adds" if joined else "group_discards")
    socket = sockets.get(channel)
    if socket is None:
        return False
    # The socket's own record changes first: the membership refresher must never
    # re-add a group the socket is leaving, and a join that fails while the layer is
    # down is still made good by the refresher once it is back.
    (socket.groups.add if joined else socket.groups.discard)(group)
    if not one_process(layer.raw):
        return False
    (sockets.join if joined else sockets.leave)(group, socket)
    return True


# -- inside a turn --------------------------------------------------------------------


def start_change(turn: Turn, layer: Layer, group: str, channel: str, joined: bool):
    """Start a membership change for a running turn without blocking its caller.

    Called from the loop (an async consumer, or a sync handler run on the loop) or
    from the turn's worker thread. Changes the turn makes in a row (a socket joining
    its ``connection_groups``) go to the layer together, after the turn's earlier
    ones: one round trip on channels_redis. :func:`settle` waits for them.
    """
    loop = turn.loop
    if loop is None:  # the 1.x test client: no loop to hand it to, nothing to block
        run_sync(change_membership, layer, group, channel, joined, twin="Group.aadd")
        return

    def begin() -> None:
        if _change_in_place(layer, group, channel, joined):
            # A socket of this process on a one-process layer: done already. (Those
            # queued concern other channels, whose place never changes in a turn.)
            return
        turn.queued_changes.append((layer, group, channel, joined))
        if len(turn.queued_changes) == 1:
            previous = turn.last_change
            turn.last_change = loop.create_task(_carry_out_changes(turn, previous))

    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is loop:
        begin()
    else:
        # FIFO with the thread's later call_soon_threadsafe (the end of its job, or
        # an immediate send), so the change has begun before anything after it.
        loop.call_soon_threadsafe(begin)


async def _carry_out_changes(turn: Turn, previous: asyncio.Future | None) -> None:
    if previous is not None:
        await asyncio.gather(previous, return_exceptions=True)
    # Everything queued until now, this task included, goes in one batch.
    batch, turn.queued_changes = turn.queued_changes, []
    for layer in {id(item[0]): item[0] for item in batch}.values():
        raw = layer.raw
        changes = [(g, c, j) for (lay, g, c, j) in batch if lay is layer]
        try:
            await change_many_or_defer(raw, changes, kept=_kept)
            for group, channel, joined in changes:
                if sockets.get(channel) is None and named.is_reply_channel(channel):
                    await _notify(raw, group, channel, joined)
        except Exception:
            logger.exception("A group membership change failed")


async def _notify(raw: Any, group: str, channel: str, joined: bool) -> None:
    """Tell the process of a socket elsewhere that it joined or left ``group``."""
    notice = envelope.membership(group, joined)
    await layer_call(lambda: raw.send(channel, notice), f"send to {channel!r}")


async def settle(turn: Turn | None = None) -> None:
    """Wait for the membership changes ``turn`` (default: the current one) started."""
    turn = turn if turn is not None else current_turn.get()
    if turn is not None and turn.last_change is not None:
        await asyncio.gather(turn.last_change, return_exceptions=True)


async def finish(turn: Turn) -> None:
    """Carry out what ``turn`` buffered, in order, once its membership changes are done.

    A buffered send to a channel that stays full for ``FLUSH_RETRY_SECONDS`` is
    dropped with one error line naming the channel; the turn's other sends still go
    out (later sends to that channel are dropped at once). One the layer failed for
    ``LAYER_RETRY_SECONDS`` has been reported by :func:`~.outage.layer_call`; the
    others still go out too.
    """
    await settle(turn)
    pending, turn.pending = turn.pending, []
    full: dict[str, int] = {}
    for kind, layer, target, payload in pending:
        try:
            await _carry_out(turn, full, kind, layer, target, payload)
        except Exception as exc:
            if not is_transient(exc):
                raise
    for channel, dropped in full.items():
        counters.add("channel_full_dropped", dropped)
        logger.error(
            "Dropped %d buffered message(s) for channel %r: it stayed full for %s s. "
            "Is anything consuming it (a worker for a named channel, a live socket "
            "for a reply channel)?",
            dropped,
            channel,
            FLUSH_RETRY_SECONDS,
        )


async def _carry_out(
    turn: Turn,
    full: dict[str, int],
    kind: str,
    layer: Layer,
    target: str,
    payload: dict[str, Any],
) -> None:
    if kind == "group":
        await group_send(layer, target, payload)
        return
    socket = sockets.get(target)
    if socket is not None:  # the common case: a reply to a socket of ours
        await socket.deliver(payload, turn.socket)
    elif target in full:
        full[target] += 1
    else:
        turn.forwarded = True
        try:
            await send_retrying(layer, target, payload, turn.socket)
        except ChannelFull:
            full[target] = 1


async def send_retrying(
    layer: Layer, channel: str, content: dict[str, Any], origin: object
) -> None:
    """:func:`send`, waiting for room in a full channel for a while (1.x did too).

    Buffered and immediate sends both come through here. Once a channel is found
    full, this process's later sends to it queue behind the ones already waiting
    (first come, first served): otherwise a fresh send takes every slot the consumer
    frees and a waiting one starves. A message still without room after
    ``FLUSH_RETRY_SECONDS`` raises :class:`ChannelFull` naming the channel.
    """
    key = (asyncio.get_running_loop(), channel)
    line = _full_channels.get(key)
    if line is None:
        try:
            return await send(layer, channel, content, origin)
        except ChannelFull:
            line = _full_channels.setdefault(key, _Line())
    deadline = time.monotonic() + FLUSH_RETRY_SECONDS
    line.users += 1
    try:
        async with line.turn:
            while True:
                try:
                    return await send(layer, channel, content, origin)
                except ChannelFull:
                    if time.monotonic() >= deadline:
                        raise ChannelFull(
                            f"Channel {channel!r} stayed full for "
                            f"{FLUSH_RETRY_SECONDS} s; the message was dropped. Is "
                            "anything consuming it (a worker for a named channel, a "
                            "live socket for a reply channel)?"
                        ) from None
                    await asyncio.sleep(FLUSH_RETRY_STEP)
    finally:
        line.users -= 1
        if not line.users:
            _full_channels.pop(key, None)


class _Line:
    """The senders of one process waiting for room in one full channel."""

    def __init__(self) -> None:
        self.turn = asyncio.Lock()  # wakes its waiters in arrival order
        self.users = 0


_full_channels: dict[tuple[asyncio.AbstractEventLoop, str], _Line] = {}
