"""The live sockets of this process, by reply channel name.

Replies to a socket of this process skip the channel layer: delivery looks the name up
here first. The membership refresher walks it to re-add each live socket's groups.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

from .host import LocalSocket

__all__ = ["SocketRegistry", "sockets"]


class SocketRegistry:
    def __init__(self) -> None:
        self._by_name: dict[str, LocalSocket] = {}

    def add(self, socket: LocalSocket) -> None:
        self._by_name[socket.reply_channel] = socket

    def remove(self, socket: LocalSocket) -> None:
        if self._by_name.get(socket.reply_channel) is socket:
            del self._by_name[socket.reply_channel]

    def get(self, name: str) -> LocalSocket | None:
        return self._by_name.get(name)

    def of_loop(self, loop: asyncio.AbstractEventLoop) -> list[LocalSocket]:
        """The sockets running on ``loop`` (tests run several loops in one process)."""
        return [s for s in list(self._by_name.values()) if s.loop is loop]

    def clear(self) -> None:
        self._by_name.clear()

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._by_name))

    def __len__(self) -> int:
        return len(self._by_name)


sockets = SocketRegistry()
