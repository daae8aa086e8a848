"""1.x ordering in the test client: a message consumed ahead of its ``order`` waits.

On a server a socket's messages already run one at a time, in order. A test sends
messages by hand, so it can send them out of order; 1.x's ``@enforce_ordering`` (and
``strict_ordering = True`` on a class) then parked a message until the ones before it
had been consumed, and put it back on its channel afterwards. The test client does the
same for consumers that ask for ordering.
"""

from __future__ import annotations

import inspect
import weakref
from typing import Any

from ..layers import ChannelLayerWrapper

__all__ = ["OrderKeeper", "wants_ordering"]

ORDERED = "_generic_consumers_ordered"


def wants_ordering(consumer: Any, channel: str) -> bool:
    """Whether ``consumer`` asked for 1.x strict ordering on ``channel``."""
    if getattr(consumer, ORDERED, False):
        return True
    if not inspect.isclass(consumer):
        return False
    if getattr(consumer, "strict_ordering", False):
        return True
    name = getattr(consumer, "method_mapping", {}).get(channel)
    if not isinstance(name, str):
        return False
    return bool(getattr(getattr(consumer, name, None), ORDERED, False))


class OrderKeeper:
    """The next expected ``order`` of each reply channel, and the messages parked."""

    def __init__(self) -> None:
        self.next: dict[str, int] = {}
        self.parked: dict[str, list[tuple[str, dict[str, Any]]]] = {}

    def in_turn(self, channel: str, content: dict[str, Any]) -> bool:
        """True when ``content`` is next for its socket; else it is parked."""
        reply = content.get("reply_channel", "")
        if content["order"] == self.next.get(reply, 0):
            return True
        self.parked.setdefault(reply, []).append((channel, content))
        return False

    def consumed(self, content: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
        """Note that ``content`` ran; the parked messages to put back on their
        channels."""
        reply = content.get("reply_channel", "")
        self.next[reply] = content["order"] + 1
        return self.parked.pop(reply, [])


_keepers: weakref.WeakKeyDictionary[ChannelLayerWrapper, OrderKeeper] = (
    weakref.WeakKeyDictionary()
)


def keeper_for(layer: ChannelLayerWrapper) -> OrderKeeper:
    """One keeper per layer wrapper (a test case gets fresh wrappers)."""
    keeper = _keepers.get(layer)
    if keeper is None:
        keeper = _keepers[layer] = OrderKeeper()
    return keeper
