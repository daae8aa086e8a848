"""``ChannelTestCase`` and ``TransactionChannelTestCase``: Django test cases with
fresh in-memory channel layers for every test."""

from __future__ import annotations

from typing import Any, ClassVar

from django.test import TestCase, TransactionTestCase

from ..layers import DEFAULT_CHANNEL_LAYER, channel_layers
from ..message import Message
from ._layers import LayerSwap, receive_content

__all__ = ["ChannelTestCase", "ChannelTestCaseMixin", "TransactionChannelTestCase"]


class ChannelTestCaseMixin:
    """Gives each test new in-memory layers for ``test_channel_aliases``.

    The alias keeps its routing; both Channels' layer (``get_channel_layer()``) and
    ``generic_consumers.channel_layers[alias]`` see the new one. Everything is put back
    after the test, and bindings declared during it are unregistered.
    """

    test_channel_aliases: ClassVar[list[str]] = [DEFAULT_CHANNEL_LAYER]

    def __call__(self, result: Any = None) -> Any:
        # Around Django's own set-up and tear-down, so fixtures loaded for the test
        # and bindings they trigger already use the test's layers.
        from ..binding.base import registry

        swap = LayerSwap(self.test_channel_aliases)
        bindings_before = set(registry.registered)
        swap.install()
        try:
            return super().__call__(result)  # type: ignore[misc]
        finally:
            swap.restore()
            for binding in set(registry.registered) - bindings_before:
                binding.unregister()

    def get_next_message(
        self, channel: str, alias: str = DEFAULT_CHANNEL_LAYER, require: bool = False
    ) -> Message | None:
        """The next message on ``channel`` of layer ``alias``, or None.

        With ``require=True`` an empty channel fails the test.
        """
        layer = channel_layers[alias]
        content = receive_content(layer.raw, channel)
        if content is None:
            if require:
                raise AssertionError(
                    f"Expected a message on channel {channel!r} ({alias}), got none."
                )
            return None
        return Message(content, channel, layer)


class ChannelTestCase(ChannelTestCaseMixin, TestCase):
    """A ``django.test.TestCase`` with fresh channel layers for every test.

    A save in the test body counts as committed for data binding (the test's
    wrapping transaction stands for autocommit), so binding messages are there at once.
    """


class TransactionChannelTestCase(ChannelTestCaseMixin, TransactionTestCase):
    """A ``django.test.TransactionTestCase`` with fresh channel layers per test."""
