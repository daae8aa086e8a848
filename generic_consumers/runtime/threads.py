"""Where sync consumers run: a bounded set of dedicated threads.

Each socket sticks to one thread (picked round-robin when it connects), so Django's
per-thread database connection is reused across that socket's messages and one slow
consumer cannot starve every other socket (Channels 4 funnels all sync consumers through
one thread). The consumer, its DB connection hygiene and the collection of its buffered
sends all happen in the one hop into the thread; the sends are flushed back on the loop.

A thread takes jobs from a ``SimpleQueue`` and resolves the caller's asyncio future with
one ``call_soon_threadsafe``: the shortest path there and back (ThreadPoolExecutor plus
``wrap_future`` chains a second future and callback on each side).
"""

from __future__ import annotations

import asyncio
import contextvars
import itertools
import os
import queue
import threading
from collections.abc import Callable
from typing import Any

from asgiref.sync import SyncToAsync
from django.db import connections

from ..conf import get_settings
from .context import current_turn

__all__ = ["SyncThread", "SyncThreads", "run_blocking", "sync_threads"]

Job = tuple[
    asyncio.AbstractEventLoop, asyncio.Future, contextvars.Context, Callable, tuple
]


class SyncThread(threading.Thread):
    """One thread running sync consumers, one job at a time, in submission order."""

    def __init__(self, name: str) -> None:
        super().__init__(name=name, daemon=True)
        self.jobs: queue.SimpleQueue[Job] = queue.SimpleQueue()
        self.start()

    def run(self) -> None:
        while True:
            loop, future, context, func, args = self.jobs.get()
            try:
                result = context.run(_in_thread, loop, func, args)
            except BaseException as exc:  # handed to the awaiting task, not lost
                _resolve(loop, future, None, exc)
            else:
                _resolve(loop, future, result, None)


def _resolve(loop, future, result, exc) -> None:
    def settle() -> None:
        if future.cancelled():
            return
        if exc is None:
            future.set_result(result)
        else:
            future.set_exception(exc)

    try:
        loop.call_soon_threadsafe(settle)
    except RuntimeError:  # the loop closed while the consumer ran: nobody waits
        pass


def _in_thread(loop: asyncio.AbstractEventLoop, func: Callable[..., Any], args: tuple):
    # Let async_to_sync() in user code (e.g. a raw channel-layer call) run its coroutine
    # on our loop, as it would inside asgiref's own sync_to_async threads.
    SyncToAsync.threadlocal.main_event_loop = loop
    SyncToAsync.threadlocal.main_event_loop_pid = os.getpid()
    # Django's close_old_connections() before and after, as a request would; before
    # only when this thread kept a connection from its last job (none can be stale
    # otherwise), which spares consumers that never touch the database a lookup.
    if getattr(_db, "open", False):
        _close_old_connections()
    try:
        return func(*args)
    finally:
        _db.open = _close_old_connections()


_db = threading.local()


def _close_old_connections() -> bool:
    """Close this thread's unusable or expired connections; True if any remain."""
    open_connections = connections.all(initialized_only=True)
    for connection in open_connections:
        connection.close_if_unusable_or_obsolete()
    return bool(open_connections)


class SyncThreads:
    def __init__(self) -> None:
        self._threads: list[SyncThread] = []
        self._cycle: itertools.cycle[SyncThread] | None = None
        self._lock = threading.Lock()

    def _size(self) -> int:
        return int(get_settings()["SYNC_THREADS"] or (os.cpu_count() or 1) + 4)

    def pick(self) -> SyncThread:
        """One thread; callers keep it for all the messages of one socket."""
        if self._cycle is None:
            with self._lock:
                if self._cycle is None:
                    self._threads = [
                        SyncThread(f"generic-consumers-{i}")
                        for i in range(self._size())
                    ]
                    self._cycle = itertools.cycle(self._threads)
        return next(self._cycle)

    async def run(
        self, thread: SyncThread, func: Callable[..., Any], *args: Any
    ) -> Any:
        """Run ``func(*args)`` in ``thread``, in a copy of the current context."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        thread.jobs.put((loop, future, contextvars.copy_context(), func, args))
        return await future


sync_threads = SyncThreads()


async def run_blocking(func: Callable[..., Any], *args: Any) -> Any:
    """Run blocking ``func(*args)`` off the loop: in the current turn's thread (the
    socket's, whose database connection is warm), else in any of them."""
    turn = current_turn.get()
    thread = turn.thread if turn is not None else None
    return await sync_threads.run(thread or sync_threads.pick(), func, *args)
