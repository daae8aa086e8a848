"""Class-based generic consumers."""

from .base import AsyncBaseConsumer, BaseConsumer

__all__ = ["AsyncBaseConsumer", "BaseConsumer"]
