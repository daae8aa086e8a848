"""The live sockets of this process, by reply channel name, and their local groups.

Replies to a socket of this process skip the channel layer: delivery looks the name up
here first. The membership refresher walks it to re-add each live socket's groups.

On the in-memory layer (one process, so every member socket is one of ours) group
memberships of sockets live here instead of in the layer: a group send then reaches
each member through its own inbox, without the layer's per-receive scan of every
channel (which makes a fan-out to N sockets cost N²).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

from channels.layers import InMemoryChannelLayer

from .host import LocalSocket

__all__ = ["SocketRegistry", "core_redis", "one_process", "sockets"]


def one_process(raw: Any) -> bool:
    """True for the in-memory layer: every member socket of a group is one of ours,
    so socket memberships are kept here, not in the layer."""
    return isinstance(raw, InMemoryChannelLayer)


def core_redis(raw: Any) -> bool:
    """True for channels_redis' ``RedisChannelLayer`` exactly, whose storage the
    runtime uses directly (membership pipelines, reply mailboxes): a subclass may
    store or receive messages its own way."""
    try:
        from channels_redis.core import RedisChannelLayer
    except ImportError:  # channels_redis is an optional extra
        return False
    return type(raw) is RedisChannelLayer


class SocketRegistry:
    def __init__(self) -> None:
        self._by_name: dict[str, LocalSocket] = {}
        self._groups: dict[str, set[LocalSocket]] = {}

    def add(self, socket: LocalSocket) -> None:
        self._by_name[socket.reply_channel] = socket

    def remove(self, socket: LocalSocket) -> None:
        if self._by_name.get(socket.reply_channel) is socket:
            del self._by_name[socket.reply_channel]

    def join(self, group: str, socket: LocalSocket) -> None:
        self._groups.setdefault(group, set()).add(socket)

    def leave(self, group: str, socket: LocalSocket) -> None:
        members = self._groups.get(group)
        if members is not None:
            members.discard(socket)
            if not members:
                del self._groups[group]

    def members(self, group: str) -> list[LocalSocket]:
        """The sockets in the local ``group`` (in-memory layer only)."""
        return list(self._groups.get(group, ()))

    def get(self, name: str) -> LocalSocket | None:
        return self._by_name.get(name)

    def of_loop(self, loop: asyncio.AbstractEventLoop) -> list[LocalSocket]:
        """The sockets running on ``loop`` (tests run several loops in one process)."""
        return [s for s in list(self._by_name.values()) if s.loop is loop]

    def clear(self) -> None:
        self._by_name.clear()
        self._groups.clear()

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._by_name))

    def __len__(self) -> int:
        return len(self._by_name)


sockets = SocketRegistry()
