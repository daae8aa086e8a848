"""1.x routing: ``route``, ``route_class`` and ``include``, matched against messages.

Everything is compiled when the routing is built; matching a message costs a dict
lookup by channel name plus the regex filters of the candidate routes. Routing is pure
matching: where and how a consumer runs is the runtime's business.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

if TYPE_CHECKING:
    from .message import Message

__all__ = [
    "Include",
    "Route",
    "RouteClass",
    "Router",
    "include",
    "route",
    "route_class",
    "router_for",
]

Match = tuple[Callable[..., Any], dict[str, Any]]


class RoutingObject(Protocol):
    def match(self, message: Message) -> Match | None: ...

    def channel_names(self) -> set[str]: ...


def _import(path: str, what: str) -> Any:
    try:
        return import_string(path)
    except ImportError as exc:
        raise ImproperlyConfigured(f"Cannot import {what} {path!r}: {exc}") from exc


def _normalise(value: Any) -> Any:
    # 1.x let patterns and message values be bytes; compare them as ASCII text.
    return value.decode("ascii") if isinstance(value, bytes) else value


def _compile_filters(filters: Mapping[str, Any], *, named_only: bool) -> list:
    compiled = []
    for key, pattern in filters.items():
        regex = re.compile(_normalise(pattern))
        if named_only and regex.groups != len(regex.groupindex):
            raise ValueError(
                f"Filter {key}={pattern!r} has a positional capture group; only named "
                "groups (?P<name>...) are allowed, they become consumer kwargs."
            )
        compiled.append((key, regex))
    return compiled


class Route:
    """Send messages on ``channels`` whose keys match ``filters`` to ``consumer``."""

    def __init__(
        self,
        channels: str | Iterable[str],
        consumer: Callable[..., Any] | str,
        **filters: Any,
    ) -> None:
        if isinstance(channels, str | bytes):
            channels = [channels]
        self.channels = {_normalise(c) for c in channels}
        self.consumer: Callable[..., Any] = (
            _import(consumer, "consumer") if isinstance(consumer, str) else consumer
        )
        self.filters = _compile_filters(filters, named_only=True)

    def match(self, message: Message) -> Match | None:
        if message.channel_name not in self.channels:
            return None
        kwargs: dict[str, Any] = {}
        content = message.content
        for key, regex in self.filters:
            if key not in content:
                return None
            found = regex.match(_normalise(content[key]))
            if found is None:
                return None
            kwargs.update(found.groupdict())
        return self.consumer, kwargs

    def channel_names(self) -> set[str]:
        return set(self.channels)

    def __str__(self) -> str:
        filters = ", ".join(f"{k}={r.pattern!r}" for k, r in self.filters)
        name = getattr(self.consumer, "__qualname__", repr(self.consumer))
        return f"{sorted(self.channels)} -> {name}" + (
            f" [{filters}]" if filters else ""
        )


class RouteClass(Route):
    """A ``Route`` for a consumer class; channels come from ``channel_names()``."""

    def __init__(self, consumer: type | str, **filters: Any) -> None:
        if isinstance(consumer, str):
            consumer = _import(consumer, "consumer class")
        names = getattr(consumer, "channel_names", None)
        if not callable(names):
            raise ValueError(
                f"route_class() needs a class with a channel_names() classmethod, got "
                f"{consumer!r}; use route() for function consumers."
            )
        super().__init__(list(names()), consumer, **filters)


def _as_routing_list(routing: Any) -> list[RoutingObject]:
    if isinstance(routing, str):
        routing = _import(routing, "routing")
    if isinstance(routing, Router):
        return [routing.root]
    if isinstance(routing, Mapping):
        return [Route(channel, consumer) for channel, consumer in routing.items()]
    if isinstance(routing, list | tuple):
        return list(routing)
    raise ImproperlyConfigured(
        f"Routing must be a list, a dict or a dotted path to one, got {routing!r}."
    )


class Include:
    """Nest a routing under prefix filters; the matched prefix is stripped for it."""

    def __init__(self, routing: Any, **prefixes: Any) -> None:
        self.routing = _as_routing_list(routing)
        self.prefixes = _compile_filters(prefixes, named_only=False)

    def match(self, message: Message) -> Match | None:
        prefix_kwargs: dict[str, Any] = {}
        if self.prefixes:
            content = message.content
            stripped = dict(content)
            for key, regex in self.prefixes:
                if key not in content:
                    return None
                value = _normalise(content[key])
                found = regex.match(value)
                if found is None:
                    return None
                prefix_kwargs.update(found.groupdict())
                stripped[key] = value[found.end() :]
            # A copy of the same class: the inner routes see a Message like any other.
            message = type(message)(
                stripped, message.channel_name, message.channel_layer
            )
        for entry in self.routing:
            result = entry.match(message)
            if result is not None:
                consumer, kwargs = result
                return consumer, {**prefix_kwargs, **kwargs}
        return None

    def channel_names(self) -> set[str]:
        names: set[str] = set()
        for entry in self.routing:
            names |= entry.channel_names()
        return names

    def routes(self) -> Iterable[tuple[tuple[str, ...], Route]]:
        """Every leaf route with the prefix patterns above it (for the inspector)."""
        here = tuple(f"{key}={regex.pattern!r}" for key, regex in self.prefixes)
        for entry in self.routing:
            if isinstance(entry, Include):
                for prefixes, leaf in entry.routes():
                    yield here + prefixes, leaf
            elif isinstance(entry, Route):
                yield here, entry


class Router:
    """The root of a routing: first match wins, in declaration order."""

    def __init__(self, routing: Any) -> None:
        self.root = Include(routing)
        self._refresh()

    def _refresh(self) -> None:
        self.channels = self.root.channel_names()
        # Per channel, only the top-level entries that can match it are scanned.
        self._by_channel: dict[str, list[RoutingObject]] = {
            name: [e for e in self.root.routing if name in e.channel_names()]
            for name in self.channels
        }

    def add_route(self, route: RoutingObject) -> None:
        self.root.routing.append(route)
        self._refresh()

    def match(self, message: Message) -> Match | None:
        for entry in self._by_channel.get(message.channel_name, ()):
            result = entry.match(message)
            if result is not None:
                return result
        return None

    def channel_names(self) -> set[str]:
        return set(self.channels)


_by_path: dict[str, Router] = {}


def router_for(routing: Any) -> Router:
    """The Router for ``routing``; one per dotted path, shared by the application and
    the test helpers (a list or dict gets a Router of its own)."""
    if isinstance(routing, Router):
        return routing
    if not isinstance(routing, str):
        return Router(routing)
    router = _by_path.get(routing)
    if router is None:
        router = _by_path[routing] = Router(routing)
    return router


route = Route
route_class = RouteClass
include = Include
