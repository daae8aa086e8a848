"""The per-turn context: what a consumer's sends see while it runs.

A *turn* is one consumer handling one message. Its :class:`Turn` holds the send
buffer, the socket the consumer answers (if any) and the thread blocking work of that
socket runs on. It lives in one ContextVar, set and reset in :func:`entered` only.

A sync consumer in a worker thread runs in a copy of the caller's context, and a task
that a consumer starts copies the context too: both see the same ``Turn`` object. Once
the turn ends, ``Turn.open`` is false, so a late send from such a task goes out at once
instead of joining a buffer nobody will flush.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from asgiref.sync import async_to_sync

if TYPE_CHECKING:
    from .host import Layer, LocalSocket
    from .threads import SyncThread

__all__ = ["Pending", "Turn", "buffering", "current_turn", "entered", "run_sync"]

# What a consumer buffered: ("send", layer, channel name, content) or
# ("group", layer, group name, content).
Pending = tuple[str, "Layer", str, dict[str, Any]]


@dataclass(eq=False)
class Turn:
    """One consumer handling one message."""

    socket: LocalSocket | None = None
    thread: SyncThread | None = None
    # The loop the turn belongs to; None in the 1.x test client, which runs consumers
    # in the test's own thread with no loop.
    loop: asyncio.AbstractEventLoop | None = None
    pending: list[Pending] = field(default_factory=list)
    # Group-membership changes this turn made that must still reach the layer, and
    # the task carrying out the last batch of them. Batches run one after the other
    # (so changes keep the order they were made in) and every send of the turn waits
    # for the last one.
    queued_changes: list[tuple[Layer, str, str, bool]] = field(default_factory=list)
    last_change: asyncio.Future[None] | None = None
    # Whether the consumer sent anything onward to a named channel: a worker there
    # may still answer the socket (accept a pending handshake, for one).
    forwarded: bool = False
    # The 1.x test client's turns: errors a server isolates and logs (a stream
    # consumer's, for one) propagate to the test instead, as they did in 1.x.
    strict: bool = False
    open: bool = True

    def hoist_since(self, mark: int) -> None:
        """Move the last buffered send ahead of those buffered since ``mark`` (the
        length of ``pending`` then)."""
        if len(self.pending) > mark + 1:
            self.pending.insert(mark, self.pending.pop())


current_turn: ContextVar[Turn | None] = ContextVar(
    "generic_consumers_turn", default=None
)


@contextmanager
def entered(turn: Turn) -> Iterator[Turn]:
    """Make ``turn`` current for the block; it is closed when the block ends."""
    token = current_turn.set(turn)
    try:
        yield turn
    finally:
        current_turn.reset(token)
        turn.open = False


def buffering() -> Turn | None:
    """The running turn, if its sends are still being buffered."""
    turn = current_turn.get()
    return turn if turn is not None and turn.open else None


def origin() -> LocalSocket | None:
    """The socket the current (or finished) turn answers; ``None`` outside one."""
    turn = current_turn.get()
    return None if turn is None else turn.socket


def run_sync(func: Callable[..., Awaitable[Any]], *args: Any, twin: str) -> Any:
    """Run the coroutine function ``func`` from sync code, refusing to block a loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return async_to_sync(func)(*args)
    raise RuntimeError(
        f"This sync method was called from async code, where it would block the event "
        f"loop; use 'await {twin}(...)' instead."
    )
