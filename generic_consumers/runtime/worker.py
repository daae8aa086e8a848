"""Consuming named channels: in-process workers and Channels' ``runworker``.

A named channel is any routed channel that is not ``websocket.*`` (``"chat.stats"``,
a demultiplexer ``mapping`` target). Its messages arrive in envelopes (see
:mod:`.envelope`); the 1.x content is unwrapped and routed like any other message.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any

from . import envelope, named
from .host import Host
from .outcome import Outcome, consume

__all__ = [
    "consume_forever",
    "handle_envelope",
    "named_channels",
    "serve_channel_scope",
]

logger = logging.getLogger("generic_consumers")


def named_channels(channels: Iterable[str]) -> list[str]:
    return sorted(c for c in channels if not c.startswith("websocket."))


async def handle_envelope(host: Host, channel: str, wrapped: dict[str, Any]) -> None:
    """Route and run one message that arrived on the named ``channel``."""
    if wrapped.get("type") != envelope.MESSAGE:
        logger.warning(
            "Ignored a message of type %r on channel %r: not sent by "
            "generic_consumers.",
            wrapped.get("type"),
            channel,
        )
        return
    retries = wrapped.get("retries", 0)
    max_retries = host.settings["MESSAGE_RETRIES"]
    message = host.message(channel, wrapped["content"], None)
    if retries >= max_retries:
        message.__doomed__ = True
    match = host.route(message)
    if match is None:
        logger.warning(
            "No route matched channel %r; message dropped. Add "
            "route(%r, ...) to the routing.",
            channel,
            channel,
        )
        return
    consumer, kwargs = match
    outcome = await consume(
        consumer, message, kwargs, tries=retries, max_retries=max_retries
    )
    if outcome is Outcome.RETRY:
        again = {**wrapped, "retries": retries + 1}
        await named.send(host.layer, channel, again)


async def _handle(
    host: Host, channel: str, wrapped: dict[str, Any], delivery: Any
) -> None:
    try:
        await handle_envelope(host, channel, wrapped)
    finally:
        # Not after a cancellation (a drain that ran out): in redeliver-once mode
        # the message then goes to another reader after REDELIVER_AFTER.
        if not _cancelling():
            await named.acknowledge(host.layer, delivery)


def _cancelling() -> bool:
    task = asyncio.current_task()
    return bool(task is not None and task.cancelling())


async def serve_channel_scope(host: Host, scope: dict, receive: Any) -> None:
    """The ``"channel"`` scope Channels' ``runworker`` opens, one per channel."""
    channel = scope["channel"]
    while True:
        await handle_envelope(host, channel, await receive())


async def consume_forever(
    host: Host, channel: str, *, drain_timeout: float = 0.0
) -> None:
    """A worker: receive on ``channel`` and run up to N messages at once.

    Survives layer outages: a failed receive is retried with jittered backoff and
    logged once per outage (Channels' own ``runworker`` dies on a Redis restart). When
    cancelled, messages already being handled get ``drain_timeout`` seconds to finish.
    """
    limit = asyncio.Semaphore(host.settings["WORKER_CONCURRENCY"])
    running: set[asyncio.Task] = set()
    try:
        while True:
            await limit.acquire()
            try:
                wrapped, delivery = await named.receive_named(host.layer, channel)
            except BaseException:
                limit.release()
                raise
            task = asyncio.ensure_future(_handle(host, channel, wrapped, delivery))
            running.add(task)
            task.add_done_callback(running.discard)
            task.add_done_callback(lambda _: limit.release())
    finally:
        if running and drain_timeout > 0:
            await asyncio.wait(set(running), timeout=drain_timeout)
        for task in running:
            task.cancel()
