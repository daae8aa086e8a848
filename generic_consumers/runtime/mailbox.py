"""Sockets' reply channels on channels_redis: one reader per process, a mailbox each.

``RedisChannelLayer`` keeps every reply channel of a process under one Redis key, and
the receivers of the process take turns popping it. A receiver cancelled while its pop
is under way loses what Redis handed it, for every socket of the process
(django/channels#1683, django/channels_redis#366), and a socket that closes cancels
its receiver: under connect/disconnect churn, broadcasts went missing. So on that
layer (exactly that class) the sockets' reply channels get a client prefix of their
own, one :class:`Reader` per event loop pops its key and puts each message in the
mailbox of the socket(s) it names, and a socket's listener waits on its mailbox, which
a cancellation cannot harm. The reader is cancelled only when its loop shuts down
(:func:`stop_readers`); with no socket left it ends by itself after its next empty pop.

Other layers keep their own ``receive()``. Native Channels consumers on the same
layer keep the layer's own prefix, key and receivers: nothing of theirs is read here.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
import weakref
from collections.abc import Awaitable, Callable
from typing import Any

from .counters import counters
from .logs import Throttle
from .outage import receive, receive_retrying
from .registry import core_redis

__all__ = ["Reader", "close", "new_channel", "readers", "receiver", "stop_readers"]

logger = logging.getLogger("generic_consumers")

IDLE_POP = 2  # seconds one pop blocks for; a reader with no mailbox ends after it
WHAT = "receiving on sockets"

# One line per socket per window when its full mailbox drops a message.
_dropped = Throttle(burst=1, window=10.0)

_readers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[int, Reader]] = (
    weakref.WeakKeyDictionary()
)


class Reader:
    """Pops the reply channels of this loop's sockets on one ``RedisChannelLayer``."""

    def __init__(self, raw: Any) -> None:
        self.raw = raw
        # "specific.<prefix>!" is what channels_redis files every "...!<id>" under.
        self.local = f"specific.{uuid.uuid4().hex}!"
        self.mailboxes: dict[str, asyncio.Queue[dict[str, Any]]] = {}
        self.task: asyncio.Task[None] | None = None

    def new_channel(self) -> str:
        return self.local + uuid.uuid4().hex

    def open(self, channel: str) -> asyncio.Queue[dict[str, Any]]:
        # As many messages as the layer keeps for the channel, as channels_redis' own
        # receive buffer did: a client that does not read costs the server that much.
        mailbox = self.mailboxes[channel] = asyncio.Queue(
            self.raw.get_capacity(channel)
        )
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(
                self._run(), name="generic_consumers:reply-reader"
            )
        return mailbox

    async def _pop(self) -> bytes | None:
        raw = self.raw
        connection = raw.connection(raw.consistent_hash(self.local))
        popped = await connection.bzpopmin(raw.prefix + self.local, timeout=IDLE_POP)
        return None if popped is None else popped[1]

    async def _run(self) -> None:
        while True:
            content = await receive_retrying(self._pop, WHAT)
            if content is None:
                # Ending here, between pops, loses nothing: the next socket starts a
                # new reader (no await between this test and the task's end).
                if not self.mailboxes:
                    return
                continue
            self._hand_out(content)

    def _hand_out(self, content: bytes) -> None:
        try:
            message = self.raw.deserialize(content)
            names = message.pop("__asgi_channel__")
        except Exception as exc:  # another process's keys, or a corrupt message
            logger.error("Dropped an unreadable message on a reply channel: %r", exc)
            return
        for name in names if isinstance(names, list) else [names]:
            mailbox = self.mailboxes.get(name)
            if mailbox is None:  # the socket has gone, and its channel with it
                continue
            if mailbox.full():  # the oldest goes, as in channels_redis' own buffer
                mailbox.get_nowait()
                counters.add("channel_full_dropped")
                _dropped.log(
                    logger,
                    logging.WARNING,
                    name,
                    "Dropped the oldest message waiting for the socket of %r: %d "
                    "were waiting (the layer's capacity for the channel). Is its "
                    "client reading?",
                    name,
                    mailbox.maxsize,
                )
            mailbox.put_nowait(message)


def _reader(raw: Any) -> Reader:
    of_loop = _readers.setdefault(asyncio.get_running_loop(), {})
    reader = of_loop.get(id(raw))
    if reader is None or reader.raw is not raw:
        reader = of_loop[id(raw)] = Reader(raw)
    return reader


async def new_channel(raw: Any) -> str:
    """A new reply channel for a socket of this loop."""
    if core_redis(raw):
        return _reader(raw).new_channel()
    return await raw.new_channel()


def receiver(raw: Any, channel: str) -> Callable[[], Awaitable[dict[str, Any]]]:
    """What a socket's listener awaits for its next message on ``channel``.

    Opens the mailbox at once, so nothing sent from now on is missed."""
    if core_redis(raw):
        return _reader(raw).open(channel).get
    return lambda: receive(raw, channel, WHAT)


def close(raw: Any, channel: str) -> None:
    """The socket of ``channel`` has gone: its mailbox, and what waits in it, too."""
    reader = _readers.get(asyncio.get_running_loop(), {}).get(id(raw))
    if reader is not None:
        reader.mailboxes.pop(channel, None)


def readers() -> list[Reader]:
    """This loop's readers that are running."""
    of_loop = _readers.get(asyncio.get_running_loop(), {})
    return [r for r in of_loop.values() if r.task is not None and not r.task.done()]


async def stop_readers() -> None:
    """Cancel this loop's readers (its shutdown: its sockets have gone)."""
    of_loop = _readers.pop(asyncio.get_running_loop(), {})
    tasks = [r.task for r in of_loop.values() if r.task is not None]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
