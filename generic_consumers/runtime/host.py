"""The one interface through which the runtime reaches the public side.

``generic_consumers.asgi.RoutingApplication`` implements :class:`Host`: it builds the
1.x ``Message`` for an event, matches it against the routing and cleans up after a
socket. The runtime only ever sees these protocols, so it imports no public module.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any, Protocol

__all__ = ["Host", "Layer", "LocalSocket", "Match"]

Match = tuple[Callable[..., Any], dict[str, Any]]


class Layer(Protocol):
    """A layer alias (``generic_consumers.layers.ChannelLayerWrapper``)."""

    alias: str

    @property
    def raw(self) -> Any:
        """The Channels 4 layer; raises ImproperlyConfigured when there is none."""
        ...


class LocalSocket(Protocol):
    """A socket of this process, as delivery, membership and the registry see it."""

    reply_channel: str
    groups: set[str]
    # The loop the socket runs on and its layer (None without one): the membership
    # refresher of each loop re-adds the groups of that loop's sockets.
    loop: asyncio.AbstractEventLoop | None
    layer: Layer | None

    async def deliver(self, content: dict[str, Any], origin: object) -> None: ...

    def deliver_soon(self, content: dict[str, Any]) -> None:
        """Queue group content for the socket's own task to deliver (never blocks)."""
        ...


class Host(Protocol):
    """What a socket and a worker need from the application serving them."""

    @property
    def settings(self) -> Mapping[str, Any]: ...

    @property
    def layer(self) -> Layer: ...

    def message(self, channel: str, content: dict[str, Any], socket: Any | None) -> Any:
        """The 1.x ``Message`` for ``content`` on ``channel`` (``socket``'s, if any)."""
        ...

    def route(self, message: Any) -> Match | None:
        """``(consumer, kwargs)`` for ``message``, or None when nothing matches."""
        ...

    async def socket_closed(self, socket: Any) -> None:
        """Clean up after a socket that went away (its channel session); never
        raises."""
        ...
