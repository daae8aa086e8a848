"""Consuming named channels: in-process workers and Channels' ``runworker``.

A named channel is any routed channel that is not ``websocket.*`` (``"chat.stats"``,
a demultiplexer ``mapping`` target). Its messages arrive in envelopes (see
``_envelope``); the 1.x content is unwrapped and routed like any other message.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from ._envelope import MESSAGE
from ._outage import receive
from ._runtime import consumer_name, log_consumer_error, run_consumer
from .exceptions import ConsumeLater, DenyConnection
from .message import Message

if TYPE_CHECKING:
    from .asgi import RoutingApplication

logger = logging.getLogger("generic_consumers")


def named_channels(channels: set[str]) -> list[str]:
    return sorted(c for c in channels if not c.startswith("websocket."))


async def handle_envelope(
    app: RoutingApplication, channel: str, envelope: dict[str, Any]
) -> None:
    """Route and run one message that arrived on the named ``channel``."""
    if envelope.get("type") != MESSAGE:
        logger.warning(
            "Ignored a message of type %r on channel %r: not sent by "
            "generic_consumers.",
            envelope.get("type"),
            channel,
        )
        return
    retries = envelope.get("retries", 0)
    message = Message(envelope["content"], channel, app.layer)
    max_retries = app.settings["MESSAGE_RETRIES"]
    if retries >= max_retries:
        message.__doomed__ = True  # type: ignore[attr-defined]
    match = app.router.match(message)
    if match is None:
        logger.warning(
            "No route matched channel %r; message dropped. Add "
            "route(%r, ...) to the routing.",
            channel,
            channel,
        )
        return
    consumer, kwargs = match
    try:
        await run_consumer(
            consumer,
            app.router.on_loop(consumer, channel),
            message,
            kwargs,
            origin=None,
            executor=None,
        )
    except ConsumeLater:
        if retries >= max_retries:
            logger.warning(
                "Dropped a message on %r: %s raised ConsumeLater %d times",
                channel,
                consumer_name(consumer),
                retries + 1,
            )
        else:
            await app.layer.raw.send(channel, {**envelope, "retries": retries + 1})
    except DenyConnection:
        logger.warning(
            "%s raised DenyConnection on %r, which has no handshake to deny; ignored.",
            consumer_name(consumer),
            channel,
        )
    except Exception as exc:
        log_consumer_error(consumer, message, exc)


async def serve_channel_scope(app: RoutingApplication, scope: dict, receive: Any):
    """The ``"channel"`` scope Channels' ``runworker`` opens, one per channel."""
    channel = scope["channel"]
    while True:
        await handle_envelope(app, channel, await receive())


async def consume_forever(
    app: RoutingApplication, channel: str, *, drain_timeout: float = 0.0
) -> None:
    """A worker: receive on ``channel`` and run up to N messages at once.

    Survives layer outages: a failed receive is retried with jittered backoff and
    logged once per outage (Channels' own ``runworker`` dies on a Redis restart). When
    cancelled, messages already being handled get ``drain_timeout`` seconds to finish.
    """
    limit = asyncio.Semaphore(app.settings["WORKER_CONCURRENCY"])
    running: set[asyncio.Task] = set()
    raw = app.layer.raw
    try:
        while True:
            await limit.acquire()
            try:
                envelope = await receive(raw, channel, f"receiving on {channel!r}")
            except BaseException:
                limit.release()
                raise
            task = asyncio.ensure_future(handle_envelope(app, channel, envelope))
            running.add(task)
            task.add_done_callback(running.discard)
            task.add_done_callback(lambda _: limit.release())
    finally:
        if running and drain_timeout > 0:
            await asyncio.wait(set(running), timeout=drain_timeout)
        for task in running:
            task.cancel()
