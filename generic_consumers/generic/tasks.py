"""Per-socket background tasks and keepalive pings for the WebSocket consumers.

A 1.x consumer is instantiated per message, so a task it starts cannot belong to the
instance: it belongs to the socket (``generic_consumers.runtime.tasks``), which
outlives every instance. A later message reaches the same task through its id:
``self.start_task("ticker", ...)`` in a ``receive`` replaces the ticker a ``connect``
started, and ``self.stop_task("ticker")`` cancels it. Every task is cancelled when the
socket closes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar

from django.core.exceptions import ImproperlyConfigured

from ..conf import get_settings
from ..message import Message
from ..runtime import tasks
from .frames import encode_json

__all__ = ["SocketTasksMixin"]

Job = Callable[[], Any] | Awaitable[Any]


def _positive(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0


class SocketTasksMixin:
    """``start_task``, ``stop_task``, ``sleep_loop`` and the keepalive, for every
    WebSocket consumer (sync and async, plain, JSON and the demultiplexers)."""

    #: Seconds between keepalive pings. None: the ``KEEPALIVE_INTERVAL`` setting
    #: (None by default: no pings); 0: no pings, whatever the setting says.
    keepalive_interval: ClassVar[float | None] = None
    #: The text of each ping; None: ``{"ping": "<ISO 8601 UTC time>"}`` as JSON.
    keepalive_text: ClassVar[str | None] = None

    message: Message

    def keepalive_frame(self) -> str:
        """The text frame of one ping; runs on the event loop at every ping (keep it
        quick, never block). Override for a dynamic ping."""
        if self.keepalive_text is not None:
            return self.keepalive_text
        return encode_json({"ping": tasks.iso_now()})

    def start_task(self, task_id: str, job: Job) -> asyncio.Task[Any] | None:
        """Run ``job`` in the background for this socket until it ends or the socket
        closes.

        ``job`` is an awaitable (``self.sleep_loop(...)``, a coroutine), a coroutine
        function, or a plain function (run in the socket's thread). A task already
        running under ``task_id`` is cancelled and replaced (behind a demultiplexer
        ids are per stream). An exception in the task is logged; the socket stays
        open. Its sends go straight to the socket. Safe to call from sync consumers;
        returns the ``asyncio.Task`` when called on the event loop, else None (the task
        starts before the socket's next message is handled).
        """
        if not isinstance(task_id, str):
            tasks.discard(job)
            raise TypeError(f"task_id must be a string, not {task_id!r}.")
        socket = tasks.task_socket()
        if socket is None:
            tasks.discard(job)
            raise RuntimeError(
                f"{type(self).__name__}.start_task({task_id!r}) needs a live socket "
                "served by RoutingApplication; the 1.x test client and named-channel "
                "workers have none. Test tasks through the ASGI path "
                "(channels.testing.WebsocketCommunicator on RoutingApplication)."
            )
        return tasks.start(socket, self._task_key(task_id), job, self._task_owner())

    def stop_task(self, task_id: str) -> None:
        """Cancel the task running under ``task_id`` for this socket, if any."""
        socket = tasks.task_socket()
        if socket is not None:
            tasks.stop(socket, self._task_key(task_id))

    async def sleep_loop(self, job: Callable[[], Any], seconds: float) -> None:
        """Run ``job`` (a coroutine function, or a plain function run in the socket's
        thread), then sleep ``seconds``, until cancelled. Start it as a task:
        ``self.start_task("tick", self.sleep_loop(self.tick, 5))``. An exception in
        ``job`` ends the loop (and is logged by the task)."""
        if not _positive(seconds):
            raise ValueError(
                f"sleep_loop() needs a positive number of seconds, not {seconds!r}."
            )
        while True:
            await tasks.run_job(job)
            await asyncio.sleep(seconds)

    def _task_key(self, task_id: str) -> tuple[str, str]:
        stream = getattr(self.message, "demultiplexer_stream", None) or ""
        return (stream, task_id)

    def _task_owner(self) -> str:
        return type(self).__qualname__

    def _start_keepalive(self, message: Message) -> None:
        """Start the socket's pings if this consumer asks for them; runs at the top
        of ``websocket.connect``. Behind a demultiplexer only the demultiplexer's
        setting counts (one ping per socket, not per stream)."""
        interval = self.keepalive_interval
        if interval is None:
            interval = get_settings()["KEEPALIVE_INTERVAL"]
            if interval is None:
                return
        if interval == 0 or getattr(message, "demultiplexer_stream", None):
            return
        if not _positive(interval):
            raise ImproperlyConfigured(
                f"{type(self).__name__}.keepalive_interval must be a positive number "
                f"of seconds, 0 or None, not {interval!r}."
            )
        socket = tasks.task_socket()
        if socket is not None:  # none in the 1.x test client: nothing to ping
            tasks.start_keepalive(
                socket, float(interval), self.keepalive_frame, self._task_owner()
            )
