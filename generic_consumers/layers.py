"""``channel_layers``: the 1.x layer manager, over Channels 4 layers.

``channel_layers[alias]`` is a :class:`ChannelLayerWrapper` with the synchronous 1.x
layer API (``send``, ``group_add``, ``group_discard``, ``send_group``) and the routing.
The Channels 4 layer itself is ``wrapper.raw`` (looked up on each use, so Channels' own
layer resets in tests take effect).
"""

from __future__ import annotations

from typing import Any

from channels.layers import BaseChannelLayer
from channels.layers import channel_layers as channels4_layers
from django.core.exceptions import ImproperlyConfigured

from .channel import Channel, Group

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
        self._router: Any = None

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
        if self._routing is None:
            from .conf import get_settings

            self._routing = get_settings()["ROUTING"] or []
        return self._routing

    @routing.setter
    def routing(self, value: Any) -> None:
        self._routing = value
        self._router = None

    @property
    def router(self) -> Any:
        if self._router is None:
            from .routing import Router

            self._router = Router(self.routing)
        return self._router

    @router.setter
    def router(self, value: Any) -> None:
        self._router = value

    def local_only(self) -> bool:
        return "InMemory" in type(self.raw).__name__

    def send(self, channel: str, message: dict[str, Any]) -> None:
        Channel(channel, channel_layer=self).send(message, immediately=True)

    def group_add(self, group: str, channel: str) -> None:
        Group(group, channel_layer=self).add(channel)

    def group_discard(self, group: str, channel: str) -> None:
        Group(group, channel_layer=self).discard(channel)

    def send_group(self, group: str, message: dict[str, Any]) -> None:
        Group(group, channel_layer=self).send(message, immediately=True)

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
