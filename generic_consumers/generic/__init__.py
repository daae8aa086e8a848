"""Class-based generic consumers."""

from .base import BaseConsumer

__all__ = ["BaseConsumer"]
