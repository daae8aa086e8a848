"""Data binding (``channels.binding`` in 1.x)."""

from .base import Binding
from .websockets import WebsocketBinding, WebsocketBindingWithMembers

__all__ = ["Binding", "WebsocketBinding", "WebsocketBindingWithMembers"]
