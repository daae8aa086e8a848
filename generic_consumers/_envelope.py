"""What travels on the channel layer, and where a message goes.

Every message is wrapped in an envelope with a ``type`` key (Channels 4 layers and its
``runworker`` require one); the 1.x content rides untouched under ``"content"``, so a
user's own ``"type"`` key survives. Sockets of this process are reached without the
layer at all: their reply channel names are registered in ``local_sockets``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any, Protocol

from channels.exceptions import ChannelFull

from ._outage import retry_once

if TYPE_CHECKING:
    from .layers import ChannelLayerWrapper

logger = logging.getLogger("generic_consumers")

MESSAGE = "generic_consumers.message"
# Sent to a reply channel when a group add/discard for it happens in another process,
# so the socket still knows every group to leave when it goes away.
MEMBERSHIP = "generic_consumers.membership"

FLUSH_RETRY_SECONDS = 2.0
# The head of the line polls this often: often enough to take a freed slot first.
FLUSH_RETRY_STEP = 0.005


class LocalSocket(Protocol):
    groups: set[str]
    # The event loop the socket runs on, and its layer (None without one): the
    # membership refresher of each loop re-adds the groups of that loop's sockets.
    loop: asyncio.AbstractEventLoop | None
    layer: ChannelLayerWrapper | None

    async def deliver(self, content: dict[str, Any], origin: object) -> None: ...


local_sockets: dict[str, LocalSocket] = {}


def wrap(content: dict[str, Any]) -> dict[str, Any]:
    return {"type": MESSAGE, "content": content}


async def send(
    layer: ChannelLayerWrapper, name: str, content: dict[str, Any], origin: object
) -> None:
    """Send 1.x ``content`` to the channel ``name`` now (may raise ChannelFull)."""
    socket = local_sockets.get(name)
    if socket is not None:
        await socket.deliver(content, origin)
    else:
        envelope = wrap(content)
        await retry_once(lambda: layer.raw.send(name, envelope))


async def group_send(layer: ChannelLayerWrapper, group: str, content: dict[str, Any]):
    envelope = wrap(content)
    await retry_once(lambda: layer.raw.group_send(group, envelope))


async def group_membership(
    layer: ChannelLayerWrapper, group: str, channel: str, joined: bool
) -> None:
    from ._membership import change

    raw = layer.raw
    socket = local_sockets.get(channel)
    if socket is not None:
        # The socket's own record changes first: the membership refresher must never
        # re-add a group the socket is leaving, and a join that fails while the layer
        # is down is still made good by the refresher once it is back.
        (socket.groups.add if joined else socket.groups.discard)(group)
    await change(raw, group, channel, joined)
    if socket is None and "!" in channel:  # a reply channel of a socket elsewhere
        await raw.send(channel, {"type": MEMBERSHIP, "group": group, "joined": joined})


# What a consumer buffered: (kind, layer, target, payload), kind being "send" (to a
# channel), "group" (send to a group), "add" or "discard" (group membership; payload is
# the channel name).
Pending = tuple[str, "ChannelLayerWrapper", str, Any]


async def flush(pending: list[Pending], origin: object) -> None:
    """Carry out what a consumer buffered, in the order it did it.

    A full channel is retried for a while (1.x did the same), then reported.
    """
    for kind, layer, target, payload in pending:
        if kind == "send":
            socket = local_sockets.get(target)
            if socket is not None:  # the common case: a reply to a socket of ours
                await socket.deliver(payload, origin)
            else:
                await send_retrying(layer, target, payload, origin)
        elif kind == "group":
            await group_send(layer, target, payload)
        else:
            await group_membership(layer, target, payload, kind == "add")


async def send_retrying(
    layer: ChannelLayerWrapper, channel: str, content: dict[str, Any], origin: object
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
