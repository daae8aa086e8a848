"""``apply_routes``: run a test with another routing on some layer aliases."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from ..layers import DEFAULT_CHANNEL_LAYER, ChannelLayerWrapper, channel_layers
from ..routing import include

__all__ = ["apply_routes"]

_MISSING = object()


def _normalise(routes: Any) -> Any:
    # One routing object, a list of them, or a list of lists (each one an include).
    if isinstance(routes, list | tuple):
        return [include(r) if isinstance(r, list | tuple) else r for r in routes]
    if isinstance(routes, dict | str):
        return routes
    return [routes]


class apply_routes:
    """Swap the routing of ``aliases`` (default ``["default"]``) while active.

    Use it as a context manager, or to decorate a test function or a whole
    ``TestCase`` class (every test of it runs with the routes). The test clients
    route with these; the previous routing comes back afterwards.
    """

    def __init__(self, routes: Any, aliases: list[str] | None = None) -> None:
        self.routes = _normalise(routes)
        self.aliases = list(aliases) if aliases else [DEFAULT_CHANNEL_LAYER]
        self._stack: list[list[tuple[str, Any]]] = []

    def __enter__(self) -> apply_routes:
        saved = []
        for alias in self.aliases:
            saved.append((alias, channel_layers.wrappers.get(alias, _MISSING)))
            channel_layers.set(alias, ChannelLayerWrapper(alias, self.routes))
        self._stack.append(saved)
        return self

    def __exit__(self, *exc_info: Any) -> None:
        for alias, wrapper in reversed(self._stack.pop()):
            if wrapper is _MISSING:
                channel_layers.wrappers.pop(alias, None)
            else:
                channel_layers.wrappers[alias] = wrapper

    def __call__(self, target: Any) -> Any:
        if inspect.isclass(target):
            return self._decorate_class(target)
        if inspect.iscoroutinefunction(target):

            @functools.wraps(target)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                with self:
                    return await target(*args, **kwargs)

            return async_wrapper

        @functools.wraps(target)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self:
                return target(*args, **kwargs)

        return wrapper

    def _decorate_class(self, cls: type) -> type:
        original: Callable[..., Any] = cls.setUp  # type: ignore[attr-defined]
        routes = self

        @functools.wraps(original)
        def setUp(test: Any) -> None:
            routes.__enter__()
            test.addCleanup(routes.__exit__, None, None, None)
            original(test)

        cls.setUp = setUp  # type: ignore[attr-defined]
        return cls
