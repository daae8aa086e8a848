"""Background tasks bound to one socket, and the socket's keepalive pings.

1.x consumers are instantiated per message, so nothing a consumer starts can live on
the consumer: a socket's tasks live on the socket, in a :class:`SocketTasks` registry
made on first use (a socket that starts no task and pings nobody pays nothing). Tasks
are keyed by ``(stream, task id)``: starting one under a key that is running cancels the
old one, and the socket cancels all of them at its cleanup.

A task runs with no :class:`~.context.Turn`: nothing buffers its sends, they go
straight to the socket, in the socket's order (held while a connect consumer runs, like
any reply that is not the connect consumer's own). A sync job runs in the socket's own
thread. An exception in a task is logged with consumer, path and task id; the socket
stays open.
"""

from __future__ import annotations

import asyncio
import contextvars
import datetime
import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from .context import current_turn
from .replies import SocketState
from .threads import SyncThread, sync_threads

__all__ = [
    "KEEPALIVE_ID",
    "SocketTasks",
    "TaskSocket",
    "discard",
    "iso_now",
    "run_job",
    "start",
    "start_keepalive",
    "stop",
    "stop_stream",
    "task_socket",
]

logger = logging.getLogger("generic_consumers")

# The keepalive is one task of the socket's registry, under this id (no stream): a
# demultiplexer and its streams cannot start two.
KEEPALIVE_ID = "generic_consumers.keepalive"

Job = Callable[[], Any] | Awaitable[Any]
Key = tuple[str, str]  # (stream or "", task id)


class TaskSocket(Protocol):
    """What tasks need of a socket (``runtime.socket.WebsocketSocket``)."""

    path: str
    loop: asyncio.AbstractEventLoop | None
    thread: SyncThread
    tasks: SocketTasks | None

    @property
    def state(self) -> SocketState: ...

    async def deliver(self, content: dict[str, Any], origin: object) -> None: ...


# The socket whose task is running (the context of every task of the registry).
_running_for: contextvars.ContextVar[TaskSocket | None] = contextvars.ContextVar(
    "generic_consumers_task_socket", default=None
)


def task_socket() -> TaskSocket | None:
    """The socket of the running consumer turn or socket task; None elsewhere (a
    named-channel worker, the 1.x test client, code outside any consumer)."""
    turn = current_turn.get()
    socket = turn.socket if turn is not None else _running_for.get()
    return socket if socket is not None and hasattr(socket, "tasks") else None  # type: ignore[return-value]


class SocketTasks:
    """The background tasks of one socket. Used on the socket's loop only."""

    def __init__(self, socket: TaskSocket) -> None:
        self._socket = socket
        self._tasks: dict[Key, asyncio.Task[Any]] = {}
        self.closed = False

    def __len__(self) -> int:
        return len(self._tasks)

    def running(self, key: Key) -> bool:
        task = self._tasks.get(key)
        return task is not None and not task.done()

    def start(self, key: Key, job: Job, owner: str) -> asyncio.Task[Any] | None:
        """Start ``job`` under ``key``, cancelling the task running under it."""
        if self.closed or self._socket.state is SocketState.CLOSED:
            # Nothing it sent could reach the client any more.
            discard(job)
            logger.debug(
                "Task %r of %s not started: socket %r is closed.",
                key[1],
                owner,
                self._socket.path,
            )
            return None
        old = self._tasks.pop(key, None)
        if old is not None:
            old.cancel()
        context = contextvars.copy_context()
        # No turn: the task's sends go straight to the socket. The socket is known
        # to the task, so it can start, replace and stop tasks of its own.
        context.run(current_turn.set, None)
        context.run(_running_for.set, self._socket)
        loop = self._socket.loop
        assert loop is not None  # a socket has its loop before any consumer runs
        task = loop.create_task(
            self._run(key, job, owner),
            name=f"generic_consumers task {key[1]!r} of {owner}",
            context=context,
        )
        self._tasks[key] = task
        return task

    def stop(self, key: Key) -> bool:
        """Cancel the task under ``key``; False when none is running."""
        task = self._tasks.pop(key, None)
        if task is None or task.done():
            return False
        task.cancel()
        return True

    def stop_stream(self, stream: str) -> None:
        """Cancel every task of ``stream`` (its keys' first part)."""
        for key in [key for key in self._tasks if key[0] == stream]:
            self.stop(key)

    def cancel_all(self) -> None:
        """The socket is going away: cancel every task; none may start after."""
        self.closed = True
        tasks, self._tasks = self._tasks, {}
        for task in tasks.values():
            task.cancel()

    async def _run(self, key: Key, job: Job, owner: str) -> None:
        try:
            await run_job(job, self._socket.thread)
        except asyncio.CancelledError:
            raise
        except Exception:
            stream, task_id = key
            logger.exception(
                "Background task %r%s of %s on %r raised; the socket stays open.",
                task_id,
                f" (stream {stream!r})" if stream else "",
                owner,
                self._socket.path,
            )
        finally:
            if self._tasks.get(key) is asyncio.current_task():
                del self._tasks[key]


def discard(job: Job) -> None:
    if inspect.iscoroutine(job):
        job.close()  # never awaited on purpose: no "never awaited" warning


async def run_job(job: Job, thread: SyncThread | None = None) -> Any:
    """Await ``job``: an awaitable, a coroutine function, or a sync callable (run in
    ``thread``, the socket's, so it may block and use the database)."""
    if inspect.isawaitable(job):
        return await job
    if inspect.iscoroutinefunction(job):
        return await job()
    if thread is None:
        socket = _running_for.get()
        thread = socket.thread if socket is not None else sync_threads.pick()
    result = await sync_threads.run(thread, job)
    if inspect.isawaitable(result):  # a callable that made a coroutine
        result = await result
    return result


def _on_loop(socket: TaskSocket, call: Callable[[], Any]) -> Any:
    """Run ``call`` on the socket's loop: now when on it, else soon (thread-safe)."""
    loop = socket.loop
    assert loop is not None
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is loop:
        return call()
    # FIFO with the end of the calling thread's job: a start made by a sync consumer
    # happens before its socket's next message is handled.
    loop.call_soon_threadsafe(call)
    return None


def _registry(socket: TaskSocket) -> SocketTasks:
    if socket.tasks is None:
        socket.tasks = SocketTasks(socket)
    return socket.tasks


def start(socket: TaskSocket, key: Key, job: Job, owner: str) -> Any:
    """Start a task for ``socket`` from its loop or from a thread; the Task when
    called on the loop, else None (it starts as soon as the loop runs)."""
    if socket.state is SocketState.CLOSED:
        discard(job)
        return None
    return _on_loop(socket, lambda: _registry(socket).start(key, job, owner))


def stop(socket: TaskSocket, key: Key) -> None:
    """Cancel the task under ``key`` (from the loop or a thread)."""
    if socket.tasks is not None:
        tasks = socket.tasks
        _on_loop(socket, lambda: tasks.stop(key))


def stop_stream(socket: TaskSocket, stream: str) -> None:
    """Cancel every task of ``stream`` (from the loop or a thread)."""
    if socket.tasks is not None:
        tasks = socket.tasks
        _on_loop(socket, lambda: tasks.stop_stream(stream))


def iso_now() -> str:
    """The current UTC time in ISO 8601, to the millisecond."""
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds")


def start_keepalive(
    socket: TaskSocket, interval: float, frame: Callable[[], str], owner: str
) -> None:
    """Ping ``socket`` with the text ``frame()`` every ``interval`` seconds while it
    is open; stops when it closes (and with the other tasks at its cleanup)."""

    async def ping() -> None:
        while True:
            await asyncio.sleep(interval)
            state = socket.state
            if state is SocketState.CLOSED:
                return
            if state is SocketState.OPEN:  # still in its handshake: no ping yet
                await socket.deliver({"text": frame()}, None)

    start(socket, ("", KEEPALIVE_ID), ping, owner)
