"""A frame middleware stack, built once per application (see :mod:`.frames`).

Each factory is called once with the handler that leads to the next stage: a
:class:`_Link`, which sends inbound events on to the next middleware inward and
outbound ones to the next one outward, through the socket's wire.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

__all__ = ["INBOUND", "Chain", "Event", "is_async_middleware"]

INBOUND = frozenset({"websocket.connect", "websocket.receive", "websocket.disconnect"})

Event = dict[str, Any]


def is_async_middleware(middleware: Any) -> bool:
    """True for an ``async def`` middleware or an object with an async ``__call__``."""
    return inspect.iscoroutinefunction(middleware) or inspect.iscoroutinefunction(
        getattr(middleware, "__call__", None)  # noqa: B004 - objects with __call__
    )


class _Link:
    """The handler middleware ``index`` was built with: inbound events go on to the
    next middleware inward, outbound events to the next one outward."""

    __slots__ = ("index", "sync")

    def __init__(self, index: int) -> None:
        self.index = index
        self.sync = False

    def __call__(self, socket: Any, event: Event) -> Any:
        if self.sync:
            # A sync middleware's handler collects what it passes on while the
            # middleware runs (in the socket's own list: an application's chain may
            # serve sockets on several loops); the wire carries it on afterwards.
            collected = socket._collected
            if collected is None:
                raise RuntimeError(
                    "A sync middleware called its handler after it returned; pass "
                    "events on while it runs, or make the middleware async."
                )
            collected.append(event)
            return None
        if event.get("type") in INBOUND:
            return socket._inward(self.index + 1, event)
        return socket._outward(self.index - 1, event)


class Chain:
    """One middleware stack: ``(name, factory, options)`` entries, outermost first.

    Each factory is called once, here, as ``factory(handler, **options)``, and returns
    the middleware: a callable ``(socket, event)``, ``async def`` or plain.
    """

    def __init__(self, entries: list[tuple[str, Callable[..., Any], dict]]) -> None:
        self.names: list[str] = []
        self.middlewares: list[Callable[..., Any]] = []
        self.links: list[_Link] = []
        for index, (name, factory, options) in enumerate(entries):
            link = _Link(index)
            middleware = factory(link, **options)
            if not callable(middleware):
                raise TypeError(
                    f"Middleware {name!r} returned {middleware!r}, which is not "
                    "callable: a factory must return a callable (socket, event)."
                )
            link.sync = not is_async_middleware(middleware)
            self.names.append(name)
            self.middlewares.append(middleware)
            self.links.append(link)
        self.size = len(self.middlewares)

    def __repr__(self) -> str:
        return f"<Chain {self.names!r}>"
