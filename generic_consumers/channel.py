"""``Channel`` and ``Group``: send 1.x messages from consumers, views or commands.

Inside a consumer, sends are buffered and go out in order when it returns (1.x
"consumer atomicity"); ``immediately=True`` sends at once. Group membership changes
take effect when called, as in 1.x (inside a consumer they start at once without
blocking it, and every later send of that consumer waits for them). Outside a consumer
everything is immediate. Each sync method has an ``a``-prefixed async twin.
"""

from __future__ import annotations

from typing import Any

from .layers import ChannelLayerWrapper, channel_layers
from .runtime import delivery
from .runtime.context import buffering, current_turn, origin, run_sync
from .runtime.registry import sockets

__all__ = ["Channel", "Group"]


def _layer(
    alias: str, channel_layer: ChannelLayerWrapper | None
) -> ChannelLayerWrapper:
    return channel_layer if channel_layer is not None else channel_layers[alias]


def _name(channel: Channel | str | bytes) -> str:
    if isinstance(channel, Channel):
        return channel.name
    return channel.decode("ascii") if isinstance(channel, bytes) else channel


class Channel:
    """A named channel, such as a socket's reply channel or ``"chat.stats"``."""

    def __init__(
        self,
        name: str | bytes,
        alias: str = "default",
        channel_layer: ChannelLayerWrapper | None = None,
    ) -> None:
        self.name = _name(name)
        self.channel_layer = _layer(alias, channel_layer)

    def send(self, content: dict[str, Any], immediately: bool = False) -> None:
        """Send ``content``; buffered until the running consumer returns, if any."""
        if not self._buffered(content, immediately):
            run_sync(self._send_now, content, twin="Channel.asend")

    async def asend(self, content: dict[str, Any], immediately: bool = False) -> None:
        """Async twin of :meth:`send`."""
        if not self._buffered(content, immediately):
            await self._send_now(content)

    def _buffered(self, content: Any, immediately: bool) -> bool:
        if not isinstance(content, dict):
            raise TypeError(f"You can only send dicts as messages, not {content!r}.")
        turn = None if immediately else buffering()
        if turn is None:
            return False
        turn.pending.append(("send", self.channel_layer, self.name, content))
        return True

    async def _send_now(self, content: dict[str, Any]) -> None:
        await delivery.settle()  # after the membership changes made before it
        turn = current_turn.get()
        if turn is not None and self.name not in sockets:
            turn.forwarded = True
        await delivery.send_retrying(self.channel_layer, self.name, content, origin())

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"<Channel {self.name!r}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Channel) and other.name == self.name

    def __hash__(self) -> int:
        return hash(self.name)


class Group:
    """A channel-layer group. ``add``/``discard`` act at once; ``send`` is buffered."""

    def __init__(
        self,
        name: str | bytes,
        alias: str = "default",
        channel_layer: ChannelLayerWrapper | None = None,
    ) -> None:
        self.name = delivery.check_group_name(_name(name))
        self.channel_layer = _layer(alias, channel_layer)

    def add(self, channel: Channel | str) -> None:
        """Add ``channel`` (a Channel or a name) to the group."""
        self._change(channel, True)

    async def aadd(self, channel: Channel | str) -> None:
        """Async twin of :meth:`add`."""
        await self._achange(channel, True)

    def discard(self, channel: Channel | str) -> None:
        """Remove ``channel`` from the group; not being a member is fine."""
        self._change(channel, False)

    async def adiscard(self, channel: Channel | str) -> None:
        """Async twin of :meth:`discard`."""
        await self._achange(channel, False)

    def _change(self, channel: Channel | str, joined: bool) -> None:
        turn = buffering()
        if turn is not None:
            # Inside a consumer: started now without blocking it (a sync handler may
            # run on the loop); the consumer's later sends wait for it.
            delivery.start_change(
                turn, self.channel_layer, self.name, _name(channel), joined
            )
        else:
            run_sync(
                delivery.change_membership,
                self.channel_layer,
                self.name,
                _name(channel),
                joined,
                twin="Group.aadd" if joined else "Group.adiscard",
            )

    async def _achange(self, channel: Channel | str, joined: bool) -> None:
        await delivery.settle()
        await delivery.change_membership(
            self.channel_layer, self.name, _name(channel), joined
        )

    def send(self, content: dict[str, Any], immediately: bool = False) -> None:
        """Send ``content`` to every member; buffered inside a consumer."""
        if not self._buffered(content, immediately):
            run_sync(self._send_now, content, twin="Group.asend")

    async def asend(self, content: dict[str, Any], immediately: bool = False) -> None:
        """Async twin of :meth:`send`."""
        if not self._buffered(content, immediately):
            await self._send_now(content)

    def _buffered(self, content: Any, immediately: bool) -> bool:
        if not isinstance(content, dict):
            raise ValueError(f"You can only send dicts as messages, not {content!r}.")
        turn = None if immediately else buffering()
        if turn is None:
            return False
        turn.pending.append(("group", self.channel_layer, self.name, content))
        return True

    async def _send_now(self, content: dict[str, Any]) -> None:
        await delivery.settle()
        await delivery.group_send(self.channel_layer, self.name, content)

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"<Group {self.name!r}>"
