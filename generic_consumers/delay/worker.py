"""Consuming ``asgi.delay``: checking each request, waiting, then sending.

A request is ``{"channel": "<name>", "delay": <ms>, "content": {...}}``. A bad one is
refused with one warning line and never stops anything (1.x's ``rundelay`` stopped).
Pending messages wait in memory (timers) or, with this app installed, in the database,
where a poller takes the due ones; each row is deleted before it is sent, so only the
worker that deleted it sends it.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import logging
import re
from typing import Any

from channels.exceptions import ChannelFull
from django.apps import apps
from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

from ..layers import ChannelLayerWrapper
from ..runtime import delivery
from ..runtime.threads import run_blocking

__all__ = ["DelayWorker", "parse_request"]

logger = logging.getLogger("generic_consumers")

# Channel names Channels 4 layers accept (a reply channel may carry one "!").
_CHANNEL_NAME = re.compile(r"^[a-zA-Z\d\-_.]+(![\d\w\-_.]*)?$")
POLL_INTERVAL = 0.25  # seconds between looks for due rows in the database
BATCH = 100  # due rows taken per look
FULL_RETRY = datetime.timedelta(seconds=1)  # a due message whose channel is full


def parse_request(content: Any) -> tuple[str, int, dict[str, Any]] | str:
    """``(channel, delay_ms, content)`` for a good request, else why it is refused."""
    if not isinstance(content, dict):
        return f"the message is a {type(content).__name__}, not a dict"
    channel, delay, payload = (content.get(k) for k in ("channel", "delay", "content"))
    if not isinstance(channel, str) or len(channel) >= 100:
        return f"'channel' must be a channel name, not {channel!r}"
    if not _CHANNEL_NAME.match(channel):
        return f"'channel' {channel!r} is not a valid channel name"
    if isinstance(delay, bool) or not isinstance(delay, int) or delay < 0:
        return f"'delay' must be a whole number of milliseconds >= 0, not {delay!r}"
    if not isinstance(payload, dict):
        return f"'content' must be a dict, not {type(payload).__name__}"
    return channel, delay, payload


def in_database() -> bool:
    """Whether pending messages wait in the database (the app is installed)."""
    return apps.is_installed("generic_consumers.delay")


class DelayWorker:
    """The ``asgi.delay`` consumer of one process, and its database poller."""

    def __init__(self, layer: ChannelLayerWrapper) -> None:
        self.layer = layer
        self._timers: set[asyncio.TimerHandle] = set()

    async def consume(self, message: Any, **kwargs: Any) -> None:
        """The consumer routed to ``asgi.delay`` (runs on the loop)."""
        request = parse_request(message.content)
        if isinstance(request, str):
            logger.warning("Refused a message on 'asgi.delay': %s.", request)
            return
        channel, delay, content = request
        if in_database():
            try:
                text = json.dumps(content, cls=DjangoJSONEncoder)
            except (TypeError, ValueError) as exc:
                logger.warning(
                    "Refused a message on 'asgi.delay' for %r: its content cannot be "
                    "stored as JSON (%s).",
                    channel,
                    exc,
                )
                return
            await run_blocking(_store, channel, delay, text)
            return
        loop = asyncio.get_running_loop()

        def due() -> None:
            self._timers.discard(timer)
            loop.create_task(self._send(channel, content))

        timer = loop.call_later(delay / 1000, due)
        self._timers.add(timer)

    async def poll_forever(self) -> None:
        """Send the database's due messages, every ``POLL_INTERVAL`` seconds."""
        while True:
            try:
                for channel, content in await run_blocking(_take_due, BATCH):
                    if not await self._send(channel, content):
                        await run_blocking(_store_again, channel, content)
            except asyncio.CancelledError:
                raise
            except Exception:  # the database went away: try again next round
                logger.exception("Sending due delayed messages failed")
            await asyncio.sleep(POLL_INTERVAL)

    def cancel(self) -> None:
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()

    async def _send(self, channel: str, content: dict[str, Any]) -> bool:
        try:
            await delivery.send_retrying(self.layer, channel, content, None)
        except ChannelFull:
            logger.warning(
                "Delayed message for %r: the channel is full; trying again in %s s.",
                channel,
                FULL_RETRY.total_seconds(),
            )
            return False
        except Exception:
            logger.exception("Sending a delayed message to %r failed", channel)
        return True


def _store(channel: str, delay: int, text: str) -> None:
    from .models import DelayedMessage

    DelayedMessage.objects.create(
        due_date=timezone.now() + datetime.timedelta(milliseconds=delay),
        channel_name=channel,
        content=text,
    )


def _store_again(channel: str, content: dict[str, Any]) -> None:
    text = json.dumps(content, cls=DjangoJSONEncoder)
    _store(channel, int(FULL_RETRY.total_seconds() * 1000), text)


def _take_due(limit: int) -> list[tuple[str, dict[str, Any]]]:
    """The due messages this worker won: each row is deleted before it is sent, and
    only the worker whose delete removed it sends it."""
    from .models import DelayedMessage

    taken = []
    due = DelayedMessage.objects.filter(due_date__lte=timezone.now())[:limit]
    for row in list(due):
        deleted, _ = DelayedMessage.objects.filter(pk=row.pk).delete()
        if deleted:
            taken.append((row.channel_name, json.loads(row.content)))
    return taken
