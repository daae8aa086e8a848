"""Fresh in-memory layers for tests, and reading them without blocking.

A test reads what a consumer sent right after ``consume()`` returns, from plain sync
code. Each ``async_to_sync`` call runs on a new event loop, so nothing may wait on an
empty in-memory queue (the queue would be bound to a loop that is gone by the next
call): reads look into the queue and take a message only when one is there.
"""

from __future__ import annotations

import asyncio
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import BaseChannelLayer, InMemoryChannelLayer
from channels.layers import channel_layers as channels4_layers

from ..layers import ChannelLayerWrapper, channel_layers
from ..runtime.envelope import MESSAGE

# Seconds a non-in-memory layer is given to produce a message before "nothing there".
OTHER_LAYER_WAIT = 0.1

_MISSING = object()


def receive_envelope(raw: BaseChannelLayer, channel: str) -> dict[str, Any] | None:
    """The next raw message on ``channel``, or None at once if there is none."""
    queues = getattr(raw, "channels", None)
    if isinstance(raw, InMemoryChannelLayer) and isinstance(queues, dict):
        raw._clean_expired()
        queue = queues.get(channel)
        if queue is None or queue.empty():
            return None
        _, envelope = queue.get_nowait()
        if queue.empty():
            queues.pop(channel, None)
        return envelope

    async def receive() -> dict[str, Any] | None:
        try:
            return await asyncio.wait_for(raw.receive(channel), OTHER_LAYER_WAIT)
        except TimeoutError:
            return None

    return async_to_sync(receive)()


def receive_content(raw: BaseChannelLayer, channel: str) -> dict[str, Any] | None:
    """The next 1.x message content on ``channel`` (envelopes unwrapped), or None.

    Anything that is not a generic_consumers message (a group-membership notice, a
    native Channels 4 event) is skipped.
    """
    while True:
        envelope = receive_envelope(raw, channel)
        if envelope is None:
            return None
        if envelope.get("type") == MESSAGE:
            return envelope["content"]


class LayerSwap:
    """Install fresh in-memory layers for some aliases, and put the old ones back.

    Both sides are swapped: Channels' own ``channel_layers`` backend (what
    ``get_channel_layer()`` and the runtime use) and this package's wrapper, which
    keeps the alias' routing.
    """

    def __init__(self, aliases: list[str]) -> None:
        self.aliases = list(aliases)
        self._saved: list[tuple[str, Any, Any]] = []

    def install(self) -> None:
        for alias in self.aliases:
            old_wrapper = channel_layers.wrappers.get(alias, _MISSING)
            routing = channel_layers[alias].routing
            old_backend = channels4_layers.backends.get(alias, _MISSING)
            channels4_layers.set(alias, InMemoryChannelLayer())
            channel_layers.set(alias, ChannelLayerWrapper(alias, routing))
            self._saved.append((alias, old_backend, old_wrapper))

    def restore(self) -> None:
        while self._saved:
            alias, old_backend, old_wrapper = self._saved.pop()
            if old_backend is _MISSING:
                channels4_layers.backends.pop(alias, None)
            else:
                channels4_layers.backends[alias] = old_backend
            if old_wrapper is _MISSING:
                channel_layers.wrappers.pop(alias, None)
            else:
                channel_layers.wrappers[alias] = old_wrapper
