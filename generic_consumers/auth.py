"""``message.user`` for consumers, from the channel session or the HTTP session.

The user is resolved as Django's ``get_user()`` does for a request: a missing, forged or
expired session, an unknown user or a stale password hash all give ``AnonymousUser``.
When Channels' ``AuthMiddlewareStack`` runs in front of the application, the connect
message reuses the session and user it already loaded.
"""

from __future__ import annotations

from typing import Any

from ._decorate import F, Step, decorator
from .message import Message
from .sessions import _BRIDGE, _CHANNEL, _HTTP

__all__ = [
    "channel_and_http_session_user_from_http",
    "channel_session_user",
    "channel_session_user_from_http",
    "http_session_user",
    "transfer_user",
]


def _auth_keys() -> tuple[str, str, str]:
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY

    return SESSION_KEY, BACKEND_SESSION_KEY, HASH_SESSION_KEY


def transfer_user(from_session: Any, to_session: Any) -> None:
    """Copy the logged-in user (id, backend, hash) if ``from_session`` has all three."""
    keys = _auth_keys()
    if all(key in from_session for key in keys):
        for key in keys:
            if to_session.get(key) != from_session[key]:
                to_session[key] = from_session[key]


class _SessionRequest:
    """The part of a request Django's ``get_user()`` reads."""

    __slots__ = ("session",)

    def __init__(self, session: Any) -> None:
        self.session = session


def _identity(session: Any) -> tuple[Any, ...]:
    return tuple(session.get(key) for key in _auth_keys())


def _user_from(message: Message, session: Any) -> Any:
    from django.contrib.auth import get_user
    from django.contrib.auth.models import AnonymousUser

    if session is None:
        return AnonymousUser()
    identity = _identity(session)
    if identity[0] is None:
        return AnonymousUser()
    # The HTTP and the channel session of one connect usually name the same user: look
    # it up once per message.
    seen: dict[tuple, Any] = message.__dict__.setdefault("_generic_consumers_users", {})
    if identity not in seen:
        seen[identity] = get_user(_SessionRequest(session))  # type: ignore[arg-type]
    return seen[identity]


def _enter_channel_user(message: Message) -> None:
    message.user = _user_from(message, message.channel_session)


def _enter_http_user(message: Message) -> None:
    session = message.http_session
    scope = message.scope
    if session is not None and scope is not None and scope.get("session") is session:
        user = scope.get("user")
        if user is not None:
            # AuthMiddlewareStack resolved it already.
            identity = _identity(session)
            message.__dict__.setdefault("_generic_consumers_users", {})[identity] = user
            message.user = user
            return
    message.user = _user_from(message, session)


def _enter_transfer(message: Message) -> None:
    if message.http_session is not None:
        transfer_user(message.http_session, message.channel_session)


_CHANNEL_USER = Step("channel_session_user", _enter_channel_user)
_HTTP_USER = Step("http_session_user", _enter_http_user)
_TRANSFER = Step("transfer_user", _enter_transfer)

_channel_session_user = decorator("channel_session", (_CHANNEL, _CHANNEL_USER))
_http_session_user = decorator("http_session", (_HTTP, _HTTP_USER))
_channel_session_user_from_http = decorator(
    "http_session", (_HTTP, _HTTP_USER, _CHANNEL, _TRANSFER)
)
_channel_and_http_session_user_from_http = decorator(
    "http_session", (_HTTP, _HTTP_USER, _CHANNEL, _BRIDGE, _TRANSFER)
)


def channel_session_user(func: F) -> F:
    """``message.user`` from the channel session.

    Implies :func:`~generic_consumers.sessions.channel_session`. The user is whoever the
    connect consumer put there (see :func:`channel_session_user_from_http`), else
    ``AnonymousUser``.
    """
    return _channel_session_user(func)


def http_session_user(func: F) -> F:
    """``message.user`` from the HTTP session of the handshake.

    Implies :func:`~generic_consumers.sessions.http_session`; ``AnonymousUser`` when
    there is no session (and on every message but the connect).
    """
    return _http_session_user(func)


def channel_session_user_from_http(func: F) -> F:
    """For ``websocket.connect``: copy the HTTP user into the channel session.

    ``message.user`` is the HTTP session's user; consumers of the socket's later
    messages decorated with :func:`channel_session_user` see the same user (a snapshot:
    logging out over HTTP later does not change it).
    """
    return _channel_session_user_from_http(func)


def channel_and_http_session_user_from_http(func: F) -> F:
    """Like :func:`channel_session_user_from_http`, and keeps the HTTP session.

    The HTTP session key is stored in the channel session, so ``message.http_session``
    is available on every message (see
    :func:`~generic_consumers.sessions.channel_and_http_session`).
    """
    return _channel_and_http_session_user_from_http(func)
