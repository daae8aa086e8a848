"""Django Channels 1.x generic consumers on today's ASGI stack."""

__version__ = "0.1.0.dev0"

try:
    from .channel import Channel, Group
    from .layers import DEFAULT_CHANNEL_LAYER, channel_layers
    from .routing import include, route, route_class
except ImportError:  # pragma: no cover - lets setup tooling import the version
    pass

__all__ = [
    "DEFAULT_CHANNEL_LAYER",
    "Channel",
    "Group",
    "channel_layers",
    "include",
    "route",
    "route_class",
]
