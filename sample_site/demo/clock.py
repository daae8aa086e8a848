"""The live clock demo: a ticker that belongs to the socket, and keepalive pings.

* ``connect`` starts a background task of the socket, ``start_task("tick", ...)``: a
  ``sleep_loop`` that sends the time every ``interval`` seconds. A 1.x consumer is
  instantiated per message, so the task is not kept on ``self``: it lives on the
  socket, and later messages of that socket reach it by its id.
* ``{"interval": seconds}`` starts a new ticker under the same id, which cancels the
  running one (replace by id); ``{"stop": true}`` stops it (``stop_task``). Closing
  the page cancels it: every task of a socket ends with the socket.
* ``keepalive_interval``: while the socket is open, a ``{"ping": "<UTC time>"}`` frame
  goes out every ``settings.CLOCK_KEEPALIVE`` seconds, so that proxies which drop idle
  sockets keep this one even when the clock is stopped. The JS ``WebSocketBridge``
  hands pings to ``bridge.on("ping")`` listeners only; the page counts them.
"""

import itertools
import uuid

from django.conf import settings
from django.utils import timezone

from generic_consumers.generic.websockets import AsyncJsonWebsocketConsumer

FIRST_INTERVAL = 1.0
MIN_INTERVAL, MAX_INTERVAL = 0.1, 60.0
USAGE = 'send {"interval": seconds} (0.1 to 60) or {"stop": true}'


def interval_of(content):
    """The interval a frame asks for, or None when it asks for none we serve."""
    value = content.get("interval") if isinstance(content, dict) else None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if MIN_INTERVAL <= value <= MAX_INTERVAL else None


class ClockConsumer(AsyncJsonWebsocketConsumer):
    """``/ws/clock/``: ticks until told otherwise; pinged while idle."""

    keepalive_interval = getattr(settings, "CLOCK_KEEPALIVE", 20.0)

    async def connect(self, message, **kwargs):
        await message.reply_channel.asend({"accept": True})
        await self.start_ticker(FIRST_INTERVAL)

    async def receive(self, content, **kwargs):
        if isinstance(content, dict) and content.get("stop") is True:
            self.stop_task("tick")
            await self.send({"stopped": True})
        elif (interval := interval_of(content)) is not None:
            await self.start_ticker(interval)
        else:
            await self.send({"error": USAGE})

    async def start_ticker(self, interval):
        """Start (or restart: same id) the ticker; each run numbers its own ticks."""
        run, ticks = uuid.uuid4().hex[:8], itertools.count(1)

        async def tick():
            # Sent by the task, outside any handler: straight to the socket.
            await self.send(
                {
                    "tick": next(ticks),
                    "run": run,
                    "interval": interval,
                    "now": timezone.now(),
                }
            )

        self.start_task("tick", self.sleep_loop(tick, interval))
        await self.send({"started": run, "interval": interval})
