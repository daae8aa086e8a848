"""``channel_layers``: the 1.x layer manager, over Channels 4 layers.

``channel_layers[alias]`` is a :class:`ChannelLayerWrapper` with the synchronous 1.x
layer API (``send``, ``group_add``, ``group_discard``, ``send_group``, all immediate)
and the alias' ``routing`` (what the 1.x test helpers route with). The Channels 4 layer
itself is ``wrapper.raw`` (looked up on each use, so Channels' own layer resets in tests
take effect).
"""

from __future__ import annotations

from typing import Any

from channels.layers import BaseChannelLayer
from channels.layers import channel_layers as channels4_layers
from django.core.exceptions import ImproperlyConfigured

from .conf import get_settings
from .routing import Router, router_for
from .runtime import delivery
from .runtime.context import run_sync
from .runtime.registry import sockets

__all__ = [
    "DEFAULT_CHANNEL_LAYER",
    "ChannelLayerManager",
    "ChannelLayerWrapper",
    "channel_layers",
]

DEFAULT_CHANNEL_LAYER = "default"


class ChannelLayerWrapper:
    """One layer alias, with 1.x's synchronous API and the routing it serves."""

    def __init__(self, alias: str, routing: Any = None) -> None:
        self.alias = alias
        self._routing = routing
        self._router: tuple[Any, Router] | None = None

    @property
    def raw(self) -> BaseChannelLayer:
        """The Channels 4 layer for this alias."""
        try:
            return channels4_layers[self.alias]
        except Exception as exc:  # Channels raises InvalidChannelLayerError/KeyError
            raise ImproperlyConfigured(
                f"No usable channel layer {self.alias!r} in CHANNEL_LAYERS: {exc}"
            ) from exc

    @property
    def channel_layer(self) -> BaseChannelLayer:
        return self.raw

    @property
    def routing(self) -> Any:
        """The routing of this alias: the one it was made with, else the setting's."""
        if self._routing is None:
            return get_settings()["ROUTING"] or []
        return self._routing

    @routing.setter
    def routing(self, value: Any) -> None:
        self._routing = value

    @property
    def router(self) -> Router:
        """The Router of :attr:`routing` (the 1.x test helpers match with it)."""
        routing = self.routing
        if self._router is None or self._router[0] is not routing:
            self._router = (routing, router_for(routing))
        return self._router[1]

    def local_only(self) -> bool:
        return "InMemory" in type(self.raw).__name__

    def send(self, channel: str, message: dict[str, Any]) -> None:
        if not isinstance(message, dict):
            raise TypeError(f"You can only send dicts as messages, not {message!r}.")
        run_sync(
            delivery.send_retrying, self, channel, message, None, twin="Channel.asend"
        )

    def group_add(self, group: str, channel: str) -> None:
        self._membership(group, channel, True)

    def group_discard(self, group: str, channel: str) -> None:
        self._membership(group, channel, False)

    def _membership(self, group: str, channel: str, joined: bool) -> None:
        delivery.check_group_name(group)
        run_sync(
            delivery.change_membership, self, group, channel, joined, twin="Group.aadd"
        )

    def send_group(self, group: str, message: dict[str, Any]) -> None:
        if not isinstance(message, dict):
            raise ValueError(f"You can only send dicts as messages, not {message!r}.")
        delivery.check_group_name(group)
        run_sync(delivery.group_send, self, group, message, twin="Group.asend")

    def group_channels(self, group: str) -> list[str]:
        """The channels in ``group`` (1.x's *groups* extension), sorted.

        On the in-memory layer, sockets' memberships are kept by the runtime, not the
        layer; both are listed. Other layers (channels_redis) cannot list members.
        """
        raw = self.raw
        members = getattr(raw, "groups", None)
        if not isinstance(members, dict):
            raise NotImplementedError(
                f"{type(raw).__qualname__} cannot list the members of a group."
            )
        names = {socket.reply_channel for socket in sockets.members(group)}
        return sorted(names | set(members.get(group, ())))

    def __getattr__(self, name: str) -> Any:
        # 1.x proxied unknown attributes to the layer (wrapper.flush, .extensions).
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.raw, name)

    def __str__(self) -> str:
        layer = type(self.raw)
        return f"{self.alias} ({layer.__module__}.{layer.__qualname__})"


class ChannelLayerManager:
    """Builds and caches one wrapper per alias; ``set`` swaps one (tests use it)."""

    def __init__(self) -> None:
        self.wrappers: dict[str, ChannelLayerWrapper] = {}

    def __getitem__(self, alias: str) -> ChannelLayerWrapper:
        try:
            return self.wrappers[alias]
        except KeyError:
            wrapper = self.wrappers[alias] = ChannelLayerWrapper(alias)
            return wrapper

    def __contains__(self, alias: str) -> bool:
        from django.conf import settings

        return alias in getattr(settings, "CHANNEL_LAYERS", {})

    def set(
        self, alias: str, wrapper: ChannelLayerWrapper
    ) -> ChannelLayerWrapper | None:
        old = self.wrappers.get(alias)
        self.wrappers[alias] = wrapper
        return old


channel_layers = ChannelLayerManager()
