"""The 1.x ``Message``: a dict-like view of one event on one channel."""

from __future__ import annotations

import copy
from collections.abc import ItemsView, Iterator, KeysView, ValuesView
from typing import TYPE_CHECKING, Any

from .channel import Channel

if TYPE_CHECKING:
    from .layers import ChannelLayerWrapper

__all__ = ["Message"]


class Message:
    """One message: ``content`` (a dict) that arrived on ``channel``.

    Decorators add ``channel_session``, ``http_session`` and ``user`` to it. ``channel``
    and ``reply_channel`` are built on first access: most consumers never touch
    them, and a message is made for every frame. ``scope`` is the socket's ASGI scope
    on the messages a socket dispatches (``None`` on named channels).
    """

    channel_session: Any
    http_session: Any
    user: Any
    scope: dict[str, Any] | None = None

    def __init__(
        self,
        content: dict[str, Any],
        channel_name: str,
        channel_layer: ChannelLayerWrapper | None,
    ) -> None:
        self.content = content
        self.channel_name = channel_name
        self.channel_layer = channel_layer
        self._channel: Channel | None = None
        self._reply_channel: Channel | None | bool = False

    @property
    def channel(self) -> Channel:
        if self._channel is None:
            self._channel = Channel(self.channel_name, channel_layer=self.channel_layer)
        return self._channel

    @property
    def reply_channel(self) -> Channel | None:
        if self._reply_channel is False:
            name = self.content.get("reply_channel")
            self._reply_channel = (
                Channel(name, channel_layer=self.channel_layer) if name else None
            )
        return self._reply_channel  # type: ignore[return-value]

    def __getitem__(self, key: str) -> Any:
        return self.content[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.content[key] = value
        if key == "reply_channel":
            self._reply_channel = False

    def __contains__(self, key: object) -> bool:
        return key in self.content

    def __iter__(self) -> Iterator[str]:
        return iter(self.content)

    def __len__(self) -> int:
        return len(self.content)

    def keys(self) -> KeysView[str]:
        return self.content.keys()

    def values(self) -> ValuesView[Any]:
        return self.content.values()

    def items(self) -> ItemsView[str, Any]:
        return self.content.items()

    def get(self, key: str, default: Any = None) -> Any:
        return self.content.get(key, default)

    def copy(self) -> Message:
        """A new Message with a deep copy of the content (attributes are not copied)."""
        return type(self)(
            copy.deepcopy(self.content), self.channel_name, self.channel_layer
        )

    def __repr__(self) -> str:
        return f"<Message channel={self.channel_name!r} keys={sorted(self.content)}>"
