"""Where named channels travel: the channel layer, or Redis Streams (:mod:`.queue`).

``GENERIC_CONSUMERS["NAMED_CHANNELS"]`` decides, for the layer named channels are
sent on: ``"auto"`` (the default) uses streams on a channels_redis layer — the core
layer, the pub/sub layer, with or without Sentinel — and the layer itself otherwise
(the in-memory layer serves one process, where it already hands each message to one
reader); ``"streams"`` insists on streams; ``"layer"`` keeps the layer.
Reply channels (names with ``"!"``) and groups always stay on the layer.

The queue uses the layer's own ``CONFIG`` (``hosts``, ``prefix``, ``capacity``,
``channel_capacity``, ``expiry``, ``symmetric_encryption_keys``), so one setting
serves both, and ``GENERIC_CONSUMERS["REDELIVER_AFTER"]`` picks what a crash can do.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
import weakref
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from ..conf import get_settings
from .host import Layer
from .outage import layer_call, receive

if TYPE_CHECKING:  # redis-py and channels_redis come with the "redis" extra only
    from .queue import Delivery, StreamQueue

__all__ = [
    "CHOICES",
    "acknowledge",
    "close",
    "is_reply_channel",
    "layer_kind",
    "queue_for",
    "receive_named",
    "send",
]

logger = logging.getLogger("generic_consumers")

CHOICES = ("auto", "layer", "streams")
_PUBSUB_REPLY = re.compile(r"specific\.[0-9a-f]{32}$")
_KINDS = {
    "channels.layers.InMemoryChannelLayer": "memory",
    "channels_redis.core.RedisChannelLayer": "redis",
    "channels_redis.pubsub.RedisPubSubChannelLayer": "pubsub",
}
# The queues of each event loop, by layer alias.
_queues: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, dict[str, StreamQueue]
] = weakref.WeakKeyDictionary()


def layer_kind(backend: Any) -> str:
    """``"memory"``, ``"redis"``, ``"pubsub"`` or ``"other"`` for a layer class, an
    instance of one, or a BACKEND dotted path (subclasses count as their base)."""
    if isinstance(backend, str):
        from django.utils.module_loading import import_string

        try:
            backend = import_string(backend)
        except ImportError:
            return "other"
    return _class_kind(backend if isinstance(backend, type) else type(backend))


@functools.cache
def _class_kind(cls: type) -> str:  # asked on every named-channel send
    for klass in cls.__mro__:
        kind = _KINDS.get(f"{klass.__module__}.{klass.__qualname__}")
        if kind is not None:
            return kind
    return "other"


def uses_streams(choice: str, kind: str) -> bool:
    """Whether named channels go through streams for this setting and layer kind."""
    if choice == "layer":
        return False
    if kind in ("redis", "pubsub"):
        return True
    if choice == "streams":
        raise ImproperlyConfigured(
            "GENERIC_CONSUMERS['NAMED_CHANNELS'] = 'streams' needs a channels_redis "
            f"layer to keep the streams in, and this layer is {kind!r}; use 'auto'."
        )
    return False


def queue_for(layer: Layer) -> StreamQueue | None:
    """This loop's queue for ``layer``, or None when named channels use the layer."""
    conf = get_settings()
    raw = layer.raw
    if not uses_streams(conf["NAMED_CHANNELS"], layer_kind(raw)):
        return None
    loop = asyncio.get_running_loop()
    by_alias = _queues.get(loop)
    if by_alias is None:
        by_alias = _queues[loop] = {}
        _close_before(loop)
    queue = by_alias.get(layer.alias)
    if queue is None:
        from .queue import StreamQueue

        entry = getattr(settings, "CHANNEL_LAYERS", {}).get(layer.alias, {})
        config = entry.get("CONFIG") or {}
        options = {
            name: config[name]
            for name in (
                "hosts",
                "prefix",
                "capacity",
                "channel_capacity",
                "expiry",
                "symmetric_encryption_keys",
            )
            if name in config
        }
        queue = by_alias[layer.alias] = StreamQueue(
            redeliver_after=conf["REDELIVER_AFTER"], **options
        )
    return queue


def is_reply_channel(channel: str) -> bool:
    """Whether ``channel`` came from a layer's ``new_channel()``: ``...!<id>`` on
    the core layer, ``<prefix>specific.<32 hex digits>`` on the pub/sub layer."""
    return "!" in channel or _PUBSUB_REPLY.search(channel) is not None


def _close_before(loop: asyncio.AbstractEventLoop) -> None:
    """Close ``loop``'s queues when it closes. A sync ``Channel.send`` (a view, a
    command) runs in a fresh loop each time: without this each left a connection."""
    original = loop.close

    def close() -> None:
        for queue in _queues.pop(loop, {}).values():
            try:
                loop.run_until_complete(queue.close())
            except Exception as exc:  # never keep a loop from closing
                logger.debug("Closing a named-channel queue failed: %r", exc)
        original()

    try:
        loop.close = close  # type: ignore[method-assign]
    except AttributeError:  # a loop type that refuses it: closed by close() only
        pass


async def send(layer: Layer, channel: str, wrapped: dict[str, Any]) -> None:
    """Send the envelope ``wrapped`` to ``channel``, bounded and retried (may raise
    ChannelFull at once: the caller decides how long to wait for room)."""
    queue = None if is_reply_channel(channel) else queue_for(layer)
    if queue is None:
        raw = layer.raw
        await layer_call(lambda: raw.send(channel, wrapped), f"send to {channel!r}")
    else:
        await layer_call(
            lambda: queue.send(channel, wrapped), f"send to named channel {channel!r}"
        )


class _Polling:
    """A queue seen as a layer whose ``receive`` waits as long as it takes, so
    :func:`.outage.receive` retries and logs its faults as it does the layer's."""

    def __init__(self, queue: StreamQueue) -> None:
        self.queue = queue

    async def receive(self, channel: str) -> Delivery:
        while True:
            delivery = await self.queue.poll(channel)
            if delivery is not None:
                return delivery


async def receive_named(
    layer: Layer, channel: str
) -> tuple[dict[str, Any], Delivery | None]:
    """The next envelope on the named ``channel``, and what to acknowledge (None on
    the layer). Layer faults are waited out (see :func:`.outage.receive`)."""
    queue = queue_for(layer)
    if queue is None:
        return await receive(layer.raw, channel, f"receiving on {channel!r}"), None
    what = f"receiving on named channel {channel!r}"
    delivery: Any = await receive(_Polling(queue), channel, what)  # a Delivery
    return delivery.message, delivery


async def acknowledge(layer: Layer, delivery: Delivery | None) -> None:
    """The handler of ``delivery`` finished: in redeliver-once mode it leaves Redis."""
    if delivery is not None and delivery.pending:
        queue = queue_for(layer)
        if queue is not None:
            what = f"acknowledging on named channel {delivery.channel!r}"
            await layer_call(lambda: queue.ack(delivery), what)


async def close() -> None:
    """Close this loop's queues (their connection pools)."""
    for queue in _queues.pop(asyncio.get_running_loop(), {}).values():
        await queue.close()
