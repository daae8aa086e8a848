"""Which middleware stack serves a socket, and loading and checking its entries.

A stack is a list of entries, outermost first: ``GENERIC_CONSUMERS["MIDDLEWARE"]``
for every socket, unless the consumer that the socket's ``websocket.connect`` routes
to has a ``middleware`` attribute (a class attribute, ``as_route(attrs=...)``, or an
attribute of a function consumer): a list replaces the settings' stack for its
sockets, ``False`` or ``[]`` opts them out. An entry is a dotted path or a factory,
or a pair ``(path or factory, {options})``; the factory is called once per
application as ``factory(handler, **options)``.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Iterable
from typing import Any

from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from ..runtime.chain import Chain
from ..runtime.frames import Wire

__all__ = ["SocketStacks", "check_middleware", "entry_problem", "load_entry"]

logger = logging.getLogger("generic_consumers")

ATTRIBUTE = "middleware"
SHAPE = (
    "an entry is a dotted path or a factory, or a pair (path or factory, "
    "{options}); the factory is called as factory(handler, **options)"
)

Loaded = tuple[str, Callable[..., Any], dict]


def _split(entry: Any) -> tuple[Any, dict]:
    if isinstance(entry, tuple | list) and not isinstance(entry, str):
        if len(entry) != 2 or not isinstance(entry[1], dict):
            raise ImproperlyConfigured(
                f"Middleware entry {entry!r} is malformed: {SHAPE}."
            )
        return entry[0], entry[1]
    return entry, {}


def _label(target: Any) -> str:
    if isinstance(target, str):
        return target
    module = getattr(target, "__module__", None)
    name = getattr(target, "__qualname__", None) or repr(target)
    return f"{module}.{name}" if module else name


def load_entry(entry: Any) -> Loaded:
    """``(name, factory, options)`` for ``entry``; ImproperlyConfigured naming it."""
    target, options = _split(entry)
    if isinstance(target, str):
        try:
            factory = import_string(target)
        except ImportError as exc:
            raise ImproperlyConfigured(
                f"Middleware {target!r} cannot be imported: {exc}"
            ) from exc
    elif callable(target):
        factory = target
    else:
        raise ImproperlyConfigured(f"Middleware entry {entry!r} is malformed: {SHAPE}.")
    name = _label(target)
    if not callable(factory):
        raise ImproperlyConfigured(
            f"Middleware {name!r} is {factory!r}, which is not callable: {SHAPE}."
        )
    if inspect.iscoroutinefunction(factory):
        raise ImproperlyConfigured(
            f"Middleware {name!r} is an async def factory: the factory is called once, "
            "at start-up, and returns the middleware; make the factory a plain def and "
            "the middleware it returns async."
        )
    try:
        inspect.signature(factory).bind(object(), **options)
    except TypeError as exc:
        raise ImproperlyConfigured(
            f"Middleware {name!r} cannot be called as factory(handler"
            f"{', **' + repr(options) if options else ''}): {exc}."
        ) from None
    except ValueError:  # no signature to inspect (a builtin): let the call decide
        pass
    if inspect.isclass(factory) and not any(
        "__call__" in vars(klass) for klass in factory.__mro__[:-1]
    ):
        raise ImproperlyConfigured(
            f"Middleware {name!r} is a class whose instances are not callable: give "
            "it a __call__(self, socket, event) method (or subclass "
            "generic_consumers.middleware.FrameMiddleware)."
        )
    return name, factory, options


def entry_problem(entry: Any) -> str | None:
    """What is wrong with ``entry`` (as the system check says it), or None."""
    try:
        load_entry(entry)
    except ImproperlyConfigured as exc:
        return str(exc)
    return None


def _spec_problems(spec: Any, where: str) -> list[str]:
    if spec is None or spec is False:
        return []
    if not isinstance(spec, list | tuple):
        return [
            f"{where} must be a list of middleware entries (or False), not {spec!r}."
        ]
    return [
        f"{where}[{index}]: {problem}"
        for index, entry in enumerate(spec)
        if (problem := entry_problem(entry)) is not None
    ]


def check_middleware(
    conf: dict[str, Any], consumers: Iterable[Any] = ()
) -> list[checks.CheckMessage]:
    """System-check errors for ``MIDDLEWARE`` and every routed consumer's stack."""
    problems = _spec_problems(conf.get("MIDDLEWARE"), "GENERIC_CONSUMERS['MIDDLEWARE']")
    seen: set[int] = set()
    for consumer in consumers:
        spec = getattr(consumer, ATTRIBUTE, None)
        if spec is None or id(consumer) in seen:
            continue
        seen.add(id(consumer))
        problems += _spec_problems(spec, f"{_label(consumer)}.{ATTRIBUTE}")
    return [
        checks.Error(
            problem,
            hint="Fix or remove the entry; " + SHAPE + ".",
            id="generic_consumers.E010",
        )
        for problem in problems
    ]


def routed_consumers(router: Any) -> list[Any]:
    """Every consumer of ``router``'s routing (a ``routing.Router``)."""
    return [leaf.consumer for _, leaf in router.root.routes()]


def _refusing(handler: Any) -> Any:
    """Stands in for a stack that cannot be loaded: no socket gets past it."""

    async def refuse(socket: Any, event: dict[str, Any]) -> None:
        if event["type"] == "websocket.connect":
            await handler(socket, {"type": "websocket.close", "code": 1000})
        elif event["type"] == "websocket.disconnect":
            await handler(socket, event)

    return refuse


class SocketStacks:
    """The stacks of one application, each built once, and the choice per socket."""

    def __init__(self) -> None:
        # id(spec) -> (spec, chain): a spec is the settings' list or a consumer's.
        self._chains: dict[int, tuple[Any, Chain]] = {}
        self._declared: tuple[Any, int, bool] | None = None

    def wire(self, host: Any, router: Any, receive: Any, send: Any) -> Wire | None:
        """The wire for a new socket, or None when no middleware can apply to it
        (nothing in the settings, no route with a stack of its own): then the
        socket talks to the server directly and pays nothing."""
        if not host.settings.get("MIDDLEWARE") and not self._routes_declare(router):
            return None
        return Wire(receive, send, self._choose)

    def _routes_declare(self, router: Any) -> bool:
        count = len(router.root.routing)
        cached = self._declared
        if cached is not None and cached[0] is router and cached[1] == count:
            return cached[2]
        # Only a stack of its own counts: with nothing in the settings, a route that
        # opts out (False, []) changes nothing and costs nothing.
        answer = any(
            getattr(consumer, ATTRIBUTE, None) for consumer in routed_consumers(router)
        )
        self._declared = (router, count, answer)
        return answer

    def _choose(self, wire: Wire) -> tuple[Chain | None, Any]:
        """The stack for ``wire``'s socket, from what its connect routes to."""
        socket: Any = wire.socket
        host = socket.host
        message = host.message("websocket.connect", socket.connect_content(), socket)
        match = host.route(message)
        consumer = match[0] if match is not None else None
        spec = getattr(consumer, ATTRIBUTE, None)
        if spec is None:
            spec = host.settings.get("MIDDLEWARE")
        if not spec:
            return None, consumer
        return self.chain(spec), consumer

    def chain(self, spec: Any) -> Chain:
        """The chain for ``spec``, built on first use (its factories called once)."""
        cached = self._chains.get(id(spec))
        if cached is not None and cached[0] is spec:
            return cached[1]
        try:
            if not isinstance(spec, list | tuple):
                raise ImproperlyConfigured(
                    f"A middleware stack must be a list of entries, not {spec!r}."
                )
            chain = Chain([load_entry(entry) for entry in spec])
        except Exception as exc:
            logger.error(
                "Middleware stack %r cannot be built; its sockets are rejected: %s",
                spec,
                exc,
                exc_info=not isinstance(exc, ImproperlyConfigured),
            )
            chain = Chain([("refusing", _refusing, {})])
        self._chains[id(spec)] = (spec, chain)
        return chain
