"""What the soak's server processes serve (``bench/soak.py``).

Served with ``tests.settings`` (``GC_TEST_ROUTING`` names this module's
``channel_routing``), a channels_redis layer and in-process workers.
"""

from __future__ import annotations

import asyncio
import ctypes
import gc
import json
import os
import threading
import tracemalloc
from pathlib import Path
from typing import Any

from generic_consumers import Group, route, route_class
from generic_consumers.generic.websockets import (
    JsonWebsocketConsumer,
    WebsocketDemultiplexer,
)
from generic_consumers.runtime.registry import sockets

CYCLE_GROUP = "soak-cycle"
WATCH_GROUP = "soak-watch"
SLOW_GROUP = "soak-slow"
RAISED = "soak: raised on purpose"  # in the message of every planned exception


class SoakError(Exception):
    """What the raising consumers raise."""


class EchoStream(JsonWebsocketConsumer):
    def receive(self, content: Any, multiplexer: Any = None, **kwargs: Any) -> None:
        multiplexer.send(content)


class Cycle(WebsocketDemultiplexer):
    """One connect/disconnect cycle: a group, an echo and a named-channel hop."""

    consumers = {"echo": EchoStream}
    mapping = {"work": "soak.work"}

    def connection_groups(self, **kwargs: Any) -> list[str]:
        return [CYCLE_GROUP]


def work(message: Any) -> None:
    message.reply_channel.send(
        WebsocketDemultiplexer.encode("work", {"done": message["n"]})
    )


class Fuzz(WebsocketDemultiplexer):
    """The target of the fuzzed frames: only the echo stream exists."""

    consumers = {"echo": EchoStream}


class Raising(JsonWebsocketConsumer):
    """Raises in connect, receive or disconnect (the ``when`` of its path)."""

    def connection_groups(self, **kwargs: Any) -> list[str]:
        return [CYCLE_GROUP]

    def connect(self, message: Any, **kwargs: Any) -> None:
        if kwargs["when"] == "connect":
            raise SoakError(f"{RAISED} in connect {kwargs['tag']}")
        super().connect(message, **kwargs)

    def receive(self, content: Any = None, **kwargs: Any) -> None:
        if kwargs["when"] == "receive":
            raise SoakError(f"{RAISED} in receive {kwargs['tag']}")
        self.send({"ok": True})

    def disconnect(self, message: Any, **kwargs: Any) -> None:
        if kwargs["when"] == "disconnect":
            raise SoakError(f"{RAISED} in disconnect {kwargs['tag']}")


class Watch(JsonWebsocketConsumer):
    """Watchers of the whole run: a group, and a broadcast on every frame."""

    def connection_groups(self, **kwargs: Any) -> list[str]:
        return [WATCH_GROUP]

    def receive(self, content: Any = None, **kwargs: Any) -> None:
        self.group_send(WATCH_GROUP, content)


class SlowMember(JsonWebsocketConsumer):
    def connection_groups(self, **kwargs: Any) -> list[str]:
        return [SLOW_GROUP]


async def slow_go(message: Any, **kwargs: Any) -> None:
    """Sends ``count`` group messages of ``size`` bytes to the slow-reader group,
    numbered from ``start``."""
    spec = json.loads(message["text"])
    pad = "x" * int(spec["size"])
    group = Group(SLOW_GROUP)
    start = int(spec.get("start", 0))
    for n in range(start, start + int(spec["count"])):
        await group.asend({"text": json.dumps({"n": n, "pad": pad})}, immediately=True)


def _rss() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def _top_allocations(count: int = 8) -> list[str]:
    # With PYTHONTRACEMALLOC=1 in the soak's environment: where the memory is.
    if not tracemalloc.is_tracing():
        return []
    stats = tracemalloc.take_snapshot().statistics("lineno")
    return [str(stat) for stat in stats[:count]]


def _trim() -> bool:
    # glibc keeps freed memory for reuse; malloc_trim hands what it can back to the
    # system. What RSS is left after it is memory something still holds.
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc
        return False
    return bool(libc.malloc_trim(0))


async def stats(message: Any, **kwargs: Any) -> None:
    """What the soak checks inside the server: tasks, sockets, threads, memory.

    Sent ``trim``, it first returns the allocator's free memory to the system."""
    gc.collect()
    await asyncio.sleep(0)
    if message["text"] == "trim":
        _trim()
    await message.reply_channel.asend(
        {
            "text": json.dumps(
                {
                    "top": _top_allocations(),
                    "pid": os.getpid(),
                    "tasks": len(asyncio.all_tasks()),
                    "sockets": len(sockets),
                    "threads": threading.active_count(),
                    "rss": _rss(),
                    "objects": len(gc.get_objects()),
                }
            )
        }
    )


def accept(message: Any, **kwargs: Any) -> None:
    message.reply_channel.send({"accept": True})


channel_routing = [
    Cycle.as_route(path=r"^/soak/cycle/$"),
    route("soak.work", work),
    Fuzz.as_route(path=r"^/soak/fuzz/$"),
    route_class(
        Raising,
        path=r"^/soak/raise/(?P<when>connect|receive|disconnect)/(?P<tag>t\d+)/$",
    ),
    route_class(Watch, path=r"^/soak/watch/$"),
    route_class(SlowMember, path=r"^/soak/slow/member/$"),
    route("websocket.connect", accept, path=r"^/soak/(?:slow/go|stats)/$"),
    route("websocket.receive", slow_go, path=r"^/soak/slow/go/$"),
    route("websocket.receive", stats, path=r"^/soak/stats/$"),
]
