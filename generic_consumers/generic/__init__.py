"""Class-based generic consumers."""

# websockets and multiplexing import each other; importing websockets first (here)
# lets either be imported on its own.
from . import websockets as websockets
from .base import AsyncBaseConsumer, BaseConsumer

__all__ = ["AsyncBaseConsumer", "BaseConsumer"]
