"""``Channel`` and ``Group``: send 1.x messages from consumers, views or commands.

Inside a consumer, sends are buffered and go out in order when it returns (1.x
"consumer atomicity"); ``immediately=True`` sends at once. Outside a consumer every send
is immediate. Each sync method has an ``a``-prefixed async twin.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from . import _envelope
from ._context import current_origin, pending_sends, run_sync

if TYPE_CHECKING:
    from .layers import ChannelLayerWrapper

__all__ = ["Channel", "Group"]

_GROUP_NAME = re.compile(r"^[a-zA-Z0-9\-_.]{1,99}$")


def _layer(
    alias: str, channel_layer: ChannelLayerWrapper | None
) -> ChannelLayerWrapper:
    if channel_layer is not None:
        return channel_layer
    from .layers import channel_layers

    return channel_layers[alias]


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
        if not isinstance(content, dict):
            raise TypeError(f"You can only send dicts as messages, not {content!r}.")
        pending = pending_sends.get()
        if pending is not None and not immediately:
            pending.append(("send", self.channel_layer, self.name, content))
        else:
            run_sync(self._send_now, content, twin="Channel.asend")

    async def asend(self, content: dict[str, Any], immediately: bool = False) -> None:
        """Async twin of :meth:`send`."""
        if not isinstance(content, dict):
            raise TypeError(f"You can only send dicts as messages, not {content!r}.")
        pending = pending_sends.get()
        if pending is not None and not immediately:
            pending.append(("send", self.channel_layer, self.name, content))
        else:
            await self._send_now(content)

    async def _send_now(self, content: dict[str, Any]) -> None:
        await _envelope.send_retrying(
            self.channel_layer, self.name, content, current_origin.get()
        )

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
        name = _name(name)
        if not isinstance(name, str) or not _GROUP_NAME.match(name):
            raise ValueError(
                f"Invalid group name {name!r}: use 1-99 ASCII letters, digits, "
                "'-', '_' "
                "or '.' (sanitise names derived from user input)."
            )
        self.name = name
        self.channel_layer = _layer(alias, channel_layer)

    # Inside a consumer, membership changes join the send buffer: they still take effect
    # before any buffered send goes out (so a connect's accept finds the socket in its
    # groups, as in 1.x), and a sync consumer saves a thread hop per change.

    def add(self, channel: Channel | str) -> None:
        """Add ``channel`` (a Channel or a name) to the group."""
        if not self._buffer("add", channel):
            run_sync(self.aadd, channel, twin="Group.aadd")

    async def aadd(self, channel: Channel | str) -> None:
        if not self._buffer("add", channel):
            await _envelope.group_membership(
                self.channel_layer, self.name, _name(channel), True
            )

    def discard(self, channel: Channel | str) -> None:
        """Remove ``channel`` from the group; not being a member is fine."""
        if not self._buffer("discard", channel):
            run_sync(self.adiscard, channel, twin="Group.adiscard")

    async def adiscard(self, channel: Channel | str) -> None:
        if not self._buffer("discard", channel):
            await _envelope.group_membership(
                self.channel_layer, self.name, _name(channel), False
            )

    def _buffer(self, kind: str, channel: Channel | str) -> bool:
        pending = pending_sends.get()
        if pending is None:
            return False
        pending.append((kind, self.channel_layer, self.name, _name(channel)))
        return True

    def send(self, content: dict[str, Any], immediately: bool = False) -> None:
        """Send ``content`` to every member; buffered inside a consumer."""
        if not isinstance(content, dict):
            raise ValueError(f"You can only send dicts as messages, not {content!r}.")
        pending = pending_sends.get()
        if pending is not None and not immediately:
            pending.append(("group", self.channel_layer, self.name, content))
        else:
            run_sync(
                _envelope.group_send,
                self.channel_layer,
                self.name,
                content,
                twin="Group.asend",
            )

    async def asend(self, content: dict[str, Any], immediately: bool = False) -> None:
        """Async twin of :meth:`send`."""
        if not isinstance(content, dict):
            raise ValueError(f"You can only send dicts as messages, not {content!r}.")
        pending = pending_sends.get()
        if pending is not None and not immediately:
            pending.append(("group", self.channel_layer, self.name, content))
        else:
            await _envelope.group_send(self.channel_layer, self.name, content)

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"<Group {self.name!r}>"
