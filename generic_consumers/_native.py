"""Native Channels 4 URL patterns beside the 1.x routing (``get_application``).

A project adopting Channels 4 piece by piece serves both kinds of socket from one
application: native patterns tried *before* the 1.x routing (a new GraphQL endpoint
that must win over a 1.x catch-all), and patterns tried *after* it (served only when
no 1.x ``websocket.connect`` route matches the handshake). Channels' session and auth
middleware wrap both once, so a native consumer gets ``scope["session"]`` and
``scope["user"]`` and the 1.x session decorators reuse what it loaded.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.apps import apps

__all__ = ["connect_content", "with_native_routes"]


def connect_content(scope: dict[str, Any]) -> dict[str, Any]:
    """What a 1.x route filter of ``websocket.connect`` can look at, before the
    socket exists (no reply channel yet). The keys match the connect message."""
    return {
        "reply_channel": "",
        "path": scope.get("path", ""),
        "headers": [list(pair) for pair in scope.get("headers", ())],
        "query_string": scope.get("query_string", b""),
        "client": list(scope["client"]) if scope.get("client") else None,
        "server": list(scope["server"]) if scope.get("server") else None,
        "subprotocols": list(scope.get("subprotocols", ())),
        "order": 0,
    }


class _LegacyFirst:
    """The 1.x routing when it routes the handshake, else the ``after`` patterns.

    When neither matches, the 1.x side serves the socket anyway: it rejects an
    unrouted connect with its usual log line.
    """

    def __init__(
        self, legacy: Any, routes: Callable[[dict], bool], after: Sequence[Any]
    ) -> None:
        from channels.routing import URLRouter
        from django.urls import re_path

        self.legacy = legacy
        self.routes = routes
        self.after = URLRouter([*after, re_path(r"", legacy)])

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if self.routes(scope):
            await self.legacy(scope, receive, send)
        else:
            await self.after(scope, receive, send)


def session_stack(inner: Any) -> Any:
    """Channels' cookie + session (+ auth) middleware around ``inner``, as far as the
    installed apps allow (``AuthMiddleware`` needs ``django.contrib.auth``)."""
    if not apps.is_installed("django.contrib.sessions"):
        return inner
    if apps.is_installed("django.contrib.auth"):
        from channels.auth import AuthMiddlewareStack

        return AuthMiddlewareStack(inner)
    from channels.sessions import SessionMiddlewareStack

    return SessionMiddlewareStack(inner)


def with_native_routes(
    legacy: Any,
    routes: Callable[[dict], bool],
    before: Sequence[Any] = (),
    after: Sequence[Any] = (),
) -> Any:
    """The WebSocket application serving ``before`` patterns, then the 1.x routing
    (``legacy``, which ``routes(scope)`` says it handles), then ``after`` patterns,
    inside one session/auth middleware stack."""
    from channels.routing import URLRouter
    from django.urls import re_path

    inner: Any = _LegacyFirst(legacy, routes, after) if after else legacy
    if before:
        inner = URLRouter([*before, re_path(r"", inner)])
    return session_stack(inner)
