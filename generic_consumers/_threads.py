"""Where sync consumers run: a bounded set of single-thread executors.

Each socket sticks to one thread (picked round-robin when it connects), so Django's
per-thread database connection is reused across that socket's messages and one slow
consumer cannot starve every other socket (Channels 4 funnels all sync consumers through
one thread). The consumer, its DB connection hygiene and the collection of its buffered
sends all happen in the one hop into the thread; the sends are flushed back on the loop.
"""

from __future__ import annotations

import asyncio
import contextvars
import itertools
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from asgiref.sync import SyncToAsync
from django.db import close_old_connections

__all__ = ["SyncThreads", "sync_threads"]


class SyncThreads:
    def __init__(self) -> None:
        self._executors: list[ThreadPoolExecutor] = []
        self._cycle: itertools.cycle[ThreadPoolExecutor] | None = None
        self._lock = threading.Lock()

    def _size(self) -> int:
        from .conf import get_settings

        return int(get_settings()["SYNC_THREADS"] or (os.cpu_count() or 1) + 4)

    def pick(self) -> ThreadPoolExecutor:
        """One executor; callers keep it for all the messages of one socket."""
        if self._cycle is None:
            with self._lock:
                if self._cycle is None:
                    self._executors = [
                        ThreadPoolExecutor(
                            1, thread_name_prefix=f"generic-consumers-{i}"
                        )
                        for i in range(self._size())
                    ]
                    self._cycle = itertools.cycle(self._executors)
        return next(self._cycle)

    async def run(
        self, executor: ThreadPoolExecutor, func: Callable[..., Any], *args: Any
    ) -> Any:
        """Run ``func(*args)`` in ``executor`` in a copy of the current context."""
        loop = asyncio.get_running_loop()
        context = contextvars.copy_context()
        future = executor.submit(context.run, _in_thread, loop, func, args)
        return await asyncio.wrap_future(future)


def _in_thread(loop: asyncio.AbstractEventLoop, func: Callable[..., Any], args: tuple):
    # Let async_to_sync() in user code (e.g. a raw channel-layer call) run its coroutine
    # on our loop, as it would inside asgiref's own sync_to_async threads.
    SyncToAsync.threadlocal.main_event_loop = loop
    SyncToAsync.threadlocal.main_event_loop_pid = os.getpid()
    close_old_connections()
    try:
        return func(*args)
    finally:
        close_old_connections()


sync_threads = SyncThreads()
